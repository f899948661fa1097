"""`pha-quote`: parse, verify, measurement-id, report-data, attest, serve, simulate, event-log
verify, compose-hash, gpu verify / gpu nonce.

Bad input gives one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from pha.quote.errors import QuoteError

KEY_ENV = "PHA_ATTESTER_KEY"


def _read_quote(path: str) -> bytes:
    """A quote file (raw, hex or base64, see pha.quote.io); '-' reads stdin."""
    from pha.quote.io import QuoteInputError, read_quote

    try:
        return read_quote(path)
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror or error}") from None
    except QuoteInputError as error:
        raise click.ClickException(f"{path}: {error}") from None


def _hex(value: str, size: int | None, name: str) -> bytes:
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise click.ClickException(f"{name} is not hex") from None
    if size is not None and len(raw) != size:
        raise click.ClickException(f"{name} must be {size} bytes, got {len(raw)}")
    return raw


def _read_bytes(path: str) -> bytes:
    """A file's bytes ('-' reads stdin); a missing or unreadable file is one line."""
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror or error}") from None


def _read_text(path: str) -> str:
    try:
        return _read_bytes(path).decode()
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text") from None


def _emit(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    width = max(len(k) for k in data)
    for key, value in data.items():
        click.echo(f"{key:<{width}}  {value}")


def _collateral(path: str) -> str:
    from pha.quote.verify import load_collateral_json

    return load_collateral_json(Path(path))


def _now(now: int | None, collateral_json: str, at_issue: bool) -> int | None:
    if at_issue:
        from pha.quote.verify import collateral_window

        return collateral_window(collateral_json)[0] + 60
    return now


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def cli(verbose: bool) -> None:
    """Intel DCAP quote tooling for the PHA L2 stack."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )


@cli.command()
@click.argument("quote_file")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def parse(quote_file: str, as_json: bool) -> None:
    """Parse a quote exactly as the on-chain QuoteParser does; print its fields and measurement id."""
    from pha.quote.layout import parse_quote

    _emit(parse_quote(_read_quote(quote_file)).as_dict(), as_json)


@cli.command()
@click.argument("quote_file")
@click.option("--collateral", "collateral_path", required=True, help="Collateral JSON file.")
@click.option("--now", type=int, default=None, help="Verification time (Unix seconds; default: now).")
@click.option("--at-collateral-issue", is_flag=True, help="Verify just after the collateral was issued.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def verify(
    quote_file: str, collateral_path: str, now: int | None, at_collateral_issue: bool, as_json: bool
) -> None:
    """Verify a quote with dcap-qvl: TCB status and advisory ids."""
    from pha.quote.verify import verify_quote

    collateral = _collateral(collateral_path)
    verdict = verify_quote(_read_quote(quote_file), collateral, _now(now, collateral, at_collateral_issue))
    data = verdict.as_dict()
    if not as_json:
        data["advisory_ids"] = ", ".join(verdict.advisory_ids) or "-"
    _emit(data, as_json)


@cli.command("measurement-id")
@click.argument("quote_file", required=False)
@click.option("--tee", type=click.Choice(["sgx", "tdx"]), help="Compute from fields instead of a quote.")
@click.option("--mr-enclave")
@click.option("--mr-signer")
@click.option("--isv-prod-id", type=int, default=0)
@click.option("--isv-svn", type=int, default=0)
@click.option("--mr-td")
@click.option("--rtmr0")
@click.option("--rtmr1")
@click.option("--rtmr2")
@click.option("--compose-hash", help="TDX: the app's compose hash (32 bytes hex).")
def measurement_id_cmd(
    quote_file: str | None,
    tee: str | None,
    mr_enclave: str | None,
    mr_signer: str | None,
    isv_prod_id: int,
    isv_svn: int,
    mr_td: str | None,
    rtmr0: str | None,
    rtmr1: str | None,
    rtmr2: str | None,
    compose_hash: str | None,
) -> None:
    """Print the measurement id of a quote, or of fields given as options."""
    from pha.quote.layout import parse_quote
    from pha.quote.measurement import sgx_measurement_id, tdx_measurement_id

    compose = _hex(compose_hash, 32, "--compose-hash") if compose_hash else None
    if quote_file:
        mid = parse_quote(_read_quote(quote_file)).measurement_id_with_compose(compose)
    elif tee == "sgx":
        if not (mr_enclave and mr_signer):
            raise click.ClickException("--tee sgx needs --mr-enclave and --mr-signer")
        mid = sgx_measurement_id(
            _hex(mr_enclave, 32, "--mr-enclave"), _hex(mr_signer, 32, "--mr-signer"), isv_prod_id, isv_svn
        )
    elif tee == "tdx":
        if not (mr_td and rtmr0 and rtmr1 and rtmr2):
            raise click.ClickException("--tee tdx needs --mr-td and --rtmr0..2")
        mid = tdx_measurement_id(
            _hex(mr_td, 48, "--mr-td"),
            _hex(rtmr0, 48, "--rtmr0"),
            _hex(rtmr1, 48, "--rtmr1"),
            _hex(rtmr2, 48, "--rtmr2"),
            compose,
        )
    else:
        raise click.ClickException("give a quote file or --tee sgx|tdx with its fields")
    click.echo("0x" + mid.hex())


@cli.command("report-data")
@click.option("--chain-id", type=int, required=True)
@click.option("--registry", required=True, help="WorkerRegistry address.")
@click.option("--signer", required=True, help="The worker's signing address.")
@click.option("--encryption-key", required=True, help="The worker's encryption key (32 bytes hex).")
@click.option("--pool-id", type=int, required=True)
def report_data_cmd(chain_id: int, registry: str, signer: str, encryption_key: str, pool_id: int) -> None:
    """Print the 64-byte report_data binding a worker's quote must carry."""
    from eth_utils import is_address

    from pha.quote.binding import report_data

    for name, value in (("--registry", registry), ("--signer", signer)):
        if not is_address(value):
            raise click.ClickException(f"{name} is not an address")
    click.echo(
        "0x"
        + report_data(chain_id, registry, signer, _hex(encryption_key, 32, "--encryption-key"), pool_id).hex()
    )


MAX_AGE_OPTION = click.option(
    "--max-collateral-age-days",
    type=float,
    default=7.0,
    show_default=True,
    help="Refuse collateral (TCB info, QE identity, PCK CRL) issued longer ago than this.",
)


def _attester(chain_id: int, verifier: str, lifetime: int, max_age_days: float = 7.0) -> Any:
    from eth_utils import is_address

    from pha.quote.attester import Attester

    key = os.environ.get(KEY_ENV)
    if not key:
        raise click.ClickException(f"set {KEY_ENV} to the attester's private key (hex)")
    if not is_address(verifier):
        raise click.ClickException("--verifier is not an address")
    if max_age_days <= 0:
        raise click.ClickException("--max-collateral-age-days must be positive")
    try:
        return Attester(key, chain_id, verifier, lifetime, int(max_age_days * 86400))
    except QuoteError:
        raise
    except (ValueError, TypeError):
        raise click.ClickException(f"{KEY_ENV} is not a private key") from None


@cli.command()
@click.argument("quote_file")
@click.option("--collateral", "collateral_path", required=True, help="Collateral JSON file.")
@click.option("--chain-id", type=int, required=True)
@click.option("--verifier", required=True, help="CommitteeQuoteVerifier address.")
@click.option("--lifetime", type=int, default=24 * 3600, show_default=True, help="Statement lifetime (s).")
@click.option("--now", type=int, default=None, help="Verification time (Unix seconds; default: now).")
@click.option("--at-collateral-issue", is_flag=True, help="Verify just after the collateral was issued.")
@click.option(
    "--event-log", "event_log_path", help="dstack event log (JSON): sign the compose hash it proves."
)
@click.option("--app-compose", "app_compose_path", help="With --event-log: the app-compose.json to check.")
@MAX_AGE_OPTION
def attest(
    quote_file: str,
    collateral_path: str,
    chain_id: int,
    verifier: str,
    lifetime: int,
    now: int | None,
    at_collateral_issue: bool,
    event_log_path: str | None,
    app_compose_path: str | None,
    max_collateral_age_days: float,
) -> None:
    """Verify a quote with dcap-qvl and print this attester's signed statement (JSON).

    The key comes from the environment variable PHA_ATTESTER_KEY.
    """
    attester = _attester(chain_id, verifier, lifetime, max_collateral_age_days)
    collateral = _collateral(collateral_path)
    signed = attester.attest(
        _read_quote(quote_file),
        collateral,
        _now(now, collateral, at_collateral_issue),
        None if event_log_path is None else _read_text(event_log_path),
        None if app_compose_path is None else _read_text(app_compose_path),
    )
    click.echo(json.dumps(signed.as_json(), indent=2))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8090, show_default=True)
