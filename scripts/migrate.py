"""The 1:1 parachain-to-ERC-20 migration (see docs/migration.md).

    ape run migrate build --export accounts.json [--protocol-accounts pools.txt] --out snap.json
    ape run migrate build --pairs system_account_pairs.json --out snap.json
    ape run migrate build --state state_dump_or_chain_spec.json --out snap.json
    ape run migrate deploy --snapshot snap.json --network ... [--closes-in-days 90]
    ape run migrate push --snapshot snap.json --bindings bindings.jsonl [--batch-size 200] [--dry-run]
    ape run migrate status | reconcile | audit --snapshot snap.json --bindings bindings.jsonl [--json]
    ape run migrate synth --accounts 100000 --seed 1 --out export.jsonl      (synthetic snapshot)
    ape run migrate synth-bindings --accounts 100000 --seed 1 --out bindings.jsonl --network ...

push resumes from on-chain state: kill it at any point and run it again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from eth_utils import is_address

from pha.cli import ADDRESS, account_option, connected, current_manifest_path, network_option, resolve_account
from pha.fmt import echo_json, format_time, json_option, percent, time_json
from pha.manifest import ManifestError, load_manifest
from pha.migration import PHALA_SS58_FORMAT, format_planck, planck_json

DEFAULT_SNAPSHOT = "migration-data/snapshot.json"

snapshot_option = click.option(
    "--snapshot",
    "snapshot_path",
    type=click.Path(path_type=Path),
    default=DEFAULT_SNAPSHOT,
    show_default=True,
    help="Built snapshot (from `migrate build`).",
)
bindings_option = click.option(
    "--bindings",
    "bindings_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Holders' bindings (.json or .jsonl).",
)
migrator_option = click.option(
    "--migrator", type=ADDRESS, default=None, help="Migrator address (default: the manifest's)."
)
manifest_option = click.option(
    "--manifest",
    "manifest_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Deployment manifest (default: deployments/<ecosystem>-<network>.json).",
)
rpc_option = click.option(
    "--rpc-url", default=None, help="Node URL for the network's provider (e.g. a devnet)."
)


def _connect(network_choice: str, rpc_url: str | None) -> Any:
    return connected(network_choice, uri=rpc_url) if rpc_url else connected(network_choice)


def _snapshot(path: Path) -> Any:
    from pha.migration.snapshot import Snapshot, SnapshotError

    try:
        return Snapshot.load(path)
    except SnapshotError as error:
        raise click.ClickException(str(error)) from None


def _manifest(manifest_file: Path | None) -> tuple[Any, Path]:
    from ape import chain

    path = manifest_file or current_manifest_path()
    try:
        manifest = load_manifest(path)
    except ManifestError as error:
        raise click.ClickException(str(error)) from None
    if manifest.chain_id != chain.provider.chain_id:
        raise click.ClickException(f"{path} is for chain {manifest.chain_id}, not {chain.provider.chain_id}")
    return manifest, path


def _client(migrator: str | None, manifest_file: Path | None) -> Any:
    from pha.migration.chain import MigratorClient

    if migrator is None:
        manifest, _ = _manifest(manifest_file)
        try:
            migrator = manifest.address("Migrator")
        except ManifestError as error:
            raise click.ClickException(f"{error}: run `ape run migrate deploy` first") from None
    from ape import chain

    if not is_address(migrator):
        raise click.ClickException(f"--migrator {migrator!r} is not an address")
    if not chain.provider.get_code(migrator):
        raise click.ClickException(f"no contract at {migrator} on chain {chain.provider.chain_id}")
    return MigratorClient.at(migrator)


def _bindings(path: Path, snapshot: Any, client: Any) -> Any:
    """Verified bindings for this chain and migrator. A file none of whose records verifies is a
    mistake (another chain's or migrator's file, the wrong file): one-line error. Some rejected
    records are normal (holders' mistakes): they are listed and stay pending."""
    from ape import chain

    from pha.migration.bindings import iter_bindings, verify_bindings
    from pha.migration.snapshot import SnapshotError

    chain_id = chain.provider.chain_id
    try:
        bindings = verify_bindings(
            iter_bindings(path), chain_id, client.address, set(snapshot.by_pubkey()), snapshot.ss58_format
        )
    except SnapshotError as error:
        raise click.ClickException(f"bindings: {error}") from None
    except (FileNotFoundError, IsADirectoryError):
        raise click.ClickException(f"bindings: no such file {path}") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"bindings: {path} is not a text file") from None
    if bindings.rejected and not bindings.valid:
        first = bindings.rejected[0]
        raise click.ClickException(
            f"none of the {len(bindings.rejected):,} bindings in {path.name} verifies for chain {chain_id} "
            f"and migrator {client.address}; first: {first.where}: {first.reason}"
        )
    return bindings


