"""Deploy the whole stack with Ape, or attach to a deployment whose code is still current.

The stack is a list of `Step`s (one contract each, constructor arguments computed from the
steps before it) followed by idempotent wiring functions (roles, links). Later components
add their step and their wiring here; `scripts/deploy.py`, the demo, the tests and the bench
all go through `deploy_stack`.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address

from pha.manifest import DeployedContract, Manifest, ManifestError, load_manifest, save_manifest
from pha.paths import ROOT

log = logging.getLogger(__name__)

# The OP-stack L2StandardBridge predeploy (same address on Base, OP Mainnet and their testnets).
L2_STANDARD_BRIDGE = "0x4200000000000000000000000000000000000010"
# PHA on Ethereum mainnet: the remote token of the L2 PHA.
L1_PHA = "0x6c5bA91642F10282b576d91922Ae6448C9d52f4E"


@dataclass
class DeployConfig:
    """Parameters of a deployment that are not code."""

    admin: str
    """Governance: receives every admin role (a timelock or multisig on a real chain)."""
    bridge: str = L2_STANDARD_BRIDGE
    remote_token: str = L1_PHA
    treasury: str | None = None
    """Receives protocol fees and slashed stake; defaults to `admin`."""

    def __post_init__(self) -> None:
        self.admin = to_checksum_address(self.admin)
        self.bridge = to_checksum_address(self.bridge)
        self.remote_token = to_checksum_address(self.remote_token)
        self.treasury = to_checksum_address(self.treasury or self.admin)


@dataclass
class DeployContext:
    """What a step sees: the configuration, the deployer and what is deployed so far."""

    config: DeployConfig
    deployer: Any
    contracts: dict[str, Any] = field(default_factory=dict)

    def address(self, name: str) -> str:
        return str(self.contracts[name].address)


@dataclass(frozen=True)
class Step:
    """Deploy contract `name` (an Ape project contract) with arguments computed from the context."""

    name: str
    args: Callable[[DeployContext], list]


def _token_args(ctx: DeployContext) -> list:
    return [ctx.config.admin, ctx.config.bridge, ctx.config.remote_token]


def _staking_args(ctx: DeployContext) -> list:
    # Staking(IERC20 pha, address admin, address treasury): governance gets DEFAULT_ADMIN_ROLE
    # and SLASHER_ROLE; slashed PHA goes to the treasury.
    return [ctx.address("PHAToken"), ctx.config.admin, ctx.config.treasury]


STEPS: list[Step] = [
    Step("PHAToken", _token_args),
    Step("Staking", _staking_args),
]


def _wire_staking_slashers(ctx: DeployContext) -> None:
    """Grant Staking's SLASHER_ROLE to the job escrow once it is part of the stack (idempotent)."""
    staking = ctx.contracts.get("Staking")
    escrow = ctx.contracts.get("JobEscrow")
    if staking is None or escrow is None:
        return
    role = staking.SLASHER_ROLE()
    if staking.hasRole(role, escrow.address):
        return
    if not staking.hasRole(staking.DEFAULT_ADMIN_ROLE(), ctx.deployer.address):
        log.warning(
            "Staking: the deployer is not governance; grant SLASHER_ROLE to %s yourself", escrow.address
        )
        return
    staking.grantRole(role, escrow.address, sender=ctx.deployer)
    log.info("Staking: SLASHER_ROLE granted to JobEscrow %s", escrow.address)


# Idempotent functions run after every deploy or attach (grant roles, link contracts).
WIRING: list[Callable[[DeployContext], None]] = [
    _wire_staking_slashers,
]


def git_commit() -> str:
    """The commit the code was deployed from ("-dirty" when the tree has local changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def bytecode_hash(container: Any) -> str:
    """keccak256 of a project contract's compiled creation code."""
    code = container.contract_type.deployment_bytecode.bytecode or "0x"
    return "0x" + keccak(hexstr=code).hex()


def code_hash_at(provider: Any, address: str) -> str:
    """keccak256 of the runtime code at `address` (of empty code when nothing is there)."""
    return "0x" + keccak(bytes(provider.get_code(address))).hex()


def _normalise(args: list) -> list:
    return [str(a) if not isinstance(a, int | bool) else a for a in args]


def _still_current(entry: DeployedContract | None, container: Any, args: list, provider: Any) -> bool:
    return (
        entry is not None
        and entry.bytecode_hash == bytecode_hash(container)
        and entry.args == args
        and entry.code_hash == code_hash_at(provider, entry.address)
        and entry.code_hash != "0x" + keccak(b"").hex()
    )


def deploy_stack(
    deployer: Any,
    config: DeployConfig,
    path: Path,
    fresh: bool = False,
    network_name: str | None = None,
) -> tuple[Manifest, DeployContext, list[str]]:
    """Deploy (or attach to) every step, wire them, write the manifest.

    Returns the manifest, the context with Ape contract instances, and the names deployed anew
    in this call (empty when everything was attached).
    """
    from ape import chain, project

    provider = chain.provider
    previous: Manifest | None = None
    if not fresh and path.exists():
        try:
            previous = load_manifest(path)
        except ManifestError as error:
            log.warning("ignoring unreadable manifest: %s", error)
        if previous is not None and previous.chain_id != provider.chain_id:
            log.warning(
                "manifest %s is for chain %d, not %d: deploying anew",
                path,
                previous.chain_id,
                provider.chain_id,
            )
            previous = None

    ctx = DeployContext(config=config, deployer=deployer)
    manifest = Manifest(
        network=network_name or provider.network_choice,
        chain_id=provider.chain_id,
        deployer=str(deployer.address),
        git_commit=git_commit(),
    )
    deployed: list[str] = []
    for step in STEPS:
        container = getattr(project, step.name)
        args = _normalise(step.args(ctx))
        entry = previous.contracts.get(step.name) if previous else None
        if entry is not None and _still_current(entry, container, args, provider):
            ctx.contracts[step.name] = container.at(entry.address)
            manifest.contracts[step.name] = entry
            log.info("%s: attached at %s", step.name, entry.address)
            continue
        instance = deployer.deploy(container, *args)
        receipt = instance.creation_metadata.receipt if instance.creation_metadata else None
        tx_hash = str(instance.txn_hash.hex() if isinstance(instance.txn_hash, bytes) else instance.txn_hash)
        block = receipt.block_number if receipt is not None else chain.blocks.head.number
        ctx.contracts[step.name] = instance
        manifest.contracts[step.name] = DeployedContract(
            address=str(instance.address),
            tx_hash=tx_hash if tx_hash.startswith("0x") else "0x" + tx_hash,
            block=int(block),
            code_hash=code_hash_at(provider, instance.address),
            bytecode_hash=bytecode_hash(container),
            args=args,
        )
        deployed.append(step.name)
        log.info("%s: deployed at %s", step.name, instance.address)

    for wire in WIRING:
        wire(ctx)
    if previous is not None and not deployed:
        manifest.git_commit = previous.git_commit
    save_manifest(manifest, path)
    return manifest, ctx, deployed
