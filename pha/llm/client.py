"""The client's side of a confidential chat job, shared by `ape run client chat/verify` and
`pha-gateway`.

    1. pick an eligible worker of the pool (the registry's events and its record of each key);
    2. encrypt the checked request to that worker's registered encryption key, with a fresh
       `reply_to` key, and post it with `spec.worker` = that worker (only it can decrypt it);
    3. keep a local record (the request, the reply key) to decrypt and check the answer later;
    4. wait for the settlement, prove it (pha.llm.proof), decrypt the output and check it
       (pha.llm.result).

What leaves the client: the ciphertext (on chain), its hash, the payment. The record holds the
prompt and the reply key: it is written owner-only under PHA_CHAT_DIR (default
~/.local/share/pha/chat).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from web3.logs import DISCARD

from pha import envelope
from pha.envelope import EnvelopeError
from pha.escrow.spec import JobSpec, input_hash
from pha.llm.proof import ChainView, ProofError, Settlement, prove_settlement
from pha.llm.request import ChatRequest, parse_chat_request
from pha.llm.result import ChatProof, ChatVerificationError, check_chat_output, normalise_digest

MAX_CANDIDATES = 256
"""Worker keys of a pool looked at when choosing one (the newest first)."""
RECORD_VERSION = 1


class ChatJobError(RuntimeError):
    """The job could not be run or its answer not proven; one line for the user."""


@dataclass(frozen=True)
class WorkerChoice:
    address: str
    measurement_id: bytes
    encryption_key: bytes


def choose_worker(view: ChainView, pool_id: int) -> WorkerChoice:
    """The most recently registered key of `pool_id` that is eligible now (ChatJobError if none)."""
    registry = view.registry
    events = view.logs(registry.events.WorkerRegistered, view.start_block, poolId=pool_id)
    events += view.logs(registry.events.WorkerRenewed, view.start_block)
    events.sort(key=lambda e: (e["blockNumber"], e["logIndex"]), reverse=True)
    seen: set[str] = set()
    for event in events:
        worker = to_checksum_address(event["args"]["worker"])
        if worker in seen:
            continue
        seen.add(worker)
        if len(seen) > MAX_CANDIDATES:
            break
        measurement, pool, *_ = registry.functions.workerInfo(worker).call()
        if int(pool) == pool_id and view.eligible(worker, bytes(measurement)):
            return WorkerChoice(worker, bytes(measurement), bytes(event["args"]["encryptionKey"]))
    raise ChatJobError(f"pool {pool_id} has no eligible worker (none registered, attested and backed)")


@dataclass
class ChatRecord:
    """What the client keeps about one chat job (the reply key among it: keep it private)."""

    chain_id: int
    escrow: str
    job_id: int
    worker: str
    measurement_id: str
    encryption_key: str
    input_hash: str
    request: dict[str, Any]
    reply_key: str
    model_digest: str | None
    posted_block: int
    version: int = RECORD_VERSION

    @property
    def chat_request(self) -> ChatRequest:
        return parse_chat_request(self.request)


def chat_dir() -> Path:
    configured = os.environ.get("PHA_CHAT_DIR")
    return Path(configured) if configured else Path.home() / ".local" / "share" / "pha" / "chat"


def record_path(chain_id: int, escrow: str, job_id: int, folder: Path | None = None) -> Path:
    return (folder or chat_dir()) / f"{chain_id}-{escrow.lower()}-{job_id}.json"


def save_record(record: ChatRecord, folder: Path | None = None) -> Path:
    path = record_path(record.chain_id, record.escrow, record.job_id, folder)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(record), handle, indent=1, sort_keys=True)
    return path


def load_record(chain_id: int, escrow: str, job_id: int, folder: Path | None = None) -> ChatRecord | None:
    path = record_path(chain_id, escrow, job_id, folder)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("version") != RECORD_VERSION:
            raise ChatJobError(f"{path}: unsupported record version {data.get('version')!r}")
        return ChatRecord(**data)
    except (json.JSONDecodeError, TypeError) as error:
        raise ChatJobError(f"{path} is not a chat job record: {error}") from None


@dataclass(frozen=True)
class PreparedJob:
    """A chat job ready to post: the encrypted input, its spec, and the record's parts."""

    worker: WorkerChoice
    request: ChatRequest
    data: bytes
    spec: JobSpec
    reply_key: bytes
    model_digest: str | None

    def record(self, view: ChainView, job_id: int, posted_block: int) -> ChatRecord:
        return ChatRecord(
            chain_id=view.chain_id,
            escrow=view.escrow.address,
            job_id=job_id,
            worker=self.worker.address,
            measurement_id="0x" + self.worker.measurement_id.hex(),
            encryption_key="0x" + self.worker.encryption_key.hex(),
            input_hash="0x" + self.spec.input_hash.hex(),
            request=self.request.as_json(),
            reply_key="0x" + self.reply_key.hex(),
            model_digest=self.model_digest,
            posted_block=posted_block,
        )


def prepare(
    view: ChainView,
    request: ChatRequest,
    pool_id: int,
    relay_fee: int,
    deadline_in: int,
    model_digest: str | None = None,
) -> PreparedJob:
    """Choose the worker, encrypt the request to it with a fresh reply key, fix the spec."""
    worker = choose_worker(view, pool_id)
    reply_private, reply_public = envelope.generate_keypair()
    data = envelope.encrypt_input("chat", request.as_json(), worker.encryption_key, reply_to=reply_public)
    now = int(view.w3.eth.get_block("latest")["timestamp"])
    spec = JobSpec(worker.measurement_id, input_hash(data), relay_fee, now + deadline_in, worker.address)
    digest = None if model_digest is None else normalise_digest(model_digest)
    return PreparedJob(worker, request, data, spec, envelope.private_bytes(reply_private), digest)


