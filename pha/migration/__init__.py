"""The 1:1 parachain-to-ERC-20 migration: snapshot, bindings, Merkle tree, push, reconcile, audit.

Pure functions decide (snapshot reading, tree, batch planning, reconciliation); chain I/O lives
in `pha.migration.chain`. See docs/migration.md for the rules (amounts, pallet accounts, bindings).
"""

PLANCK_DECIMALS = 12
TOKEN_DECIMALS = 18
SCALE = 10 ** (TOKEN_DECIMALS - PLANCK_DECIMALS)
"""One planck becomes 10^6 wei."""
PHALA_SS58_FORMAT = 30
U128_MAX = 2**128 - 1


def format_planck(amount: int) -> str:
    """A parachain balance (planck) as people read it: '1,234.5 PHA'."""
    from pha.fmt import format_pha

    return format_pha(amount, PLANCK_DECIMALS)


def planck_json(amount: int) -> dict[str, str]:
    """A parachain balance for `--json` and reports: {"planck": "1234500000000000", "pha": "1234.5"}."""
    from pha.fmt import amount_json

    return amount_json(amount, "planck", PLANCK_DECIMALS)
