"""Holders' bindings of a Substrate account to an EVM recipient, signed with the account's key.

The signed message (UTF-8, lines joined by "\\n", no trailing newline) names the account, the
recipient, this chain id and this migrator, so a binding cannot be replayed on another chain or
for another migrator::

    PHA migration binding
    account: 0x<32-byte public key, lowercase hex>
    recipient: 0x<EIP-55 checksummed address>
    chain id: <decimal>
    migrator: 0x<EIP-55 checksummed address>

Polkadot.js `signRaw` signs `<Bytes>` + message + `</Bytes>`; both forms are accepted. Keys are
sr25519 (default) or ed25519 (`"scheme": "ed25519"`). A bindings file is a `.json` list (or
`{"bindings": [...]}`) or `.jsonl`, each record `{"account", "recipient", "signature", "scheme"?}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sr25519
from eth_utils import is_address, to_checksum_address

from pha.migration import PHALA_SS58_FORMAT
from pha.migration.keys import AddressError, parse_account, to_ss58
from pha.migration.merkle import keccak256
from pha.migration.snapshot import SnapshotError, iter_records

WRAP_PREFIX, WRAP_SUFFIX = b"<Bytes>", b"</Bytes>"
SCHEMES = ("sr25519", "ed25519")


def binding_message(account: bytes, recipient: str, chain_id: int, migrator: str) -> bytes:
    """The exact bytes a holder signs to bind `account` to `recipient` on (`chain_id`, `migrator`)."""
    return "\n".join(
        [
            "PHA migration binding",
            f"account: 0x{account.hex()}",
            f"recipient: {to_checksum_address(recipient)}",
            f"chain id: {int(chain_id)}",
            f"migrator: {to_checksum_address(migrator)}",
        ]
    ).encode()


def sign_binding(
    seed: bytes, recipient: str, chain_id: int, migrator: str, wrap: bool = False
) -> tuple[bytes, bytes]:
    """(public key, signature) of an sr25519 binding from a 32-byte mini-secret (tools and tests)."""
    public, secret = sr25519.pair_from_seed(seed)
    message = binding_message(public, recipient, chain_id, migrator)
    if wrap:
        message = WRAP_PREFIX + message + WRAP_SUFFIX
    return public, sr25519.sign((public, secret), message)


def verify_signature(scheme: str, account: bytes, message: bytes, signature: bytes) -> bool:
    """True if `signature` signs `message` or its `<Bytes>` wrapping with `account`'s key."""
    if len(signature) != 64:
        return False
    for candidate in (message, WRAP_PREFIX + message + WRAP_SUFFIX):
        if scheme == "sr25519":
            try:
                if sr25519.verify(signature, candidate, account):
                    return True
            except (ValueError, TypeError):
                return False
        elif scheme == "ed25519":
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

            try:
                Ed25519PublicKey.from_public_bytes(account).verify(signature, candidate)
                return True
            except (InvalidSignature, ValueError):
                continue
    return False


