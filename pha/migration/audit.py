"""`migrate audit`: re-verify every on-chain mint against the snapshot, the root and the binding.

Anyone can run it with the published snapshot and bindings file. A mint is reported when its
leaf does not match the snapshot, its account was minted twice, its recipient or binding hash
differs from the published binding, or the binding's signature does not verify for this chain
and migrator. Batches are checked too: each `BatchMigrated.recordsHash` must be the hash of the
`Migrated` records the same transaction logged before it (since the previous batch), and the
contract's totals must equal the events' sums.

Streaming: the events are fed in chain order (`MigratorClient.migration_events`, paged) and
reconciled as they come. What is kept is one bit per leaf (minted yet?), the open batch's
records (at most one batch) and the problems found, so memory does not grow with the number of
mints in an honest migration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pha.migration import planck_json
from pha.migration.bindings import BindingSet
from pha.migration.chain import BatchEvent, MigratedEvent, OnChainState
from pha.migration.plan import records_hash
from pha.migration.snapshot import Snapshot


@dataclass
class AuditReport:
    mints_checked: int = 0
    batches_checked: int = 0
    amount: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "mints_checked": self.mints_checked,
            "batches_checked": self.batches_checked,
            "amount": planck_json(self.amount),
            "ok": self.ok,
            "problems": self.problems,
        }


class Auditor:
    """Incremental audit: `feed` events in chain order, then `finish` with the contract's state."""

    def __init__(self, snapshot: Snapshot, bindings: BindingSet, state: OnChainState) -> None:
        self.snapshot = snapshot
        self.bindings = bindings
        self.state = state
        self.report = AuditReport()
        self._seen = bytearray((snapshot.count + 7) // 8)
        self._index = {leaf.pubkey: leaf.index for leaf in snapshot.leaves}
        self._tx: str | None = None
        self._open: list[tuple[int, bytes, int, str, bytes]] = []
        if state.root != snapshot.root:
            self._problem(f"contract root 0x{state.root.hex()} is not the snapshot's 0x{snapshot.root.hex()}")
        if state.total != snapshot.total:
            self._problem(f"contract total {state.total} is not the snapshot's {snapshot.total}")

    def feed(self, event: MigratedEvent | BatchEvent) -> None:
        if event.tx_hash != self._tx:
            self._close_tx()
            self._tx = event.tx_hash
        if isinstance(event, BatchEvent):
            self._batch(event)
        else:
            self._mint(event)

    def feed_all(self, events: Iterable[MigratedEvent | BatchEvent]) -> Auditor:
        for event in events:
            self.feed(event)
        return self

    def finish(self) -> AuditReport:
        self._close_tx()
        report, state = self.report, self.state
        if state.total_migrated != report.amount:
            self._problem(
                f"contract totalMigrated {state.total_migrated} != sum of mint events {report.amount}"
            )
        if state.accounts_migrated != report.mints_checked:
            self._problem(
                f"contract accountsMigrated {state.accounts_migrated} != {report.mints_checked} mint events"
            )
        return report

    # ------------------------------------------------------------ one event

    def _mint(self, m: MigratedEvent) -> None:
        report = self.report
        report.mints_checked += 1
        report.amount += m.amount
        index = self._index.get(m.account)
        # An account outside the snapshot cannot be recorded with its index: the batch's
        # recordsHash then fails too (it cannot match a leaf the contract never proved).
        self._open.append(
            (index if index is not None else 2**256 - 1, m.account, m.amount, m.recipient, m.binding_hash)
        )
        if index is None:
            self._problem(
                f"mint for account 0x{m.account.hex()} (tx {m.tx_hash}): no such leaf in the snapshot"
            )
            return
        where = f"mint of leaf {index} (tx {m.tx_hash})"
        byte, bit = divmod(index, 8)
        if self._seen[byte] & (1 << bit):
            self._problem(f"{where}: leaf minted twice")
        self._seen[byte] |= 1 << bit
        if self.snapshot.leaves[index].amount != m.amount:
            self._problem(f"{where}: amount differs from the snapshot leaf")
        binding = self.bindings.valid.get(m.account)
        if binding is None:
            self._problem(f"{where}: no valid published binding for account 0x{m.account.hex()}")
            return
        if binding.recipient != m.recipient:
            self._problem(f"{where}: minted to {m.recipient}, binding names {binding.recipient}")
        if binding.binding_hash != m.binding_hash:
            self._problem(f"{where}: binding hash differs from the published signature's")

    def _batch(self, b: BatchEvent) -> None:
        self.report.batches_checked += 1
        records, self._open = self._open, []
        if len(records) != b.count or records_hash(records) != b.records_hash:
            self._problem(f"batch in tx {b.tx_hash}: recordsHash does not match its Migrated records")

    def _close_tx(self) -> None:
        if self._open:
            self._problem(f"tx {self._tx}: {len(self._open)} Migrated event(s) without their BatchMigrated")
            self._open = []

    def _problem(self, text: str) -> None:
        self.report.problems.append(text)


def audit_events(
    snapshot: Snapshot,
    bindings: BindingSet,
    state: OnChainState,
    events: Iterable[MigratedEvent | BatchEvent],
) -> AuditReport:
    """The audit over `events` in chain order (a stream: nothing is kept per mint)."""
    return Auditor(snapshot, bindings, state).feed_all(events).finish()


def audit(
    snapshot: Snapshot,
    bindings: BindingSet,
    state: OnChainState,
    mints: list[MigratedEvent],
    batches: list[BatchEvent],
) -> AuditReport:
    """The audit over separate lists of both kinds of event (merged into chain order)."""
    events: list[MigratedEvent | BatchEvent] = [*mints, *batches]
    events.sort(key=lambda e: (e.block, e.log_index))
    return audit_events(snapshot, bindings, state, events)
