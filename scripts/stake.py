"""Staking for people: operators and delegators.

    ape run stake open-pool --commission-bps 1000 --network ethereum:local:foundry
    ape run stake delegate 1 250.5 [--permit]
    ape run stake undelegate 1 100 | --all
    ape run stake withdraw 1 [--request 0]
    ape run stake claim-commission 1 [--to 0x...]
    ape run stake set-commission 1 1500
    ape run stake pool-status 1 [--delegator 0x...] [--json]
    ape run stake sync-backing 1 2 | --all   (after governance changed the minimum stake per worker)
    ape run stake sweep-slashed         (pay slashed PHA to the treasury; anyone)
    ape run stake flush-rewards 1 2 | --all  (pay pools what single job settlements left them; anyone)

Every subcommand takes --network and --account (an Ape account alias; `test:N` on local
chains; --passphrase-file or APE_ACCOUNTS_<alias>_PASSPHRASE to sign without prompts).
Contracts come from the network's deployment manifest (`ape run deploy`). Mistakes (not enough
PHA, nothing to withdraw, cooldown not over...) print one line and exit non-zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from pha.cli import (
    ADDRESS,
    NEGATIVE_NUMBERS_ARE_ARGUMENTS,
    account_option,
    connected,
    network_option,
    require_manifest,
    resolve_account,
)
from pha.fmt import echo_json, json_option
from pha.staking import actions
from pha.staking.amounts import AmountError, parse_pha


@contextmanager
def _session(
    network_choice: str, account_alias: str | None, need_account: bool = True
) -> Iterator[dict[str, Any]]:
    """Connect, load the manifest's contracts and the signer; user mistakes become one line."""
    from ape import project
    from ape.exceptions import ContractLogicError

    with connected(network_choice):
        manifest = require_manifest()
        try:
            world = {
                "staking": project.Staking.at(manifest.address("Staking")),
                "token": project.PHAToken.at(manifest.address("PHAToken")),
                "account": resolve_account(account_alias) if need_account else None,
                "manifest": manifest,
            }
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        try:
            yield world
        except actions.StakeError as error:
            raise click.ClickException(str(error)) from None
        except ContractLogicError as error:
            raise click.ClickException(f"transaction reverted: {error}") from None


def _escrow(world: dict[str, Any]) -> Any:
    """The manifest's JobEscrow, or None where none is deployed."""
    from ape import project

    from pha.manifest import ManifestError

    try:
        return project.JobEscrow.at(world["manifest"].address("JobEscrow"))
    except ManifestError:
        return None


def _amount(text: str) -> int:
    try:
        return parse_pha(text)
    except AmountError as error:
        raise click.ClickException(str(error)) from None


