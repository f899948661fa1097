"""Escrow world: the stack from tests/conftest.py plus a JobEscrow wired as deploy does, a funded
client, a registered worker, and factories to post jobs and sign results.

    job = post_job(payment=10 * PHA)          # -> Posted(job_id, spec, client)
    sig = sign_result(worker, job, b"out")    # the enclave's EIP-712 signature
    escrow.settle(job.id, job.spec.as_tuple(), worker.address, b"out", sig, sender=relayer)
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pha.escrow.spec import ZERO_ADDRESS, JobSpec, input_hash
from pha.escrow.typed_data import Domain, ResultEntry, output_hash, sign_batch, sign_result

PHA = 10**18
FEE_BPS = 100
SLASH_BPS = 1_000


@dataclass(frozen=True)
class Posted:
    """A posted job as tests handle it."""

    id: int
    spec: JobSpec
    client: object
    payment: int

    @property
    def args(self) -> tuple:
        """(jobId, spec) as the escrow's calls take them."""
        return (self.id, self.spec.as_tuple())


@pytest.fixture(scope="session")
def escrow(project, gov, token, staking, registry, attestation_log, treasury):
    contract = gov.deploy(
        project.JobEscrow, gov, token, staking, registry, attestation_log, treasury, FEE_BPS, SLASH_BPS
    )
    staking.grantRole(staking.SLASHER_ROLE(), contract, sender=gov)
    attestation_log.setWriters(registry, contract, ZERO_ADDRESS, sender=gov)
    staking.setRewardLedgers(contract, ZERO_ADDRESS, sender=gov)
    return contract


@pytest.fixture(scope="session")
def domain(escrow, chain):
    return Domain(chain.chain_id, escrow.address)


@pytest.fixture(scope="session")
def client(alice, token, fund, escrow):
    """alice, funded with 1M PHA and the escrow approved for all of it."""
    fund(alice, 1_000_000 * PHA)
    token.approve(escrow, 2**256 - 1, sender=alice)
    return alice


@pytest.fixture(scope="session")
def worker(register_worker, pool):
    """An enclave registered in the default pool (its `.signer` is the eth_account key)."""
    return register_worker(pool)


@pytest.fixture(scope="session")
def post_job(escrow, client, code, chain):
    """post_job(payment=..., relay_fee=..., duration=3600, worker=None, data=..., sender=client) -> Posted."""
    counter = {"n": 0}

    def _post(
        payment: int = 10 * PHA,
        relay_fee: int = PHA // 10,
        duration: int = 3_600,
        worker: str | None = None,
        data: bytes | None = None,
        measurement: bytes | None = None,
        max_tcb_status: int = 6,
        sender=None,
    ) -> Posted:
        counter["n"] += 1
        data = data if data is not None else b'{"handler":"echo","data":%d}' % counter["n"]
        spec = JobSpec(
            measurement_id=measurement or code.measurement_id,
            input_hash=input_hash(data),
            relay_fee=relay_fee,
            deadline=chain.pending_timestamp + duration,
            worker=worker or "0x" + "00" * 20,
            max_tcb_status=max_tcb_status,
        )
        who = sender or client
        tx = escrow.post(spec.as_tuple(), payment, data, sender=who)
        job_id = tx.decode_logs(escrow.JobPosted)[0].jobId
        return Posted(job_id, spec, who, payment)

    return _post


@pytest.fixture(scope="session")
def result_sig(domain):
    """result_sig(enclave, job, output, job_id=None, input_hash=None) -> the enclave's Result signature."""

    def _sign(
        enclave, job: Posted, output: bytes, job_id: int | None = None, inp: bytes | None = None
    ) -> bytes:
        entry = ResultEntry(
            job.id if job_id is None else job_id, inp or job.spec.input_hash, output_hash(output)
        )
        return sign_result(domain, entry, enclave.signer.key)

    return _sign


@pytest.fixture(scope="session")
def batch_sig(domain):
    """batch_sig(enclave, [(job, output), ...]) -> the enclave's ResultBatch signature over them, in order."""

    def _sign(enclave, items) -> bytes:
        entries = [ResultEntry(job.id, job.spec.input_hash, output_hash(out)) for job, out in items]
        return sign_batch(domain, entries, enclave.signer.key)

    return _sign


def batch_entries(items) -> list:
    """settleBatch entries from [(job, output), ...]."""
    return [(job.id, job.spec.as_tuple(), out) for job, out in items]


def split(payment: int, relay_fee: int, fee_bps: int = FEE_BPS) -> tuple[int, int, int]:
    """(pool, relay, fee) of one settled job."""
    fee = (payment - relay_fee) * fee_bps // 10_000
    return payment - relay_fee - fee, relay_fee, fee
