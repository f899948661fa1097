"""The worker's HTTP API (PROTOCOL-SPEC.md "Worker HTTP API") on aiohttp.

    GET  /health       -> {"ok": true, "worker"}
    GET  /attestation  -> keys, quote, measurement id, binding parameters, "simulated"
    POST /jobs         -> runs a handler on (possibly encrypted) input, signs Result
    POST /jobs/batch   -> the same for many jobs in one request (per-job results or errors)
    POST /sign-batch   -> signs ResultBatch over results this worker produced

Every error is JSON {"error": "..."}: 400 for a bad request (bad JSON, fields, hash mismatch,
ciphertext, unknown handler, handler input, an output too large for the escrow, foreign result),
404/405 for routes, 408 for a body that does not arrive in time, 413 for one too large, 502 for
an inference engine that fails the chat handler, 504 for a handler that runs too long, 500 (no
traceback in the response) for a bug.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from eth_utils import keccak

from pha import envelope
from pha.envelope import EnvelopeError
from pha.escrow.spec import MAX_OUTPUT_BYTES
from pha.escrow.typed_data import Domain, ResultEntry, batch_digest, result_digest, results_hash
from pha.jobs import InputFormat, JobInputError, parse_job_input
from worker.attestation import Attestation, obtain_attestation
from worker.chat import ChatHandler, EngineError, check_model_file
from worker.handlers import Handler, build_registry, formats_of
from worker.keys import WorkerKeys
from worker.results import ResultRecord
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)

UINT256_MAX = 2**256 - 1


class RequestError(Exception):
    """A client mistake: answered with `status` (400 unless said) and this message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class WorkerState:
    settings: WorkerSettings
    keys: WorkerKeys
    attestation: Attestation
    handlers: dict[str, Handler]
    domain: Domain
    record: ResultRecord
    formats: dict[str, InputFormat] = field(default_factory=dict)
    """The input formats checked before a handler runs (`formats_of(handlers)`)."""
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4, "pha-job"))

    def attestation_json(self) -> dict[str, Any]:
        a = self.attestation
        return {
            "worker": self.keys.address,
            "encryption_key": "0x" + self.keys.encryption_key.hex(),
            "measurement_id": "0x" + a.measurement_id.hex(),
            "quote": "0x" + a.quote.hex(),
            "report_data": "0x" + a.report_data.hex(),
            "tee": "tdx",
            "simulated": a.simulated,
            "chain_id": self.settings.chain_id,
            "registry": self.settings.registry,
            "pool_id": self.settings.pool_id,
            # Beyond the spec's fields: what results are signed for, and the dstack app it runs:
            # the compose hash its replayed event log proves, the log (dstack's JSON shape) and the
            # app compose, so that anyone can replay it (None when the quote has no log).
            "escrow": self.domain.verifying_contract,
            "compose_hash": None if a.compose_hash is None else "0x" + a.compose_hash.hex(),
            "app_id": None if a.app is None else "0x" + a.app.app_id.hex(),
            "event_log": None if a.event_log is None else [e.as_json() for e in a.event_log],
            "app_compose": a.app_compose,
            # The chat handler's declared model (None: no chat handler): what every chat result
            # names; docs/llm.md says what it proves and what it does not.
            "chat": chat.metadata() if isinstance(chat := self.handlers.get("chat"), ChatHandler) else None,
        }


def build_state(settings: WorkerSettings) -> WorkerState:
    """Check the chat model file, load handlers, generate the keys, obtain the quote binding them."""
    if settings.chat is not None:
        check_model_file(settings.chat)
    handlers = build_registry(settings.handlers, settings.chat)
    keys = WorkerKeys()
    attestation = obtain_attestation(settings, keys)
    return WorkerState(
        settings=settings,
        keys=keys,
        attestation=attestation,
        handlers=handlers,
        domain=Domain(settings.chain_id, settings.escrow),
        record=ResultRecord(settings.max_records),
        formats=formats_of(handlers),
    )


# --- request parsing -------------------------------------------------------------------------


