"""The governance and operator scripts as people run them, against a Base-like anvil and a live worker."""

import pytest

from pha.chains import DEVNET_CHAIN_ID
from pha.registry.actions import http_json
from tests.scripts import deployed_devnet, mint, ok, one_line_error
from worker.server import BackgroundWorker
from worker.settings import WorkerSettings

PHA = 10**18


@pytest.mark.slow
def test_governance_and_operator_scripts__register_status_revoke(tmp_path, project):
    with deployed_devnet(tmp_path) as devnet:
        addresses, w3, run = devnet.addresses, devnet.w3, devnet.run
        assert "DevQuoteVerifier" in addresses  # the devnet (its own chain id) gets the development verifier

        operator = w3.eth.accounts[4]
        abi = [item.model_dump(mode="json", by_alias=True) for item in project.PHAToken.contract_type.abi]
        mint(w3, addresses["PHAToken"], abi, operator, 5_000 * PHA)
        ok(run("stake", "open-pool", "--commission-bps", "1000", account="test:4"))
        ok(run("stake", "delegate", "1", "5000", account="test:4"))

        settings = WorkerSettings(
            chain_id=DEVNET_CHAIN_ID,
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
            register = ("operator", "register", "--pool", "1", "--worker-url", worker.url)

            # Not allowed yet: registration fails with the registry's reason, in one line.
            # The line says what to run first (issue 18: "register before allow-measurement").
            refused = run(*register, account="test:4")
            one_line_error(refused, "RegistryMeasurementNotAllowed")
            assert "governance allows it first: `ape run governance allow-measurement" in refused.stderr
            out = ok(run("governance", "allow-measurement", "--worker-url", worker.url, "--label", "test"))
            assert attestation["measurement_id"] in out
            one_line_error(run(*register, account="test:6"), "is not operated by")  # someone else's pool
            out = ok(run(*register, account="test:4"))
            assert "SIMULATED" in out and "eligible:     yes" in out

        status = run("operator", "worker-status", "--worker", worker_address)
        assert status.returncode == 0 and "eligible:     yes" in status.stdout
        relayer = w3.eth.accounts[5]
        ok(run("operator", "authorise-relayer", "--pool", "1", "--relayer", relayer, account="test:4"))
        ok(run("governance", "revoke-measurement", "--measurement-id", attestation["measurement_id"]))
        status = run("operator", "worker-status", "--worker", worker_address)
        assert status.returncode == 1
        assert "measurement is not allowed" in status.stdout
