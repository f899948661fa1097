"""The worker's private keys never leave the process: no endpoint and no log line shows them."""

import logging
import pickle

import httpx
import pytest

from pha import envelope
from tests.worker.conftest import job_request, make_settings
from worker.server import BackgroundWorker


def secrets_of(keys) -> list[bytes]:
    signing = bytes(keys._signer.key)
    encryption = envelope.private_bytes(keys._encryption)
    forms = []
    for raw in (signing, encryption):
        forms += [raw, raw.hex().encode(), raw.hex().upper().encode()]
    return forms


def tampered(blob: bytes) -> bytes:
    """The blob with its last byte flipped (always a change, unlike overwriting it)."""
    return blob[:-1] + bytes([blob[-1] ^ 1])


def test_no_endpoint_or_log_line_shows_a_private_key(caplog):
    caplog.set_level(logging.DEBUG)
    bodies: list[bytes] = []
    with (
        BackgroundWorker(make_settings(log_level="DEBUG")) as running,
        httpx.Client(base_url=running.url) as http,
    ):
        keys = running.state.keys
        public = http.get("/attestation").json()["encryption_key"]
        reply_private, reply_public = envelope.generate_keypair()
        plain = http.post("/jobs", json=job_request(1, envelope.build_input("echo", "x")))
        encrypted = http.post(
            "/jobs", json=job_request(2, envelope.encrypt_input("sentiment", "good", public, reply_public))
        )
        entries = [
            {k: r.json()[k] for k in ("job_id", "input_hash", "output_hash")} for r in (plain, encrypted)
        ]
        responses = [
            http.get("/health"),
            http.get("/attestation"),
            plain,
            encrypted,
            http.post("/sign-batch", json={"entries": entries}),
            http.post("/sign-batch", json={"entries": [{**entries[0], "job_id": 9}]}),
            http.post("/jobs", json=job_request(3, tampered(envelope.encrypt_input("echo", 1, public)))),
            http.post("/jobs", json=job_request(4, envelope.build_input("nope", 1))),
            http.post("/jobs", content=b"{"),
            http.get("/missing"),
        ]
        for response in responses:
            bodies.append(response.content + str(response.headers).encode())
        secrets = secrets_of(keys)
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 400, 400, 400, 400, 404]
    logs = caplog.text.encode() + b"".join(repr(r.args).encode() for r in caplog.records)
    assert b"SIMULATED QUOTE" in logs and keys.address.encode() in logs
    for secret in secrets:
        for body in bodies:
            assert secret not in body
        assert secret not in logs
    # Sanity check of the scan itself: the public key is found where it is shown.
    assert any(keys.encryption_key.hex().encode() in body for body in bodies)
    del reply_private


def test_worker_keys__repr_shows_only_public_values_and_refuses_pickling():
    with BackgroundWorker(make_settings()) as running:
        keys = running.state.keys
        text = repr(keys) + str(keys) + repr(running.state.settings)
        for secret in secrets_of(keys):
            assert secret.decode("latin-1") not in text
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(keys)