def _deploy_block(client: Any, manifest_file: Path | None) -> int:
    try:
        manifest, _ = _manifest(manifest_file)
        entry = manifest.contracts.get("Migrator")
        if entry is not None and entry.address.lower() == client.address.lower():
            return entry.block
    except click.ClickException:
        pass
    return 0


def _reconcile(snapshot: Any, bindings: Any, client: Any, out: Path | None, as_json: bool = False) -> dict:
    from pha.migration.reconcile import reconcile, render, write_report

    state = client.state()
    claimed = client.claimed(snapshot.count) if int(state.predecessor, 16) else None
    report = reconcile(snapshot, bindings, client.bitmap(snapshot.count), state, claimed)
    if out is not None:
        write_report(report, out)
    if as_json:
        echo_json(report)
        return report
    click.echo(render(report))
    if out is not None:
        click.echo(f"report: {out}")
    return report


@click.group(short_help="Parachain-to-ERC-20 migration: build, deploy, push, reconcile, audit")
def cli() -> None:
    """The 1:1 parachain PHA migration."""


@cli.command(
    short_help="Build the snapshot (leaves, Merkle root) from an export, storage pairs or a state dump"
)
@click.option("--export", "export_path", type=click.Path(exists=True, path_type=Path), default=None)
@click.option(
    "--pairs",
    "pairs_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="System.Account storage pairs only (getPairs / queryStorageAt, JSON-RPC reply or not).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Whole-state dump or raw chain spec: System.Account pairs kept, others ignored (counted).",
)
@click.option(
    "--protocol-accounts",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Accounts whose stake the export attributes to owners (excluded).",
)
@click.option("--ss58-format", default=PHALA_SS58_FORMAT, show_default=True, type=int)
@click.option(
    "--previous",
    "previous_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Snapshot of the Migrator this one will replace: keep its leaf indices, append new accounts.",
)
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_SNAPSHOT, show_default=True)
def build(
    export_path: Path | None,
    pairs_path: Path | None,
    state_path: Path | None,
    protocol_accounts: Path | None,
    ss58_format: int,
    previous_path: Path | None,
    out: Path,
) -> None:
    from pha.migration.snapshot import SnapshotError, build_snapshot, read_account_list

    inputs = [p for p in (export_path, pairs_path, state_path) if p is not None]
    if len(inputs) != 1:
        raise click.ClickException("give exactly one of --export, --pairs or --state")
    started = time.monotonic()
    try:
        holdings, source, ignored = _read_holdings(export_path, pairs_path, state_path, ss58_format)
        protocol = read_account_list(protocol_accounts, ss58_format) if protocol_accounts else []
        previous = _snapshot(previous_path) if previous_path is not None else None
        snapshot = build_snapshot(
            holdings, protocol, ss58_format, source, previous=previous, ignored_pairs=ignored
        )
    except SnapshotError as error:
        raise click.ClickException(str(error)) from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{inputs[0]} is not a text (JSON) file") from None
    except OSError as error:
        raise click.ClickException(f"cannot read {error.filename}: {error.strerror or error}") from None
    snapshot.save(out)
    _print_build(snapshot)
    click.echo(f"snapshot: {out}  ({time.monotonic() - started:.1f} s)")


