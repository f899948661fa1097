"""Pure helpers: PHA amounts read from people, share conversion as the contract does it.

Showing amounts and times is pha.fmt's.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from pha.fmt import PHA

__all__ = ["PHA", "AmountError", "parse_pha", "shares_for_assets"]

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


def shares_for_assets(assets: int, active_assets: int, total_shares: int) -> int:
    """Shares to undelegate to receive at least `assets` (ceil of the contract's conversion)."""
    numerator = assets * (total_shares + VIRTUAL_SHARES)
    denominator = active_assets + VIRTUAL_ASSETS
    return -(-numerator // denominator)
