"""Staking actions as the `ape run stake` script performs them: checked first, so that user
mistakes become one clear line (StakeError) instead of a revert trace.

Each function takes Ape contract instances and an Ape account and returns the lines to show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pha import permit
from pha.faucet import faucet_hint
from pha.fmt import amount_json, format_duration, format_pha, format_share, format_time, percent, time_json
from pha.staking.amounts import shares_for_assets

log = logging.getLogger(__name__)


class StakeError(Exception):
    """A user mistake, explained in one line."""


@dataclass(frozen=True)
class Request:
    """One open withdrawal request of a delegator."""

    request_id: int
    queued_shares: int
    unlock_at: int
    assets: int


def _now() -> int:
    from ape import chain

    return int(chain.pending_timestamp)


def _require_pool(staking: Any, pool_id: int) -> Any:
    if pool_id < 1 or pool_id > int(staking.poolCount()):
        raise StakeError(f"no pool {pool_id} (pools are 1..{int(staking.poolCount())})")
    return staking.poolInfo(pool_id)


def open_requests(staking: Any, pool_id: int, delegator: str) -> list[Request]:
    """The delegator's requests in the pool that are not withdrawn yet."""
    found = []
    for request_id in range(int(staking.requestCount(pool_id, delegator))):
        request, assets = staking.withdrawalRequest(pool_id, delegator, request_id)
        if int(request[0]) != 0:
            found.append(Request(request_id, int(request[0]), int(request[1]), int(assets)))
    return found


def open_pool(staking: Any, account: Any, commission_bps: int) -> list[str]:
    maximum = int(staking.MAX_COMMISSION_BPS())
    if not 0 <= commission_bps <= maximum:
        raise StakeError(f"commission must be 0..{maximum} basis points, not {commission_bps}")
    tx = staking.openPool(commission_bps, sender=account)
    event = tx.decode_logs(staking.PoolOpened)[0]
    return [f"opened pool {event.poolId} (operator {account.address}, commission {commission_bps / 100:g}%)"]


def set_commission(staking: Any, account: Any, pool_id: int, commission_bps: int) -> list[str]:
    info = _require_pool(staking, pool_id)
    if info.operator != account.address:
        raise StakeError(f"only the operator of pool {pool_id} ({info.operator}) can change its commission")
    maximum = int(staking.MAX_COMMISSION_BPS())
    if not 0 <= commission_bps <= maximum:
        raise StakeError(f"commission must be 0..{maximum} basis points, not {commission_bps}")
    tx = staking.setCommission(pool_id, commission_bps, sender=account)
    scheduled = tx.decode_logs(staking.CommissionChangeScheduled)
    if scheduled:
        when = format_time(int(scheduled[0].effectiveAt), _now())
        return [f"pool {pool_id}: commission {commission_bps / 100:g}% from {when}"]
    return [f"pool {pool_id}: commission {commission_bps / 100:g}% now"]


def delegate(
    staking: Any, token: Any, account: Any, pool_id: int, assets: int, permit: bool = False
) -> list[str]:
    _require_pool(staking, pool_id)
    minimum = int(staking.MIN_DELEGATION())
    if assets < minimum:
        raise StakeError(f"the minimum delegation is {format_pha(minimum)}")
    balance = int(token.balanceOf(account.address))
    if balance < assets:
        raise StakeError(
            f"not enough PHA: {account.address} has {format_pha(balance)}, needs {format_pha(assets)}"
            + faucet_hint(str(account.address))
        )
    if permit:
        v, r, s, deadline = sign_permit(token, account, str(staking.address), assets)
        tx = staking.delegateWithPermit(pool_id, assets, deadline, v, r, s, sender=account)
    else:
        if int(token.allowance(account.address, staking.address)) < assets:
            token.approve(staking.address, assets, sender=account)
        tx = staking.invoke_transaction("delegate", pool_id, assets, sender=account)
    event = tx.decode_logs(staking.Delegated)[0]
    taken = int(event.assets)  # what the shares cost, rounded up: at most the amount offered
    lines = [
        f"delegated {format_pha(taken)} to pool {pool_id}: you hold {_position(staking, pool_id, account)}"
    ]
    if taken != assets:
        lines.append(
            f"  {format_pha(assets - taken)} of the {format_pha(assets)} offered buy no whole share: "
            "not taken"
        )
    return lines


