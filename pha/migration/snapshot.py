"""Reading a parachain snapshot of `System.Account` and turning it into the migration's leaves.

Two inputs, one result:

- a JSON export (`.json`: a list, or `{"accounts": [...]}`; `.jsonl`: one object per line), each
  record `{"account": SS58 or 0x-pubkey, "free": n, "reserved": n, "staked": n?}` (amounts as
  integers, decimal strings or 0x-hex; a polkadot.js-style `"data": {"free", "reserved"}` works too);
- the raw storage pairs a node returns for the `System.Account` prefix (`state_getPairs`, or
  `state_getKeysPaged` + `state_queryStorageAt`): `[[key, value], ...]` or `[{"key", "value"}]`.

The migrated amount of an account is `free + reserved (+ staked)` in planck; see docs/migration.md.
Any malformed record aborts the whole read with every problem found (where + why): nothing is
half-imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pha.migration import PHALA_SS58_FORMAT, U128_MAX
from pha.migration.keys import (
    SYSTEM_ACCOUNT_PREFIX,
    AddressError,
    blake2_128,
    keyless_kind,
    parse_account,
    to_ss58,
)
from pha.migration.merkle import MerkleTree, leaf_hash

SNAPSHOT_FORMAT = "pha-migration-snapshot/1"
ACCOUNT_INFO_LEN = 80
MAX_ERRORS_SHOWN = 20


class SnapshotError(ValueError):
    """The input is malformed; `errors` lists every problem as "where: why"."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        super().__init__(f"{len(errors)} problem(s) in the snapshot: {shown}{more}")


@dataclass(frozen=True, slots=True)
class Holding:
    """One account's balances as read, in planck."""

    pubkey: bytes
    free: int
    reserved: int
    staked: int = 0
    where: str = ""

    @property
    def amount(self) -> int:
        return self.free + self.reserved + self.staked


@dataclass(frozen=True, slots=True)
class Leaf:
    index: int
    pubkey: bytes
    amount: int

    @property
    def hash(self) -> bytes:
        return leaf_hash(self.index, self.pubkey, self.amount)


@dataclass(frozen=True, slots=True)
class Excluded:
    """An account with a balance on the parachain that this migrator never mints."""

    pubkey: bytes
    amount: int
    reason: str


@dataclass
class Snapshot:
    """The leaves (accounts sorted by public key, index = position; a replacement's snapshot keeps
    its predecessor's order and appends new accounts) and what was left out."""

    leaves: list[Leaf]
    excluded: list[Excluded] = field(default_factory=list)
    ss58_format: int = PHALA_SS58_FORMAT
    source: str = ""
    _tree: MerkleTree | None = field(default=None, repr=False, compare=False)

    @property
    def total(self) -> int:
        return sum(leaf.amount for leaf in self.leaves)

    @property
    def count(self) -> int:
        return len(self.leaves)

    @property
    def excluded_total(self) -> int:
        return sum(e.amount for e in self.excluded)

    @property
    def tree(self) -> MerkleTree:
        if self._tree is None:
            self._tree = MerkleTree([leaf.hash for leaf in self.leaves])
        return self._tree

    @property
    def root(self) -> bytes:
        return self.tree.root

    def by_pubkey(self) -> dict[bytes, Leaf]:
        return {leaf.pubkey: leaf for leaf in self.leaves}

    def address(self, pubkey: bytes) -> str:
        return to_ss58(pubkey, self.ss58_format)

    # ------------------------------------------------------------ file format

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "root": "0x" + self.root.hex(),
            "total": str(self.total),
            "count": self.count,
            "excluded_total": str(self.excluded_total),
            "ss58_format": self.ss58_format,
            "source": self.source,
            "leaves": [[leaf.index, "0x" + leaf.pubkey.hex(), str(leaf.amount)] for leaf in self.leaves],
            "excluded": [
                {"account": "0x" + e.pubkey.hex(), "amount": str(e.amount), "reason": e.reason}
                for e in self.excluded
            ],
        }

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), separators=(",", ":")) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        """Read a built snapshot and check it: indices, amounts and the recorded root."""
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise SnapshotError([f"{path}: no such file (run `ape run migrate build` first)"]) from None
        except json.JSONDecodeError as error:
            raise SnapshotError([f"{path}: not JSON ({error})"]) from None
        except (UnicodeDecodeError, IsADirectoryError) as error:
            raise SnapshotError([f"{path}: not a snapshot file ({type(error).__name__})"]) from None
        if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError([f"{path}: not a built snapshot (format {SNAPSHOT_FORMAT})"])
        leaves = []
        where = "header"
        try:
            for position, entry in enumerate(data["leaves"]):
                where = f"leaf {position}"
                index, pubkey, amount = entry
                if index != position:
                    raise ValueError(f"index {index}")
                key = bytes.fromhex(pubkey.removeprefix("0x"))
                if len(key) != 32:
                    raise ValueError("public key is not 32 bytes")
                leaves.append(Leaf(index, key, parse_amount(amount, "amount")))
            where = "excluded"
            excluded = [
                Excluded(bytes.fromhex(e["account"].removeprefix("0x")), int(e["amount"]), str(e["reason"]))
                for e in data["excluded"]
            ]
            where = "header"
            snapshot = cls(leaves, excluded, int(data["ss58_format"]), str(data.get("source", "")))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise SnapshotError([f"{path}: malformed {where} ({type(error).__name__}: {error})"]) from None
        if not leaves:
            raise SnapshotError([f"{path}: no leaves"])
        if "0x" + snapshot.root.hex() != data.get("root") or str(snapshot.total) != data.get("total"):
            raise SnapshotError([f"{path}: root or total does not match its leaves (edited file?)"])
        return snapshot


