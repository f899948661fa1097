"""The development verifier never works on a public chain id; the committee path does (issue 17,
item 4). Project-owned anvils driven with raw web3, one per module plus one per public stack.

The dev verifier's key is public (pha.quote.dev.DEV_PRIVATE_KEY), so anything it accepts is
forgeable: it deploys and verifies on the local ids only (31337, 1337, the devnet 20350) and has
no opt-in. Refusal is shown at deployment (every public id) and at use (deployed on the devnet,
then the node's chain id switched to a public one with `anvil_setChainId`, as a fork would).
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError

from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID, LOCAL_CHAIN_IDS, PUBLIC_CHAIN_IDS
from pha.quote.committee import Statement, encode_evidence, sign_statement
from pha.quote.dev import DEV_ADDRESS, simulated_tdx_quote
from pha.quote.layout import parse_quote
from pha.quote.tcb import TcbStatus

REGS = {f"rt_mr{i}": bytes([0x20 + i]) * 48 for i in range(3)}
CHAIN_NOT_ALLOWED = "DevQuoteVerifierChainNotAllowed(uint256)"


def selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


@pytest.fixture(scope="module")
def node():
    with Anvil(chain_id=DEVNET_CHAIN_ID) as anvil:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        yield w3
        w3.provider.make_request("anvil_setChainId", [DEVNET_CHAIN_ID])


def set_chain_id(w3: Web3, chain_id: int) -> None:
    w3.provider.make_request("anvil_setChainId", [chain_id])
    assert w3.eth.chain_id == chain_id


@pytest.fixture
def devnet_chain(node):
    set_chain_id(node, DEVNET_CHAIN_ID)
    yield node
    set_chain_id(node, DEVNET_CHAIN_ID)


def abi_of(container) -> list:
    return [item.model_dump(mode="json", by_alias=True) for item in container.contract_type.abi]


def deploy(w3: Web3, container, *args):
    factory = w3.eth.contract(
        abi=abi_of(container), bytecode=container.contract_type.deployment_bytecode.bytecode
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(*args).transact({"from": w3.eth.accounts[0]})
    )
    assert receipt.status == 1
    return w3.eth.contract(address=receipt.contractAddress, abi=abi_of(container))


def reverts_with(call, signature: str, *args: int) -> None:
    with pytest.raises(ContractCustomError) as info:
        call()
    data = str(info.value.args[0])
    assert data.startswith(selector(signature)), info.value.args
    for i, value in enumerate(args):
        assert int(data[10 + 64 * i : 10 + 64 * (i + 1)], 16) == value


def test_dev_verifier__abi__has_no_opt_in(project):
    names = {item["name"] for item in abi_of(project.DevQuoteVerifier) if "name" in item}
    assert not {n for n in names if "opt" in n.lower()}, names
    assert "enabledOnThisChain" in names


@pytest.mark.parametrize("chain_id", sorted(PUBLIC_CHAIN_IDS), ids=lambda c: f"{c}-{PUBLIC_CHAIN_IDS[c]}")
def test_dev_verifier__public_chain_id__deployment_reverts(project, devnet_chain, chain_id):
    w3 = devnet_chain
    set_chain_id(w3, chain_id)
    factory = w3.eth.contract(
        abi=abi_of(project.DevQuoteVerifier),
        bytecode=project.DevQuoteVerifier.contract_type.deployment_bytecode.bytecode,
    )
    reverts_with(
        lambda: factory.constructor(w3.eth.accounts[0], DEV_ADDRESS, 3600).estimate_gas(
            {"from": w3.eth.accounts[0]}
        ),
        CHAIN_NOT_ALLOWED,
        chain_id,
    )


def test_dev_verifier__deployed_on_devnet__refused_on_every_public_chain_id_at_use(project, devnet_chain):
    w3 = devnet_chain
    dev = deploy(w3, project.DevQuoteVerifier, w3.eth.accounts[0], DEV_ADDRESS, 3600)
    raw = simulated_tdx_quote(mr_td=b"\x01" * 48, report_data=bytes(64), **REGS)
    assert dev.functions.enabledOnThisChain().call() is True
    assert dev.functions.verify(raw, b"").call()[2] == parse_quote(raw).measurement_id
    # DEBUG TDs are reported (not refused) on the devnet: it is a local chain.
    debug = simulated_tdx_quote(mr_td=b"\x01" * 48, report_data=bytes(64), debug=True, **REGS)
    assert dev.functions.verify(debug, b"").call()[6] is True

    for chain_id in sorted(PUBLIC_CHAIN_IDS):
        set_chain_id(w3, chain_id)  # a fork of the devnet under a public id, or a chain-id change
        assert dev.functions.enabledOnThisChain().call() is False
        reverts_with(lambda: dev.functions.verify(raw, b"").call(), CHAIN_NOT_ALLOWED, chain_id)


@pytest.mark.parametrize("chain_id", sorted(LOCAL_CHAIN_IDS))
def test_dev_verifier__local_chain_ids__deploy_and_verify(project, devnet_chain, chain_id):
    w3 = devnet_chain
    dev = deploy(w3, project.DevQuoteVerifier, w3.eth.accounts[0], DEV_ADDRESS, 3600)
    set_chain_id(w3, chain_id)  # (anvil signs for its start id only: deploy first, then switch)
    assert dev.functions.enabledOnThisChain().call() is True
    raw = simulated_tdx_quote(mr_td=b"\x02" * 48, report_data=bytes(64), **REGS)
    assert dev.functions.verify(raw, b"").call()[2] == parse_quote(raw).measurement_id


@pytest.mark.parametrize("chain_id", [8453, 2035, DEVNET_CHAIN_ID])
def test_committee__debug_td__refused_on_public_chains_reported_on_devnet(
    project, devnet_chain, tdx_raw, chain_id
):
    w3 = devnet_chain
    key = keccak(b"pha test attester base")
    signer = Account.from_key(key).address
    committee = deploy(w3, project.CommitteeQuoteVerifier, w3.eth.accounts[0], [signer], 1, 86400)
    set_chain_id(w3, chain_id)  # calls only from here (anvil signs for its start id only)
    now = w3.eth.get_block("latest").timestamp
    good = tdx_raw[:632]
    debug = bytearray(good)
    debug[48 + 120] |= 0x01
    for raw, is_debug in ((good, False), (bytes(debug), True)):
        statement = Statement(parse_quote(raw).quote_hash, TcbStatus.UpToDate, [], 0, now - 10, now + 3600)
        evidence = encode_evidence(
            statement, [(signer, sign_statement(statement, key, chain_id, committee.address))]
        )
        if is_debug and chain_id != DEVNET_CHAIN_ID:
            reverts_with(
                lambda raw=raw, evidence=evidence: committee.functions.verify(raw, evidence).call(),
                "QuoteVerifierDebugRefused(uint256)",
                chain_id,
            )
        else:
            assert committee.functions.verify(raw, evidence).call()[6] is is_debug  # debug flag


@pytest.mark.parametrize("chain_id", [8453, 2035])
def test_committee_stack__public_chain_id__deploys_without_dev_verifier_and_registers(chain_id):
    """The whole stack as pha.deploy defines it, on Base's and Phala L2's ids: no dev verifier,
    a 2-of-3 committee, and a worker registered and eligible through it."""
    from tests.devnet import Devnet
    from tests.world import Code, Enclave, committee_evidence

    attesters = sorted(
        (Account.from_key(bytes([0x70 + i]) * 32) for i in range(3)), key=lambda a: int(a.address, 16)
    )
    with Anvil(chain_id=chain_id) as anvil:
        net = Devnet(anvil.url).deploy(
            dev_verifier=False, attesters=[a.address for a in attesters], threshold=2
        )
        assert "verifier" not in net.c and net.chain_id == chain_id
        committee, registry = net.c["committee"], net.registry
        assert registry.functions.isVerifier(committee.address).call()
        pool = net.open_pool([net.relayer.address])
        code = Code.named(f"public-chain/{chain_id}")
        net.send(
            registry.functions.allowMeasurement(
                code.measurement_id,
                (2, 0, 3, 0, bytes([1]) + bytes(15), bytes(16)),
                ("", bytes(20), bytes(32)),
            ),
            net.gov,
        )
        enclave = Enclave(code)
        quote = enclave.quote(chain_id, registry.address, pool)
        now = net.now()
        evidence = committee_evidence(quote, attesters[:2], chain_id, committee.address, now)
        receipt = net.send(
            registry.functions.registerWorker(
                pool, enclave.address, enclave.encryption_key, committee.address, quote, evidence
            ),
            net.operator,
        )
        assert receipt.status == 1
        assert registry.functions.isEligible(enclave.address, code.measurement_id).call()
        assert registry.functions.workerVerifier(enclave.address).call() == committee.address
