"""Bindings: the signed message, sr25519 (raw and Polkadot.js-wrapped), ed25519, and refusals."""

import sr25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pha.migration.bindings import RawBinding, binding_message, sign_binding, verify_bindings
from pha.migration.keys import to_ss58

ALICE_SEED = bytes.fromhex("e5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a")
ALICE = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
RECIPIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
MIGRATOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN = 8453


def raw(account, signature, recipient=RECIPIENT, scheme="sr25519"):
    return RawBinding("test", account, recipient, "0x" + signature.hex(), scheme)


def check(records, chain_id=CHAIN, migrator=MIGRATOR):
    return verify_bindings(records, chain_id, migrator)


def test_binding_message__names_account_recipient_chain_and_migrator():
    message = binding_message(ALICE, RECIPIENT.lower(), CHAIN, MIGRATOR.lower()).decode()
    assert message == (
        "PHA migration binding\n"
        f"account: 0x{ALICE.hex()}\n"
        f"recipient: {RECIPIENT}\n"
        "chain id: 8453\n"
        f"migrator: {MIGRATOR}"
    )


def test_verify__alice_signature_raw_and_wrapped__accepted():
    for wrap in (False, True):
        public, signature = sign_binding(ALICE_SEED, RECIPIENT, CHAIN, MIGRATOR, wrap=wrap)
        assert public == ALICE
        result = check([raw(to_ss58(ALICE), signature)])
        assert set(result.valid) == {ALICE} and not result.rejected
        assert result.valid[ALICE].recipient == RECIPIENT


def test_verify__signed_for_another_migrator__refused():
    _, signature = sign_binding(ALICE_SEED, RECIPIENT, CHAIN, "0x" + "22" * 20)
    result = check([raw(to_ss58(ALICE), signature)])
    assert not result.valid and "bad sr25519 signature" in result.rejected[0].reason


def test_verify__signed_for_another_chain__refused():
    _, signature = sign_binding(ALICE_SEED, RECIPIENT, 10, MIGRATOR)
    assert not check([raw(to_ss58(ALICE), signature)]).valid


def test_verify__recipient_swapped_after_signing__refused():
    _, signature = sign_binding(ALICE_SEED, RECIPIENT, CHAIN, MIGRATOR)
    result = check([raw(to_ss58(ALICE), signature, recipient="0x" + "33" * 20)])
    assert not result.valid and "0x3333" in result.rejected[0].reason


def test_verify__signature_from_a_different_key__refused():
    public, secret = sr25519.pair_from_seed(bytes(32))
    signature = sr25519.sign((public, secret), binding_message(ALICE, RECIPIENT, CHAIN, MIGRATOR))
    result = check([raw(to_ss58(ALICE), signature)])
    assert not result.valid and "bad sr25519 signature" in result.rejected[0].reason


def test_verify__ed25519_key__accepted_when_declared():
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = key.sign(binding_message(public, RECIPIENT, CHAIN, MIGRATOR))
    assert set(check([raw(to_ss58(public), signature, scheme="ed25519")]).valid) == {public}
    assert not check([raw(to_ss58(public), signature, scheme="sr25519")]).valid


def test_verify__conflicting_bindings__account_refused_entirely():
    _, sig_a = sign_binding(ALICE_SEED, RECIPIENT, CHAIN, MIGRATOR)
    other = "0x" + "44" * 20
    _, sig_b = sign_binding(ALICE_SEED, other, CHAIN, MIGRATOR)
    result = check([raw(to_ss58(ALICE), sig_a), raw(to_ss58(ALICE), sig_b, recipient=other)])
    assert not result.valid and result.rejected[0].reason == "conflicting bindings for this account"


def test_verify__malformed_fields__each_refused_with_a_reason():
    _, signature = sign_binding(ALICE_SEED, RECIPIENT, CHAIN, MIGRATOR)
    result = check(
        [
            raw("5Grwva-not-an-address", signature),
            raw(to_ss58(ALICE), signature[:63]),
            raw(to_ss58(ALICE), signature, recipient="0x1234"),
            raw(to_ss58(ALICE), signature, recipient="0x" + "00" * 20),
            raw(to_ss58(ALICE), signature, scheme="ecdsa"),
        ]
    )
    reasons = [r.reason for r in result.rejected]
    assert not result.valid and len(reasons) == 5
    assert "bad SS58" in reasons[0] and "63 bytes" in reasons[1] and "not an EVM address" in reasons[2]
    assert "zero address" in reasons[3] and "unknown scheme" in reasons[4]