def _echo(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def _common(func: Callable) -> Callable:
    return network_option(account_option(func))


@click.group(short_help="Staking: open pools, delegate, undelegate, withdraw, claim, status")
def cli() -> None:
    """Staking pools: operators and delegators."""


@cli.command("open-pool")
@_common
@click.option(
    "--commission-bps",
    type=click.IntRange(0, 10_000),
    required=True,
    help="Commission on rewards in basis points (1000 = 10%).",
)
def open_pool(network_choice: str, account_alias: str | None, commission_bps: int) -> None:
    """Open a pool operated by the account."""
    with _session(network_choice, account_alias) as w:
        _echo(actions.open_pool(w["staking"], w["account"], commission_bps))


@cli.command("set-commission", context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@_common
@click.argument("pool_id", type=click.IntRange(min=0))
@click.argument("commission_bps", type=click.IntRange(0, 10_000))
def set_commission(network_choice: str, account_alias: str | None, pool_id: int, commission_bps: int) -> None:
    """Change a pool's commission (increases wait for the notice period)."""
    with _session(network_choice, account_alias) as w:
        _echo(actions.set_commission(w["staking"], w["account"], pool_id, commission_bps))


@cli.command("delegate", context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@_common
@click.argument("pool_id", type=click.IntRange(min=0))
@click.argument("amount")
@click.option(
    "--permit", is_flag=True, help="Approve with an ERC-2612 permit signature instead of a transaction."
)
def delegate(network_choice: str, account_alias: str | None, pool_id: int, amount: str, permit: bool) -> None:
    """Delegate AMOUNT PHA (e.g. 250.5) to POOL_ID."""
    assets = _amount(amount)
    with _session(network_choice, account_alias) as w:
        _echo(actions.delegate(w["staking"], w["token"], w["account"], pool_id, assets, permit=permit))


@cli.command("undelegate", context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@_common
@click.argument("pool_id", type=click.IntRange(min=0))
@click.argument("amount", required=False)
@click.option("--all", "everything", is_flag=True, help="Undelegate the whole position.")
def undelegate(
    network_choice: str, account_alias: str | None, pool_id: int, amount: str | None, everything: bool
) -> None:
    """Move AMOUNT PHA (or --all) of stake into the withdrawal queue."""
    if everything == (amount is not None):
        raise click.ClickException("give either an AMOUNT or --all")
    assets = None if everything else _amount(amount or "")
    with _session(network_choice, account_alias) as w:
        # Rewards single job settlements left for the pool reach the share price first, so the
        # position leaves with its share of them (queued stake earns nothing afterwards).
        escrow = _escrow(w)
        if escrow is not None and 1 <= pool_id <= int(w["staking"].poolCount()):
            from pha.escrow import ledger

            _echo(ledger.flush_if_owed(escrow, w["account"], pool_id))
        _echo(actions.undelegate(w["staking"], w["account"], pool_id, assets))


@cli.command("withdraw", context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@_common
@click.argument("pool_id", type=click.IntRange(min=0))
@click.option(
    "--request", "request_id", type=int, default=None, help="One request id (default: every matured one)."
)
def withdraw(network_choice: str, account_alias: str | None, pool_id: int, request_id: int | None) -> None:
    """Withdraw matured withdrawal requests."""
    with _session(network_choice, account_alias) as w:
        _echo(actions.withdraw(w["staking"], w["account"], pool_id, request_id))


@cli.command("claim-commission", context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@_common
@click.argument("pool_id", type=click.IntRange(min=0))
@click.option("--to", type=ADDRESS, default=None, help="Recipient (default: the operator).")
def claim_commission(network_choice: str, account_alias: str | None, pool_id: int, to: str | None) -> None:
    """Pay out the operator's accrued commission."""
    with _session(network_choice, account_alias) as w:
        _echo(actions.claim_commission(w["staking"], w["account"], pool_id, to))


@cli.command("sync-backing", context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@_common
@click.argument("pool_ids", type=click.IntRange(min=0), nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every pool that has workers.")
def sync_backing(
    network_choice: str, account_alias: str | None, pool_ids: tuple[int, ...], everything: bool
) -> None:
    """Re-evaluate backing flags after governance changed the minimum stake per worker."""
    if everything == bool(pool_ids):
        raise click.ClickException("give POOL_IDS or --all")
    with _session(network_choice, account_alias) as w:
        _echo(actions.sync_backing(w["staking"], w["account"], None if everything else list(pool_ids)))


@cli.command("flush-rewards", context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@_common
@click.argument("pool_ids", type=click.IntRange(min=0), nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every pool whose escrow ledger holds something.")
@click.option("--dry-run", is_flag=True, help="Only show the ledgers.")
def flush_rewards(
    network_choice: str, account_alias: str | None, pool_ids: tuple[int, ...], everything: bool, dry_run: bool
) -> None:
    """Pay pools the rewards single job settlements left in the escrow (relayers do it routinely)."""

    from pha.escrow import ledger

    if everything == bool(pool_ids):
        raise click.ClickException("give POOL_IDS or --all")
    with _session(network_choice, account_alias, need_account=not dry_run) as w:
        escrow = _escrow(w)
        if escrow is None:
            raise click.ClickException("no JobEscrow in this network's deployment manifest")
        count = int(w["staking"].poolCount())
        if any(p < 1 or p > count for p in pool_ids):
            raise click.ClickException(f"no such pool: pools are 1..{count}")
        due = ledger.unpaid(escrow, count) if everything else ledger.ledgers(escrow, list(pool_ids))
        _echo([entry.describe() for entry in due] or ["no pool ledger holds anything"])
        if not dry_run:
            _echo(ledger.flush(escrow, w["account"], due))


@cli.command("sweep-slashed")
@_common
def sweep_slashed(network_choice: str, account_alias: str | None) -> None:
    """Pay the slashed PHA owed to the treasury (anyone may send it)."""
    with _session(network_choice, account_alias) as w:
        _echo(actions.sweep_slashed(w["staking"], w["account"]))


@cli.command("pool-status", context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@network_option
@click.argument("pool_id", type=click.IntRange(min=0))
@click.option(
    "--delegator", type=ADDRESS, default=None, help="Also show this address's position and requests."
)
@json_option
def pool_status(network_choice: str, pool_id: int, delegator: str | None, as_json: bool) -> None:
    """Backing, share price, queue, workers, commission and pending change of a pool."""
    with _session(network_choice, None, need_account=False) as w:
        status = actions.read_pool_status(w["staking"], pool_id, delegator)
        if as_json:
            echo_json(status.as_json())
        else:
            _echo(status.lines())
