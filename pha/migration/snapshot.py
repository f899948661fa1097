"""Reading a parachain snapshot of `System.Account` and turning it into the migration's leaves.

Two inputs, one result:

- a JSON export (`.json`: a list, or `{"accounts": [...]}`; `.jsonl`: one object per line), each
  record `{"account": SS58 or 0x-pubkey, "free": n, "reserved": n, "staked": n?}` (amounts as
  integers, decimal strings or 0x-hex; a polkadot.js-style `"data": {"free", "reserved"}` works too);
- the raw storage pairs a node returns for the `System.Account` prefix (`state_getPairs`, or
  `state_getKeysPaged` + `state_queryStorageAt`): `[[key, value], ...]` or `[{"key", "value"}]`,
  the `state_queryStorageAt` change sets, or either in a JSON-RPC envelope (`read_storage_pairs`:
  every pair must be a System.Account one);
- a whole-state input (`read_state`): the same shapes, or a `{key: value}` state map, a raw chain
  spec (`genesis.raw.top`) or its `{"top": ...}` object; pairs outside System.Account are ignored
  and counted.

The migrated amount of an account is `free + reserved (+ staked)` in planck; see docs/migration.md.
Accounts with nothing to migrate are listed in the snapshot (`empty`), never silently dropped.
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
    its predecessor's order and appends new accounts) and what was left out: `excluded` (balances
    never minted), `empty` (accounts read with nothing to migrate, by public key) and
    `ignored_pairs` (storage pairs outside System.Account in a whole-state input)."""

    leaves: list[Leaf]
    excluded: list[Excluded] = field(default_factory=list)
    ss58_format: int = PHALA_SS58_FORMAT
    source: str = ""
    empty: list[bytes] = field(default_factory=list)
    ignored_pairs: int = 0
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
            "empty": ["0x" + pubkey.hex() for pubkey in self.empty],
            "ignored_pairs": self.ignored_pairs,
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
            where = "empty"
            empty = [bytes.fromhex(e.removeprefix("0x")) for e in data.get("empty", [])]
            where = "header"
            snapshot = cls(
                leaves,
                excluded,
                int(data["ss58_format"]),
                str(data.get("source", "")),
                empty,
                int(data.get("ignored_pairs", 0)),
            )
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


def encode_account_info(
    free: int, reserved: int, *, nonce: int = 0, providers: int = 1, frozen: int = 0, flags: int = 1 << 127
) -> bytes:
    """The inverse of `decode_account_info` (same scalecodec type): the 80-byte SCALE value of an
    account (consumers and sufficients 0), for building storage inputs."""
    obj = _registry().create_scale_object("PhaMigrationAccountInfo")
    data = {"free": free, "reserved": reserved, "frozen": frozen, "flags": flags}
    fields = {"nonce": nonce, "consumers": 0, "providers": providers, "sufficients": 0, "data": data}
    return bytes(obj.encode(fields).data)


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


@dataclass(frozen=True, slots=True)
class StateRead:
    """What a storage reader found: the System.Account holdings, how many other pairs it skipped
    (whole-state inputs only) and which input shape it recognised."""

    holdings: list[Holding]
    ignored: int
    shape: str


def read_storage_pairs(path: Path) -> list[Holding]:
    """Holdings from raw `System.Account` storage pairs; checks prefix, hash and value layout.

    Every pair must be a System.Account one (a pair under another prefix is an error here; use
    `read_state` for a whole-state dump)."""
    return _read_pairs(Path(path), whole_state=False).holdings


def read_state(path: Path) -> StateRead:
    """Holdings from a whole-state input: System.Account pairs are read and checked, pairs under
    any other prefix (and keys a `state_queryStorageAt` change set reports as absent) are ignored
    and counted. Shapes: see `storage_pairs`."""
    return _read_pairs(Path(path), whole_state=True)


def _read_pairs(path: Path, whole_state: bool) -> StateRead:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SnapshotError([f"{path.name} line {error.lineno}: not JSON: {error.msg}"]) from None
    pairs, shape = storage_pairs(data, path.name)
    holdings, errors, ignored = [], [], 0
    for where, pair in pairs:
        try:
            if whole_state and _outside_accounts(pair):
                ignored += 1
                continue
            key_hex, value_hex = _pair(pair)
            where = f"{path.name} key {key_hex}"
            holdings.append(_storage_pair(_unhex(key_hex, "key"), _unhex(value_hex, "value"), where))
        except ValueError as error:
            errors.append(f"{where}: {error}")
    if errors:
        raise SnapshotError(errors)
    return StateRead(holdings, ignored, shape)


