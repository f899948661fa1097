"""`ape run deploy` as a user runs it: embedded chain, a Base-like anvil, and user mistakes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID
from pha.paths import ROOT

APE = str(Path(sys.executable).with_name("ape"))


def run_deploy(*args, tmp_path, extra_env=None, timeout=180):
    env = {**os.environ, "PHA_DEPLOYMENTS_DIR": str(tmp_path), **(extra_env or {})}
    return subprocess.run(
        [APE, "run", "deploy", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line_error(result, fragment):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert fragment in errors[0]


def test_deploy_script__embedded_chain__prints_manifest_path(tmp_path):
    result = run_deploy("--network", "ethereum:local:test", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "ethereum-local.json"
    assert f"manifest: {path}" in result.stdout
    manifest = json.loads(path.read_text())
    assert "PHAToken" in manifest["contracts"]


@pytest.mark.slow
def test_deploy_script__base_like_anvil__deploys_then_attaches(tmp_path):
    with Anvil(chain_id=DEVNET_CHAIN_ID, block_time=2, optimism=True) as node:
        network = f"base:devnet:{node.url}"
        first = run_deploy("--network", network, tmp_path=tmp_path)
        assert first.returncode == 0, first.stderr
        assert "(deployed)" in first.stdout
        manifest = json.loads((tmp_path / "base-devnet.json").read_text())
        assert manifest["chain_id"] == DEVNET_CHAIN_ID

        second = run_deploy("--network", network, tmp_path=tmp_path)
        assert second.returncode == 0, second.stderr
        assert "(attached)" in second.stdout and "(deployed)" not in second.stdout
        assert json.loads((tmp_path / "base-devnet.json").read_text())["contracts"] == manifest["contracts"]

        third = run_deploy("--network", network, "--fresh", tmp_path=tmp_path)
        assert third.returncode == 0, third.stderr
        fresh = json.loads((tmp_path / "base-devnet.json").read_text())
        assert fresh["contracts"]["PHAToken"]["address"] != manifest["contracts"]["PHAToken"]["address"]


def test_deploy_script__unknown_network__one_line_error(tmp_path):
    result = run_deploy("--network", "nosuchchain:mainnet", tmp_path=tmp_path)
    assert_one_line_error(result, "nosuchchain")


def test_deploy_script__real_network_without_rpc_url__names_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "BASE_SEPOLIA_RPC_URL"}
    result = subprocess.run(
        [APE, "run", "deploy", "--network", "base:sepolia:node"],
        cwd=ROOT,
        env={**env, "PHA_DEPLOYMENTS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_line_error(result, "BASE_SEPOLIA_RPC_URL")


def test_deploy_script__real_network_without_account__one_line_error(tmp_path):
    with Anvil(chain_id=84532) as node:
        result = run_deploy(
            "--network", "base:sepolia:node", tmp_path=tmp_path, extra_env={"BASE_SEPOLIA_RPC_URL": node.url}
        )
        assert_one_line_error(result, "--account is required")
        result = run_deploy(
            "--network",
            "base:sepolia:node",
            "--account",
            "nobody-here",
            tmp_path=tmp_path,
            extra_env={"BASE_SEPOLIA_RPC_URL": node.url},
        )
        assert_one_line_error(result, "no account named 'nobody-here'")
    assert not (tmp_path / "base-sepolia.json").exists()


def test_deploy_script__bad_admin_address__one_line_error():
    from tests.scripts import load_script, refused

    args = ["--network", "ethereum:local:test", "--admin", "0x1234"]
    refused(load_script("deploy"), args, "Invalid value for '--admin': not an address: '0x1234'")
