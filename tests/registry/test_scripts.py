"""The governance and operator scripts as people run them, against a Base-like anvil and a live worker."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from web3 import Web3

from pha.anvil import Anvil
from pha.paths import ROOT
from pha.registry.actions import http_json
from worker.server import BackgroundWorker
from worker.settings import WorkerSettings

APE = str(Path(sys.executable).with_name("ape"))
PHA = 10**18


def ape_run(*args, env):
    return subprocess.run([APE, "run", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def one_line_error(result, fragment):
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr


def mint(w3, token_address, abi, to, amount):
    token = w3.eth.contract(address=token_address, abi=abi)
    gov = w3.eth.accounts[0]
    role = token.functions.MINTER_ROLE().call()
    w3.eth.wait_for_transaction_receipt(token.functions.grantRole(role, gov).transact({"from": gov}))
    w3.eth.wait_for_transaction_receipt(token.functions.minterMint(to, amount).transact({"from": gov}))


@pytest.mark.slow
def test_governance_and_operator_scripts__register_status_revoke(tmp_path, project):
    with Anvil(chain_id=8453, optimism=True) as node:
        net = f"base:devnet:{node.url}"
        env = {**os.environ, "PHA_DEPLOYMENTS_DIR": str(tmp_path)}
        ok(ape_run("deploy", "--network", net, env=env))
        manifest = json.loads((tmp_path / "base-devnet.json").read_text())
        addresses = {name: entry["address"] for name, entry in manifest["contracts"].items()}
        assert "DevQuoteVerifier" in addresses  # devnets get the development verifier, opted in

        w3 = Web3(Web3.HTTPProvider(node.url))
        operator = w3.eth.accounts[4]
        abi = [item.model_dump(mode="json", by_alias=True) for item in project.PHAToken.contract_type.abi]
        mint(w3, addresses["PHAToken"], abi, operator, 5_000 * PHA)
        ok(
            ape_run(
                "stake",
                "open-pool",
                "--commission-bps",
                "1000",
                "--network",
                net,
                "--account",
                "test:4",
                env=env,
            )
        )
        ok(ape_run("stake", "delegate", "1", "5000", "--network", net, "--account", "test:4", env=env))

        settings = WorkerSettings(
            chain_id=8453,
            registry=addresses["WorkerRegistry"],
            pool_id=1,
            escrow="0x" + "11" * 20,
            simulate=True,
            port=0,
            code_identity="scripts-test",
        )
        with BackgroundWorker(settings) as worker:
            attestation = http_json(f"{worker.url}/attestation")
            worker_address = attestation["worker"]

            # Not allowed yet: registration fails with the registry's reason, in one line.
            one_line_error(
                ape_run(
                    "operator",
                    "register",
                    "--pool",
                    "1",
                    "--worker-url",
                    worker.url,
                    "--network",
                    net,
                    "--account",
                    "test:4",
                    env=env,
                ),
                "RegistryMeasurementNotAllowed",
            )
            out = ok(
                ape_run(
                    "governance",
                    "allow-measurement",
                    "--worker-url",
                    worker.url,
                    "--label",
                    "test",
                    "--network",
                    net,
                    env=env,
                )
            )
            assert attestation["measurement_id"] in out
            # Someone else's pool.
            one_line_error(
                ape_run(
                    "operator",
                    "register",
                    "--pool",
                    "1",
                    "--worker-url",
                    worker.url,
                    "--network",
                    net,
                    "--account",
                    "test:6",
                    env=env,
                ),
                "is not operated by",
            )
            out = ok(
                ape_run(
                    "operator",
                    "register",
                    "--pool",
                    "1",
                    "--worker-url",
                    worker.url,
                    "--network",
                    net,
                    "--account",
                    "test:4",
                    env=env,
                )
            )
            assert "SIMULATED" in out and "eligible:     yes" in out

        status = ape_run("operator", "worker-status", "--worker", worker_address, "--network", net, env=env)
        assert status.returncode == 0 and "eligible:     yes" in status.stdout
        ok(
            ape_run(
                "operator",
                "authorise-relayer",
                "--pool",
                "1",
                "--relayer",
                w3.eth.accounts[5],
                "--network",
                net,
                "--account",
                "test:4",
                env=env,
            )
        )
        ok(
            ape_run(
                "governance",
                "revoke-measurement",
                "--measurement-id",
                attestation["measurement_id"],
                "--network",
                net,
                env=env,
            )
        )
        status = ape_run("operator", "worker-status", "--worker", worker_address, "--network", net, env=env)
        assert status.returncode == 1
        assert "measurement is not allowed" in status.stdout