def storage_pairs(data: object, name: str) -> tuple[list[tuple[str, object]], str]:
    """(where, pair) items and the shape name, from any accepted storage JSON:

    - a JSON-RPC envelope `{"jsonrpc", "id", "result"}` around any of the below (an `error` is refused);
    - a full chain spec (`genesis.raw.top`), a `{"top": {...}}` object, or the top map `{key: value}`;
    - `state_getPairs`: `[[key, value], ...]` (or `[{"key", "value"}, ...]`);
    - `state_queryStorageAt`: `[{"block", "changes": [[key, value|null], ...]}, ...]`, one block.
    """
    shape = ""
    if isinstance(data, dict) and ("jsonrpc" in data or "result" in data or "error" in data):
        if data.get("error") is not None:
            raise SnapshotError([f"{name}: the node answered a JSON-RPC error: {_rpc_error(data['error'])}"])
        if "result" not in data:
            raise SnapshotError([f"{name}: JSON-RPC envelope without a result"])
        data, shape = data["result"], "JSON-RPC result, "
    if isinstance(data, dict) and "genesis" in data:
        data, shape = _chain_spec_top(data, name), shape + "chain spec genesis.raw.top"
    elif isinstance(data, dict) and "top" in data and isinstance(data["top"], dict):
        data, shape = data["top"], shape + "raw genesis {top}"
    elif isinstance(data, dict):
        shape += "state map {key: value}"
    if isinstance(data, dict):
        return [(f"{name} entry {k}", [k, v]) for k, v in data.items()], shape
    if isinstance(data, list) and data and all(isinstance(x, dict) and "changes" in x for x in data):
        return _change_sets(data, name), shape + "state_queryStorageAt change sets"
    if isinstance(data, list):
        return [(f"{name} pair {n}", pair) for n, pair in enumerate(data)], shape + "state_getPairs pairs"
    raise SnapshotError(
        [
            f"{name}: expected storage pairs: [[key, value], ...], a {{key: value}} state map, a chain "
            "spec (genesis.raw.top), state_queryStorageAt change sets or a JSON-RPC reply with one"
        ]
    )


def _rpc_error(error: object) -> str:
    if isinstance(error, dict):
        return f"{error.get('code')} {error.get('message')}"
    return repr(error)


def _chain_spec_top(spec: dict[str, Any], name: str) -> Any:
    genesis = spec["genesis"]
    raw = genesis.get("raw") if isinstance(genesis, dict) else None
    top = raw.get("top") if isinstance(raw, dict) else None
    if not isinstance(top, dict):
        raise SnapshotError(
            [f"{name}: chain spec without genesis.raw.top (a plain spec: export it with `build-spec --raw`)"]
        )
    return top


def _change_sets(sets: list[dict[str, Any]], name: str) -> list[tuple[str, object]]:
    blocks = {str(s.get("block")) for s in sets}
    if len(blocks) != 1:
        raise SnapshotError(
            [
                f"{name}: change sets of {len(blocks)} blocks ({', '.join(sorted(blocks))}); "
                "give one block's state"
            ]
        )
    out: list[tuple[str, object]] = []
    for number, change_set in enumerate(sets):
        changes = change_set["changes"]
        if not isinstance(changes, list):
            raise SnapshotError([f"{name} change set {number}: changes is not a list"])
        out.extend((f"{name} change set {number} change {i}", c) for i, c in enumerate(changes))
    return out


def _outside_accounts(pair: object) -> bool:
    """In a whole-state input: a pair to skip (another prefix, or an absent value)."""
    if isinstance(pair, dict):
        pair = [pair.get("key"), pair.get("value")]
    if not (isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str)):
        return False  # malformed: let _pair name it
    key, value = pair
    if value is None:
        return True
    try:
        return not bytes.fromhex(key.removeprefix("0x")).startswith(SYSTEM_ACCOUNT_PREFIX)
    except ValueError:
        return False


def _unhex(text: str, name: str) -> bytes:
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise ValueError(f"{name} is not hex") from None


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
        raise ValueError(
            "not a System.Account key (prefix is not twox128(System) ‖ twox128(Account); "
            "a whole-state dump is read with --state)"
        )
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
    ignored_pairs: int = 0,
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
    - accounts with a zero amount have nothing to migrate: not leaves, listed in `empty`.

    `ignored_pairs` (from `read_state`) is recorded in the snapshot for the report.
    """
    protocol = set(protocol_accounts)
    seen: dict[bytes, str] = {}
    errors: list[str] = []
    kept: list[Holding] = []
    excluded: list[Excluded] = []
    empty: list[bytes] = []
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
            empty.append(h.pubkey)
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
    return Snapshot(leaves, excluded, ss58_format, source, sorted(empty), ignored_pairs)
