"""Committee statements: the EIP-712 `QuoteStatement` attesters sign for CommitteeQuoteVerifier.

    QuoteStatement(bytes32 quoteHash,uint8 tcbStatus,bytes32[] advisoryIds,uint64 tcbDate,
                   uint64 verifiedAt,uint64 expiresAt,bytes32 composeHash)
    domain {name: "PHA CommitteeQuoteVerifier", version: "1", chainId, verifyingContract}

evidence = abi.encode((quoteHash, tcbStatus, advisoryIds, tcbDate, verifiedAt, expiresAt,
composeHash), bytes signatures), signatures = 65-byte (r, s, v) sorted by signer address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address

from pha.quote.tcb import TcbStatus, advisory_id_hash

DOMAIN_NAME = "PHA CommitteeQuoteVerifier"
DOMAIN_VERSION = "1"
STATEMENT_FIELDS = [
    {"name": "quoteHash", "type": "bytes32"},
    {"name": "tcbStatus", "type": "uint8"},
    {"name": "advisoryIds", "type": "bytes32[]"},
    {"name": "tcbDate", "type": "uint64"},
    {"name": "verifiedAt", "type": "uint64"},
    {"name": "expiresAt", "type": "uint64"},
    {"name": "composeHash", "type": "bytes32"},
]
STATEMENT_ABI = "(bytes32,uint8,bytes32[],uint64,uint64,uint64,bytes32)"


@dataclass
class Statement:
    """What attesters vouch for about one quote."""

    quote_hash: bytes
    tcb_status: TcbStatus
    advisory_ids: list[str]
    tcb_date: int
    verified_at: int
    expires_at: int
    compose_hash: bytes = field(default=bytes(32))

    @property
    def advisory_hashes(self) -> list[bytes]:
        return [advisory_id_hash(a) for a in self.advisory_ids]

    def as_tuple(self) -> tuple:
        """The ABI tuple (ICommitteeQuoteVerifier.Statement)."""
        return (
            self.quote_hash,
            int(self.tcb_status),
            self.advisory_hashes,
            self.tcb_date,
            self.verified_at,
            self.expires_at,
            self.compose_hash,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "quoteHash": "0x" + self.quote_hash.hex(),
            "tcbStatus": int(self.tcb_status),
            "tcbStatusName": self.tcb_status.name,
            "advisoryIds": list(self.advisory_ids),
            "advisoryIdHashes": ["0x" + h.hex() for h in self.advisory_hashes],
            "tcbDate": self.tcb_date,
            "verifiedAt": self.verified_at,
            "expiresAt": self.expires_at,
            "composeHash": "0x" + self.compose_hash.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Statement:
        return cls(
            quote_hash=bytes.fromhex(str(data["quoteHash"]).removeprefix("0x")),
            tcb_status=TcbStatus(int(data["tcbStatus"])),
            advisory_ids=[str(a) for a in data["advisoryIds"]],
            tcb_date=int(data["tcbDate"]),
            verified_at=int(data["verifiedAt"]),
            expires_at=int(data["expiresAt"]),
            compose_hash=bytes.fromhex(str(data.get("composeHash", "0x" + "00" * 32)).removeprefix("0x")),
        )


def typed_data(statement: Statement, chain_id: int, verifier: str) -> dict[str, Any]:
    """The full EIP-712 message (for eth_account or a wallet)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "QuoteStatement": STATEMENT_FIELDS,
        },
        "primaryType": "QuoteStatement",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(verifier),
        },
        "message": {
            "quoteHash": statement.quote_hash,
            "tcbStatus": int(statement.tcb_status),
            "advisoryIds": statement.advisory_hashes,
            "tcbDate": statement.tcb_date,
            "verifiedAt": statement.verified_at,
            "expiresAt": statement.expires_at,
            "composeHash": statement.compose_hash,
        },
    }


def statement_digest(statement: Statement, chain_id: int, verifier: str) -> bytes:
    """The 32-byte EIP-712 digest (equals CommitteeQuoteVerifier.statementDigest)."""
    from eth_account.messages import _hash_eip191_message

    return bytes(
        _hash_eip191_message(encode_typed_data(full_message=typed_data(statement, chain_id, verifier)))
    )


def sign_statement(statement: Statement, private_key: bytes | str, chain_id: int, verifier: str) -> bytes:
    """One attester's 65-byte signature (r || s || v, v in {27, 28})."""
    message = encode_typed_data(full_message=typed_data(statement, chain_id, verifier))
    return bytes(Account.sign_message(message, private_key).signature)


def encode_evidence(statement: Statement, signatures: Iterable[tuple[str, bytes]]) -> bytes:
    """ABI evidence for `verify`: signatures sorted by signer address (strictly increasing)."""
    ordered = sorted(((int(to_checksum_address(a), 16), s) for a, s in signatures), key=lambda p: p[0])
    blob = b"".join(bytes(s) for _, s in ordered)
    return encode([STATEMENT_ABI, "bytes"], [statement.as_tuple(), blob])