# ---------------------------------------------------------------- amounts


def parse_amount(value: object, name: str) -> int:
    """A u128 balance from an int, a decimal string or a 0x-hex string (never a float)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} is not an amount: {value!r}")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and value.startswith("0x"):
        try:
            amount = int(value, 16)
        except ValueError:
            raise ValueError(f"{name} is not hex: {value!r}") from None
    elif isinstance(value, str) and value.isdigit():
        amount = int(value)
    else:
        raise ValueError(f"{name} is not an integer amount in planck: {value!r}")
    if amount < 0:
        raise ValueError(f"{name} is negative: {amount}")
    if amount > U128_MAX:
        raise ValueError(f"{name} overflows u128: {amount}")
    return amount


# ---------------------------------------------------------------- JSON export


def iter_records(path: Path, list_key: str = "accounts") -> Iterator[tuple[str, Any]]:
    """(where, record) from a `.jsonl` file (line N) or a `.json` list / object with `list_key`."""
    path = Path(path)
    if path.suffix == ".jsonl":
        with path.open() as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    yield f"{path.name} line {number}", json.loads(line)
                except json.JSONDecodeError as error:
                    yield f"{path.name} line {number}", ValueError(f"not JSON: {error.msg}")
        return
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SnapshotError([f"{path.name} line {error.lineno}: not JSON: {error.msg}"]) from None
    records = data.get(list_key) if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise SnapshotError([f"{path.name}: expected a list of records (or an object with {list_key!r})"])
    for number, record in enumerate(records):
        yield f"{path.name} {list_key}[{number}]", record


def read_export(path: Path, ss58_format: int | None = PHALA_SS58_FORMAT) -> list[Holding]:
    """Holdings from a JSON export of System.Account; SnapshotError lists every bad record."""
    holdings, errors = [], []
    for where, record in iter_records(path):
        try:
            holdings.append(_export_record(record, where, ss58_format))
        except (ValueError, AddressError) as error:
            errors.append(f"{where}: {error}")
    if errors:
        raise SnapshotError(errors)
    return holdings


def _export_record(record: object, where: str, ss58_format: int | None) -> Holding:
    if isinstance(record, Exception):
        raise ValueError(str(record))
    if not isinstance(record, dict):
        raise ValueError("a record is an object with account, free, reserved")
    account = record.get("account", record.get("address"))
    if account is None:
        raise ValueError("no account (SS58 address or 0x public key)")
    pubkey = parse_account(account, ss58_format)
    data = record.get("data", record)
    if not isinstance(data, dict) or "free" not in data or "reserved" not in data:
        raise ValueError("free and reserved are required")
    return Holding(
        pubkey=pubkey,
        free=parse_amount(data["free"], "free"),
        reserved=parse_amount(data["reserved"], "reserved"),
        staked=parse_amount(record.get("staked", 0), "staked"),
        where=where,
    )


# ---------------------------------------------------------------- raw storage pairs


def decode_account_info(value: bytes) -> dict[str, int]:
    """Decode a current-layout `AccountInfo<u32, AccountData<u128>>` (80 bytes) with scalecodec.

    Layout: nonce, consumers, providers, sufficients (u32 each), then free, reserved, frozen and
    flags (u128 each; `flags` is a bitfield since the fungible-traits balances, not a balance).
    Older layouts (no `sufficients`: 76 bytes; u8 or u32 refcount: 69/72 bytes; the 80-byte
    misc_frozen/fee_frozen one agrees on free and reserved) are refused by length, never guessed.
    """
    if len(value) != ACCOUNT_INFO_LEN:
        raise ValueError(
            f"AccountInfo has {len(value)} bytes; only the {ACCOUNT_INFO_LEN}-byte layout "
            "(4×u32 nonce/consumers/providers/sufficients + 4×u128 free/reserved/frozen/flags) is supported"
        )
    obj = _registry().create_scale_object("PhaMigrationAccountInfo", data=_scale_bytes(value))
    decoded = obj.decode(check_remaining=True)
    data = decoded["data"]
    return {
        "nonce": int(decoded["nonce"]),
        "consumers": int(decoded["consumers"]),
        "providers": int(decoded["providers"]),
        "sufficients": int(decoded["sufficients"]),
        "free": int(data["free"]),
        "reserved": int(data["reserved"]),
        "frozen": int(data["frozen"]),
        "flags": int(data["flags"]),
    }


_REGISTRY: Any = None


def _registry() -> Any:
    global _REGISTRY
    if _REGISTRY is None:
        from scalecodec.base import RuntimeConfigurationObject
        from scalecodec.type_registry import load_type_registry_preset

        registry = RuntimeConfigurationObject()
        registry.update_type_registry(load_type_registry_preset("core"))
        registry.update_type_registry(
            {
                "types": {
                    "PhaMigrationAccountData": {
                        "type": "struct",
                        "type_mapping": [
                            ["free", "u128"],
                            ["reserved", "u128"],
                            ["frozen", "u128"],
                            ["flags", "u128"],
                        ],
                    },
                    "PhaMigrationAccountInfo": {
                        "type": "struct",
                        "type_mapping": [
                            ["nonce", "u32"],
                            ["consumers", "u32"],
                            ["providers", "u32"],
                            ["sufficients", "u32"],
                            ["data", "PhaMigrationAccountData"],
                        ],
                    },
                }
            }
        )
        _REGISTRY = registry
    return _REGISTRY


def _scale_bytes(value: bytes) -> Any:
    from scalecodec.base import ScaleBytes

    return ScaleBytes(bytearray(value))


def read_storage_pairs(path: Path) -> list[Holding]:
    """Holdings from raw `System.Account` storage pairs; checks prefix, hash and value layout."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SnapshotError([f"{path.name} line {error.lineno}: not JSON: {error.msg}"]) from None
    if isinstance(data, dict) and "result" in data:
        data = data["result"]
    if not isinstance(data, list):
        raise SnapshotError([f"{path.name}: expected a list of [key, value] pairs"])
    holdings, errors = [], []
    for number, pair in enumerate(data):
        where = f"{path.name} pair {number}"
        try:
            key_hex, value_hex = _pair(pair)
            where = f"{path.name} key {key_hex}"
            holdings.append(_storage_pair(bytes.fromhex(key_hex[2:]), bytes.fromhex(value_hex[2:]), where))
        except ValueError as error:
            errors.append(f"{where}: {error}")
    if errors:
        raise SnapshotError(errors)
    return holdings


