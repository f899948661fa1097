"""The worker's keys: generated at start, held in memory only, never serialised or logged.

Only public values leave this object: the signing address, the X25519 public key, signatures
and decrypted/encrypted job data.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from eth_account import Account

from pha import envelope
from pha.escrow.typed_data import sign_digest


class WorkerKeys:
    """secp256k1 signing key (eth_account) + X25519 encryption key (cryptography)."""

    __slots__ = ("_encryption", "_signer", "address", "encryption_key")

    def __init__(self) -> None:
        self._signer = Account.create()
        self._encryption: X25519PrivateKey = X25519PrivateKey.generate()
        self.address: str = self._signer.address
        self.encryption_key: bytes = envelope.public_bytes(self._encryption)

    def sign(self, digest: bytes) -> bytes:
        """65-byte signature over an EIP-712 digest."""
        return sign_digest(digest, self._signer.key)

    def decrypt_input(self, blob: bytes) -> bytes:
        """Open an input envelope addressed to this worker (EnvelopeError on failure)."""
        return envelope.open_sealed(blob, self._encryption, envelope.INPUT_INFO)

    def __repr__(self) -> str:
        return f"WorkerKeys(address={self.address}, encryption_key=0x{self.encryption_key.hex()})"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError("worker keys cannot be pickled or copied out of the process")
