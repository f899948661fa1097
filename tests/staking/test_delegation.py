"""Delegating by approve and by ERC-2612 permit; share conversion; minimum delegation."""

import ape

from tests.conftest import PHA
from tests.staking.conftest import MIN_DELEGATION, VIRTUAL_SHARES, delegate, only_event
from tests.token.test_permit import sign_permit


def test_delegate__fresh_pool__mints_shares_at_the_initial_rate(staking, token, pool_id, alice, stake):
    held = token.balanceOf(staking)
    tx = stake(alice, 5 * PHA)
    assert staking.sharesOf(pool_id, alice) == 5 * PHA * VIRTUAL_SHARES
    assert 5 * PHA - 1 <= staking.assetsOf(pool_id, alice) <= 5 * PHA  # rounding favours the pool
    assert token.balanceOf(staking) == held + 5 * PHA
    assert staking.backing(pool_id) == 5 * PHA
    event = only_event(tx, staking.Delegated)
    assert (event.poolId, event.delegator, event.assets, event.shares) == (
        pool_id,
        alice,
        5 * PHA,
        5 * PHA * 1_000,
    )


def test_delegate__after_reward__buys_fewer_shares_and_keeps_value(
    staking, pool_id, alice, bob, stake, pay_reward
):
    stake(alice, 10 * PHA)
    pay_reward(10 * PHA)  # 9 PHA to the pool after 10% commission
    price_before = staking.sharePrice(pool_id)
    stake(bob, 19 * PHA)
    assert staking.sharesOf(pool_id, bob) < 19 * PHA * VIRTUAL_SHARES
    assert 19 * PHA - 2 <= staking.assetsOf(pool_id, bob) <= 19 * PHA
    assert staking.sharePrice(pool_id) >= price_before


def test_delegate__below_minimum__reverts(staking, token, pool_id, alice, fund):
    fund(alice, PHA)
    token.approve(staking, PHA, sender=alice)
    with ape.reverts(staking.StakingBelowMinimum, assets=MIN_DELEGATION - 1, minimum=MIN_DELEGATION):
        delegate(staking, alice, pool_id, MIN_DELEGATION - 1)


def test_delegate__exactly_minimum__succeeds(staking, pool_id, alice, stake):
    stake(alice, MIN_DELEGATION)
    assert staking.sharesOf(pool_id, alice) == MIN_DELEGATION * VIRTUAL_SHARES


def test_delegate__unknown_pool__reverts(staking, token, alice, fund):
    fund(alice, PHA)
    token.approve(staking, PHA, sender=alice)
    unknown = staking.poolCount() + 1
    with ape.reverts(staking.StakingUnknownPool, poolId=unknown):
        delegate(staking, alice, unknown, PHA)


def test_delegate__without_allowance__reverts(staking, token, pool_id, alice, fund):
    fund(alice, PHA)
    with ape.reverts(token.ERC20InsufficientAllowance):
        delegate(staking, alice, pool_id, PHA)


def test_delegate__without_balance__reverts(staking, token, pool_id, alice):
    token.approve(staking, PHA, sender=alice)
    with ape.reverts(token.ERC20InsufficientBalance):
        delegate(staking, alice, pool_id, PHA)


def test_delegate_with_permit__valid_signature__delegates_without_approve(
    staking, token, pool_id, alice, fund, chain
):
    fund(alice, 3 * PHA)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, alice, alice.address, staking.address, 3 * PHA, 0, deadline)
    tx = staking.delegateWithPermit(pool_id, 3 * PHA, deadline, v, r, s, sender=alice)
    assert staking.sharesOf(pool_id, alice) == 3 * PHA * VIRTUAL_SHARES
    assert token.allowance(alice, staking) == 0
    assert only_event(tx, staking.Delegated).assets == 3 * PHA


def test_delegate_with_permit__front_run_permit__still_delegates(
    staking, token, pool_id, alice, attacker, fund, chain
):
    fund(alice, 3 * PHA)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, alice, alice.address, staking.address, 3 * PHA, 0, deadline)
    token.permit(alice, staking, 3 * PHA, deadline, v, r, s, sender=attacker)  # griefer uses it first
    staking.delegateWithPermit(pool_id, 3 * PHA, deadline, v, r, s, sender=alice)
    assert staking.sharesOf(pool_id, alice) == 3 * PHA * VIRTUAL_SHARES


def test_delegate_with_permit__bad_signature__reverts_on_allowance(
    staking, token, pool_id, alice, attacker, fund, chain
):
    fund(alice, 3 * PHA)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, attacker, alice.address, staking.address, 3 * PHA, 0, deadline)
    with ape.reverts(token.ERC20InsufficientAllowance):
        staking.delegateWithPermit(pool_id, 3 * PHA, deadline, v, r, s, sender=alice)


def test_convert__round_trip_never_gains(staking, pool_id, alice, stake, pay_reward):
    stake(alice, 7 * PHA)
    pay_reward(3 * PHA + 7)
    for amount in (MIN_DELEGATION, PHA, 123_456_789_012_345_678):
        shares = staking.convertToShares(pool_id, amount)
        assert staking.convertToAssets(pool_id, shares) <= amount


def test_share_price__fresh_pool__is_one_pha(staking, pool_id):
    assert staking.sharePrice(pool_id) == PHA
