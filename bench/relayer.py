"""Relayer throughput and latency on a project-started anvil (the devnet chain id 20350, 1-second blocks),
tests/devnet.py world, workers as their own `pha-worker serve` processes over loopback HTTP (echo
handler; PHA_BENCH_WORKERS=thread runs them in the bench's process), the relayer in the bench's
process, batching on (B=100, T=1 s), 2 confirmations.

- throughput: N jobs PRE-POSTED, then one relayer started; jobs/s = N / (last settlement block's
  time - relayer start). One worker, then four (`.w4`).
- latency: jobs posted CONCURRENTLY at a steady rate while the relayer runs; per job, blocks and
  seconds from the JobPosted block to the JobSettled block (includes the 2 confirmations).

The bench starts its own anvil: the Ape chain in `env` is not used.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import BenchEnv, Row
from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID
from relayer.service import Relayer
from relayer.settings import load_settings
from tests.devnet import Devnet

CONFIRMATIONS = 2
N_THROUGHPUT = 1_000
LATENCY_RATE, LATENCY_SECONDS = 20, 20
WORKER_PROCESSES = os.environ.get("PHA_BENCH_WORKERS", "process") == "process"
"""Workers as their own `pha-worker serve` processes over loopback HTTP (the realistic set-up);
PHA_BENCH_WORKERS=thread runs them in this process instead."""


class _Running:
    def __init__(self, settings: Any) -> None:
        self.relayer = Relayer(settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        await self.relayer.setup()
        try:
            await self.relayer.run_forever()
        finally:
            await self.relayer.cleanup()

    def __enter__(self) -> _Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.relayer.stop)
        self.thread.join(30)


def _quiet() -> None:
    import logging

    for name in ("worker", "worker.server", "httpx", "relayer"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _world(workers: int) -> tuple[Anvil, Devnet, list[str], bytes]:
    _quiet()
    node = Anvil(chain_id=DEVNET_CHAIN_ID, gas_limit=60_000_000).start()
    net = Devnet(node.url).deploy()
    pool = net.open_pool([net.relayer.address])
    if WORKER_PROCESSES:
        urls = [net.start_worker_process(pool).url for _ in range(workers)]
    else:
        urls = [net.start_worker(pool, handler_timeout=30).url for _ in range(workers)]
    import httpx

    m = bytes.fromhex(httpx.get(f"{urls[0]}/attestation").json()["measurement_id"][2:])
    return node, net, urls, m


def _settings(net: Devnet, urls: list[str], db: Path, start: int) -> Any:
    os.environ["PHA_RELAYER_PRIVATE_KEY"] = net.relayer.key.hex()
    return load_settings(
        None, rpc_urls=[net.url], escrow=net.escrow.address, registry=net.registry.address, workers=urls,
        db_path=str(db), start_block=start, metrics_port=None, confirmations=CONFIRMATIONS, poll_interval=0.2,
        batch_size=100, batch_wait=1.0, worker_concurrency=64, max_pending_txs=16, log_level="WARNING",
    )  # fmt: skip


def _settled_blocks(net: Devnet, start: int) -> dict[int, int]:
    return {i: e[0]["blockNumber"] for i, e in net.ends(start)["JobSettled"].items()}


def throughput(workers: int) -> tuple[float, str]:
    node, net, urls, m = _world(workers)
    try:
        start = net.w3.eth.block_number
        for chunk in range(0, N_THROUGHPUT, 200):
            net.post_jobs(min(200, N_THROUGHPUT - chunk), m, duration=3_600)
        net.interval_mining(1)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = net.now()
            with _Running(_settings(net, urls, Path(tmp) / "r.db", start)):
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline and len(_settled_blocks(net, start)) < N_THROUGHPUT:
                    time.sleep(1)
            blocks = _settled_blocks(net, start)
            last = max(blocks.values())
            t1 = int(net.w3.eth.get_block(last)["timestamp"])
        done = len(blocks)
        where = "process(es), loopback HTTP" if WORKER_PROCESSES else "thread(s) in the relayer's process"
        note = f"{done}/{N_THROUGHPUT} pre-posted jobs, {workers} worker {where}; load avg {_load()}"
        return done / max(1, t1 - t0), note
    finally:
        net.stop_workers()
        node.stop()


def latency() -> tuple[list[int], list[int]]:
    node, net, urls, m = _world(1)
    try:
        net.interval_mining(1)
        start = net.w3.eth.block_number
        with tempfile.TemporaryDirectory() as tmp, _Running(_settings(net, urls, Path(tmp) / "r.db", start)):
            posted: list[int] = []
            for _ in range(LATENCY_SECONDS):
                t = time.monotonic()
                posted += net.post_jobs(LATENCY_RATE, m, duration=3_600)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(_settled_blocks(net, start)) < len(posted):
                time.sleep(1)
        ends = _settled_blocks(net, start)
        posted_at = {
            int(e["args"]["jobId"]): e["blockNumber"]
            for e in net.escrow.events.JobPosted.get_logs(from_block=start)
        }
        stamps: dict[int, int] = {}

        def ts(n: int) -> int:
            if n not in stamps:
                stamps[n] = int(net.w3.eth.get_block(n)["timestamp"])
            return stamps[n]

        blocks = [ends[i] - posted_at[i] for i in posted if i in ends]
        seconds = [ts(ends[i]) - ts(posted_at[i]) for i in posted if i in ends]
        return blocks, seconds
    finally:
        net.stop_workers()
        node.stop()


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def _p(values: list[int], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
    )


def measure(env: BenchEnv) -> list[Row]:
    rows = []
    value, note = throughput(1)
    rows.append(Row("relayer.throughput_jobs_per_s", round(value, 1), "jobs/s", 100, "higher", note=note))
    value, note = throughput(4)
    rows.append(Row("relayer.throughput_jobs_per_s.w4", round(value, 1), "jobs/s", 100, "higher", note=note))
    blocks, seconds = latency()
    note = (
        f"{len(blocks)} jobs posted concurrently at {LATENCY_RATE}/s; 1 s blocks; "
        f"{CONFIRMATIONS} confirmations included; B=100, T=1 s; load avg {_load()}"
    )
    goal_blocks = CONFIRMATIONS + 3
    rows.append(Row("relayer.latency_p50_blocks", _p(blocks, 50), "blocks", goal_blocks, "lower", note=note))
    rows.append(Row("relayer.latency_p95_blocks", _p(blocks, 95), "blocks", goal_blocks, "lower", note=note))
    rows.append(Row("relayer.latency_p95_s", _p(seconds, 95), "s", None, "lower", note=note))
    return rows


if __name__ == "__main__":
    for row in measure(None):  # type: ignore[arg-type]
        print(row)
