"""Pure decisions: given a job's state and the observed facts, what happens next.

No I/O here: the service gathers facts (chain time, eligible workers, receipts, events) and
applies what these functions return, so every transition is tested without a chain.

Job states::

    new ──dispatch──▶ running ──verified result──▶ ready ──in a tx──▶ submitted
     ▲                   │ bad / timeout               │                 │ reverted / skipped /
     └───────────────────┘ (next worker)               │                 │ tx dropped
     ▲                                                 ◀─────────────────┘
     │ claimed by another / job still active       (pre-send check: ended ─▶ closing)
     │
    any non-terminal ──JobSettled──▶ settled | settled_elsewhere
                     ──JobCancelled─▶ cancelled
                     ──JobExpired──▶ expired
    new/ready/closing past deadline ──▶ expiring (expire() sent) ──JobExpired──▶ expired
    no way to end it (expiry disabled, job vanished in a reorg) ──▶ abandoned (reported)

Terminal: settled, settled_elsewhere, cancelled, expired, abandoned. A terminal job never
changes again; events are the only way into settled/cancelled/expired, so a job ends once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class State(StrEnum):
    NEW = "new"
    RUNNING = "running"
    READY = "ready"
    SUBMITTED = "submitted"
    CLOSING = "closing"
    EXPIRING = "expiring"
    SETTLED = "settled"
    SETTLED_ELSEWHERE = "settled_elsewhere"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ABANDONED = "abandoned"


TERMINAL = frozenset(
    {State.SETTLED, State.SETTLED_ELSEWHERE, State.CANCELLED, State.EXPIRED, State.ABANDONED}
)
ACTIVE = frozenset(State) - TERMINAL
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class Kind(StrEnum):
    WAIT = "wait"
    DISPATCH = "dispatch"
    EXPIRE = "expire"
    REQUEUE = "requeue"
    ABANDON = "abandon"


@dataclass(frozen=True)
class Action:
    kind: Kind
    worker: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 3
    min_time_left_s: int = 10
    expire_jobs: bool = True
    closing_grace_s: int = 120
    """A closing job (believed ended) whose end event has not come this long after its deadline
    is re-checked."""


@dataclass(frozen=True)
class JobFacts:
    """What the service knows about one job right now."""

    state: State
    deadline: int
    attempts: int = 0
    tried: tuple[str, ...] = ()
    chosen_worker: str = ZERO_ADDRESS
    claimer: str | None = None


@dataclass(frozen=True)
class World:
    """Facts outside the job: chain time and the workers that may take it now."""

    now: int
    candidates: Sequence[str] = field(default_factory=tuple)
    """Eligible, healthy workers for the job's measurement, best first."""


def decide(job: JobFacts, world: World, policy: Policy) -> Action:
    """The next action for a job (WAIT when there is nothing to do now)."""
    if job.state in TERMINAL:
        return Action(Kind.WAIT, reason="ended")
    past_deadline = world.now > job.deadline
    if job.state in (State.RUNNING, State.SUBMITTED, State.EXPIRING):
        return Action(Kind.WAIT, reason="in flight")
    if job.state is State.CLOSING:
        if world.now > job.deadline + policy.closing_grace_s:
            return Action(Kind.REQUEUE, reason="end event never came: re-check")
        return Action(Kind.WAIT, reason="ended on chain, waiting for the event")
    if past_deadline:
        if policy.expire_jobs:
            return Action(Kind.EXPIRE, reason="past deadline")
        return Action(Kind.ABANDON, reason="past deadline, expiry disabled")
    if job.state is State.READY:
        return Action(Kind.WAIT, reason="queued for settlement")
    # NEW: find a worker, unless too late or out of attempts.
    if world.now + policy.min_time_left_s > job.deadline:
        return Action(Kind.WAIT, reason="too close to the deadline; will expire")
    if job.attempts >= policy.max_attempts:
        return Action(Kind.WAIT, reason="out of attempts; will expire")
    for worker in world.candidates:
        if worker in job.tried:
            continue
        if job.claimer is not None and worker != job.claimer:
            continue  # only the claimer can settle a claimed job
        if job.chosen_worker != ZERO_ADDRESS and worker != job.chosen_worker:
            continue
        return Action(Kind.DISPATCH, worker=worker)
    return Action(Kind.WAIT, reason="no eligible worker")


# ---------------------------------------------------------------------- chain events


def on_event(state: State, event: str, by_us: bool) -> State:
    """The state after a confirmed escrow event about the job ("settled", "cancelled", "expired")."""
    if state in TERMINAL:
        return state
    if event == "settled":
        return State.SETTLED if by_us else State.SETTLED_ELSEWHERE
    if event == "cancelled":
        return State.CANCELLED
    if event == "expired":
        return State.EXPIRED
    raise ValueError(f"unknown event {event!r}")


