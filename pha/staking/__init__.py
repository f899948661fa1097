"""Staking helpers for scripts and services: amounts, pool status, checked user actions."""

from pha.staking.amounts import format_pha, format_when, parse_pha, shares_for_assets

__all__ = ["format_pha", "format_when", "parse_pha", "shares_for_assets"]