def _hex_bytes(value: Any, name: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise RequestError(f"{name} must be a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise RequestError(f"{name} is not valid hex") from None
    if size is not None and len(raw) != size:
        raise RequestError(f"{name} must be {size} bytes, got {len(raw)}")
    return raw


def _job_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT256_MAX:
        raise RequestError("job_id must be an integer in uint256 range")
    return value


def _object(body: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    missing = [name for name in fields if name not in body]
    if missing:
        raise RequestError(f"missing fields: {', '.join(missing)}")
    return body


# --- the work (synchronous, runs in the executor) --------------------------------------------


def run_job(state: WorkerState, job_id: int, input_hash: bytes, raw_input: bytes) -> dict[str, Any]:
    """Decrypt if needed, run the handler, encrypt to reply_to if asked, sign Result, record it."""
    if keccak(raw_input) != input_hash:
        raise RequestError("input_hash does not match keccak256(input)")
    try:
        plaintext = state.keys.decrypt_input(raw_input) if envelope.is_envelope(raw_input) else raw_input
    except EnvelopeError as error:
        raise RequestError(f"bad input: {error}") from None
    try:  # the client's own check (pha.jobs), so a refusal says what `client post` would have
        job = parse_job_input(plaintext, state.handlers, state.formats)
    except JobInputError as error:
        raise RequestError(str(error)) from None
    try:
        result = state.handlers[job.handler](job.data)
    except JobInputError as error:
        raise RequestError(str(error)) from None
    except EngineError as error:
        raise RequestError(str(error), 502) from None
    except (ValueError, TypeError) as error:
        raise RequestError(f"handler {job.handler!r} rejected the data: {error}") from None
    try:
        output = envelope.canonical_json({"handler": job.handler, "result": result})
    except (TypeError, ValueError) as error:
        raise RuntimeError(f"handler {job.handler!r} returned a value JSON cannot hold: {error}") from None
    if job.reply_to is not None:
        output = envelope.seal(output, job.reply_to, envelope.OUTPUT_INFO)
    if len(output) > MAX_OUTPUT_BYTES:
        raise RequestError(
            f"the {job.handler} output is {len(output)} bytes, more than the escrow carries "
            f"({MAX_OUTPUT_BYTES}); ask for less (e.g. a smaller max_tokens)"
        )
    entry = ResultEntry(job_id, input_hash, keccak(output))
    signature = state.keys.sign(result_digest(state.domain, entry, state.keys.address))
    state.record.add(entry)
    log.info(
        "job %d: handler %s, %s input, output 0x%s",
        job_id,
        job.handler,
        "encrypted" if raw_input is not plaintext else "plaintext",
        entry.output_hash.hex(),
    )
    return {
        "job_id": job_id,
        "input_hash": "0x" + input_hash.hex(),
        "output_hash": "0x" + entry.output_hash.hex(),
        "output": "0x" + output.hex(),
        "worker": state.keys.address,
        "signature": "0x" + signature.hex(),
    }


def sign_batch(state: WorkerState, raw_entries: Any) -> dict[str, Any]:
    if not isinstance(raw_entries, list) or not raw_entries:
        raise RequestError("entries must be a non-empty list")
    if len(raw_entries) > state.settings.max_batch:
        raise RequestError(f"at most {state.settings.max_batch} entries per batch")
    entries = []
    for index, raw in enumerate(raw_entries):
        item = _object(raw, ("job_id", "input_hash", "output_hash"))
        entry = ResultEntry(
            _job_id(item["job_id"]),
            _hex_bytes(item["input_hash"], f"entries[{index}].input_hash", 32),
            _hex_bytes(item["output_hash"], f"entries[{index}].output_hash", 32),
        )
        if entry not in state.record:
            raise RequestError(f"entries[{index}] (job {entry.job_id}) is not a result this worker produced")
        entries.append(entry)
    signature = state.keys.sign(batch_digest(state.domain, entries, state.keys.address))
    log.info("signed a batch of %d results", len(entries))
    return {
        "results_hash": "0x" + results_hash(entries).hex(),
        "worker": state.keys.address,
        "signature": "0x" + signature.hex(),
    }


# --- HTTP ------------------------------------------------------------------------------------


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def errors_as_json(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except RequestError as error:
        return _error(error.status, str(error))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _error(error.status, error.reason)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return _error(500, "internal error")


async def _json_body(request: web.Request) -> Any:
    state: WorkerState = request.app[STATE]
    try:
        body = await asyncio.wait_for(request.read(), state.settings.body_timeout)
    except TimeoutError:
        raise RequestError("request body did not arrive in time", 408) from None
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(f"request body is not JSON: {error}") from None


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "worker": request.app[STATE].keys.address})


async def attestation(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].attestation_json())


async def jobs(request: web.Request) -> web.Response:
    state: WorkerState = request.app[STATE]
    body = _object(await _json_body(request), ("job_id", "input_hash", "input"))
    job_id = _job_id(body["job_id"])
    input_hash = _hex_bytes(body["input_hash"], "input_hash", 32)
    raw_input = _hex_bytes(body["input"], "input")
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(state.executor, run_job, state, job_id, input_hash, raw_input)
    try:
        result = await asyncio.wait_for(work, state.settings.handler_timeout)
    except TimeoutError:
        return _error(504, f"job {job_id} did not finish within {state.settings.handler_timeout:g} s")
    return web.json_response(result)


async def _job_in_batch(state: WorkerState, index: int, raw: Any) -> dict[str, Any]:
    """One entry of /jobs/batch: its result, or {"job_id", "error", "status"} (never raises)."""
    job_id = raw.get("job_id") if isinstance(raw, dict) else None
    try:
        item = _object(raw, ("job_id", "input_hash", "input"))
        job_id = _job_id(item["job_id"])
        input_hash = _hex_bytes(item["input_hash"], f"jobs[{index}].input_hash", 32)
        raw_input = _hex_bytes(item["input"], f"jobs[{index}].input")
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(state.executor, run_job, state, job_id, input_hash, raw_input)
        try:
            result = await asyncio.wait_for(work, state.settings.handler_timeout)
        except TimeoutError:
            raise RequestError(
                f"job {job_id} did not finish within {state.settings.handler_timeout:g} s", 504
            ) from None
    except RequestError as error:
        return {"job_id": job_id, "error": str(error), "status": error.status}
    except Exception:
        log.exception("internal error on job %s of a batch", job_id)
        return {"job_id": job_id, "error": "internal error", "status": 500}
    del result["worker"]  # said once for the whole answer
    return result


async def jobs_batch(request: web.Request) -> web.Response:
    """Many jobs in one request: the answer lists, in order, each job's result (the same fields
    as /jobs minus "worker") or {"job_id", "error", "status"}; one bad job fails only itself."""
    state: WorkerState = request.app[STATE]
    body = _object(await _json_body(request), ("jobs",))
    items = body["jobs"]
    if not isinstance(items, list) or not items:
        raise RequestError("jobs must be a non-empty list")
    if len(items) > state.settings.max_batch:
        raise RequestError(f"at most {state.settings.max_batch} jobs per batch")
    results = await asyncio.gather(*(_job_in_batch(state, i, raw) for i, raw in enumerate(items)))
    return web.json_response({"worker": state.keys.address, "results": results})


async def sign_batch_route(request: web.Request) -> web.Response:
    state: WorkerState = request.app[STATE]
    body = _object(await _json_body(request), ("entries",))
    return web.json_response(sign_batch(state, body["entries"]))


STATE: web.AppKey[WorkerState] = web.AppKey("state", WorkerState)


def create_app(state: WorkerState) -> web.Application:
    app = web.Application(middlewares=[errors_as_json], client_max_size=state.settings.max_body_bytes)
    app[STATE] = state
    app.router.add_get("/health", health)
    app.router.add_get("/attestation", attestation)
    app.router.add_post("/jobs", jobs)
    app.router.add_post("/jobs/batch", jobs_batch)
    app.router.add_post("/sign-batch", sign_batch_route)
    return app


def log_startup(state: WorkerState) -> None:
    a = state.attestation
    if a.simulated:
        log.warning(
            'SIMULATED QUOTE ("simulated": true): signed by the public development key, accepted only '
            "by the development verifier on local chains; it proves nothing about this machine"
        )
    log.info(
        "worker %s encryption key 0x%s measurement 0x%s quote from %s%s",
        state.keys.address,
        state.keys.encryption_key.hex(),
        a.measurement_id.hex(),
        a.source,
        " (simulated)" if a.simulated else "",
    )


async def run_server(
    state: WorkerState, stop: asyncio.Event, on_ready: Callable[[int], None] | None = None
) -> None:
    """Serve until `stop` is set, then finish in-flight requests and close."""
    log_startup(state)
    runner = web.AppRunner(create_app(state), access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    site = web.TCPSite(runner, state.settings.host, state.settings.port)
    await site.start()
    port = runner.addresses[0][1]
    log.info("listening on http://%s:%d", state.settings.host, port)
    if on_ready is not None:
        on_ready(port)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await runner.cleanup()
        state.executor.shutdown(wait=False, cancel_futures=True)
        log.info("stopped")


class BackgroundWorker:
    """Run a worker in a thread of this process (tests, the demo): `with BackgroundWorker(s) as w: w.url`."""

    def __init__(self, settings: WorkerSettings, state: WorkerState | None = None) -> None:
        self.state = state or build_state(settings)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pha-worker", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.state.settings.host}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._stop = asyncio.Event()

        def ready(port: int) -> None:
            self.port = port
            self._ready.set()

        try:
            self._loop.run_until_complete(run_server(self.state, self._stop, ready))
        except BaseException as error:
            self._error = error
            self._ready.set()
        finally:
            self._loop.close()

    def start(self) -> BackgroundWorker:
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError(f"worker did not start: {self._error}")
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def __enter__(self) -> BackgroundWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()
