"""Job input/output envelopes (PROTOCOL-SPEC.md "Job input envelope"), for the worker and clients.

Plaintext input bytes are UTF-8 JSON {"handler": name, "data": ..., "reply_to": "0x<X25519 pub>"?}.
Encrypted bytes: b"PHAENC1" || ephemeral X25519 public key (32) || nonce (12) ||
ChaCha20-Poly1305(key, nonce, plaintext, aad), with
key = HKDF-SHA256(X25519(ephemeral, recipient), salt=None, info, length=32) and aad = info;
info = b"PHA.JobInput.v1" for inputs (to the worker's encryption key) and b"PHA.JobOutput.v1"
for outputs (to the client's `reply_to` key).

inputHash = keccak256(input bytes exactly as posted) and outputHash = keccak256(output bytes),
whether those bytes are plaintext or an envelope.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_utils import keccak

PREFIX = b"PHAENC1"
INPUT_INFO = b"PHA.JobInput.v1"
OUTPUT_INFO = b"PHA.JobOutput.v1"
KEY_LENGTH = 32
NONCE_LENGTH = 12
TAG_LENGTH = 16
HEADER_LENGTH = len(PREFIX) + KEY_LENGTH + NONCE_LENGTH
MIN_LENGTH = HEADER_LENGTH + TAG_LENGTH


class EnvelopeError(ValueError):
    """Malformed envelope, wrong key or tampered ciphertext; the message is safe to show a caller."""


# --- keys ------------------------------------------------------------------------------------


def generate_keypair() -> tuple[X25519PrivateKey, bytes]:
    """A fresh X25519 private key and its 32-byte public key."""
    private = X25519PrivateKey.generate()
    return private, public_bytes(private)


def public_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def private_bytes(private: X25519PrivateKey) -> bytes:
    """Raw 32 private bytes (clients keep their reply key; the worker never calls this)."""
    return private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def load_private(raw: bytes | str | X25519PrivateKey) -> X25519PrivateKey:
    if isinstance(raw, X25519PrivateKey):
        return raw
    return X25519PrivateKey.from_private_bytes(parse_key(raw, "private key"))


def parse_key(value: bytes | str, name: str = "key") -> bytes:
    """32 raw key bytes from bytes or (0x-)hex; EnvelopeError otherwise."""
    if isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise EnvelopeError(f"{name} is not hex") from None
    value = bytes(value)
    if len(value) != KEY_LENGTH:
        raise EnvelopeError(f"{name} must be {KEY_LENGTH} bytes, got {len(value)}")
    return value


# --- sealing ---------------------------------------------------------------------------------


def _derive(shared: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def is_envelope(data: bytes) -> bool:
    return bytes(data[: len(PREFIX)]) == PREFIX


def seal(plaintext: bytes, recipient: bytes | str, info: bytes) -> bytes:
    """Encrypt `plaintext` to the recipient's X25519 public key."""
    recipient_key = X25519PublicKey.from_public_bytes(parse_key(recipient, "recipient key"))
    ephemeral = X25519PrivateKey.generate()
    key = _derive(ephemeral.exchange(recipient_key), info)
    nonce = os.urandom(NONCE_LENGTH)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, bytes(plaintext), info)
    return PREFIX + public_bytes(ephemeral) + nonce + ciphertext


def open_sealed(envelope: bytes, private: bytes | str | X25519PrivateKey, info: bytes) -> bytes:
    """Decrypt an envelope with the recipient's private key; EnvelopeError on any failure."""
    envelope = bytes(envelope)
    if not is_envelope(envelope):
        raise EnvelopeError("not an encrypted envelope (missing PHAENC1 prefix)")
    if len(envelope) < MIN_LENGTH:
        raise EnvelopeError(f"envelope too short ({len(envelope)} bytes, at least {MIN_LENGTH})")
    start = len(PREFIX)
    ephemeral = envelope[start : start + KEY_LENGTH]
    nonce = envelope[start + KEY_LENGTH : HEADER_LENGTH]
    try:
        shared = load_private(private).exchange(X25519PublicKey.from_public_bytes(ephemeral))
    except ValueError:  # low-order point: X25519 output all zero
        raise EnvelopeError("invalid ephemeral key in envelope") from None
    try:
        return ChaCha20Poly1305(_derive(shared, info)).decrypt(nonce, envelope[HEADER_LENGTH:], info)
    except InvalidTag:
        raise EnvelopeError("decryption failed: wrong key or tampered ciphertext") from None


# --- job inputs and outputs ------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """Compact, key-sorted UTF-8 JSON (deterministic bytes for hashing); ValueError for NaN/inf,
    TypeError for values JSON cannot hold."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


@dataclass(frozen=True)
class JobInput:
    handler: str
    data: Any
    reply_to: bytes | None = None


def build_input(handler: str, data: Any, reply_to: bytes | str | None = None) -> bytes:
    """Plaintext input bytes (UTF-8 JSON)."""
    message: dict[str, Any] = {"handler": handler, "data": data}
    if reply_to is not None:
        message["reply_to"] = "0x" + parse_key(reply_to, "reply_to").hex()
    return canonical_json(message)


def encrypt_input(
    handler: str, data: Any, worker_key: bytes | str, reply_to: bytes | str | None = None
) -> bytes:
    """Encrypted input bytes for a worker (its `encryption_key` from /attestation)."""
    return seal(build_input(handler, data, reply_to), worker_key, INPUT_INFO)


def parse_input(plaintext: bytes) -> JobInput:
    """Validate plaintext input bytes; EnvelopeError with a clear message otherwise."""
    try:
        message = json.loads(bytes(plaintext).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EnvelopeError(f"input is not UTF-8 JSON: {error}") from None
    if not isinstance(message, dict):
        raise EnvelopeError("input must be a JSON object")
    handler = message.get("handler")
    if not isinstance(handler, str) or not handler:
        raise EnvelopeError('input needs a "handler" string')
    if "data" not in message:
        raise EnvelopeError('input needs a "data" field')
    extra = set(message) - {"handler", "data", "reply_to"}
    if extra:
        raise EnvelopeError(f"unknown input fields: {sorted(extra)}")
    reply_to = message.get("reply_to")
    if reply_to is not None:
        if not isinstance(reply_to, str):
            raise EnvelopeError("reply_to must be a hex string")
        reply_to = parse_key(reply_to, "reply_to")
    return JobInput(handler=handler, data=message["data"], reply_to=reply_to)


def decrypt_output(output: bytes, reply_key: bytes | str | X25519PrivateKey) -> bytes:
    """A client decrypts an output that was encrypted to its `reply_to` key."""
    return open_sealed(output, reply_key, OUTPUT_INFO)


def content_hash(data: bytes) -> bytes:
    """keccak256 of input or output bytes (inputHash / outputHash)."""
    return keccak(bytes(data))
