"""The reconciliation: snapshot total = migrated + pending, to the planck, from on-chain state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pha.migration import SCALE
from pha.migration.bindings import BindingSet
from pha.migration.chain import OnChainState
from pha.migration.plan import Bitmap
from pha.migration.snapshot import Snapshot


def reconcile(
    snapshot: Snapshot,
    bindings: BindingSet,
    migrated: Bitmap,
    state: OnChainState,
    claimed: Bitmap | None = None,
) -> dict[str, Any]:
    """A JSON-ready report. `balanced` is true only if every identity below holds exactly.

    `migrated` is this migrator's bitmap; `claimed` (a replacement's `claimedWords`) adds the
    leaves its predecessors paid, which this one never mints.

    - snapshot total = migrated + paid by predecessors + pending (planck), over the tree's leaves;
    - the contract's totalMigrated / accountsMigrated equal the bitmap's sum / count;
    - excluded accounts (keyless, protocol, listed with reasons) are outside the tree and the total.
    """
    rejected_by_account: dict[str, str] = {}
    for r in bindings.rejected:
        rejected_by_account.setdefault(r.account, r.reason)
    migrated_amount = migrated_count = earlier_amount = earlier_count = 0
    pending: list[dict[str, Any]] = []
    for leaf in snapshot.leaves:
        if leaf.index in migrated:
            migrated_amount += leaf.amount
            migrated_count += 1
            continue
        if claimed is not None and leaf.index in claimed:
            earlier_amount += leaf.amount
            earlier_count += 1
            continue
        address = snapshot.address(leaf.pubkey)
        if leaf.pubkey in bindings.valid:
            status = "bound, not pushed yet"
        else:
            reason = rejected_by_account.get(address) or rejected_by_account.get("0x" + leaf.pubkey.hex())
            status = f"binding rejected: {reason}" if reason else "unbound"
        pending.append(
            {
                "index": leaf.index,
                "account": address,
                "pubkey": "0x" + leaf.pubkey.hex(),
                "amount": str(leaf.amount),
                "status": status,
            }
        )
    pending_amount = snapshot.total - migrated_amount - earlier_amount
    listed_pending = sum(int(p["amount"]) for p in pending)
    checks = {
        "total_equals_migrated_plus_pending": snapshot.total
        == migrated_amount + earlier_amount + listed_pending,
        "contract_total_matches_bitmap": state.total_migrated == migrated_amount,
        "contract_count_matches_bitmap": state.accounts_migrated == migrated_count,
        "root_matches": state.root == snapshot.root,
        "contract_total_matches_snapshot": state.total == snapshot.total,
    }
    return {
        "migrator": state.address,
        "root": "0x" + snapshot.root.hex(),
        "snapshot": {"accounts": snapshot.count, "total": str(snapshot.total)},
        "migrated": {
            "accounts": migrated_count,
            "amount": str(migrated_amount),
            "wei_minted": str(migrated_amount * SCALE),
        },
        "paid_by_predecessor": {
            "migrator": state.predecessor,
            "accounts": earlier_count,
            "amount": str(earlier_amount),
        },
        "pending": {"accounts": len(pending), "amount": str(pending_amount), "list": pending},
        "excluded": {
            "accounts": len(snapshot.excluded),
            "amount": str(snapshot.excluded_total),
            "list": [
                {
                    "account": snapshot.address(e.pubkey),
                    "pubkey": "0x" + e.pubkey.hex(),
                    "amount": str(e.amount),
                    "reason": e.reason,
                }
                for e in snapshot.excluded
            ],
        },
        "rejected_bindings": [
            {"where": r.where, "account": r.account, "reason": r.reason} for r in bindings.rejected
        ],
        "on_chain": {
            "total_migrated": str(state.total_migrated),
            "accounts_migrated": state.accounts_migrated,
            "paused": state.paused,
            "closed": state.closed,
        },
        "checks": checks,
        "balanced": all(checks.values()),
    }


def write_report(report: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    return path


def render(report: dict[str, Any], max_pending: int = 20) -> Any:
    """A rich renderable: totals table, then the first pending accounts."""
    from rich.console import Group
    from rich.table import Table

    def pha(planck: str) -> str:
        whole, frac = divmod(int(planck), 10**12)
        return f"{whole:,}.{frac:012d}"

    totals = Table(title=f"Migration reconciliation ({report['migrator']})")
    for column in ("", "accounts", "planck", "PHA"):
        totals.add_column(column, justify="right" if column else "left")
    rows = [("snapshot", "snapshot"), ("migrated", "migrated"), ("pending", "pending")]
    if report.get("paid_by_predecessor", {}).get("accounts"):
        rows.insert(2, ("paid by a predecessor", "paid_by_predecessor"))
    for label, key in rows:
        part = report[key]
        amount = part.get("total", part.get("amount"))
        totals.add_row(label, f"{part['accounts']:,}", amount, pha(amount))
    ex = report["excluded"]
    totals.add_row("excluded (never minted)", f"{ex['accounts']:,}", ex["amount"], pha(ex["amount"]))
    totals.add_row("balanced", "", "", "yes" if report["balanced"] else "NO")
    pending = Table(title=f"Pending accounts (first {max_pending} of {report['pending']['accounts']})")
    for column in ("index", "account", "planck", "status"):
        pending.add_column(column)
    for p in report["pending"]["list"][:max_pending]:
        pending.add_row(str(p["index"]), p["account"], p["amount"], p["status"])
    return Group(totals, pending) if report["pending"]["accounts"] else totals
