"""The worker's HTTP API over real loopback HTTP: results, encryption, batches, and clear 400s."""

import json

import httpx
import pytest
from eth_utils import keccak

from pha import envelope
from pha.escrow.typed_data import (
    Domain,
    ResultEntry,
    recover_batch_signer,
    recover_result_signer,
    results_hash,
)
from tests.worker.conftest import CHAIN_ID, ESCROW, POOL_ID, REGISTRY, job_request

DOMAIN = Domain(CHAIN_ID, ESCROW)


def entry_of(result) -> ResultEntry:
    return ResultEntry(result["job_id"], result["input_hash"], result["output_hash"])


def run(http, job_id, raw_input):
    response = http.post("/jobs", json=job_request(job_id, raw_input))
    assert response.status_code == 200, response.text
    return response.json()


def test_health__reports_the_worker_address(http, worker):
    assert http.get("/health").json() == {"ok": True, "worker": worker.state.keys.address}


def test_attestation__has_the_spec_fields_and_says_simulated(http, worker):
    body = http.get("/attestation").json()
    assert body["worker"] == worker.state.keys.address
    assert body["encryption_key"] == "0x" + worker.state.keys.encryption_key.hex()
    assert body["tee"] == "tdx" and body["simulated"] is True
    assert (body["chain_id"], body["registry"].lower(), body["pool_id"]) == (CHAIN_ID, REGISTRY, POOL_ID)
    assert body["escrow"].lower() == ESCROW
    for key in ("measurement_id", "report_data"):
        assert body[key].startswith("0x")
    assert len(bytes.fromhex(body["report_data"][2:])) == 64


def test_job__plaintext_echo__output_is_json_and_signature_recovers_to_worker(http, worker):
    raw = envelope.build_input("echo", {"a": [1, 2]})
    result = run(http, 11, raw)
    output = bytes.fromhex(result["output"][2:])
    assert json.loads(output) == {"handler": "echo", "result": {"a": [1, 2]}}
    assert result["output_hash"] == "0x" + keccak(output).hex()
    assert result["input_hash"] == "0x" + keccak(raw).hex()
    assert result["worker"] == worker.state.keys.address
    assert (
        recover_result_signer(DOMAIN, entry_of(result), result["worker"], result["signature"])
        == result["worker"]
    )


def test_job__sentiment__returns_vader_scores(http):
    result = run(http, 12, envelope.build_input("sentiment", {"text": "This is a wonderful, happy day!"}))
    scores = json.loads(bytes.fromhex(result["output"][2:]))["result"]
    assert scores["label"] == "positive" and scores["compound"] > 0.5
    negative = run(http, 13, envelope.build_input("sentiment", "Terrible, awful, I hate it."))
    assert json.loads(bytes.fromhex(negative["output"][2:]))["result"]["label"] == "negative"


def test_job__optional_handlers__sha256_and_wordcount(http):
    digest = json.loads(bytes.fromhex(run(http, 14, envelope.build_input("sha256", "abc"))["output"][2:]))
    assert digest["result"]["sha256"] == "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    count = json.loads(
        bytes.fromhex(run(http, 15, envelope.build_input("wordcount", "a b\nc"))["output"][2:])
    )
    assert count["result"] == {"words": 3, "chars": 5, "lines": 2}


def test_job__encrypted_input_with_reply_to__round_trips_and_relayer_sees_no_plaintext(http):
    worker_key = http.get("/attestation").json()["encryption_key"]
    reply_private, reply_public = envelope.generate_keypair()
    secret = "my secret review: superb"
    raw = envelope.encrypt_input("echo", secret, worker_key, reply_to=reply_public)
    assert secret.encode() not in raw
    result = run(http, 21, raw)
    output = bytes.fromhex(result["output"][2:])
    assert output.startswith(b"PHAENC1") and secret.encode() not in output
    assert json.loads(envelope.decrypt_output(output, reply_private)) == {"handler": "echo", "result": secret}
    assert result["output_hash"] == "0x" + keccak(output).hex()


def test_job__bad_ciphertext__400_with_clear_error(http):
    worker_key = http.get("/attestation").json()["encryption_key"]
    raw = bytearray(envelope.encrypt_input("echo", 1, worker_key))
    raw[-1] ^= 0xFF
    response = http.post("/jobs", json=job_request(31, bytes(raw)))
    assert response.status_code == 400
    assert "decryption failed" in response.json()["error"]


def test_job__input_encrypted_to_another_key__400(http):
    _, other_public = envelope.generate_keypair()
    response = http.post("/jobs", json=job_request(32, envelope.encrypt_input("echo", 1, other_public)))
    assert response.status_code == 400 and "decryption failed" in response.json()["error"]


def test_job__unknown_handler__400_naming_known_handlers(http):
    response = http.post("/jobs", json=job_request(33, envelope.build_input("mine-bitcoin", 1)))
    assert response.status_code == 400
    assert "unknown handler 'mine-bitcoin'" in response.json()["error"]
    assert "sentiment" in response.json()["error"]


