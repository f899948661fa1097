"""The pool-backing flag: Staking re-evaluates it on every stake movement and pushes a flip to the
registry, whose eligibility check then reads it locally (no call into Staking)."""

import ape
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import PHA

EVIDENCE = b"\x01" * 32
UNDER_BACKED = "pool stake is below the minimum for its workers"
DAY = 86_400


@pytest.fixture(autouse=True)
def _code_allowed(pool):
    """The default pool fixture allows the test measurement (the pools here are opened anew)."""


def _eligible(registry, worker) -> tuple[bool, str]:
    return registry.explain(worker.address, registry.workerInfo(worker.address).measurementId)


def test_withdrawal_below_minimum__makes_workers_ineligible_and_delegation_restores_them(
    registry, staking, token, fund, open_pool, operator, register_worker, chain
):
    minimum = staking.minStakePerWorker()
    pool_id = open_pool(operator, stake=minimum)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, operator), sender=operator)
    chain.pending_timestamp += 7 * DAY
    worker = register_worker(pool_id)  # queued stake is still slashable: it backs the worker
    assert _eligible(registry, worker)[0]
    tx = staking.withdraw(pool_id, 0, sender=operator)
    event = tx.decode_logs(staking.PoolBackingChanged)[0]
    assert event.underBacked == 1 and event.required == minimum and event.backing == 0
    assert staking.isUnderBacked(pool_id)
    assert _eligible(registry, worker) == (False, UNDER_BACKED)
    fund(operator, minimum)
    token.approve(staking, minimum, sender=operator)
    staking.invoke_transaction("delegate", pool_id, minimum, sender=operator)
    assert not staking.isUnderBacked(pool_id)
    assert _eligible(registry, worker)[0]


def test_reward_that_restores_backing__makes_workers_eligible_again(
    registry, staking, token, fund, open_pool, operator, register_worker, gov
):
    minimum = staking.minStakePerWorker()
    pool_id = open_pool(operator, stake=minimum)
    worker = register_worker(pool_id)
    staking.slash(pool_id, PHA, EVIDENCE, sender=gov)
    assert _eligible(registry, worker) == (False, UNDER_BACKED)
    fund(gov, 10 * PHA)
    token.approve(staking, 10 * PHA, sender=gov)
    staking.reward(pool_id, 10 * PHA, sender=gov)  # 90% of it (after commission) is backing
    assert _eligible(registry, worker)[0]


def test_deregistering_a_worker__lowers_the_requirement_and_restores_the_others(
    registry, staking, open_pool, operator, register_worker, gov
):
    minimum = staking.minStakePerWorker()
    pool_id = open_pool(operator, stake=2 * minimum)
    first, second = register_worker(pool_id), register_worker(pool_id)
    assert staking.workersOf(pool_id) == registry.workerCount(pool_id) == 2
    staking.slash(pool_id, PHA, EVIDENCE, sender=gov)
    assert _eligible(registry, first) == (False, UNDER_BACKED)
    registry.deregisterWorker(second.address, sender=operator)
    assert registry.workerCount(pool_id) == 1
    assert _eligible(registry, first)[0]


def test_registering_beyond_backing__reverts_and_counts_nothing(
    registry, staking, open_pool, operator, register_worker
):
    pool_id = open_pool(operator, stake=staking.minStakePerWorker())
    register_worker(pool_id)
    with ape.reverts(registry.RegistryPoolUnderBacked, poolId=pool_id, workers=2):
        register_worker(pool_id)
    assert staking.workersOf(pool_id) == 1 and not staking.isUnderBacked(pool_id)


def test_changed_minimum__takes_effect_on_sync_by_anyone(
    registry, staking, open_pool, operator, register_worker, gov, attacker
):
    minimum = staking.minStakePerWorker()
    pools = [open_pool(operator, stake=minimum) for _ in range(2)]
    workers = [register_worker(p) for p in pools]
    staking.setMinStakePerWorker(2 * minimum, sender=gov)
    assert _eligible(registry, workers[0])[0]  # documented: stale until synced
    staking.syncBackings(pools, sender=attacker)  # raised: both pools fall short
    assert all(_eligible(registry, w) == (False, UNDER_BACKED) for w in workers)
    staking.setMinStakePerWorker(minimum, sender=gov)
    staking.syncBacking(pools[0], sender=attacker)  # lowered: the synced pool is back
    assert _eligible(registry, workers[0])[0]
    assert registry.isPoolUnderBacked(pools[1])  # the other waits for its sync


