"""Snapshot inputs as nodes and tools produce them: whole-state maps, chain specs, and the JSON-RPC
result shapes of state_getPairs / state_queryStorageAt (bare or in their envelope).

Values are real SCALE: AccountInfo encoded by `encode_account_info` (the scalecodec type the
reader decodes with, checked against the hand layout); the other pairs are real storage items of
a Substrate chain (`:code`, System.Number, Balances.TotalIssuance, Timestamp.Now) under their
real keys.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pha.migration.keys import (
    SYSTEM_ACCOUNT_PREFIX,
    pallet_account,
    storage_prefix,
    system_account_key,
    to_ss58,
)
from pha.migration.snapshot import (
    Snapshot,
    SnapshotError,
    build_snapshot,
    decode_account_info,
    encode_account_info,
    read_export,
    read_state,
    read_storage_pairs,
)
from pha.paths import ROOT

APE = str(Path(sys.executable).with_name("ape"))
ALICE = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
BOB = bytes.fromhex("8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48")
CHARLIE = bytes.fromhex("90b5ab205c6974c9ea841be688864633dc9ca8a357843eeacf2314649965fe22")
DAVE = bytes.fromhex("306721211d5404bd9da88e0204360a1a9ab8b87c66c1bc2fcdd37f3c2222cc20")
TREASURY = pallet_account(b"py/trsry")
BLOCK = "0x" + "ab" * 32

# free, reserved: CHARLIE and DAVE hold nothing (an account kept alive by a consumer/provider).
BALANCES = {ALICE: (10**12, 2_000_000), BOB: (7, 0), CHARLIE: (0, 0), DAVE: (0, 0), TREASURY: (10**15, 0)}


def account_info(free: int, reserved: int, nonce: int = 3) -> bytes:
    return encode_account_info(free, reserved, nonce=nonce)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


ACCOUNT_PAIRS = [(_hex(system_account_key(k)), _hex(account_info(*v))) for k, v in BALANCES.items()]
OTHER_PAIRS = [
    (_hex(b":code"), "0x0061736d01000000"),  # a wasm header
    (_hex(storage_prefix("System", "Number")), _hex((1_234_567).to_bytes(4, "little"))),
    (_hex(storage_prefix("Balances", "TotalIssuance")), _hex((10**18).to_bytes(16, "little"))),
    (_hex(storage_prefix("Timestamp", "Now")), _hex((1_700_000_000_000).to_bytes(8, "little"))),
]
STATE = OTHER_PAIRS[:2] + ACCOUNT_PAIRS + OTHER_PAIRS[2:]


def envelope(result: object) -> dict:
    return {"jsonrpc": "2.0", "id": 7, "result": result}


def chain_spec(top: dict) -> dict:
    return {
        "name": "Khala",
        "id": "khala",
        "chainType": "Live",
        "bootNodes": [],
        "properties": {"ss58Format": 30, "tokenDecimals": 12, "tokenSymbol": "PHA"},
        "genesis": {"raw": {"top": top, "childrenDefault": {}}},
    }


SHAPES: dict[str, tuple[Callable[[], object], int]] = {
    # name: (document, pairs expected to be ignored)
    "state-map": (lambda: dict(STATE), 4),
    "genesis.raw.top": (lambda: {"top": dict(STATE), "childrenDefault": {}}, 4),
    "chain-spec": (lambda: chain_spec(dict(STATE)), 4),
    "chain-spec-envelope": (lambda: envelope(chain_spec(dict(STATE))), 4),
    "getPairs": (lambda: [list(p) for p in STATE], 4),
    "getPairs-envelope": (lambda: envelope([list(p) for p in STATE]), 4),
    "getPairs-objects": (lambda: [{"key": k, "value": v} for k, v in STATE], 4),
    "queryStorageAt": (lambda: [{"block": BLOCK, "changes": [list(p) for p in STATE]}], 4),
    "queryStorageAt-envelope-absent-key": (
        lambda: envelope(
            [{"block": BLOCK, "changes": [*map(list, STATE), [_hex(system_account_key(b"\x09" * 32)), None]]}]
        ),
        5,
    ),
    "queryStorageAt-two-batches": (
        lambda: envelope(
            [
                {"block": BLOCK, "changes": [list(p) for p in STATE[:3]]},
                {"block": BLOCK, "changes": [list(p) for p in STATE[3:]]},
            ]
        ),
        4,
    ),
}


def write(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document, indent=1))
    return path


@pytest.fixture(scope="module")
def reference() -> Snapshot:
    """The snapshot from the strict reader over the System.Account pairs alone."""
    return build_snapshot(read_storage_pairs_from(ACCOUNT_PAIRS))


def read_storage_pairs_from(pairs: list[tuple[str, str]]) -> list:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return read_storage_pairs(write(Path(folder), "pairs", [list(p) for p in pairs]))


def test_prefix__is_twox128_system_account():
    assert SYSTEM_ACCOUNT_PREFIX.hex() == "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"


def test_account_info__encoder_matches_hand_layout():
    head = b"".join(x.to_bytes(4, "little") for x in (3, 0, 1, 0))
    tail = b"".join(x.to_bytes(16, "little") for x in (7, 5, 0, 1 << 127))
    assert account_info(7, 5) == head + tail
    assert decode_account_info(head + tail)["free"] == 7 and decode_account_info(head + tail)["reserved"] == 5


@pytest.mark.parametrize("shape", list(SHAPES))
def test_read_state__every_shape__same_snapshot_and_counts(shape, tmp_path, reference):
    document, ignored = SHAPES[shape]
    read = read_state(write(tmp_path, shape, document()))
    assert read.ignored == ignored and len(read.holdings) == len(BALANCES)
    snapshot = build_snapshot(read.holdings, ignored_pairs=read.ignored)
    assert snapshot.root == reference.root and snapshot.total == 10**12 + 2_000_000 + 7
    assert [leaf.pubkey for leaf in snapshot.leaves] == sorted([ALICE, BOB])
    assert snapshot.empty == sorted([CHARLIE, DAVE])  # listed, not dropped
    assert [e.pubkey for e in snapshot.excluded] == [TREASURY]
    assert snapshot.ignored_pairs == ignored


def test_read_state__same_root_as_the_export(tmp_path, reference):
    records = [{"account": to_ss58(k), "free": str(f), "reserved": str(r)} for k, (f, r) in BALANCES.items()]
    export = build_snapshot(read_export(write(tmp_path, "export", records)))
    assert export.root == reference.root and export.empty == sorted([CHARLIE, DAVE])


def test_snapshot_file__keeps_empty_and_ignored(tmp_path):
    read = read_state(write(tmp_path, "spec", chain_spec(dict(STATE))))
    saved = build_snapshot(read.holdings, ignored_pairs=read.ignored).save(tmp_path / "snap.json")
    loaded = Snapshot.load(saved)
    assert loaded.empty == sorted([CHARLIE, DAVE]) and loaded.ignored_pairs == 4
    data = json.loads(saved.read_text())
    assert data["empty"] == [_hex(k) for k in sorted([CHARLIE, DAVE])] and data["ignored_pairs"] == 4


def test_strict_pairs__a_non_account_pair__still_refused(tmp_path):
    with pytest.raises(SnapshotError, match=r"not a System\.Account key"):
        read_storage_pairs(write(tmp_path, "pairs", [list(p) for p in STATE]))


def test_strict_pairs__rpc_shapes_of_account_pairs__accepted(tmp_path, reference):
    document = envelope([{"block": BLOCK, "changes": [list(p) for p in ACCOUNT_PAIRS]}])
    assert build_snapshot(read_storage_pairs(write(tmp_path, "q", document))).root == reference.root


BAD_ACCOUNT_KEY = SYSTEM_ACCOUNT_PREFIX + bytes(16) + ALICE  # blake2_128 of the key is wrong

REFUSED: dict[str, tuple[object, str]] = {
    "two-blocks": (
        [{"block": BLOCK, "changes": []}, {"block": "0x" + "cd" * 32, "changes": []}],
        "change sets of 2 blocks",
    ),
    "rpc-error": (
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}},
        "JSON-RPC error: -32601 Method not found",
    ),
    "plain-chain-spec": (
        {"name": "Khala", "genesis": {"runtimeGenesis": {"config": {}}}},
        "chain spec without genesis.raw.top",
    ),
    "number": (42, "expected storage pairs"),
    "bad-account-hash-in-state": (
        dict([*STATE, (_hex(BAD_ACCOUNT_KEY), _hex(account_info(1, 0)))]),
        "blake2_128 of the public key does not match",
    ),
    "short-account-value-in-state": (
        dict([*OTHER_PAIRS, (_hex(system_account_key(BOB)), "0x" + "00" * 76)]),
        "AccountInfo has 76 bytes",
    ),
    "non-hex-key": ({"0xzz": "0x00"}, "key 0xzz: key is not hex"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_read_state__bad_input__refused_with_reason(case, tmp_path):
    document, message = REFUSED[case]
    with pytest.raises(SnapshotError) as caught:
        read_state(write(tmp_path, case, document))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def _build(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [APE, "run", "migrate", "build", *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def test_migrate_build__state_chain_spec__report_lists_empty_and_ignored(tmp_path, reference):
    spec = write(tmp_path, "khala-raw", chain_spec(dict(STATE)))
    out = tmp_path / "snap.json"
    result = _build("--state", str(spec), "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    empty = next(line for line in lines if line.startswith("empty "))
    assert "2 accounts with zero balance" in empty
    assert to_ss58(CHARLIE) in empty and to_ss58(DAVE) in empty
    assert "ignored    4 storage pairs outside System.Account" in lines
    assert f"root       0x{reference.root.hex()}" in lines and "accounts   2" in lines
    assert "chain spec genesis.raw.top" in result.stdout
    assert Snapshot.load(out).root == reference.root


@pytest.mark.parametrize(
    ("name", "message"),
    [("plain-spec", "chain spec without genesis.raw.top"), ("folder", "Is a directory")],
)
def test_migrate_build__bad_state_file__one_line_error(name, message, tmp_path):
    spec = write(tmp_path, name, {"name": "Khala", "genesis": {"runtimeGenesis": {}}})
    if name == "folder":
        spec = tmp_path
    result = _build("--state", str(spec), "--out", str(tmp_path / "snap.json"))
    assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error:"), result.stderr[-2000:]
    assert message in errors[0]
    assert not (tmp_path / "snap.json").exists()