def _position(staking: Any, pool_id: int, holder: Any) -> str:
    """'12.34 % of the pool (≈ 1,234.5 PHA)': a holder's shares as people read them."""
    shares = int(staking.sharesOf(pool_id, holder))
    total = int(staking.poolInfo(pool_id).totalShares)
    return format_share(shares, total, int(staking.convertToAssets(pool_id, shares)))


def sign_permit(
    token: Any, account: Any, spender: str, value: int, ttl: int = 3_600
) -> tuple[int, bytes, bytes, int]:
    """An ERC-2612 permit signed by the Ape account (pha.permit), refusals as a StakeError."""
    try:
        return permit.sign_permit(token, account, spender, value, ttl)
    except permit.PermitRefusedError as error:
        raise StakeError(str(error)) from None


def undelegate(staking: Any, account: Any, pool_id: int, assets: int | None) -> list[str]:
    """Undelegate `assets` PHA worth of shares (None: everything)."""
    info = _require_pool(staking, pool_id)
    held = int(staking.sharesOf(pool_id, account.address))
    if held == 0:
        raise StakeError(f"{account.address} has no active stake in pool {pool_id}")
    if assets is None:
        shares = held
    else:
        worth = int(staking.convertToAssets(pool_id, held))
        if assets > worth:
            raise StakeError(
                f"your stake in pool {pool_id} is worth {format_pha(worth)}, less than {format_pha(assets)}"
            )
        shares = min(held, shares_for_assets(assets, int(info.activeAssets), int(info.totalShares)))
        left = int(staking.convertToAssets(pool_id, held - shares))
        minimum = int(staking.MIN_DELEGATION())
        if held != shares and left < minimum:
            raise StakeError(
                f"that would leave {format_pha(left)} (less than {format_pha(minimum)}): use --all"
            )
    tx = staking.undelegate(pool_id, shares, sender=account)
    event = tx.decode_logs(staking.Undelegated)[0]
    return [
        f"undelegated {format_pha(int(event.assets))} from pool {pool_id} (request {event.requestId});"
        f" withdrawable from {format_time(int(event.unlockAt), _now())}"
    ]


def withdraw(staking: Any, account: Any, pool_id: int, request_id: int | None) -> list[str]:
    """Withdraw one request, or every matured one (None)."""
    _require_pool(staking, pool_id)
    requests = open_requests(staking, pool_id, account.address)
    if request_id is not None:
        requests = [r for r in requests if r.request_id == request_id]
        if not requests:
            raise StakeError(
                f"no open withdrawal request {request_id} of {account.address} in pool {pool_id}"
            )
    if not requests:
        raise StakeError(f"nothing to withdraw: {account.address} has no open request in pool {pool_id}")
    now = _now()
    ready = [r for r in requests if r.unlock_at <= now]
    if not ready:
        first = min(requests, key=lambda r: r.unlock_at)
        raise StakeError(
            f"cooldown not over: request {first.request_id} ({format_pha(first.assets)})"
            f" unlocks at {format_time(first.unlock_at, now)}"
        )
    lines = []
    for request in ready:
        tx = staking.withdraw(pool_id, request.request_id, sender=account)
        event = tx.decode_logs(staking.Withdrawn)[0]
        lines.append(
            f"withdrew {format_pha(int(event.assets))} (request {request.request_id}, pool {pool_id})"
        )
    waiting = len(requests) - len(ready)
    if waiting:
        lines.append(f"{waiting} request(s) still cooling down")
    return lines