def _read_holdings(
    export_path: Path | None, pairs_path: Path | None, state_path: Path | None, ss58_format: int
) -> tuple[list[Any], str, int]:
    """(holdings, source description, pairs ignored) from the one input given."""
    from pha.migration.snapshot import read_export, read_state, read_storage_pairs

    if export_path is not None:
        return read_export(export_path, ss58_format), f"export {export_path.name}", 0
    if pairs_path is not None:
        return read_storage_pairs(pairs_path), f"storage pairs {pairs_path.name}", 0
    assert state_path is not None
    read = read_state(state_path)
    return read.holdings, f"state {state_path.name} ({read.shape})", read.ignored


EMPTY_SHOWN = 10


def _listed(snapshot: Any) -> str:
    """': addr, addr, ...' for the first empty accounts (all are in the snapshot file)."""
    if not snapshot.empty:
        return ""
    shown = ", ".join(snapshot.address(k) for k in snapshot.empty[:EMPTY_SHOWN])
    rest = len(snapshot.empty) - EMPTY_SHOWN
    return f": {shown}" + (f" (+{rest:,} more in the snapshot file)" if rest > 0 else "")


def _print_build(snapshot: Any) -> None:
    click.echo(f"source     {snapshot.source}")
    click.echo(f"accounts   {snapshot.count:,}")
    click.echo(f"total      {format_planck(snapshot.total)}")
    click.echo(
        f"excluded   {len(snapshot.excluded):,} accounts, {format_planck(snapshot.excluded_total)} "
        "(never minted)"
    )
    click.echo(
        f"empty      {len(snapshot.empty):,} accounts with zero balance (not leaves){_listed(snapshot)}"
    )
    click.echo(f"ignored    {snapshot.ignored_pairs:,} storage pairs outside System.Account")
    click.echo(f"root       0x{snapshot.root.hex()}")


@cli.command(short_help="Deploy the Migrator for a snapshot and add it to the manifest")
@snapshot_option
@network_option
@account_option
@rpc_option
@manifest_option
@click.option("--closes-in-days", default=90.0, show_default=True, help="Window before the admin may close.")
@click.option("--operator", default=None, help="Migration operator (default: the deployer).")
@click.option("--admin", type=ADDRESS, default=None, help="Migrator admin (default: the token's admin).")
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the manifest's Migrator (another snapshot, or the same one anew): the old one "
    "loses MINTER_ROLE for good and what it paid stays paid.",
)
@click.option(
    "--previous-snapshot",
    "previous_path",
    type=click.Path(path_type=Path),
    default=None,
    help="With --replace: the snapshot of the Migrator being replaced (checked against its root).",
)
def deploy(
    snapshot_path: Path,
    network_choice: str,
    account_alias: str | None,
    rpc_url: str | None,
    manifest_file: Path | None,
    closes_in_days: float,
    operator: str | None,
    admin: str | None,
    replace: bool,
    previous_path: Path | None,
) -> None:
    from ape import chain

    from pha.migration.deploy import MigratorDeployError, deploy_migrator, migrator_params

    snapshot = _snapshot(snapshot_path)
    previous = _snapshot(previous_path) if previous_path is not None else None
    if replace and previous is None:
        raise click.ClickException("--replace needs --previous-snapshot (the replaced Migrator's snapshot)")
    with _connect(network_choice, rpc_url):
        deployer = resolve_account(account_alias)
        manifest, path = _manifest(manifest_file)
        if "PHAToken" not in manifest.contracts:
            raise click.ClickException("the manifest has no PHAToken: run `ape run deploy` first")
        if operator is None and "PHATimelock" in manifest.contracts:
            raise click.ClickException(
                "PHATimelock governs this deployment: name the migration operator with --operator "
                "(it pushes the snapshot's leaves; it is not the deployer by default here)"
            )
        closes_at = int(chain.pending_timestamp + closes_in_days * 86400)
        params = migrator_params(snapshot, closes_at, operator or str(deployer.address))
        if admin is not None and not is_address(admin):
            raise click.ClickException(f"--admin {admin!r} is not an address")
        if operator is not None and not is_address(operator):
            raise click.ClickException(f"--operator {operator!r} is not an address")
        try:
            migrator, fresh = deploy_migrator(
                deployer,
                manifest,
                path,
                params,
                admin,
                replace=replace,
                snapshot=snapshot,
                previous_snapshot=previous,
            )
        except MigratorDeployError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Migrator {migrator.address}  ({'deployed' if fresh else 'attached'})")
        click.echo(f"manifest: {path}")


