"""The chain of evidence behind a settled job, read from the chain with web3 and checked here.

    JobPosted      the spec (measurement, inputHash, the only worker allowed) and the input bytes
    JobSettled     the worker and the output bytes
    the settle tx  its calldata (settle or settleBatch) holds the worker's EIP-712 signature: it is
                   recovered here over Result(jobId, inputHash, keccak(output), worker) or over
                   the ResultBatch of every entry, not taken on the escrow's word
    the registry   the worker's registration (WorkerRegistered / WorkerRenewed: the measurement,
                   the encryption key its quote binds, the verifier that checked the quote, the
                   quote's hash) and its record at the settlement's block: registered, not
                   invalidated, attested past that block, running the job's measurement

`prove_settlement` returns those facts or raises ProofError naming the first that fails.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from eth_utils import keccak, to_checksum_address

from pha.escrow.spec import JobSpec
from pha.escrow.typed_data import Domain, ResultEntry, verify_batch, verify_result

MAX_SCAN_BLOCKS = 50_000
"""Event scans are split into ranges of this many blocks (RPC providers cap log queries)."""


class ProofError(ValueError):
    """A settled job whose evidence does not hold; the message says what failed."""


@cache
def abi(name: str) -> list[dict[str, Any]]:
    """IJobEscrow / IWorkerRegistry ABIs, as packaged for the relayer (generated from the build)."""
    return json.loads(resources.files("relayer.abi").joinpath(f"{name}.json").read_text())


ERC20_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": name, "stateMutability": mut, "inputs": ins, "outputs": outs}
    for name, mut, ins, outs in (
        ("balanceOf", "view", [{"name": "a", "type": "address"}], [{"name": "", "type": "uint256"}]),
        (
            "allowance",
            "view",
            [{"name": "o", "type": "address"}, {"name": "s", "type": "address"}],
            [{"name": "", "type": "uint256"}],
        ),
        (
            "approve",
            "nonpayable",
            [{"name": "s", "type": "address"}, {"name": "v", "type": "uint256"}],
            [{"name": "", "type": "bool"}],
        ),
    )
]


@dataclass
class ChainView:
    """The escrow and registry of one deployment, through web3."""

    w3: Any
    escrow_address: str
    registry_address: str
    start_block: int
    token_address: str | None = None

    def __post_init__(self) -> None:
        self.escrow = self.w3.eth.contract(
            address=to_checksum_address(self.escrow_address), abi=abi("IJobEscrow")
        )
        self.registry = self.w3.eth.contract(
            address=to_checksum_address(self.registry_address), abi=abi("IWorkerRegistry")
        )
        self.token = (
            None
            if self.token_address is None
            else self.w3.eth.contract(address=to_checksum_address(self.token_address), abi=ERC20_ABI)
        )
        self.chain_id = int(self.w3.eth.chain_id)

    @property
    def domain(self) -> Domain:
        return Domain(self.chain_id, self.escrow.address)

    def logs(self, event: Any, from_block: int, **filters: Any) -> list[Any]:
        """Every log of `event` from `from_block` to the head matching indexed `filters`."""
        head = int(self.w3.eth.block_number)
        found: list[Any] = []
        start = max(from_block, 0)
        while start <= head:
            stop = min(start + MAX_SCAN_BLOCKS - 1, head)
            found += event.get_logs(from_block=start, to_block=stop, argument_filters=filters or None)
            start = stop + 1
        return found

    def eligible(self, worker: str, measurement_id: bytes, block: int | str = "latest") -> bool:
        function = self.registry.get_function_by_signature("isEligible(address,bytes32)")
        return bool(function(worker, measurement_id).call(block_identifier=block))


@dataclass(frozen=True)
class Registration:
    """The registry's evidence for a worker key."""

    worker: str
    measurement_id: bytes
    encryption_key: bytes
    verifier: str
    quote_hash: bytes
    registered_block: int


@dataclass(frozen=True)
class Settlement:
    """What a settled job proves, every item checked."""

    job_id: int
    spec: JobSpec
    client: str
    input: bytes
    worker: str
    output: bytes
    tx_hash: str
    block: int
    batch_size: int
    """1 for settle, the number of entries the batch signature covers for settleBatch."""
    signed_output_hash: bytes
    """The outputHash the worker's recovered signature covers."""
    registration: Registration
    attested_until: int
    tcb_status: int

    @property
    def output_hash(self) -> bytes:
        return keccak(self.output)


