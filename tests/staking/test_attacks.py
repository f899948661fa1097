"""Attacks tried as an attacker would: inflation by donation or by reward, rounding drain,
undelegating before a slash, a commission hike before a big reward, reentrancy through the
token, slashing above the bound or without the role, withdrawing twice."""

import ape
import pytest
from eth_utils import keccak

from tests.conftest import PHA
from tests.staking.conftest import COOLDOWN, DAY, MIN_DELEGATION, delegate

EVIDENCE = b"\xee" * 32
REENTRANT_SELECTOR = keccak(text="ReentrancyGuardReentrantCall()")[:4]


def test_inflation__donation_does_not_move_the_share_price(
    staking, token, pool_id, attacker, alice, stake, fund
):
    stake(attacker, MIN_DELEGATION)
    price = staking.sharePrice(pool_id)
    fund(attacker, 10_000 * PHA)
    token.transfer(staking, 10_000 * PHA, sender=attacker)  # the classic donation
    assert staking.sharePrice(pool_id) == price
    stake(alice, PHA)
    assert staking.assetsOf(pool_id, alice) >= PHA - 1
    # the attacker cannot get the donation back either
    staking.undelegate(pool_id, staking.sharesOf(pool_id, attacker), sender=attacker)
    _, queued = staking.withdrawalRequest(pool_id, attacker, 0)
    assert queued <= MIN_DELEGATION


def test_inflation__pumping_price_with_rewards__victim_loses_at_most_dust(
    staking, token, attacker, alice, stake, pay_reward
):
    staking.openPool(0, sender=attacker)
    own = staking.poolCount()
    stake(attacker, MIN_DELEGATION, own)
    pay_reward(10_000 * PHA, own, payer=attacker)  # price of a share now ~1e6 times higher
    stake(alice, PHA, own)
    assert staking.sharesOf(own, alice) > 0
    assert staking.assetsOf(own, alice) >= PHA - 10**4
    # the attacker's position grew only by their own reward, not by alice's deposit
    before = staking.assetsOf(own, attacker)
    assert before <= MIN_DELEGATION + 10_000 * PHA


def test_inflation__first_depositor_cannot_leave_one_share(staking, pool_id, attacker, stake):
    stake(attacker, MIN_DELEGATION)
    held = staking.sharesOf(pool_id, attacker)
    with ape.reverts(staking.StakingDustRemainder):
        staking.undelegate(pool_id, held - 1, sender=attacker)


def test_rounding_drain__many_tiny_cycles__attacker_loses_victim_keeps(
    staking, token, pool_id, attacker, alice, stake, pay_reward, fund, chain
):
    stake(alice, 100 * PHA)
    pay_reward(7 * PHA + 3)  # an awkward price
    victim_before = staking.assetsOf(pool_id, alice)
    spent = 0
    fund(attacker, 100 * PHA)
    token.approve(staking, 100 * PHA, sender=attacker)
    for i in range(25):
        amount = MIN_DELEGATION + i * 7_919
        delegate(staking, attacker, pool_id, amount)
        spent += amount
        staking.undelegate(pool_id, staking.sharesOf(pool_id, attacker), sender=attacker)
    chain.pending_timestamp += COOLDOWN
    received = 0
    for request_id in range(25):
        received += (
            staking.withdraw(pool_id, request_id, sender=attacker).decode_logs(staking.Withdrawn)[0].assets
        )
    assert received <= spent
    assert staking.assetsOf(pool_id, alice) >= victim_before


def test_undelegate_right_before_slash__queued_stake_is_slashed_pro_rata(
    staking, token, pool_id, alice, bob, escrow, stake, chain
):
    stake(alice, 100 * PHA)
    stake(bob, 100 * PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, bob), sender=bob)  # sees the fault coming
    staking.slash(pool_id, 20 * PHA, EVIDENCE, sender=escrow)  # 10% of 200
    chain.pending_timestamp += COOLDOWN
    staking.withdraw(pool_id, 0, sender=bob)
    assert 90 * PHA - 2 <= token.balanceOf(bob) <= 90 * PHA
    assert 90 * PHA - 2 <= staking.assetsOf(pool_id, alice) <= 90 * PHA


def test_commission_raised_before_big_reward__old_rate_applies_until_notice_ends(
    staking, pool_id, operator, alice, stake, pay_reward, chain
):
    stake(alice, 100 * PHA)
    staking.setCommission(pool_id, 5_000, sender=operator)
    pay_reward(1_000 * PHA)  # the big reward lands right after the hike
    assert staking.poolInfo(pool_id).commissionOwed == 100 * PHA  # still 10%
    chain.pending_timestamp += 7 * DAY - 60
    pay_reward(1_000 * PHA)
    assert staking.poolInfo(pool_id).commissionOwed == 200 * PHA


def test_commission_hike__delegator_who_left_during_notice_is_unaffected(
    staking, token, pool_id, operator, alice, stake, pay_reward, chain
):
    stake(alice, 100 * PHA)
    staking.setCommission(pool_id, 5_000, sender=operator)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    _, queued = staking.withdrawalRequest(pool_id, alice, 0)
    chain.pending_timestamp += 7 * DAY
    pay_reward(1_000 * PHA)
    staking.withdraw(pool_id, 0, sender=alice)
    assert token.balanceOf(alice) == queued


