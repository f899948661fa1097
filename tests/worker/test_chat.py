"""The chat handler without an engine: the one request validator (client and worker say the same),
the worker's own limits, an engine that is down, the model file check, and the client's check of
a chat result (tampered response, another request, another model). tests/llm runs the real engine."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pha import envelope
from pha.escrow.spec import MAX_INPUT_BYTES
from pha.jobs import JobInputError, input_problem, parse_job_input
from pha.llm.request import MAX_REQUEST_BYTES, ChatRequestError, parse_chat_request
from pha.llm.result import (
    ChatVerificationError,
    build_chat_result,
    check_chat_output,
    normalise_response,
)
from tests.worker.conftest import ESCROW, REGISTRY, job_request, make_settings
from worker.server import BackgroundWorker, build_state

DIGEST = "0x" + "5a" * 32
GOOD = {"model": "default", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 16}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chat_settings(**overrides):
    values = {"engine_url": f"http://127.0.0.1:{closed_port()}", "model": "tiny", "model_digest": DIGEST}
    values.update(overrides)
    return values


@pytest.fixture(scope="module")
def http():
    settings = make_settings(chat=chat_settings(max_tokens=64, timeout=2))
    with BackgroundWorker(settings) as running, httpx.Client(base_url=running.url, timeout=10) as client:
        yield client


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("hi", "must be a JSON object, got str"),
        ({**GOOD, "stream": True}, "unknown fields stream"),
        ({"model": "default"}, "messages is missing"),
        ({**GOOD, "model": ""}, "model must be a string of 1 to 128"),
        ({**GOOD, "messages": []}, "1 to 32 messages, got 0"),
        ({**GOOD, "messages": [{"role": "user", "content": "x"}] * 33}, "got 33 of them"),
        ({**GOOD, "messages": [{"role": "tool", "content": "x"}]}, "role must be one of system, user"),
        ({**GOOD, "messages": [{"role": "user", "content": [{"type": "text"}]}]}, "content must be a string"),
        ({**GOOD, "messages": [{"role": "user", "content": "x", "name": "n"}]}, '{"role", "content"}'),
        ({**GOOD, "max_tokens": 0}, "max_tokens must be an integer from 1 to 512"),
        ({**GOOD, "max_tokens": 10_000}, "max_tokens must be an integer from 1 to 512"),
        ({**GOOD, "max_tokens": True}, "max_tokens must be an integer"),
        ({**GOOD, "temperature": 2.5}, "temperature must be a number from 0 to 2"),
        ({**GOOD, "temperature": "hot"}, "temperature must be a number"),
        ({**GOOD, "seed": -1}, "seed must be an integer from 0 to 4294967295"),
        ({**GOOD, "messages": [{"role": "user", "content": "x" * 8000}]}, "bytes, at most 7680"),
    ],
)
def test_malformed_or_oversized_request__one_line_refusal(data, fragment):
    with pytest.raises(ChatRequestError) as error:
        parse_chat_request(data)
    message = str(error.value)
    assert fragment in message and "\n" not in message and message.startswith("chat request: ")
    assert "e.g. {" in message  # says what to send instead
    # the client's check at post time (pha.jobs) gives exactly the same message
    raw = envelope.build_input("chat", data)
    assert input_problem(raw) == message


def test_request__normalised_with_defaults_and_hashed_stably():
    request = parse_chat_request({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert request.as_json() == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 128,
        "temperature": 1.0,
    }
    same = parse_chat_request({**request.as_json(), "temperature": 1})
    assert same.request_hash == request.request_hash
    other = parse_chat_request({**request.as_json(), "seed": 3})
    assert other.request_hash != request.request_hash


def test_largest_request__fits_the_escrow_once_encrypted():
    empty = {**GOOD, "messages": [{"role": "user", "content": ""}]}
    pad = "x" * (MAX_REQUEST_BYTES - len(envelope.canonical_json(empty)))
    data = {**GOOD, "messages": [{"role": "user", "content": pad}]}
    request = parse_chat_request(data)
    _, reply = envelope.generate_keypair()
    _, worker_key = envelope.generate_keypair()
    sealed = envelope.encrypt_input("chat", request.as_json(), worker_key, reply_to=reply)
    assert len(sealed) <= MAX_INPUT_BYTES
    with pytest.raises(ChatRequestError, match=f"{MAX_REQUEST_BYTES + 1} bytes"):
        parse_chat_request({**GOOD, "messages": [{"role": "user", "content": pad + "x"}]})


def test_worker__refuses_what_the_client_refuses_with_the_same_message(http):
    data = {**GOOD, "messages": []}
    raw = envelope.build_input("chat", data)
    reply = http.post("/jobs", json=job_request(1, raw))
    assert reply.status_code == 400
    assert reply.json()["error"] == input_problem(raw)


def test_worker__own_limits_and_model__refused_before_the_engine(http):
    over = envelope.build_input("chat", {**GOOD, "max_tokens": 100})
    reply = http.post("/jobs", json=job_request(2, over))
    assert reply.status_code == 400 and "above this worker's limit 64" in reply.json()["error"]
    other = envelope.build_input("chat", {**GOOD, "model": "gpt-9"})
    reply = http.post("/jobs", json=job_request(3, other))
    assert reply.status_code == 400
    assert "model 'gpt-9' is not served here (this worker serves 'tiny'" in reply.json()["error"]


def test_worker__engine_down__502_with_the_reason_and_nothing_signed(http):
    reply = http.post("/jobs", json=job_request(4, envelope.build_input("chat", GOOD)))
    assert reply.status_code == 502
    assert "inference engine is unreachable" in reply.json()["error"]
    assert "signature" not in reply.json()


def test_attestation__declares_the_model(http):
    chat = http.get("/attestation").json()["chat"]
    assert chat == {"model": "tiny", "model_digest": DIGEST, "max_tokens": 64, "model_file_checked": False}


def test_worker_without_engine__checks_then_refuses_chat():
    with BackgroundWorker(make_settings()) as running:
        assert httpx.get(f"{running.url}/attestation").json()["chat"] is None
        reply = httpx.post(f"{running.url}/jobs", json=job_request(1, envelope.build_input("chat", GOOD)))
        assert reply.status_code == 400 and "runs no chat model" in reply.json()["error"]
        bad = envelope.build_input("chat", {**GOOD, "stream": True})
        reply = httpx.post(f"{running.url}/jobs", json=job_request(2, bad))
        assert reply.status_code == 400 and reply.json()["error"] == input_problem(bad)


def test_model_file__must_hash_to_the_declared_digest(tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF not really")
    with pytest.raises(ValueError, match="has sha256 0x"):
        build_state(make_settings(chat=chat_settings(model_file=str(model))))
    import hashlib

    good = "0x" + hashlib.sha256(model.read_bytes()).hexdigest()
    state = build_state(make_settings(chat=chat_settings(model_file=str(model), model_digest=good)))
    assert state.attestation_json()["chat"]["model_file_checked"] is True


def test_cli__bad_chat_config_and_wrong_model_file__one_line(tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"weights")
    config = tmp_path / "worker.toml"
    config.write_text(
        f'chain_id = 31337\nregistry = "{REGISTRY}"\nescrow = "{ESCROW}"\npool_id = 1\nsimulate = true\n'
        f'[chat]\nengine_url = "http://127.0.0.1:1"\nmodel = "tiny"\nmodel_digest = "{DIGEST}"\n'
        f'model_file = "{model}"\n'
    )
    exe = str(Path(sys.executable).with_name("pha-worker"))
    result = subprocess.run(
        [exe, "serve", "--config", str(config), "--port", "0"], capture_output=True, text=True
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "will not declare a model it does not run" in result.stderr
    result = subprocess.run(
        [exe, "serve", "--config", str(config), "--chat-model-digest", "0x12", "--port", "0"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "chat.model_digest: model digest must be 32 bytes of hex" in result.stderr


# ---------------------------------------------------------------- the client's check of a result


def signed_output(request_data=GOOD, content="Hi there", model="tiny", digest=DIGEST) -> bytes:
    request = parse_chat_request(request_data)
    raw = {"id": "c1", "created": 1, "model": model, "choices": [{"message": {"content": content}}]}
    result = build_chat_result(request, normalise_response(raw, model), model, digest)
    return envelope.canonical_json({"handler": "chat", "result": result})


def test_check__a_genuine_result_proves_request_response_and_model():
    request = parse_chat_request(GOOD)
    proof = check_chat_output(signed_output(), request, DIGEST)
    assert proof.answer == "Hi there" and proof.model == "tiny" and proof.model_digest == DIGEST
    assert proof.request_hash == "0x" + request.request_hash.hex()


def test_check__tampered_response_fails():
    message = json.loads(signed_output())
    message["result"]["response"]["choices"][0]["message"]["content"] = "Send your keys to me"
    with pytest.raises(ChatVerificationError, match="does not match its signed hash"):
        check_chat_output(envelope.canonical_json(message), parse_chat_request(GOOD))


def test_check__response_for_another_request_fails():
    other = signed_output({**GOOD, "messages": [{"role": "user", "content": "something else"}]})
    with pytest.raises(ChatVerificationError, match="answers another request"):
        check_chat_output(other, parse_chat_request(GOOD))


def test_check__another_model_fails():
    with pytest.raises(ChatVerificationError, match="answered by another model: digest 0x1111"):
        check_chat_output(signed_output(digest="0x" + "11" * 32), parse_chat_request(GOOD), DIGEST)
    named = {**GOOD, "model": "tiny"}
    with pytest.raises(ChatVerificationError, match="answered by model 'big', we asked for 'tiny'"):
        check_chat_output(signed_output(named, model="big"), parse_chat_request(named))


def test_plaintext_chat_input__checked_at_post_like_any_builtin():
    with pytest.raises(JobInputError, match="unknown fields n"):
        parse_job_input(envelope.build_input("chat", {**GOOD, "n": 2}))
    assert parse_job_input(envelope.build_input("chat", GOOD)).handler == "chat"
