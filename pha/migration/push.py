"""Pushing the swap in batches, resumable: the chain's bitmap is the only checkpoint.

Every run starts by waiting for the operator's in-flight transactions, then reads which leaves
are migrated on-chain and plans only the rest. Killing a run at any point and starting again can
neither mint twice (the contract refuses a migrated leaf) nor skip (the bitmap is re-read).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pha.migration.bindings import Binding
from pha.migration.chain import MigratorClient, OnChainState, SendError
from pha.migration.merkle import verify_multiproof
from pha.migration.plan import Batch, plan_batches, ready_leaves
from pha.migration.snapshot import Snapshot

log = logging.getLogger(__name__)

DEFAULT_IN_FLIGHT = 8
"""Batches broadcast before waiting for the oldest receipt: several fit in one L2 block."""


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
    max_in_flight: int = DEFAULT_IN_FLIGHT,
) -> PushSummary:
    """Push every ready (bound, not yet migrated) account; `on_batch(i, batch)` runs before each send.

    Up to `max_in_flight` batches are broadcast before the oldest one's receipt is awaited (one
    nonce each, counted locally from the chain's after `wait_idle`). Batches hold disjoint leaves,
    so their order on-chain does not matter. On the first failure nothing more is sent, the
    batches already in flight are followed to their receipts, and PushError says what failed.
    """
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    started = time.monotonic()
    state = client.state()
    check_deployment(snapshot, state)
    if state.closed:
        raise PushError("the migration is closed: nothing more can be minted")
    if state.paused and not dry_run:
        raise PushError("the migrator is paused")
    try:
        client.wait_idle(sender)
    except TimeoutError as error:
        raise PushError(f"{error}: let them land (or replace them), then run again") from None
    # A replacement refuses what its predecessors minted too: plan around every claimed leaf.
    migrated = client.claimed(snapshot.count)
    ready = ready_leaves(snapshot, bindings, migrated)
    summary = PushSummary(
        planned_accounts=len(ready), planned_batches=(len(ready) + batch_size - 1) // batch_size
    )
    del ready
    log.info(
        "%d accounts ready in %d batches of %d", summary.planned_accounts, summary.planned_batches, batch_size
    )
    in_flight: deque[_InFlight] = deque()
    failures: list[str] = []
    progress = _progress(show_progress)
    with progress:
        task = progress.add_task("migrating", total=summary.planned_accounts)

        def settle(item: _InFlight) -> None:
            try:
                receipt = client.wait_receipt(item.tx_hash)
            except SendError as error:
                failures.append(f"batch {item.number} (leaves {item.first}..): {error}")
                return
            if int(receipt["status"]) != 1:
                failures.append(f"batch {item.number} (leaves {item.first}..): reverted in tx {item.tx_hash}")
                return
            gas_used = int(receipt["gasUsed"])
            summary.gas_used += gas_used
            summary.gas_per_batch.append(gas_used)
            summary.batches += 1
            summary.accounts += item.accounts
            summary.amount += item.amount
            progress.update(task, advance=item.accounts)

        nonce = None if dry_run else client.next_nonce(sender)
        for number, batch in enumerate(plan_batches(snapshot, bindings, migrated, batch_size)):
            if not verify_multiproof(
                snapshot.root, [_leaf(e) for e in batch.entries], batch.proof, batch.flags
            ):
                raise PushError(f"internal error: batch {number} does not prove against the root")
            if on_batch is not None:
                on_batch(number, batch)
            if dry_run:
                if number == 0:
                    try:
                        gas = client.simulate(batch, sender)
                    except SendError as error:
                        raise PushError(f"dry run: the first batch {error}") from error
                    summary.gas_per_batch.append(gas)
                    log.info("dry run: first batch would use about %d gas", gas)
                summary.batches += 1
                summary.accounts += len(batch.entries)
                summary.amount += batch.amount
                progress.update(task, advance=len(batch.entries))
                continue
            while len(in_flight) >= max_in_flight:
                settle(in_flight.popleft())
            if failures:
                break
            assert nonce is not None
            try:
                tx_hash = client.submit(batch, sender, nonce)
            except SendError as error:
                failures.append(f"batch {number} (leaves {batch.entries[0].index}..): {error}")
                break
            nonce += 1
            in_flight.append(
                _InFlight(number, batch.entries[0].index, len(batch.entries), batch.amount, tx_hash)
            )
        while in_flight:
            settle(in_flight.popleft())
    summary.seconds = time.monotonic() - started
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise PushError(
            f"{failures[0]}{more}; {summary.accounts:,} accounts in {summary.batches:,} batches landed"
        )
    return summary


@dataclass(frozen=True, slots=True)
class _InFlight:
    number: int
    first: int
    accounts: int
    amount: int
    tx_hash: str


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
