"""Pushing the swap in batches, resumable: the chain's bitmap is the only checkpoint.

Every run starts by waiting for the operator's in-flight transactions, then reads which leaves
are migrated on-chain and plans only the rest. Killing a run at any point and starting again can
neither mint twice (the contract refuses a migrated leaf) nor skip (the bitmap is re-read).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pha.migration.bindings import Binding
from pha.migration.chain import MigratorClient, OnChainState
from pha.migration.merkle import verify_multiproof
from pha.migration.plan import Batch, plan_batches, ready_leaves
from pha.migration.snapshot import Snapshot

log = logging.getLogger(__name__)


class PushError(RuntimeError):
    """The deployment does not match the snapshot, or a batch failed."""


@dataclass
class PushSummary:
    batches: int = 0
    accounts: int = 0
    amount: int = 0
    gas_used: int = 0
    planned_batches: int = 0
    planned_accounts: int = 0
    seconds: float = 0.0
    gas_per_batch: list[int] = field(default_factory=list)


def check_deployment(snapshot: Snapshot, state: OnChainState) -> None:
    """Refuse to push a snapshot into a migrator built from another one."""
    if state.root != snapshot.root:
        raise PushError(
            f"the migrator's root 0x{state.root.hex()} is not the snapshot's 0x{snapshot.root.hex()}"
        )
    if state.total != snapshot.total or state.count != snapshot.count:
        raise PushError(
            f"the migrator holds total {state.total} over {state.count} accounts; "
            f"the snapshot has {snapshot.total} over {snapshot.count}"
        )


def push(
    snapshot: Snapshot,
    bindings: dict[bytes, Binding],
    client: MigratorClient,
    sender: Any,
    batch_size: int = 200,
    dry_run: bool = False,
    show_progress: bool = True,
    on_batch: Callable[[int, Batch], None] | None = None,
) -> PushSummary:
    """Push every ready (bound, not yet migrated) account; `on_batch(i, batch)` runs before each send."""
    started = time.monotonic()
    state = client.state()
    check_deployment(snapshot, state)
    if state.closed:
        raise PushError("the migration is closed: nothing more can be minted")
    if state.paused and not dry_run:
        raise PushError("the migrator is paused")
    client.wait_idle(sender)
    migrated = client.bitmap(snapshot.count)
    ready = ready_leaves(snapshot, bindings, migrated)
    summary = PushSummary(
        planned_accounts=len(ready), planned_batches=(len(ready) + batch_size - 1) // batch_size
    )
    log.info("%d accounts ready in %d batches of %d", len(ready), summary.planned_batches, batch_size)
    progress = _progress(show_progress)
    with progress:
        task = progress.add_task("migrating", total=len(ready))
        for number, batch in enumerate(plan_batches(snapshot, bindings, migrated, batch_size)):
            if not verify_multiproof(
                snapshot.root, [_leaf(e) for e in batch.entries], batch.proof, batch.flags
            ):
                raise PushError(f"internal error: batch {number} does not prove against the root")
            if on_batch is not None:
                on_batch(number, batch)
            if dry_run:
                if number == 0:
                    gas = client.simulate(batch, sender)
                    summary.gas_per_batch.append(gas)
                    log.info("dry run: first batch would use about %d gas", gas)
            else:
                try:
                    receipt = client.send(batch, sender)
                except Exception as error:  # surfaced as one line; a re-run resumes
                    raise PushError(f"batch {number} (leaves {batch.entries[0].index}..): {error}") from error
                gas_used = int(receipt.gas_used)
                summary.gas_used += gas_used
                summary.gas_per_batch.append(gas_used)
            summary.batches += 1
            summary.accounts += len(batch.entries)
            summary.amount += batch.amount
            progress.update(task, advance=len(batch.entries))
    summary.seconds = time.monotonic() - started
    return summary


def _leaf(entry: Any) -> bytes:
    from pha.migration.merkle import leaf_hash

    return leaf_hash(entry.index, entry.account, entry.amount)


def _progress(enabled: bool) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("accounts"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        disable=not enabled,
    )