def wait_for_end(view: ChainView, job_id: int, from_block: int, timeout: float, poll: float = 0.5) -> str:
    """ "settled" once the job is; ChatJobError if it ends otherwise or `timeout` passes."""
    events = view.escrow.events
    until = time.monotonic() + timeout
    while True:
        if view.logs(events.JobSettled, from_block, jobId=job_id):
            return "settled"
        for name, what in (("JobCancelled", "cancelled"), ("JobExpired", "expired")):
            if view.logs(getattr(events, name), from_block, jobId=job_id):
                raise ChatJobError(f"job {job_id} ended without an answer: {what}")
        if time.monotonic() > until:
            raise ChatJobError(
                f"job {job_id} has no answer after {timeout:g} s (the worker may have refused it: "
                f"`ape run client status {job_id}`; reclaim the payment with cancel, or expire after "
                "the deadline)"
            )
        time.sleep(poll)


@dataclass(frozen=True)
class ChatVerification:
    """A chat job proven end to end: the chain's evidence and the answer's."""

    settlement: Settlement
    proof: ChatProof

    def facts(self) -> dict[str, Any]:
        s, p, r = self.settlement, self.proof, self.settlement.registration
        return {
            "job_id": s.job_id,
            "worker": s.worker,
            "measurement_id": "0x" + s.spec.measurement_id.hex(),
            "quote_hash": "0x" + r.quote_hash.hex(),
            "verifier": r.verifier,
            "attested_until": s.attested_until,
            "model": p.model,
            "model_digest": p.model_digest,
            "request_hash": p.request_hash,
            "response_hash": p.response_hash,
            "input_hash": "0x" + s.spec.input_hash.hex(),
            "output_hash": "0x" + s.output_hash.hex(),
            "settle_tx": s.tx_hash,
            "signed_batch_of": s.batch_size,
            "encrypted": True,
        }


def verify_chat_job(view: ChainView, record: ChatRecord) -> ChatVerification:
    """Prove the settlement, then that its output answers our request (ChatVerificationError)."""
    try:
        settlement = prove_settlement(view, record.job_id)
    except ProofError as error:
        raise ChatVerificationError(str(error)) from None
    return verify_settled(settlement, record)


def verify_settled(settlement: Settlement, record: ChatRecord) -> ChatVerification:
    """A proven settlement checked against the client's record: our job, encrypted to the
    registered key of the worker that signed, an output it signed that decrypts with our reply
    key and answers our request with the model we asked for."""
    if settlement.output_hash != settlement.signed_output_hash:
        raise ChatVerificationError(f"job {record.job_id}'s output is not the one its worker signed")
    if settlement.job_id != record.job_id or "0x" + settlement.spec.input_hash.hex() != record.input_hash:
        raise ChatVerificationError(f"job {record.job_id} on chain is not the job this client posted")
    if not envelope.is_envelope(settlement.input):
        raise ChatVerificationError(f"job {record.job_id}'s input is in plaintext on chain")
    registered_key = "0x" + settlement.registration.encryption_key.hex()
    if settlement.worker != to_checksum_address(record.worker) or registered_key != record.encryption_key:
        raise ChatVerificationError(
            f"job {record.job_id} was settled by {settlement.worker}, not the worker whose registered "
            f"key the request was encrypted to ({record.worker})"
        )
    try:
        plaintext = envelope.decrypt_output(settlement.output, record.reply_key)
    except EnvelopeError as error:
        raise ChatVerificationError(f"the output is not encrypted to our reply key: {error}") from None
    return ChatVerification(
        settlement, check_chat_output(plaintext, record.chat_request, record.model_digest)
    )


Poster = Callable[[PreparedJob, int], tuple[int, int]]
"""post(job, payment) -> (job id, block it was posted in)."""


def run_chat_job(
    view: ChainView,
    post: Poster,
    request: ChatRequest,
    pool_id: int,
    payment: int,
    relay_fee: int = 0,
    deadline_in: int = 600,
    timeout: float = 300.0,
    model_digest: str | None = None,
    folder: Path | None = None,
    on_posted: Callable[[ChatRecord], None] | None = None,
) -> ChatVerification:
    """The whole client flow: prepare, post, record, wait, prove and check."""
    job = prepare(view, request, pool_id, relay_fee, deadline_in, model_digest)
    job_id, block = post(job, payment)
    record = job.record(view, job_id, block)
    save_record(record, folder)
    if on_posted is not None:
        on_posted(record)
    wait_for_end(view, job_id, block, timeout)
    return verify_chat_job(view, record)


def web3_poster(view: ChainView, account: Any) -> Poster:
    """Post with a local key through web3 (approving the escrow for the payment when needed)."""
    w3 = view.w3

    def send(fn: Any) -> Any:
        tx = fn.build_transaction(
            {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)}
        )
        signed = account.sign_transaction(tx)
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction), 120
        )
        if receipt["status"] != 1:
            raise ChatJobError(f"transaction {receipt['transactionHash'].hex()} reverted")
        return receipt

    def post(job: PreparedJob, payment: int) -> tuple[int, int]:
        token = view.token
        if token is None:
            raise ChatJobError("no PHAToken address: cannot pay for the job")
        if int(token.functions.balanceOf(account.address).call()) < payment:
            raise ChatJobError(f"{account.address} holds less PHA than the payment")
        if int(token.functions.allowance(account.address, view.escrow.address).call()) < payment:
            send(token.functions.approve(view.escrow.address, payment))
        receipt = send(view.escrow.functions.post(job.spec.as_tuple(), payment, job.data))
        [event] = view.escrow.events.JobPosted().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["jobId"]), int(receipt["blockNumber"])

    return post
