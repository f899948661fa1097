"""Client-side view of a job, assembled from the escrow's events (the contract keeps only a
commitment to the spec, so the spec and the claim are read back from JobPosted / JobClaimed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pha.escrow.spec import JobSpec
from pha.escrow.typed_data import output_hash

TCB_NAMES = [
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "Revoked",
]


@dataclass
class JobView:
    """Everything the events say about one job."""

    job_id: int
    client: str
    payment: int
    spec: JobSpec
    input: bytes
    posted_block: int
    claimer: str | None = None
    pool_id: int | None = None
    outcome: str | None = None  # "settled", "cancelled", "expired"
    output: bytes | None = None
    output_hash: bytes | None = None
    worker: str | None = None
    refund: int | None = None
    slashed: int | None = None

    @property
    def state(self) -> str:
        if self.outcome:
            return self.outcome
        return "claimed" if self.claimer else "open"


def _events(event: Any, start: int, stop: int, job_id: int) -> list[Any]:
    return list(event.range(start, stop + 1, search_topics={"jobId": job_id}))


def load_job(escrow: Any, job_id: int, start_block: int, head: int) -> JobView | None:
    """The job as its events describe it, or None if it was never posted."""
    posted = _events(escrow.JobPosted, start_block, head, job_id)
    if not posted:
        return None
    p = posted[0]
    view = JobView(
        job_id=job_id,
        client=str(p.client),
        payment=int(p.payment),
        spec=JobSpec.from_event(p.spec),
        input=bytes(p.input),
        posted_block=int(p.block_number),
    )
    start = view.posted_block
    for c in _events(escrow.JobClaimed, start, head, job_id):
        view.claimer, view.pool_id = str(c.worker), int(c.poolId)
    for s in _events(escrow.JobSettled, start, head, job_id):
        view.outcome, view.output = "settled", bytes(s.output)
        view.output_hash = output_hash(view.output)
        view.worker = str(s.worker)
    for c in _events(escrow.JobCancelled, start, head, job_id):
        view.outcome, view.refund = "cancelled", int(c.refund)
    for e in _events(escrow.JobExpired, start, head, job_id):
        view.outcome, view.refund, view.slashed = "expired", int(e.refund), int(e.slashed)
    return view


def render_output(output: bytes) -> str:
    """UTF-8 text when it is, else 0x-hex."""
    try:
        return output.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + output.hex()
