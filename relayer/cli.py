"""`pha-relayer`: run the relayer, check its configuration, show its state.

    pha-relayer run --config relayer.toml       (PHA_RELAYER_PRIVATE_KEY in the environment)
    pha-relayer check --config relayer.toml     (settings valid, RPC and workers reachable)
    pha-relayer status --config relayer.toml    (jobs by state, checkpoint, open transactions)
    pha-relayer watch --config relayer.toml [--once]  (attestation expiry / TCB grace; renewals)
    pha-relayer fees --config relayer.toml [--withdraw] [--to 0x...]  (accrued relay fees)
    pha-relayer flush --config relayer.toml [--pool N ...] [--send]  (pool ledgers; pay them once)

check, status, fees, flush and watch --once take --json: one JSON document on stdout (amounts
as wei and PHA strings, times as Unix and ISO; docs/relayer.md). Mistakes are one line on
stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from pha.anvil import PortInUseError, require_free_port
from pha.fmt import amount_json, echo_json, format_pha, json_option
from relayer.chain.rpc import RpcUnavailable
from relayer.settings import RelayerSettings, SettingsError, load_settings

config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML or JSON settings file (PHA_RELAYER_* environment variables override it).",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data)


def setup_logging(settings: RelayerSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("httpx", "httpcore", "urllib3", "web3", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _settings(config: Path | None) -> RelayerSettings:
    try:
        return load_settings(config)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@click.group()
def main() -> None:
    """The PHA relayer: escrow jobs to enclave workers, signed results back to the chain."""


@main.command()
@config_option
def run(config: Path | None) -> None:
    """Run until SIGTERM / SIGINT."""
    from relayer.service import run as run_service

    settings = _settings(config)
    _require_metrics_port(settings)
    setup_logging(settings)
    try:
        asyncio.run(run_service(settings))
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    except RpcUnavailable as error:
        raise click.ClickException(f"{error} (check rpc_urls, or PHA_RELAYER_RPC_URLS)") from None


def _require_metrics_port(settings: RelayerSettings) -> None:
    try:
        require_free_port(
            settings.metrics_host, settings.metrics_port, "metrics_port (PHA_RELAYER_METRICS_PORT)"
        )
    except PortInUseError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@config_option
@json_option
def check(config: Path | None, as_json: bool) -> None:
    """Validate the settings and reach the RPC, the contracts and every worker."""
    settings = _settings(config)
    try:
        report = asyncio.run(_check(settings))
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    problems = report["problems"]
    if as_json:
        echo_json({**report, "ok": not problems})
    else:
        if report["rpc"] is not None:
            rpc, relayer = report["rpc"], report["relayer"]
            click.echo(f"rpc: chain {rpc['chain_id']}, head {rpc['head']}")
            balance = format_pha(int(relayer["balance"]["wei"]), unit="ETH")
            click.echo(f"relayer {relayer['address']}: {balance} for gas")
        for w in report["workers"]:
            click.echo(f"worker {w['url']}: {w['address'] or '-'} {w['reason']}")
    if problems:
        raise click.ClickException("; ".join(problems))
    if not as_json:
        click.echo("ok")


async def _check(settings: RelayerSettings) -> dict[str, Any]:
    """What `check` found: the RPC, the relayer's gas money, every worker, and the problems."""
    from eth_account import Account

    from pha.escrow.typed_data import Domain
    from relayer.chain.rpc import Rpc, RpcUnavailable
    from relayer.workers import WorkerPool

    problems: list[str] = []
    key = settings.key()
    address = Account.from_key(key).address
    escrow, registry, _ = settings.resolved_addresses()
    rpc = Rpc(settings.rpc_urls, settings.rpc_timeout)
    report: dict[str, Any] = {"rpc": None, "relayer": None, "workers": [], "problems": problems}
    try:
        chain_id, head, code, balance = await rpc.run(
            lambda w3: (
                w3.eth.chain_id,
                w3.eth.block_number,
                w3.eth.get_code(escrow),
                w3.eth.get_balance(address),
            )
        )
    except RpcUnavailable as error:
        problems.append(str(error))
        return report
    report["rpc"] = {"chain_id": int(chain_id), "head": int(head)}
    report["relayer"] = {"address": address, "balance": amount_json(balance, name="eth")}
    if settings.chain_id is not None and chain_id != settings.chain_id:
        problems.append(f"chain id {chain_id} != configured {settings.chain_id}")
    if not code:
        problems.append(f"no contract at escrow {escrow}")
    if balance == 0:
        problems.append(f"relayer {address} has no gas money")
    pool = WorkerPool(
        settings.workers, rpc, registry, address, Domain(chain_id, escrow), settings.worker_timeout,
        settings.worker_concurrency, 0, 0,
    )  # fmt: skip
    try:
        await pool.refresh(force=True)
    finally:
        await pool.close()
    for w in pool.workers:
        report["workers"].append(
            {"url": w.url, "address": w.address, "eligible": bool(w.eligible), "reason": w.reason}
        )
        if not w.eligible:
            problems.append(f"worker {w.url}: {w.reason}")
    if not settings.workers:
        problems.append("no workers configured")
    return report


