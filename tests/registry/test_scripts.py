"""The governance and operator scripts as people run them, against a Base-like anvil and a live worker."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pha.chains import DEVNET_CHAIN_ID
from pha.registry.actions import http_json
from relayer.chain.rpc import abi as packaged_abi
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
        iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
        assert re.search(rf"attested to:  {iso} \(in (1 d|23 h \d+ min)\)", status.stdout), status.stdout
        assert all(len(line) <= 80 for line in status.stdout.splitlines()), status.stdout
        read_back_in_pha_and_iso(run, w3, addresses, worker_address, operator)
        relayer = w3.eth.accounts[5]
        ok(run("operator", "authorise-relayer", "--pool", "1", "--relayer", relayer, account="test:4"))
        ok(run("governance", "revoke-measurement", "--measurement-id", attestation["measurement_id"]))
        status = run("operator", "worker-status", "--worker", worker_address, "--json")
        assert status.returncode == 1  # not eligible: the same exit code as the human form
        verdict = json.loads(status.stdout)  # one document, nothing else on stdout
        assert verdict["worker"] == worker_address and verdict["registered"] and not verdict["eligible"]
        assert "measurement is not allowed" in verdict["reason"]
        assert verdict["measurement_id"] == attestation["measurement_id"] and verdict["pool_id"] == 1
        registry = w3.eth.contract(address=addresses["WorkerRegistry"], abi=packaged_abi("IWorkerRegistry"))
        until = registry.functions.workerInfo(worker_address).call()[2]
        assert verdict["attested_until"]["unix"] == until
        assert verdict["attested_until"]["iso"] == datetime.fromtimestamp(until, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        assert verdict["tcb_status"] == "UpToDate" and verdict["now"]["unix"] < until


def read_back_in_pha_and_iso(run, w3, addresses, worker: str, operator: str) -> None:
    """stake pool-status and log verify, as people read them (PHA, shares as a share of the pool,
    ISO times, 80 columns) and as --json: one run of each form."""
    out = ok(run("stake", "pool-status", "1", "--delegator", operator))
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "backing            5,000 PHA (slashable)" in out and "workers            1" in out
    assert "position         100.00 % of the pool (≈ 5,000 PHA)" in out and "cooldown           7 d" in out
    pool = json.loads(ok(run("stake", "pool-status", "1", "--delegator", operator, "--json")))
    assert pool["backing"] == {"wei": str(5_000 * PHA), "pha": "5000"} and pool["workers"] == 1
    assert pool["operator"] == operator and pool["delegator"]["pool_percent"] == "100.00"
    assert pool["delegator"]["value"]["pha"] == "5000" and pool["commission_bps"] == 1_000

    out = ok(run("log", "verify"))  # the registration appended the log's first entry
    assert "entries:  1 (on-chain count 1)" in out and "log verified" in out
    assert re.search(
        r"last:     \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((\d+ s ago|\d+ min( \d+ s)? ago|now)\)", out
    ), out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    log = json.loads(ok(run("log", "verify", "--json")))
    assert log["ok"] and log["entries"] == log["onchain_count"] == 1 and log["problem"] is None
    assert log["rebuilt_head"] == log["onchain_head"] and log["rebuilt_head"] in out
    assert log["last_entry_at"]["unix"] <= log["now"]["unix"]


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
