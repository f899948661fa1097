"""Snapshot readers: the JSON export and raw System.Account storage pairs, and their refusals."""

import json

import pytest

from pha.migration.keys import pallet_account, system_account_key, to_ss58
from pha.migration.snapshot import (
    Holding,
    Snapshot,
    SnapshotError,
    build_snapshot,
    decode_account_info,
    read_export,
    read_storage_pairs,
)

ALICE = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
BOB = bytes.fromhex("8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48")
TREASURY = pallet_account(b"py/trsry")

# Hand-checked SCALE AccountInfo (little-endian): nonce 5, consumers 1, providers 1, sufficients 0,
# free 1_000_000_000_000 (1 PHA = 0xe8d4a51000), reserved 2_000_000 (0x1e8480), frozen 0, flags = 1 << 127.
ALICE_VALUE = bytes.fromhex(
    "05000000" "01000000" "01000000" "00000000"
    "0010a5d4e80000000000000000000000"
    "80841e00000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000080"
)  # fmt: skip


def value(free: int, reserved: int = 0, nonce: int = 0, flags: int = 1 << 127) -> bytes:
    head = b"".join(x.to_bytes(4, "little") for x in (nonce, 0, 1, 0))
    return head + b"".join(x.to_bytes(16, "little") for x in (free, reserved, 0, flags))


def pairs_file(tmp_path, pairs):
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps([["0x" + k.hex(), "0x" + v.hex()] for k, v in pairs]))
    return path


def export_file(tmp_path, records, name="export.json"):
    path = tmp_path / name
    if name.endswith(".jsonl"):
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    else:
        path.write_text(json.dumps({"accounts": records}))
    return path


def test_account_info__hand_checked_bytes__decode_to_known_fields():
    info = decode_account_info(ALICE_VALUE)
    assert info == {
        "nonce": 5,
        "consumers": 1,
        "providers": 1,
        "sufficients": 0,
        "free": 10**12,
        "reserved": 2_000_000,
        "frozen": 0,
        "flags": 1 << 127,
    }


def test_account_info__older_layouts__refused_by_length():
    for size in (69, 72, 76, 81):
        with pytest.raises(ValueError, match=f"{size} bytes"):
            decode_account_info(bytes(size))


def test_readers__same_state__yield_the_same_snapshot(tmp_path):
    state = {ALICE: (10**12, 2_000_000), BOB: (7, 0), TREASURY: (10**15, 0)}
    pairs = read_storage_pairs(
        pairs_file(tmp_path, [(system_account_key(k), value(*v)) for k, v in state.items()])
    )
    export = read_export(
        export_file(
            tmp_path,
            [{"account": to_ss58(k), "free": str(f), "reserved": hex(r)} for k, (f, r) in state.items()],
        )
    )
    a, b = build_snapshot(pairs), build_snapshot(export)
    assert [(x.index, x.pubkey, x.amount) for x in a.leaves] == [
        (x.index, x.pubkey, x.amount) for x in b.leaves
    ]
    assert a.root == b.root and a.total == b.total == 10**12 + 2_000_000 + 7
    assert [e.pubkey for e in a.excluded] == [TREASURY]
    assert "pallet account" in a.excluded[0].reason and a.excluded_total == 10**15


def test_pairs__bad_prefix_hash_or_length__refused_with_key_and_reason(tmp_path):
    good = system_account_key(ALICE)
    bad_prefix = b"\x00" + good[1:]
    bad_hash = good[:32] + bytes(16) + good[48:]
    short_value_key = system_account_key(BOB)
    path = pairs_file(
        tmp_path,
        [
            (good, ALICE_VALUE),
            (bad_prefix, ALICE_VALUE),
            (bad_hash, ALICE_VALUE),
            (short_value_key, bytes(76)),
        ],
    )
    with pytest.raises(SnapshotError) as caught:
        read_storage_pairs(path)
    errors = caught.value.errors
    assert len(errors) == 3
    assert bad_prefix.hex() in errors[0] and "prefix" in errors[0]
    assert bad_hash.hex() in errors[1] and "blake2_128" in errors[1]
    assert short_value_key.hex() in errors[2] and "76 bytes" in errors[2]


def test_pairs__duplicate_key__refused(tmp_path):
    key = system_account_key(ALICE)
    holdings = read_storage_pairs(pairs_file(tmp_path, [(key, ALICE_VALUE), (key, ALICE_VALUE)]))
    with pytest.raises(SnapshotError, match="duplicate account"):
        build_snapshot(holdings)


def test_export__bad_records__every_line_named_and_nothing_imported(tmp_path):
    bad_checksum = to_ss58(ALICE)[:-1] + ("a" if to_ss58(ALICE)[-1] != "a" else "b")
    records = [
        {"account": to_ss58(ALICE), "free": "10", "reserved": "0"},
        {"account": bad_checksum, "free": "1", "reserved": "0"},
        {"account": to_ss58(BOB), "free": str(2**128), "reserved": "0"},
        {"account": to_ss58(BOB), "free": 1.5, "reserved": "0"},
        {"account": to_ss58(BOB), "free": "-3", "reserved": "0"},
        {"account": to_ss58(BOB), "free": "1"},
    ]
    path = export_file(tmp_path, records, "export.jsonl")
    with pytest.raises(SnapshotError) as caught:
        read_export(path)
    errors = caught.value.errors
    assert [e.split(":")[0] for e in errors] == [f"export.jsonl line {n}" for n in (2, 3, 4, 5, 6)]
    assert "bad SS58" in errors[0] and "overflows u128" in errors[1] and "reserved are required" in errors[4]


def test_build__sum_overflowing_u128__refused():
    with pytest.raises(SnapshotError, match="amount overflow"):
        build_snapshot([Holding(ALICE, 2**128 - 1, 1, where="x")])


def test_build__staked_without_protocol_list__refused_as_double_count():
    with pytest.raises(SnapshotError, match="count twice"):
        build_snapshot([Holding(ALICE, 10, 0, staked=5, where="a")])


def test_build__staked_with_protocol_list__owner_gets_stake_and_pool_is_excluded():
    pool = bytes(31) + b"\x01"
    snap = build_snapshot(
        [Holding(ALICE, 10, 0, staked=5, where="a"), Holding(pool, 5, 0, where="p")], protocol_accounts=[pool]
    )
    assert [(leaf.pubkey, leaf.amount) for leaf in snap.leaves] == [(ALICE, 15)]
    assert snap.excluded[0].pubkey == pool and "protocol account" in snap.excluded[0].reason


def test_build__attributed_stake_beyond_protocol_balances__refused():
    pool = bytes(31) + b"\x01"
    with pytest.raises(SnapshotError, match="exceeds"):
        build_snapshot([Holding(ALICE, 10, 0, staked=6, where="a"), Holding(pool, 5, 0, where="p")], [pool])


def test_snapshot_file__round_trips_and_edits_are_detected(tmp_path):
    snap = build_snapshot([Holding(ALICE, 10, 1, where="a"), Holding(BOB, 3, 0, where="b")])
    path = snap.save(tmp_path / "snap.json")
    loaded = Snapshot.load(path)
    assert loaded.root == snap.root and loaded.leaves == snap.leaves
    data = json.loads(path.read_text())
    data["leaves"][0][2] = "999"
    path.write_text(json.dumps(data))
    with pytest.raises(SnapshotError, match="does not match"):
        Snapshot.load(path)
