"""`ape run migrate deploy`: add the Migrator to an existing deployment's manifest.

The generic `ape run deploy` cannot know the snapshot's root and total, so its Migrator step is
skipped (and an existing Migrator kept) unless these parameters are given; this module runs
that step alone against the manifest's token, then the same wiring (migration cap, MINTER_ROLE).

Re-running it for the snapshot the manifest's Migrator already holds attaches to that Migrator
(whatever the closing time or operator asked for now). Anything else is a **replacement** and
needs `replace=True` (`--replace`) and the predecessor's snapshot: the new Migrator names the old
one as its `PREDECESSOR` (a leaf the old one paid stays paid), the token moves MINTER_ROLE to the
new one (the old one can never mint again) and its migration cap, set once, bounds both
together. Before deploying, the replacement's snapshot is checked against what was paid: every
paid leaf must hold the same account at the same index in the new snapshot (or be absent from
it), so that "paid once" by index is "paid once" by account (`build_snapshot(previous=...)`
builds such a snapshot).
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
from pha.escrow.spec import ZERO_ADDRESS
from pha.manifest import DeployedContract, Manifest, save_manifest
from pha.migration.plan import Bitmap, word_count
from pha.migration.snapshot import Snapshot

log = logging.getLogger(__name__)


class MigratorDeployError(RuntimeError):
    """A replacement that would break a migration invariant, or one asked for ambiguously (one line)."""


def migrator_params(
    snapshot: Snapshot, closes_at: int, operator: str, predecessor: str = ZERO_ADDRESS
) -> MigratorParams:
    return MigratorParams(
        root="0x" + snapshot.root.hex(),
        total=snapshot.total,
        count=snapshot.count,
        closes_at=closes_at,
        operator=operator,
        predecessor=predecessor,
    )


def lineage_claimed(migrator: Any, leaf_count: int) -> Bitmap:
    """The leaves `migrator` or any predecessor paid (`claimedWords`), over `leaf_count` leaves."""
    total = word_count(leaf_count)
    words: list[int] = []
    for first in range(0, total, 256):
        words.extend(int(w) for w in migrator.claimedWords(first, min(256, total - first)))
    return Bitmap(words)


def check_replacement(new: Snapshot, previous: Snapshot, claimed: Bitmap) -> None:
    """Refuse a replacement snapshot under which a paid account could be paid again, or an unpaid
    one could never be paid: each paid leaf i (of `previous`) keeps its account at index i in
    `new`, or that account is not in `new` at all (and `new` has no leaf i)."""
    new_by_key = new.by_pubkey()
    for i in range(max(new.count, previous.count)):
        if i not in claimed:
            continue
        if i >= previous.count:
            raise MigratorDeployError(
                f"leaf {i} is paid on chain but the previous snapshot has {previous.count} leaves: "
                "wrong --previous-snapshot"
            )
        paid = previous.leaves[i].pubkey
        moved = new_by_key.get(paid)
        if moved is not None and moved.index != i:
            raise MigratorDeployError(
                f"account {previous.address(paid)} was paid at leaf {i} and sits at leaf {moved.index} "
                "in the new snapshot: it would be paid twice (build it with --previous)"
            )
        if moved is None and i < new.count:
            raise MigratorDeployError(
                f"leaf {i} was paid to {previous.address(paid)}; the new snapshot gives it to "
                f"{new.address(new.leaves[i].pubkey)}, who could never be paid (build it with --previous)"
            )


def deploy_migrator(
    deployer: Any,
    manifest: Manifest,
    path: Path,
    params: MigratorParams,
    admin: str | None = None,
    *,
    replace: bool = False,
    snapshot: Snapshot | None = None,
    previous_snapshot: Snapshot | None = None,
) -> tuple[Any, bool]:
    """Deploy (or attach to) the Migrator for `params`, wire cap and MINTER_ROLE, save the manifest.

    With a live Migrator in the manifest: the same snapshot attaches; another one needs
    `replace=True` plus `snapshot` (the new one) and `previous_snapshot` (the manifest Migrator's),
    and deploys a replacement naming it as predecessor. Returns (contract, deployed_anew).
    """
    from ape import chain, project

    admin = _governed_admin(manifest, admin)
    token_entry = manifest.contracts["PHAToken"]
    token_admin, bridge, remote = token_entry.args[:3]
    container = project.Migrator
    previous = manifest.contracts.get("Migrator")
    old = None
    if previous is not None and previous.code_hash == code_hash_at(chain.provider, previous.address):
        old = container.at(previous.address)
        if str(old.TOKEN()).lower() != token_entry.address.lower():
            old = None  # a Migrator of an earlier token: nothing to replace
    if old is not None:
        same = (
            "0x" + bytes(old.MERKLE_ROOT()).hex() == params.root.lower()
            and int(old.SNAPSHOT_TOTAL()) == params.total
            and int(old.ACCOUNT_COUNT()) == params.count
        )
        if same and not replace:
            ctx = _context(deployer, token_admin, bridge, remote, admin, params, project, token_entry)
            ctx.contracts["Migrator"] = old
            _wire_migrator_minter(ctx)
            save_manifest(manifest, path)
            return old, False
        if not replace:
            raise MigratorDeployError(
                f"the manifest's Migrator {old.address} holds another snapshot (root "
                f"0x{bytes(old.MERKLE_ROOT()).hex()}): pass --replace and --previous-snapshot to replace it"
            )
        if bool(old.closed()):
            raise MigratorDeployError(f"the Migrator {old.address} was closed: the migration ended for good")
        if snapshot is None or previous_snapshot is None:
            raise MigratorDeployError("a replacement needs the new and the previous snapshot")
        if previous_snapshot.root != bytes(old.MERKLE_ROOT()):
            raise MigratorDeployError(
                f"--previous-snapshot's root 0x{previous_snapshot.root.hex()} is not the Migrator "
                f"{old.address}'s 0x{bytes(old.MERKLE_ROOT()).hex()}"
            )
        check_replacement(
            snapshot, previous_snapshot, lineage_claimed(old, max(snapshot.count, previous_snapshot.count))
        )
        params = MigratorParams(
            params.root, params.total, params.count, params.closes_at, params.operator, str(old.address)
        )
    elif replace:
        raise MigratorDeployError("--replace: the manifest has no live Migrator to replace")

    ctx = _context(deployer, token_admin, bridge, remote, admin, params, project, token_entry)
    step = next(s for s in STEPS if s.name == "Migrator")
    args = _normalise(step.args(ctx))
    if previous is not None and old is None and _still_current(previous, container, args, chain.provider):
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
        if old is not None:
            log.info("Migrator %s replaces %s", instance.address, old.address)
    ctx.contracts["Migrator"] = instance
    _wire_migrator_minter(ctx)
    save_manifest(manifest, path)
    return instance, fresh


def _governed_admin(manifest: Manifest, admin: str | None) -> str | None:
    """On a deployment the timelock governs, the Migrator's admin is the timelock (by default,
    and nobody else: an admin account could grant itself OPERATOR_ROLE and mint the snapshot)."""
    timelock = manifest.contracts.get("PHATimelock")
    if timelock is None:
        return admin
    if admin is not None and admin.lower() != timelock.address.lower():
        raise MigratorDeployError(
            f"PHATimelock {timelock.address} governs this deployment: the Migrator's admin is the "
            f"timelock, not {admin}"
        )
    return timelock.address


def _context(
    deployer: Any,
    token_admin: str,
    bridge: str,
    remote: str,
    admin: str | None,
    params: MigratorParams,
    project: Any,
    token_entry: DeployedContract,
) -> DeployContext:
    config = DeployConfig(admin=admin or token_admin, bridge=bridge, remote_token=remote, migrator=params)
    ctx = DeployContext(config=config, deployer=deployer)
    ctx.contracts["PHAToken"] = project.PHAToken.at(token_entry.address)
    return ctx
