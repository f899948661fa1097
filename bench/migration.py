"""Migration: gas per account at batch sizes 1/50/200, tree build for 100k leaves, 100k accounts end to end.

The 100k run is what a user runs, command by command (`ape run migrate synth`, `build`,
`ape run deploy`, `migrate deploy`, `synth-bindings`, `push`, then `audit`), each a fresh process
sampled with psutil, against an anvil started here (`pha.anvil`, the devnet chain id 20350 as
`base:devnet:<url>`, automine, high gas limit). The synthetic export is deterministic and never
committed. PHA_BENCH_MIGRATION_ACCOUNTS=N runs it with N accounts instead (0 skips it).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.common import BenchEnv, Row
from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID
from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE
from pha.escrow.spec import ZERO_ADDRESS
from pha.migration.bindings import BindingSet, read_bindings, verify_bindings
from pha.migration.chain import MigratorClient
from pha.migration.deploy import lineage_claimed
from pha.migration.merkle import MerkleTree, leaf_hash
from pha.migration.plan import Bitmap, plan_batches
from pha.migration.snapshot import Snapshot, build_snapshot, read_export
from pha.migration.synthetic import write_bindings, write_export
from pha.paths import ROOT

log = logging.getLogger("bench.migration")
ACCOUNTS_100K = 100_000
# The end-to-end run (0 skips it; a smaller number is a quicker check of the same path).
E2E_ACCOUNTS = int(os.environ.get("PHA_BENCH_MIGRATION_ACCOUNTS", str(ACCOUNTS_100K)))
E2E_GAS_LIMIT = 1_000_000_000
SAMPLE_EVERY = 0.2
APE = str(Path(sys.executable).with_name("ape"))
UNISWAP_CLAIM = 78_600


def _deploy(
    env: BenchEnv, snapshot: Snapshot, token: Any = None, predecessor: str = ZERO_ADDRESS
) -> tuple[Any, Any]:
    gov = env.gov
    if token is None:
        token = gov.deploy(env.project.PHAToken, gov, L2_STANDARD_BRIDGE, L1_PHA)
    migrator = gov.deploy(
        env.project.Migrator,
        token,
        snapshot.root,
        snapshot.total,
        snapshot.count,
        env.chain.pending_timestamp + 90 * 86400,
        gov,
        gov,
        predecessor,
    )
    if token.migrationCap() == 0:  # as the deploy wiring does: the cap before the role
        token.setMigrationCap(token.MAX_SUPPLY(), sender=gov)  # its value costs no gas
    token.grantRole(token.MINTER_ROLE(), migrator, sender=gov)
    return token, migrator


def _bindings(
    workdir: Path, accounts: int, chain_id: int, migrator: str, snapshot: Snapshot, seed: int = 1
) -> BindingSet:
    path = write_bindings(workdir / f"bindings-{accounts}.jsonl", accounts, chain_id, migrator, seed)
    return verify_bindings(read_bindings(path), chain_id, migrator, set(snapshot.by_pubkey()))


def measure(env: BenchEnv) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="pha-migration-bench-") as tmp:
        workdir = Path(tmp)
        rows += _gas_rows(env, workdir)
        rows += _tree_row()
    if E2E_ACCOUNTS:
        rows += _run_100k(E2E_ACCOUNTS)
    return rows


def _gas_rows(env: BenchEnv, workdir: Path) -> list[Row]:
    rows = []
    # A token already in use (supply and vote checkpoints exist), as on the real chain.
    token = env.gov.deploy(env.project.PHAToken, env.gov, L2_STANDARD_BRIDGE, L1_PHA)
    token.grantRole(token.MINTER_ROLE(), env.gov, sender=env.gov)
    token.minterMint(env.gov, 1, sender=env.gov)
    for seed, size in ((2, 1), (3, 50), (4, 200)):
        # A snapshot (and so recipients) of its own per size: with one shared snapshot, the b200
        # batch re-minted to the b50 run's 50 recipients and looked ~4k gas/account cheaper.
        export = write_export(workdir / f"small-{seed}.jsonl", 1024, seed=seed)
        snapshot = build_snapshot(read_export(export))
        token, migrator = _deploy(env, snapshot, token)
        bindings = _bindings(workdir, 1024, env.chain.chain_id, str(migrator.address), snapshot, seed=seed)
        batch = next(plan_batches(snapshot, bindings.valid, Bitmap([]), size))
        client = MigratorClient(migrator)
        keys = sum(len(e["storageKeys"]) for e in client.access_list(env.gov, client.calldata(batch)))
        receipt = client.send(batch, env.gov)
        per_account = int(receipt["gasUsed"]) / size
        last = (snapshot, migrator)
        rows.append(
            Row(
                f"migration.per_account.b{size}",
                round(per_account),
                "gas",
                # The target is per account at the best batch size (200); 1 and 50 are shown.
                goal=35_000 if size == 200 else None,
                note=f"first batch of {size} into a fresh Migrator (1,024 leaves, cold bitmap word, "
                f"new recipients, 21k base included), sent as `push` sends it (one minterMintBatch, "
                f"EIP-2930 access list of {keys} token slots); Uniswap claim ~{UNISWAP_CLAIM:,}; "
                f"proof {len(batch.proof)} nodes",
            )
        )
    rows.append(_replacement_row(env, workdir, token, *last))
    return rows


def _replacement_row(env: BenchEnv, workdir: Path, token: Any, snapshot: Snapshot, old: Any) -> Row:
    """The next 200 accounts through a replacement Migrator (same snapshot, PREDECESSOR = the
    migrator that paid the first 200): each bitmap word also reads the predecessor's."""
    _, migrator = _deploy(env, snapshot, token, predecessor=str(old.address))
    bindings = _bindings(workdir, 1024, env.chain.chain_id, str(migrator.address), snapshot, seed=4)
    claimed = lineage_claimed(migrator, snapshot.count)
    batch = next(plan_batches(snapshot, bindings.valid, claimed, 200))
    assert all(e.index not in claimed for e in batch.entries)
    receipt = MigratorClient(migrator).send(batch, env.gov)
    return Row(
        "migration.per_account.replacement.b200",
        round(int(receipt["gasUsed"]) / 200),
        "gas",
        goal=35_000,
        note="as migration.per_account.b200, into a replacement Migrator whose predecessor paid the "
        "first 200 leaves (one predecessor claimedWord call per bitmap word)",
    )


