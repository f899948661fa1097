"""EIP-712 typed data checked by JobEscrow and produced by the enclave worker (PROTOCOL-SPEC.md).

The ONE place where the project hashes and signs results; the worker, the relayer, the client
scripts and the escrow tests all import it.

    Domain:  EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
             {name: "PHA JobEscrow", version: "1", chainId, verifyingContract: <JobEscrow>}
    Single:  Result(uint256 jobId,bytes32 inputHash,bytes32 outputHash,address worker)
    Batch:   ResultBatch(bytes32 resultsHash,address worker)
             resultsHash = keccak256(abi.encodePacked(e_1, ..., e_n)),
             e_i = keccak256(abi.encode(uint256 jobId_i, bytes32 inputHash_i, bytes32 outputHash_i)),
             entries in the order submitted.

Digests are computed here from the ABI encoding (as Solidity does) and are checked in the tests
against eth_account's generic EIP-712 encoder (`typed_data` gives the full message for it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

DOMAIN_NAME = "PHA JobEscrow"
DOMAIN_VERSION = "1"

DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
RESULT_TYPE = "Result(uint256 jobId,bytes32 inputHash,bytes32 outputHash,address worker)"
RESULT_BATCH_TYPE = "ResultBatch(bytes32 resultsHash,address worker)"

DOMAIN_TYPEHASH = keccak(text=DOMAIN_TYPE)
RESULT_TYPEHASH = keccak(text=RESULT_TYPE)
RESULT_BATCH_TYPEHASH = keccak(text=RESULT_BATCH_TYPE)

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_RESULT_FIELDS = [
    {"name": "jobId", "type": "uint256"},
    {"name": "inputHash", "type": "bytes32"},
    {"name": "outputHash", "type": "bytes32"},
    {"name": "worker", "type": "address"},
]
_RESULT_BATCH_FIELDS = [
    {"name": "resultsHash", "type": "bytes32"},
    {"name": "worker", "type": "address"},
]


def to_bytes32(value: bytes | str, name: str = "value") -> bytes:
    """32 bytes from bytes or a (0x-)hex string; ValueError otherwise."""
    if isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"{name} is not hex") from None
    value = bytes(value)
    if len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes, got {len(value)}")
    return value


@dataclass(frozen=True)
class Domain:
    """The JobEscrow's EIP-712 domain."""

    chain_id: int
    verifying_contract: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "verifying_contract", to_checksum_address(self.verifying_contract))

    @property
    def separator(self) -> bytes:
        return keccak(
            encode(
                ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                [
                    DOMAIN_TYPEHASH,
                    keccak(text=DOMAIN_NAME),
                    keccak(text=DOMAIN_VERSION),
                    self.chain_id,
                    self.verifying_contract,
                ],
            )
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


@dataclass(frozen=True)
class ResultEntry:
    """One result: what a Result signature and a batch entry commit to (worker aside)."""

    job_id: int
    input_hash: bytes
    output_hash: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.job_id < 2**256:
            raise ValueError("job_id must be a uint256")
        object.__setattr__(self, "input_hash", to_bytes32(self.input_hash, "input_hash"))
        object.__setattr__(self, "output_hash", to_bytes32(self.output_hash, "output_hash"))

    @property
    def leaf(self) -> bytes:
        """e_i = keccak256(abi.encode(jobId, inputHash, outputHash))."""
        return keccak(
            encode(["uint256", "bytes32", "bytes32"], [self.job_id, self.input_hash, self.output_hash])
        )


def _eip712(domain: Domain, struct_hash: bytes) -> bytes:
    return keccak(b"\x19\x01" + domain.separator + struct_hash)


# --- single result ---------------------------------------------------------------------------


def result_struct_hash(entry: ResultEntry, worker: str) -> bytes:
    return keccak(
        encode(
            ["bytes32", "uint256", "bytes32", "bytes32", "address"],
            [RESULT_TYPEHASH, entry.job_id, entry.input_hash, entry.output_hash, to_checksum_address(worker)],
        )
    )


def result_digest(domain: Domain, entry: ResultEntry, worker: str) -> bytes:
    """The 32-byte digest the worker signs for one result."""
    return _eip712(domain, result_struct_hash(entry, worker))


def result_typed_data(domain: Domain, entry: ResultEntry, worker: str) -> dict[str, Any]:
    """Full EIP-712 message (eth_account `encode_typed_data(full_message=...)`, wallets)."""
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "Result": _RESULT_FIELDS},
        "primaryType": "Result",
        "domain": domain.as_dict(),
        "message": {
            "jobId": entry.job_id,
            "inputHash": entry.input_hash,
            "outputHash": entry.output_hash,
            "worker": to_checksum_address(worker),
        },
    }


