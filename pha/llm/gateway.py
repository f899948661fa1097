"""`pha-gateway`: an OpenAI-compatible endpoint on localhost whose every request is a confidential job.

    PHA_GATEWAY_PRIVATE_KEY=0x… pha-gateway --manifest deployments/base-devnet.json --pool 1 \\
        [--rpc-url http://127.0.0.1:8545] [--payment 1] [--relay-fee 0.1] [--model-digest 0x…] [--port 8400]

    GET  /v1/models            the pool's model ("default", or the pinned digest's name)
    POST /v1/chat/completions  checked (pha.llm.request), encrypted to an eligible worker of the
                               pool, posted and paid with the gateway's key, waited for, proven
                               and decrypted (pha.llm.client); the answer is the signed
                               chat.completion plus "job_id" and "verification"

Errors are OpenAI-shaped ({"error": {"message", "type", "code"}}): 400 for a request a worker
would refuse (or streaming), 401 without the API key when one is set, 502 for an answer that
does not verify, 503 when no job could be run, 504 when no answer came in time. It listens on
loopback only: it spends its key for whoever can reach it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from aiohttp import web

from pha.llm.client import ChatJobError, Poster, run_chat_job, web3_poster
from pha.llm.proof import ChainView
from pha.llm.request import DEFAULT_MODEL, ChatRequestError, parse_chat_request
from pha.llm.result import ChatVerificationError, normalise_digest

log = logging.getLogger("pha.gateway")
KEY_ENV = "PHA_GATEWAY_PRIVATE_KEY"
API_KEY_ENV = "PHA_GATEWAY_API_KEY"
MAX_BODY_BYTES = 64 * 1024


@dataclass
class GatewayConfig:
    pool_id: int
    payment: int
    relay_fee: int = 0
    deadline_in: int = 600
    timeout: float = 300.0
    model_digest: str | None = None
    api_key: str | None = None
    chat_dir: Path | None = None


class Gateway:
    """The HTTP app around one chain view, one paying account and one pool."""

    def __init__(self, view: ChainView, account: Any, config: GatewayConfig) -> None:
        self.view, self.config = view, config
        post = web3_poster(view, account)
        lock = threading.Lock()  # one post at a time: the account's nonces

        def locked(job: Any, payment: int) -> tuple[int, int]:
            with lock:
                return post(job, payment)

        self.post: Poster = locked

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.completions)
        return app

    def _authorised(self, request: web.Request) -> bool:
        key = self.config.api_key
        return key is None or request.headers.get("Authorization") == f"Bearer {key}"

    async def models(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return error(401, "a valid API key is required (Authorization: Bearer …)", "invalid_api_key")
        entry = {
            "id": DEFAULT_MODEL,
            "object": "model",
            "owned_by": f"pha pool {self.config.pool_id}",
            "model_digest": self.config.model_digest,
        }
        return web.json_response({"object": "list", "data": [entry]})

    async def completions(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return error(401, "a valid API key is required (Authorization: Bearer …)", "invalid_api_key")
        try:
            body = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return error(400, f"the body is not JSON: {exc}")
        if isinstance(body, dict) and body.get("stream"):
            return error(400, "streaming is not supported: a confidential job answers once, verified")
        if isinstance(body, dict) and body.get("stream") is False:
            body = {k: v for k, v in body.items() if k != "stream"}
        try:
            chat = parse_chat_request(body)
        except ChatRequestError as exc:
            return error(400, str(exc))
        c = self.config
        try:
            verification = await asyncio.to_thread(
                run_chat_job, self.view, self.post, chat, c.pool_id, c.payment, c.relay_fee,
                c.deadline_in, c.timeout, c.model_digest, c.chat_dir,
            )  # fmt: skip
        except ChatVerificationError as exc:
            return error(502, f"the answer does not verify: {exc}", "unverifiable")
        except ChatJobError as exc:
            status = 504 if "no answer after" in str(exc) else 503
            return error(status, str(exc), "job_failed")
        facts = verification.facts()
        log.info("job %d answered by %s, verified", facts["job_id"], facts["worker"])
        return web.json_response(
            {**verification.proof.response, "job_id": facts["job_id"], "verification": facts}
        )


def error(status: int, message: str, code: str = "invalid_request") -> web.Response:
    kind = "invalid_request_error" if status == 400 else "api_error"
    return web.json_response({"error": {"message": message, "type": kind, "code": code}}, status=status)


def require_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise click.ClickException(
            f"--host {host} is not a loopback address: the gateway pays for whoever reaches it, "
            "so it serves this machine only"
        )


class GatewayThread:
    """The gateway served from a thread of this process (tests, the demo): `.url` once started."""

    def __init__(self, gateway: Gateway, host: str = "127.0.0.1", port: int = 0) -> None:
        self.gateway, self.host, self.port = gateway, host, port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, name="pha-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._runner = web.AppRunner(self.gateway.app(), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port)
            await site.start()
            self.port = self._runner.addresses[0][1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def __enter__(self) -> GatewayThread:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the gateway did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(15)


def _pha(text: str, name: str) -> int:
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text) * 10**18
    except InvalidOperation:
        raise click.ClickException(f"{name} must be a number of PHA, got {text!r}") from None
    if value < 0 or value != value.to_integral_value():
        raise click.ClickException(f"{name} must be a non-negative amount with at most 18 decimals")
    return int(value)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Deploy manifest (deployments/<ecosystem>-<network>.json): the escrow, registry and token.",
)
@click.option(
    "--rpc-url", default="http://127.0.0.1:8545", show_default=True, help="The chain's JSON-RPC URL."
)
@click.option(
    "--pool", "pool_id", type=click.IntRange(min=0), required=True, help="Staking pool to run jobs."
)
@click.option("--payment", default="1", show_default=True, help="PHA paid per request.")
@click.option("--relay-fee", default="0.1", show_default=True, help="Relay fee in PHA (part of the payment).")
@click.option("--model-digest", default=None, help="Pin the model: sha256 of its GGUF file (0x-hex).")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for each answer.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=8400, show_default=True, help="Port to listen on.")
def main(
    manifest: Path,
    rpc_url: str,
    pool_id: int,
    payment: str,
    relay_fee: str,
    model_digest: str | None,
    timeout: float,
    host: str,
    port: int,
) -> None:
    """Serve /v1/chat/completions and /v1/models on localhost; each request a confidential job.
    The paying key comes from PHA_GATEWAY_PRIVATE_KEY; PHA_GATEWAY_API_KEY, when set, is the
    bearer token clients must send."""
    from eth_account import Account
    from web3 import HTTPProvider, Web3

    from pha.manifest import ManifestError, load_manifest

    require_loopback(host)
    key = os.environ.get(KEY_ENV)
    if not key:
        raise click.ClickException(f"set {KEY_ENV} to the key that pays for the jobs")
    try:
        account = Account.from_key(key)
    except (ValueError, TypeError):
        raise click.ClickException(f"{KEY_ENV} is not a private key") from None
    amount, fee = _pha(payment, "--payment"), _pha(relay_fee, "--relay-fee")
    if amount == 0 or fee > amount:
        raise click.ClickException("--payment must be above 0 PHA and at least --relay-fee")
    try:
        digest = None if model_digest is None else normalise_digest(model_digest)
        deployment = load_manifest(manifest)
        addresses = [deployment.address(n) for n in ("JobEscrow", "WorkerRegistry", "PHAToken")]
    except (ValueError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from None
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    try:
        chain_id = int(w3.eth.chain_id)
    except Exception as exc:  # any connection failure: one line
        raise click.ClickException(f"cannot reach the chain at {rpc_url}: {exc}") from None
    if chain_id != deployment.chain_id:
        raise click.ClickException(
            f"the manifest is for chain {deployment.chain_id}, {rpc_url} is chain {chain_id}"
        )
    view = ChainView(w3, addresses[0], addresses[1], deployment.deploy_block, addresses[2])
    config = GatewayConfig(
        pool_id, amount, fee, timeout=timeout, model_digest=digest, api_key=os.environ.get(API_KEY_ENV)
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    log.info("paying from %s for pool %d; http://%s:%d/v1", account.address, pool_id, host, port)
    web.run_app(Gateway(view, account, config).app(), host=host, port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
