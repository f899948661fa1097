"""Pool ledgers: what JobEscrow holds for each pool from single settlements (`poolRewardsOwed`,
`poolFeesOwed`), paid by the pool's next batch or by `flushPoolRewards(poolIds)` (anyone).

The service reads them with `read_ledgers` (one JSON-RPC batch) and flushes through its transaction
manager (relayer/service.py `_pay_ledgers`); `pha-relayer flush` shows them and, with `--send`,
flushes once from the relayer's key (a plain transaction beside the service's, like `fees
--withdraw`: if `run` sends at the same moment, one of its transactions may meet "nonce too low",
which it treats as an answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_abi import decode
from eth_account import Account
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.logs import DISCARD

from relayer.chain.rpc import Rpc, RpcUnavailable, abi, encode_call, eth_calls
from relayer.decide import MAX_FLUSH_POOLS
from relayer.oneshot import send_once, signed
from relayer.settings import RelayerSettings


class LedgerError(Exception):
    """One line for the relayer's operator."""


def read_ledgers(
    w3: Web3, escrow: str, pools: list[int], block: int | None = None
) -> tuple[int, dict[int, tuple[int, int]]]:
    """(block read, pool -> (reward owed, fee owed)) at `block` (default: the latest), in one batch."""
    if block is None:
        block = int(w3.eth.block_number)
    calls = []
    for pool in pools:
        calls.append((escrow, encode_call("IJobEscrow", "poolRewardsOwed", [pool])))
        calls.append((escrow, encode_call("IJobEscrow", "poolFeesOwed", [pool])))
    answers = eth_calls(w3, calls, hex(block))
    owed = {}
    for i, pool in enumerate(pools):
        reward = decode(["uint256"], answers[2 * i])[0]
        fee = decode(["uint256"], answers[2 * i + 1])[0]
        owed[pool] = (int(reward), int(fee))
    return block, owed


@dataclass(frozen=True)
class Flushed:
    tx_hash: str
    paid: dict[int, tuple[int, int]]
    """pool -> (reward paid to the pool, fee moved to the protocol fees), from PoolRewardsFlushed."""


def _rpc(settings: RelayerSettings) -> tuple[Rpc, str]:
    escrow, _, _ = settings.resolved_addresses()
    return Rpc(settings.rpc_urls, settings.rpc_timeout), escrow


def known_pools(db_path: Path) -> list[int]:
    """The pools whose ledger this relayer's single settlements entered (from its database)."""
    from relayer.store import Store

    if not db_path.exists():
        raise LedgerError(f"no database at {db_path}: name the pools with --pool")
    store = Store(db_path)
    try:
        return store.known_pools()
    finally:
        store.close()


def show_ledgers(settings: RelayerSettings, pools: list[int]) -> dict[int, tuple[int, int]]:
    """pool -> (reward owed, fee owed) at the latest block."""
    rpc, escrow = _rpc(settings)
    try:
        _, owed = rpc.call(lambda w3: read_ledgers(w3, escrow, pools))
    except RpcUnavailable as error:
        raise LedgerError(str(error)) from None
    except (ContractLogicError, Web3RPCError) as error:
        raise LedgerError(f"escrow {escrow} does not answer poolRewardsOwed: {error}") from None
    return owed


def flush_ledgers(settings: RelayerSettings, pools: list[int]) -> Flushed:
    """flushPoolRewards(pools with a non-empty ledger) from the relayer's key; waits for the receipt."""
    if len(pools) > MAX_FLUSH_POOLS:
        raise LedgerError(f"{len(pools)} pools: one flush takes at most {MAX_FLUSH_POOLS}")
    rpc, escrow = _rpc(settings)
    account = Account.from_key(settings.key())

    def sign(w3: Web3) -> bytes:
        _, owed = read_ledgers(w3, escrow, pools)
        due = [p for p in pools if owed[p] != (0, 0)]
        if not due:
            raise LedgerError(f"nothing owed in pool(s) {', '.join(map(str, pools))}")
        contract = w3.eth.contract(address=to_checksum_address(escrow), abi=abi("IJobEscrow"))
        return signed(w3, account, contract.functions.flushPoolRewards(due))

    receipt, tx_hash = send_once(rpc, sign, LedgerError, "flush")
    contract = Web3().eth.contract(address=to_checksum_address(escrow), abi=abi("IJobEscrow"))
    events = contract.events.PoolRewardsFlushed().process_receipt(receipt, errors=DISCARD)
    paid = {int(e["args"]["poolId"]): (int(e["args"]["reward"]), int(e["args"]["fee"])) for e in events}
    return Flushed(tx_hash=tx_hash, paid=paid)
