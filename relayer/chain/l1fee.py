"""The OP-stack L1 data fee: what a transaction pays on top of its L2 gas for publishing its bytes
on L1 (Base, OP, Phala L2). It is not part of the gas limit or the gas price: the sequencer takes
it from the sender's balance, so a relayer that counts only gas underestimates its costs and can
run out of balance with transactions it believed funded.

Source of truth, in order: the receipt's `l1Fee` field (OP-stack nodes add it to every receipt),
else the GasPriceOracle predeploy's `getL1Fee(bytes)` read at the transaction's block (the values
the sequencer charged with). A chain with no code at the predeploy is not an OP-stack chain: the
L1 fee is 0 there.
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3

GAS_PRICE_ORACLE = Web3.to_checksum_address("0x420000000000000000000000000000000000000f")
"""The OP-stack predeploy (the same address on every OP-stack chain)."""
_GET_L1_FEE = keccak(text="getL1Fee(bytes)")[:4]


class L1FeeOracle:
    """Reads L1 data fees on one chain; whether the chain has the oracle is asked once."""

    def __init__(self) -> None:
        self.present: bool | None = None
        """None until asked; False on a chain without the predeploy (not OP-stack)."""

    def _has_oracle(self, w3: Web3) -> bool:
        if self.present is None:
            self.present = len(w3.eth.get_code(GAS_PRICE_ORACLE)) > 0
        return self.present

    def estimate(self, w3: Web3, raw_tx: bytes, sender: str, block: int | str = "latest") -> int:
        """The L1 fee (wei) of these transaction bytes at `block`; 0 without the oracle. The call is
        made from `sender` (anvil's OP mode charges even an eth_call an L1 fee from its caller). The oracle
        takes the unsigned transaction and adds a signature's worth of bytes itself, so the signed
        bytes given here make the figure a slight overestimate (about 65 bytes' worth)."""
        if not self._has_oracle(w3):
            return 0
        data = _GET_L1_FEE + encode(["bytes"], [bytes(raw_tx)])
        call = {"from": sender, "to": GAS_PRICE_ORACLE, "data": HexBytes(data)}
        answer = w3.eth.call(call, block)  # type: ignore[arg-type]
        return int(decode(["uint256"], bytes(answer))[0])

    def paid(self, w3: Web3, receipt: Any, raw_tx: bytes, sender: str) -> int:
        """The L1 fee a mined transaction paid: the receipt's own figure when the node gives one."""
        reported = receipt.get("l1Fee") if hasattr(receipt, "get") else None
        if reported is not None:
            return int(reported, 16) if isinstance(reported, str) else int(reported)
        return self.estimate(w3, raw_tx, sender, int(receipt["blockNumber"]))
