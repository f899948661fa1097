"""Attestation log tools.

    ape run log verify --network base:sepolia:node [--page 5000]

Rebuilds the AttestationLog hash chain from its `Appended` events (paged over block ranges)
and checks it against the head and count stored on-chain; exits 1 at the first mismatch.
"""

from __future__ import annotations

import click

from pha.attestation_log import fetch_entries, verify_chain
from pha.cli import connected, network_option, require_manifest


@click.group(short_help="Attestation log tools")
def cli() -> None:
    """Attestation log tools."""


@cli.command()
@network_option
@click.option("--page", default=5_000, show_default=True, help="Blocks per eth_getLogs call.")
def verify(network_choice: str, page: int) -> None:
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
        entries = fetch_entries(chain.provider.web3, entry.address, entry.block, last, page=page)
        report = verify_chain(entries, head, count)
        click.echo(f"entries: {report.entries} (on-chain count {count}), blocks {entry.block}..{last}")
        click.echo(f"head:    0x{report.rebuilt_head.hex()} (on-chain 0x{head.hex()})")
        if not report.ok:
            raise click.ClickException(f"first mismatch at entry {report.first_mismatch}: {report.problem}")
        click.echo("log verified: every event chains to the on-chain head")
