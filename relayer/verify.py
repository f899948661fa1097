"""Fast checks of worker signatures (the relayer verifies every result it may submit).

The same digests as pha.escrow.typed_data (the one definition of the formats; a test compares
both on random inputs), computed with the domain separator and type hash prefixes built once,
and recovered with libsecp256k1 (coincurve) directly instead of through eth_account: the
relayer checks every result of every batch, and this was most of its per-result CPU.

Recovery is as strict as the escrow's (OpenZeppelin ECDSA.recover): v must be 27 or 28 and s in
the lower half of the curve order, so a signature accepted here is not refused on chain for
its form.
"""

from __future__ import annotations

from collections.abc import Sequence

from coincurve import PublicKey
from eth_utils import keccak

from pha.escrow.typed_data import RESULT_BATCH_TYPEHASH, RESULT_TYPEHASH, Domain, ResultEntry

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = SECP256K1_N // 2
_PAD12 = bytes(12)


def address_bytes(address: str) -> bytes:
    """20 bytes of a 0x-hex address (checksummed or not)."""
    raw = bytes.fromhex(address.removeprefix("0x").removeprefix("0X"))
    if len(raw) != 20:
        raise ValueError(f"not an address: {address!r}")
    return raw


class SignatureChecker:
    """Result / ResultBatch digests and signer checks for one escrow domain."""

    def __init__(self, domain: Domain) -> None:
        self._prefix = b"\x19\x01" + domain.separator

    def result_digest(self, entry: ResultEntry, worker: bytes) -> bytes:
        struct = keccak(
            RESULT_TYPEHASH
            + entry.job_id.to_bytes(32, "big")
            + entry.input_hash
            + entry.output_hash
            + _PAD12
            + worker
        )
        return keccak(self._prefix + struct)

    def batch_digest(self, entries: Sequence[ResultEntry], worker: bytes) -> bytes:
        leaves = b"".join(
            keccak(e.job_id.to_bytes(32, "big") + e.input_hash + e.output_hash) for e in entries
        )
        struct = keccak(RESULT_BATCH_TYPEHASH + keccak(leaves) + _PAD12 + worker)
        return keccak(self._prefix + struct)

    @staticmethod
    def recover(digest: bytes, signature: bytes) -> bytes | None:
        """The 20-byte signer of `digest`, or None for a malformed or non-canonical signature."""
        if len(signature) != 65 or signature[64] not in (27, 28):
            return None
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        if not (0 < r < SECP256K1_N and 0 < s <= _HALF_N):
            return None
        try:
            key = PublicKey.from_signature_and_message(
                signature[:64] + bytes([signature[64] - 27]), digest, hasher=None
            )
        except Exception:  # coincurve raises ValueError / its own errors for unrecoverable input
            return None
        return keccak(key.format(compressed=False)[1:])[12:]

    def result_ok(self, entry: ResultEntry, worker: bytes, signature: bytes) -> bool:
        """True if `worker` signed Result(entry, worker)."""
        return self.recover(self.result_digest(entry, worker), signature) == worker

    def batch_ok(self, entries: Sequence[ResultEntry], worker: bytes, signature: bytes) -> bool:
        """True if `worker` signed ResultBatch over exactly these entries, in this order."""
        return self.recover(self.batch_digest(entries, worker), signature) == worker