@pytest.fixture
def evil(project, gov, treasury):
    """A staking contract over a token that calls back into it on every transfer."""
    evil_token = gov.deploy(project.TestReentrantToken)
    evil_staking = gov.deploy(project.Staking, evil_token, gov, treasury)
    return evil_token, evil_staking


@pytest.mark.parametrize("op", ["delegate", "withdraw", "reward", "claimCommission", "sweepSlashed"])
def test_reentrancy_through_token__every_reentry_is_refused(evil, operator, alice, gov, chain, op):
    evil_token, evil_staking = evil
    evil_staking.openPool(1_000, sender=operator)
    evil_token.mint(alice, 1_000 * PHA, sender=alice)
    evil_token.approve(evil_staking, 1_000 * PHA, sender=alice)
    evil_staking.invoke_transaction("delegate", 1, 100 * PHA, sender=alice)
    evil_staking.undelegate(1, evil_staking.sharesOf(1, alice) // 2, sender=alice)
    evil_staking.reward(1, 10 * PHA, sender=alice)
    evil_staking.grantRole(evil_staking.SLASHER_ROLE(), evil_token, sender=gov)
    reentry = {
        "withdraw": evil_staking.withdraw.encode_input(1, 0),
        "reward": evil_staking.reward.encode_input(1, PHA),
        "claimCommission": evil_staking.claimCommission.encode_input(1, alice),
        # a slash moves no tokens; the sweep that pays it out is where the token calls back
        "sweepSlashed": evil_staking.slash.encode_input(1, PHA, EVIDENCE),
    }
    if op == "sweepSlashed":
        slash = evil_staking.slash(1, PHA, EVIDENCE, sender=gov).decode_logs(evil_staking.Slashed)[0]
        assert PHA - 2 <= slash.fromActive + slash.fromQueued <= PHA
    payload = reentry["reward"] if op == "delegate" else reentry[op]
    evil_token.arm(evil_staking, payload, sender=alice)
    chain.pending_timestamp += COOLDOWN
    backing = evil_staking.backing(1)
    if op == "delegate":
        evil_staking.invoke_transaction("delegate", 1, PHA, sender=alice)
        backing += PHA
    elif op == "withdraw":
        evil_staking.withdraw(1, 0, sender=alice)
        backing = evil_staking.poolInfo(1).activeAssets
    elif op == "reward":
        evil_staking.reward(1, PHA, sender=alice)
    elif op == "claimCommission":
        evil_staking.claimCommission(1, operator, sender=operator)
    else:
        owed = evil_staking.slashedOwed()
        evil_staking.sweepSlashed(sender=alice)
        assert evil_token.balanceOf(evil_staking.treasury()) == owed and owed > 0
    assert evil_token.lastCallbackReverted()
    assert bytes(evil_token.lastRevertData())[:4] == REENTRANT_SELECTOR
    if op != "reward":
        assert evil_staking.backing(1) == backing
    info = evil_staking.poolInfo(1)
    held = info.activeAssets + info.queuedAssets + info.commissionOwed + evil_staking.slashedOwed()
    assert evil_token.balanceOf(evil_staking) == held


def test_slash_above_bound__repeated_max_slashes_each_take_only_the_bound(
    staking, token, pool_id, alice, escrow, treasury, stake
):
    stake(alice, 1_000 * PHA)
    staking.slash(pool_id, 10**30, EVIDENCE, sender=escrow)
    assert staking.slashedOwed() == 100 * PHA
    staking.slash(pool_id, 10**30, EVIDENCE, sender=escrow)
    assert staking.slashedOwed() == 190 * PHA


def test_slash_bound__governance_cannot_raise_it_past_half(staking, gov):
    with ape.reverts(staking.StakingParameterOutOfBounds, value=5_001, minimum=0, maximum=5_000):
        staking.setMaxSlashBps(5_001, sender=gov)


@pytest.mark.parametrize("who", ["attacker", "operator", "alice"])
def test_non_slasher_slash__reverts(staking, pool_id, stake, alice, request, who):
    stake(alice, PHA)
    account = request.getfixturevalue(who)
    with ape.reverts(staking.AccessControlUnauthorizedAccount):
        staking.slash(pool_id, PHA, EVIDENCE, sender=account)


def test_withdraw_twice__second_reverts(staking, token, pool_id, alice, stake, chain):
    stake(alice, 5 * PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    chain.pending_timestamp += COOLDOWN
    staking.withdraw(pool_id, 0, sender=alice)
    paid = token.balanceOf(alice)
    with ape.reverts(staking.StakingNoSuchRequest, poolId=pool_id, delegator=alice, requestId=0):
        staking.withdraw(pool_id, 0, sender=alice)
    assert token.balanceOf(alice) == paid


def test_withdraw__not_blocked_by_governance_or_operator_changes(
    staking, token, pool_id, gov, operator, alice, stake, chain
):
    stake(alice, 5 * PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    staking.setCommission(pool_id, 5_000, sender=operator)
    staking.setCooldown(28 * DAY, sender=gov)
    staking.setMinStakePerWorker(10**7 * PHA, sender=gov)
    chain.pending_timestamp += COOLDOWN
    staking.withdraw(pool_id, 0, sender=alice)
    assert token.balanceOf(alice) >= 5 * PHA - 1
