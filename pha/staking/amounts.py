"""Pure helpers: PHA amounts in and out, share conversion as the contract does it, times."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

PHA = 10**18
VIRTUAL_SHARES = 1_000
VIRTUAL_ASSETS = 1


class AmountError(ValueError):
    """A PHA amount that cannot be read."""


def parse_pha(text: str) -> int:
    """'1.5' -> 1.5 PHA in wei; at most 18 decimals, positive."""
    try:
        value = Decimal(text.strip().replace("_", ""))
    except InvalidOperation:
        raise AmountError(f"not an amount of PHA: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise AmountError(f"the amount must be positive: {text!r}")
    wei = value * PHA
    if wei != wei.to_integral_value():
        raise AmountError(f"PHA has 18 decimals: {text!r} has more")
    return int(wei)


def format_pha(wei: int) -> str:
    """wei -> '1,234.5 PHA' (exact, trailing zeros dropped)."""
    whole, frac = divmod(int(wei), PHA)
    text = f"{whole:,}"
    if frac:
        text += "." + f"{frac:018d}".rstrip("0")
    return f"{text} PHA"


def format_when(timestamp: int, now: int) -> str:
    """A UTC time and how far it is from `now`, e.g. '2026-12-02 19:00:00 UTC (in 6d 23h 59m)'."""
    when = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    delta = timestamp - now
    if delta <= 0:
        return f"{when} (passed)"
    days, rest = divmod(delta, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = max(1, rest // 60) if not (days or hours) else rest // 60
    parts = ([f"{days}d"] if days else []) + ([f"{hours}h"] if days or hours else []) + [f"{minutes}m"]
    return f"{when} (in {' '.join(parts)})"


def shares_for_assets(assets: int, active_assets: int, total_shares: int) -> int:
    """Shares to undelegate to receive at least `assets` (ceil of the contract's conversion)."""
    numerator = assets * (total_shares + VIRTUAL_SHARES)
    denominator = active_assets + VIRTUAL_ASSETS
    return -(-numerator // denominator)
