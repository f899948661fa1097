"""The steps of the end-to-end demo (`ape run demo`, scripts/demo.py).

1. starts a Base-like anvil (the devnet chain id 20350, OP-stack mode) on a free loopback port;
2. deploys the stack (token, staking, log, registry, development verifier, escrow) with roles wired;
3. funds the actors, opens a pool and delegates to it;
4. starts an enclave worker (`pha-worker`, simulated TEE: the clearly labelled simulator) as a process,
   allows its measurement and registers it with its quote;
5. starts a relayer (`pha-relayer`) as a process, authorised by the pool's operator;
6. posts jobs as a client: sentiment scoring (a real workload), and one encrypted to the worker's key
   whose output comes back encrypted to the client's key;
7. waits for every result and prints a summary: outputs, latency, gas per job, who was paid what,
   and the attestation log rebuilt from events and checked against its on-chain head;
8. stops everything it started (also on Ctrl-C).

With `--llm` (`make demo-llm`) the jobs are one confidential chat job instead: the inference
engine (.build/llm) serves the tiny model, the worker forwards to it, and the client encrypts,
posts, waits, decrypts and verifies (`chat_job`, docs/llm.md).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from pha.anvil import Anvil, free_port
from pha.attestation_log import fetch_entries, verify_chain
from pha.chains import DEVNET_CHAIN_ID
from pha.cli import current_manifest_path
from pha.deploy import DeployConfig, deploy_stack
from pha.envelope import build_input, decrypt_output, encrypt_input, generate_keypair, private_bytes
from pha.escrow import ledger
from pha.escrow.spec import JobSpec, input_hash
from pha.registry.policy import Policy

log = logging.getLogger("demo")
PHA = 10**18
SENTENCES = [
    "Confidential compute on an L2 is a great idea and it works beautifully.",
    "The relayer crashed again and I lost a whole afternoon. Terrible.",
    "Attested results, paid on delivery: exactly what clients want.",
    "The queue was slow, the fees were high, and nobody answered.",
    "It is fine. Not great, not awful.",
    "Staking rewards arrived on time and the dashboard is lovely!",
]


@dataclass
class Process:
    """A child process the demo started; stopped with SIGTERM (then SIGKILL)."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)


