"""POST /jobs/batch: many jobs in one request, each answered on its own (result or error), every
result signed as by /jobs and batch-signable with /sign-batch."""

import httpx
import pytest

from pha import envelope
from pha.escrow.typed_data import Domain, ResultEntry, recover_batch_signer, recover_result_signer
from tests.worker.conftest import CHAIN_ID, ESCROW, job_request, make_settings
from worker.server import BackgroundWorker

DOMAIN = Domain(CHAIN_ID, ESCROW)


@pytest.fixture(scope="module")
def worker():
    with BackgroundWorker(make_settings(max_batch=4, handler_timeout=2.0)) as running:
        yield running


@pytest.fixture(scope="module")
def http(worker):
    with httpx.Client(base_url=worker.url, timeout=10) as client:
        yield client


def entry_of(result) -> ResultEntry:
    return ResultEntry(result["job_id"], result["input_hash"], result["output_hash"])


def test_jobs_batch__every_result_signed_by_the_worker_and_batch_signable(http, worker):
    jobs = [job_request(200 + i, envelope.build_input("echo", i)) for i in range(4)]
    response = http.post("/jobs/batch", json={"jobs": jobs})
    assert response.status_code == 200, response.text
    body = response.json()
    address = worker.state.keys.address
    assert body["worker"] == address
    results = body["results"]
    assert [r["job_id"] for r in results] == [200, 201, 202, 203]
    for result, job in zip(results, jobs, strict=True):
        assert result["input_hash"] == job["input_hash"]
        assert recover_result_signer(DOMAIN, entry_of(result), address, result["signature"]) == address
    entries = [{k: r[k] for k in ("job_id", "input_hash", "output_hash")} for r in results]
    signed = http.post("/sign-batch", json={"entries": entries}).json()
    parsed = [entry_of(r) for r in results]
    assert recover_batch_signer(DOMAIN, parsed, address, signed["signature"]) == address


def test_jobs_batch__a_bad_job_fails_only_itself(http):
    good = job_request(300, envelope.build_input("echo", "fine"))
    unknown = job_request(301, envelope.build_input("no-such-handler", 1))
    wrong_hash = dict(job_request(302, envelope.build_input("echo", 2)), input_hash="0x" + "00" * 32)
    malformed = {"job_id": 303}
    response = http.post("/jobs/batch", json={"jobs": [good, unknown, wrong_hash, malformed]})
    assert response.status_code == 200, response.text
    first, second, third, fourth = response.json()["results"]
    assert first["job_id"] == 300 and "signature" in first and "error" not in first
    assert second == {"job_id": 301, "error": second["error"], "status": 400}
    assert "unknown handler" in second["error"]
    assert third["status"] == 400 and "input_hash does not match" in third["error"]
    assert fourth["status"] == 400 and "missing fields" in fourth["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "missing fields: jobs"),
        ({"jobs": []}, "non-empty list"),
        ({"jobs": {"job_id": 1}}, "non-empty list"),
    ],
)
def test_jobs_batch__malformed_request__400(http, body, message):
    response = http.post("/jobs/batch", json=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_jobs_batch__more_than_max_batch__400(http):
    jobs = [job_request(400 + i, envelope.build_input("echo", i)) for i in range(5)]
    response = http.post("/jobs/batch", json={"jobs": jobs})
    assert response.status_code == 400 and "at most 4 jobs" in response.json()["error"]