# --- batch ----------------------------------------------------------------------------------


def results_hash(entries: Iterable[ResultEntry]) -> bytes:
    """keccak256(abi.encodePacked(e_1, ..., e_n)) in the order given (keccak256("") for none)."""
    return keccak(b"".join(entry.leaf for entry in entries))


def batch_struct_hash(results_hash_: bytes, worker: str) -> bytes:
    return keccak(
        encode(
            ["bytes32", "bytes32", "address"],
            [RESULT_BATCH_TYPEHASH, to_bytes32(results_hash_, "results_hash"), to_checksum_address(worker)],
        )
    )


def batch_digest(domain: Domain, entries: Sequence[ResultEntry], worker: str) -> bytes:
    """The 32-byte digest the worker signs for a batch."""
    return _eip712(domain, batch_struct_hash(results_hash(entries), worker))


def batch_typed_data(domain: Domain, entries: Sequence[ResultEntry], worker: str) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "ResultBatch": _RESULT_BATCH_FIELDS},
        "primaryType": "ResultBatch",
        "domain": domain.as_dict(),
        "message": {"resultsHash": results_hash(entries), "worker": to_checksum_address(worker)},
    }


# --- signing and recovery -------------------------------------------------------------------


def sign_digest(digest: bytes, private_key: bytes | str) -> bytes:
    """65-byte r || s || v signature (v = 27/28), as OpenZeppelin's ECDSA.recover expects."""
    return bytes(Account.unsafe_sign_hash(digest, private_key).signature)


def recover_digest(digest: bytes, signature: bytes | str) -> str:
    """Checksummed address that signed `digest`; ValueError on a malformed signature."""
    if isinstance(signature, str):
        signature = bytes.fromhex(signature.removeprefix("0x"))
    if len(signature) != 65:
        raise ValueError(f"signature must be 65 bytes, got {len(signature)}")
    try:
        return to_checksum_address(Account._recover_hash(digest, signature=signature))
    except Exception as error:  # eth_keys raises several types for bad r/s/v
        raise ValueError(f"bad signature: {error}") from None


def sign_result(domain: Domain, entry: ResultEntry, private_key: bytes | str) -> bytes:
    worker = Account.from_key(private_key).address
    return sign_digest(result_digest(domain, entry, worker), private_key)


def sign_batch(domain: Domain, entries: Sequence[ResultEntry], private_key: bytes | str) -> bytes:
    worker = Account.from_key(private_key).address
    return sign_digest(batch_digest(domain, entries, worker), private_key)


def recover_result_signer(domain: Domain, entry: ResultEntry, worker: str, signature: bytes | str) -> str:
    """The address that signed Result(entry, worker); compare with `worker` to verify."""
    return recover_digest(result_digest(domain, entry, worker), signature)


def recover_batch_signer(
    domain: Domain, entries: Sequence[ResultEntry], worker: str, signature: bytes | str
) -> str:
    return recover_digest(batch_digest(domain, entries, worker), signature)


# --- verification (what JobEscrow.settle / settleBatch check) -------------------------------


def output_hash(output: bytes) -> bytes:
    """outputHash = keccak256(output bytes exactly as emitted in JobSettled)."""
    return keccak(bytes(output))


def verify_result(domain: Domain, entry: ResultEntry, worker: str, signature: bytes | str) -> bool:
    """True if `worker` signed Result(entry, worker) in this domain; False for anything else."""
    try:
        return recover_result_signer(domain, entry, worker, signature) == to_checksum_address(worker)
    except ValueError:
        return False


def verify_batch(domain: Domain, entries: Sequence[ResultEntry], worker: str, signature: bytes | str) -> bool:
    """True if `worker` signed ResultBatch over exactly these entries, in this order."""
    try:
        return recover_batch_signer(domain, entries, worker, signature) == to_checksum_address(worker)
    except ValueError:
        return False
