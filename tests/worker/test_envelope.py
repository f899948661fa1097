"""Job envelopes (pha.envelope): X25519 + HKDF-SHA256 + ChaCha20-Poly1305 exactly as the spec says."""

import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from pha import envelope
from pha.envelope import EnvelopeError


@pytest.fixture(scope="module")
def worker_keys():
    return envelope.generate_keypair()


def test_encrypt_input__layout_matches_spec_and_decrypts_independently(worker_keys):
    private, public = worker_keys
    blob = envelope.encrypt_input("echo", {"x": 1}, public)
    assert blob[:7] == b"PHAENC1"
    ephemeral, nonce, ciphertext = blob[7:39], blob[39:51], blob[51:]
    # Decrypt with the primitives directly, not through the module, to pin the construction.
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    key = HKDF(hashes.SHA256(), 32, salt=None, info=b"PHA.JobInput.v1").derive(shared)
    plaintext = ChaCha20Poly1305(key).decrypt(nonce, ciphertext, b"PHA.JobInput.v1")
    assert json.loads(plaintext) == {"handler": "echo", "data": {"x": 1}}


@settings(max_examples=20, deadline=None)
@given(payload=st.binary(max_size=300))
def test_seal_open__round_trips_any_bytes(worker_keys, payload):
    private, public = worker_keys
    assert envelope.open_sealed(envelope.seal(payload, public, b"i"), private, b"i") == payload


def test_open__wrong_info_or_key_or_tampering__raises_envelope_error(worker_keys):
    private, public = worker_keys
    blob = envelope.seal(b"secret", public, envelope.INPUT_INFO)
    with pytest.raises(EnvelopeError, match="decryption failed"):
        envelope.open_sealed(blob, private, envelope.OUTPUT_INFO)
    other, _ = envelope.generate_keypair()
    with pytest.raises(EnvelopeError, match="decryption failed"):
        envelope.open_sealed(blob, other, envelope.INPUT_INFO)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(EnvelopeError, match="decryption failed"):
        envelope.open_sealed(tampered, private, envelope.INPUT_INFO)
    with pytest.raises(EnvelopeError, match="too short"):
        envelope.open_sealed(blob[:40], private, envelope.INPUT_INFO)
    with pytest.raises(EnvelopeError, match="prefix"):
        envelope.open_sealed(b"XXXXXXX" + blob[7:], private, envelope.INPUT_INFO)


def test_open__low_order_ephemeral_key__raises_envelope_error(worker_keys):
    private, _ = worker_keys
    blob = b"PHAENC1" + bytes(32) + bytes(12) + bytes(32)
    with pytest.raises(EnvelopeError, match="ephemeral"):
        envelope.open_sealed(blob, private, envelope.INPUT_INFO)


def test_decrypt_output__round_trips_to_reply_key():
    reply_private, reply_public = envelope.generate_keypair()
    blob = envelope.seal(b'{"r":1}', reply_public, envelope.OUTPUT_INFO)
    assert envelope.decrypt_output(blob, envelope.private_bytes(reply_private)) == b'{"r":1}'


def test_parse_input__validates_fields():
    reply = "0x" + "11" * 32
    parsed = envelope.parse_input(envelope.build_input("sentiment", "good", reply))
    assert parsed.handler == "sentiment" and parsed.data == "good" and parsed.reply_to == b"\x11" * 32
    for bad, message in [
        (b"\xff", "UTF-8 JSON"),
        (b"[1]", "JSON object"),
        (b'{"data": 1}', "handler"),
        (b'{"handler": "echo"}', "data"),
        (b'{"handler": "echo", "data": 1, "x": 2}', "unknown input fields"),
        (b'{"handler": "echo", "data": 1, "reply_to": "0x12"}', "reply_to must be 32 bytes"),
    ]:
        with pytest.raises(EnvelopeError, match=message):
            envelope.parse_input(bad)
