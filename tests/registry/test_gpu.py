"""GPU workers (issue 20, on chain): the committee's GPU statement, the nonce binding, one GPU per
live worker, a measurement's GPU policy, GPU expiry and renewal, eligibility reasons by name."""

from __future__ import annotations

import ape
import pytest

from pha.gpu.statement import driver_version_code, vbios_version_code
from tests.world import Code, Enclave, committee_evidence, gpu_committee_evidence, gpu_statement

R_ELIGIBLE, R_GPU_MISSING, R_GPU_EXPIRED, R_GPU_BELOW = 0, 11, 12, 13
HOUR = 3600


@pytest.fixture
def gpu_code(allow, registry, gov):
    """A measurement that requires a GPU (no version floor)."""
    code = Code.named("pha-worker/gpu")
    allow(code)
    registry.setGpuPolicy(code.measurement_id, (True, 0, 0), sender=gov)
    return code


@pytest.fixture
def gpu_register(registry, committee, attester_keys, chain, operator):
    """gpu_register(pool_id, enclave, device=..., statement=None, **statement kwargs): committee path."""

    def _register(pool_id, enclave, statement=None, **kwargs):
        now = chain.pending_timestamp
        quote = enclave.quote(chain.chain_id, registry.address, pool_id)
        evidence = committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now)
        statement = statement or gpu_statement(
            enclave, chain.chain_id, registry.address, pool_id, now, **kwargs
        )
        gpu = gpu_committee_evidence(statement, attester_keys[:2], chain.chain_id, committee.address)
        return registry.registerGpuWorker(
            pool_id, enclave.address, enclave.encryption_key, committee, quote, evidence, gpu, sender=operator
        )

    return _register


@pytest.fixture
def renew_gpu(registry, committee, attester_keys, chain, operator):
    """renew_gpu(enclave, pool_id, new=None, **statement kwargs): renewGpuWorker (rotating to `new`)."""

    def _renew(enclave, pool_id, new=None, **kwargs):
        new = new or enclave
        now = chain.pending_timestamp
        quote = new.quote(chain.chain_id, registry.address, pool_id)
        evidence = committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now)
        statement = gpu_statement(new, chain.chain_id, registry.address, pool_id, now, **kwargs)
        gpu = gpu_committee_evidence(statement, attester_keys[:2], chain.chain_id, committee.address)
        return registry.renewGpuWorker(
            enclave.address, new.address, new.encryption_key, committee, quote, evidence, gpu, sender=operator
        )

    return _renew


def reason(registry, worker, measurement_id) -> int:
    return int(registry.check(worker, measurement_id, 6, ape.utils.ZERO_ADDRESS)[0])


def test_gpu_measurement__refuses_cpu_only_worker_accepts_gpu_worker(
    registry, pool, gpu_code, register_worker, gpu_register, chain
):
    with ape.reverts(registry.RegistryGpuRequired):
        register_worker(pool, code=gpu_code)
    enclave = Enclave(gpu_code)
    tx = gpu_register(pool, enclave)
    assert reason(registry, enclave.address, gpu_code.measurement_id) == R_ELIGIBLE
    info = registry.gpuInfo(enclave.address)
    assert bytes(info.model).rstrip(b"\0") == b"GH100 A01 GSP BROM"
    assert info.driverVersion == driver_version_code("550.90.07") == 550_090_007
    assert info.vbiosVersion == vbios_version_code("96.00.9f.00.01") == 0x96009F0001
    assert info.attestedUntil == registry.workerInfo(enclave.address).attestedUntil
    assert registry.gpuWorker(info.deviceId) == enclave.address
    assert tx.events.filter(registry.WorkerGpuAttested)[0].deviceId == info.deviceId


def test_gpu_policy_set_later__cpu_worker_ineligible_by_name(registry, pool, register_worker, code, gov):
    cpu = register_worker(pool)
    assert reason(registry, cpu.address, code.measurement_id) == R_ELIGIBLE
    registry.setGpuPolicy(code.measurement_id, (True, 0, 0), sender=gov)
    assert reason(registry, cpu.address, code.measurement_id) == R_GPU_MISSING
    eligible, text = registry.explain(cpu.address, code.measurement_id)
    assert not eligible and "requires a GPU" in text
    # Governance made it so: a missed deadline is excused (the escrow asks this before slashing).
    assert registry.stoppedByGovernance(cpu.address, code.measurement_id, ape.chain.pending_timestamp)


