"""Governance tasks on the worker registry (run them from the governance account).

    ape run governance allow-measurement --worker-url http://127.0.0.1:8001 --label "pha-worker v1"
    ape run governance allow-measurement --measurement-id 0x... --tee tdx \
        --max-tcb SWHardeningNeeded --grace-days 30
    ape run governance allow-measurement --app-compose app-compose.json --quote quote.hex
        (a dstack app: sha256 of the file is its compose hash; the id is TDXCompose of the quote's
        MRTD/RTMR0..2 and it; --worker-url or --mr-td/--rtmr0..2 may give the registers instead)
    ape run governance set-policy --measurement-id 0x... --max-tcb UpToDate
    ape run governance revoke-measurement --measurement-id 0x...
    ape run governance tolerate-advisory --measurement-id 0x... INTEL-SA-00615 [--off]
    ape run governance set-verifier 0xVerifier [--off]
    ape run governance sweep-fees [--dry-run]     (protocol fees accrued in JobEscrow -> treasury;
                                                   pays pool ledgers first, their fees included)

A policy applies at once to every worker registered with the measurement; revoking makes them
all ineligible in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from pha.cli import ADDRESS, UserError, account_option, network_option, script_session
from pha.fmt import format_pha
from pha.quote.tcb import advisory_id_hash
from pha.registry.actions import WorkerAttestation
from pha.registry.policy import Policy


def _hex32(value: str, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise UserError(f"{what} is not hex") from None
    if len(raw) != 32:
        raise UserError(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


def _measurement(measurement_id: str | None, worker_url: str | None) -> bytes:
    if bool(measurement_id) == bool(worker_url):
        raise UserError("give exactly one of --measurement-id and --worker-url")
    if worker_url:
        return WorkerAttestation.fetch(worker_url).measurement_id
    return _hex32(str(measurement_id), "--measurement-id")


def _registers(
    quote_path: str | None, worker_url: str | None, fields: dict[str, str | None]
) -> tuple[bytes, ...]:
    """MRTD, RTMR0..2 from a quote file, a worker's /attestation quote, or given as options."""
    from pha.quote.errors import QuoteError
    from pha.quote.io import read_quote
    from pha.quote.layout import TeeType, parse_quote

    given = [name for name, value in fields.items() if value]
    if sum((bool(quote_path), bool(worker_url), bool(given))) != 1:
        raise UserError("with --app-compose give the registers: --quote, --worker-url or --mr-td/--rtmr0..2")
    if given:
        if len(given) != 4:
            raise UserError("give all of --mr-td, --rtmr0, --rtmr1, --rtmr2")
        regs = []
        for name, value in fields.items():
            try:
                raw = bytes.fromhex(str(value).removeprefix("0x"))
            except ValueError:
                raise UserError(f"--{name} is not hex") from None
            if len(raw) != 48:
                raise UserError(f"--{name} must be 48 bytes, got {len(raw)}")
            regs.append(raw)
        return tuple(regs)
    try:
        raw_quote = read_quote(quote_path) if quote_path else WorkerAttestation.fetch(str(worker_url)).quote
        parsed = parse_quote(raw_quote)
    except OSError as error:
        raise UserError(f"cannot read {quote_path}: {error.strerror or error}") from None
    except QuoteError as error:
        raise UserError(f"{quote_path or worker_url}: {error}") from None
    if parsed.tee_type != TeeType.TDX:
        raise UserError("a dstack app compose applies to TDX quotes only")
    return tuple(parsed.field(name) for name in ("mr_td", "rt_mr0", "rt_mr1", "rt_mr2"))


def _app_measurement(
    app_compose: str, quote_path: str | None, worker_url: str | None, fields: dict[str, str | None]
) -> tuple[bytes, bytes]:
    """(compose hash, measurement id) of a dstack app: sha256 of the file, TDXCompose of the
    registers and it. A worker that reports another id runs another compose: refused."""
    from pathlib import Path

    from pha.quote.eventlog import compose_hash_of
    from pha.quote.measurement import tdx_measurement_id

    try:
        compose = compose_hash_of(Path(app_compose).read_bytes())
    except OSError as error:
        raise UserError(f"cannot read {app_compose}: {error.strerror or error}") from None
    mid = tdx_measurement_id(*_registers(quote_path, worker_url, fields), compose)
    if worker_url:
        reported = WorkerAttestation.fetch(worker_url).measurement_id
        if reported != mid:
            raise UserError(
                f"the worker reports measurement 0x{reported.hex()}, but {app_compose} gives 0x{mid.hex()}: "
                "it runs another app compose (or none)"
            )
    return compose, mid


