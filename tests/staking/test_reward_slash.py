"""Rewards (commission first, O(1) price rise, the zero-share rule) and bounded slashing."""

import ape

from tests.conftest import PHA
from tests.staking.conftest import COOLDOWN, VIRTUAL_SHARES, only_event

EVIDENCE = b"\x42" * 32


def test_reward__takes_commission_and_raises_price(staking, token, pool_id, alice, escrow, stake, pay_reward):
    held = token.balanceOf(staking)
    stake(alice, 100 * PHA)
    before = staking.sharePrice(pool_id)
    tx = pay_reward(50 * PHA)
    info = staking.poolInfo(pool_id)
    assert info.commissionOwed == 5 * PHA
    assert info.activeAssets == 145 * PHA
    assert staking.sharePrice(pool_id) > before
    assert 145 * PHA - 2 <= staking.assetsOf(pool_id, alice) <= 145 * PHA
    assert token.balanceOf(staking) == held + 150 * PHA
    event = only_event(tx, staking.Rewarded)
    assert (event.payer, event.amount, event.commission) == (escrow, 50 * PHA, 5 * PHA)


def test_reward__pool_without_shares__all_goes_to_operator(staking, pool_id, alice, stake, pay_reward, chain):
    tx = pay_reward(10 * PHA)
    assert only_event(tx, staking.Rewarded).commission == 10 * PHA
    assert staking.poolInfo(pool_id).activeAssets == 0
    stake(alice, PHA)  # the next delegator does not collect the earlier reward
    assert staking.assetsOf(pool_id, alice) <= PHA


def test_reward__after_everyone_left__goes_to_operator(staking, pool_id, alice, stake, pay_reward):
    stake(alice, PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    pay_reward(PHA)
    assert staking.poolInfo(pool_id).commissionOwed == PHA


def test_reward__zero_amount__reverts(staking, pool_id, escrow):
    with ape.reverts(staking.StakingZeroAmount):
        staking.reward(pool_id, 0, sender=escrow)


def test_reward__unknown_pool__reverts(staking, escrow):
    unknown = staking.poolCount() + 4
    with ape.reverts(staking.StakingUnknownPool, poolId=unknown):
        staking.reward(unknown, PHA, sender=escrow)


def test_reward__by_anyone__is_accepted(staking, pool_id, alice, carol, stake, pay_reward):
    stake(alice, PHA)
    pay_reward(PHA, payer=carol)
    assert staking.poolInfo(pool_id).activeAssets == PHA + PHA * 9 // 10


def test_reward__matured_commission_increase__applies_by_time(
    staking, token, pool_id, operator, alice, escrow, fund, stake, chain
):
    stake(alice, PHA)
    scheduled = staking.setCommission(pool_id, 5_000, sender=operator)
    effective_at = only_event(scheduled, staking.CommissionChangeScheduled).effectiveAt
    fund(escrow, 20 * PHA)
    token.approve(staking, 20 * PHA, sender=escrow)
    # Each reward is the only transaction at the timestamp set for it (funding happened before).
    chain.pending_timestamp = effective_at - 1
    tx = staking.reward(pool_id, 10 * PHA, sender=escrow)
    assert only_event(tx, staking.Rewarded).commission == PHA  # the old 10%
    chain.pending_timestamp = effective_at
    tx = staking.reward(pool_id, 10 * PHA, sender=escrow)
    assert only_event(tx, staking.Rewarded).commission == 5 * PHA
    assert not tx.decode_logs(staking.CommissionChanged)  # nothing rewritten: the schedule says it
    assert staking.commissionAt(pool_id, effective_at - 1) == 1_000


def test_slash__takes_pro_rata_from_active_and_queued_to_treasury(
    staking, token, pool_id, alice, bob, escrow, treasury, stake
):
    stake(alice, 60 * PHA)
    stake(bob, 40 * PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, bob), sender=bob)
    queued_before = staking.poolInfo(pool_id).queuedAssets
    active_before = staking.poolInfo(pool_id).activeAssets
    tx = staking.slash(pool_id, 5 * PHA, EVIDENCE, sender=escrow)
    event = only_event(tx, staking.Slashed)
    assert event.fromActive == 5 * PHA * active_before // (100 * PHA)
    assert event.fromQueued == 5 * PHA * queued_before // (100 * PHA)
    assert event.evidence == EVIDENCE and event.slasher == escrow and event.requested == 5 * PHA
    assert staking.slashedOwed() == event.fromActive + event.fromQueued
    assert token.balanceOf(treasury) == 0  # owed, not moved: the treasury pulls it
    assert staking.backing(pool_id) == 100 * PHA - staking.slashedOwed()


