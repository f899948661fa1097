"""Attestation log tools.

    ape run log verify --network base:sepolia:node [--page 5000] [--json]

Rebuilds the AttestationLog hash chain from its `Appended` events (paged over block ranges)
and checks it against the head and count stored on-chain; exits 1 at the first mismatch.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from pha.attestation_log import LogEntry, fetch_entries, verify_chain
from pha.cli import connected, network_option, require_manifest
from pha.fmt import echo_json, format_time, json_option, time_json


@click.group(short_help="Attestation log tools")
def cli() -> None:
    """Attestation log tools."""


@cli.command()
@network_option
@click.option("--page", default=5_000, show_default=True, help="Blocks per eth_getLogs call.")
@json_option
def verify(network_choice: str, page: int, as_json: bool) -> None:
    """Rebuild the log from events and compare it with the on-chain head."""
    from ape import Contract, chain

    with connected(network_choice):
        manifest = require_manifest()
        entry = manifest.contracts.get("AttestationLog")
        if entry is None:
            raise click.ClickException("this deployment has no AttestationLog")
        contract = Contract(entry.address)
        head, count = bytes(contract.head()), int(contract.count())
        last = chain.blocks.head.number
        now = int(chain.blocks.head.timestamp)
        times: list[int] = []

        def timed(entries: Iterator[LogEntry]) -> Iterator[LogEntry]:
            for item in entries:  # streamed: only the last entry's time is kept
                times[:] = [item.time]
                yield item

        entries = fetch_entries(chain.provider.web3, entry.address, entry.block, last, page=page)
        report = verify_chain(timed(entries), head, count)
        if as_json:
            echo_json({
                "ok": report.ok, "entries": report.entries, "onchain_count": count,
                "from_block": entry.block, "to_block": last, "now": time_json(now),
                "last_entry_at": time_json(times[0]) if times else None,
                "rebuilt_head": "0x" + report.rebuilt_head.hex(), "onchain_head": "0x" + head.hex(),
                "first_mismatch": report.first_mismatch, "problem": report.problem,
            })  # fmt: skip
        else:
            click.echo(
                f"entries:  {report.entries:,} (on-chain count {count:,}), blocks {entry.block}..{last}"
            )
            if times:
                click.echo(f"last:     {format_time(times[0], now)}")
            click.echo(f"rebuilt:  0x{report.rebuilt_head.hex()}")
            click.echo(f"on-chain: 0x{head.hex()}")
        if not report.ok:
            raise click.ClickException(f"first mismatch at entry {report.first_mismatch}: {report.problem}")
        if not as_json:
            click.echo("log verified: every event chains to the on-chain head")
