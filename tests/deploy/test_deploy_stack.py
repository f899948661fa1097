"""deploy_stack in-process: manifest contents, round trip, attach, --fresh, code change."""

import json

import pytest

from pha.deploy import DeployConfig, deploy_stack
from pha.manifest import Manifest, ManifestError, load_manifest


@pytest.fixture
def config(gov):
    return DeployConfig(admin=str(gov.address))


def test_deploy__writes_manifest_with_live_code(gov, config, tmp_path, chain):
    path = tmp_path / "ethereum-local.json"
    manifest, ctx, deployed = deploy_stack(gov, config, path)
    assert "PHAToken" in deployed
    on_disk = json.loads(path.read_text())
    assert on_disk["chain_id"] == chain.chain_id
    entry = manifest.contracts["PHAToken"]
    assert entry.address == str(ctx.contracts["PHAToken"].address)
    assert chain.provider.get_code(entry.address) != b""
    receipt = chain.provider.get_receipt(entry.tx_hash)
    assert receipt.contract_address == entry.address
    assert receipt.block_number == entry.block == manifest.deploy_block == on_disk["deploy_block"]
    assert ctx.contracts["PHAToken"].hasRole(b"\x00" * 32, gov)


def test_manifest__round_trips_through_json(gov, config, tmp_path):
    path = tmp_path / "m.json"
    manifest, _, _ = deploy_stack(gov, config, path)
    assert Manifest.from_json(manifest.to_json()) == manifest == load_manifest(path)


def test_deploy__rerun__attaches_without_transactions(gov, config, tmp_path):
    path = tmp_path / "m.json"
    first, _, _ = deploy_stack(gov, config, path)
    nonce = gov.nonce
    second, _, deployed = deploy_stack(gov, config, path)
    assert deployed == []
    assert gov.nonce == nonce
    assert second.contracts == first.contracts


def test_deploy__fresh__deploys_new_addresses(gov, config, tmp_path):
    path = tmp_path / "m.json"
    first, _, _ = deploy_stack(gov, config, path)
    second, _, deployed = deploy_stack(gov, config, path, fresh=True)
    assert "PHAToken" in deployed
    assert second.address("PHAToken") != first.address("PHAToken")


def test_deploy__compiled_code_changed__redeploys(gov, config, tmp_path):
    path = tmp_path / "m.json"
    first, _, _ = deploy_stack(gov, config, path)
    data = json.loads(path.read_text())
    data["contracts"]["PHAToken"]["bytecode_hash"] = "0x" + "11" * 32
    path.write_text(json.dumps(data))
    second, _, deployed = deploy_stack(gov, config, path)
    assert "PHAToken" in deployed
    assert second.address("PHAToken") != first.address("PHAToken")


def test_deploy__other_arguments__redeploys(gov, alice, config, tmp_path):
    path = tmp_path / "m.json"
    first, _, _ = deploy_stack(gov, config, path)
    second, _, deployed = deploy_stack(gov, DeployConfig(admin=str(alice.address)), path)
    assert "PHAToken" in deployed
    assert second.address("PHAToken") != first.address("PHAToken")


def test_deploy__manifest_of_another_chain__redeploys(gov, config, tmp_path):
    path = tmp_path / "m.json"
    deploy_stack(gov, config, path)
    data = json.loads(path.read_text())
    data["chain_id"] = 999
    path.write_text(json.dumps(data))
    _, _, deployed = deploy_stack(gov, config, path)
    assert "PHAToken" in deployed


def test_load_manifest__missing_or_garbage__clear_error(tmp_path):
    with pytest.raises(ManifestError, match="run `ape run deploy` first"):
        load_manifest(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ManifestError, match="not a valid deployment manifest"):
        load_manifest(bad)