def test_sync_backings__bounded_batch(staking, attacker):
    limit = staking.MAX_SYNC_BATCH()
    with ape.reverts(staking.StakingBatchTooLarge, length=limit + 1, maximum=limit):
        staking.syncBackings([1] * (limit + 1), sender=attacker)


def test_set_registry__wired_to_another_staking__reverts(project, gov, token, treasury, registry):
    fresh = gov.deploy(project.Staking, token, gov, treasury)
    with ape.reverts(fresh.StakingRegistryMismatch, registry=registry.address):
        fresh.setRegistry(registry, sender=gov)


def test_backing_flag__only_staking_can_push_it(registry, pool, attacker):
    with ape.reverts(registry.RegistryNotStaking, caller=attacker.address):
        registry.poolBackingChanged(pool, True, sender=attacker)


def test_worker_counts__only_the_registry_reports_them(staking, pool, attacker):
    with ape.reverts(staking.StakingNotRegistry, caller=attacker.address):
        staking.workerAdded(pool, sender=attacker)
    with ape.reverts(staking.StakingNotRegistry, caller=attacker.address):
        staking.workerRemoved(pool, sender=attacker)


def test_set_registry__only_once(staking, registry, gov):
    assert staking.registry() == registry.address
    with ape.reverts(staking.StakingRegistryAlreadySet, registry=registry.address):
        staking.setRegistry(gov, sender=gov)


ACTIONS = st.sampled_from(["delegate", "undelegate_withdraw", "slash", "reward", "register", "deregister"])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(st.tuples(ACTIONS, st.integers(1, 3)), min_size=4, max_size=10))
def test_property__registry_flag_always_equals_staking_flag_and_the_rule(
    steps, chain, registry, staking, token, fund, open_pool, operator, register_worker, gov
):
    """After any sequence of stake movements and (de)registrations, the registry's flag is
    Staking's flag, and both are `backing < minStakePerWorker * workers`."""
    snap = chain.snapshot()
    try:
        minimum = staking.minStakePerWorker()
        pool_id = open_pool(operator, stake=minimum)  # backs exactly one worker: any slash bites
        workers = [register_worker(pool_id)]
        flips: set[bool] = set()
        fund(gov, 100 * minimum)
        token.approve(staking, 2**256 - 1, sender=gov)
        for action, size in steps:
            amount = minimum * size // 2
            if action == "delegate":
                staking.invoke_transaction("delegate", pool_id, amount, sender=gov)
            elif action == "reward":
                staking.reward(pool_id, amount, sender=gov)
            elif action == "slash":
                staking.slash(pool_id, amount, EVIDENCE, sender=gov)
            elif action == "undelegate_withdraw" and staking.sharesOf(pool_id, gov):
                staking.undelegate(pool_id, staking.sharesOf(pool_id, gov), sender=gov)
                chain.pending_timestamp += staking.cooldown()
                staking.withdraw(pool_id, staking.requestCount(pool_id, gov) - 1, sender=gov)
            elif action == "register":
                if staking.backing(pool_id) >= minimum * (len(workers) + 1):
                    workers.append(register_worker(pool_id))
                else:  # not backed for one more: refused, counted nowhere
                    with ape.reverts(registry.RegistryPoolUnderBacked):
                        register_worker(pool_id)
            elif action == "deregister" and workers:
                registry.deregisterWorker(workers.pop().address, sender=operator)
            expected = staking.backing(pool_id) < minimum * len(workers)
            assert staking.workersOf(pool_id) == len(workers)
            assert bool(staking.isUnderBacked(pool_id)) == expected
            assert bool(registry.isPoolUnderBacked(pool_id)) == expected
            flips.add(expected)
        event(f"flag values seen: {sorted(flips)}")
    finally:
        chain.restore(snap)
