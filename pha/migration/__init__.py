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
