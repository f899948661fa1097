"""`pha-worker`: the reference enclave worker's command line."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from pha.anvil import PortInUseError, require_free_port
from worker.attestation import AttestationError
from worker.settings import WorkerSettings

log = logging.getLogger("worker")


@click.group()
def main() -> None:
    """PHA enclave worker (reference TEE app). Options also come from PHA_WORKER_* variables."""


@main.command()
@click.option("--host", help="Listen address (PHA_WORKER_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Listen port, 0 for any free one (PHA_WORKER_PORT, default 8090).")
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Deploy manifest (deployments/<ecosystem>-<network>.json from `ape run deploy`): gives "
    "--chain-id, --registry and --escrow; options given as well take precedence.",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file of settings (the option names with underscores; a [chat] table for the chat "
    "handler): over the manifest, under the options given.",
)
@click.option("--chain-id", type=int, help="Chain id the quote binds (PHA_WORKER_CHAIN_ID).")
@click.option("--registry", help="WorkerRegistry address the quote binds (PHA_WORKER_REGISTRY).")
@click.option("--pool-id", type=int, help="Staking pool the quote binds (PHA_WORKER_POOL_ID).")
@click.option("--escrow", help="JobEscrow address: the EIP-712 verifyingContract (PHA_WORKER_ESCROW).")
@click.option("--dstack-endpoint", help="dstack guest agent (http URL or socket path).")
@click.option("--simulate", is_flag=True, default=None, help="Use the quote simulator even inside dstack.")
@click.option("--code-identity", help="Seed of the simulator's default measurements.")
@click.option("--mrtd", help="Simulated MRTD (48-byte hex).")
@click.option("--rtmr0", help="Simulated RTMR0 (48-byte hex).")
@click.option("--rtmr1", help="Simulated RTMR1 (48-byte hex).")
@click.option("--rtmr2", help="Simulated RTMR2 (48-byte hex).")
@click.option(
    "--app-compose",
    help="Simulator: emulate a dstack app with this app-compose.json (a 0.5.x RTMR3 log, the "
    "compose measurement id) (PHA_WORKER_APP_COMPOSE).",
)
@click.option(
    "--handler", "handlers", multiple=True, help="Extra handler: module:function or name=module:function."
)
@click.option("--chat-engine-url", help="Chat handler: the inference engine's OpenAI-compatible URL.")
@click.option("--chat-model", help="Chat handler: the served model's name.")
@click.option("--chat-model-digest", help="Chat handler: sha256 of the model file (0x-hex).")
@click.option("--chat-model-file", help="Chat handler: the model file, hashed at start against the digest.")
@click.option("--chat-max-tokens", type=int, help="Chat handler: most tokens per answer (default 256).")
@click.option("--chat-timeout", type=float, help="Chat handler: seconds the engine has per request (20).")
@click.option("--log-level", help="DEBUG, INFO, WARNING (PHA_WORKER_LOG_LEVEL).")
def serve(**options: Any) -> None:
    """Generate keys, get a quote binding them, serve the worker API until SIGTERM/SIGINT."""
    manifest, config = options.pop("manifest"), options.pop("config")
    chat = {
        key.removeprefix("chat_"): options.pop(key)
        for key in list(options)
        if key.startswith("chat_") and options[key] is not None
    }
    given = {key: value for key, value in options.items() if value not in (None, ())}
    if config is not None:
        from_file = _from_config(config)
        chat = {**from_file.pop("chat", {}), **chat}
        given = {**from_file, **given}
    if manifest is not None:
        given = {**_from_manifest(manifest), **given}
    if chat:
        given["chat"] = chat
    if "handlers" in given:
        given["handlers"] = list(given["handlers"])
    try:
        settings = WorkerSettings(**given)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}".replace("Value error, ", "")
            for e in error.errors()
        )
        raise click.ClickException(f"bad configuration: {problems}") from None
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from worker.server import build_state, run_server

    try:
        require_free_port(settings.host, settings.port, "--port (PHA_WORKER_PORT)")
    except PortInUseError as error:
        raise click.ClickException(str(error)) from None
    try:
        state = build_state(settings)
    except (AttestationError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    asyncio.run(_serve(state, run_server))


def _from_config(path: Path) -> dict[str, Any]:
    """The settings of a TOML config file; a missing or malformed one is one line."""
    try:
        values = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise click.ClickException(f"no config file at {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{path} is not valid TOML: {error}") from None
    chat = values.get("chat", {})
    if not isinstance(chat, dict):
        raise click.ClickException(f"{path}: chat must be a table ([chat])")
    return {key.replace("-", "_"): value for key, value in values.items()}


def _from_manifest(path: Path) -> dict[str, Any]:
    """chain_id, registry and escrow of a deployment, from its manifest; a bad file is one line."""
    from pha.manifest import ManifestError, load_manifest

    try:
        manifest = load_manifest(path)
        return {
            "chain_id": manifest.chain_id,
            "registry": manifest.address("WorkerRegistry"),
            "escrow": manifest.address("JobEscrow"),
        }
    except ManifestError as error:
        raise click.ClickException(str(error)) from None


async def _serve(state: Any, run_server: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_server(state, stop)


if __name__ == "__main__":
    main()
