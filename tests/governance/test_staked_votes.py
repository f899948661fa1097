"""Staked PHA votes: Staking's checkpoints, the PHAVotes sum, and no double counting."""

import ape

from tests.conftest import PHA
from tests.governance.conftest import stake, token_delegate

ZERO = "0x" + "00" * 20


def test_staked_votes__before_delegating__count_for_nobody(staking, token, fund, new_pool, alice, votes):
    pool = new_pool()
    stake(staking, token, fund, alice, pool, 100 * PHA)
    assert staking.getStakedVotes(alice) == 0
    assert staking.stakedVoteUnits(alice) == 0
    assert staking.positionVotes(pool, alice) == (0, False)
    assert votes.getVotes(alice) == 0


def test_delegate_staked_votes__counts_listed_positions_then_new_ones(
    staking, token, fund, new_pool, alice, chain
):
    first, second = new_pool(), new_pool()
    stake(staking, token, fund, alice, first, 100 * PHA)
    staking.delegateStakedVotes(alice, [first], sender=alice)
    assert staking.getStakedVotes(alice) == 100 * PHA
    assert staking.positionVotes(first, alice) == (100 * PHA, True)
    # a position opened after delegating counts by itself
    stake(staking, token, fund, alice, second, 50 * PHA)
    assert staking.getStakedVotes(alice) == 150 * PHA
    assert staking.stakedVoteUnits(alice) == 150 * PHA


def test_staked_votes__unlisted_old_position__is_not_counted_until_synced(
    staking, token, fund, new_pool, alice, bob
):
    first, second = new_pool(), new_pool()
    stake(staking, token, fund, alice, first, 100 * PHA)
    stake(staking, token, fund, alice, second, 40 * PHA)
    staking.delegateStakedVotes(alice, [first], sender=alice)
    assert staking.getStakedVotes(alice) == 100 * PHA
    staking.syncVotes(second, alice, sender=bob)  # anyone may count it
    assert staking.getStakedVotes(alice) == 140 * PHA


def test_staked_votes__delegate_elsewhere_and_back__moves_all_units(
    staking, token, fund, new_pool, alice, bob
):
    pool = new_pool()
    stake(staking, token, fund, alice, pool, 100 * PHA)
    staking.delegateStakedVotes(alice, [pool], sender=alice)
    tx = staking.delegateStakedVotes(bob, [], sender=alice)
    assert staking.getStakedVotes(alice) == 0
    assert staking.getStakedVotes(bob) == 100 * PHA
    assert staking.stakedVotesDelegate(alice) == bob
    events = tx.decode_logs(staking.StakedVotesDelegated)
    assert [(e.staker, e.fromDelegate, e.toDelegate) for e in events] == [(alice, alice, bob)]
    staking.delegateStakedVotes(ZERO, [], sender=alice)  # stop voting
    assert staking.getStakedVotes(bob) == 0
    assert staking.stakedVoteUnits(alice) == 100 * PHA  # still tracked, counted again on delegating
    staking.delegateStakedVotes(alice, [], sender=alice)
    assert staking.getStakedVotes(alice) == 100 * PHA


def test_staked_votes__undelegate__reduces_them(staking, token, fund, new_pool, alice):
    pool = new_pool()
    stake(staking, token, fund, alice, pool, 100 * PHA)
    staking.delegateStakedVotes(alice, [pool], sender=alice)
    staking.undelegate(pool, staking.sharesOf(pool, alice) * 3 // 10, sender=alice)
    assert staking.getStakedVotes(alice) == staking.assetsOf(pool, alice)
    assert 70 * PHA - 1 <= staking.getStakedVotes(alice) <= 70 * PHA
    staking.undelegate(pool, staking.sharesOf(pool, alice), sender=alice)
    assert staking.getStakedVotes(alice) == 0  # queued stake does not vote


def test_staked_votes__slash__reduced_by_anyones_sync(staking, token, fund, new_pool, alice, bob, gov):
    pool = new_pool()
    stake(staking, token, fund, alice, pool, 100 * PHA)
    staking.delegateStakedVotes(alice, [pool], sender=alice)
    staking.slash(pool, 10 * PHA, b"\x01" * 32, sender=gov)
    assert staking.getStakedVotes(alice) == 100 * PHA  # lazily: until the position is synced
    staking.syncVotes(pool, alice, sender=bob)
    assert staking.getStakedVotes(alice) == staking.assetsOf(pool, alice)
    assert staking.getStakedVotes(alice) <= 90 * PHA


def test_past_staked_votes__checkpointed_per_block__future_lookup_reverts(
    staking, token, fund, new_pool, alice, chain
):
    pool = new_pool()
    stake(staking, token, fund, alice, pool, 100 * PHA)
    staking.delegateStakedVotes(alice, [pool], sender=alice)
    before = chain.blocks.head.number
    stake(staking, token, fund, alice, pool, 20 * PHA)
    after = chain.blocks.head.number
    chain.mine()
    assert staking.getPastStakedVotes(alice, before) == 100 * PHA
    assert staking.getPastStakedVotes(alice, after) == 120 * PHA
    assert staking.clock() == token.clock()
    with ape.reverts(staking.StakingVotesFutureLookup):
        staking.getPastStakedVotes(alice, staking.clock() + 1)


def test_delegate_staked_votes__too_many_pools__reverts(staking, alice):
    with ape.reverts(staking.StakingBatchTooLarge):
        staking.delegateStakedVotes(alice, list(range(1, 202)), sender=alice)


def test_votes__staking_never_counts_its_own_balance(staking, token, fund, new_pool, alice, bob, votes):
    """No double counting: the PHA in Staking is votes of its stakers only."""
    pool = new_pool()
    fund(alice, 300 * PHA)
    token_delegate(token, alice, alice)
    assert votes.getVotes(alice) == 300 * PHA
    token.approve(staking, 200 * PHA, sender=alice)
    staking.invoke_transaction("delegate", pool, 200 * PHA, sender=alice)
    # the 200 PHA left alice's token votes with the tokens ...
    assert token.getVotes(alice) == 100 * PHA
    assert votes.getVotes(alice) == 100 * PHA
    staking.delegateStakedVotes(alice, [pool], sender=alice)
    # ... and come back once, as staked votes
    assert votes.getVotes(alice) == 300 * PHA
    assert token.balanceOf(staking) >= 200 * PHA
    assert token.delegates(staking) == ZERO
    assert token.getVotes(staking) == 0 and votes.getVotes(staking) == 0
    # nobody can make Staking delegate its balance: it has no such function, and a delegate call
    # from anyone else only moves that caller's own votes
    token_delegate(token, bob, bob)
    assert token.getVotes(bob) == token.balanceOf(bob)
    assert votes.getPastTotalSupply(staking.clock() - 1) == token.getPastTotalSupply(staking.clock() - 1)


def test_votes_adapter__delegation_is_refused_and_clock_is_the_tokens(votes, token, alice):
    assert votes.CLOCK_MODE() == token.CLOCK_MODE() == "mode=blocknumber&from=default"
    assert votes.clock() == token.clock()
    with ape.reverts(votes.PHAVotesDelegateAtSource):
        votes.invoke_transaction("delegate", alice, sender=alice)
