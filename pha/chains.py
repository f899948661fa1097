"""Chain ids the project treats specially (kept equal to `QuoteVerifierBase._isLocalChain`).

`DEVNET_CHAIN_ID` is the project's own devnet and demo chain (a Base-like anvil, `--optimism`,
Ape network `base:devnet`). It is not the id of any public network (checked against the
ethereum-lists/chains registry: no `eip155-20350`), so the development quote verifier, whose key
is public, can work there and on the local ids without ever working on a public chain.
"""

from __future__ import annotations

DEVNET_CHAIN_ID = 20350
"""The project devnet / demo (`pha.anvil.Anvil(chain_id=DEVNET_CHAIN_ID, optimism=True)`)."""

LOCAL_CHAIN_IDS = frozenset({31337, 1337, DEVNET_CHAIN_ID})
"""Chains that exist only on a developer's machine: anvil/hardhat, ganache/geth-dev, the devnet.
The only chains where DevQuoteVerifier deploys and verifies and where DEBUG quotes are reported
instead of refused."""

PUBLIC_CHAIN_IDS = {
    1: "Ethereum",
    11155111: "Sepolia",
    17000: "Holesky",
    560048: "Hoodi",
    8453: "Base",
    84532: "Base Sepolia",
    10: "OP Mainnet",
    11155420: "OP Sepolia",
    2035: "Phala L2",
}
"""Public networks the stack targets or may meet (tests prove the dev verifier is refused on each)."""
