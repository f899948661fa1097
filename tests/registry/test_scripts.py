"""The governance and operator scripts as people run them, against a Base-like anvil and a live worker."""

from pathlib import Path

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
            one_line_error(run(*register, account="test:4"), "RegistryMeasurementNotAllowed")
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


@pytest.mark.slow
def test_governance_allow_measurement__app_compose(tmp_path, project):
    """A dstack app on an image: sha256 of its app-compose.json with the image's registers (from a
    real Phala Cloud quote, or from a simulated worker emulating the app) is what gets allowed."""
    from pha.quote.eventlog import compose_hash_of
    from pha.quote.io import decode_quote
    from pha.quote.layout import parse_quote

    data = Path(__file__).parents[1] / "data" / "dstack"
    compose_file, quote_file = data / "app-compose.json", data / "quote.hex"
    compose = compose_hash_of(compose_file.read_bytes())
    expected = parse_quote(decode_quote(quote_file.read_bytes())).measurement_id_with_compose(compose)
    with deployed_devnet(tmp_path) as devnet:
        run = devnet.run
        out = ok(
            run(
                "governance",
                "allow-measurement",
                "--app-compose",
                str(compose_file),
                "--quote",
                str(quote_file),
            )
        )
        assert f"compose hash 0x{compose.hex()}" in out and f"0x{expected.hex()}" in out
        registry = devnet.w3.eth.contract(
            address=devnet.addresses["WorkerRegistry"],
            abi=[
                item.model_dump(mode="json", by_alias=True)
                for item in project.WorkerRegistry.contract_type.abi
            ],
        )
        assert registry.functions.measurementStatus(expected).call() == 1

        settings = dict(
            chain_id=DEVNET_CHAIN_ID,
            registry=devnet.addresses["WorkerRegistry"],
            pool_id=1,
            escrow="0x" + "11" * 20,
            simulate=True,
            port=0,
        )
        with BackgroundWorker(WorkerSettings(**settings, app_compose=str(compose_file))) as app_worker:
            reported = http_json(f"{app_worker.url}/attestation")["measurement_id"]
            out = ok(
                run(
                    "governance",
                    "allow-measurement",
                    "--app-compose",
                    str(compose_file),
                    "--worker-url",
                    app_worker.url,
                )
            )
            assert reported in out
        with BackgroundWorker(WorkerSettings(**settings)) as plain_worker:
            one_line_error(
                run(
                    "governance",
                    "allow-measurement",
                    "--app-compose",
                    str(compose_file),
                    "--worker-url",
                    plain_worker.url,
                ),
                "runs another app compose",
            )
        one_line_error(
            run("governance", "allow-measurement", "--app-compose", str(compose_file)), "give the registers"
        )
        one_line_error(
            run(
                "governance",
                "allow-measurement",
                "--quote",
                str(quote_file),
                "--measurement-id",
                "0x" + "00" * 32,
            ),
            "go with --app-compose",
        )
