"""Test PHA for a development chain (anvil, the devnet): refused on every public chain id.

    ape run faucet --to test:1 --network base:devnet:http://127.0.0.1:8545
    ape run faucet --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --amount 12.5 --network ...

Mints as the token's bridge, impersonated on anvil (pha.faucet): at most 100,000 PHA per call.
"""

from __future__ import annotations

import click

from pha.cli import AddressError, connected, network_option, parse_address, require_manifest, resolve_account
from pha.faucet import DEFAULT_AMOUNT, FaucetError, drip, parse_drip, require_local_chain


@click.command(short_help="Mint test PHA on a development chain")
@network_option
@click.option("--to", "recipient", required=True, metavar="ADDRESS|test:N", help="Who receives the PHA.")
@click.option(
    "--amount",
    default=DEFAULT_AMOUNT,
    show_default=True,
    metavar="PHA",
    help="PHA to mint, e.g. 12.5 (at most 100,000 per call).",
)
def cli(network_choice: str, recipient: str, amount: str) -> None:
    """Mint test PHA to an address on a local chain (chain ids 31337, 1337, 20350)."""
    try:
        wei = parse_drip(amount)
        address = None if recipient.startswith("test:") else parse_address(recipient)
    except (FaucetError, AddressError) as error:
        raise click.ClickException(str(error)) from None
    from ape import Contract, chain

    with connected(network_choice):
        try:
            require_local_chain(chain.provider.chain_id)
            token = Contract(require_manifest().address("PHAToken"))
            to = address or str(resolve_account(recipient).address)
            click.echo(drip(token, to, wei))
        except FaucetError as error:
            raise click.ClickException(str(error)) from None
