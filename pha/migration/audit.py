"""`migrate audit`: re-verify every on-chain mint against the snapshot, the root and the binding.

Anyone can run it with the published snapshot and bindings file. A mint is reported when its
leaf does not match the snapshot, its account was minted twice, its recipient or binding hash
differs from the published binding, or the binding's signature does not verify for this chain
and migrator. Batches are checked too: each `BatchMigrated.recordsHash` must be the hash of the
`Migrated` records of its transaction, and the contract's totals must equal the events' sums.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

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
            "amount": str(self.amount),
            "ok": self.ok,
            "problems": self.problems,
        }


def audit(
    snapshot: Snapshot,
    bindings: BindingSet,
    state: OnChainState,
    mints: list[MigratedEvent],
    batches: list[BatchEvent],
) -> AuditReport:
    report = AuditReport()
    if state.root != snapshot.root:
        report.problems.append(
            f"contract root 0x{state.root.hex()} is not the snapshot's 0x{snapshot.root.hex()}"
        )
    if state.total != snapshot.total:
        report.problems.append(f"contract total {state.total} is not the snapshot's {snapshot.total}")
    seen: set[int] = set()
    by_tx: dict[str, list[MigratedEvent]] = defaultdict(list)
    for m in mints:
        report.mints_checked += 1
        report.amount += m.amount
        by_tx[m.tx_hash].append(m)
        where = f"mint of leaf {m.index} (tx {m.tx_hash})"
        if m.index in seen:
            report.problems.append(f"{where}: leaf minted twice")
        seen.add(m.index)
        if not 0 <= m.index < snapshot.count:
            report.problems.append(f"{where}: no such leaf")
            continue
        leaf = snapshot.leaves[m.index]
        if leaf.pubkey != m.account or leaf.amount != m.amount:
            report.problems.append(f"{where}: (account, amount) differs from the snapshot leaf")
        binding = bindings.valid.get(m.account)
        if binding is None:
            report.problems.append(f"{where}: no valid published binding for account 0x{m.account.hex()}")
            continue
        if binding.recipient != m.recipient:
            report.problems.append(f"{where}: minted to {m.recipient}, binding names {binding.recipient}")
        if binding.binding_hash != m.binding_hash:
            report.problems.append(f"{where}: binding hash differs from the published signature's")
    for b in batches:
        report.batches_checked += 1
        records = [
            (m.index, m.account, m.amount, m.recipient, m.binding_hash) for m in by_tx.get(b.tx_hash, [])
        ]
        if len(records) != b.count or records_hash(records) != b.records_hash:
            report.problems.append(
                f"batch in tx {b.tx_hash}: recordsHash does not match its Migrated records"
            )
    if state.total_migrated != report.amount:
        report.problems.append(
            f"contract totalMigrated {state.total_migrated} != sum of mint events {report.amount}"
        )
    if state.accounts_migrated != report.mints_checked:
        report.problems.append(
            f"contract accountsMigrated {state.accounts_migrated} != {report.mints_checked} mint events"
        )
    return report