@cli.command(short_help="Push bound accounts in batches (resumes from on-chain state)")
@snapshot_option
@bindings_option
@network_option
@account_option
@rpc_option
@manifest_option
@migrator_option
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 1000))
@click.option("--dry-run", is_flag=True, help="Plan and simulate the first batch; send nothing.")
@click.option(
    "--max-in-flight",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Batches broadcast before waiting for the oldest receipt (1: one at a time).",
)
@click.option(
    "--report", "report_path", type=click.Path(path_type=Path), default=None, help="Write the JSON report."
)
@click.option("--no-progress", is_flag=True)
def push(
    snapshot_path: Path,
    bindings_path: Path,
    network_choice: str,
    account_alias: str | None,
    rpc_url: str | None,
    manifest_file: Path | None,
    migrator: str | None,
    batch_size: int,
    dry_run: bool,
    max_in_flight: int,
    report_path: Path | None,
    no_progress: bool,
) -> None:
    from pha.migration.push import PushError
    from pha.migration.push import push as do_push

    snapshot = _snapshot(snapshot_path)
    with _connect(network_choice, rpc_url):
        sender = resolve_account(account_alias, signs=not dry_run)  # unlocked for every batch: see --help
        client = _client(migrator, manifest_file)
        bindings = _bindings(bindings_path, snapshot, client)
        click.echo(f"bindings: {len(bindings.valid):,} valid, {len(bindings.rejected):,} rejected")
        for r in bindings.rejected[:10]:
            click.echo(f"  rejected {r.where} ({r.account}): {r.reason}")
        try:
            summary = do_push(
                snapshot,
                bindings.valid,
                client,
                sender,
                batch_size,
                dry_run=dry_run,
                show_progress=not no_progress,
                max_in_flight=max_in_flight,
            )
        except PushError as error:
            raise click.ClickException(f"{error} (re-run to resume)") from None
        except OSError as error:  # the node went away (requests' errors are OSErrors)
            raise click.ClickException(f"lost the node: {error} (re-run to resume)") from None
        verb = "would push" if dry_run else "pushed"
        click.echo(
            f"{verb} {summary.accounts:,} accounts in {summary.batches:,} batches "
            f"({format_planck(summary.amount)}, {summary.gas_used:,} gas, {summary.seconds:.1f} s)"
        )
        if dry_run:
            return
        report = _reconcile(snapshot, bindings, client, report_path)
        if not report["balanced"]:
            raise click.ClickException("reconciliation does NOT balance: see the report")


@cli.command(short_help="On-chain state of the migrator")
@network_option
@rpc_option
@manifest_option
@migrator_option
@json_option
def status(
    network_choice: str, rpc_url: str | None, manifest_file: Path | None, migrator: str | None, as_json: bool
) -> None:
    from ape import chain

    with _connect(network_choice, rpc_url):
        state = _client(migrator, manifest_file).state()
        now = int(chain.blocks.head.timestamp)
    if as_json:
        echo_json(_status_json(state, now))
        return
    done = percent(state.total_migrated, state.total)
    predecessor = state.predecessor if int(state.predecessor, 16) else "none (the first migrator)"
    window = "closable" if now >= state.closes_at else "open"
    for label, value in (
        ("migrator", state.address),
        ("token", state.token),
        ("replaces", predecessor),
        ("root", "0x" + state.root.hex()),
        ("snapshot", f"{state.count:,} accounts, {format_planck(state.total)}"),
        ("migrated", f"{state.accounts_migrated:,} accounts, {format_planck(state.total_migrated)} ({done})"),
        ("state", "closed" if state.closed else "paused" if state.paused else "open"),
        ("closes from", f"{format_time(state.closes_at, now)} (window {window})"),
    ):
        click.echo(f"{label:<12} {value}")


def _status_json(state: Any, now: int) -> dict[str, Any]:
    """`migrate status --json` (docs/migration.md "Scripts' output")."""
    return {
        "migrator": state.address,
        "token": state.token,
        "predecessor": state.predecessor if int(state.predecessor, 16) else None,
        "root": "0x" + state.root.hex(),
        "now": time_json(now),
        "snapshot": {"accounts": state.count, "total": planck_json(state.total)},
        "migrated": {"accounts": state.accounts_migrated, "amount": planck_json(state.total_migrated)},
        "paused": state.paused,
        "closed": state.closed,
        "closes_at": time_json(state.closes_at),
    }


