"""minterMintBatch: the migrator's batch mint, equal in effect to that many minterMint calls."""

import ape
import pytest

from tests.conftest import PHA
from tests.token.test_votes import delegate

CAP = 1_000_000_000 * PHA


def mint_batch(token, recipients, amounts, sender):
    return token.minterMintBatch([str(getattr(r, "address", r)) for r in recipients], amounts, sender=sender)


def test_batch__mints_each_recipient_and_emits_one_transfer_each(token, gov, alice, bob, carol):
    tx = mint_batch(token, [alice, bob, carol], [1 * PHA, 2 * PHA, 3 * PHA], gov)
    assert [token.balanceOf(a) for a in (alice, bob, carol)] == [PHA, 2 * PHA, 3 * PHA]
    assert token.totalSupply() == 6 * PHA
    transfers = tx.decode_logs(token.Transfer)
    assert [(t["from"], t["to"], t.value) for t in transfers] == [
        (ape.utils.ZERO_ADDRESS, alice.address, PHA),
        (ape.utils.ZERO_ADDRESS, bob.address, 2 * PHA),
        (ape.utils.ZERO_ADDRESS, carol.address, 3 * PHA),
    ]


def test_batch__same_recipient_twice__gets_both_amounts(token, gov, alice):
    mint_batch(token, [alice, alice], [PHA, 2 * PHA], gov)
    assert token.balanceOf(alice) == 3 * PHA


def test_batch__delegated_recipients__their_delegates_gain_votes(token, gov, alice, bob, carol, attacker):
    delegate(token, alice, alice)  # self-delegated
    delegate(token, bob, carol)  # delegated to someone else
    # attacker never delegated: holds tokens, no votes anywhere
    tx = mint_batch(token, [alice, bob, attacker, alice], [5 * PHA, 7 * PHA, 11 * PHA, PHA], gov)
    assert token.getVotes(alice) == 6 * PHA
    assert token.getVotes(carol) == 7 * PHA
    assert token.getVotes(bob) == 0 and token.getVotes(attacker) == 0
    changes = [(c.delegate, c.previousVotes, c.newVotes) for c in tx.decode_logs(token.DelegateVotesChanged)]
    assert changes == [
        (alice.address, 0, 5 * PHA),
        (carol.address, 0, 7 * PHA),
        (alice.address, 5 * PHA, 6 * PHA),
    ]


def test_batch__supply_checkpoint__once_with_the_whole_sum(token, gov, alice, bob, chain):
    mint_batch(token, [alice, bob], [PHA, 2 * PHA], gov)
    block = chain.blocks.head.number
    chain.mine(1)
    assert token.getPastTotalSupply(block) == 3 * PHA
    assert token.getPastTotalSupply(block - 1) == 0
    # The checkpoint's sink (the token itself) never holds a delegate or votes.
    assert token.delegates(token.address) == ape.utils.ZERO_ADDRESS
    assert token.getVotes(token.address) == 0


def test_batch__same_state_as_single_mints(token, gov, alice, bob, carol, chain):
    delegate(token, alice, carol)
    snap = chain.snapshot()
    mint_batch(token, [alice, bob], [3 * PHA, 4 * PHA], gov)
    batched = (token.balanceOf(alice), token.balanceOf(bob), token.getVotes(carol), token.totalSupply())
    chain.restore(snap)
    token.minterMint(alice, 3 * PHA, sender=gov)
    token.minterMint(bob, 4 * PHA, sender=gov)
    single = (token.balanceOf(alice), token.balanceOf(bob), token.getVotes(carol), token.totalSupply())
    assert batched == single == (3 * PHA, 4 * PHA, 3 * PHA, 7 * PHA)


def test_batch__cap_exceeded__reverts_and_mints_nothing(token, fund, gov, alice, bob, chain):
    fund(alice, CAP - 10 * PHA)
    delegate(token, bob, bob)
    before = chain.blocks.head.number
    with ape.reverts(token.ERC20ExceededCap):
        mint_batch(token, [bob, alice], [5 * PHA, 6 * PHA], gov)
    assert token.balanceOf(bob) == 0 and token.getVotes(bob) == 0
    assert token.totalSupply() == CAP - 10 * PHA
    chain.mine(1)
    assert token.getPastTotalSupply(before) == CAP - 10 * PHA


def test_batch__exactly_to_the_cap__succeeds(token, fund, gov, alice, bob):
    fund(alice, CAP - 10 * PHA)
    mint_batch(token, [bob, alice], [4 * PHA, 6 * PHA], gov)
    assert token.totalSupply() == CAP


def test_batch__one_amount_near_uint256_max__reverts_on_cap_not_overflow(token, gov, alice, bob):
    with ape.reverts(token.ERC20ExceededCap):
        mint_batch(token, [alice, bob], [2**256 - 1, 2**256 - 1], gov)


def test_batch__length_mismatch__reverts(token, gov, alice, bob):
    with ape.reverts(token.PHATokenBatchLengthMismatch, recipients=2, amounts=1):
        mint_batch(token, [alice, bob], [PHA], gov)


@pytest.mark.parametrize("length", [0, 1001])
def test_batch__empty_or_above_the_bound__reverts(token, gov, length):
    recipients = ["0x" + (i + 1).to_bytes(20, "big").hex() for i in range(length)]
    with ape.reverts(token.PHATokenBadBatchLength, length=length, max=1000):
        mint_batch(token, recipients, [1] * length, gov)
    assert token.MAX_MINT_BATCH() == 1000


def test_batch__zero_address_recipient__reverts_and_mints_nothing(token, gov, alice):
    with ape.reverts(token.ERC20InvalidReceiver):
        mint_batch(token, [alice, ape.utils.ZERO_ADDRESS], [PHA, PHA], gov)
    assert token.totalSupply() == 0


def test_batch__non_minter__reverts(token, attacker, bridge):
    for intruder in (attacker, bridge):
        with ape.reverts(token.AccessControlUnauthorizedAccount):
            mint_batch(token, [intruder], [PHA], intruder)
    assert token.totalSupply() == 0


def test_batch__revoked_minter__reverts(token, gov, alice):
    token.revokeRole(token.MINTER_ROLE(), gov, sender=gov)
    with ape.reverts(token.AccessControlUnauthorizedAccount):
        mint_batch(token, [alice], [PHA], gov)