@main.command()
@config_option
@json_option
def status(config: Path | None, as_json: bool) -> None:
    """Jobs by state, the checkpoint and open transactions, from the relayer's database."""
    from relayer.store import OPEN_INTENT, Store

    settings = _settings(config)
    if not settings.db_path.exists():
        raise click.ClickException(f"no database at {settings.db_path}")
    store = Store(settings.db_path)
    try:
        data = {
            "db": str(settings.db_path),
            "deployment": store.get_meta("deployment"),
            "checkpoint": store.checkpoint(),
            "jobs": store.count_by_state(),
            "refused": [{"job_id": job_id, "reason": reason} for job_id, reason in store.refused()],
            "open_txs": [
                {
                    "nonce": i.nonce,
                    "hash": i.tx_hash,
                    "purpose": i.purpose,
                    "jobs": len(i.job_ids),
                    "status": i.status,
                }
                for i in store.intents_in(OPEN_INTENT)
            ],
        }
    finally:
        store.close()
    if as_json:
        echo_json(data)
        return
    click.echo(f"deployment {data['deployment']}, checkpoint {data['checkpoint']}")
    for state, n in sorted(data["jobs"].items()):
        click.echo(f"  {state:<18} {n}")
    if data["refused"]:
        click.echo(f"refused by workers (bad input; the client may cancel): {len(data['refused'])}")
        for item in data["refused"]:
            click.echo(f"  job {item['job_id']}: {item['reason']}")
    click.echo(f"open transactions: {len(data['open_txs'])}")
    for tx in data["open_txs"]:
        click.echo(f"  nonce {tx['nonce']} {tx['hash']} {tx['purpose']} ({tx['jobs']} jobs) {tx['status']}")


@main.command()
@config_option
@click.option("--once", is_flag=True, help="One pass, a block per worker; exit 1 if any warning.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the pass as one JSON document.")
def watch(config: Path | None, once: bool, as_json: bool) -> None:
    """Operator watch: warn before attestations expire or TCB grace closes; renew where configured.

    Without --once it runs until SIGTERM, serving its gauges on metrics_host:metrics_port."""
    from relayer.watch import Watch, assessment_json, describe

    if as_json and not once:
        raise click.ClickException("--json needs --once (the running watch logs and serves metrics)")
    settings = _settings(config)
    setup_logging(settings)
    try:
        _, registry, _ = settings.resolved_addresses()
        w = Watch(settings, registry)
        if not w.watched:
            raise click.ClickException("no workers to watch: set watch_workers (or workers)")
        if once:
            results = w.run_once()
            if as_json:
                echo_json({
                    "workers": [assessment_json(a) for a in results],
                    "unreadable": len(w.watched) - len(results),
                })  # fmt: skip
            for a in [] if as_json else results:
                click.echo(describe(a))
            if len(results) < len(w.watched) or any(a.warnings for a in results):
                sys.exit(1)
            return
        _require_metrics_port(settings)
        asyncio.run(_watch_forever(w, settings))
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


