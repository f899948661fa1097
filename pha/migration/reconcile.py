"""The reconciliation: snapshot total = migrated + pending, to the planck, from on-chain state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pha.fmt import Column, amount_json, format_pha, table
from pha.migration import PLANCK_DECIMALS, SCALE, planck_json
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
                "amount": planck_json(leaf.amount),
                "status": status,
            }
        )
    pending_amount = snapshot.total - migrated_amount - earlier_amount
    listed_pending = sum(int(p["amount"]["planck"]) for p in pending)
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
        "snapshot": {"accounts": snapshot.count, "total": planck_json(snapshot.total)},
        "migrated": {
            "accounts": migrated_count,
            "amount": planck_json(migrated_amount),
            "minted": amount_json(migrated_amount * SCALE),
        },
        "paid_by_predecessor": {
            "migrator": state.predecessor,
            "accounts": earlier_count,
            "amount": planck_json(earlier_amount),
        },
        "pending": {"accounts": len(pending), "amount": planck_json(pending_amount), "list": pending},
        "excluded": {
            "accounts": len(snapshot.excluded),
            "amount": planck_json(snapshot.excluded_total),
            "list": [
                {
                    "account": snapshot.address(e.pubkey),
                    "pubkey": "0x" + e.pubkey.hex(),
                    "amount": planck_json(e.amount),
                    "reason": e.reason,
                }
                for e in snapshot.excluded
            ],
        },
        "rejected_bindings": [
            {"where": r.where, "account": r.account, "reason": r.reason} for r in bindings.rejected
        ],
        "on_chain": {
            "total_migrated": planck_json(state.total_migrated),
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


def render(report: dict[str, Any], max_pending: int = 20) -> str:
    """The human form: the totals in PHA, then the first `max_pending` pending accounts, within
    80 columns (every account and reason is in the JSON report)."""
    rows = [("snapshot", report["snapshot"]["accounts"], report["snapshot"]["total"])]
    rows.append(("migrated", report["migrated"]["accounts"], report["migrated"]["amount"]))
    earlier = report.get("paid_by_predecessor", {})
    if earlier.get("accounts"):
        rows.append(("paid by a predecessor", earlier["accounts"], earlier["amount"]))
    rows.append(("pending", report["pending"]["accounts"], report["pending"]["amount"]))
    rows.append(("excluded (never minted)", report["excluded"]["accounts"], report["excluded"]["amount"]))
    totals = table(
        [Column("", cut=None), Column("accounts", ">", cut=None), Column("PHA", ".", cut=None)],
        [[label, f"{count:,}", format_pha(int(amount["planck"]), PLANCK_DECIMALS, unit="")]
         for label, count, amount in rows],
    )  # fmt: skip
    lines = [
        f"Migration reconciliation (migrator {report['migrator']})",
        totals,
        f"balanced: {'yes' if report['balanced'] else 'NO'}",
    ]
    for name, ok in report["checks"].items():
        if not ok:
            lines.append(f"  FAILED: {name.replace('_', ' ')}")
    pending = report["pending"]
    if pending["accounts"]:
        shown = pending["list"][:max_pending]
        more = f"first {len(shown)} of {pending['accounts']:,}; all: --json or --out FILE"
        lines += [
            "",
            f"Pending accounts ({more})" if len(shown) < pending["accounts"] else "Pending accounts",
            table(
                [Column("account", cut="middle", min_width=48), Column("PHA", ".", cut=None),
                 Column("status", min_width=10)],
                [[p["account"], format_pha(int(p["amount"]["planck"]), PLANCK_DECIMALS, unit=""), p["status"]]
                 for p in shown],
            ),
        ]  # fmt: skip
    return "\n".join(lines)
