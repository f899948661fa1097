"""Relay fees: JobEscrow credits them to the submitting relayer at settlement (pull payments);
the relayer's own key withdraws them (`pha-relayer fees [--withdraw] [--to ADDR]`).

The withdrawal is one plain transaction from the relayer's key (relayer/oneshot.py).
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_utils import is_address, to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from relayer.chain.rpc import Rpc, RpcUnavailable, abi
from relayer.oneshot import send_once, signed
from relayer.settings import RelayerSettings


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
        return signed(w3, account, contract.functions.withdrawRelayerFees(receiver))

    receipt, tx_hash = send_once(rpc, sign, FeesError, "withdrawal")
    contract = Web3().eth.contract(address=to_checksum_address(escrow), abi=abi("IJobEscrow"))
    events = contract.events.RelayerFeesWithdrawn().process_receipt(receipt, errors=DISCARD)
    amount = int(events[0]["args"]["amount"]) if events else 0
    return amount, tx_hash, receiver