async def _watch_forever(w: Any, settings: RelayerSettings) -> None:
    import signal
    import time

    from relayer.metrics import start_server

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    runner = None
    if settings.metrics_port is not None:

        def health() -> tuple[bool, dict[str, Any]]:
            last = w.last_pass
            ok = bool(last) and time.time() - last < 3 * max(settings.watch_interval_s, 60)
            return ok, {"ok": ok, "last_pass": last, "workers": len(w.watched)}

        runner, _ = await start_server(w.metrics, health, settings.metrics_host, settings.metrics_port)
    try:
        await w.run_forever(stopping, settings.watch_interval_s or 60)
    finally:
        if runner is not None:
            await runner.cleanup()


@main.command()
@config_option
@click.option("--withdraw", is_flag=True, help="Withdraw the accrued relay fees (a transaction).")
@click.option("--to", "to", default=None, help="Pay the fees to this address (default: the relayer).")
@json_option
def fees(config: Path | None, withdraw: bool, to: str | None, as_json: bool) -> None:
    """Relay fees this relayer has earned (JobEscrow pays them on withdrawal, not per settlement)."""
    from relayer.fees import FeesError, relay_fees, withdraw_relay_fees

    settings = _settings(config)
    try:
        owed, withdrawn, address = relay_fees(settings)
        if not as_json:
            click.echo(
                f"relayer {address}: owed {format_pha(owed)}, withdrawn so far {format_pha(withdrawn)}"
            )
        done = None
        if withdraw:
            amount, tx_hash, receiver = withdraw_relay_fees(settings, to)
            done = {"amount": amount_json(amount), "to": receiver, "tx": tx_hash}
            if not as_json:
                click.echo(f"withdrew {format_pha(amount)} to {receiver} (tx {tx_hash})")
    except (SettingsError, FeesError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        echo_json({
            "relayer": address, "owed": amount_json(owed), "withdrawn": amount_json(withdrawn),
            "withdrawal": done,
        })  # fmt: skip


@main.command()
@config_option
@click.option(
    "--pool",
    "pools",
    type=click.IntRange(min=1),
    multiple=True,
    help="A pool id (repeat for several; default: every pool in the relayer's database).",
)
@click.option("--send", is_flag=True, help="Pay the non-empty ledgers: one flushPoolRewards transaction.")
@json_option
def flush(config: Path | None, pools: tuple[int, ...], send: bool, as_json: bool) -> None:
    """Pool ledgers: what single settlements left owed to each pool (reward) and to the protocol
    (fee) until the pool's next batch or a flush; --send pays them once from the relayer's key."""
    from relayer.decide import MAX_FLUSH_POOLS
    from relayer.ledgers import LedgerError, flush_ledgers, known_pools, show_ledgers

    settings = _settings(config)
    try:
        chosen = sorted(set(pools)) or known_pools(settings.db_path)
        if not chosen:
            raise LedgerError(f"the database {settings.db_path} names no pool: name them with --pool")
        if send and len(chosen) > MAX_FLUSH_POOLS:
            raise LedgerError(f"{len(chosen)} pools: one flush takes at most {MAX_FLUSH_POOLS} (use --pool)")
        owed = show_ledgers(settings, chosen)
        if not as_json:
            for pool in chosen:
                reward, fee = owed[pool]
                click.echo(f"pool {pool}: reward {format_pha(reward)}, fee {format_pha(fee)}")
        done = flush_ledgers(settings, chosen) if send else None
        if done is not None and not as_json:
            paid = ", ".join(
                f"pool {p} {format_pha(r)} (fee {format_pha(f)})" for p, (r, f) in done.paid.items()
            )
            click.echo(f"flushed {paid} (tx {done.tx_hash})")
    except (SettingsError, LedgerError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:

        def ledger(pool: int, reward: int, fee: int) -> dict[str, Any]:
            return {"pool_id": pool, "reward": amount_json(reward), "fee": amount_json(fee)}

        flushed = None
        if done is not None:
            flushed = {"tx": done.tx_hash, "paid": [ledger(p, r, f) for p, (r, f) in done.paid.items()]}
        echo_json({"pools": [ledger(p, *owed[p]) for p in chosen], "flushed": flushed})
