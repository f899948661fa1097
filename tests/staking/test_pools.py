"""Pools: opening, operators, commission changes with a notice period, commission claims."""

import ape

from tests.conftest import PHA
from tests.staking.conftest import DAY, only_event


def test_open_pool__ids_are_sequential_from_one_and_caller_is_operator(staking, alice, bob):
    before = staking.poolCount()
    tx1 = staking.openPool(500, sender=alice)
    tx2 = staking.openPool(0, sender=bob)
    assert staking.poolCount() == before + 2
    assert staking.operatorOf(before + 1) == alice and staking.operatorOf(before + 2) == bob
    event = only_event(tx1, staking.PoolOpened)
    assert (event.poolId, event.operator, event.commissionBps) == (before + 1, alice, 500)
    assert only_event(tx2, staking.PoolOpened).poolId == before + 2


def test_open_pool__commission_above_maximum__reverts(staking, alice):
    with ape.reverts(staking.StakingCommissionTooHigh, commissionBps=5_001, maximum=5_000):
        staking.openPool(5_001, sender=alice)


def test_open_pool__commission_at_maximum__opens(staking, alice):
    staking.openPool(5_000, sender=alice)
    assert staking.poolInfo(staking.poolCount()).commissionBps == 5_000


def test_operator_of__unknown_pool__is_zero(staking):
    assert staking.operatorOf(staking.poolCount() + 7) == "0x0000000000000000000000000000000000000000"


def test_pool_info__unknown_pool__reverts(staking):
    unknown = staking.poolCount() + 3
    with ape.reverts(staking.StakingUnknownPool, poolId=unknown):
        staking.poolInfo(unknown)


def test_set_commission__decrease__applies_at_once(staking, pool_id, operator):
    tx = staking.setCommission(pool_id, 400, sender=operator)
    info = staking.poolInfo(pool_id)
    assert info.commissionBps == 400 and info.pendingCommissionBps == 0 and info.commissionEffectiveAt == 0
    event = only_event(tx, staking.CommissionChanged)
    assert (event.oldBps, event.newBps) == (1_000, 400)


def test_set_commission__increase__waits_for_the_notice_period(staking, pool_id, operator, chain):
    tx = staking.setCommission(pool_id, 3_000, sender=operator)
    event = only_event(tx, staking.CommissionChangeScheduled)
    assert (event.currentBps, event.newBps) == (1_000, 3_000)
    # on the one-hour reward-epoch grid: the first epoch start at or after the notice
    assert event.effectiveAt == -(-(tx.timestamp + 7 * DAY) // 3_600) * 3_600
    assert event.effectiveAt % staking.REWARD_EPOCH() == 0
    info = staking.poolInfo(pool_id)
    assert info.commissionBps == 1_000 and info.pendingCommissionBps == 3_000
    chain.pending_timestamp = event.effectiveAt - 1
    chain.mine()
    assert staking.poolInfo(pool_id).commissionBps == 1_000  # one second before: not yet
    chain.pending_timestamp = event.effectiveAt
    chain.mine()
    assert staking.poolInfo(pool_id).commissionBps == 3_000
    assert staking.poolInfo(pool_id).pendingCommissionBps == 0


def test_set_commission__decrease_while_increase_pending__cancels_the_increase(
    staking, pool_id, operator, chain
):
    staking.setCommission(pool_id, 3_000, sender=operator)
    staking.setCommission(pool_id, 800, sender=operator)
    chain.pending_timestamp += 8 * DAY
    chain.mine()
    info = staking.poolInfo(pool_id)
    assert info.commissionBps == 800 and info.pendingCommissionBps == 0


def test_set_commission__after_matured_increase__starts_from_it(staking, pool_id, operator, chain):
    scheduled = staking.setCommission(pool_id, 3_000, sender=operator)
    chain.pending_timestamp = only_event(scheduled, staking.CommissionChangeScheduled).effectiveAt
    tx = staking.setCommission(pool_id, 2_000, sender=operator)
    changes = tx.decode_logs(staking.CommissionChanged)
    assert [(c.oldBps, c.newBps) for c in changes] == [(3_000, 2_000)]
    assert staking.poolInfo(pool_id).commissionBps == 2_000


def test_set_commission__not_operator__reverts(staking, pool_id, attacker):
    with ape.reverts(staking.StakingNotOperator, poolId=pool_id, caller=attacker):
        staking.setCommission(pool_id, 0, sender=attacker)


def test_set_commission__above_maximum__reverts(staking, pool_id, operator):
    with ape.reverts(staking.StakingCommissionTooHigh, commissionBps=6_000, maximum=5_000):
        staking.setCommission(pool_id, 6_000, sender=operator)


def test_set_commission__unknown_pool__reverts(staking, operator):
    unknown = staking.poolCount() + 9
    with ape.reverts(staking.StakingUnknownPool, poolId=unknown):
        staking.setCommission(unknown, 0, sender=operator)


def test_claim_commission__pays_operator_target_and_resets(
    staking, token, pool_id, operator, stake, pay_reward, carol
):
    stake(operator, 10 * PHA)
    pay_reward(100 * PHA)
    assert staking.poolInfo(pool_id).commissionOwed == 10 * PHA
    tx = staking.claimCommission(pool_id, carol, sender=operator)
    assert token.balanceOf(carol) == 10 * PHA
    assert staking.poolInfo(pool_id).commissionOwed == 0
    event = only_event(tx, staking.CommissionClaimed)
    assert (event.operator, event.to, event.amount) == (operator, carol, 10 * PHA)


def test_claim_commission__nothing_owed__reverts(staking, pool_id, operator):
    with ape.reverts(staking.StakingNothingToClaim, poolId=pool_id):
        staking.claimCommission(pool_id, operator, sender=operator)


def test_claim_commission__not_operator__reverts(staking, pool_id, attacker, stake, pay_reward):
    stake(attacker, PHA)
    pay_reward(PHA)
    with ape.reverts(staking.StakingNotOperator, poolId=pool_id, caller=attacker):
        staking.claimCommission(pool_id, attacker, sender=attacker)


def test_claim_commission__to_zero_address__reverts(staking, pool_id, operator):
    with ape.reverts(staking.StakingZeroAddress):
        staking.claimCommission(pool_id, "0x0000000000000000000000000000000000000000", sender=operator)