def test_one_gpu_cannot_back_two_workers(registry, pool, gpu_code, gpu_register, operator):
    first, second = Enclave(gpu_code), Enclave(gpu_code)
    gpu_register(pool, first, device="shared")
    with ape.reverts(registry.RegistryGpuInUse):
        gpu_register(pool, second, device="shared")
    gpu_register(pool, Enclave(gpu_code), device="another")  # another GPU is fine
    # Freed when the first worker goes.
    registry.deregisterWorker(first.address, sender=operator)
    assert registry.gpuWorker(registry.gpuInfo(second.address).deviceId) == ape.utils.ZERO_ADDRESS
    gpu_register(pool, second, device="shared")
    assert registry.gpuWorker(registry.gpuInfo(second.address).deviceId) == second.address
    assert registry.gpuInfo(first.address).deviceId == b"\0" * 32


def test_one_gpu__freed_on_gpu_expiry_and_former_holder_loses_it(
    registry, pool, gpu_code, gpu_register, renew_gpu, chain
):
    first, second = Enclave(gpu_code), Enclave(gpu_code)
    gpu_register(pool, first, device="shared", lifetime=2 * HOUR)
    chain.pending_timestamp += 3 * HOUR
    chain.mine()
    assert reason(registry, first.address, gpu_code.measurement_id) == R_GPU_EXPIRED
    gpu_register(pool, second, device="shared")
    assert reason(registry, second.address, gpu_code.measurement_id) == R_ELIGIBLE
    # The former holder cannot take the GPU back while the new one is live.
    with ape.reverts(registry.RegistryGpuInUse):
        renew_gpu(first, pool, device="shared")


def test_gpu_invalidated_holder__device_taken_over(
    registry, pool, gpu_code, gpu_register, chain, attester_keys, committee, attacker
):
    first, second = Enclave(gpu_code), Enclave(gpu_code)
    gpu_register(pool, first, device="shared")
    chain.pending_timestamp += 60
    now = chain.pending_timestamp
    quote = first.quote(chain.chain_id, registry.address, pool)
    revoked = committee_evidence(
        quote, attester_keys[:2], chain.chain_id, committee.address, now, tcb_status=6
    )
    registry.invalidateWorker(first.address, first.encryption_key, committee, quote, revoked, sender=attacker)
    gpu_register(pool, second, device="shared")
    assert registry.gpuWorker(registry.gpuInfo(second.address).deviceId) == second.address


def test_wrong_nonce_or_binding__refused(registry, pool, gpu_code, gpu_register, chain, open_pool, operator):
    enclave, other = Enclave(gpu_code), Enclave(gpu_code)
    # A report made for another worker's binding.
    foreign = gpu_statement(other, chain.chain_id, registry.address, pool, chain.pending_timestamp)
    with ape.reverts(registry.RegistryGpuNonceMismatch):
        gpu_register(pool, enclave, statement=foreign)
    # For this worker but another pool.
    other_pool = open_pool(operator)
    elsewhere = gpu_statement(enclave, chain.chain_id, registry.address, other_pool, chain.pending_timestamp)
    with ape.reverts(registry.RegistryGpuNonceMismatch):
        gpu_register(pool, enclave, statement=elsewhere)
    # The CPU binding value itself is not the GPU nonce (distinct tag).
    from pha.quote.binding import worker_binding

    raw = worker_binding(chain.chain_id, registry.address, enclave.address, enclave.encryption_key, pool)
    with ape.reverts(registry.RegistryGpuNonceMismatch):
        gpu_register(pool, enclave, nonce=raw)


