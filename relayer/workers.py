"""HTTP client to enclave workers: who they are, whether they may be paid, and checked results.

Nothing a worker returns is trusted: every result is checked before it can reach the chain
(the job id and input hash are ours, keccak256(output) is the output hash, the EIP-712 Result
signature recovers to the worker, and that worker is eligible for the job's measurement with
this relayer, per registry.check). A worker that fails a check or times out is quarantined for a
while and the job goes to the next one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from eth_utils import keccak, to_checksum_address

from pha.escrow.typed_data import Domain, ResultEntry, results_hash
from pha.registry.reasons import describe_reason
from relayer.chain.rpc import Rpc, RpcUnavailable, abi
from relayer.verify import SignatureChecker, address_bytes

log = logging.getLogger(__name__)

NO_TCB_FLOOR = 6
MAX_BATCH_BODY = 512 * 1024
"""Bytes of input (hex) per /jobs/batch request, well below the worker's 1 MiB body limit."""


def _error_text(reply: httpx.Response) -> str:
    """The worker's {"error": message} (its reason, whole), else the start of the body."""
    try:
        message = reply.json().get("error")
    except (ValueError, AttributeError):
        message = None
    return message if isinstance(message, str) else reply.text[:200]


class WorkerError(Exception):
    """A worker failed a job: `kind` is one of timeout, http, refused (a 400 for this job: its
    input is bad, not the worker), bad_response, bad_signature, bad_output_hash, wrong_job,
    wrong_worker, unreachable."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass
class Result:
    """A checked result: safe to submit (the escrow re-checks everything anyway)."""

    job_id: int
    worker: str
    output: bytes
    output_hash: bytes
    signature: bytes


@dataclass
class WorkerInfo:
    url: str
    address: str | None = None
    measurement: bytes | None = None
    pool_id: int | None = None
    eligible: bool = False
    reason: str = "unknown"
    checked_at: float = 0.0
    quarantined_until: float = 0.0
    inflight: int = 0
    """Jobs sent to it and not answered yet (counted by the service when it dispatches)."""
    batch_api: bool = True
    """The worker serves POST /jobs/batch (set false on a 404/405: one /jobs request per job)."""
    semaphore: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(32))


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


class WorkerPool:
    def __init__(
        self,
        urls: Sequence[str],
        rpc: Rpc,
        registry: str,
        relayer: str,
        domain: Domain,
        timeout: float,
        concurrency: int,
        quarantine_s: float,
        eligibility_ttl_s: float,
    ) -> None:
        self.workers = [WorkerInfo(url.rstrip("/"), semaphore=asyncio.Semaphore(concurrency)) for url in urls]
        self.rpc = rpc
        self.registry_address = to_checksum_address(registry)
        self.relayer = to_checksum_address(relayer)
        self.domain = domain
        self.timeout = timeout
        self.quarantine_s = quarantine_s
        self.eligibility_ttl_s = eligibility_ttl_s
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=concurrency * max(1, len(urls)) + 8),
        )
        self.errors: dict[str, int] = {}
        self.checker = SignatureChecker(domain)

    async def close(self) -> None:
        await self.http.aclose()

    def by_address(self, address: str) -> WorkerInfo | None:
        for w in self.workers:
            if w.address == address:
                return w
        return None

    # ------------------------------------------------------------------ identity and eligibility

    async def refresh(self, force: bool = False) -> None:
        """Re-read attestations and eligibility of workers whose view is older than the TTL."""
        now = time.monotonic()
        due = [w for w in self.workers if force or now - w.checked_at >= self.eligibility_ttl_s]
        await asyncio.gather(*(self._refresh_one(w) for w in due))

    async def _refresh_one(self, w: WorkerInfo) -> None:
        try:
            reply = await self.http.get(f"{w.url}/attestation")
            reply.raise_for_status()
            att = reply.json()
            address = to_checksum_address(att["worker"])
            measurement = _b(att["measurement_id"])
            escrow = att.get("escrow")
            if escrow is not None and to_checksum_address(escrow) != self.domain.verifying_contract:
                w.eligible, w.reason = False, f"signs for escrow {escrow}, not ours"
            elif int(att.get("chain_id", self.domain.chain_id)) != self.domain.chain_id:
                w.eligible, w.reason = False, f"chain id {att.get('chain_id')}"
            else:
                w.address, w.measurement, w.pool_id = address, measurement, int(att.get("pool_id", 0))
                reason = await self.check(address, measurement)
                w.eligible, w.reason = reason == 0, "eligible" if reason == 0 else describe_reason(reason)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            w.eligible, w.reason = False, f"unreachable: {type(error).__name__}"
        except RpcUnavailable:
            return  # keep the previous view; retry later
        w.checked_at = time.monotonic()
        if not w.eligible:
            log.info("worker %s (%s) not eligible: %s", w.url, w.address, w.reason)

    async def check(self, worker: str, measurement: bytes, max_tcb: int = NO_TCB_FLOOR) -> int:
        """registry.check(worker, measurement, maxTcb, this relayer) -> Reason (0 = Eligible)."""

        def call(w3: Any) -> int:
            registry = w3.eth.contract(address=self.registry_address, abi=abi("IWorkerRegistry"))
            return int(registry.functions.check(worker, measurement, max_tcb, self.relayer).call()[0])

        return await self.rpc.run(call)

    def candidates(self, measurement: bytes) -> list[str]:
        """Eligible, not quarantined workers of this measurement, least busy first."""
        now = time.monotonic()
        ok = [
            w
            for w in self.workers
            if w.eligible and w.address and w.measurement == measurement and w.quarantined_until <= now
        ]
        return [w.address for w in sorted(ok, key=lambda w: w.inflight) if w.address]

    def quarantine(self, address: str, kind: str) -> None:
        w = self.by_address(address)
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if w is not None:
            w.quarantined_until = time.monotonic() + self.quarantine_s
            log.warning("worker %s quarantined for %.0f s: %s", address, self.quarantine_s, kind)

    # ------------------------------------------------------------------ jobs

    async def run_job(self, address: str, job_id: int, input_hash: bytes, data: bytes) -> Result:
        """POST /jobs to the worker and check the answer; WorkerError on anything wrong."""
        w = self.by_address(address)
        if w is None:
            raise WorkerError("unreachable", f"unknown worker {address}")
        body = {"job_id": job_id, "input_hash": "0x" + input_hash.hex(), "input": "0x" + data.hex()}
        try:
            async with w.semaphore:
                reply = await self.http.post(f"{w.url}/jobs", json=body)
        except httpx.TimeoutException as error:
            raise WorkerError("timeout", str(error) or "no answer in time") from None
        except httpx.HTTPError as error:
            raise WorkerError("unreachable", str(error)) from None
        if reply.status_code != 200:
            kind = "refused" if reply.status_code == 400 else "http"
            raise WorkerError(kind, f"{reply.status_code} {_error_text(reply)}")
        try:
            answer = reply.json()
            output = _b(answer["output"])
            out_hash = _b(answer["output_hash"])
            signature = _b(answer["signature"])
            signer = to_checksum_address(answer["worker"])
            got_job, got_input = int(answer["job_id"]), _b(answer["input_hash"])
        except (ValueError, KeyError, TypeError) as error:
            raise WorkerError("bad_response", repr(error)) from None
        if signer != address:
            raise WorkerError("wrong_worker", f"signed as {signer}")
        return self._checked(address, job_id, input_hash, got_job, got_input, output, out_hash, signature)

    def _checked(
        self, address: str, job_id: int, input_hash: bytes, got_job: int, got_input: bytes,
        output: bytes, out_hash: bytes, signature: bytes,
    ) -> Result:  # fmt: skip
        """The checks every result passes before it may be submitted (WorkerError otherwise)."""
        if got_job != job_id or got_input != input_hash:
            raise WorkerError("wrong_job", f"answer for job {got_job}")
        if keccak(output) != out_hash:
            raise WorkerError("bad_output_hash", "keccak256(output) != output_hash")
        try:
            entry = ResultEntry(job_id, input_hash, out_hash)
        except ValueError as error:
            raise WorkerError("bad_response", str(error)) from None
        if not self.checker.result_ok(entry, address_bytes(address), signature):
            raise WorkerError("bad_signature", "signature does not recover to the worker")
        return Result(job_id=job_id, worker=address, output=output, output_hash=out_hash, signature=signature)

    async def run_jobs(
        self, address: str, jobs: Sequence[tuple[int, bytes, bytes]]
    ) -> list[Result | WorkerError]:
        """Run (job id, input hash, input) jobs on one worker: POST /jobs/batch in chunks (or one
        /jobs per job for a worker without it). One outcome per job, in order: a checked Result or
        the WorkerError for that job. A failed request fails every job in it."""
        w = self.by_address(address)
        if w is None:
            return [WorkerError("unreachable", f"unknown worker {address}") for _ in jobs]
        out: list[Result | WorkerError] = []
        for chunk in _chunks(jobs, MAX_BATCH_BODY):
            if w.batch_api and len(chunk) > 1:
                try:
                    out += await self._run_batch(w, address, chunk)
                    continue
                except _NoBatchApi:
                    log.info("worker %s has no /jobs/batch: one request per job", w.url)
                    w.batch_api = False
            singles = await asyncio.gather(
                *(self.run_job(address, *job) for job in chunk), return_exceptions=True
            )
            for outcome in singles:
                if isinstance(outcome, Result | WorkerError):
                    out.append(outcome)
                elif isinstance(outcome, BaseException):
                    raise outcome
        return out

    async def _run_batch(
        self, w: WorkerInfo, address: str, chunk: Sequence[tuple[int, bytes, bytes]]
    ) -> list[Result | WorkerError]:
        body = {
            "jobs": [
                {"job_id": job_id, "input_hash": "0x" + input_hash.hex(), "input": "0x" + data.hex()}
                for job_id, input_hash, data in chunk
            ]
        }
        try:
            async with w.semaphore:
                reply = await self.http.post(f"{w.url}/jobs/batch", json=body)
        except httpx.TimeoutException as error:
            return [WorkerError("timeout", str(error) or "no answer in time")] * len(chunk)
        except httpx.HTTPError as error:
            return [WorkerError("unreachable", str(error))] * len(chunk)
        if reply.status_code in (404, 405):
            raise _NoBatchApi
        if reply.status_code != 200:
            return [WorkerError("http", f"{reply.status_code} {reply.text[:200]}")] * len(chunk)
        try:
            answer = reply.json()
            signer = to_checksum_address(answer["worker"])
            items = answer["results"]
            if not isinstance(items, list) or len(items) != len(chunk):
                raise ValueError(f"{len(items)} results for {len(chunk)} jobs")
        except (ValueError, KeyError, TypeError) as error:
            return [WorkerError("bad_response", repr(error))] * len(chunk)
        if signer != address:
            return [WorkerError("wrong_worker", f"signed as {signer}")] * len(chunk)
        out: list[Result | WorkerError] = []
        for (job_id, input_hash, _), item in zip(chunk, items, strict=True):
            try:
                if "error" in item:
                    status = int(item.get("status", 400))
                    kind = {400: "refused", 504: "timeout"}.get(status, "http")
                    raise WorkerError(kind, f"{status} {item['error']}")
                got = (int(item["job_id"]), _b(item["input_hash"]))
                fields = (_b(item["output"]), _b(item["output_hash"]), _b(item["signature"]))
                out.append(self._checked(address, job_id, input_hash, *got, *fields))
            except WorkerError as error:
                out.append(error)
            except (ValueError, KeyError, TypeError) as error:
                out.append(WorkerError("bad_response", repr(error)))
        return out

    async def sign_batch(self, address: str, entries: Sequence[ResultEntry]) -> bytes:
        """POST /sign-batch; the returned signature is checked over exactly these entries, in order."""
        w = self.by_address(address)
        if w is None:
            raise WorkerError("unreachable", f"unknown worker {address}")
        body = {
            "entries": [
                {
                    "job_id": e.job_id,
                    "input_hash": "0x" + e.input_hash.hex(),
                    "output_hash": "0x" + e.output_hash.hex(),
                }
                for e in entries
            ]
        }
        try:
            reply = await self.http.post(f"{w.url}/sign-batch", json=body)
        except httpx.TimeoutException:
            raise WorkerError("timeout", "sign-batch") from None
        except httpx.HTTPError as error:
            raise WorkerError("unreachable", str(error)) from None
        if reply.status_code != 200:
            raise WorkerError("http", f"{reply.status_code} {reply.text[:200]}")
        try:
            answer = reply.json()
            signature = _b(answer["signature"])
            claimed = _b(answer["results_hash"])
        except (ValueError, KeyError, TypeError) as error:
            raise WorkerError("bad_response", repr(error)) from None
        if claimed != results_hash(entries):
            raise WorkerError("bad_response", "results_hash is not over our entries")
        if not self.checker.batch_ok(entries, address_bytes(address), signature):
            raise WorkerError("bad_signature", "batch signature does not recover to the worker")
        return signature


class _NoBatchApi(Exception):  # noqa: N818 - a condition: the worker predates /jobs/batch
    pass


def _chunks(
    jobs: Sequence[tuple[int, bytes, bytes]], max_bytes: int
) -> list[Sequence[tuple[int, bytes, bytes]]]:
    """Consecutive runs of jobs whose hex-encoded inputs stay under `max_bytes` (at least one each)."""
    out: list[Sequence[tuple[int, bytes, bytes]]] = []
    start, size = 0, 0
    for i, (_, _, data) in enumerate(jobs):
        cost = 2 * len(data) + 200
        if i > start and size + cost > max_bytes:
            out.append(jobs[start:i])
            start, size = i, 0
        size += cost
    if start < len(jobs):
        out.append(jobs[start:])
    return out