def test_job__handler_rejects_data__400(http):
    response = http.post("/jobs", json=job_request(34, envelope.build_input("sentiment", 42)))
    assert response.status_code == 400 and "sentiment" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"job_id": 1, "input": "0x00"}, "missing fields: input_hash"),
        ({"job_id": -1, "input_hash": "0x" + "00" * 32, "input": "0x00"}, "job_id"),
        ({"job_id": True, "input_hash": "0x" + "00" * 32, "input": "0x00"}, "job_id"),
        ({"job_id": 1, "input_hash": "0x00", "input": "0x00"}, "input_hash must be 32 bytes"),
        ({"job_id": 1, "input_hash": "0x" + "00" * 32, "input": "zz"}, "input must be a 0x-prefixed"),
        ({"job_id": 1, "input_hash": "0x" + "00" * 32, "input": "0xzz"}, "input is not valid hex"),
        ({"job_id": 1, "input_hash": "0x" + "00" * 32, "input": "0x00"}, "does not match keccak256"),
        ([1, 2], "JSON object"),
    ],
)
def test_job__malformed_request__400(http, body, message):
    response = http.post("/jobs", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_job__non_json_and_non_utf8_bodies__400(http):
    for content in (b"not json", b"\xff\xfe"):
        response = http.post("/jobs", content=content)
        assert response.status_code == 400 and "not JSON" in response.json()["error"]


def test_job__plaintext_input_not_json__400(http):
    response = http.post("/jobs", json=job_request(35, b"hello"))
    assert response.status_code == 400 and "UTF-8 JSON" in response.json()["error"]


def test_job__body_over_limit__413_json(http):
    response = http.post("/jobs", content=b"{" + b" " * (70 * 1024) + b"}")
    assert response.status_code == 413 and "error" in response.json()


def test_unknown_route_and_method__json_errors(http):
    assert http.get("/nope").status_code == 404 and "error" in http.get("/nope").json()
    assert http.get("/jobs").status_code == 405


def test_sign_batch__own_results__signature_recovers_and_results_hash_matches(http, worker):
    results = [run(http, 40 + i, envelope.build_input("wordcount", "x " * i)) for i in range(3)]
    entries = [{k: r[k] for k in ("job_id", "input_hash", "output_hash")} for r in results]
    response = http.post("/sign-batch", json={"entries": entries})
    assert response.status_code == 200, response.text
    body = response.json()
    parsed = [entry_of(r) for r in results]
    assert body["results_hash"] == "0x" + results_hash(parsed).hex()
    assert body["worker"] == worker.state.keys.address
    assert recover_batch_signer(DOMAIN, parsed, body["worker"], body["signature"]) == body["worker"]


def test_sign_batch__foreign_result__refused(http):
    own = run(http, 50, envelope.build_input("echo", "own"))
    foreign = {"job_id": 51, "input_hash": "0x" + "01" * 32, "output_hash": "0x" + "02" * 32}
    mine = {k: own[k] for k in ("job_id", "input_hash", "output_hash")}
    response = http.post("/sign-batch", json={"entries": [mine, foreign]})
    assert response.status_code == 400
    assert "entries[1] (job 51) is not a result this worker produced" in response.json()["error"]


def test_sign_batch__altered_output_hash_or_job_id__refused(http):
    own = run(http, 52, envelope.build_input("echo", "own"))
    altered = {"job_id": 52, "input_hash": own["input_hash"], "output_hash": "0x" + "00" * 32}
    assert http.post("/sign-batch", json={"entries": [altered]}).status_code == 400
    moved = {"job_id": 53, "input_hash": own["input_hash"], "output_hash": own["output_hash"]}
    assert http.post("/sign-batch", json={"entries": [moved]}).status_code == 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "missing fields: entries"),
        ({"entries": []}, "non-empty list"),
        ({"entries": [{"job_id": 1}]}, "missing fields"),
        ({"entries": [{"job_id": 1, "input_hash": "0x01", "output_hash": "0x" + "00" * 32}]}, "32 bytes"),
    ],
)
def test_sign_batch__malformed__400(http, body, message):
    response = http.post("/sign-batch", json=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_result_record__is_bounded_and_forgets_oldest_first(http, worker):
    capacity = worker.state.settings.max_records
    first = run(http, 60, envelope.build_input("echo", 60))
    for i in range(capacity):
        run(http, 61 + i, envelope.build_input("echo", 61 + i))
    assert len(worker.state.record) == capacity
    entry = {k: first[k] for k in ("job_id", "input_hash", "output_hash")}
    response = http.post("/sign-batch", json={"entries": [entry]})
    assert response.status_code == 400 and "not a result this worker produced" in response.json()["error"]


def test_concurrent_jobs__all_succeed(worker):
    import concurrent.futures

    def one(i):
        with httpx.Client(base_url=worker.url, timeout=10) as client:
            return client.post(
                "/jobs", json=job_request(100 + i, envelope.build_input("sentiment", "ok " * i))
            )

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(one, range(16)))
    assert all(r.status_code == 200 for r in responses)