def test_gpu_statement__needs_committee_threshold(
    registry, pool, gpu_code, chain, committee, attester_keys, operator
):
    enclave = Enclave(gpu_code)
    now = chain.pending_timestamp
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    evidence = committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now)
    statement = gpu_statement(enclave, chain.chain_id, registry.address, pool, now)
    one = gpu_committee_evidence(statement, attester_keys[:1], chain.chain_id, committee.address)
    with ape.reverts(committee.CommitteeQuoteVerifierBelowThreshold):
        registry.registerGpuWorker(
            pool, enclave.address, enclave.encryption_key, committee, quote, evidence, one, sender=operator
        )
    # A statement signed for another verifier (domain) recovers to strangers.
    wrong = gpu_committee_evidence(statement, attester_keys[:2], chain.chain_id, registry.address)
    with ape.reverts(committee.CommitteeQuoteVerifierNotAttester):
        registry.registerGpuWorker(
            pool, enclave.address, enclave.encryption_key, committee, quote, evidence, wrong, sender=operator
        )


def test_gpu_expiry__ineligible_for_gpu_jobs_until_renewed(
    registry, pool, gpu_code, gpu_register, renew_gpu, chain, committee, attester_keys, operator
):
    enclave = Enclave(gpu_code)
    gpu_register(pool, enclave, lifetime=2 * HOUR)
    assert (
        registry.gpuInfo(enclave.address).attestedUntil < registry.workerInfo(enclave.address).attestedUntil
    )
    chain.pending_timestamp += 2 * HOUR
    chain.mine()
    assert reason(registry, enclave.address, gpu_code.measurement_id) == R_GPU_EXPIRED
    eligible, text = registry.explain(enclave.address, gpu_code.measurement_id)
    assert not eligible and "GPU attestation has expired" in text
    # An expired GPU attestation is the pool's to renew, not governance's doing.
    assert not registry.stoppedByGovernance(enclave.address, gpu_code.measurement_id, chain.pending_timestamp)
    # A CPU-only renewal keeps the GPU record (and its expiry): still not eligible.
    now = chain.pending_timestamp
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    registry.renewWorker(
        enclave.address, enclave.address, enclave.encryption_key, committee, quote,
        committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now), sender=operator,
    )  # fmt: skip
    assert reason(registry, enclave.address, gpu_code.measurement_id) == R_GPU_EXPIRED
    chain.pending_timestamp += 60
    renew_gpu(enclave, pool)
    assert reason(registry, enclave.address, gpu_code.measurement_id) == R_ELIGIBLE


def test_gpu_renewal__older_statement_refused(
    registry, pool, gpu_code, gpu_register, chain, committee, attester_keys, operator
):
    enclave = Enclave(gpu_code)
    start = chain.pending_timestamp
    gpu_register(pool, enclave)
    chain.pending_timestamp += 60
    now = chain.pending_timestamp
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    evidence = committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now)
    old = gpu_statement(enclave, chain.chain_id, registry.address, pool, start)
    gpu = gpu_committee_evidence(old, attester_keys[:2], chain.chain_id, committee.address)
    with ape.reverts(registry.RegistryGpuEvidenceNotNewer):
        registry.renewGpuWorker(
            enclave.address,
            enclave.address,
            enclave.encryption_key,
            committee,
            quote,
            evidence,
            gpu,
            sender=operator,
        )


def test_key_rotation__gpu_record_goes_with_old_key(
    registry, pool, gpu_code, gpu_register, renew_gpu, chain, committee, attester_keys, operator
):
    enclave = Enclave(gpu_code)
    gpu_register(pool, enclave, device="rotating")
    device = registry.gpuInfo(enclave.address).deviceId
    new = enclave.rotated()
    chain.pending_timestamp += 60
    # A CPU-only rotation into a GPU-required measurement: the GPU record bound the old key.
    now = chain.pending_timestamp
    quote = new.quote(chain.chain_id, registry.address, pool)
    evidence = committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now)
    with ape.reverts(registry.RegistryGpuRequired):
        registry.renewWorker(
            enclave.address, new.address, new.encryption_key, committee, quote, evidence, sender=operator
        )
    tx = renew_gpu(enclave, pool, new=new, device="rotating")
    assert tx.events.filter(registry.WorkerGpuReleased)[0].worker == enclave.address
    assert registry.gpuWorker(device) == new.address
    assert registry.gpuInfo(enclave.address).deviceId == b"\0" * 32
    assert reason(registry, new.address, gpu_code.measurement_id) == R_ELIGIBLE