def executable(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def wait_http(url: str, process: Process, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            tail = process.log_path.read_text()[-2000:]
            raise click.ClickException(f"{process.name} exited with {process.popen.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.2)
    raise click.ClickException(f"{process.name} did not answer on {url} within {timeout:.0f} s")


def start(name: str, args: list[str], workdir: Path, env: dict[str, str]) -> Process:
    log_path = workdir / f"{name}.log"
    handle = log_path.open("wb")
    popen = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **env},
                             start_new_session=True)  # fmt: skip
    return Process(name, popen, log_path)


@dataclass
class World:
    """What the demo deployed and the actors it uses."""

    contracts: dict[str, Any]
    gov: Any
    operator: Any
    relayer: Any
    client: Any
    pool_id: int = 0
    worker_url: str = ""
    attestation: dict = field(default_factory=dict)


def deploy(node: Anvil) -> tuple[World, Path]:
    from ape import accounts

    test = accounts.test_accounts
    gov = test[0]
    path = current_manifest_path()
    config = DeployConfig(admin=str(gov.address), dev_verifier=True)
    manifest, ctx, _ = deploy_stack(gov, config, path, fresh=True)
    click.echo(f"deployed {len(manifest.contracts)} contracts; manifest: {path}")
    return World(ctx.contracts, gov, test[4], test[5], test[1]), path


def fund_and_stake(w: World) -> None:
    token, staking = w.contracts["PHAToken"], w.contracts["Staking"]
    # On a real chain PHA arrives through the migration or the bridge; here governance mints it.
    token.grantRole(token.MINTER_ROLE(), w.gov, sender=w.gov)
    token.minterMint(w.operator, 20_000 * PHA, sender=w.gov)
    token.minterMint(w.client, 10_000 * PHA, sender=w.gov)
    staking.openPool(1_000, sender=w.operator)
    w.pool_id = int(staking.poolCount())
    token.approve(staking, 20_000 * PHA, sender=w.operator)
    staking.invoke_transaction("delegate", w.pool_id, 20_000 * PHA, sender=w.operator)
    click.echo(f"pool {w.pool_id}: operator {w.operator.address} staked 20,000 PHA, commission 10%")


def start_worker(w: World, node: Anvil, workdir: Path, stack: ExitStack, extra: tuple[str, ...] = ()) -> None:
    """The worker as a process; `extra`: more `pha-worker serve` options (e.g. the chat engine's)."""
    port = free_port()
    args = [
        executable("pha-worker"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        str(DEVNET_CHAIN_ID),
        "--registry",
        str(w.contracts["WorkerRegistry"].address),
        "--pool-id",
        str(w.pool_id),
        "--escrow",
        str(w.contracts["JobEscrow"].address),
        "--simulate",
        "--code-identity",
        "pha-demo-worker",
        *extra,
    ]
    worker = start("worker", args, workdir, {})
    stack.callback(worker.stop)
    w.worker_url = f"http://127.0.0.1:{port}"
    wait_http(w.worker_url + "/health", worker)
    w.attestation = wait_http(w.worker_url + "/attestation", worker)
    label = "SIMULATED TEE (development verifier)" if w.attestation.get("simulated") else "TEE"
    click.echo(f"worker {w.attestation['worker']} up at {w.worker_url} [{label}]")


def register_worker(w: World) -> None:
    registry, dev = w.contracts["WorkerRegistry"], w.contracts["DevQuoteVerifier"]
    measurement = bytes.fromhex(w.attestation["measurement_id"].removeprefix("0x"))
    registry.allowMeasurement(
        measurement, Policy.build("tdx").as_tuple(), ("pha-demo-worker", bytes(20), bytes(32)), sender=w.gov
    )
    quote = bytes.fromhex(w.attestation["quote"].removeprefix("0x"))
    key = bytes.fromhex(w.attestation["encryption_key"].removeprefix("0x"))
    tx = registry.registerWorker(w.pool_id, w.attestation["worker"], key, dev, quote, b"", sender=w.operator)
    registry.setRelayer(w.pool_id, w.relayer, True, sender=w.operator)
    click.echo(
        f"measurement 0x{measurement.hex()[:16]}… allowed; worker registered ({tx.gas_used:,} gas); "
        f"relayer {w.relayer.address} authorised"
    )


def start_relayer(w: World, node: Anvil, manifest_path: Path, workdir: Path, stack: ExitStack) -> Process:
    metrics_port = free_port()
    config = {
        "rpc_urls": [node.url],
        "manifest": str(manifest_path),
        "workers": [w.worker_url],
        "confirmations": 1,
        "batch_size": 20,
        "batch_wait": 1.0,
        "poll_interval": 0.25,
        "chain_id": DEVNET_CHAIN_ID,
        "db_path": str(workdir / "relayer.sqlite"),
        "metrics_port": metrics_port,
    }
    config_path = workdir / "relayer.json"
    config_path.write_text(json.dumps(config, indent=2))
    key = (
        "0x"
        + bytes(
            w.relayer.private_key
            if isinstance(w.relayer.private_key, bytes)
            else bytes.fromhex(str(w.relayer.private_key).removeprefix("0x"))
        ).hex()
    )
    relayer = start(
        "relayer",
        [executable("pha-relayer"), "run", "--config", str(config_path)],
        workdir,
        {"PHA_RELAYER_PRIVATE_KEY": key},
    )
    stack.callback(relayer.stop)
    wait_http(f"http://127.0.0.1:{metrics_port}/health", relayer)
    click.echo(f"relayer up (health and metrics on 127.0.0.1:{metrics_port})")
    return relayer


def post_jobs(w: World, count: int) -> tuple[list[int], dict[int, Any]]:
    from ape import chain

    token, escrow = w.contracts["PHAToken"], w.contracts["JobEscrow"]
    payment, relay_fee = 10 * PHA, PHA // 2
    token.approve(escrow, payment * (count + 1), sender=w.client)
    measurement = bytes.fromhex(w.attestation["measurement_id"].removeprefix("0x"))
    deadline = chain.pending_timestamp + 600
    reply_private, reply_public = generate_keypair()
    posted: list[int] = []
    encrypted: dict[int, Any] = {}
    inputs = [build_input("sentiment", SENTENCES[i % len(SENTENCES)]) for i in range(count)]
    secret = encrypt_input(
        "sentiment",
        "A private review: the enclave kept my secret, wonderful.",
        w.attestation["encryption_key"],
        reply_to=reply_public,
    )
    for i, data in enumerate([*inputs, secret]):
        spec = JobSpec(measurement, input_hash(data), relay_fee, deadline)
        tx = escrow.post(spec.as_tuple(), payment, data, sender=w.client)
        job_id = int(tx.decode_logs(escrow.JobPosted)[0].jobId)
        posted.append(job_id)
        if i == count:
            encrypted[job_id] = private_bytes(reply_private)
    click.echo(
        f"client posted {len(posted)} jobs ({count} sentiment, 1 encrypted end to end), "
        f"10 PHA each, relay fee 0.5 PHA"
    )
    return posted, encrypted


def wait_settled(w: World, job_ids: list[int], start_block: int, timeout: float) -> dict[int, Any]:
    from ape import chain

    escrow = w.contracts["JobEscrow"]
    settled: dict[int, Any] = {}
    deadline = time.monotonic() + timeout
    while len(settled) < len(job_ids) and time.monotonic() < deadline:
        for event in escrow.JobSettled.range(start_block, chain.blocks.head.number + 1):
            if int(event.jobId) in job_ids:
                settled[int(event.jobId)] = event
        time.sleep(0.5)
    missing = sorted(set(job_ids) - set(settled))
    if missing:
        raise click.ClickException(f"{len(missing)} jobs not settled within {timeout:.0f} s: {missing[:10]}")
    return settled


def summary(w: World, job_ids: list[int], encrypted: dict[int, Any], settled: dict[int, Any],
             posted_at: dict[int, tuple[int, int]], show: int | None = 6) -> None:  # fmt: skip
    """Prints the results (the first `show` plain ones; None: all), latency, gas, payments, log."""
    from ape import chain

    escrow, token, staking, log_contract = (w.contracts[n] for n in ("JobEscrow", "PHAToken", "Staking",
                                                                     "AttestationLog"))  # fmt: skip
    click.echo("\nresults")
    shown = 0
    for job_id in job_ids:
        output = bytes(settled[job_id].output)
        if job_id in encrypted:
            plain = json.loads(decrypt_output(output, encrypted[job_id]))
            click.echo(
                f"  job {job_id:>3} [encrypted both ways] -> {plain['result']['label']} "
                f"(compound {plain['result']['compound']:+.3f}), decrypted by the client only"
            )
        elif show is None or shown < show:
            result = json.loads(output)["result"]
            click.echo(f"  job {job_id:>3} -> {result['label']:<8} (compound {result['compound']:+.3f})")
            shown += 1
    plain = len(job_ids) - len(encrypted)
    if shown < plain:
        click.echo(
            f"  ... {shown} of {plain} plain results shown; `ape run demo --show-all` prints every one"
        )
    blocks, seconds = [], []
    for job_id in job_ids:
        event = settled[job_id]
        post_block, post_time = posted_at[job_id]
        block = chain.blocks[event.block_number]
        blocks.append(event.block_number - post_block)
        seconds.append(block.timestamp - post_time)
    blocks.sort()
    seconds.sort()
    p50, p95 = blocks[len(blocks) // 2], blocks[min(len(blocks) - 1, int(len(blocks) * 0.95))]
    click.echo(f"\nlatency post → settled: p50 {p50} blocks, p95 {p95} blocks, max {max(seconds)} s")
    txs = {event.transaction_hash for event in settled.values()}
    total_gas = sum(chain.provider.get_receipt(tx).gas_used for tx in txs)
    click.echo(
        f"settlement: {len(txs)} transactions for {len(job_ids)} jobs, "
        f"{total_gas // len(job_ids):,} gas per job"
    )

    paid = list(escrow.SettlementPaid.range(min(e.block_number for e in settled.values()),
                                            chain.blocks.head.number + 1))  # fmt: skip
    pool_amount = sum(int(e.poolAmount) for e in paid)
    relay_amount = sum(int(e.relayAmount) for e in paid)
    fee_amount = sum(int(e.feeAmount) for e in paid)
    # Single settlements leave the pool's share and fee in the escrow's pool ledger; batches and
    # the relayer's flushes pay it. Whatever is still there is paid now, as anyone may.
    [left] = ledger.ledgers(escrow, [w.pool_id])
    if left.empty:
        click.echo("pool ledger: empty (batches and the relayer's flushes paid it)")
    else:
        click.echo(f"pool ledger: {left.describe()}; flushing")
        for line in ledger.flush(escrow, w.gov, [left]):
            click.echo(f"  {line}")
    commission = int(staking.poolInfo(w.pool_id).commissionOwed)
    click.echo("\nwho got paid (PHA)")
    click.echo(
        f"  pool {w.pool_id} reward       {pool_amount / PHA:>10.4f}  through Staking.reward (operator "
        f"commission owed {commission / PHA:.4f}, the rest raises the share price)"
    )
    click.echo(
        f"  relayer fees        {relay_amount / PHA:>10.4f}  credited to {w.relayer.address} "
        f"(withdrawable: {escrow.relayerOwed(w.relayer) / PHA:.4f})"
    )
    click.echo(
        f"  protocol fee        {fee_amount / PHA:>10.4f}  credited to the treasury (sweepProtocolFees)"
    )
    click.echo(
        f"  client paid         {len(job_ids) * 10:>10.4f}  (balance now "
        f"{token.balanceOf(w.client) / PHA:,.4f})"
    )

    manifest_log = log_contract
    entries = fetch_entries(chain.provider.web3, str(manifest_log.address), 0, chain.blocks.head.number)
    report = verify_chain(entries, bytes(manifest_log.head()), int(manifest_log.count()))
    state = "verified" if report.ok else f"MISMATCH: {report.problem}"
    click.echo(
        f"\nattestation log: {report.entries} entries rebuilt from events, head "
        f"0x{report.rebuilt_head.hex()[:16]}… {state}"
    )
    if not report.ok:
        raise click.ClickException("the attestation log does not match its on-chain head")


def chat_job(w: World, manifest_path: Path, prompt: str, timeout: float, workdir: Path) -> None:
    """One confidential chat job as `ape run client chat` runs it; prints the answer and the proof."""
    from ape import chain

    from pha.llm.client import run_chat_job
    from pha.llm.proof import ChainView
    from pha.llm.request import parse_chat_request
    from pha.manifest import load_manifest

    manifest = load_manifest(manifest_path)
    view = ChainView(
        chain.provider.web3,
        manifest.address("JobEscrow"),
        manifest.address("WorkerRegistry"),
        manifest.deploy_block,
        manifest.address("PHAToken"),
    )
    escrow, token = w.contracts["JobEscrow"], w.contracts["PHAToken"]

    def post(job: Any, payment: int) -> tuple[int, int]:
        token.approve(escrow, payment, sender=w.client)
        tx = escrow.post(job.spec.as_tuple(), payment, job.data, sender=w.client)
        return int(tx.decode_logs(escrow.JobPosted)[0].jobId), int(tx.block_number)

    request = parse_chat_request(
        {
            "model": "default",
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 24,
            "temperature": 0,
        }
    )
    click.echo(f'client asks, encrypted to the pool\'s worker: "{prompt}"')
    started = time.monotonic()
    verification = run_chat_job(
        view, post, request, w.pool_id, 10 * PHA, PHA // 2, 600, timeout, folder=workdir / "chat"
    )
    facts = verification.facts()
    click.echo(
        "\nanswer (decrypted by the client only; a random-weight model, so gibberish):\n"
        f"  {verification.proof.answer!r}"
    )
    click.echo(f"\nverified job {facts['job_id']} in {time.monotonic() - started:.1f} s:")
    for label, key in (("worker", "worker"), ("measurement", "measurement_id"), ("model", "model"),
                       ("model digest", "model_digest"), ("request hash", "request_hash"),
                       ("response hash", "response_hash"), ("settle tx", "settle_tx")):  # fmt: skip
        click.echo(f"  {label:<14} {facts[key]}")
    click.echo("  on chain       ciphertext only, in both directions")
