"""ERC-2612 permits signed by an Ape account (the token's EIP-712 domain: name, version, chain, token)."""

from __future__ import annotations

from typing import Any

PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


class PermitRefusedError(Exception):
    """The account (a hardware wallet, a prompt) declined to sign."""


def sign_permit(
    token: Any, account: Any, spender: str, value: int, ttl: int = 3_600
) -> tuple[int, bytes, bytes, int]:
    """(v, r, s, deadline) of a permit for `spender` to pull `value` from `account`, valid `ttl` seconds."""
    from ape import chain
    from eth_account.messages import encode_typed_data

    # From the later of the pending and the latest block's time: after a node's clock was moved
    # forward (evm_increaseTime, a devnet ahead of wall time) the pending estimate can lag the
    # chain, and a deadline from it would already have passed.
    deadline = max(int(chain.pending_timestamp), int(chain.blocks.head.timestamp)) + ttl
    domain = token.eip712Domain()
    typed = encode_typed_data(
        {"name": domain.name, "version": domain.version, "chainId": chain.chain_id,
         "verifyingContract": str(token.address)},
        PERMIT_TYPES,
        {"owner": str(account.address), "spender": str(spender), "value": value,
         "nonce": int(token.nonces(account.address)), "deadline": deadline},
    )  # fmt: skip
    signature = account.sign_message(typed)
    if signature is None:
        raise PermitRefusedError("the account declined to sign the permit")
    return int(signature.v), bytes(signature.r), bytes(signature.s), deadline
