"""The pool-backing flag: Staking re-evaluates it on every stake movement and pushes a flip to the
registry, whose eligibility check then reads it locally (no call into Staking)."""

import ape
import pytest

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


def test_raised_minimum__takes_effect_on_sync_by_anyone(
    registry, staking, open_pool, operator, register_worker, gov, attacker
):
    minimum = staking.minStakePerWorker()
    pool_id = open_pool(operator, stake=minimum)
    worker = register_worker(pool_id)
    staking.setMinStakePerWorker(2 * minimum, sender=gov)
    assert _eligible(registry, worker)[0]  # documented: stale until synced
    staking.syncBacking(pool_id, sender=attacker)
    assert _eligible(registry, worker) == (False, UNDER_BACKED)
    staking.setMinStakePerWorker(minimum, sender=gov)
    staking.syncBacking(pool_id, sender=attacker)
    assert _eligible(registry, worker)[0]


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