def test_slash__above_bound__takes_only_the_bound(staking, token, pool_id, alice, escrow, treasury, stake):
    stake(alice, 100 * PHA)
    staking.slash(pool_id, 80 * PHA, EVIDENCE, sender=escrow)
    assert staking.slashedOwed() == 10 * PHA  # default bound: 10% of backing
    assert staking.backing(pool_id) == 90 * PHA


def test_slash__by_governance__is_allowed(staking, token, pool_id, alice, gov, treasury, stake):
    stake(alice, 100 * PHA)
    staking.slash(pool_id, PHA, EVIDENCE, sender=gov)
    assert staking.slashedOwed() == PHA


def test_sweep_slashed__pays_the_treasury_once(staking, token, pool_id, alice, bob, escrow, treasury, stake):
    stake(alice, 100 * PHA)
    staking.slash(pool_id, 3 * PHA, EVIDENCE, sender=escrow)
    staking.slash(pool_id, 2 * PHA, EVIDENCE, sender=escrow)
    held = token.balanceOf(staking)
    tx = staking.sweepSlashed(sender=bob)  # anyone may sweep; the PHA goes to the treasury only
    assert only_event(tx, staking.SlashedSwept).amount == 5 * PHA
    assert token.balanceOf(treasury) == 5 * PHA and token.balanceOf(bob) == 0
    assert token.balanceOf(staking) == held - 5 * PHA
    assert staking.slashedOwed() == 0 and staking.backing(pool_id) == 95 * PHA
    with ape.reverts(staking.StakingNothingOwed):
        staking.sweepSlashed(sender=bob)


def test_slash__not_slasher__reverts(staking, pool_id, alice, attacker, stake):
    stake(alice, PHA)
    with ape.reverts(
        staking.AccessControlUnauthorizedAccount, account=attacker, neededRole=staking.SLASHER_ROLE()
    ):
        staking.slash(pool_id, PHA, EVIDENCE, sender=attacker)


def test_slash__unknown_pool__reverts(staking, escrow):
    unknown = staking.poolCount() + 8
    with ape.reverts(staking.StakingUnknownPool, poolId=unknown):
        staking.slash(unknown, PHA, EVIDENCE, sender=escrow)


def test_slash__empty_pool__takes_nothing_and_records_evidence(staking, pool_id, escrow):
    tx = staking.slash(pool_id, PHA, EVIDENCE, sender=escrow)
    event = only_event(tx, staking.Slashed)
    assert event.fromActive == 0 and event.fromQueued == 0


def test_slash__then_withdraw__queued_request_pays_less(staking, token, pool_id, alice, escrow, stake, chain):
    stake(alice, 100 * PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    staking.slash(pool_id, 10 * PHA, EVIDENCE, sender=escrow)
    chain.pending_timestamp += COOLDOWN
    staking.withdraw(pool_id, 0, sender=alice)
    assert 90 * PHA - 2 <= token.balanceOf(alice) <= 90 * PHA


def test_slash__lowers_share_price(staking, pool_id, alice, escrow, stake):
    stake(alice, 100 * PHA)
    before = staking.sharePrice(pool_id)
    staking.slash(pool_id, 10 * PHA, EVIDENCE, sender=escrow)
    assert staking.sharePrice(pool_id) < before
    assert staking.sharesOf(pool_id, alice) == 100 * PHA * VIRTUAL_SHARES


def test_slash__commission_owed_is_not_slashed(staking, pool_id, alice, escrow, stake, pay_reward):
    stake(alice, 100 * PHA)
    pay_reward(100 * PHA)
    staking.slash(pool_id, 1_000 * PHA, EVIDENCE, sender=escrow)
    assert staking.poolInfo(pool_id).commissionOwed == 10 * PHA
