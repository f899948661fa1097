"""Relayer world: one anvil (Base-like chain id, 1-second blocks) per test module with the stack
deployed by tests/devnet.py (pha.deploy's steps and wiring), a pool authorising three relayer
keys, in-process workers, and helpers to run relayers in a thread and to stand up misbehaving
workers.

These tests drive the chain with web3 directly; they do not use Ape's network.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from pha.anvil import Anvil, stop_process
from pha.chains import DEVNET_CHAIN_ID
from relayer.service import Relayer
from relayer.settings import RelayerSettings, load_settings
from tests.devnet import Devnet


@pytest.fixture(scope="module")
def node():
    with Anvil(chain_id=DEVNET_CHAIN_ID) as anvil:
        yield anvil


@pytest.fixture(scope="module")
def net(node):
    devnet = Devnet(node.url).deploy()
    devnet.pool = devnet.open_pool([r.address for r in devnet.relayers])
    yield devnet
    devnet.stop_workers()


@pytest.fixture(scope="module")
def mined(net):
    """The module's devnet, mining a block every second."""
    net.interval_mining(1)
    return net


@pytest.fixture(scope="module")
def honest(mined):
    """An honest worker (in-process, real HTTP) registered in the module's pool."""
    return mined.start_worker(mined.pool)


def measurement_of(url: str) -> bytes:
    return bytes.fromhex(httpx.get(f"{url}/attestation", timeout=10).json()["measurement_id"][2:])


def make_settings(
    net: Devnet, tmp: Path, workers: list[str], key_index: int = 0, **kw: Any
) -> RelayerSettings:
    import os

    os.environ["PHA_RELAYER_PRIVATE_KEY"] = net.relayers[key_index].key.hex()
    values: dict[str, Any] = dict(
        rpc_urls=[net.url],
        escrow=net.escrow.address,
        registry=net.registry.address,
        workers=workers,
        db_path=str(tmp / f"relayer{key_index}.db"),
        start_block=net.deploy_block,
        metrics_port=None,
        confirmations=1,
        poll_interval=0.3,
        batch_wait=1.0,
        worker_timeout=2.0,
        quarantine_s=60.0,
        min_time_left_s=2,
    )
    values.update(kw)
    return load_settings(None, **values)


class RelayerThread:
    """A Relayer running its own event loop in a thread: `with RelayerThread(settings) as r: ...`."""

    def __init__(self, settings: RelayerSettings) -> None:
        self.settings = settings
        self.relayer: Relayer | None = None
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.relayer = Relayer(self.settings)
            try:
                await self.relayer.setup()
                self.ready.set()
                await self.relayer.run_forever()
            finally:
                await self.relayer.cleanup()

        try:
            self.loop.run_until_complete(main())
        except BaseException as error:
            self.error = error
        finally:
            self.ready.set()

    def start(self) -> RelayerThread:
        self.thread.start()
        assert self.ready.wait(30), "relayer did not start"
        if self.error:
            raise self.error
        return self

    def stop(self) -> None:
        if self.relayer is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.relayer.stop)
        self.thread.join(30)

    def __enter__(self) -> RelayerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def ended(net: Devnet, ids: list[int]) -> bool:
    ends = net.ends(net.deploy_block)
    return all(i in ends["JobSettled"] or i in ends["JobExpired"] for i in ids)


class BadWorker:
    """Fronts a real worker: same attestation (so it is eligible), tampered or late answers.
    mode: "bad_signature" | "bad_output_hash" | "timeout" | "bad_batch". With `batch_api` it
    also serves POST /jobs/batch (tampering with every result), else only /jobs (the relayer
    falls back to one request per job)."""

    def __init__(self, upstream: str, mode: str, delay: float = 5.0, batch_api: bool = False) -> None:
        self.upstream, self.mode, self.delay, self.batch_api = upstream, mode, delay, batch_api
        self.calls = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        self.loop.run_forever()

    async def _serve(self) -> None:
        client = httpx.AsyncClient(timeout=30)

        async def attestation(request: web.Request) -> web.Response:
            reply = await client.get(f"{self.upstream}/attestation")
            return web.json_response(reply.json())

        def tamper(answer: dict[str, Any]) -> dict[str, Any]:
            if self.mode == "bad_signature":
                sig = bytearray(bytes.fromhex(answer["signature"][2:]))
                sig[5] ^= 0xFF
                answer["signature"] = "0x" + sig.hex()
            elif self.mode == "bad_output_hash":
                answer["output"] = "0x" + json.dumps({"result": "forged"}).encode().hex()
            return answer

        async def jobs(request: web.Request) -> web.Response:
            self.calls += 1
            body = await request.json()
            if self.mode == "timeout":
                await asyncio.sleep(self.delay)
            answer = (await client.post(f"{self.upstream}/jobs", json=body)).json()
            return web.json_response(tamper(answer))

        async def jobs_batch(request: web.Request) -> web.Response:
            body = await request.json()
            self.calls += len(body["jobs"])
            if self.mode == "timeout":
                await asyncio.sleep(self.delay)
            answer = (await client.post(f"{self.upstream}/jobs/batch", json=body)).json()
            answer["results"] = [tamper(r) if "signature" in r else r for r in answer["results"]]
            return web.json_response(answer)

        async def sign_batch(request: web.Request) -> web.Response:
            body = await request.json()
            answer = (await client.post(f"{self.upstream}/sign-batch", json=body)).json()
            if self.mode == "bad_batch" and "signature" in answer:
                sig = bytearray(bytes.fromhex(answer["signature"][2:]))
                sig[5] ^= 0xFF
                answer["signature"] = "0x" + sig.hex()
            return web.json_response(answer)

        app = web.Application()
        app.router.add_get("/attestation", attestation)
        app.router.add_post("/jobs", jobs)
        if self.batch_api:
            app.router.add_post("/jobs/batch", jobs_batch)
        app.router.add_post("/sign-batch", sign_batch)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.ready.set()

    def start(self) -> BadWorker:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def relayer_config(
    net: Devnet, tmp: Path, worker: str, start: int, name: str = "relayer", **overrides: Any
) -> Path:
    """A `pha-relayer run` config file for the devnet (one worker, one confirmation, fast polls,
    database `<name>.db`), with `overrides`; returns its path (`<name>.json`)."""
    cfg = {
        "rpc_urls": [net.url], "escrow": net.escrow.address, "registry": net.registry.address,
        "workers": [worker], "db_path": str(tmp / f"{name}.db"), "start_block": start, "metrics_port": None,
        "confirmations": 1, "poll_interval": 0.3, "min_time_left_s": 2, "log_level": "WARNING", **overrides,
    }  # fmt: skip
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(cfg))
    return path


def spawn_relayer(config: Path, key: str, log: Path) -> subprocess.Popen[bytes]:
    """`pha-relayer run --config` as its own process (as deployed), output appended to `log`."""
    exe = Path(sys.executable).parent / "pha-relayer"
    env = dict(os.environ, PHA_RELAYER_PRIVATE_KEY=key)
    with log.open("ab") as out:
        return subprocess.Popen([str(exe), "run", "--config", str(config)], env=env, stdout=out, stderr=out)


def stop_relayer(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a clean stop), then SIGKILL if it has not stopped within 20 s."""
    stop_process(proc, grace=20)