@cli.command(short_help="Reconciliation report: snapshot total = migrated + pending")
@snapshot_option
@bindings_option
@network_option
@rpc_option
@manifest_option
@migrator_option
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the JSON report here.")
@json_option
def reconcile(
    snapshot_path: Path,
    bindings_path: Path,
    network_choice: str,
    rpc_url: str | None,
    manifest_file: Path | None,
    migrator: str | None,
    out: Path | None,
    as_json: bool,
) -> None:
    snapshot = _snapshot(snapshot_path)
    with _connect(network_choice, rpc_url):
        client = _client(migrator, manifest_file)
        bindings = _bindings(bindings_path, snapshot, client)
        report = _reconcile(snapshot, bindings, client, out, as_json)
        if not report["balanced"]:
            raise click.ClickException("reconciliation does NOT balance")


@cli.command(short_help="Re-verify every on-chain mint against snapshot, root and signatures")
@snapshot_option
@bindings_option
@network_option
@rpc_option
@manifest_option
@migrator_option
@click.option("--from-block", default=None, type=int, help="First block to scan (default: deploy block).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the JSON audit here.")
@json_option
def audit(
    snapshot_path: Path,
    bindings_path: Path,
    network_choice: str,
    rpc_url: str | None,
    manifest_file: Path | None,
    migrator: str | None,
    from_block: int | None,
    out: Path | None,
    as_json: bool,
) -> None:
    from pha.migration.audit import audit_events

    snapshot = _snapshot(snapshot_path)
    with _connect(network_choice, rpc_url):
        client = _client(migrator, manifest_file)
        bindings = _bindings(bindings_path, snapshot, client)
        start = _deploy_block(client, manifest_file) if from_block is None else from_block
        # Streamed: events are read page by page and reconciled as they come (flat memory).
        report = audit_events(snapshot, bindings, client.state(), client.migration_events(start))
        if as_json:
            echo_json({**report.as_dict(), "from_block": start})
        else:
            click.echo(
                f"audited {report.mints_checked:,} mints in {report.batches_checked:,} batches "
                f"({format_planck(report.amount)}): "
                + ("OK" if report.ok else f"{len(report.problems)} PROBLEM(S)")
            )
            for problem in report.problems[:50]:
                click.echo(f"  {problem}")
            if len(report.problems) > 50:
                click.echo(f"  (first 50 of {len(report.problems):,} problems; all: --json or --out FILE)")
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report.as_dict(), indent=1) + "\n")
        if not report.ok:
            raise click.ClickException("audit found mints that do not match")


@cli.command(short_help="Write a deterministic synthetic System.Account export (.jsonl)")
@click.option("--accounts", default=100_000, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=1, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("migration-data/synthetic-export.jsonl"))
def synth(accounts: int, seed: int, out: Path) -> None:
    from pha.migration.synthetic import write_export

    write_export(out, accounts, seed)
    click.echo(f"export: {out} ({accounts:,} holders + the treasury pallet account)")


@cli.command("synth-bindings", short_help="Sign the synthetic holders' bindings for a deployed migrator")
@click.option("--accounts", default=100_000, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=1, show_default=True)
@click.option("--bound-fraction", default=1.0, show_default=True, type=click.FloatRange(0, 1))
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("migration-data/synthetic-bindings.jsonl")
)
@network_option
@rpc_option
@manifest_option
@migrator_option
def synth_bindings(
    accounts: int,
    seed: int,
    bound_fraction: float,
    out: Path,
    network_choice: str,
    rpc_url: str | None,
    manifest_file: Path | None,
    migrator: str | None,
) -> None:
    from ape import chain

    from pha.migration.synthetic import write_bindings

    with _connect(network_choice, rpc_url):
        client = _client(migrator, manifest_file)
        write_bindings(out, accounts, chain.provider.chain_id, client.address, seed, bound_fraction)
    click.echo(f"bindings: {out}")
