"""`ape run migrate deploy`: add the Migrator to an existing deployment's manifest.

The generic `ape run deploy` cannot know the snapshot's root and total, so its Migrator step is
skipped (and an existing Migrator kept) unless these parameters are given; this module runs
that step alone against the manifest's token, then the same wiring (MINTER_ROLE).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pha.deploy import (
    STEPS,
    DeployConfig,
    DeployContext,
    MigratorParams,
    _normalise,
    _still_current,
    _wire_migrator_minter,
    bytecode_hash,
    code_hash_at,
    git_commit,
)
from pha.manifest import DeployedContract, Manifest, save_manifest
from pha.migration.snapshot import Snapshot

log = logging.getLogger(__name__)


def migrator_params(snapshot: Snapshot, closes_at: int, operator: str) -> MigratorParams:
    return MigratorParams(
        root="0x" + snapshot.root.hex(),
        total=snapshot.total,
        count=snapshot.count,
        closes_at=closes_at,
        operator=operator,
    )


def deploy_migrator(
    deployer: Any, manifest: Manifest, path: Path, params: MigratorParams, admin: str | None = None
) -> tuple[Any, bool]:
    """Deploy (or attach to an identical) Migrator for `params`, grant MINTER_ROLE, save the manifest.

    Returns (contract, deployed_anew).
    """
    from ape import chain, project

    token_entry = manifest.contracts["PHAToken"]
    token_admin, bridge, remote = token_entry.args[:3]
    config = DeployConfig(admin=admin or token_admin, bridge=bridge, remote_token=remote, migrator=params)
    ctx = DeployContext(config=config, deployer=deployer)
    ctx.contracts["PHAToken"] = project.PHAToken.at(token_entry.address)
    step = next(s for s in STEPS if s.name == "Migrator")
    container = project.Migrator
    args = _normalise(step.args(ctx))
    previous = manifest.contracts.get("Migrator")
    if previous is not None and _still_current(previous, container, args, chain.provider):
        instance, fresh = container.at(previous.address), False
    else:
        instance = deployer.deploy(container, *args)
        receipt = instance.creation_metadata.receipt if instance.creation_metadata else None
        tx_hash = instance.txn_hash.hex() if isinstance(instance.txn_hash, bytes) else str(instance.txn_hash)
        manifest.contracts["Migrator"] = DeployedContract(
            address=str(instance.address),
            tx_hash=tx_hash if tx_hash.startswith("0x") else "0x" + tx_hash,
            block=int(receipt.block_number if receipt is not None else chain.blocks.head.number),
            code_hash=code_hash_at(chain.provider, instance.address),
            bytecode_hash=bytecode_hash(container),
            args=args,
        )
        manifest.git_commit = git_commit()
        fresh = True
    ctx.contracts["Migrator"] = instance
    _wire_migrator_minter(ctx)
    save_manifest(manifest, path)
    return instance, fresh
