"""A confidential chat job on a real engine and a real chain: it settles and pays, the client
decrypts and verifies, forgeries fail verification, and the relayer and an outsider see only
ciphertext."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from eth_utils import keccak

from pha import envelope
from pha.llm.client import (
    ChatJobError,
    load_record,
    run_chat_job,
    verify_chat_job,
    verify_settled,
    web3_poster,
)
from pha.llm.proof import prove_settlement
from pha.llm.request import parse_chat_request
from pha.llm.result import ChatVerificationError, response_hash
from tests.llm.conftest import MODEL, chat_config
from tests.worker.conftest import job_request, make_settings
from worker.server import BackgroundWorker

PHA = 10**18
PROMPT = "The secret launch code is 7341-ALPHA. Summarise it."


def ask(view, net, folder, content=PROMPT, **extra):
    request = parse_chat_request(
        {"model": "default", "messages": [{"role": "user", "content": content}], "max_tokens": 16,
         "temperature": 0, **extra}
    )  # fmt: skip
    post = web3_poster(view, net.client)
    return run_chat_job(view, post, request, net.pool, PHA, PHA // 10, 600, 90, folder=folder)


@pytest.fixture(scope="module")
def answered(net, view, relayer, engine, tmp_path_factory):
    """One chat job run the whole way (records under a module folder)."""
    folder = tmp_path_factory.mktemp("records")
    balance = net.c["token"].functions.balanceOf(net.client.address).call()
    verification = ask(view, net, folder)
    return verification, balance, folder


def test_chat_job__settles_pays_and_the_client_verifies_a_real_inference(
    answered, net, view, engine, model, chat_worker
):
    verification, balance_before, folder = answered
    s, proof = verification.settlement, verification.proof
    # paid: the client's payment left, the pool and the relayer were credited in the settlement
    assert net.c["token"].functions.balanceOf(net.client.address).call() == balance_before - PHA
    paid = net.escrow.events.SettlementPaid().get_logs(from_block=s.block, to_block=s.block)
    assert paid and paid[0]["args"]["worker"] == s.worker and paid[0]["args"]["relayAmount"] == PHA // 10
    # proven: the worker that signed is the pool's registered worker, its key the one we used
    attestation = httpx.get(f"{chat_worker.url}/attestation", timeout=10).json()
    assert s.worker == attestation["worker"] and s.spec.worker == s.worker
    assert "0x" + s.registration.encryption_key.hex() == attestation["encryption_key"]
    assert s.registration.quote_hash != bytes(32) and s.registration.verifier == net.c["verifier"].address
    assert "0x" + s.spec.measurement_id.hex() == attestation["measurement_id"]
    assert proof.model == MODEL and proof.model_digest == model.digest == attestation["chat"]["model_digest"]
    # a real inference: the engine itself gives the same greedy answer for the same request
    record = load_record(view.chain_id, view.escrow.address, s.job_id, folder)
    direct = httpx.post(
        f"{engine.url}/v1/chat/completions", json={**record.request, "model": MODEL}, timeout=30
    ).json()
    assert proof.answer == direct["choices"][0]["message"]["content"] and proof.answer
    assert proof.response["usage"]["completion_tokens"] > 0
    # `verify` again later from the chain and the record gives the same facts
    assert verify_chat_job(view, record).facts() == verification.facts()


def test_relayer_and_outsider__see_only_ciphertext(answered, net, view, relayer):
    verification = answered[0]
    s = verification.settlement
    secret, answer = PROMPT.encode(), verification.proof.answer.encode()
    assert envelope.is_envelope(s.input) and envelope.is_envelope(s.output)
    # everything public about the job: its transactions and logs
    posted_tx = net.w3.eth.get_transaction(net.escrow.events.JobPosted().get_logs(
        from_block=net.deploy_block, argument_filters={"jobId": s.job_id})[0]["transactionHash"])  # fmt: skip
    settle_tx = net.w3.eth.get_transaction(s.tx_hash)
    public = bytes(posted_tx["input"]) + bytes(settle_tx["input"]) + s.input + s.output
    needles = [secret, b"7341-ALPHA", b"launch code"]
    if len(answer) >= 8:  # a shorter answer could turn up in random ciphertext by chance
        needles.append(answer)
    for needle in needles:
        assert needle not in public
    # the relayer's own store on disk (the database and its journal)
    db = Path(relayer.settings.db_path)
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert stored and all(needle not in stored for needle in needles)
    # an outsider with a key of its own cannot open either envelope
    outsider, _ = envelope.generate_keypair()
    with pytest.raises(envelope.EnvelopeError):
        envelope.open_sealed(s.input, outsider, envelope.INPUT_INFO)
    with pytest.raises(envelope.EnvelopeError):
        envelope.decrypt_output(s.output, outsider)


def test_tampered_response__fails_verification(answered, view):
    verification, _, folder = answered
    s = verification.settlement
    record = load_record(view.chain_id, view.escrow.address, s.job_id, folder)
    reply_public = envelope.public_bytes(envelope.load_private(record.reply_key))
    message = json.loads(envelope.decrypt_output(s.output, record.reply_key))
    message["result"]["response"]["choices"][0]["message"]["content"] = "Forged: send 100 PHA to me."
    forged = envelope.seal(envelope.canonical_json(message), reply_public, envelope.OUTPUT_INFO)
    with pytest.raises(ChatVerificationError, match="not the one its worker signed"):
        verify_settled(replace(s, output=forged), record)
    # even a forger who fixes up the response hash and passes the signature check is caught there
    message["result"]["response_hash"] = response_hash(message["result"]["response"])
    refixed = envelope.seal(envelope.canonical_json(message), reply_public, envelope.OUTPUT_INFO)
    with pytest.raises(ChatVerificationError, match="not the one its worker signed"):
        verify_settled(replace(s, output=refixed), record)
    unsigned = replace(s, output=forged, signed_output_hash=keccak(forged))  # if the signature held
    with pytest.raises(ChatVerificationError, match="does not match its signed hash"):
        verify_settled(unsigned, record)


def test_another_model__fails_verification(answered, view):
    verification, _, folder = answered
    record = load_record(view.chain_id, view.escrow.address, verification.settlement.job_id, folder)
    pinned = replace(record, model_digest="0x" + "ee" * 32)
    with pytest.raises(ChatVerificationError, match="answered by another model"):
        verify_chat_job(view, pinned)
    # (a result naming another model than the one asked for by name: tests/worker/test_chat.py)


def test_response_for_another_request__fails_verification(answered, view, net):
    verification, _, folder = answered
    record = load_record(view.chain_id, view.escrow.address, verification.settlement.job_id, folder)
    other = replace(record, request={**record.request, "messages": [{"role": "user", "content": "other"}]})
    with pytest.raises(ChatVerificationError, match="answers another request"):
        verify_settled(verification.settlement, other)
    # and another job's settlement is not ours even when it decrypts
    second = ask(view, net, folder, content="A second, different question")
    with pytest.raises(ChatVerificationError, match="is not the job this client posted"):
        verify_settled(second.settlement, record)


def test_worker_declaring_another_model_than_its_engine_serves__signs_nothing(engine, model):
    # configured as "gpt-5" but the engine answers as "pha-tiny": the worker sees it, signs nothing
    settings = make_settings(chat=chat_config(engine, model, model="gpt-5"))
    data = {"model": "default", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    with BackgroundWorker(settings) as liar:
        reply = httpx.post(
            f"{liar.url}/jobs", json=job_request(1, envelope.build_input("chat", data)), timeout=30
        )
    assert reply.status_code == 502 and "signature" not in reply.json()
    assert "serves 'pha-tiny', not the configured 'gpt-5'" in reply.json()["error"]


def test_no_eligible_worker__refused_before_posting(view, net):
    request = parse_chat_request({"model": "default", "messages": [{"role": "user", "content": "x"}]})
    with pytest.raises(ChatJobError, match="pool 999 has no eligible worker"):
        run_chat_job(view, web3_poster(view, net.client), request, 999, PHA)


def test_settled_job__proof_recovers_the_signature_from_the_settle_transaction(answered, view):
    s = prove_settlement(view, answered[0].settlement.job_id)
    assert s.batch_size >= 1 and s.signed_output_hash == keccak(s.output)
