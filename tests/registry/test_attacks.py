"""Attacks on registration: replayed quotes, stolen quotes, weak platforms, wrong operators."""

import ape
import pytest

from pha.quote.binding import report_data
from pha.quote.dev import simulated_tdx_quote
from pha.quote.tcb import TcbStatus
from tests.world import Code, Enclave, committee_evidence

DAY = 86_400


def quote_with_binding(enclave, chain_id, registry_address, signer, pool_id, debug=False):
    data = report_data(chain_id, registry_address, signer, enclave.encryption_key, pool_id)
    c = enclave.code
    return simulated_tdx_quote(
        mr_td=c.mr_td, rt_mr0=c.rt_mr0, rt_mr1=c.rt_mr1, rt_mr2=c.rt_mr2, report_data=data, debug=debug
    )


@pytest.fixture
def enclave(code):
    return Enclave(code)


def register(registry, verifier, pool_id, enclave, quote, sender, evidence=b""):
    return registry.registerWorker(
        pool_id, enclave.address, enclave.encryption_key, verifier, quote, evidence, sender=sender
    )


@pytest.mark.parametrize("field", ["chain", "registry", "pool", "worker"])
def test_replayed_quote__bound_elsewhere__reverts(
    registry, dev_verifier, pool, operator, chain, enclave, field, open_pool
):
    other_pool = open_pool(operator)
    chain_id, registry_address, signer, pool_id = chain.chain_id, registry.address, enclave.address, pool
    if field == "chain":
        chain_id = 8453 if chain.chain_id != 8453 else 10
    elif field == "registry":
        registry_address = "0x" + "12" * 20
    elif field == "pool":
        pool_id = other_pool
    else:
        signer = Enclave(enclave.code).address
    quote = quote_with_binding(enclave, chain_id, registry_address, signer, pool_id)
    with ape.reverts(registry.RegistryBindingMismatch):
        register(registry, dev_verifier, pool, enclave, quote, operator)


def test_another_workers_quote__reverts(registry, dev_verifier, pool, operator, chain, code):
    victim, thief = Enclave(code), Enclave(code)
    stolen = victim.quote(chain.chain_id, registry.address, pool)
    with ape.reverts(registry.RegistryBindingMismatch):
        register(registry, dev_verifier, pool, thief, stolen, operator)


def test_quote_for_pool_a__registered_into_pool_b__reverts(
    registry, dev_verifier, pool, operator, chain, enclave, open_pool
):
    other = open_pool(operator)
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    with ape.reverts(registry.RegistryBindingMismatch):
        register(registry, dev_verifier, other, enclave, quote, operator)


def test_revoked_measurement__register_reverts_and_workers_ineligible(
    registry, gov, pool, register_worker, code, dev_verifier, operator, chain
):
    worker = register_worker(pool)
    registry.revokeMeasurement(code.measurement_id, sender=gov)
    assert not registry.isEligible(worker.address, code.measurement_id)
    fresh = Enclave(code)
    with ape.reverts(registry.RegistryMeasurementNotAllowed):
        register(
            registry, dev_verifier, pool, fresh, fresh.quote(chain.chain_id, registry.address, pool), operator
        )


def test_expired_measurement__register_reverts_and_workers_ineligible(
    registry, gov, pool, register_worker, chain, default_policy, dev_verifier, operator
):
    code = Code.named("expiring")
    expires = chain.pending_timestamp + 2 * DAY
    registry.allowMeasurement(
        code.measurement_id, (2, expires, *default_policy[2:]), ("", bytes(20), bytes(32)), sender=gov
    )
    worker = register_worker(pool, code=code)
    chain.pending_timestamp = expires + 1
    chain.mine()
    assert registry.explain(worker.address, code.measurement_id) == (False, "measurement has expired")
    fresh = Enclave(code)
    with ape.reverts(registry.RegistryMeasurementExpired):
        register(
            registry, dev_verifier, pool, fresh, fresh.quote(chain.chain_id, registry.address, pool), operator
        )


def test_expired_attestation__worker_ineligible_until_renewed(
    registry, pool, register_worker, code, chain, dev_verifier, operator
):
    worker = register_worker(pool)
    until = registry.workerInfo(worker.address).attestedUntil
    chain.pending_timestamp = until + 1
    chain.mine()
    eligible, reason = registry.explain(worker.address, code.measurement_id)
    assert not eligible and "attestation has expired" in reason
    quote = worker.quote(chain.chain_id, registry.address, pool)
    registry.renewWorker(
        worker.address, worker.address, worker.encryption_key, dev_verifier, quote, b"", sender=operator
    )
    assert registry.isEligible(worker.address, code.measurement_id)


def test_tcb_below_minimum__reverts(registry, committee, attester_keys, pool, operator, chain, enclave):
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    now = chain.pending_timestamp
    evidence = committee_evidence(
        quote, attester_keys[:2], chain.chain_id, committee.address, now, tcb_status=TcbStatus.OutOfDate
    )
    with ape.reverts(registry.RegistryTcbNotAccepted):
        register(registry, committee, pool, enclave, quote, operator, evidence)


