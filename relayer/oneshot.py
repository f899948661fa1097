"""One plain transaction from the relayer's key, outside the service's intent table (the
`fees --withdraw` and `flush --send` commands): sign, send, wait for the receipt, every failure
turned into the command's one-line error.

If `pha-relayer run` sends at the same moment, one of its transactions may meet "nonce too low",
which the service treats as an answer (it looks the nonce up) and re-plans.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted

from relayer.chain.rpc import Rpc, RpcUnavailable

RECEIPT_TIMEOUT = 120


def signed(w3: Web3, account: Any, call: Any) -> bytes:
    """`call` (a bound contract function) as a raw transaction from `account` at its pending nonce."""
    tx = call.build_transaction(
        {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": w3.eth.chain_id,
        }
    )
    return bytes(account.sign_transaction(tx).raw_transaction)


def send_once(rpc: Rpc, sign: Callable[[Web3], bytes], error: type[Exception], what: str) -> tuple[Any, str]:
    """Signs (`sign` may raise `error` itself, e.g. nothing owed), sends and waits; returns the
    receipt and the transaction hash. `what` names the action in the messages ("flush")."""
    try:
        raw = rpc.call(sign)
        tx_hash = rpc.call(lambda w3: w3.eth.send_raw_transaction(raw))
        receipt = rpc.call(lambda w3: w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT))
    except RpcUnavailable as failure:
        raise error(str(failure)) from None
    except ContractLogicError as failure:
        raise error(f"the escrow refuses the {what}: {failure}") from None
    except TimeExhausted:
        raise error(
            f"no receipt for {Web3.to_hex(tx_hash)} after {RECEIPT_TIMEOUT} s: check it later"
        ) from None
    if receipt["status"] != 1:
        raise error(f"{what} {Web3.to_hex(tx_hash)} reverted")
    return receipt, Web3.to_hex(tx_hash)
