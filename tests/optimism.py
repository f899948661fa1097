"""OP-stack fee predeploys on an `anvil --optimism` (test support): anvil has no code at the
GasPriceOracle and L1Block addresses, so the real runtime code (tests/data/optimism, with its
provenance) is placed there and L1Block's storage given the L1 values the oracle reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pha.anvil import rpc_call
from relayer.chain.l1fee import GAS_PRICE_ORACLE

L1_BLOCK = "0x4200000000000000000000000000000000000015"
PREDEPLOYS = Path(__file__).parent / "data" / "optimism" / "predeploys.json"


@dataclass(frozen=True)
class L1Values:
    """What the sequencer's L1 attributes deposit would have written (Ecotone/Fjord fields)."""

    base_fee: int = 30 * 10**9
    blob_base_fee: int = 3 * 10**9
    base_fee_scalar: int = 1_368
    blob_base_fee_scalar: int = 810_949


def _slot(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def install_fee_predeploys(url: str, values: L1Values = L1Values(), fjord: bool = True) -> None:
    """Place GasPriceOracle + L1Block at their predeploy addresses with `values`; Fjord's fee
    formula when `fjord` (else Ecotone's)."""
    code = json.loads(PREDEPLOYS.read_text())
    rpc_call(url, "anvil_setCode", [GAS_PRICE_ORACLE, code["GasPriceOracle"]])
    rpc_call(url, "anvil_setCode", [L1_BLOCK, code["L1Block"]])
    flags = 1 | (int(fjord) << 8)  # slot 0: isEcotone (byte 0), isFjord (byte 1)
    rpc_call(url, "anvil_setStorageAt", [GAS_PRICE_ORACLE, _slot(0), _slot(flags)])
    packed = (values.blob_base_fee_scalar << 64) | (values.base_fee_scalar << 96)  # slot 3
    for slot, value in ((1, values.base_fee), (3, packed), (7, values.blob_base_fee)):
        rpc_call(url, "anvil_setStorageAt", [L1_BLOCK, _slot(slot), _slot(value)])
