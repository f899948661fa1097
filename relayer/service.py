"""The relayer's main loop (asyncio). Each step:

1. watch: scan confirmed blocks for escrow events (or rewind after a reorg) and apply them with
   the new checkpoint in one SQLite transaction;
2. reconcile our transactions (receipts, finality, stuck replacement, re-sends after a crash);
3. decide, per open job, with relayer.decide: dispatch to a worker, expire, re-check;
4. flush batches of ready results (B results of one worker, or the oldest waited T seconds);
5. pay the pool ledgers our single settlements entered once they are `flush_interval_s` old.

Network calls run in threads (web3) or are async (httpx, aiohttp); worker calls run as tasks,
so a slow worker never stalls the loop. SIGTERM: stop taking work, let in-flight worker calls
finish (bounded), close the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from dataclasses import replace
from typing import Any

from eth_abi import decode
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from pha.escrow.spec import JobSpec, claim_commitment, spec_hash
from pha.escrow.typed_data import Domain, ResultEntry
from pha.fmt import format_pha
from relayer.chain.rpc import Rpc, RpcUnavailable, abi, encode_call, eth_calls
from relayer.chain.txmanager import Landed, Simulation, TxManager
from relayer.chain.watcher import Scan, Watcher
from relayer.decide import (
    TERMINAL,
    JobFacts,
    Kind,
    Policy,
    Ready,
    State,
    World,
    decide,
    ledgers_to_read,
    on_event,
    on_precheck,
    on_receipt,
    plan_batches,
    plan_flush,
)
from relayer.ledgers import read_ledgers
from relayer.metrics import Metrics, start_server
from relayer.settings import RelayerSettings, SettingsError
from relayer.store import Job, Store
from relayer.workers import WorkerError, WorkerPool

log = logging.getLogger(__name__)

SKIP_NOT_ACTIVE, SKIP_PAST_DEADLINE = 0, 4
JOB_OF_TYPES = ["(address,uint96,bytes32)"]
MAX_BATCH_ROUNDS = 3
"""Sign-and-simulate rounds of one batch whose simulation shows entries that would be skipped."""
"""IJobEscrow.jobOf(jobId) returns (Job): client, payment, commitment."""
KEEP_BLOCK_HASHES = 256
LEDGER_READ_S = 5.0
"""With `flush_min_reward_wei` on: how often every unpaid pool's ledger is read."""
FLUSH_RETRY_S = 5.0
"""After a flush the simulation refused: wait this long before planning the next."""


