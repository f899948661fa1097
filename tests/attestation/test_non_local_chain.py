"""Behaviour on a Base-like chain id (8453): a project-owned anvil driven with raw web3.

Kept to one anvil per module and a handful of calls.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError

from pha.anvil import Anvil
from pha.quote.committee import Statement, encode_evidence, sign_statement
from pha.quote.dev import DEV_ADDRESS, simulated_tdx_quote
from pha.quote.layout import parse_quote
from pha.quote.tcb import TcbStatus

REGS = {f"rt_mr{i}": bytes([0x20 + i]) * 48 for i in range(3)}


def selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


@pytest.fixture(scope="module")
def base_chain():
    with Anvil(chain_id=8453) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        yield w3


def deploy(w3: Web3, container, *args):
    ct = container.contract_type
    abi = [item.model_dump(mode="json", by_alias=True) for item in ct.abi]
    factory = w3.eth.contract(abi=abi, bytecode=ct.deployment_bytecode.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(*args).transact({"from": w3.eth.accounts[0]})
    )
    return w3.eth.contract(address=receipt.contractAddress, abi=abi)


def reverts_with(call, signature: str) -> None:
    with pytest.raises(ContractCustomError) as info:
        call()
    assert str(info.value.args[0]).startswith(selector(signature)), info.value.args


def test_dev_verifier__chain_8453__refused_until_governance_opts_in(project, base_chain):
    w3 = base_chain
    gov = w3.eth.accounts[0]
    dev = deploy(w3, project.DevQuoteVerifier, gov, DEV_ADDRESS, 3600)
    raw = simulated_tdx_quote(mr_td=b"\x01" * 48, report_data=bytes(64), **REGS)
    assert dev.functions.enabledOnThisChain().call() is False
    reverts_with(lambda: dev.functions.verify(raw, b"").call(), "DevQuoteVerifierChainNotAllowed(uint256)")

    receipt = w3.eth.wait_for_transaction_receipt(
        dev.functions.setNonLocalOptIn(True).transact({"from": gov})
    )
    (event,) = dev.events.DevQuoteVerifierNonLocalOptIn().process_receipt(receipt)
    assert event.args.chainId == 8453 and event.args.enabled is True
    result = dev.functions.verify(raw, b"").call()
    assert result[2] == parse_quote(raw).measurement_id  # measurementId

    debug = simulated_tdx_quote(mr_td=b"\x01" * 48, report_data=bytes(64), debug=True, **REGS)
    reverts_with(lambda: dev.functions.verify(debug, b"").call(), "QuoteVerifierDebugRefused(uint256)")


def test_committee__debug_td_on_chain_8453__refused(project, base_chain, tdx_raw):
    w3 = base_chain
    key = keccak(b"pha test attester base")
    signer = Account.from_key(key).address
    committee = deploy(w3, project.CommitteeQuoteVerifier, w3.eth.accounts[0], [signer], 1, 86400)
    now = w3.eth.get_block("latest").timestamp
    good = tdx_raw[:632]
    debug = bytearray(good)
    debug[48 + 120] |= 0x01
    for raw, refused in ((good, False), (bytes(debug), True)):
        statement = Statement(parse_quote(raw).quote_hash, TcbStatus.UpToDate, [], 0, now - 10, now + 3600)
        evidence = encode_evidence(
            statement, [(signer, sign_statement(statement, key, 8453, committee.address))]
        )
        if refused:
            reverts_with(
                lambda raw=raw, evidence=evidence: committee.functions.verify(raw, evidence).call(),
                "QuoteVerifierDebugRefused(uint256)",
            )
        else:
            assert committee.functions.verify(raw, evidence).call()[6] is False  # debug flag