@dataclass(frozen=True, slots=True)
class Binding:
    """A verified binding."""

    account: bytes
    recipient: str
    signature: bytes
    scheme: str = "sr25519"

    @property
    def binding_hash(self) -> bytes:
        """keccak256 of the signature: what the contract's `Migrated` event records."""
        return keccak256(self.signature)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A binding record refused, and why."""

    where: str
    account: str
    reason: str


@dataclass
class BindingSet:
    """The verified bindings by account, and every refused record with its reason."""

    valid: dict[bytes, Binding]
    rejected: list[Rejected]


@dataclass(frozen=True, slots=True)
class RawBinding:
    where: str
    account_text: str
    recipient: str
    signature: str
    scheme: str


def iter_bindings(path: Path) -> Iterator[RawBinding]:
    """The records of a bindings file, unverified, one at a time (a `.jsonl` file is streamed).

    A `.json` file that is not JSON raises SnapshotError when iteration starts.
    """
    for where, record in iter_records(Path(path), list_key="bindings"):
        if not isinstance(record, dict):
            yield RawBinding(where, "?", "", "", f"bad record: {record}")
            continue
        yield RawBinding(
            where=where,
            account_text=str(record.get("account", "")),
            recipient=str(record.get("recipient", "")),
            signature=str(record.get("signature", "")),
            scheme=str(record.get("scheme", "sr25519")),
        )


def read_bindings(path: Path) -> list[RawBinding]:
    """The records of a bindings file, unverified; a file that is not JSON raises SnapshotError."""
    return list(iter_bindings(path))


def verify_bindings(
    records: Iterable[RawBinding],
    chain_id: int,
    migrator: str,
    snapshot_accounts: set[bytes] | None = None,
    ss58_format: int | None = PHALA_SS58_FORMAT,
) -> BindingSet:
    """Verify every record for (chain_id, migrator); refuse bad ones with a reason.

    An account with two valid bindings to different recipients is refused as a whole
    (ambiguous); identical duplicates count once.
    """
    valid: dict[bytes, Binding] = {}
    rejected: list[Rejected] = []
    conflicted: set[bytes] = set()
    for raw in records:
        binding, reason = _verify_one(raw, chain_id, migrator, snapshot_accounts, ss58_format)
        if binding is None:
            rejected.append(Rejected(raw.where, raw.account_text, reason))
            continue
        previous = valid.get(binding.account)
        if binding.account in conflicted:
            rejected.append(Rejected(raw.where, raw.account_text, "conflicting bindings for this account"))
        elif previous is not None and previous.recipient != binding.recipient:
            conflicted.add(binding.account)
            del valid[binding.account]
            rejected.append(Rejected(raw.where, raw.account_text, "conflicting bindings for this account"))
        elif previous is None:
            valid[binding.account] = binding
    return BindingSet(valid, rejected)


def _verify_one(
    raw: RawBinding,
    chain_id: int,
    migrator: str,
    snapshot_accounts: set[bytes] | None,
    ss58_format: int | None,
) -> tuple[Binding | None, str]:
    if raw.scheme.startswith("bad record"):
        return None, raw.scheme
    if raw.scheme not in SCHEMES:
        return None, f"unknown scheme {raw.scheme!r} (sr25519 or ed25519)"
    try:
        account = parse_account(raw.account_text, ss58_format)
    except AddressError as error:
        return None, str(error)
    if snapshot_accounts is not None and account not in snapshot_accounts:
        return None, "account is not in the snapshot's leaves"
    if not is_address(raw.recipient):
        return None, f"recipient {raw.recipient!r} is not an EVM address"
    recipient = to_checksum_address(raw.recipient)
    if int(recipient, 16) == 0:
        return None, "recipient is the zero address"
    try:
        signature = bytes.fromhex(raw.signature.removeprefix("0x"))
    except ValueError:
        return None, "signature is not hex"
    if len(signature) != 64:
        return None, f"signature has {len(signature)} bytes, not 64"
    message = binding_message(account, recipient, chain_id, migrator)
    if not verify_signature(raw.scheme, account, message, signature):
        return None, (
            f"bad {raw.scheme} signature: not by this account's key over the binding for "
            f"recipient {recipient}, chain {chain_id}, migrator {to_checksum_address(migrator)}"
        )
    return Binding(account, recipient, signature, raw.scheme), ""


def binding_record(binding: Binding, ss58_format: int = PHALA_SS58_FORMAT) -> dict[str, str]:
    return {
        "account": to_ss58(binding.account, ss58_format),
        "recipient": binding.recipient,
        "signature": "0x" + binding.signature.hex(),
        "scheme": binding.scheme,
    }


def write_bindings(path: Path, bindings: Iterable[dict[str, str]]) -> Path:
    """Write records as `.jsonl` (one per line) or `.json` (a list), by suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        if path.suffix == ".jsonl":
            for record in bindings:
                handle.write(json.dumps(record) + "\n")
        else:
            json.dump(list(bindings), handle, indent=1)
    return path


__all__ = [
    "Binding",
    "BindingSet",
    "Rejected",
    "SnapshotError",
    "binding_message",
    "iter_bindings",
    "read_bindings",
    "sign_binding",
    "verify_bindings",
]
