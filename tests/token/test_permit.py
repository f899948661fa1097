"""ERC-2612 permit: valid, expired, wrong signer, replayed nonce, another chain id."""

import ape
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from pha.permit import PERMIT_TYPES
from tests.conftest import PHA


def sign_permit(token, signer, owner, spender, value, nonce, deadline, chain_id=None):
    domain = {
        "name": "Phala Token",
        "version": "1",
        "chainId": chain_id if chain_id is not None else ape.chain.chain_id,
        "verifyingContract": str(token.address),
    }
    message = {
        "owner": str(owner),
        "spender": str(spender),
        "value": value,
        "nonce": nonce,
        "deadline": deadline,
    }
    signable = encode_typed_data(domain, PERMIT_TYPES, message)
    signed = Account.sign_message(signable, signer.private_key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


@pytest.fixture
def deadline(chain):
    return chain.pending_timestamp + 3600


def test_permit__valid_signature__sets_allowance_and_bumps_nonce(token, alice, bob, deadline):
    v, r, s = sign_permit(token, alice, alice.address, bob.address, 5 * PHA, 0, deadline)
    tx = token.permit(alice, bob, 5 * PHA, deadline, v, r, s, sender=bob)
    assert token.allowance(alice, bob) == 5 * PHA
    assert token.nonces(alice) == 1
    approvals = tx.decode_logs(token.Approval)
    assert len(approvals) == 1 and approvals[0].value == 5 * PHA


def test_permit__then_transfer_from__moves_tokens(token, fund, alice, bob, carol, deadline):
    fund(alice, 10 * PHA)
    v, r, s = sign_permit(token, alice, alice.address, bob.address, 4 * PHA, 0, deadline)
    token.permit(alice, bob, 4 * PHA, deadline, v, r, s, sender=bob)
    token.transferFrom(alice, carol, 4 * PHA, sender=bob)
    assert token.balanceOf(carol) == 4 * PHA
    assert token.balanceOf(alice) == 6 * PHA
    assert token.allowance(alice, bob) == 0


def test_permit__expired_deadline__reverts(token, alice, bob, chain):
    deadline = chain.pending_timestamp - 1
    v, r, s = sign_permit(token, alice, alice.address, bob.address, PHA, 0, deadline)
    with ape.reverts(token.ERC2612ExpiredSignature):
        token.permit(alice, bob, PHA, deadline, v, r, s, sender=bob)


def test_permit__wrong_signer__reverts(token, alice, bob, attacker, deadline):
    v, r, s = sign_permit(token, attacker, alice.address, bob.address, PHA, 0, deadline)
    with ape.reverts(token.ERC2612InvalidSigner):
        token.permit(alice, bob, PHA, deadline, v, r, s, sender=bob)
    assert token.allowance(alice, bob) == 0


def test_permit__replayed__reverts(token, alice, bob, deadline):
    v, r, s = sign_permit(token, alice, alice.address, bob.address, PHA, 0, deadline)
    token.permit(alice, bob, PHA, deadline, v, r, s, sender=bob)
    with ape.reverts(token.ERC2612InvalidSigner):
        token.permit(alice, bob, PHA, deadline, v, r, s, sender=bob)


def test_permit__signed_for_another_chain__reverts(token, alice, bob, deadline, chain):
    v, r, s = sign_permit(
        token, alice, alice.address, bob.address, PHA, 0, deadline, chain_id=chain.chain_id + 1
    )
    with ape.reverts(token.ERC2612InvalidSigner):
        token.permit(alice, bob, PHA, deadline, v, r, s, sender=bob)


def test_permit__value_changed_after_signing__reverts(token, alice, bob, deadline):
    v, r, s = sign_permit(token, alice, alice.address, bob.address, PHA, 0, deadline)
    with ape.reverts(token.ERC2612InvalidSigner):
        token.permit(alice, bob, 2 * PHA, deadline, v, r, s, sender=bob)


def test_domain_separator__binds_chain_and_contract(token, chain):
    fields = token.eip712Domain()
    assert fields.name == "Phala Token"
    assert fields.version == "1"
    assert fields.chainId == chain.chain_id
    assert fields.verifyingContract == token.address
