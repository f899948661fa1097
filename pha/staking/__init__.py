"""Staking helpers for scripts and services: amounts, pool status, checked user actions."""

from pha.staking.amounts import parse_pha, shares_for_assets

__all__ = ["parse_pha", "shares_for_assets"]