def test_out_of_date__inside_grace__admitted_until_grace_ends(
    registry, gov, committee, attester_keys, pool, operator, chain, default_policy
):
    code = Code.named("grace")
    registry.allowMeasurement(
        code.measurement_id, (2, 0, 3, 30 * DAY, *default_policy[4:]), ("", bytes(20), bytes(32)), sender=gov
    )
    enclave = Enclave(code)
    now = chain.pending_timestamp
    published = now - 25 * DAY  # grace ends in 5 days, before the 7-day attestation validity
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    evidence = committee_evidence(
        quote,
        attester_keys[:2],
        chain.chain_id,
        committee.address,
        now,
        tcb_status=TcbStatus.OutOfDate,
        tcb_date=published,
        lifetime=7 * DAY,
    )
    register(registry, committee, pool, enclave, quote, operator, evidence)
    info = registry.workerInfo(enclave.address)
    assert info.attestedUntil == published + 30 * DAY
    assert registry.isEligible(enclave.address, code.measurement_id)
    chain.pending_timestamp = published + 30 * DAY + 1
    chain.mine()
    assert not registry.isEligible(enclave.address, code.measurement_id)


def test_out_of_date__after_grace__reverts(
    registry, gov, committee, attester_keys, pool, operator, chain, default_policy
):
    code = Code.named("grace-over")
    registry.allowMeasurement(
        code.measurement_id, (2, 0, 3, 30 * DAY, *default_policy[4:]), ("", bytes(20), bytes(32)), sender=gov
    )
    enclave = Enclave(code)
    now = chain.pending_timestamp
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    evidence = committee_evidence(
        quote,
        attester_keys[:2],
        chain.chain_id,
        committee.address,
        now,
        tcb_status=TcbStatus.OutOfDate,
        tcb_date=now - 31 * DAY,
    )
    with ape.reverts(registry.RegistryTcbNotAccepted):
        register(registry, committee, pool, enclave, quote, operator, evidence)


def test_advisory_not_tolerated__reverts_then_tolerated__admitted(
    registry, gov, committee, attester_keys, pool, operator, chain, enclave, code
):
    from pha.quote.tcb import advisory_id_hash

    quote = enclave.quote(chain.chain_id, registry.address, pool)
    now = chain.pending_timestamp
    evidence = committee_evidence(
        quote,
        attester_keys[:2],
        chain.chain_id,
        committee.address,
        now,
        tcb_status=TcbStatus.SWHardeningNeeded,
        advisories=("INTEL-SA-00615",),
    )
    with ape.reverts(registry.RegistryAdvisoryNotTolerated):
        register(registry, committee, pool, enclave, quote, operator, evidence)
    registry.setAdvisoryTolerance(code.measurement_id, advisory_id_hash("INTEL-SA-00615"), True, sender=gov)
    register(registry, committee, pool, enclave, quote, operator, evidence)
    assert registry.isEligible(enclave.address, code.measurement_id)


def test_debug_td__outside_attribute_mask__reverts(registry, dev_verifier, pool, operator, chain, enclave):
    quote = quote_with_binding(enclave, chain.chain_id, registry.address, enclave.address, pool, debug=True)
    with ape.reverts(registry.RegistryAttributesRejected):
        register(registry, dev_verifier, pool, enclave, quote, operator)


def test_stale_verdict__reverts(registry, committee, attester_keys, pool, operator, chain, enclave):
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    old = chain.pending_timestamp - 2 * DAY
    evidence = committee_evidence(
        quote, attester_keys[:2], chain.chain_id, committee.address, old, lifetime=7 * DAY
    )
    with ape.reverts(registry.RegistryVerdictStale):
        register(registry, committee, pool, enclave, quote, operator, evidence)


def test_old_key_after_rotation__ineligible_and_cannot_renew(
    registry, pool, register_worker, dev_verifier, operator, chain, code
):
    old = register_worker(pool)
    new = old.rotated()
    chain.pending_timestamp += 60  # a renewal needs a strictly newer verdict (the dev verifier stamps now)
    registry.renewWorker(
        old.address,
        new.address,
        new.encryption_key,
        dev_verifier,
        new.quote(chain.chain_id, registry.address, pool),
        b"",
        sender=operator,
    )
    assert not registry.isEligible(old.address, code.measurement_id)
    with ape.reverts(registry.RegistryUnknownWorker):
        registry.renewWorker(
            old.address,
            old.address,
            old.encryption_key,
            dev_verifier,
            old.quote(chain.chain_id, registry.address, pool),
            b"",
            sender=operator,
        )


