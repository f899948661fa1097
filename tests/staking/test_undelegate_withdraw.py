"""Undelegation into the share-based queue, the cooldown, withdrawal."""

import ape

from tests.conftest import PHA
from tests.staking.conftest import COOLDOWN, DAY, MIN_DELEGATION, VIRTUAL_SHARES, only_event


def test_undelegate__moves_value_to_queue_and_keeps_backing(staking, pool_id, alice, stake):
    stake(alice, 10 * PHA)
    shares = staking.sharesOf(pool_id, alice)
    tx = staking.undelegate(pool_id, shares // 2, sender=alice)
    info = staking.poolInfo(pool_id)
    assert staking.sharesOf(pool_id, alice) == shares // 2
    assert info.queuedAssets == 5 * PHA - 1 or info.queuedAssets == 5 * PHA
    assert staking.backing(pool_id) == 10 * PHA
    assert staking.requestCount(pool_id, alice) == 1
    event = only_event(tx, staking.Undelegated)
    assert (event.delegator, event.requestId, event.shares) == (alice, 0, shares // 2)
    assert event.assets == info.queuedAssets
    assert event.unlockAt == tx.timestamp + COOLDOWN
    request, assets = staking.withdrawalRequest(pool_id, alice, 0)
    assert tuple(request) == (event.queuedShares, event.unlockAt)
    assert assets == event.assets


def test_undelegate__second_request__gets_next_id(staking, pool_id, alice, stake):
    stake(alice, 10 * PHA)
    staking.undelegate(pool_id, PHA * VIRTUAL_SHARES, sender=alice)
    tx = staking.undelegate(pool_id, PHA * VIRTUAL_SHARES, sender=alice)
    assert only_event(tx, staking.Undelegated).requestId == 1
    assert staking.requestCount(pool_id, alice) == 2


def test_undelegate__zero_shares__reverts(staking, pool_id, alice, stake):
    stake(alice, PHA)
    with ape.reverts(staking.StakingZeroAmount):
        staking.undelegate(pool_id, 0, sender=alice)


def test_undelegate__more_than_held__reverts(staking, pool_id, alice, stake):
    stake(alice, PHA)
    held = staking.sharesOf(pool_id, alice)
    with ape.reverts(
        staking.StakingInsufficientShares, poolId=pool_id, delegator=alice, held=held, requested=held + 1
    ):
        staking.undelegate(pool_id, held + 1, sender=alice)


def test_undelegate__unknown_pool__reverts(staking, alice):
    unknown = staking.poolCount() + 5
    with ape.reverts(staking.StakingUnknownPool, poolId=unknown):
        staking.undelegate(unknown, 1, sender=alice)


def test_undelegate__leaving_dust__reverts(staking, pool_id, alice, stake):
    stake(alice, PHA)
    held = staking.sharesOf(pool_id, alice)
    with ape.reverts(staking.StakingDustRemainder):
        staking.undelegate(pool_id, held - 10, sender=alice)


def test_undelegate__everything__is_allowed(staking, pool_id, alice, stake):
    stake(alice, MIN_DELEGATION)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    assert staking.sharesOf(pool_id, alice) == 0
    assert staking.poolInfo(pool_id).totalShares == 0


def test_undelegate__worth_zero_assets__reverts(staking, pool_id, alice, stake):
    stake(alice, PHA)
    with ape.reverts(staking.StakingZeroShares, poolId=pool_id, amount=1):
        staking.undelegate(pool_id, 1, sender=alice)


def test_withdraw__after_cooldown__pays_and_clears(staking, token, pool_id, alice, stake, chain):
    stake(alice, 10 * PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    _, queued = staking.withdrawalRequest(pool_id, alice, 0)
    chain.pending_timestamp += COOLDOWN
    tx = staking.withdraw(pool_id, 0, sender=alice)
    assert token.balanceOf(alice) == queued
    assert queued >= 10 * PHA - 1
    info = staking.poolInfo(pool_id)
    assert info.queuedAssets == 0 and info.queuedShares == 0
    event = only_event(tx, staking.Withdrawn)
    assert (event.delegator, event.requestId, event.assets) == (alice, 0, queued)
    request, assets = staking.withdrawalRequest(pool_id, alice, 0)
    assert request[0] == 0 and assets == 0


def test_withdraw__before_cooldown__reverts_with_unlock_time(staking, pool_id, alice, stake, chain):
    stake(alice, PHA)
    tx = staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    unlock = only_event(tx, staking.Undelegated).unlockAt
    chain.pending_timestamp = unlock - 1
    with ape.reverts(staking.StakingCooldownNotOver, poolId=pool_id, requestId=0, unlockAt=unlock):
        staking.withdraw(pool_id, 0, sender=alice)


def test_withdraw__unknown_request__reverts(staking, pool_id, alice):
    with ape.reverts(staking.StakingNoSuchRequest, poolId=pool_id, delegator=alice, requestId=3):
        staking.withdraw(pool_id, 3, sender=alice)


def test_withdraw__someone_elses_request__reverts(staking, pool_id, alice, attacker, stake, chain):
    stake(alice, PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    chain.pending_timestamp += COOLDOWN
    with ape.reverts(staking.StakingNoSuchRequest, poolId=pool_id, delegator=attacker, requestId=0):
        staking.withdraw(pool_id, 0, sender=attacker)


def test_withdraw__cooldown_changed_later__keeps_the_request_unlock_time(
    staking, pool_id, gov, alice, stake, chain
):
    stake(alice, PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    staking.setCooldown(28 * DAY, sender=gov)
    chain.pending_timestamp += COOLDOWN
    staking.withdraw(pool_id, 0, sender=alice)
    assert staking.poolInfo(pool_id).queuedShares == 0


def test_withdraw__queue_earns_no_rewards(staking, token, pool_id, alice, bob, stake, pay_reward, chain):
    stake(alice, 10 * PHA)
    stake(bob, 10 * PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    _, queued = staking.withdrawalRequest(pool_id, alice, 0)
    pay_reward(10 * PHA)
    chain.pending_timestamp += COOLDOWN
    staking.withdraw(pool_id, 0, sender=alice)
    assert token.balanceOf(alice) == queued
    assert staking.assetsOf(pool_id, bob) > 18 * PHA


def test_withdraw__several_requests_in_queue__each_gets_its_share(
    staking, token, pool_id, alice, bob, stake, chain
):
    stake(alice, 3 * PHA)
    stake(bob, 5 * PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, bob), sender=bob)
    chain.pending_timestamp += COOLDOWN
    staking.withdraw(pool_id, 0, sender=bob)
    staking.withdraw(pool_id, 0, sender=alice)
    assert 3 * PHA - 2 <= token.balanceOf(alice) <= 3 * PHA
    assert 5 * PHA - 2 <= token.balanceOf(bob) <= 5 * PHA
