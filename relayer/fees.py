"""Relay fees: JobEscrow credits them to the submitting relayer at settlement (pull payments);
the relayer's own key withdraws them (`pha-relayer fees [--withdraw] [--to ADDR]`).

The withdrawal is one plain transaction from the relayer's key, outside the service's intent
table: if `pha-relayer run` is sending at the same moment, one of its transactions may meet
"nonce too low", which the service treats as an answer (it looks the nonce up) and re-plans.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_utils import is_address, to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted
from web3.logs import DISCARD

from relayer.chain.rpc import Rpc, RpcUnavailable, abi
from relayer.settings import RelayerSettings

RECEIPT_TIMEOUT = 120


class FeesError(Exception):
    """One line for the relayer's operator."""


def _escrow(settings: RelayerSettings) -> tuple[Rpc, str, Any]:
    escrow, _, _ = settings.resolved_addresses()
    account = Account.from_key(settings.key())
    return Rpc(settings.rpc_urls, settings.rpc_timeout), escrow, account


def relay_fees(settings: RelayerSettings) -> tuple[int, int, str]:
    """(owed, withdrawn so far, relayer address) as JobEscrow records them."""
    rpc, escrow, account = _escrow(settings)

    def read(w3: Web3) -> tuple[int, int]:
        contract = w3.eth.contract(address=to_checksum_address(escrow), abi=abi("IJobEscrow"))
        owed = contract.functions.relayerOwed(account.address).call()
        return int(owed), int(contract.functions.relayerWithdrawn(account.address).call())

    try:
        owed, withdrawn = rpc.call(read)
    except RpcUnavailable as error:
        raise FeesError(str(error)) from None
    except ContractLogicError as error:
        raise FeesError(f"escrow {escrow} does not answer relayerOwed: {error}") from None
    return owed, withdrawn, account.address


def withdraw_relay_fees(settings: RelayerSettings, to: str | None = None) -> tuple[int, str, str]:
    """withdrawRelayerFees(to) from the relayer's key; returns (amount, tx hash, receiver)."""
    rpc, escrow, account = _escrow(settings)
    if to is not None and not is_address(to):
        raise FeesError(f"--to is not an address: {to!r}")
    receiver = to_checksum_address(to) if to else account.address

    def sign(w3: Web3) -> bytes:
        contract = w3.eth.contract(address=to_checksum_address(escrow), abi=abi("IJobEscrow"))
        if int(contract.functions.relayerOwed(account.address).call()) == 0:
            raise FeesError(f"no relay fees owed to {account.address}")
        nonce = w3.eth.get_transaction_count(account.address, "pending")
        tx = contract.functions.withdrawRelayerFees(receiver).build_transaction(
            {"from": account.address, "nonce": nonce, "chainId": w3.eth.chain_id}
        )
        return bytes(account.sign_transaction(tx).raw_transaction)

    try:
        raw = rpc.call(sign)
        tx_hash = rpc.call(lambda w3: w3.eth.send_raw_transaction(raw))
        receipt = rpc.call(lambda w3: w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT))
    except RpcUnavailable as error:
        raise FeesError(str(error)) from None
    except ContractLogicError as error:
        raise FeesError(f"the escrow refuses the withdrawal: {error}") from None
    except TimeExhausted:
        raise FeesError(f"no receipt for {tx_hash.hex()} after {RECEIPT_TIMEOUT} s: check it later") from None
    if receipt["status"] != 1:
        raise FeesError(f"withdrawal {tx_hash.hex()} reverted")
    contract = Web3().eth.contract(address=to_checksum_address(escrow), abi=abi("IJobEscrow"))
    events = contract.events.RelayerFeesWithdrawn().process_receipt(receipt, errors=DISCARD)
    amount = int(events[0]["args"]["amount"]) if events else 0
    return amount, "0x" + bytes(tx_hash).hex().removeprefix("0x"), receiver
