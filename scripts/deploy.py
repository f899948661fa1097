"""Deploy the PHA stack, or attach to a deployment that is still current.

    ape run deploy --network ethereum:local:test
    ape run deploy --network base:sepolia:node --account deployer --guardian 0xMultisig
    ape run deploy --network base:sepolia:node --account deployer --governance account --admin 0xMultisig

Governance (docs/governance.md): `--governance timelock` (the default on every non-local network)
deploys PHAGovernor + PHATimelock, makes the timelock the admin of everything and renounces the
deployer's roles; `--governance account` (the local default) leaves every admin role with `--admin`.
    ape run deploy --network ethereum:local:foundry --fresh

Writes deployments/<ecosystem>-<network>.json and prints its path.
"""

from __future__ import annotations

import click

from pha.cli import (
    ADDRESS,
    account_option,
    connected,
    current_manifest_path,
    is_local_network,
    network_option,
    resolve_account,
)
from pha.deploy import (
    GOVERNANCE_MODES,
    L1_PHA,
    L2_STANDARD_BRIDGE,
    DeployConfig,
    committee,
    deploy_stack,
    governance_defaults,
)


@click.command(short_help="Deploy the PHA stack and write its manifest")
@network_option
@account_option
@click.option("--fresh", is_flag=True, help="Deploy anew even if the manifest's deployment is current.")
@click.option(
    "--governance",
    type=click.Choice(GOVERNANCE_MODES),
    default=None,
    help="Who governs: the PHA Governor + Timelock, or one account (default: account on local chains, "
    "timelock elsewhere).",
)
@click.option(
    "--admin",
    type=ADDRESS,
    default=None,
    help="With --governance account: the governance account (default: deployer).",
)
@click.option(
    "--guardian",
    type=ADDRESS,
    default=None,
    help="With the timelock: an emergency account that may only revoke measurements, pause migration, "
    "cancel queued proposals.",
)
@click.option(
    "--treasury", type=ADDRESS, default=None, help="Treasury for fees and slashes (default: the admin)."
)
@click.option("--bridge", default=L2_STANDARD_BRIDGE, show_default=True, help="OP-stack L2 bridge.")
@click.option("--remote-token", type=ADDRESS, default=L1_PHA, show_default=True, help="PHA on L1.")
@click.option(
    "--dev-verifier/--no-dev-verifier",
    default=None,
    help="Deploy the development quote verifier (default: on local chains and devnets only).",
)
@click.option(
    "--attester", "attesters", type=ADDRESS, multiple=True, help="Committee attester address (repeat)."
)
@click.option("--threshold", default=1, show_default=True, help="Committee signatures required.")
def cli(
    network_choice: str,
    account_alias: str | None,
    fresh: bool,
    governance: str | None,
    admin: str | None,
    guardian: str | None,
    treasury: str | None,
    bridge: str,
    remote_token: str,
    dev_verifier: bool | None,
    attesters: tuple[str, ...],
    threshold: int,
) -> None:
    try:
        committee(list(attesters), threshold)  # refused before connecting
    except ValueError as error:
        raise click.ClickException(f"bad parameter: {error}") from None
    with connected(network_choice):
        deployer = resolve_account(account_alias)
        local = is_local_network()
        mode, params = governance_defaults(local, governance)
        if mode == "timelock" and admin is not None:
            raise click.ClickException("--admin is for --governance account: the timelock governs here")
        try:
            config = DeployConfig(
                admin=admin or str(deployer.address),
                governance=mode,
                governance_params=params,
                guardian=guardian,
                bridge=bridge,
                remote_token=remote_token,
                treasury=treasury,
                dev_verifier=local if dev_verifier is None else dev_verifier,
                attesters=list(attesters),
                threshold=threshold,
            )
        except ValueError as error:
            raise click.ClickException(f"bad parameter: {error}") from None
        path = current_manifest_path()
        manifest, _, deployed = deploy_stack(deployer, config, path, fresh=fresh)
        for name, entry in manifest.contracts.items():
            state = "deployed" if name in deployed else "attached"
            click.echo(f"{name:<16} {entry.address}  ({state})")
        click.echo(f"manifest: {path}")