class Relayer:
    def __init__(self, settings: RelayerSettings) -> None:
        self.s = settings
        self.metrics = Metrics()
        self.policy = Policy(
            max_attempts=settings.max_attempts,
            min_time_left_s=settings.min_time_left_s,
            expire_jobs=settings.expire_jobs,
        )
        self.stopping = asyncio.Event()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.last_step_ok = 0.0
        self.metrics_port: int | None = None
        self._runner: Any = None
        self._chain_now = 0
        self._our_txs: dict[str, str] = {}
        """Hash -> purpose of every transaction of ours (intents)."""
        self._ledgers_read = 0.0
        self._flush_retry_at = 0.0
        self._balance_checked = 0.0
        self.balance_wei: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def setup(self) -> None:
        s = self.s
        key = s.key()
        self.rpc = Rpc(s.rpc_urls, s.rpc_timeout)
        self.rpc.on_error = self.metrics.rpc_errors.inc
        chain_id = await self._retrying(lambda w3: int(w3.eth.chain_id))
        if s.chain_id is not None and chain_id != s.chain_id:
            raise SettingsError(f"the RPC is chain {chain_id}, the settings say {s.chain_id}")
        escrow, registry, start = s.resolved_addresses()
        self.escrow_address = escrow
        self.escrow = Web3().eth.contract(address=to_checksum_address(escrow), abi=abi("IJobEscrow"))
        self.domain = Domain(chain_id, escrow)
        self.store = Store(s.db_path)
        bound = f"{chain_id}:{escrow}"
        known = self.store.get_meta("deployment")
        if known is None:
            self.store.set_meta("deployment", bound)
        elif known != bound:
            raise SettingsError(f"database {s.db_path} belongs to deployment {known}, not {bound}")
        self.txm = TxManager(self.rpc, self.store, key, chain_id, s)
        self.txm.on_sent = lambda intent: self.metrics.txs_sent.labels(intent.purpose).inc()
        self.txm.on_replaced = self._on_dropped
        self.address = self.txm.address
        self._our_txs = {i.tx_hash: i.purpose for i in self.store.all_intents()}
        self.watcher = Watcher(
            self.rpc, self.store, escrow, s.confirmations, s.log_chunk, start, relayer=self.address
        )
        self.workers = WorkerPool(
            s.workers, self.rpc, registry, self.address, self.domain, s.worker_timeout,
            s.worker_concurrency, s.quarantine_s, s.eligibility_ttl_s,
        )  # fmt: skip
        # Worker calls in flight when we stopped: their results are lost, run them again. The
        # interrupted call was not the worker's failure: it does not use up that worker's try.
        with self.store.tx() as db:
            running = db.execute("SELECT job_id, attempts, tried FROM jobs WHERE state = 'running'")
            for row in running.fetchall():
                tried = json.loads(row["tried"])[:-1]
                db.execute(
                    "UPDATE jobs SET state = 'new', attempts = ?, tried = ? WHERE job_id = ?",
                    (max(0, int(row["attempts"]) - 1), json.dumps(tried), row["job_id"]),
                )
        await self.workers.refresh(force=True)
        if s.watch_interval_s > 0:  # the operator watch: its own task and cadence (relayer/watch.py)
            from relayer.watch import Watch

            watch = Watch(s, registry).use_registry(self.metrics.registry)
            if watch.watched:
                self._spawn(watch.run_forever(self.stopping, s.watch_interval_s))
        if s.metrics_port is not None:
            self._runner, self.metrics_port = await start_server(
                self.metrics, self.health, s.metrics_host, s.metrics_port
            )
        log.info(
            "relayer %s on chain %d, escrow %s, %d worker(s), checkpoint %s",
            self.address, chain_id, escrow, len(s.workers), self.store.checkpoint(),
        )  # fmt: skip

    async def _retrying(self, fn: Any) -> Any:
        delay = 0.5
        while True:
            try:
                return await self.rpc.run(fn)
            except RpcUnavailable as error:
                if self.stopping.is_set():
                    raise
                log.warning("waiting for the RPC: %s", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def run_forever(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                caught_up = await self.step()
                failures = 0
            except RpcUnavailable as error:
                failures += 1
                self.metrics.step_errors.inc()
                log.warning("step: RPC unavailable (%d in a row): %s", failures, error)
                caught_up = True
            except Exception:
                failures += 1
                self.metrics.step_errors.inc()
                log.exception("step failed (%d in a row)", failures)
                caught_up = True
            pause = self.s.poll_interval if failures == 0 else min(self.s.poll_interval * 2**failures, 10.0)
            if caught_up or failures:
                elapsed = time.monotonic() - started
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), max(0.0, pause - elapsed))

    async def cleanup(self, grace: float = 10.0) -> None:
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=grace)
            for task in pending:
                task.cancel()
        if hasattr(self, "workers"):
            await self.workers.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if hasattr(self, "store"):
            self.store.close()
        log.info("relayer stopped")

    def stop(self) -> None:
        self.stopping.set()

    def health(self) -> tuple[bool, dict[str, Any]]:
        age = time.time() - self.last_step_ok if self.last_step_ok else None
        ok = age is not None and age < max(30.0, 10 * self.s.poll_interval)
        counts = self.store.count_by_state() if hasattr(self, "store") else {}
        body = {
            "ok": ok,
            "relayer": getattr(self, "address", None),
            "last_step_age_s": age,
            "checkpoint": self.store.checkpoint() if hasattr(self, "store") else None,
            "head": getattr(getattr(self, "watcher", None), "head", None),
            "eligible_workers": sum(1 for w in self.workers.workers if w.eligible)
            if hasattr(self, "workers")
            else 0,
            "jobs": counts,
        }
        return ok, body

    # ------------------------------------------------------------------ one step

    async def step(self) -> bool:
        """One pass; True when the watcher is caught up with the confirmed head."""
        scan = await self.watcher.step()
        self._apply_scan(scan)
        caught_up = scan.rewound_to is None and scan.end >= scan.head - self.s.confirmations
        for landed in await self.txm.reconcile():
            self._apply_landed(landed)
        await self.workers.refresh()
        latest = await self.rpc.run(lambda w3: w3.eth.get_block("latest"))
        self._chain_now = int(latest["timestamp"])
        if not self.stopping.is_set():
            self._dispatch()
            await self._schedule()
            await self._flush()
            await self._pay_ledgers()
        await self._check_balance()
        self._update_gauges()
        self.last_step_ok = time.time()
        return caught_up

    async def _check_balance(self) -> None:
        """Every `balance_interval_s`: the key's balance into pha_relayer_balance_wei, and a
        warning (alert on it) while it is below `min_balance_wei`: without gas nothing settles."""
        now = time.monotonic()
        if self._balance_checked and now - self._balance_checked < self.s.balance_interval_s:
            return
        self._balance_checked = now
        balance = int(await self.rpc.run(lambda w3: w3.eth.get_balance(self.address, "latest")))
        self.balance_wei = balance
        self.metrics.balance.set(balance)
        if balance < self.s.min_balance_wei:
            log.warning(
                "relayer balance low: %s has %s, below min_balance_wei (%s): fund it or settlements stop",
                self.address, format_pha(balance, unit="ETH"), format_pha(self.s.min_balance_wei, unit="ETH"),
            )  # fmt: skip

    def _update_gauges(self) -> None:
        m = self.metrics
        for state in State:
            m.jobs_state.labels(state.value).set(0)
        for state, n in self.store.count_by_state().items():
            m.jobs_state.labels(state).set(n)
        checkpoint = self.store.checkpoint()
        m.head.set(self.watcher.head)
        if checkpoint:
            m.checkpoint.set(checkpoint[0])
            m.lag.set(self.watcher.head - checkpoint[0])
        m.pending_txs.set(len(self.store.intents_in(("signed", "sent"))))
        m.eligible_workers.set(sum(1 for w in self.workers.workers if w.eligible))
        unpaid = self.store.unpaid_pools()
        m.unpaid_pools.set(len(unpaid))
        m.oldest_unpaid_age.set(max(0, self._chain_now - min(unpaid.values())) if unpaid else 0)
        m.last_step.set(time.time())

    # ------------------------------------------------------------------ events

    def _apply_scan(self, scan: Scan) -> None:
        if scan.rewound_to is not None:
            self.metrics.reorgs.inc()
            n = scan.rewound_to
            with self.store.tx() as db:
                db.execute("DELETE FROM blocks WHERE number > ?", (n,))
                # Ends seen in the replaced blocks may be gone: re-check those jobs.
                db.execute(
                    "UPDATE jobs SET state = 'closing', updated_at = ? WHERE ended_block > ?",
                    (time.time(), n),
                )
                # Our transactions mined in the replaced blocks: follow them again, re-sending the
                # same bytes at once (keeps the nonce sequence without a gap).
                db.execute(
                    "UPDATE intents SET status = 'signed', mined_block = NULL, mined_hash = NULL"
                    " WHERE mined_block > ? AND status IN ('mined', 'final', 'failed')",
                    (n,),
                )
                # Postings in the replaced blocks are re-read from the new chain (ids may be reused).
                db.execute("DELETE FROM jobs WHERE posted_block > ?", (n,))
                # A ledger payment seen in the replaced blocks may be gone: unpaid again (a read decides).
                db.execute("UPDATE pool_ledgers SET paid_block = NULL WHERE paid_block > ?", (n,))
            return
        if scan.end < scan.start:
            return
        ended = []
        with self.store.tx() as db:
            for ev in scan.events:
                if ev.name == "JobPosted":
                    spec = JobSpec.from_event(ev.args["spec"])
                    job = Job(
                        job_id=ev.job_id,
                        state=State.NEW.value,
                        client=str(ev.args["client"]),
                        payment=int(ev.args["payment"]),
                        spec=spec,
                        input=bytes(ev.args["input"]),
                        posted_block=ev.block,
                    )
                    if self.store.add_job(db, job):
                        self.metrics.jobs_seen.inc()
                    continue
                if ev.name == "SettlementPaid":
                    # Ours and not a batch: a single settlement, which entered the pool's ledger
                    # (a transaction of our key that is not in `intents` counts as one).
                    if ev.args["relayer"] == self.address and self._our_txs.get(ev.tx_hash) != "settle_batch":
                        self.store.mark_unpaid(db, int(ev.args["poolId"]), ev.timestamp, ev.block)
                    continue
                if ev.name == "PoolRewardsFlushed":  # the ledger was paid (a batch or a flush, anyone's)
                    self.store.mark_paid(db, [int(ev.args["poolId"])], ev.block)
                    continue
                row = db.execute("SELECT state FROM jobs WHERE job_id = ?", (ev.job_id,)).fetchone()
                if row is None:
                    continue  # posted before our start block
                if ev.name == "JobClaimed":
                    self.store.update_job(
                        db, ev.job_id, claimer=str(ev.args["worker"]), pool_id=int(ev.args["poolId"])
                    )
                    continue
                kind = {"JobSettled": "settled", "JobCancelled": "cancelled", "JobExpired": "expired"}[
                    ev.name
                ]
                state = State(row["state"])
                new = on_event(state, kind, by_us=ev.tx_hash in self._our_txs)
                if new != state:
                    fields: dict[str, Any] = {"state": new.value, "ended_block": ev.block}
                    if kind == "settled":
                        fields["settled_by"] = str(ev.args["worker"])
                    self.store.update_job(db, ev.job_id, **fields)
                    ended.append(new)
            db.execute("INSERT OR REPLACE INTO blocks(number, hash) VALUES (?, ?)", (scan.end, scan.end_hash))
            db.execute("DELETE FROM blocks WHERE number < ?", (scan.end - KEEP_BLOCK_HASHES,))
        for state in ended:
            self.metrics.jobs_ended.labels(state.value).inc()
            if state is State.SETTLED:
                self.metrics.settled_by_us.inc()

    def _apply_landed(self, landed: Landed) -> None:
        intent = landed.intent
        self.metrics.txs_landed.labels(intent.purpose, str(landed.status)).inc()
        if intent.purpose == "flush_pools":
            self._flush_landed(landed)
            return
        settled, skipped = set(), {}
        for entry in landed.logs:
            if HexBytes(entry["address"]) != HexBytes(self.escrow_address):
                continue
            topic = HexBytes(entry["topics"][0])
            if topic == HexBytes(self.escrow.events.JobSettled.topic):
                settled.add(int.from_bytes(HexBytes(entry["topics"][1]), "big"))
            elif topic == HexBytes(self.escrow.events.SettlementSkipped.topic):
                job_id = int.from_bytes(HexBytes(entry["topics"][1]), "big")
                skipped[job_id] = int.from_bytes(HexBytes(entry["data"])[-32:], "big")
        with self.store.tx() as db:
            for job_id in intent.job_ids:
                row = db.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
                if row is None:
                    continue
                state = State(row["state"])
                if state in TERMINAL:
                    continue
                if intent.purpose == "expire":
                    if landed.status == 0 and state is State.EXPIRING:
                        self.store.update_job(db, job_id, state=State.CLOSING.value)
                    continue
                if state is not State.SUBMITTED:
                    continue
                if landed.status == 0:
                    new = on_receipt(state, "reverted")
                elif job_id in settled:
                    new = on_receipt(state, "settled")
                elif skipped.get(job_id) == SKIP_NOT_ACTIVE:
                    new = on_receipt(state, "skipped")
                else:  # skipped for another reason (deadline, claim): decide again from scratch
                    new = State.NEW
                if new != state:
                    self.store.update_job(db, job_id, state=new.value, ready_at=time.time())

    def _flush_landed(self, landed: Landed) -> None:
        """Our flushPoolRewards mined: count the ledgers it paid. The unpaid marks are cleared by
        the confirmed PoolRewardsFlushed events (or a later read), not by this receipt."""
        if landed.status != 1:
            log.warning("flushPoolRewards %s reverted (paid meanwhile?)", landed.intent.tx_hash)
            return
        topic = HexBytes(self.escrow.events.PoolRewardsFlushed.topic)
        pools = [
            int.from_bytes(HexBytes(e["topics"][1]), "big")
            for e in landed.logs
            if HexBytes(e["address"]) == HexBytes(self.escrow_address) and HexBytes(e["topics"][0]) == topic
        ]
        self.metrics.pools_flushed.inc(len(pools))
        log.info("flushPoolRewards %s paid pool(s) %s", landed.intent.tx_hash, pools)

    def _on_dropped(self, intent: Any) -> None:
        self.metrics.txs_replaced.inc()
        with self.store.tx() as db:
            for job_id in intent.job_ids:
                back = State.NEW if intent.purpose == "expire" else State.READY
                db.execute(
                    "UPDATE jobs SET state = ?, updated_at = ?"
                    " WHERE job_id = ? AND state IN ('submitted', 'expiring')",
                    (back.value, time.time(), job_id),
                )

    # ------------------------------------------------------------------ decisions

    def _dispatch(self) -> None:
        """Send `new` jobs to workers, up to `worker_concurrency` in flight per worker, spreading
        them over the least busy eligible ones. Synchronous from the read to the write (no await
        in between), so it can run whenever a worker answers, between two steps of the loop: a
        worker never waits for the loop's RPC round trips or a batch's settlement."""
        if self.stopping.is_set() or not hasattr(self, "workers"):
            return
        load = {w.address: w.inflight for w in self.workers.workers if w.eligible and w.address}
        limit = self.s.worker_concurrency
        room = sum(max(0, limit - n) for n in load.values())
        if room <= 0:
            return
        eligible: dict[bytes, list[str]] = {}
        dispatch: dict[str, list[Job]] = {}
        for job in self.store.jobs_in((State.NEW,), limit=5_000):
            m = job.spec.measurement_id
            if m not in eligible:
                eligible[m] = self.workers.candidates(m)
            candidates = sorted((a for a in eligible[m] if load[a] < limit), key=load.__getitem__)
            if not candidates:
                continue
            facts = JobFacts(
                state=State.NEW, deadline=job.spec.deadline, attempts=job.attempts, tried=tuple(job.tried),
                chosen_worker=job.spec.worker, claimer=job.claimer,
            )  # fmt: skip
            action = decide(facts, World(now=self._chain_now, candidates=candidates), self.policy)
            if action.kind is Kind.DISPATCH and action.worker is not None:
                load[action.worker] += 1
                dispatch.setdefault(action.worker, []).append(job)
                room -= 1
                if room <= 0:
                    break
        if not dispatch:
            return
        # Durable first (one SQLite transaction): a crash from here on finds them `running`.
        with self.store.tx() as db:
            for worker, group in dispatch.items():
                for job in group:
                    self.store.update_job(
                        db, job.job_id, state=State.RUNNING.value, attempts=job.attempts + 1,
                        tried=[*job.tried, worker],
                    )  # fmt: skip
        for worker, group in dispatch.items():
            for i in range(0, len(group), self.s.dispatch_batch):
                chunk = group[i : i + self.s.dispatch_batch]
                info = self.workers.by_address(worker)
                if info is not None:
                    info.inflight += len(chunk)  # counted from now, not from when the request starts
                self._spawn(self._run_jobs(chunk, worker))

    async def _schedule(self) -> None:
        """Expire, abandon, re-check: everything but dispatching (`_dispatch`)."""
        jobs = self.store.jobs_in((State.NEW, State.READY, State.CLOSING), limit=5_000)
        candidates: dict[bytes, list[str]] = {}
        now_wall = time.time()
        expire: list[Job] = []
        for job in jobs:
            m = job.spec.measurement_id
            if m not in candidates:
                candidates[m] = self.workers.candidates(m)
            facts = JobFacts(
                state=State(job.state),
                deadline=job.spec.deadline,
                attempts=job.attempts,
                tried=tuple(job.tried),
                chosen_worker=job.spec.worker,
                claimer=job.claimer,
            )
            action = decide(facts, World(now=self._chain_now, candidates=candidates[m]), self.policy)
            if action.kind is Kind.EXPIRE:
                expire.append(job)
            elif action.kind is Kind.ABANDON:
                self.store.update_job(job_id=job.job_id, state=State.ABANDONED.value, reason=action.reason)
                self.metrics.jobs_ended.labels(State.ABANDONED.value).inc()
                log.warning("job %d abandoned: %s", job.job_id, action.reason)
            elif action.kind is Kind.REQUEUE or (
                action.kind is Kind.WAIT
                and job.state == State.CLOSING.value
                and now_wall - (job.ready_at or 0) > 60
            ):
                await self._recheck(job)
        for job in expire[: self.s.max_pending_txs * 4]:
            if self.stopping.is_set():
                break
            await self._expire(job)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run_jobs(self, jobs: list[Job], worker: str) -> None:
        """Run jobs on one worker (one /jobs/batch request per chunk) and store every checked
        result in one SQLite transaction; failed jobs go back to `new` for the next worker."""
        info = self.workers.by_address(worker)
        try:
            outcomes = await self.workers.run_jobs(
                worker, [(job.job_id, job.spec.input_hash, job.input) for job in jobs]
            )
        finally:
            if info is not None:
                info.inflight -= len(jobs)
        now = time.time()
        failures: dict[str, int] = {}
        with self.store.tx() as db:
            for job, outcome in zip(jobs, outcomes, strict=True):
                if isinstance(outcome, WorkerError):
                    failures[outcome.kind] = failures.get(outcome.kind, 0) + 1
                    log.warning("job %d: worker %s failed: %s", job.job_id, worker, outcome)
                    # The worker's reason for refusing the input, for `pha-relayer status`.
                    why = {"reason": f"{worker} {outcome}"} if outcome.kind == "refused" else {}
                    self._set_if(job.job_id, State.RUNNING, db, state=State.NEW.value, **why)
                    continue
                self._set_if(
                    job.job_id, State.RUNNING, db, state=State.READY.value, worker=outcome.worker,
                    output=outcome.output, signature=outcome.signature, ready_at=now,
                )  # fmt: skip
        ok = len(jobs) - sum(failures.values())
        if ok:
            self.metrics.worker_results.labels("ok").inc(ok)
        for kind, n in failures.items():
            self.metrics.worker_results.labels(kind).inc(n)
        # A job the worker refused (400: bad input, unknown handler) is the client's doing and
        # fails only that job; any other failure quarantines the worker for a while.
        faults = [kind for kind in failures if kind != "refused"]
        if faults:
            self.workers.quarantine(worker, faults[0])
        self._dispatch()

    def _set_if(self, job_id: int, expected: State, db: Any = None, **fields: Any) -> None:
        """Update a job only if it is still in `expected` (an event may have ended it meanwhile);
        inside the caller's transaction when `db` is given."""
        fields["updated_at"] = time.time()
        cols = ", ".join(f"{k} = ?" for k in fields)
        sql = f"UPDATE jobs SET {cols} WHERE job_id = ? AND state = ?"
        if db is not None:
            db.execute(sql, (*fields.values(), job_id, expected.value))
            return
        with self.store.tx() as conn:
            conn.execute(sql, (*fields.values(), job_id, expected.value))

    async def _recheck(self, job: Job) -> None:
        """A job believed ended whose event has not come: ask the escrow."""
        status = await self._onchain_status([job], None)
        onchain = status.get(job.job_id, "ended")
        if onchain == "ended":
            self.store.update_job(job_id=job.job_id, ready_at=time.time())
            return
        self.store.update_job(job_id=job.job_id, state=State.NEW.value, ready_at=time.time())

    async def _onchain_status(
        self, jobs: list[Job], worker_pool: tuple[str, int] | None, block: str = "pending"
    ) -> dict[int, str]:
        """jobOf for each job in one JSON-RPC batch: open / claimed_ok / claimed_other / ended."""

        calls = [(self.escrow.address, encode_call("IJobEscrow", "jobOf", [job.job_id])) for job in jobs]
        results = await self.rpc.run(lambda w3: eth_calls(w3, calls, block))
        out: dict[int, str] = {}
        for job, raw in zip(jobs, results, strict=True):
            client, _payment, commitment = decode(JOB_OF_TYPES, raw)[0]
            if int(str(client), 16) == 0:
                out[job.job_id] = "ended"
            elif bytes(commitment) == spec_hash(job.spec):
                out[job.job_id] = "open"
            elif worker_pool is not None and bytes(commitment) == claim_commitment(job.spec, *worker_pool):
                out[job.job_id] = "claimed_ok"
            else:
                out[job.job_id] = "claimed_other"
        return out

    async def _expire(self, job: Job) -> None:
        claimer = job.claimer or "0x" + "00" * 20
        data = self.escrow.encode_abi("expire", [job.job_id, job.spec.as_tuple(), claimer, job.pool_id or 0])

        def persist(db: Any, intent_id: int) -> None:
            self.store.update_job(db, job.job_id, state=State.EXPIRING.value, intent_id=intent_id)

        intent_id, sim = await self.txm.submit(
            "expire", [job.job_id], self.escrow.address, HexBytes(data), None, persist
        )
        if intent_id is None:
            self.metrics.sim_failures.labels(sim.error[:40]).inc()
            # Someone else ended it, or the claim we know is stale: wait for the event / re-check.
            self.store.update_job(job_id=job.job_id, state=State.CLOSING.value, ready_at=time.time())
        else:
            self._remember(intent_id)

    def _remember(self, intent_id: int) -> None:
        intent = self.store.intent(intent_id)
        if intent is not None:
            self._our_txs[intent.tx_hash] = intent.purpose

    # ------------------------------------------------------------------ settlement

    async def _flush(self) -> None:
        ready = self.store.jobs_in((State.READY,), limit=5_000)
        if not ready:
            return
        by_id = {j.job_id: j for j in ready}
        plan = plan_batches(
            [Ready(j.job_id, j.worker or "", j.spec.measurement_id, j.ready_at or 0.0) for j in ready],
            time.time(),
            self.s.batch_size,
            self.s.batch_wait,
        )
        for group in plan:
            if self.stopping.is_set() or self.txm.open_count() >= self.s.max_pending_txs:
                return
            await self._settle([by_id[r.job_id] for r in group])

    async def _pay_ledgers(self) -> None:
        """Pay the pool ledgers our single settlements entered (`pool_ledgers`): those unpaid for
        `flush_interval_s` of chain time, or whose owed reward reached `flush_min_reward_wei`, in
        one flushPoolRewards through the transaction manager (one such transaction in flight at a
        time). Ledgers read empty (a batch or someone's flush paid them) are marked paid, no tx."""
        s = self.s
        if s.flush_interval_s <= 0 or self.stopping.is_set() or time.monotonic() < self._flush_retry_at:
            return
        unpaid = self.store.unpaid_pools()
        if not unpaid or any(i.purpose == "flush_pools" for i in self.store.intents_in(("signed", "sent"))):
            return
        now = self._chain_now
        read_all = s.flush_min_reward_wei > 0 and time.monotonic() - self._ledgers_read >= LEDGER_READ_S
        pools = ledgers_to_read(unpaid, now, s.flush_interval_s, s.flush_min_reward_wei, read_all)
        if not pools:
            return
        if read_all:
            self._ledgers_read = time.monotonic()
        if s.race_jitter_s > 0:  # relayers flushing the same pools drift apart (the simulation sees the pool)
            await asyncio.sleep(random.uniform(0, s.race_jitter_s))
        block, owed = await self.rpc.run(lambda w3: read_ledgers(w3, self.escrow.address, pools))
        plan = plan_flush(unpaid, owed, now, s.flush_interval_s, s.flush_min_reward_wei)
        if plan.paid:
            self.store.mark_paid(None, plan.paid, block)
            log.info("pool ledger(s) %s already paid (a batch or another flush)", list(plan.paid))
        if not plan.flush or self.stopping.is_set():
            return
        data = encode_call("IJobEscrow", "flushPoolRewards", [list(plan.flush)])
        intent_id, sim = await self.txm.submit("flush_pools", [], self.escrow.address, HexBytes(data))
        if intent_id is not None:
            self._remember(intent_id)
            self.metrics.flushes_sent.inc()
            oldest = max(now - unpaid[p] for p in plan.flush)
            log.info("sent flushPoolRewards for pool(s) %s (oldest unpaid %d s)", list(plan.flush), oldest)
            return
        # JobEscrowNothingOwed: a transaction in the pool (a batch, someone's flush) pays them; its
        # event or the next read clears the marks.
        self.metrics.sim_failures.labels(sim.error[:40]).inc()
        log.info("simulation refused flushPoolRewards(%s): %s", list(plan.flush), sim.error)
        self._flush_retry_at = time.monotonic() + FLUSH_RETRY_S

    async def _precheck(self, jobs: list[Job], pool: tuple[str, int] | None) -> list[Job]:
        """jobOf of each job: the ones still to settle; the others change state. Against the
        latest block when the simulation shows what a batch would skip (eth_simulateV1), else
        against the pending block (a competitor's transaction in the pool counts)."""
        block = "pending" if self.txm.simulate_v1 is False else "latest"
        status = await self._onchain_status(jobs, pool, block)
        keep: list[Job] = []
        with self.store.tx() as db:
            for job in jobs:
                new = on_precheck(State.READY, status[job.job_id])
                if new is State.READY:
                    keep.append(job)
                else:
                    self.store.update_job(db, job.job_id, state=new.value, ready_at=time.time())
        return keep

    def _inspect_batch(self, sim: Simulation) -> Simulation:
        """A batch whose simulation skips entries (settled by a competitor whose transaction is
        in the pool, expired, claimed...) is not sent: those entries are dropped and the rest
        signed and simulated again, so no gas pays for an entry that does nothing."""
        skipped = []
        topic = HexBytes(self.escrow.events.SettlementSkipped.topic)
        for entry in sim.logs:
            ours = HexBytes(entry["address"]) == HexBytes(self.escrow_address)
            if ours and HexBytes(entry["topics"][0]) == topic:
                job_id = int.from_bytes(HexBytes(entry["topics"][1]), "big")
                skipped.append((job_id, int.from_bytes(HexBytes(entry["data"])[-32:], "big")))
        if not skipped:
            return sim
        return replace(sim, ok=False, error="EntriesSkipped", skipped=tuple(skipped))

    async def _settle(self, jobs: list[Job]) -> None:
        worker = jobs[0].worker
        assert worker is not None
        info = self.workers.by_address(worker)
        pool = (worker, info.pool_id) if info is not None and info.pool_id is not None else None
        if self.s.race_jitter_s > 0:  # relayers that saw the same results in the same block drift apart
            await asyncio.sleep(random.uniform(0, self.s.race_jitter_s))
        keep = await self._precheck(jobs, pool)
        for _ in range(MAX_BATCH_ROUNDS):
            if not keep or self.stopping.is_set():
                return
            skipped = await self._settle_once(keep, worker)
            if not skipped:
                return
            # Entries the escrow would skip: settled or ended by someone else (closing: the event
            # ends them), or not payable now for another reason (decided again from scratch).
            now = time.time()
            with self.store.tx() as db:
                for job_id, reason in skipped:
                    state = State.CLOSING if reason == SKIP_NOT_ACTIVE else State.NEW
                    self._set_if(job_id, State.READY, db, state=state.value, ready_at=now)
            self.metrics.batch_entries_dropped.inc(len(skipped))
            gone = {job_id for job_id, _ in skipped}
            log.info("batch of %d: %d entries would be skipped; re-signing the rest", len(keep), len(gone))
            keep = [j for j in keep if j.job_id not in gone]

    async def _settle_once(self, keep: list[Job], worker: str) -> tuple[tuple[int, int], ...]:
        """Sign (batch), simulate, send; the entries a batch simulation would skip (nothing sent)."""
        ids = [j.job_id for j in keep]
        entries = [ResultEntry(j.job_id, j.spec.input_hash, keccak_output(j)) for j in keep]
        inspect = None
        if len(keep) == 1:
            job = keep[0]
            data = encode_call(
                "IJobEscrow",
                "settle",
                [job.job_id, job.spec.as_tuple(), worker, job.output or b"", job.signature or b""],
            )
            purpose = "settle"
        else:
            try:
                signature = await self.workers.sign_batch(worker, entries)
            except WorkerError as error:
                log.warning("worker %s refused to sign a batch of %d: %s", worker, len(keep), error)
                self.metrics.worker_results.labels(f"batch_{error.kind}").inc()
                self._requeue(ids, worker, quarantine=error.kind)
                return ()
            data = encode_call(
                "IJobEscrow",
                "settleBatch",
                [
                    worker,
                    keep[0].spec.measurement_id,
                    [(j.job_id, j.spec.as_tuple(), j.output or b"") for j in keep],
                    signature,
                ],
            )
            purpose = "settle_batch"
            inspect = self._inspect_batch

        def persist(db: Any, intent_id: int) -> None:
            for job_id in ids:
                self.store.update_job(db, job_id, state=State.SUBMITTED.value, intent_id=intent_id)

        intent_id, sim = await self.txm.submit(
            purpose, ids, self.escrow.address, HexBytes(data), worker, persist, inspect
        )
        if intent_id is not None:
            self._remember(intent_id)
            log.info("sent %s of %d job(s) for worker %s", purpose, len(ids), worker)
            return ()
        if sim.skipped:
            return sim.skipped
        self.metrics.sim_failures.labels(sim.error[:40]).inc()
        log.info("simulation refused %s of %d job(s): %s", purpose, len(ids), sim.error)
        if sim.error in ("JobEscrowIneligible", "JobEscrowBadSignature", "JobEscrowWrongWorker"):
            self._requeue(ids, worker, quarantine=sim.error)
        elif sim.error in ("JobEscrowJobNotActive", "JobEscrowNothingSettled"):
            with self.store.tx() as db:
                for job_id in ids:
                    self.store.update_job(db, job_id, state=State.CLOSING.value, ready_at=time.time())
        elif sim.error in ("JobEscrowPastDeadline", "JobEscrowNotClaimable"):
            self._requeue(ids, worker, quarantine=None)
        else:  # unknown refusal: try again after T
            with self.store.tx() as db:
                for job_id in ids:
                    self.store.update_job(db, job_id, ready_at=time.time())
        return ()

    def _requeue(self, ids: list[int], worker: str, quarantine: str | None) -> None:
        if quarantine:
            self.workers.quarantine(worker, quarantine)
        with self.store.tx() as db:
            for job_id in ids:
                self.store.update_job(db, job_id, state=State.NEW.value, output=None, signature=None)


def keccak_output(job: Job) -> bytes:
    from eth_utils import keccak

    return keccak(job.output or b"")


async def run(settings: RelayerSettings, install_signals: bool = True) -> None:
    """Run a relayer until SIGTERM/SIGINT (or `relayer.stop()`)."""
    import signal

    relayer = Relayer(settings)
    if install_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, relayer.stop)
    try:
        await relayer.setup()
        await relayer.run_forever()
    finally:
        await relayer.cleanup()