def test_invalidate__still_valid_worker__reverts(
    registry, committee, attester_keys, pool, operator, chain, enclave, attacker
):
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    now = chain.pending_timestamp
    register(
        registry,
        committee,
        pool,
        enclave,
        quote,
        operator,
        committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now),
    )
    chain.pending_timestamp += 60
    fresh = committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now + 60)
    with ape.reverts(registry.RegistryWorkerStillValid):
        registry.invalidateWorker(
            enclave.address, enclave.encryption_key, committee, quote, fresh, sender=attacker
        )


def test_invalidate__tcb_now_below_policy__worker_ineligible(
    registry, committee, attester_keys, pool, operator, chain, enclave, code, attacker
):
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    now = chain.pending_timestamp
    register(
        registry,
        committee,
        pool,
        enclave,
        quote,
        operator,
        committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now),
    )
    chain.pending_timestamp += 60
    worse = committee_evidence(
        quote, attester_keys[:2], chain.chain_id, committee.address, now + 60, tcb_status=TcbStatus.Revoked
    )
    tx = registry.invalidateWorker(
        enclave.address, enclave.encryption_key, committee, quote, worse, sender=attacker
    )
    assert tx.decode_logs(registry.WorkerInvalidated)[0].reporter == attacker.address
    assert registry.explain(enclave.address, code.measurement_id) == (
        False,
        "worker was invalidated by newer verifier evidence",
    )


def test_invalidate__evidence_not_newer__reverts(
    registry, committee, attester_keys, pool, operator, chain, enclave, attacker
):
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    now = chain.pending_timestamp
    register(
        registry,
        committee,
        pool,
        enclave,
        quote,
        operator,
        committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now),
    )
    same_time = committee_evidence(
        quote, attester_keys[:2], chain.chain_id, committee.address, now, tcb_status=TcbStatus.Revoked
    )
    with ape.reverts(registry.RegistryEvidenceNotNewer):
        registry.invalidateWorker(
            enclave.address, enclave.encryption_key, committee, quote, same_time, sender=attacker
        )


def test_invalidate__quote_of_another_worker__reverts(
    registry, committee, attester_keys, pool, operator, chain, code, attacker
):
    target, other = Enclave(code), Enclave(code)
    quote = target.quote(chain.chain_id, registry.address, pool)
    now = chain.pending_timestamp
    register(
        registry,
        committee,
        pool,
        target,
        quote,
        operator,
        committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, now),
    )
    chain.pending_timestamp += 60
    other_quote = other.quote(chain.chain_id, registry.address, pool)
    worse = committee_evidence(
        other_quote,
        attester_keys[:2],
        chain.chain_id,
        committee.address,
        now + 60,
        tcb_status=TcbStatus.Revoked,
    )
    with ape.reverts(registry.RegistryBindingMismatch):
        registry.invalidateWorker(
            target.address, target.encryption_key, committee, other_quote, worse, sender=attacker
        )


def test_register_without_enough_stake__reverts(
    registry, open_pool, operator, dev_verifier, chain, code, staking
):
    thin = open_pool(operator, stake=staking.minStakePerWorker() - 1)
    enclave = Enclave(code)
    with ape.reverts(registry.RegistryPoolUnderBacked):
        register(
            registry,
            dev_verifier,
            thin,
            enclave,
            enclave.quote(chain.chain_id, registry.address, thin),
            operator,
        )


def test_second_worker_needs_double_stake(registry, open_pool, operator, register_worker, staking):
    pool_id = open_pool(operator, stake=staking.minStakePerWorker())
    register_worker(pool_id)
    with ape.reverts(registry.RegistryPoolUnderBacked):
        register_worker(pool_id)


def test_register_into_another_operators_pool__reverts(
    registry, pool, dev_verifier, chain, enclave, attacker
):
    quote = enclave.quote(chain.chain_id, registry.address, pool)
    with ape.reverts(registry.RegistryNotPoolOperator):
        register(registry, dev_verifier, pool, enclave, quote, attacker)


def test_relayer_authorised_by_wrong_operator__reverts_and_does_not_count(
    registry, pool, open_pool, attacker, register_worker, code
):
    attacker_pool = open_pool(attacker)
    with ape.reverts(registry.RegistryNotPoolOperator):
        registry.setRelayer(pool, attacker, True, sender=attacker)
    registry.setRelayer(attacker_pool, attacker, True, sender=attacker)
    worker = register_worker(pool)
    reason, _ = registry.check(worker.address, code.measurement_id, 6, attacker)
    assert reason == 10  # RelayerNotAuthorised: authorisation for its own pool does not reach ours


def test_slashed_pool__workers_become_ineligible(
    registry, staking, open_pool, operator, register_worker, gov
):
    pool_id = open_pool(operator, stake=staking.minStakePerWorker())
    worker = register_worker(pool_id)
    code_id = registry.workerInfo(worker.address).measurementId
    assert registry.isEligible(worker.address, code_id)
    staking.slash(pool_id, 10**18, b"\x01" * 32, sender=gov)
    assert registry.explain(worker.address, code_id) == (
        False,
        "pool stake is below the minimum for its workers",
    )