def _pair(pair: object) -> tuple[str, str]:
    if isinstance(pair, dict):
        pair = [pair.get("key"), pair.get("value")]
    if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
        raise ValueError("a pair is [key, value] (0x-hex strings)")
    key, value = pair
    if not (key.startswith("0x") and value.startswith("0x")):
        raise ValueError("key and value are 0x-hex")
    return key, value


def _storage_pair(key: bytes, value: bytes, where: str) -> Holding:
    if not key.startswith(SYSTEM_ACCOUNT_PREFIX):
        raise ValueError("not a System.Account key (prefix is not twox128(System) ‖ twox128(Account))")
    if len(key) != 32 + 16 + 32:
        raise ValueError(
            f"key has {len(key)} bytes; System.Account keys have 80 (prefix, blake2_128, pubkey)"
        )
    digest, pubkey = key[32:48], key[48:]
    if blake2_128(pubkey) != digest:
        raise ValueError("blake2_128 of the public key does not match the key's hash")
    info = decode_account_info(value)
    return Holding(pubkey=pubkey, free=info["free"], reserved=info["reserved"], where=where)


# ---------------------------------------------------------------- building


def read_account_list(path: Path, ss58_format: int | None = PHALA_SS58_FORMAT) -> list[bytes]:
    """Accounts one per line (SS58 or 0x pubkey; `#` comments): the protocol-account exclusion list."""
    out, errors = [], []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            out.append(parse_account(text, ss58_format))
        except AddressError as error:
            errors.append(f"{Path(path).name} line {number}: {error}")
    if errors:
        raise SnapshotError(errors)
    return out


