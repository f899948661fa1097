"""Prometheus metrics (one registry per relayer, so several can run in one process) and the
/health + /metrics HTTP server (aiohttp)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

log = logging.getLogger(__name__)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.jobs_seen = Counter("pha_relayer_jobs_seen", "Jobs posted (confirmed) seen", registry=r)
        self.jobs_ended = Counter(
            "pha_relayer_jobs_ended", "Jobs that reached an end state", ["state"], registry=r
        )
        self.jobs_state = Gauge("pha_relayer_jobs", "Jobs by state", ["state"], registry=r)
        self.worker_results = Counter("pha_relayer_worker_results", "Worker answers", ["outcome"], registry=r)
        self.txs_sent = Counter("pha_relayer_txs_sent", "Transactions sent", ["purpose"], registry=r)
        self.txs_landed = Counter(
            "pha_relayer_txs_landed", "Transactions mined", ["purpose", "status"], registry=r
        )
        self.txs_replaced = Counter(
            "pha_relayer_txs_replaced", "Stuck transactions replaced or dropped", registry=r
        )
        self.sim_failures = Counter(
            "pha_relayer_simulation_failures",
            "eth_call/estimateGas refusals (lost races)",
            ["error"],
            registry=r,
        )
        self.batch_entries_dropped = Counter(
            "pha_relayer_batch_entries_dropped",
            "Batch entries dropped before sending because the simulation showed them skipped",
            registry=r,
        )
        self.settled_by_us = Counter(
            "pha_relayer_jobs_settled_by_us", "Jobs settled by this relayer", registry=r
        )
        self.rpc_errors = Counter("pha_relayer_rpc_errors", "Failed RPC attempts", registry=r)
        self.step_errors = Counter("pha_relayer_step_errors", "Main loop steps that failed", registry=r)
        self.reorgs = Counter("pha_relayer_reorgs", "Reorgs detected", registry=r)
        self.head = Gauge("pha_relayer_head_block", "Chain head seen", registry=r)
        self.checkpoint = Gauge(
            "pha_relayer_checkpoint_block", "Last processed (confirmed) block", registry=r
        )
        self.lag = Gauge("pha_relayer_lag_blocks", "head - checkpoint", registry=r)
        self.pending_txs = Gauge("pha_relayer_pending_txs", "Our transactions not yet mined", registry=r)
        self.last_step = Gauge(
            "pha_relayer_last_step_timestamp", "Unix time of the last good step", registry=r
        )
        self.eligible_workers = Gauge("pha_relayer_eligible_workers", "Workers eligible now", registry=r)
        self.balance = Gauge("pha_relayer_balance_wei", "The relayer's native balance", registry=r)
        self.flushes_sent = Counter(
            "pha_relayer_pool_flushes_sent", "flushPoolRewards transactions sent", registry=r
        )
        self.pools_flushed = Counter(
            "pha_relayer_pools_flushed", "Pool ledgers paid by our landed flushPoolRewards", registry=r
        )
        self.unpaid_pools = Gauge(
            "pha_relayer_unpaid_pools",
            "Pools whose ledger our single settlements entered, not paid yet",
            registry=r,
        )
        self.oldest_unpaid_age = Gauge(
            "pha_relayer_oldest_unpaid_ledger_seconds",
            "Chain seconds since the oldest unpaid ledger's first single settlement of ours (0: none)",
            registry=r,
        )


class WatchMetrics:
    """The operator watch's gauges (relayer/watch.py), on the relayer's registry or their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        labels = ["worker", "pool"]
        self.seconds_to_expiry = Gauge(
            "pha_watch_seconds_to_expiry",
            "Seconds until the worker stops being eligible by time (attestation or measurement expiry)",
            labels,
            registry=r,
        )
        self.seconds_to_grace_close = Gauge(
            "pha_watch_seconds_to_grace_close",
            "Seconds until the TCB grace window closes (only for workers relying on one)",
            labels,
            registry=r,
        )
        self.eligible = Gauge(
            "pha_watch_eligible", "1 if the registry says eligible, else 0", labels, registry=r
        )
        self.warning = Gauge(
            "pha_watch_warning",
            "1 while a warning of this kind holds for the worker",
            ["worker", "kind"],
            registry=r,
        )
        self.renewals = Counter("pha_watch_renewals", "Renewal attempts by outcome", ["outcome"], registry=r)
        self.errors = Counter("pha_watch_errors", "Watch passes that could not read a worker", registry=r)
        self.last_run = Gauge("pha_watch_last_run_timestamp", "Unix time of the last watch pass", registry=r)


async def start_server(
    metrics: Metrics, health: Callable[[], tuple[bool, dict[str, Any]]], host: str, port: int
) -> tuple[web.AppRunner, int]:
    """Serve GET /health (200 or 503 with a JSON body) and GET /metrics; returns (runner, port)."""

    async def get_health(request: web.Request) -> web.Response:
        ok, body = health()
        return web.json_response(body, status=200 if ok else 503)

    async def get_metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/health", get_health)
    app.router.add_get("/metrics", get_metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    bound = port
    if server is not None and getattr(server, "sockets", None):
        bound = int(server.sockets[0].getsockname()[1])
    log.info("health and metrics on http://%s:%d", host, bound)
    return runner, bound