def claim_commission(staking: Any, account: Any, pool_id: int, to: str | None) -> list[str]:
    info = _require_pool(staking, pool_id)
    if info.operator != account.address:
        raise StakeError(f"only the operator of pool {pool_id} ({info.operator}) can claim its commission")
    if int(info.commissionOwed) == 0:
        raise StakeError(f"pool {pool_id} has no commission to claim")
    tx = staking.claimCommission(pool_id, to or account.address, sender=account)
    event = tx.decode_logs(staking.CommissionClaimed)[0]
    return [f"claimed {format_pha(int(event.amount))} commission of pool {pool_id} to {event.to}"]


def sync_backing(staking: Any, account: Any, pool_ids: list[int] | None) -> list[str]:
    """Re-evaluate backing flags (needed after governance changed the minimum stake per worker):
    the given pools, or every pool with workers, in batches of MAX_SYNC_BATCH."""
    if pool_ids is None:
        pool_ids = [p for p in range(1, int(staking.poolCount()) + 1) if int(staking.workersOf(p))]
    for pool_id in pool_ids:
        _require_pool(staking, pool_id)
    before = {p: bool(staking.isUnderBacked(p)) for p in pool_ids}
    size = int(staking.MAX_SYNC_BATCH())
    for start in range(0, len(pool_ids), size):
        staking.syncBackings(pool_ids[start : start + size], sender=account)
    lines = []
    for pool_id in pool_ids:
        after = bool(staking.isUnderBacked(pool_id))
        change = "unchanged" if before[pool_id] == after else "changed; the registry was told"
        lines.append(f"pool {pool_id} is {'under-backed' if after else 'backed'} ({change})")
    return lines or ["no pool has workers: nothing to sync"]


def sweep_slashed(staking: Any, account: Any) -> list[str]:
    """Pay the slashed PHA owed to the treasury (anyone may)."""
    owed = int(staking.slashedOwed())
    if owed == 0:
        raise StakeError("no slashed PHA is owed to the treasury")
    tx = staking.sweepSlashed(sender=account)
    event = tx.decode_logs(staking.SlashedSwept)[0]
    return [f"paid {format_pha(int(event.amount))} of slashed PHA to the treasury {event.treasury}"]


@dataclass(frozen=True)
class Position:
    """A delegator's stake in one pool: shares, what they are worth, open withdrawal requests."""

    delegator: str
    shares: int
    value: int
    requests: list[Request]


