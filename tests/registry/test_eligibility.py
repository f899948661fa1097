"""Eligibility: the reasons, the job's TCB floor, and O(1) revocation of many workers."""

import ape

from pha.quote.tcb import TcbStatus
from tests.world import Code, Enclave, committee_evidence


def test_explain__unregistered(registry, code, attacker):
    assert registry.explain(attacker, code.measurement_id) == (False, "worker is not registered")


def test_explain__other_measurement(registry, pool, register_worker, allow):
    worker = register_worker(pool)
    other = Code.named("other-code")
    allow(other)
    assert registry.explain(worker.address, other.measurement_id) == (
        False,
        "worker runs another measurement",
    )
    assert registry.explain(worker.address, worker.code.measurement_id) == (True, "eligible")


def test_job_floor__stricter_than_measurement__excludes_weaker_platform(
    registry, committee, attester_keys, pool, operator, chain, code
):
    enclave = Enclave(code)
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    evidence = committee_evidence(
        quote,
        attester_keys[:2],
        chain.chain_id,
        committee.address,
        chain.pending_timestamp,
        tcb_status=TcbStatus.ConfigurationNeeded,
    )
    registry.registerWorker(
        pool, enclave.address, enclave.encryption_key, committee, quote, evidence, sender=operator
    )
    assert registry.isEligible(enclave.address, code.measurement_id)
    assert registry.isEligible(enclave.address, code.measurement_id, int(TcbStatus.ConfigurationNeeded))
    assert not registry.isEligible(enclave.address, code.measurement_id, int(TcbStatus.UpToDate))
    reason, _ = registry.check(
        enclave.address, code.measurement_id, int(TcbStatus.UpToDate), ape.utils.ZERO_ADDRESS
    )
    assert reason == 8  # TcbBelowJobFloor


def test_policy_tightened__applies_to_registered_workers_at_once(
    registry, gov, committee, attester_keys, pool, operator, chain, code, default_policy
):
    enclave = Enclave(code)
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    evidence = committee_evidence(
        quote,
        attester_keys[:2],
        chain.chain_id,
        committee.address,
        chain.pending_timestamp,
        tcb_status=TcbStatus.SWHardeningNeeded,
    )
    registry.registerWorker(
        pool, enclave.address, enclave.encryption_key, committee, quote, evidence, sender=operator
    )
    registry.setPolicy(code.measurement_id, (2, 0, 0, 0, *default_policy[4:]), sender=gov)
    assert registry.explain(enclave.address, code.measurement_id) == (
        False,
        "TCB status is below the measurement's policy",
    )


def test_revoke__many_workers__one_call_constant_gas(
    registry, gov, open_pool, operator, register_worker, staking, allow, chain
):
    code = Code.named("fleet")
    allow(code)
    pool_id = open_pool(operator, stake=staking.minStakePerWorker() * 20)
    workers = [register_worker(pool_id, code=code) for _ in range(20)]
    assert all(registry.isEligible(w.address, code.measurement_id) for w in workers)
    tx = registry.revokeMeasurement(code.measurement_id, sender=gov)
    assert not any(registry.isEligible(w.address, code.measurement_id) for w in workers)
    assert tx.gas_used < 40_000  # one status write, whatever the number of workers
    # Re-allowing restores them (their attestations are untouched).
    allow(code)
    assert all(registry.isEligible(w.address, code.measurement_id) for w in workers)
