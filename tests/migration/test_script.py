"""`ape run migrate` as an operator runs it, on a Base-like anvil (the devnet chain id 20350, `--optimism`,
1-second blocks): build -> deploy -> push --dry-run -> push, killed with SIGKILL after its first
batch landed -> push again -> status -> reconcile -> audit (each as people read it, in PHA within 80
columns, and as --json); and bad input as one-line errors.

Everything is a subprocess against a project-started anvil on 127.0.0.1; nothing else runs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sr25519
from eth_utils import keccak, to_checksum_address

from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID
from pha.fmt import format_pha, pha_text
from pha.migration import SCALE
from pha.migration.bindings import binding_message
from pha.migration.keys import to_ss58
from pha.migration.snapshot import Snapshot
from pha.migration.synthetic import keypair, recipient, write_bindings, write_export
from pha.paths import ROOT

APE = str(Path(sys.executable).with_name("ape"))
ACCOUNTS = 1200
BOUND_FRACTION = 0.9
BATCH = 20  # 60 batches of 20: about 8 one-second blocks at 8 batches in flight
MIGRATED_TOPIC = "0x" + keccak(text="Migrated(bytes32,address,uint256,bytes32)").hex()

pytestmark = pytest.mark.slow


def selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


class Operator:
    """Runs `ape run ...` like a user, against one anvil and one deployments folder."""

    def __init__(self, node: Anvil, work: Path) -> None:
        self.node, self.work = node, work
        self.network = ["--network", f"base:devnet:{node.url}"]
        self.env = {**os.environ, "PHA_DEPLOYMENTS_DIR": str(work)}

    def command(self, *args: str, network: bool = True) -> list[str]:
        return [APE, "run", *args, *(self.network if network else [])]

    def run(self, *args: str, network: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*args, network=network),
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ok(self, *args: str, network: bool = True) -> str:
        result = self.run(*args, network=network)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Traceback" not in result.stdout + result.stderr
        return result.stdout

    def call(self, to: str, signature: str, *words: int) -> int:
        data = selector(signature) + "".join(f"{w:064x}" for w in words)
        return int(str(self.node.rpc("eth_call", [{"to": to, "data": data}, "latest"])), 16)

    def manifest(self) -> dict:
        return json.loads((self.work / "base-devnet.json").read_text())


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error:"), result.stderr[-2000:]
    assert fragment in errors[0], errors[0]


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    work = tmp_path_factory.mktemp("migrate-script")
    with Anvil(chain_id=DEVNET_CHAIN_ID, optimism=True) as node:
        op = Operator(node, work)
        # The stack deploys on automine (fast); the migration itself runs on 1-second blocks.
        op.ok("deploy")
        node.rpc("evm_setIntervalMining", [1])
        yield op


def test_migrate_script__build_deploy_push_killed_and_rerun__minted_once_and_balanced(operator):
    op, work = operator, operator.work
    export = write_export(work / "export.jsonl", ACCOUNTS, seed=5)
    snapshot_path = work / "snapshot.json"

    # build: the snapshot (the treasury pallet account in the export is excluded, by name)
    out = op.ok("migrate", "build", "--export", str(export), "--out", str(snapshot_path), network=False)
    snapshot = Snapshot.load(snapshot_path)
    assert snapshot.count == ACCOUNTS and f"accounts   {ACCOUNTS:,}" in out
    assert f"total      {pha(snapshot.total)} PHA" in out
    assert f"root       0x{snapshot.root.hex()}" in out and "excluded   1 accounts" in out

    # deploy: the Migrator for this snapshot, into the stack's manifest
    out = op.ok("migrate", "deploy", "--snapshot", str(snapshot_path))
    migrator = op.manifest()["contracts"]["Migrator"]["address"]
    token = op.manifest()["contracts"]["PHAToken"]["address"]
    assert f"Migrator {migrator}  (deployed)" in out
    assert op.call(migrator, "SNAPSHOT_TOTAL()") == snapshot.total
    supply_before = op.call(token, "totalSupply()")

    bindings = write_bindings(
        work / "bindings.jsonl", ACCOUNTS, DEVNET_CHAIN_ID, migrator, seed=5, bound_fraction=BOUND_FRACTION
    )
    bound = int(ACCOUNTS * BOUND_FRACTION)
    push = ["migrate", "push", "--snapshot", str(snapshot_path), "--bindings", str(bindings)]
    push += ["--batch-size", str(BATCH), "--no-progress"]
    batches = -(-bound // BATCH)

    # push --dry-run: plans and simulates, sends nothing
    out = op.ok(*push, "--dry-run")
    assert f"bindings: {bound:,} valid, 0 rejected" in out
    assert f"would push {bound:,} accounts in {batches:,} batches" in out
    assert op.call(migrator, "accountsMigrated()") == 0

    # push, killed with SIGKILL once its first batch landed (more are in flight by then)
    killed = subprocess.Popen(
        op.command(*push),
        cwd=ROOT,
        env=op.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while op.call(migrator, "accountsMigrated()") == 0:
            assert killed.poll() is None, "push ended before its first batch landed"
            assert time.monotonic() < deadline, "no batch landed within 120 s"
            time.sleep(0.05)
        os.killpg(killed.pid, signal.SIGKILL)
    finally:
        if killed.poll() is None:
            os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=10)
    assert killed.returncode == -signal.SIGKILL
    at_kill = op.call(migrator, "accountsMigrated()")
    assert 0 < at_kill < bound

    # the re-run: waits for what the killed run left in flight, reads the bitmap, pushes the rest
    report_path = work / "push-report.json"
    out = op.ok(*push, "--report", str(report_path))
    pushed = int(re.search(r"pushed ([\d,]+) accounts", out).group(1).replace(",", ""))
    assert 0 < pushed <= bound - at_kill

    # on-chain: every bound leaf minted exactly once, to its recipient, 1:1; nothing else minted
    logs = op.node.rpc(
        "eth_getLogs",
        [{"address": migrator, "fromBlock": "0x0", "toBlock": "latest", "topics": [MIGRATED_TOPIC]}],
    )
    leaves = {leaf.pubkey: leaf for leaf in snapshot.leaves}
    indices = [leaves[bytes.fromhex(entry["topics"][1][2:])].index for entry in logs]
    assert len(indices) == len(set(indices)) == bound
    holder = {keypair(5, i)[0]: i for i in range(bound)}
    assert set(indices) == {leaves[pk].index for pk in holder}
    for entry in logs[:: len(logs) // 25]:  # 25 recipients across the run: the right amount, once
        account = bytes.fromhex(entry["topics"][1][2:])
        to = to_checksum_address("0x" + entry["topics"][2][-40:])
        assert to == recipient(5, holder[account])
        assert op.call(token, "balanceOf(address)", int(to, 16)) == leaves[account].amount * SCALE
    minted = sum(leaves[pk].amount for pk in holder)
    assert op.call(migrator, "totalMigrated()") == minted
    assert op.call(token, "totalSupply()") - supply_before == minted * SCALE

    # the push's reconciliation: migrated + pending = total, to the planck; shown in PHA, 80 columns
    assert_fits_80(out[out.index("Migration reconciliation") :])
    assert re.search(rf"migrated\s+{bound:,}\s+{re.escape(pha(minted))}\n", out), out[-3000:]
    assert "balanced: yes" in out and "planck" not in out
    assert f"Pending accounts (first 20 of {ACCOUNTS - bound:,}; all: --json or --out FILE)" in out
    report = json.loads(report_path.read_text())
    assert report["balanced"] and all(report["checks"].values())
    assert report["migrated"]["amount"] == {"planck": str(minted), "pha": pha_text(minted, 12)}
    assert report["migrated"]["minted"] == {"wei": str(minted * SCALE), "pha": pha_text(minted, 12)}
    assert report["migrated"]["accounts"] == bound
    assert report["pending"]["accounts"] == ACCOUNTS - bound
    pending = int(report["pending"]["amount"]["planck"])
    assert int(report["migrated"]["amount"]["planck"]) + pending == snapshot.total
    assert {p["status"] for p in report["pending"]["list"]} == {"unbound"}
    assert report["excluded"]["accounts"] == 1

    # status, as a user reads it and as a script does
    out = op.ok("migrate", "status")
    assert_fits_80(out)
    assert f"migrated     {bound:,} accounts, {pha(minted)} PHA (" in out
    assert f"snapshot     {ACCOUNTS:,} accounts, {pha(snapshot.total)} PHA" in out
    assert re.search(r"closes from  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 89 d 23 h\) \(window open\)", out), (
        out
    )
    status = json.loads(op.ok("migrate", "status", "--json"))
    assert status["migrator"] == migrator and status["predecessor"] is None
    assert status["migrated"] == {
        "accounts": bound,
        "amount": {"planck": str(minted), "pha": pha_text(minted, 12)},
    }
    assert status["snapshot"]["total"]["planck"] == str(snapshot.total)
    assert status["closes_at"]["unix"] == op.call(migrator, "CLOSES_AT()")
    assert status["closes_at"]["iso"] in out and not status["paused"] and not status["closed"]

    # reconcile --json: the report on stdout, the same as the one it writes
    files = ["--snapshot", str(snapshot_path), "--bindings", str(bindings)]
    again = work / "reconcile.json"
    printed = json.loads(op.ok("migrate", "reconcile", *files, "--out", str(again), "--json"))
    assert printed == json.loads(again.read_text())
    assert printed["migrated"] == report["migrated"] and printed["balanced"]

    # audit, human and --json
    audit_path = work / "audit.json"
    out = op.ok("migrate", "audit", *files, "--out", str(audit_path))
    assert f"audited {bound:,} mints" in out and f"({pha(minted)} PHA): OK" in out
    audit = json.loads(audit_path.read_text())
    assert audit["ok"] and audit["mints_checked"] == bound
    assert audit["amount"] == {"planck": str(minted), "pha": pha_text(minted, 12)}
    printed = json.loads(op.ok("migrate", "audit", *files, "--json"))
    assert printed["ok"] and printed["mints_checked"] == bound and printed["amount"] == audit["amount"]
    assert printed["from_block"] == op.manifest()["contracts"]["Migrator"]["block"]

    # bad input: a bindings file for another chain; a built snapshot cut short
    other = other_chain_binding(work, migrator)
    result = op.run("migrate", "push", "--snapshot", str(snapshot_path), "--bindings", str(other))
    assert_one_line_error(
        result, f"none of the 1 bindings in other-chain.jsonl verifies for chain {DEVNET_CHAIN_ID}"
    )
    assert "bad sr25519 signature" in result.stderr
    cut = work / "cut-snapshot.json"
    cut.write_text(snapshot_path.read_text()[:-200])
    result = op.run("migrate", "push", "--snapshot", str(cut), "--bindings", str(bindings))
    assert_one_line_error(result, "cut-snapshot.json: not JSON")
    assert op.call(migrator, "accountsMigrated()") == bound


def pha(planck: int) -> str:
    """A planck amount as the scripts show it, without the unit."""
    return format_pha(planck, 12, unit="")


def assert_fits_80(text: str) -> None:
    wide = [line for line in text.splitlines() if len(line) > 80]
    assert not wide, wide


def test_migrate_script__export_with_a_broken_line__one_line_error(tmp_path):
    export = write_export(tmp_path / "broken-export.jsonl", 5, seed=9)
    lines = export.read_text().splitlines()
    lines[2] = lines[2][:-7]  # a line cut short
    export.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [APE, "run", "migrate", "build", "--export", str(export), "--out", str(tmp_path / "s.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_line_error(result, "broken-export.jsonl line 3: not JSON")
    assert not (tmp_path / "s.json").exists()


def other_chain_binding(work: Path, migrator: str) -> Path:
    """One binding for an unbound account, signed correctly but for chain 1 instead of the devnet chain id."""
    public, secret = keypair(5, ACCOUNTS - 1)
    to = recipient(5, ACCOUNTS - 1)
    signature = sr25519.sign((public, secret), binding_message(public, to, 1, migrator))
    path = work / "other-chain.jsonl"
    record = {"account": to_ss58(public, 30), "recipient": to, "signature": "0x" + signature.hex()}
    path.write_text(json.dumps(record) + "\n")
    return path
