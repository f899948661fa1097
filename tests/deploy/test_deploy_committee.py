"""`ape run deploy --attester A --attester B ... --threshold T` (issue 17, item 7): the committee
verifier is deployed with exactly those attesters and threshold, the manifest records them, a
re-run attaches; bad input is one line on stderr and a non-zero exit, before any connection.

One committee goes through the real `ape run deploy` on a devnet (a subprocess: 2 deploys); the
other sizes go through deploy_stack in this session, and the refusals through click's runner."""

import json
import re

import pytest
from eth_utils import to_checksum_address
from web3 import Web3

from pha.anvil import Anvil
from pha.paths import ROOT
from tests.deploy.test_deploy_script import run_deploy
from tests.scripts import load_script, refused

ATTESTERS = [to_checksum_address(f"0x{i:02x}" + "11" * 19) for i in (0xA1, 0xB2, 0xC3)]
ABI = [
    {"name": "attesters", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "address[]"}]},
    {"name": "threshold", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"name": "isAttester", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "a", "type": "address"}], "outputs": [{"name": "", "type": "bool"}]},
    {"name": "isVerifier", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "a", "type": "address"}], "outputs": [{"name": "", "type": "bool"}]},
]  # fmt: skip


def devnet_chain_id() -> int:
    """The devnet's chain id as ape-config.yaml declares it (follows a change of it)."""
    text = (ROOT / "ape-config.yaml").read_text()
    match = re.search(r"- name: devnet\s+chain_id: (\d+)", text)
    assert match, "ape-config.yaml declares no devnet"
    return int(match.group(1))


@pytest.fixture(scope="module")
def devnet():
    with Anvil(chain_id=devnet_chain_id(), optimism=True) as node:
        yield f"base:devnet:{node.url}", Web3(Web3.HTTPProvider(node.url))


def committee_args(attesters, threshold):
    args = []
    for a in attesters:
        args += ["--attester", a]
    return [*args, "--threshold", str(threshold)]


def test_deploy__committee_of_n__exact_attesters_threshold_manifest_and_rerun_attaches(devnet, tmp_path):
    network, w3 = devnet
    count, threshold = 3, 2
    # Given out of order, in mixed case: the verifier holds them sorted, checksummed.
    given = [a.lower() for a in reversed(ATTESTERS[:count])]
    first = run_deploy("--network", network, *committee_args(given, threshold), tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    manifest = json.loads((tmp_path / "base-devnet.json").read_text())
    entry = manifest["contracts"]["CommitteeQuoteVerifier"]
    expected = sorted(ATTESTERS[:count], key=lambda a: int(a, 16))
    assert entry["args"][1] == expected and entry["args"][2] == threshold

    verifier = w3.eth.contract(address=entry["address"], abi=ABI)
    assert verifier.functions.attesters().call() == expected
    assert verifier.functions.threshold().call() == threshold
    assert all(verifier.functions.isAttester(a).call() for a in expected)
    assert not verifier.functions.isAttester(to_checksum_address("0x" + "22" * 20)).call()
    registry = w3.eth.contract(address=manifest["contracts"]["WorkerRegistry"]["address"], abi=ABI)
    assert registry.functions.isVerifier(entry["address"]).call()

    again = run_deploy("--network", network, *committee_args(given, threshold), tmp_path=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "(deployed)" not in again.stdout
    assert re.search(r"CommitteeQuoteVerifier\s+\S+\s+\(attached\)", again.stdout), again.stdout
    assert json.loads((tmp_path / "base-devnet.json").read_text())["contracts"] == manifest["contracts"]


@pytest.mark.parametrize(
    ("attesters", "threshold", "fragment"),
    [
        (["0x1234"], 1, "Invalid value for '--attester': not an address: '0x1234'"),
        ([ATTESTERS[0], "not-an-address"], 1, "'--attester': not an address: 'not-an-address'"),
        (ATTESTERS[:2], 3, "threshold 3 is not between 1 and 2 attesters"),
        (ATTESTERS[:2], 0, "threshold 0 is not between 1 and 2 attesters"),
        ([ATTESTERS[0], ATTESTERS[0].lower()], 1, f"attester {ATTESTERS[0]} is given twice"),
    ],
)
def test_deploy__bad_committee__one_line_error(attesters, threshold, fragment):
    args = ["--network", "ethereum:local:test", *committee_args(attesters, threshold)]
    refused(load_script("deploy"), args, fragment)


@pytest.mark.parametrize(("count", "threshold"), [(1, 1), (2, 2), (3, 2)])
def test_deploy_stack__committee__attesters_reach_the_contract(project, gov, tmp_path, count, threshold):
    from pha.deploy import DeployConfig, deploy_stack

    given = [a.lower() for a in reversed(ATTESTERS[:count])]
    config = DeployConfig(admin=str(gov.address), attesters=given, threshold=threshold)
    manifest, ctx, deployed = deploy_stack(gov, config, tmp_path / "m.json", network_name="test")
    verifier = ctx.contracts["CommitteeQuoteVerifier"]
    assert "CommitteeQuoteVerifier" in deployed
    assert list(verifier.attesters()) == sorted(ATTESTERS[:count], key=lambda a: int(a, 16))
    assert verifier.threshold() == threshold
    assert manifest.contracts["CommitteeQuoteVerifier"].args[1] == config.attesters
    _, _, again = deploy_stack(gov, config, tmp_path / "m.json", network_name="test")
    assert again == []
