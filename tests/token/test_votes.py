"""ERC20Votes: delegation, checkpoints across transfers, past votes."""

import ape

from tests.conftest import PHA


def delegate(token, holder, to):
    # Ape's contract objects have their own `delegate` (EIP-7702), hiding ERC20Votes' function.
    return token.invoke_transaction("delegate", to, sender=holder)


def test_votes__undelegated_balance__counts_for_nobody(token, fund, alice):
    fund(alice, 10 * PHA)
    assert token.getVotes(alice) == 0
    assert token.delegates(alice) == ape.utils.ZERO_ADDRESS


def test_votes__self_delegation__counts_balance(token, fund, alice):
    fund(alice, 10 * PHA)
    tx = delegate(token, alice, alice)
    assert token.getVotes(alice) == 10 * PHA
    assert len(tx.decode_logs(token.DelegateChanged)) == 1
    assert tx.decode_logs(token.DelegateVotesChanged)[0].newVotes == 10 * PHA


def test_votes__transfer__moves_votes_between_delegates(token, fund, alice, bob, carol):
    fund(alice, 10 * PHA)
    delegate(token, alice, carol)
    delegate(token, bob, bob)
    token.transfer(bob, 3 * PHA, sender=alice)
    assert token.getVotes(carol) == 7 * PHA
    assert token.getVotes(bob) == 3 * PHA
    assert token.getVotes(alice) == 0


def test_votes__past_votes__read_from_checkpoints(token, fund, alice, bob, chain):
    fund(alice, 10 * PHA)
    delegate(token, alice, alice)
    before = chain.blocks.head.number
    chain.mine(1)
    token.transfer(bob, 4 * PHA, sender=alice)
    after = chain.blocks.head.number
    chain.mine(1)
    assert token.getPastVotes(alice, before) == 10 * PHA
    assert token.getPastVotes(alice, after) == 6 * PHA
    assert token.getPastTotalSupply(before) == 10 * PHA


def test_votes__future_lookup__reverts(token, chain):
    with ape.reverts(token.ERC5805FutureLookup):
        token.getPastVotes(token.address, chain.blocks.head.number + 10)


def test_votes__mint_and_burn__move_delegate_votes(token, fund, alice, bridge):
    delegate(token, alice, alice)
    fund(alice, 10 * PHA)
    assert token.getVotes(alice) == 10 * PHA
    token.burn(alice, 4 * PHA, sender=bridge)
    assert token.getVotes(alice) == 6 * PHA