def registration(view: ChainView, worker: str, until_block: int) -> Registration | None:
    """The newest WorkerRegistered / WorkerRenewed of `worker` up to `until_block`."""
    events = view.logs(view.registry.events.WorkerRegistered, view.start_block, worker=worker)
    events += view.logs(view.registry.events.WorkerRenewed, view.start_block, worker=worker)
    events = [e for e in events if e["blockNumber"] <= until_block]
    if not events:
        return None
    latest = max(events, key=lambda e: (e["blockNumber"], e["logIndex"]))
    args = latest["args"]
    return Registration(
        worker=to_checksum_address(worker),
        measurement_id=bytes(args["measurementId"]),
        encryption_key=bytes(args["encryptionKey"]),
        verifier=to_checksum_address(args["verifier"]),
        quote_hash=bytes(args["quoteHash"]),
        registered_block=int(latest["blockNumber"]),
    )


def _field(value: Any, name: str, index: int) -> Any:
    """A decoded struct's field, whether web3 gave a dict or a tuple."""
    return value[name] if isinstance(value, dict) else value[index]


def _input_hash(spec: Any) -> bytes:
    return JobSpec.from_event(spec).input_hash


def _signature_holds(view: ChainView, job_id: int, spec: JobSpec, worker: str, output: bytes, tx: Any) -> int:
    """Recover the worker's signature from the settling transaction; the batch size it covers."""
    if tx["to"] is None or to_checksum_address(tx["to"]) != view.escrow.address:
        raise ProofError(f"job {job_id} was settled by a call through {tx['to']}, not read here")
    function, args = view.escrow.decode_function_input(tx["input"])
    name = function.fn_name
    if name == "settle":
        entry = ResultEntry(int(args["jobId"]), _input_hash(args["spec"]), keccak(bytes(args["output"])))
        if entry.job_id != job_id or bytes(args["output"]) != output:
            raise ProofError(f"the settling transaction of job {job_id} carries another job or output")
        if not verify_result(view.domain, entry, worker, bytes(args["signature"])):
            raise ProofError(f"the Result signature on job {job_id} is not {worker}'s")
        return 1
    if name == "settleBatch":
        entries = [ResultEntry(int(e[0]), bytes(e[1][1]), keccak(bytes(e[2]))) for e in args["entries"]]
        ours = [e for e in entries if e.job_id == job_id]
        if len(ours) != 1 or ours[0].output_hash != keccak(output) or ours[0].input_hash != spec.input_hash:
            raise ProofError(f"the settling batch does not hold job {job_id}'s output once")
        if to_checksum_address(args["worker"]) != worker or not verify_batch(
            view.domain, entries, worker, bytes(args["signature"])
        ):
            raise ProofError(f"the ResultBatch signature over job {job_id} is not {worker}'s")
        return len(entries)
    raise ProofError(f"job {job_id} was settled by {name}, which this verifier does not read")


def prove_settlement(view: ChainView, job_id: int) -> Settlement:
    """The checked evidence of a settled job (ProofError if it is not settled or does not hold)."""
    posted = view.logs(view.escrow.events.JobPosted, view.start_block, jobId=job_id)
    if not posted:
        raise ProofError(f"job {job_id} was never posted on this escrow")
    p = posted[0]
    spec = JobSpec.from_event(p["args"]["spec"])
    data = bytes(p["args"]["input"])
    if keccak(data) != spec.input_hash:
        raise ProofError(f"job {job_id}'s posted input does not hash to its inputHash")
    settled = view.logs(view.escrow.events.JobSettled, int(p["blockNumber"]), jobId=job_id)
    if not settled:
        raise ProofError(f"job {job_id} is not settled")
    s = settled[0]
    worker, output = to_checksum_address(s["args"]["worker"]), bytes(s["args"]["output"])
    block = int(s["blockNumber"])
    tx = view.w3.eth.get_transaction(s["transactionHash"])
    batch_size = _signature_holds(view, job_id, spec, worker, output, tx)
    reg = registration(view, worker, block)
    if reg is None:
        raise ProofError(f"worker {worker} was never registered with this registry")
    if reg.measurement_id != spec.measurement_id:
        raise ProofError(
            f"worker {worker} was registered running 0x{reg.measurement_id.hex()}, the job asked for "
            f"0x{spec.measurement_id.hex()}"
        )
    info = view.registry.functions.workerInfo(worker).call(block_identifier=block)
    measurement, _, attested_until, _, tcb, registered, invalidated = info
    timestamp = int(view.w3.eth.get_block(block)["timestamp"])
    if (
        not registered
        or invalidated
        or bytes(measurement) != spec.measurement_id
        or attested_until < timestamp
    ):
        raise ProofError(f"worker {worker} was not an attested, registered worker when job {job_id} settled")
    return Settlement(
        job_id=job_id,
        spec=spec,
        client=to_checksum_address(p["args"]["client"]),
        input=data,
        worker=worker,
        output=output,
        tx_hash="0x" + bytes(s["transactionHash"]).hex(),
        block=block,
        batch_size=batch_size,
        signed_output_hash=keccak(output),
        registration=reg,
        attested_until=int(attested_until),
        tcb_status=int(tcb),
    )