@dataclass(frozen=True)
class PoolStatus:
    """What `stake pool-status` shows, read once at chain time `now`."""

    pool_id: int
    now: int
    operator: str
    commission_bps: int
    pending_commission_bps: int
    commission_effective_at: int
    """When the pending commission applies (0: no change pending)."""
    active: int
    queued: int
    total_shares: int
    share_price: int
    commission_owed: int
    min_stake_per_worker: int
    workers: int
    under_backed: bool
    cooldown: int
    position: Position | None = None

    @property
    def backing(self) -> int:
        return self.active + self.queued

    @property
    def max_workers(self) -> int:
        return self.backing // self.min_stake_per_worker if self.min_stake_per_worker else 0

    def lines(self) -> list[str]:
        """The human form (every line fits 80 columns for amounts below a billion PHA)."""
        lines = [
            f"pool {self.pool_id}",
            f"  operator           {self.operator}",
            f"  commission         {self.commission_bps / 100:g}%",
        ]
        if self.commission_effective_at:
            lines.append(
                f"  pending commission {self.pending_commission_bps / 100:g}% from "
                f"{format_time(self.commission_effective_at, self.now)}"
            )
        lines += [
            f"  backing            {format_pha(self.backing)} (slashable)",
            f"    active           {format_pha(self.active)}",
            f"    queued           {format_pha(self.queued)} in withdrawal requests",
            f"  share price        {format_pha(self.share_price)} per 1 PHA at the start",
            f"  commission owed    {format_pha(self.commission_owed)}",
            f"  min stake / worker {format_pha(self.min_stake_per_worker)}: backs up to "
            f"{self.max_workers} worker(s)",
            f"  workers            {self.workers}"
            + (" (UNDER-BACKED: its workers are not eligible)" if self.under_backed else ""),
            f"  cooldown           {format_duration(self.cooldown)}",
        ]
        p = self.position
        if p is not None:
            lines += [
                f"  delegator          {p.delegator}",
                f"    position         {format_share(p.shares, self.total_shares, p.value)}",
            ]
            for r in p.requests:
                state = (
                    "ready" if r.unlock_at <= self.now else f"unlocks {format_time(r.unlock_at, self.now)}"
                )
                lines.append(f"    request {r.request_id}: {format_pha(r.assets)}, {state}")
        return lines

    def as_json(self) -> dict[str, Any]:
        """The `--json` document (docs/staking.md "Scripts")."""
        p = self.position
        pending = None
        if self.commission_effective_at:
            pending = {
                "bps": self.pending_commission_bps,
                "effective_at": time_json(self.commission_effective_at),
            }
        return {
            "pool_id": self.pool_id,
            "now": time_json(self.now),
            "operator": self.operator,
            "commission_bps": self.commission_bps,
            "pending_commission": pending,
            "backing": amount_json(self.backing),
            "active": amount_json(self.active),
            "queued": amount_json(self.queued),
            "total_shares": str(self.total_shares),
            "share_price": amount_json(self.share_price),
            "commission_owed": amount_json(self.commission_owed),
            "min_stake_per_worker": amount_json(self.min_stake_per_worker),
            "max_workers": self.max_workers,
            "workers": self.workers,
            "under_backed": self.under_backed,
            "cooldown_s": self.cooldown,
            "delegator": None
            if p is None
            else {
                "address": p.delegator,
                "shares": str(p.shares),
                "pool_percent": percent(p.shares, self.total_shares).removesuffix(" %"),
                "value": amount_json(p.value),
                "requests": [
                    {
                        "request_id": r.request_id,
                        "assets": amount_json(r.assets),
                        "unlock_at": time_json(r.unlock_at),
                        "ready": r.unlock_at <= self.now,
                    }
                    for r in p.requests
                ],
            },
        }


def read_pool_status(staking: Any, pool_id: int, delegator: str | None = None) -> PoolStatus:
    """Backing, price, queue, workers, commission and (with `delegator`) a position, read now."""
    info = _require_pool(staking, pool_id)
    position = None
    if delegator is not None:
        shares = int(staking.sharesOf(pool_id, delegator))
        value = int(staking.convertToAssets(pool_id, shares))
        position = Position(delegator, shares, value, open_requests(staking, pool_id, delegator))
    return PoolStatus(
        pool_id=pool_id,
        now=_now(),
        operator=str(info.operator),
        commission_bps=int(info.commissionBps),
        pending_commission_bps=int(info.pendingCommissionBps),
        commission_effective_at=int(info.commissionEffectiveAt),
        active=int(info.activeAssets),
        queued=int(info.queuedAssets),
        total_shares=int(info.totalShares),
        share_price=int(staking.sharePrice(pool_id)),
        commission_owed=int(info.commissionOwed),
        min_stake_per_worker=int(staking.minStakePerWorker()),
        workers=int(staking.workersOf(pool_id)),
        under_backed=bool(staking.isUnderBacked(pool_id)),
        cooldown=int(staking.cooldown()),
        position=position,
    )


def pool_status(staking: Any, pool_id: int, delegator: str | None = None) -> list[str]:
    """What `stake pool-status` prints: backing, price, queue, workers, commission, a position."""
    return read_pool_status(staking, pool_id, delegator).lines()
