"""GPU verdicts on chain: the EIP-712 `GpuStatement` (IGpuVerifier.VerifiedGpu) and its evidence.

    GpuStatement(bytes32 nonce,bytes32 deviceId,bytes32 model,uint32 driverVersion,
                 uint64 vbiosVersion,uint64 verifiedAt,uint64 expiresAt)

The committee's attesters sign it in CommitteeQuoteVerifier's domain {name: "PHA
CommitteeQuoteVerifier", version: "1", chainId, verifyingContract} (the domain of their quote
statements); the development key signs it in DevQuoteVerifier's {name: "PHA DevQuoteVerifier",
version: "1", chainId, verifyingContract}, which only works on local chains.

committee evidence = abi.encode(statement, bytes signatures sorted by signer address);
dev evidence       = abi.encode(statement, bytes signature).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import to_checksum_address

from pha.gpu.errors import GpuEvidenceError
from pha.gpu.verify import GpuVerdict
from pha.quote.committee import DOMAIN_NAME as COMMITTEE_DOMAIN

DEV_DOMAIN = "PHA DevQuoteVerifier"
STATEMENT_FIELDS = [
    {"name": "nonce", "type": "bytes32"},
    {"name": "deviceId", "type": "bytes32"},
    {"name": "model", "type": "bytes32"},
    {"name": "driverVersion", "type": "uint32"},
    {"name": "vbiosVersion", "type": "uint64"},
    {"name": "verifiedAt", "type": "uint64"},
    {"name": "expiresAt", "type": "uint64"},
]
STATEMENT_ABI = "(bytes32,bytes32,bytes32,uint32,uint64,uint64,uint64)"


def driver_version_code(text: str) -> int:
    """'550.90.07' -> 550_090_007 (major * 10^6 + minor * 10^3 + patch; each part below 1000)."""
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 3 or not all(re.fullmatch(r"\d{1,3}", p) for p in parts):
        raise GpuEvidenceError("version", f"driver version {text!r} is not N[.N[.N]] with parts below 1000")
    major, minor, patch = ([int(p) for p in parts] + [0, 0])[:3]
    return major * 1_000_000 + minor * 1_000 + patch


def vbios_version_code(text: str) -> int:
    """'96.00.9f.00.01' -> 0x96009f0001 (the five hex bytes, big-endian: compares in version order)."""
    parts = text.strip().lower().split(".")
    if len(parts) != 5 or not all(re.fullmatch(r"[0-9a-f]{2}", p) for p in parts):
        raise GpuEvidenceError("version", f"VBIOS version {text!r} is not five hex bytes (96.00.9f.00.01)")
    return int("".join(parts), 16)


def model_bytes(model: str) -> bytes:
    """The model name as bytes32 (ASCII, zero-padded); longer names are refused."""
    raw = model.encode("ascii", "replace")
    if len(raw) > 32:
        raise GpuEvidenceError("model", f"GPU model name {model!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")


@dataclass(frozen=True)
class GpuStatement:
    """What a verifier vouches for about one GPU report (IGpuVerifier.VerifiedGpu)."""

    nonce: bytes
    device_id: bytes
    model: bytes
    driver_version: int
    vbios_version: int
    verified_at: int
    expires_at: int

    @classmethod
    def from_verdict(cls, verdict: GpuVerdict, verified_at: int, expires_at: int) -> GpuStatement:
        """The statement for a verdict of `pha.gpu.verify` (its nonce is the report's, checked or not)."""
        if verdict.driver_version is None or verdict.vbios_version is None:
            raise GpuEvidenceError("version", "the GPU report carries no driver or VBIOS version")
        return cls(
            nonce=bytes.fromhex(verdict.nonce.removeprefix("0x")),
            device_id=bytes.fromhex(verdict.device_id.removeprefix("0x")),
            model=model_bytes(verdict.model),
            driver_version=driver_version_code(verdict.driver_version),
            vbios_version=vbios_version_code(verdict.vbios_version),
            verified_at=verified_at,
            expires_at=expires_at,
        )

    def as_tuple(self) -> tuple:
        return (
            self.nonce,
            self.device_id,
            self.model,
            self.driver_version,
            self.vbios_version,
            self.verified_at,
            self.expires_at,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "nonce": "0x" + self.nonce.hex(),
            "deviceId": "0x" + self.device_id.hex(),
            "model": "0x" + self.model.hex(),
            "modelName": self.model.rstrip(b"\0").decode("ascii", "replace"),
            "driverVersion": self.driver_version,
            "vbiosVersion": self.vbios_version,
            "verifiedAt": self.verified_at,
            "expiresAt": self.expires_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GpuStatement:
        def b32(key: str) -> bytes:
            raw = bytes.fromhex(str(data[key]).removeprefix("0x"))
            if len(raw) != 32:
                raise ValueError(f"{key} must be 32 bytes")
            return raw

        return cls(
            nonce=b32("nonce"),
            device_id=b32("deviceId"),
            model=b32("model"),
            driver_version=int(data["driverVersion"]),
            vbios_version=int(data["vbiosVersion"]),
            verified_at=int(data["verifiedAt"]),
            expires_at=int(data["expiresAt"]),
        )


def typed_data(statement: GpuStatement, domain_name: str, chain_id: int, verifier: str) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "GpuStatement": STATEMENT_FIELDS,
        },
        "primaryType": "GpuStatement",
        "domain": {
            "name": domain_name,
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(verifier),
        },
        "message": {
            "nonce": statement.nonce,
            "deviceId": statement.device_id,
            "model": statement.model,
            "driverVersion": statement.driver_version,
            "vbiosVersion": statement.vbios_version,
            "verifiedAt": statement.verified_at,
            "expiresAt": statement.expires_at,
        },
    }


def statement_digest(statement: GpuStatement, domain_name: str, chain_id: int, verifier: str) -> bytes:
    """The EIP-712 digest (CommitteeQuoteVerifier.gpuStatementDigest for the committee domain)."""
    message = encode_typed_data(full_message=typed_data(statement, domain_name, chain_id, verifier))
    return bytes(_hash_eip191_message(message))


def sign_statement(
    statement: GpuStatement,
    private_key: bytes | str,
    chain_id: int,
    verifier: str,
    domain_name: str = COMMITTEE_DOMAIN,
) -> bytes:
    """A 65-byte signature (r || s || v) over the statement in the given verifier's domain."""
    message = encode_typed_data(full_message=typed_data(statement, domain_name, chain_id, verifier))
    return bytes(Account.sign_message(message, private_key).signature)


def committee_evidence(statement: GpuStatement, signatures: Iterable[tuple[str, bytes]]) -> bytes:
    """`verifyGpu` evidence for CommitteeQuoteVerifier: signatures sorted by signer address."""
    ordered = sorted(((int(to_checksum_address(a), 16), s) for a, s in signatures), key=lambda p: p[0])
    return encode([STATEMENT_ABI, "bytes"], [statement.as_tuple(), b"".join(bytes(s) for _, s in ordered)])


def dev_evidence(statement: GpuStatement, chain_id: int, verifier: str) -> bytes:
    """`verifyGpu` evidence for DevQuoteVerifier: the statement signed by the public development key."""
    from pha.quote.dev import DEV_PRIVATE_KEY

    signature = sign_statement(statement, DEV_PRIVATE_KEY, chain_id, verifier, DEV_DOMAIN)
    return encode([STATEMENT_ABI, "bytes"], [statement.as_tuple(), signature])