@click.option("--chain-id", type=int, required=True)
@click.option("--verifier", required=True, help="CommitteeQuoteVerifier address.")
@click.option("--lifetime", type=int, default=24 * 3600, show_default=True)
@click.option("--pccs-url", default=None, help="Fetch collateral here when a request carries none.")
@click.option(
    "--gpu-rim",
    "gpu_rim_dir",
    default=None,
    help="Driver + VBIOS RIMs for GPU evidence (else simulated only).",
)
@click.option(
    "--gpu-revoked", "gpu_revoked_file", default=None, help="GPU revocation list JSON (see docs/gpu.md)."
)
@MAX_AGE_OPTION
def serve(
    host: str,
    port: int,
    chain_id: int,
    verifier: str,
    lifetime: int,
    pccs_url: str | None,
    gpu_rim_dir: str | None,
    gpu_revoked_file: str | None,
    max_collateral_age_days: float,
) -> None:
    """Run the attester HTTP service (POST /attest, POST /attest-gpu, GET /health)."""
    from aiohttp import web

    from pha.gpu.attest import GpuTrust
    from pha.gpu.certs import RevocationList
    from pha.quote.service import make_app, pccs_provider

    attester = _attester(chain_id, verifier, lifetime, max_collateral_age_days)
    if gpu_rim_dir is not None and not Path(gpu_rim_dir).is_dir():
        raise click.ClickException(f"--gpu-rim {gpu_rim_dir} is not a directory")
    revoked = None
    if gpu_revoked_file is not None:
        revoked = RevocationList.from_json(_read_bytes(gpu_revoked_file), gpu_revoked_file)
    trust = GpuTrust.from_rim_dir(None if gpu_rim_dir is None else Path(gpu_rim_dir), revoked)
    app = make_app(attester, pccs_provider(pccs_url) if pccs_url else None, gpu_trust=trust)
    web.run_app(app, host=host, port=port, print=None)