def _policy_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--tee", type=click.Choice(["tdx", "sgx"]), default="tdx", show_default=True),
        click.option("--max-tcb", default="SWHardeningNeeded", show_default=True,
                     help="Worst TCB status accepted (UpToDate, SWHardeningNeeded, ...)."),
        click.option("--grace-days", default=0.0, show_default=True,
                     help="Days an OutOfDate platform stays acceptable after its TCB level's date."),
        click.option("--expires-at", default=0, show_default=True,
                     help="Unix time the measurement expires (0: never)."),
        click.option("--allow-debug", is_flag=True, help="Accept DEBUG enclaves (never on a real chain)."),
    ]):  # fmt: skip
        f = option(f)
    return f


def _policy(tee: str, max_tcb: str, grace_days: float, expires_at: int, allow_debug: bool) -> Policy:
    try:
        return Policy.build(tee, max_tcb, grace_days, expires_at, allow_debug)
    except ValueError as error:
        raise UserError(str(error)) from None


@click.group(short_help="Governance: measurements, policies, verifiers")
def cli() -> None:
    """Governance tasks on the worker registry."""


@cli.command("allow-measurement")
@network_option
@account_option
@click.option("--measurement-id", default=None, help="The measurement id (0x + 64 hex).")
@click.option(
    "--worker-url", default=None, help="Read the measurement id from a running worker's /attestation."
)
@_policy_options
@click.option("--label", default="", help="Human-readable name of the build.")
@click.option(
    "--source-commit", default="0x" + "00" * 20, help="Git commit the image was built from (20 bytes)."
)
@click.option("--image-digest", default="0x" + "00" * 32, help="Reproducible image digest (32 bytes).")
@click.option(
    "--app-compose", default=None, help="A dstack app's app-compose.json: allow that app on the image."
)
@click.option(
    "--quote", "quote_path", default=None, help="With --app-compose: a TDX quote giving the registers."
)
@click.option("--mr-td", default=None, help="With --app-compose: MRTD (48 bytes hex).")
@click.option("--rtmr0", default=None)
@click.option("--rtmr1", default=None)
@click.option("--rtmr2", default=None)
def allow_measurement(
    network_choice: str, account_alias: str | None, measurement_id: str | None, worker_url: str | None,
    tee: str, max_tcb: str, grace_days: float, expires_at: int, allow_debug: bool, label: str,
    source_commit: str, image_digest: str, app_compose: str | None, quote_path: str | None,
    mr_td: str | None, rtmr0: str | None, rtmr1: str | None, rtmr2: str | None,
) -> None:  # fmt: skip
    """Allow a measurement with its policy and build metadata."""
    fields = {"mr-td": mr_td, "rtmr0": rtmr0, "rtmr1": rtmr1, "rtmr2": rtmr2}
    with script_session(network_choice, account_alias, ("WorkerRegistry",)) as w:
        if app_compose is None and (quote_path or any(fields.values())):
            raise UserError("--quote and --mr-td/--rtmr0..2 go with --app-compose")
        if app_compose is not None and measurement_id:
            raise UserError("give --app-compose or --measurement-id, not both")
        if app_compose is not None:
            compose, mid = _app_measurement(app_compose, quote_path, worker_url, fields)
            click.echo(f"compose hash 0x{compose.hex()} (sha256 of {app_compose})")
            click.echo(f"measurement  0x{mid.hex()} (TDXCompose: MRTD, RTMR0..2 and the compose hash)")
        else:
            mid = _measurement(measurement_id, worker_url)
        policy = _policy(tee, max_tcb, grace_days, expires_at, allow_debug)
        commit = bytes.fromhex(source_commit.removeprefix("0x"))
        if len(commit) != 20:
            raise UserError("--source-commit must be 20 bytes")
        build = (label, commit, _hex32(image_digest, "--image-digest"))
        w["WorkerRegistry"].allowMeasurement(mid, policy.as_tuple(), build, sender=w["account"])
        click.echo(f"allowed 0x{mid.hex()} ({tee}, max TCB {policy.max_tcb.name}, grace {grace_days:g} days)")


