"""`pha-anvil`: the project devnet in the foreground, for running the scripts by hand.

    pha-anvil                        # chain id 20350, OP-stack mode, http://127.0.0.1:8545
    pha-anvil --port 8546 --block-time 2

The same node the demo and the tests start (`pha.anvil.Anvil`), on a port of the user's choosing;
it prints the `--network` choice for `ape run` and runs until Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import signal
from types import FrameType

import click

from pha.anvil import Anvil, AnvilError, port_in_use
from pha.chains import DEVNET_CHAIN_ID

DEFAULT_PORT = 8545


def network_choice(url: str) -> str:
    """The Ape network choice that reaches a devnet node at `url` (ape-config.yaml: base:devnet)."""
    return f"base:devnet:{url}"


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--block-time",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds between blocks (default: a block per transaction).",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    default=None,
    help="Load the chain from FILE at start and save it there at exit (anvil --state).",
)
@click.option("--quiet", is_flag=True, help="Hide anvil's own output (accounts, transactions).")
def main(host: str, port: int, block_time: float | None, state: str | None, quiet: bool) -> None:
    """Start the project devnet: a Base-like anvil (OP-stack mode) under chain id 20350.

    Ten test accounts of 10,000 ETH from the usual test mnemonic; the scripts use the first one
    by default. It holds no PHA until you deploy and run `ape run faucet`. Stop with Ctrl-C.
    """
    busy = port_in_use(host, port)
    if busy:
        raise click.ClickException(f"{busy}: stop that process or pass --port N")
    node = Anvil(
        chain_id=DEVNET_CHAIN_ID,
        block_time=block_time,
        optimism=True,
        host=host,
        silent=quiet,
        extra_args=["--state", state] if state else None,
    )
    _stop_on_sigterm()
    try:
        node.start(port)
    except AnvilError as error:
        raise click.ClickException(str(error)) from None
    try:
        mining = f"a block every {block_time:g} s" if block_time else "a block per transaction"
        click.echo(f"pha devnet: chain id {DEVNET_CHAIN_ID}, OP-stack anvil, {mining}, RPC {node.url}")
        click.echo(f"use it with: ape run deploy --network {network_choice(node.url)}")
        click.echo("Ctrl-C stops it" + (f" (state saved to {state})" if state else " (its chain is lost)"))
        assert node.process is not None
        code = node.process.wait()
        raise click.ClickException(f"anvil exited with {code}")
    except KeyboardInterrupt:
        click.echo("stopping the devnet")
    finally:
        node.stop()


if __name__ == "__main__":
    main(prog_name="pha-anvil")
