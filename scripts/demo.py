"""The end-to-end demo on a chain the project starts and stops itself.

    ape run demo

Starts a Base-like anvil (chain id 8453, OP-stack mode) on a free loopback port, deploys the
stack through `ape run deploy`'s code path, prints what it deployed and the manifest path, then
stops everything it started (also on Ctrl-C).
"""

from __future__ import annotations

import logging
import time

import click

from pha.anvil import Anvil
from pha.cli import connected, current_manifest_path, resolve_account
from pha.deploy import DeployConfig, deploy_stack

log = logging.getLogger("demo")


@click.command(short_help="Run the whole flow end to end on a project-owned anvil")
@click.option("--block-time", default=1.0, show_default=True, help="Seconds per block of the demo chain.")
def cli(block_time: float) -> None:
    started = time.monotonic()
    with Anvil(chain_id=8453, block_time=block_time, optimism=True) as node:
        click.echo(f"chain: anvil (chain id 8453, OP-stack mode, {block_time:g} s blocks) at {node.url}")
        with connected(f"base:devnet:{node.url}"):
            deployer = resolve_account(None)
            path = current_manifest_path()
            manifest, _, _ = deploy_stack(
                deployer, DeployConfig(admin=str(deployer.address)), path, fresh=True
            )
            for name, entry in manifest.contracts.items():
                click.echo(f"  {name:<16} {entry.address}")
            click.echo(f"manifest: {path}")
    click.echo(f"demo finished in {time.monotonic() - started:.1f} s; anvil stopped")