def on_receipt(state: State, outcome: str) -> State:
    """The state after our transaction's receipt says, for this job: "settled" (paid in it),
    "skipped" (SettlementSkipped: someone else got there first) or "reverted"."""
    if state in TERMINAL:
        return state
    if outcome == "settled":
        return state  # still submitted: the confirmed JobSettled event ends it
    if outcome in ("skipped", "ended"):
        return State.CLOSING
    if outcome == "reverted":
        return State.READY
    raise ValueError(f"unknown outcome {outcome!r}")


def on_precheck(state: State, onchain: str) -> State:
    """Before a result is sent, the escrow's view of the job: "open", "claimed_ok",
    "claimed_other" or "ended"."""
    if state in TERMINAL:
        return state
    if onchain == "ended":
        return State.CLOSING
    if onchain == "claimed_other":
        return State.NEW
    return state


# ---------------------------------------------------------------------- batching


@dataclass(frozen=True)
class Ready:
    job_id: int
    worker: str
    measurement: bytes
    ready_at: float


def plan_batches(ready: Sequence[Ready], now: float, size: int, wait: float) -> list[list[Ready]]:
    """Groups to send now: per (worker, measurement), full batches of `size`, and the rest when
    its oldest result has waited `wait` seconds. Oldest first; ids never repeat."""
    groups: dict[tuple[str, bytes], list[Ready]] = {}
    for r in sorted(ready, key=lambda r: (r.ready_at, r.job_id)):
        groups.setdefault((r.worker, r.measurement), []).append(r)
    out: list[list[Ready]] = []
    for items in groups.values():
        while len(items) >= size:
            out.append(items[:size])
            items = items[size:]
        if items and now - items[0].ready_at >= wait:
            out.append(items)
    return out


# ---------------------------------------------------------------------- pool ledgers

MAX_FLUSH_POOLS = 100
"""JobEscrow.MAX_FLUSH_POOLS: pools one flushPoolRewards may list."""


@dataclass(frozen=True)
class LedgerPlan:
    flush: tuple[int, ...] = ()
    """Pools to list in one flushPoolRewards, oldest unpaid first (at most MAX_FLUSH_POOLS)."""
    paid: tuple[int, ...] = ()
    """Pools whose ledger read empty (a batch or someone's flush paid it): no longer unpaid."""


def ledgers_to_read(
    unpaid: Mapping[int, int], now: int, interval: float, min_reward: int, read_all: bool
) -> list[int]:
    """The unpaid pools whose ledger to read now: those `interval` old, or every one when the
    amount rule is on and its periodic read is due (`read_all`). Oldest first."""
    if interval <= 0:
        return []
    pools = sorted(unpaid, key=lambda p: (unpaid[p], p))
    if min_reward > 0 and read_all:
        return pools
    return [p for p in pools if now - unpaid[p] >= interval]


def plan_flush(
    unpaid: Mapping[int, int],
    owed: Mapping[int, tuple[int, int]],
    now: int,
    interval: float,
    min_reward: int,
    max_pools: int = MAX_FLUSH_POOLS,
) -> LedgerPlan:
    """Given the unpaid pools (pool -> since, chain time) and the ledgers read (pool -> (reward,
    fee)): the pools to flush now (age >= interval, or reward >= min_reward when that rule is on;
    never an empty ledger: the escrow would revert on an all-empty list) and the pools found paid."""
    if interval <= 0:
        return LedgerPlan()
    flush: list[int] = []
    paid: list[int] = []
    for pool in sorted(owed, key=lambda p: (unpaid.get(p, now), p)):
        reward, fee = owed[pool]
        if reward == 0 and fee == 0:
            paid.append(pool)
        elif pool in unpaid and (now - unpaid[pool] >= interval or (min_reward > 0 and reward >= min_reward)):
            flush.append(pool)
    return LedgerPlan(flush=tuple(flush[:max_pools]), paid=tuple(paid))


# ---------------------------------------------------------------------- nonces and fees


def next_nonce(chain_pending: int, last_used: int | None) -> int:
    """max(the chain's pending nonce, our last used + 1)."""
    return chain_pending if last_used is None else max(chain_pending, last_used + 1)


def initial_fees(base_fee: int, priority_fee: int, multiplier: float, cap: int) -> tuple[int, int]:
    """(maxFeePerGas, maxPriorityFeePerGas) for a new transaction, never above `cap`."""
    priority = min(priority_fee, cap)
    return min(int(base_fee * multiplier) + priority, cap), priority


def bumped_fees(
    max_fee: int, priority_fee: int, base_fee: int, bump_pct: int, cap: int
) -> tuple[int, int] | None:
    """Fees for a replacement (both raised by at least `bump_pct`%, and enough for the current base
    fee), or None when the cap does not allow a valid replacement."""
    new_priority = priority_fee * (100 + bump_pct) // 100 + 1
    new_max = max(max_fee * (100 + bump_pct) // 100 + 1, 2 * base_fee + new_priority)
    if new_max > cap:
        new_max = cap
    if new_max < max_fee * (100 + bump_pct) // 100 + 1 or new_priority > new_max:
        return None
    return new_max, new_priority
