"""Pool ledgers in JobEscrow: what single settlements left for each pool (its share of the
payments and the protocol fee they earned), and paying them out with `flushPoolRewards`.

A batch settlement pays its pool's ledger by itself; a flush pays any listed pools (anyone may
send it). Used by `ape run stake flush-rewards`, `ape run governance sweep-fees` and the demo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pha.fmt import format_pha


@dataclass(frozen=True)
class Ledger:
    """One pool's unpaid ledger in the escrow."""

    pool_id: int
    reward: int
    fee: int

    @property
    def empty(self) -> bool:
        return self.reward == 0 and self.fee == 0

    def describe(self) -> str:
        return (
            f"pool {self.pool_id}: {format_pha(self.reward)} owed to its stakers, "
            f"{format_pha(self.fee)} of protocol fees"
        )


def ledgers(escrow: Any, pool_ids: list[int]) -> list[Ledger]:
    """The ledgers of `pool_ids`, empty ones included."""
    return [Ledger(p, int(escrow.poolRewardsOwed(p)), int(escrow.poolFeesOwed(p))) for p in pool_ids]


def unpaid(escrow: Any, pool_count: int) -> list[Ledger]:
    """Every pool (1..pool_count) whose ledger holds something."""
    return [entry for entry in ledgers(escrow, list(range(1, pool_count + 1))) if not entry.empty]


def flush(escrow: Any, account: Any, due: list[Ledger]) -> list[str]:
    """Pays the non-empty ledgers in `due` (MAX_FLUSH_POOLS per transaction); the lines to show."""
    due = [entry for entry in due if not entry.empty]
    if not due:
        return ["no pool ledger holds anything: nothing to flush"]
    size = int(escrow.MAX_FLUSH_POOLS())
    lines = []
    for start in range(0, len(due), size):
        chunk = due[start : start + size]
        tx = escrow.flushPoolRewards([entry.pool_id for entry in chunk], sender=account)
        for event in tx.decode_logs(escrow.PoolRewardsFlushed):
            lines.append(
                f"pool {int(event.poolId)}: paid {format_pha(int(event.reward))} to its stakers, "
                f"{format_pha(int(event.fee))} of protocol fees now sweepable (tx {tx.txn_hash})"
            )
    return lines


def flush_if_owed(escrow: Any, account: Any, pool_id: int) -> list[str]:
    """Pays the pool's ledger if it holds anything (before a position leaves the pool, so it
    leaves with its share); no lines and no transaction otherwise."""
    due = ledgers(escrow, [pool_id])
    return [] if due[0].empty else flush(escrow, account, due)