@cli.command("set-policy")
@network_option
@account_option
@click.option("--measurement-id", required=True)
@_policy_options
def set_policy(
    network_choice: str, account_alias: str | None, measurement_id: str, tee: str, max_tcb: str,
    grace_days: float, expires_at: int, allow_debug: bool,
) -> None:  # fmt: skip
    """Replace an allowed measurement's policy (applies to its workers at once)."""
    with script_session(network_choice, account_alias, ("WorkerRegistry",)) as w:
        mid = _hex32(measurement_id, "--measurement-id")
        registry = w["WorkerRegistry"]
        if registry.measurementStatus(mid) != 1:
            raise UserError(f"0x{mid.hex()} is not an allowed measurement")
        policy = _policy(tee, max_tcb, grace_days, expires_at, allow_debug)
        registry.setPolicy(mid, policy.as_tuple(), sender=w["account"])
        click.echo(f"policy of 0x{mid.hex()} set: max TCB {policy.max_tcb.name}, grace {grace_days:g} days")


@cli.command("revoke-measurement")
@network_option
@account_option
@click.option("--measurement-id", required=True)
def revoke_measurement(network_choice: str, account_alias: str | None, measurement_id: str) -> None:
    """Revoke a measurement: every worker running it becomes ineligible at once."""
    with script_session(network_choice, account_alias, ("WorkerRegistry",)) as w:
        mid = _hex32(measurement_id, "--measurement-id")
        registry = w["WorkerRegistry"]
        if registry.measurementStatus(mid) != 1:
            raise UserError(f"0x{mid.hex()} is not an allowed measurement")
        registry.revokeMeasurement(mid, sender=w["account"])
        click.echo(f"revoked 0x{mid.hex()}")


@cli.command("tolerate-advisory")
@network_option
@account_option
@click.option("--measurement-id", required=True)
@click.argument("advisory")
@click.option("--off", is_flag=True, help="Stop tolerating it.")
def tolerate_advisory(
    network_choice: str, account_alias: str | None, measurement_id: str, advisory: str, off: bool
) -> None:
    """Tolerate an Intel advisory (e.g. INTEL-SA-00615) for a measurement."""
    with script_session(network_choice, account_alias, ("WorkerRegistry",)) as w:
        mid = _hex32(measurement_id, "--measurement-id")
        w["WorkerRegistry"].setAdvisoryTolerance(
            mid, advisory_id_hash(advisory), not off, sender=w["account"]
        )
        click.echo(f"{advisory}: {'not ' if off else ''}tolerated for 0x{mid.hex()}")


@cli.command("set-verifier")
@network_option
@account_option
@click.argument("verifier", type=ADDRESS)
@click.option("--off", is_flag=True, help="Remove it from the allow-list.")
def set_verifier(network_choice: str, account_alias: str | None, verifier: str, off: bool) -> None:
    """Allow (or disallow) a quote verifier contract."""
    with script_session(network_choice, account_alias, ("WorkerRegistry",), user_errors=(ValueError,)) as w:
        w["WorkerRegistry"].setVerifier(verifier, not off, sender=w["account"])
        click.echo(f"verifier {verifier}: {'disallowed' if off else 'allowed'}")


@cli.command("sweep-fees")
@network_option
@account_option
@click.option("--dry-run", is_flag=True, help="Only show what is owed to the treasury.")
def sweep_fees(network_choice: str, account_alias: str | None, dry_run: bool) -> None:
    """Pay the escrow's accrued protocol fees to the treasury (anyone may; the treasury usually does).

    Fees of single settlements wait in their pool's ledger: the ledgers holding any are paid
    first (one flushPoolRewards per 100 pools), so the sweep takes them too."""
    from ape.exceptions import ContractLogicError

    from pha.cli import describe_revert
    from pha.escrow import ledger

    with script_session(
        network_choice, account_alias, ("JobEscrow", "Staking"), need_account=not dry_run
    ) as w:
        escrow = w["JobEscrow"]
        treasury = escrow.treasury()
        due = [entry for entry in ledger.unpaid(escrow, int(w["Staking"].poolCount())) if entry.fee]
        pending = sum(entry.fee for entry in due)
        click.echo(
            f"protocol fees owed: {format_pha(int(escrow.feesOwed()))} (treasury {treasury}), "
            f"{format_pha(pending)} more in {len(due)} pool ledger(s)"
        )
        if dry_run:
            return
        if due:
            for line in ledger.flush(escrow, w["account"], due):
                click.echo(line)
        try:
            tx = escrow.sweepProtocolFees(sender=w["account"])
        except ContractLogicError as error:
            if "JobEscrowNothingOwed" in describe_revert(error):
                raise UserError("no protocol fees owed: nothing to sweep") from None
            raise
        swept = sum(int(log.amount) for log in tx.decode_logs(escrow.ProtocolFeesSwept))
        click.echo(f"swept {format_pha(swept)} to {treasury} (tx {tx.txn_hash})")