@cli.command()
@click.option("--mr-td", required=True)
@click.option("--rtmr0", required=True)
@click.option("--rtmr1", required=True)
@click.option("--rtmr2", required=True)
@click.option("--rtmr3", default="00" * 48, show_default=False)
@click.option("--report-data", "report_data_hex", required=True, help="64 bytes hex.")
@click.option("--debug", is_flag=True, help="Set the DEBUG bit (refused on non-local chains).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write raw bytes here (default: hex to stdout).",
)
def simulate(
    mr_td: str,
    rtmr0: str,
    rtmr1: str,
    rtmr2: str,
    rtmr3: str,
    report_data_hex: str,
    debug: bool,
    out: str | None,
) -> None:
    """Build a simulated TDX v4 quote signed by the public development key (local chains only)."""
    from pha.quote.dev import simulated_tdx_quote

    quote = simulated_tdx_quote(
        mr_td=_hex(mr_td, 48, "--mr-td"),
        rt_mr0=_hex(rtmr0, 48, "--rtmr0"),
        rt_mr1=_hex(rtmr1, 48, "--rtmr1"),
        rt_mr2=_hex(rtmr2, 48, "--rtmr2"),
        rt_mr3=_hex(rtmr3, 48, "--rtmr3"),
        report_data=_hex(report_data_hex, 64, "--report-data"),
        debug=debug,
    )
    if out:
        Path(out).write_bytes(quote)
    else:
        click.echo("0x" + quote.hex())


@cli.group("event-log")
def event_log_group() -> None:
    """dstack RTMR event logs: replay them against a quote."""


@event_log_group.command("verify")
@click.argument("quote_file")
@click.argument("log_file")
@click.option(
    "--app-compose", "app_compose_path", help="app-compose.json: its sha256 must be the compose hash."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def event_log_verify(quote_file: str, log_file: str, app_compose_path: str | None, as_json: bool) -> None:
    """Replay LOG_FILE (dstack's event_log JSON, or a tcb_info JSON holding it) against the quote's
    RTMR0..3 and print the app it proves with its measurement id. Exit 1 with the reason if refused.

    The quote's signature is not checked here (use `pha-quote verify`)."""
    from pha.quote.eventlog import parse_event_log, verify_event_log
    from pha.quote.layout import parse_quote

    parsed = parse_quote(_read_quote(quote_file))
    events = parse_event_log(_read_bytes(log_file))
    app_compose = None if app_compose_path is None else _read_text(app_compose_path)
    identity = verify_event_log(events, parsed, app_compose).as_json()
    if not as_json:
        for i, register in enumerate(identity.pop("rtmr")):
            identity[f"rtmr{i}"] = register
        kp = identity.pop("key_provider")
        identity["key_provider"] = "-" if kp is None else f"{kp['name']} {kp['id']}"
        identity = {k: "-" if v is None else v for k, v in identity.items()}
    _emit(identity, as_json)


@cli.command("compose-hash")
@click.argument("compose_file")
@click.option("--quote", "quote_file", help="A TDX quote of the image: also print the app measurement id.")
def compose_hash_cmd(compose_file: str, quote_file: str | None) -> None:
    """Print sha256 of an app-compose.json exactly as dstack measures it (the file's bytes)."""
    from pha.quote.eventlog import compose_hash_of
    from pha.quote.layout import parse_quote

    compose = compose_hash_of(_read_bytes(compose_file))
    click.echo(f"compose_hash    0x{compose.hex()}")
    if quote_file:
        mid = parse_quote(_read_quote(quote_file)).measurement_id_with_compose(compose)
        click.echo(f"measurement_id  0x{mid.hex()}")


from pha.gpu.cli import gpu_group  # noqa: E402  (after the group it joins)

cli.add_command(gpu_group)


def main() -> None:
    """Console entry point: QuoteError -> one line on stderr, exit 1."""
    try:
        cli.main(standalone_mode=False)
    except click.ClickException as error:
        click.echo(f"pha-quote: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("pha-quote: aborted", err=True)
        sys.exit(1)
    except QuoteError as error:
        click.echo(f"pha-quote: {error}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