def test_min_driver_and_vbios__refused_at_admission_and_live(registry, pool, gpu_code, gpu_register, gov):
    registry.setGpuPolicy(gpu_code.measurement_id, (True, driver_version_code("560.0"), 0), sender=gov)
    with ape.reverts(registry.RegistryGpuBelowPolicy):
        gpu_register(pool, Enclave(gpu_code), driver="550.90.07")
    enclave = Enclave(gpu_code)
    gpu_register(pool, enclave, driver="565.57.01")
    assert reason(registry, enclave.address, gpu_code.measurement_id) == R_ELIGIBLE
    registry.setGpuPolicy(
        gpu_code.measurement_id, (True, 0, vbios_version_code("96.00.a0.00.01")), sender=gov
    )
    assert reason(registry, enclave.address, gpu_code.measurement_id) == R_GPU_BELOW
    assert registry.stoppedByGovernance(enclave.address, gpu_code.measurement_id, ape.chain.pending_timestamp)
    assert tuple(registry.gpuPolicyOf(gpu_code.measurement_id)) == (True, 0, 0x9600A00001)


def test_set_gpu_policy__governance_only_and_allowed_measurement(registry, gpu_code, attacker, gov):
    with ape.reverts():
        registry.setGpuPolicy(gpu_code.measurement_id, (False, 0, 0), sender=attacker)
    with ape.reverts(registry.RegistryMeasurementNotAllowed):
        registry.setGpuPolicy(b"\x42" * 32, (True, 0, 0), sender=gov)


def simulated_file(tmp_path, enclave, chain_id, registry, pool_id, device_serial=0x5A5A0001):
    """A --gpu-evidence file of simulated evidence bound to the enclave (built for a dev chain)."""
    import json

    from pha.gpu.binding import gpu_nonce
    from pha.gpu.evidence import GpuEvidence
    from pha.gpu.simulate import simulated_evidence

    nonce = gpu_nonce(chain_id, registry, enclave.address, enclave.encryption_key, pool_id)
    sim = simulated_evidence(
        chain_id=31337, nonce=nonce, measurements={1: bytes(48)}, device_serial=device_serial
    )
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps(GpuEvidence(sim.report, sim.chain_pem, True).as_json()))
    return path


def test_dev_path__simulated_evidence_verified_by_pha_gpu_then_registered(
    registry, pool, gpu_code, dev_verifier, chain, operator, tmp_path
):
    from pha.gpu.attest import GpuTrust, verify_gpu
    from pha.gpu.evidence import GpuEvidence
    from pha.gpu.statement import dev_evidence

    enclave = Enclave(gpu_code)
    path = simulated_file(tmp_path, enclave, chain.chain_id, registry.address, pool)
    verdict, statement = verify_gpu(
        GpuEvidence.load(path), GpuTrust(), chain.chain_id, chain.pending_timestamp
    )
    assert verdict.simulated and "simulated" in " ".join(verdict.not_checked)
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    registry.registerGpuWorker(
        pool, enclave.address, enclave.encryption_key, dev_verifier, quote, b"",
        dev_evidence(statement, chain.chain_id, dev_verifier.address), sender=operator,
    )  # fmt: skip
    assert reason(registry, enclave.address, gpu_code.measurement_id) == R_ELIGIBLE
    assert bytes(registry.gpuInfo(enclave.address).deviceId) == statement.device_id


def test_simulated_gpu_evidence__refused_by_an_attester_of_a_non_dev_chain(tmp_path):
    from pha.gpu.attest import GpuTrust
    from pha.gpu.errors import GpuEvidenceError
    from pha.gpu.evidence import GpuEvidence
    from pha.quote.attester import Attester

    enclave = Enclave(Code.named("x"))
    registry = "0x" + "11" * 20
    path = simulated_file(tmp_path, enclave, 2035, registry, 1)
    attester = Attester(bytes([0x70]) * 32, 2035, "0x" + "22" * 20)
    with pytest.raises(GpuEvidenceError, match="development chain"):
        attester.attest_gpu(GpuEvidence.load(path), GpuTrust(), 1_800_000_000)
    # The same attester key on a development chain verifies it.
    dev = Attester(bytes([0x70]) * 32, 31337, "0x" + "22" * 20)
    statement, signature = dev.attest_gpu(GpuEvidence.load(path), GpuTrust(), 1_800_000_000)
    assert len(signature) == 65 and statement.verified_at == 1_800_000_000
