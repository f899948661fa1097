"""The job state machine and the batching / nonce / fee rules as pure functions (no chain)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from relayer.decide import (
    ACTIVE,
    TERMINAL,
    JobFacts,
    Kind,
    Policy,
    Ready,
    State,
    World,
    bumped_fees,
    decide,
    initial_fees,
    ledgers_to_read,
    next_nonce,
    on_event,
    on_precheck,
    on_receipt,
    plan_batches,
    plan_flush,
)

W1, W2, W3 = ("0x" + c * 40 for c in "123")
P = Policy(max_attempts=2, min_time_left_s=10)


def job(state=State.NEW, deadline=1_000, **kw):
    return JobFacts(state=state, deadline=deadline, **kw)


def test_new_job__dispatched_to_first_untried_candidate():
    action = decide(job(tried=(W1,), attempts=1), World(now=100, candidates=[W1, W2]), P)
    assert action.kind is Kind.DISPATCH and action.worker == W2


def test_new_job__out_of_attempts__waits_then_expires_after_deadline():
    j = job(tried=(W1, W2), attempts=2)
    assert decide(j, World(now=100, candidates=[W3]), P).kind is Kind.WAIT
    assert decide(j, World(now=1_001, candidates=[W3]), P).kind is Kind.EXPIRE


def test_new_job__at_deadline__not_expired_yet():
    assert decide(job(), World(now=1_000, candidates=[]), P).kind is Kind.WAIT


def test_new_job__too_close_to_deadline__not_dispatched():
    assert decide(job(), World(now=995, candidates=[W1]), P).kind is Kind.WAIT


def test_chosen_worker__only_it_is_dispatched():
    assert decide(job(chosen_worker=W2), World(now=0, candidates=[W1, W2]), P).worker == W2
    assert decide(job(chosen_worker=W3), World(now=0, candidates=[W1, W2]), P).kind is Kind.WAIT


def test_claimed_job__only_the_claimer_is_dispatched():
    assert decide(job(claimer=W2), World(now=0, candidates=[W1, W2]), P).worker == W2


def test_ready_job_past_deadline__expires():
    assert decide(job(State.READY), World(now=1_001), P).kind is Kind.EXPIRE


def test_expiry_disabled__past_deadline_job_is_abandoned():
    policy = Policy(expire_jobs=False)
    assert decide(job(), World(now=1_001), policy).kind is Kind.ABANDON


def test_closing_job__requeued_when_the_end_event_never_comes():
    assert decide(job(State.CLOSING), World(now=1_001), P).kind is Kind.WAIT
    assert decide(job(State.CLOSING), World(now=1_000 + P.closing_grace_s + 1), P).kind is Kind.REQUEUE


def test_in_flight_states__wait():
    for state in (State.RUNNING, State.SUBMITTED, State.EXPIRING):
        assert decide(job(state), World(now=5_000, candidates=[W1]), P).kind is Kind.WAIT


def test_events__settled_by_us_or_elsewhere():
    assert on_event(State.SUBMITTED, "settled", by_us=True) is State.SETTLED
    assert on_event(State.READY, "settled", by_us=False) is State.SETTLED_ELSEWHERE
    assert on_event(State.EXPIRING, "expired", by_us=True) is State.EXPIRED
    assert on_event(State.NEW, "cancelled", by_us=False) is State.CANCELLED


def test_receipt__skipped_entry_closes_reverted_tx_requeues_ready():
    assert on_receipt(State.SUBMITTED, "skipped") is State.CLOSING
    assert on_receipt(State.SUBMITTED, "reverted") is State.READY
    assert on_receipt(State.SUBMITTED, "settled") is State.SUBMITTED


def test_precheck__ended_job_is_dropped_from_the_batch():
    assert on_precheck(State.READY, "ended") is State.CLOSING
    assert on_precheck(State.READY, "claimed_other") is State.NEW
    assert on_precheck(State.READY, "open") is State.READY


# ------------------------------------------------------------------ invariants

EVENTS = st.sampled_from(["settled", "cancelled", "expired"])
STATES = st.sampled_from(list(State))


@settings(max_examples=300, deadline=None)
@given(
    state=STATES,
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("event"), EVENTS, st.booleans()),
            st.tuples(st.just("receipt"), st.sampled_from(["settled", "skipped", "reverted"]), st.none()),
            st.tuples(
                st.just("precheck"),
                st.sampled_from(["open", "claimed_ok", "claimed_other", "ended"]),
                st.none(),
            ),
        ),
        max_size=12,
    ),
)
def test_terminal_states__never_left_and_ends_come_only_from_events(state, steps):
    """Once terminal a job never changes; only an event makes a job settled/cancelled/expired."""
    for kind, arg, by_us in steps:
        before = state
        if kind == "event":
            state = on_event(state, arg, bool(by_us))
        elif kind == "receipt":
            state = on_receipt(state, arg)
        else:
            state = on_precheck(state, arg)
        if before in TERMINAL:
            assert state is before
        elif state in TERMINAL:
            assert kind == "event"


@settings(max_examples=300, deadline=None)
@given(
    state=st.sampled_from(sorted(ACTIVE)),
    deadline=st.integers(0, 10_000),
    now=st.integers(0, 20_000),
    attempts=st.integers(0, 5),
    tried=st.sets(st.sampled_from([W1, W2, W3])),
    candidates=st.lists(st.sampled_from([W1, W2, W3]), unique=True),
)
def test_decide__never_dispatches_past_deadline_or_to_a_tried_worker(
    state, deadline, now, attempts, tried, candidates
):
    facts = job(state, deadline=deadline, attempts=attempts, tried=tuple(tried))
    action = decide(facts, World(now=now, candidates=candidates), P)
    if action.kind is Kind.DISPATCH:
        assert state is State.NEW and now + P.min_time_left_s <= deadline
        assert action.worker in candidates and action.worker not in tried and attempts < P.max_attempts
    if action.kind is Kind.EXPIRE:
        assert now > deadline and state in (State.NEW, State.READY)


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(
        st.tuples(st.integers(1, 10_000), st.sampled_from([W1, W2]), st.floats(0, 100)),
        unique_by=lambda t: t[0],
        max_size=60,
    ),
    size=st.integers(1, 20),
    wait=st.floats(0, 50),
)
def test_plan_batches__full_or_old_groups_of_one_worker_no_repeats(items, size, wait):
    ready = [Ready(i, w, b"m" * 32, t) for i, w, t in items]
    plan = plan_batches(ready, now=100.0, size=size, wait=wait)
    ids = [r.job_id for group in plan for r in group]
    assert len(ids) == len(set(ids))
    for group in plan:
        assert 1 <= len(group) <= size and len({r.worker for r in group}) == 1
        assert len(group) == size or 100.0 - group[0].ready_at >= wait


@given(chain=st.integers(0, 1000), last=st.one_of(st.none(), st.integers(0, 1000)))
def test_next_nonce__never_reuses_ours_never_below_chain(chain, last):
    n = next_nonce(chain, last)
    assert n >= chain and (last is None or n > last)


@given(
    base=st.integers(1, 10**11),
    max_fee=st.integers(1, 10**11),
    prio=st.integers(0, 10**10),
    cap=st.integers(1, 10**12),
)
def test_bumped_fees__raise_both_by_the_bump_and_respect_the_cap(base, max_fee, prio, cap):
    fees = bumped_fees(max_fee, prio, base, 20, cap)
    if fees is not None:
        new_max, new_prio = fees
        assert new_max <= cap and new_max >= max_fee * 120 // 100 and new_prio > prio and new_prio <= new_max
    start_max, start_prio = initial_fees(base, prio, 2.0, cap)
    assert start_max <= cap and start_prio <= cap


# ---------------------------------------------------------------------- pool ledgers


def test_ledgers_to_read__only_pools_past_the_interval_oldest_first():
    unpaid = {7: 100, 3: 150, 5: 90}
    assert ledgers_to_read(unpaid, now=160, interval=60, min_reward=0, read_all=True) == [5, 7]
    assert ledgers_to_read(unpaid, now=160, interval=0, min_reward=0, read_all=True) == []


def test_ledgers_to_read__amount_rule_reads_every_unpaid_pool_when_due():
    unpaid = {7: 100, 3: 150}
    assert ledgers_to_read(unpaid, now=120, interval=60, min_reward=10, read_all=True) == [7, 3]
    assert ledgers_to_read(unpaid, now=120, interval=60, min_reward=10, read_all=False) == []


def test_plan_flush__due_pools_flushed_empty_ledgers_marked_paid():
    unpaid = {1: 100, 2: 100, 3: 150}
    owed = {1: (5, 1), 2: (0, 0), 3: (9, 0)}
    plan = plan_flush(unpaid, owed, now=160, interval=60, min_reward=0)
    assert plan.flush == (1,) and plan.paid == (2,)  # 3 is only 10 s old


def test_plan_flush__amount_rule_flushes_a_young_pool_over_the_threshold():
    plan = plan_flush({3: 150, 4: 150}, {3: (10, 0), 4: (9, 1)}, now=160, interval=60, min_reward=10)
    assert plan.flush == (3,) and plan.paid == ()


def test_plan_flush__fee_only_ledger_is_flushed_and_list_capped_oldest_first():
    unpaid = {p: 1_000 - p for p in range(1, 131)}
    owed = {p: (0, 1) for p in unpaid}
    plan = plan_flush(unpaid, owed, now=10_000, interval=60, min_reward=0)
    assert len(plan.flush) == 100 and plan.flush[0] == 130 and 30 not in plan.flush


def test_plan_flush__disabled_plans_nothing():
    assert plan_flush({1: 0}, {1: (5, 0)}, now=10_000, interval=0, min_reward=1) == plan_flush(
        {}, {}, 0, 0, 0
    )