def build_snapshot(
    holdings: Iterable[Holding],
    protocol_accounts: Iterable[bytes] = (),
    ss58_format: int = PHALA_SS58_FORMAT,
    source: str = "",
    previous: Snapshot | None = None,
) -> Snapshot:
    """Leaves from holdings: duplicates and overflows refused; keyless, protocol and empty accounts excluded.

    With `previous` (the snapshot of the Migrator this one replaces), every account keeps its
    previous leaf index and new accounts follow, sorted by public key, so that the replacement
    refuses what its predecessor paid (the bitmap is by index). An account of `previous` that is
    not in the new snapshot is refused (its index would pass to another account).

    - keyless accounts (pallet `modl…`, sovereign `para…`/`sibl…`) can never sign a binding:
      excluded, listed with their amount;
    - protocol accounts (holding stake the export attributes to its owners as `staked`) are
      excluded so nothing counts twice; attributed stake beyond what they hold is refused;
    - accounts with a zero amount have nothing to migrate and are left out.
    """
    protocol = set(protocol_accounts)
    seen: dict[bytes, str] = {}
    errors: list[str] = []
    kept: list[Holding] = []
    excluded: list[Excluded] = []
    staked_total = protocol_total = 0
    for h in holdings:
        if h.pubkey in seen:
            errors.append(
                f"{h.where}: duplicate account {to_ss58(h.pubkey, ss58_format)} (first at {seen[h.pubkey]})"
            )
            continue
        seen[h.pubkey] = h.where
        if h.amount > 2**128 - 1:
            errors.append(f"{h.where}: amount overflow: free + reserved + staked = {h.amount} > u128")
            continue
        staked_total += h.staked
        if h.pubkey in protocol:
            protocol_total += h.amount
            excluded.append(
                Excluded(h.pubkey, h.amount, "protocol account: its stake is attributed to owners")
            )
        elif (kind := keyless_kind(h.pubkey)) is not None:
            excluded.append(Excluded(h.pubkey, h.amount, f"keyless {kind}: can never sign a binding"))
        elif h.amount == 0:
            continue
        else:
            kept.append(h)
    if staked_total and not protocol:
        errors.append(
            "the export attributes stake (staked > 0) but no protocol-account list was given: "
            "it would count twice"
        )
    elif staked_total > protocol_total:
        errors.append(
            f"attributed stake {staked_total} exceeds the {protocol_total} "
            "held by the listed protocol accounts"
        )
    if errors:
        raise SnapshotError(errors)
    kept.sort(key=lambda h: h.pubkey)
    if previous is not None:
        position = {leaf.pubkey: leaf.index for leaf in previous.leaves}
        missing = set(position) - {h.pubkey for h in kept}
        if missing:
            first = min(missing, key=lambda k: position[k])
            raise SnapshotError(
                [
                    f"{len(missing)} account(s) of the previous snapshot are not in this one (first "
                    f"{to_ss58(first, ss58_format)}, leaf {position[first]}): a replacement keeps every "
                    "leaf index"
                ]
            )
        kept.sort(key=lambda h: (0, position[h.pubkey], b"") if h.pubkey in position else (1, 0, h.pubkey))
    leaves = [Leaf(i, h.pubkey, h.amount) for i, h in enumerate(kept)]
    if not leaves:
        raise SnapshotError(["the snapshot has no account to migrate"])
    if sum(leaf.amount for leaf in leaves) > 2**128 - 1:
        raise SnapshotError(["amount overflow: the snapshot total exceeds u128"])
    excluded.sort(key=lambda e: e.pubkey)
    return Snapshot(leaves, excluded, ss58_format, source)