def _tree_row() -> list[Row]:
    values = [(i, i.to_bytes(32, "big"), 10**12 + i) for i in range(ACCOUNTS_100K)]
    started = time.perf_counter()
    MerkleTree([leaf_hash(*v) for v in values])
    seconds = time.perf_counter() - started
    return [
        Row("migration.tree_build_100k_s", round(seconds, 2), "s", note="100k leaf hashes + tree, Python")
    ]


def _label(accounts: int) -> str:
    return "100k" if accounts == 100_000 else f"{accounts}"


@dataclass
class Step:
    name: str
    seconds: float
    peak_rss_mb: float
    rss_mb: list[tuple[float, float]]
    stdout: str


def _run_step(
    name: str,
    args: list[str],
    env: dict[str, str],
    timeout: float,
    probe: Callable[[], float] | None = None,
) -> Step:
    """Run one `ape run ...` command as a user would; sample its RSS (process tree) with psutil.

    Each sample is (seconds, MB) or, with `probe` (e.g. the chain's block number), (probe(), MB).
    """
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([APE, "run", *args], cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        proc = psutil.Process(child.pid)
        samples: list[tuple[float, float]] = []
        while child.poll() is None:
            try:
                rss = sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
                at = probe() if probe is not None else time.monotonic() - started
                samples.append((at, rss / 2**20))
            except psutil.Error:
                pass
            if time.monotonic() - started > timeout:
                child.kill()
                child.wait()
                raise RuntimeError(f"{name}: no result after {timeout:.0f} s")
            time.sleep(SAMPLE_EVERY)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        raise RuntimeError(f"{name} failed ({child.returncode}): {stderr.strip()[-500:]}")
    seconds = time.monotonic() - started
    peak = max((mb for _, mb in samples), default=0.0)
    log.info("%s: %.1f s, peak RSS %.0f MB", name, seconds, peak)
    return Step(name, seconds, peak, samples, stdout)


def _run_100k(accounts: int) -> list[Row]:
    """The user's commands, end to end, against an anvil started here (automine, high gas limit)."""
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="pha-migration-100k-") as tmp,
        Anvil(chain_id=DEVNET_CHAIN_ID, gas_limit=E2E_GAS_LIMIT) as node,
    ):
        work = Path(tmp)
        env = {**os.environ, "PHA_DEPLOYMENTS_DIR": str(work)}
        net = ["--network", f"base:devnet:{node.url}"]
        export, snapshot = work / "export.jsonl", work / "snapshot.json"
        bindings, report_path = work / "bindings.jsonl", work / "report.json"
        n = str(accounts)
        plan = [
            ("synth", ["migrate", "synth", "--accounts", n, "--seed", "1", "--out", str(export)]),
            ("build", ["migrate", "build", "--export", str(export), "--out", str(snapshot)]),
            ("deploy stack", ["deploy", *net]),
            ("deploy migrator", ["migrate", "deploy", "--snapshot", str(snapshot), *net]),
            ("sign bindings", ["migrate", "synth-bindings", "--accounts", n, "--out", str(bindings), *net]),
            (
                "push",
                [
                    "migrate", "push", "--snapshot", str(snapshot), "--bindings", str(bindings),
                    "--batch-size", "200", "--no-progress", "--report", str(report_path), *net,
                ],
            ),
        ]  # fmt: skip
        head = int(str(node.rpc("eth_blockNumber")), 16)

        def landed() -> float:  # batches landed so far (automine: one block per batch)
            return int(str(node.rpc("eth_blockNumber")), 16) - head

        steps = [
            _run_step(name, args, env, timeout=1800, probe=landed if name == "push" else None)
            for name, args in plan
        ]
        report = json.loads(report_path.read_text())
        audit_step = _run_step(
            "audit",
            ["migrate", "audit", "--snapshot", str(snapshot), "--bindings", str(bindings), *net],
            env,
            timeout=1800,
        )
    if not report["balanced"] or report["migrated"]["accounts"] != accounts:
        raise RuntimeError(f"{accounts} run did not balance: {report['checks']}")
    if "OK" not in audit_step.stdout:
        raise RuntimeError(f"audit of the {accounts} run failed: {audit_step.stdout[-500:]}")
    load_after = os.getloadavg()
    wall = sum(s.seconds for s in steps)
    push = steps[-1]
    pushed = re.search(r"pushed ([\d,]+) accounts in ([\d,]+) batches .*?([\d,]+) gas", push.stdout)
    if pushed is None:
        raise RuntimeError(f"push output not understood: {push.stdout[-300:]}")
    gas_used, batches = int(pushed.group(3).replace(",", "")), int(pushed.group(2).replace(",", ""))
    # Flat memory: the push's RSS once 10% of its batches had landed, and once 90% had.
    tenth = [mb for at, mb in push.rss_mb if at >= 0.1 * batches]
    ninth = [mb for at, mb in push.rss_mb if at >= 0.9 * batches]
    first, last = (tenth[0], ninth[0]) if tenth and ninth else (0.0, 0.0)
    heaviest = max([*steps, audit_step], key=lambda s: s.peak_rss_mb)
    # Flat audit: the event stream comes last (after the snapshot and the bindings are loaded and
    # verified), so an audit that held the events would end far above its mid-run RSS.
    half = [mb for at, mb in audit_step.rss_mb if at >= audit_step.seconds / 2]
    audit_half = half[0] if half else 0.0
    audit_end = audit_step.rss_mb[-1][1] if audit_step.rss_mb else 0.0
    timings = ", ".join(f"{s.name} {s.seconds:.0f} s" for s in steps)
    load = f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (2 cores, shared)"
    label = _label(accounts)
    return [
        Row(
            f"migration.{label}.wall_s",
            round(wall, 1),
            "s",
            goal=600,
            note=f"`ape run` commands in sequence, each a fresh process: {timings}; "
            f"{batches} batches of 200, reconciled balanced; anvil --gas-limit {E2E_GAS_LIMIT:,} "
            f"automine (pha.anvil); {load}",
        ),
        Row(
            f"migration.{label}.peak_rss_mb",
            round(max(s.peak_rss_mb for s in steps)),
            "MB",
            note=f"largest peak RSS of one command (psutil, every {SAMPLE_EVERY} s): "
            + ", ".join(f"{s.name} {s.peak_rss_mb:.0f}" for s in steps)
            + f"; push RSS {first:.0f} MB at 10% of batches landed, {last:.0f} MB at 90%; "
            f"audit (streamed, not in wall) {audit_step.seconds:.0f} s, peak {audit_step.peak_rss_mb:.0f} MB "
            f"(RSS {audit_half:.0f} MB at half its run time, {audit_end:.0f} MB in its last sample)"
            + (f"; heaviest: {heaviest.name}" if heaviest is not push else ""),
        ),
        Row(
            f"migration.{label}.gas_per_account",
            round(gas_used / accounts),
            "gas",
            goal=35_000,
            note=f"all {batches} batches of 200 (every recipient new), 21k base included",
        ),
    ]
