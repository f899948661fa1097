"""Job input formats (pha.jobs): defined once for every built-in handler, checked by the client's
validator and by the worker with the same one-line message, over real HTTP to a real worker."""

import json

import pytest

from pha import envelope
from pha.jobs import FORMATS, JobInputError, input_problem, parse_job_input
from tests.worker.conftest import job_request, make_settings
from worker.handlers import BUILTIN, build_registry, formats_of
from worker.server import BackgroundWorker

BAD = [
    (b'{"handler": "echo", "data": ', "bad input: input is not UTF-8 JSON: Expecting value"),
    (b'["echo", "hi"]', "bad input: input must be a JSON object"),
    (b'{"handler": "echo"}', 'bad input: input needs a "data" field'),
    (b'{"data": "hi"}', 'bad input: input needs a "handler" string'),
    (
        b'{"handler": "nope", "data": "hi"}',
        "unknown handler 'nope' (known: chat, echo, sentiment, sha256, wordcount)",
    ),
    (
        b'{"handler": "sentiment", "data": 42}',
        'handler \'sentiment\' takes a string or {"text": string} as "data", got a number; '
        'e.g. {"handler":"sentiment","data":"I love this"}',
    ),
    (
        b'{"handler": "sha256", "data": ["a", "b"]}',
        'handler \'sha256\' takes a string or {"text": string} as "data", got a list; '
        'e.g. {"handler":"sha256","data":"hello"}',
    ),
    (
        b'{"handler": "wordcount", "data": {"txt": "one"}}',
        'handler \'wordcount\' takes a string or {"text": string} as "data", got an object with keys txt; '
        'e.g. {"handler":"wordcount","data":{"text":"one two\\nthree"}}',
    ),
]


@pytest.fixture(scope="module")
def http():
    import httpx

    with (
        BackgroundWorker(make_settings()) as running,
        httpx.Client(base_url=running.url, timeout=10) as client,
    ):
        yield client


def test_formats__one_per_builtin_handler():
    assert set(FORMATS) == set(BUILTIN) | {"chat"} == set(build_registry())


@pytest.mark.parametrize("handler", sorted(set(FORMATS) - {"chat"}))  # chat: tests/worker/test_chat.py
def test_format_example__passes_the_check_and_the_worker_runs_it(http, handler):
    raw = FORMATS[handler].example_input().encode()
    assert parse_job_input(raw).handler == handler and input_problem(raw) is None
    response = http.post("/jobs", json=job_request(1, raw))
    assert response.status_code == 200, response.text
    assert json.loads(bytes.fromhex(response.json()["output"][2:]))["handler"] == handler


@pytest.mark.parametrize(("raw", "message"), BAD)
def test_bad_input__the_worker_refuses_with_the_validators_message(http, raw, message):
    with pytest.raises(JobInputError) as caught:
        parse_job_input(raw)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert input_problem(raw) == str(caught.value)
    response = http.post("/jobs", json=job_request(2, raw))
    assert response.status_code == 400
    assert response.json() == {"error": str(caught.value)}


def test_bad_input__encrypted__refused_after_decrypting_with_the_same_message(http):
    key = http.get("/attestation").json()["encryption_key"]
    raw = envelope.encrypt_input("sha256", 7, key)
    assert input_problem(raw) is None  # opaque to the client
    response = http.post("/jobs", json=job_request(3, raw))
    assert response.status_code == 400
    with pytest.raises(JobInputError) as caught:
        parse_job_input(envelope.build_input("sha256", 7))
    assert response.json() == {"error": str(caught.value)}


def test_envelope_only_check__any_handler_name_passes():
    assert parse_job_input(b'{"handler": "reverse", "data": 1}', None, {}).handler == "reverse"
    with pytest.raises(JobInputError, match="is not UTF-8 JSON"):
        parse_job_input(b"{", None, {})


def test_builtin_name_taken_by_a_custom_handler__its_format_no_longer_applies():
    formats = formats_of(build_registry(["sha256=tests.worker.custom_handlers:upper"]))
    assert "sha256" not in formats and set(formats) == set(FORMATS) - {"sha256"}
