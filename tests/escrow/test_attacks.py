"""Attacks on settlement: forged, replayed and double results, unauthorised relayers, timing,
fee bounds and reentrancy."""

import ape
import pytest

from pha.escrow.typed_data import Domain, ResultEntry, output_hash, sign_result
from tests.escrow.conftest import PHA, batch_entries, split

ZERO = "0x" + "00" * 20
NOT_REGISTERED, MEASUREMENT_NOT_ALLOWED, ATTESTATION_EXPIRED, RELAYER_NOT_AUTHORISED = 1, 4, 6, 10


@pytest.fixture(scope="module")
def other_worker(register_worker, pool):
    return register_worker(pool)


# ---------------------------------------------------------------- forged results


def test_settle__signed_by_another_worker__reverts(
    escrow, worker, other_worker, relayer, post_job, result_sig
):
    job = post_job()
    forged = result_sig(other_worker, job, b"x")  # other worker's key, claims to be `worker`
    with ape.reverts(escrow.JobEscrowBadSignature):
        escrow.settle(*job.args, worker.address, b"x", forged, sender=relayer)


def test_settle__job_claimed_by_another_worker__reverts(
    escrow, worker, other_worker, relayer, post_job, result_sig
):
    job = post_job()
    escrow.claim(*job.args, worker.address, sender=relayer)
    with ape.reverts(escrow.JobEscrowNotClaimable):
        escrow.settle(
            *job.args, other_worker.address, b"x", result_sig(other_worker, job, b"x"), sender=relayer
        )


def test_settle__unregistered_key__reverts(escrow, relayer, post_job, domain):
    from eth_account import Account

    job = post_job()
    rogue = Account.create()
    sig = sign_result(domain, ResultEntry(job.id, job.spec.input_hash, output_hash(b"x")), rogue.key)
    with ape.reverts(escrow.JobEscrowIneligible, worker=rogue.address, reason=NOT_REGISTERED):
        escrow.settle(*job.args, rogue.address, b"x", sig, sender=relayer)


def test_settle__revoked_measurement__reverts(
    escrow, registry, gov, code, worker, relayer, post_job, result_sig
):
    job = post_job()
    registry.revokeMeasurement(code.measurement_id, sender=gov)
    with ape.reverts(escrow.JobEscrowIneligible, worker=worker.address, reason=MEASUREMENT_NOT_ALLOWED):
        escrow.settle(*job.args, worker.address, b"x", result_sig(worker, job, b"x"), sender=relayer)


def test_settle__expired_attestation__reverts(escrow, chain, worker, relayer, post_job, result_sig):
    job = post_job(duration=10 * 86_400)
    chain.pending_timestamp += 7 * 86_400 + 1  # attestation validity is 7 days
    with ape.reverts(escrow.JobEscrowIneligible, worker=worker.address, reason=ATTESTATION_EXPIRED):
        escrow.settle(*job.args, worker.address, b"x", result_sig(worker, job, b"x"), sender=relayer)


def test_settle__output_differs_from_signed__reverts(escrow, worker, relayer, post_job, result_sig):
    job = post_job()
    with ape.reverts(escrow.JobEscrowBadSignature):
        escrow.settle(*job.args, worker.address, b"tampered", result_sig(worker, job, b"x"), sender=relayer)


def test_settle__spec_altered__reverts(escrow, worker, relayer, post_job, result_sig):
    job = post_job(relay_fee=PHA // 10)
    altered = list(job.spec.as_tuple())
    altered[3] = 9 * PHA  # a relayer raising its own fee
    with ape.reverts(escrow.JobEscrowNotClaimable):
        escrow.settle(job.id, altered, worker.address, b"x", result_sig(worker, job, b"x"), sender=relayer)


# ---------------------------------------------------------------- replays


def test_settle__signature_for_another_job__reverts(escrow, worker, relayer, post_job, result_sig):
    a, b = post_job(data=b"same input"), post_job(data=b"same input")
    with ape.reverts(escrow.JobEscrowBadSignature):
        escrow.settle(*b.args, worker.address, b"x", result_sig(worker, a, b"x"), sender=relayer)


def test_settle__signature_for_another_contract__reverts(
    escrow,
    project,
    gov,
    token,
    staking,
    registry,
    attestation_log,
    treasury,
    worker,
    relayer,
    post_job,
    chain,
):
    twin = gov.deploy(project.JobEscrow, gov, token, staking, registry, attestation_log, treasury, 100, 1_000)
    job = post_job()
    entry = ResultEntry(job.id, job.spec.input_hash, output_hash(b"x"))
    sig = sign_result(Domain(chain.chain_id, twin.address), entry, worker.signer.key)
    with ape.reverts(escrow.JobEscrowBadSignature):
        escrow.settle(*job.args, worker.address, b"x", sig, sender=relayer)


def test_settle__signature_for_another_chain__reverts(escrow, worker, relayer, post_job, chain):
    job = post_job()
    entry = ResultEntry(job.id, job.spec.input_hash, output_hash(b"x"))
    sig = sign_result(Domain(chain.chain_id + 1, escrow.address), entry, worker.signer.key)
    with ape.reverts(escrow.JobEscrowBadSignature):
        escrow.settle(*job.args, worker.address, b"x", sig, sender=relayer)


# ---------------------------------------------------------------- paid twice


def test_settle__same_job_twice__second_reverts(escrow, token, worker, relayer, post_job, result_sig):
    job = post_job()
    sig = result_sig(worker, job, b"x")
    escrow.settle(*job.args, worker.address, b"x", sig, sender=relayer)
    before = token.balanceOf(relayer)
    with ape.reverts(escrow.JobEscrowJobNotActive):
        escrow.settle(*job.args, worker.address, b"x", sig, sender=relayer)
    assert token.balanceOf(relayer) == before


def test_settle_batch__same_job_in_two_batches__paid_once(
    escrow, token, staking, worker, relayer, code, post_job, batch_sig
):
    a, b, c = post_job(), post_job(), post_job()
    first = [(a, b"a"), (b, b"b")]
    escrow.settleBatch(
        worker.address, code.measurement_id, batch_entries(first), batch_sig(worker, first), sender=relayer
    )
    second = [(b, b"b"), (c, b"c")]
    before = token.balanceOf(staking)
    tx = escrow.settleBatch(
        worker.address, code.measurement_id, batch_entries(second), batch_sig(worker, second), sender=relayer
    )
    skipped = tx.decode_logs(escrow.SettlementSkipped)
    assert [(e.jobId, e.reason) for e in skipped] == [(b.id, 0)]  # NotActive
    assert [e.jobId for e in tx.decode_logs(escrow.JobSettled)] == [c.id]
    assert token.balanceOf(staking) - before == split(c.payment, c.spec.relay_fee)[0]
    with ape.reverts(escrow.JobEscrowNothingSettled):
        escrow.settleBatch(
            worker.address,
            code.measurement_id,
            batch_entries(second),
            batch_sig(worker, second),
            sender=relayer,
        )


def test_settle_batch__job_repeated_within_batch__paid_once(
    escrow, token, staking, worker, relayer, code, post_job, batch_sig
):
    a = post_job()
    items = [(a, b"a"), (a, b"a")]
    before = token.balanceOf(staking)
    tx = escrow.settleBatch(
        worker.address, code.measurement_id, batch_entries(items), batch_sig(worker, items), sender=relayer
    )
    assert len(tx.decode_logs(escrow.JobSettled)) == 1
    assert tx.decode_logs(escrow.SettlementSkipped)[0].reason == 0
    assert token.balanceOf(staking) - before == split(a.payment, a.spec.relay_fee)[0]


def test_settle_batch__entry_altered_after_signing__reverts(
    escrow, worker, relayer, code, post_job, batch_sig
):
    a, b = post_job(), post_job()
    items = [(a, b"a"), (b, b"b")]
    sig = batch_sig(worker, items)
    with ape.reverts(escrow.JobEscrowBadSignature):
        escrow.settleBatch(
            worker.address, code.measurement_id, batch_entries([(a, b"a"), (b, b"B")]), sig, sender=relayer
        )
    with ape.reverts(escrow.JobEscrowBadSignature):  # dropping an entry changes resultsHash too
        escrow.settleBatch(
            worker.address, code.measurement_id, batch_entries([(a, b"a")]), sig, sender=relayer
        )


def test_settle_batch__bad_entries_skipped_valid_paid(
    escrow, chain, token, staking, worker, other_worker, relayer, code, post_job, batch_sig, client
):
    ok = post_job()
    chosen_other = post_job(worker=other_worker.address)
    claimed_other = post_job()
    escrow.claim(*claimed_other.args, other_worker.address, sender=relayer)
    other_measurement = post_job(measurement=b"\x42" * 32)
    cancelled = post_job()
    escrow.cancel(*cancelled.args, sender=client)
    strict = post_job(max_tcb_status=0)  # the worker is UpToDate (0): passes
    late = post_job(duration=60)
    chain.pending_timestamp += 120
    items = [
        (j, b"r%d" % j.id)
        for j in (ok, chosen_other, claimed_other, other_measurement, cancelled, strict, late)
    ]
    before = token.balanceOf(staking)
    tx = escrow.settleBatch(
        worker.address, code.measurement_id, batch_entries(items), batch_sig(worker, items), sender=relayer
    )
    skipped = {e.jobId: e.reason for e in tx.decode_logs(escrow.SettlementSkipped)}
    assert skipped == {
        chosen_other.id: 2,
        claimed_other.id: 1,
        other_measurement.id: 3,
        cancelled.id: 0,
        late.id: 4,
    }
    assert [e.jobId for e in tx.decode_logs(escrow.JobSettled)] == [ok.id, strict.id]
    assert token.balanceOf(staking) - before == 2 * split(ok.payment, ok.spec.relay_fee)[0]
    assert escrow.statusOf(*claimed_other.args) == 2 and escrow.statusOf(*late.args) == 1


# ---------------------------------------------------------------- relayers


def test_claim__unauthorised_relayer__reverts(escrow, worker, attacker, post_job):
    job = post_job()
    with ape.reverts(escrow.JobEscrowIneligible, worker=worker.address, reason=RELAYER_NOT_AUTHORISED):
        escrow.claim(*job.args, worker.address, sender=attacker)


def test_settle__front_runner_copying_settlement__reverts(escrow, worker, attacker, post_job, result_sig):
    job = post_job()
    with ape.reverts(escrow.JobEscrowIneligible, worker=worker.address, reason=RELAYER_NOT_AUTHORISED):
        escrow.settle(*job.args, worker.address, b"x", result_sig(worker, job, b"x"), sender=attacker)


def test_settle_batch__unauthorised_relayer__reverts(escrow, worker, attacker, code, post_job, batch_sig):
    items = [(post_job(), b"x")]
    with ape.reverts(escrow.JobEscrowIneligible):
        escrow.settleBatch(
            worker.address,
            code.measurement_id,
            batch_entries(items),
            batch_sig(worker, items),
            sender=attacker,
        )


# ---------------------------------------------------------------- timing and state


def test_settle__after_deadline__reverts(escrow, chain, worker, relayer, post_job, result_sig):
    job = post_job(duration=60)
    chain.pending_timestamp += 61
    with ape.reverts(escrow.JobEscrowPastDeadline):
        escrow.settle(*job.args, worker.address, b"x", result_sig(worker, job, b"x"), sender=relayer)


def test_expire__before_deadline__reverts(escrow, worker, relayer, post_job, pool, attacker):
    job = post_job(duration=600)
    escrow.claim(*job.args, worker.address, sender=relayer)
    with ape.reverts(escrow.JobEscrowDeadlineNotPassed):
        escrow.expire(*job.args, worker.address, pool, sender=attacker)


def test_expire__with_forged_early_deadline__reverts(escrow, chain, post_job, attacker):
    job = post_job(duration=600)
    forged = list(job.spec.as_tuple())
    forged[4] = chain.pending_timestamp - 10
    with ape.reverts(escrow.JobEscrowJobNotOpen):
        escrow.expire(job.id, forged, ZERO, 0, sender=attacker)


def test_cancel__after_claim__reverts(escrow, worker, relayer, client, post_job):
    job = post_job()
    escrow.claim(*job.args, worker.address, sender=relayer)
    with ape.reverts(escrow.JobEscrowJobNotOpen):
        escrow.cancel(*job.args, sender=client)


def test_cancel__by_someone_else__reverts(escrow, attacker, post_job):
    job = post_job()
    with ape.reverts(escrow.JobEscrowNotClient):
        escrow.cancel(*job.args, sender=attacker)


def test_claim__twice__reverts(escrow, worker, other_worker, relayer, post_job):
    job = post_job()
    escrow.claim(*job.args, worker.address, sender=relayer)
    with ape.reverts(escrow.JobEscrowJobNotOpen):
        escrow.claim(*job.args, other_worker.address, sender=relayer)


def test_claim__chosen_worker_only(escrow, worker, other_worker, relayer, post_job):
    job = post_job(worker=worker.address)
    with ape.reverts(escrow.JobEscrowWrongWorker):
        escrow.claim(*job.args, other_worker.address, sender=relayer)
    escrow.claim(*job.args, worker.address, sender=relayer)


def test_claim__tcb_floor_stricter_than_worker__reverts(escrow, worker, relayer, post_job, registry):
    # The simulated worker is UpToDate (0); the floor 0 admits it, and the registry reports a
    # floor failure as TcbBelowJobFloor (8) for anything worse.
    job = post_job(max_tcb_status=0)
    escrow.claim(*job.args, worker.address, sender=relayer)
    assert registry.workerInfo(worker.address).tcbStatus == 0


# ---------------------------------------------------------------- fee bounds


def test_set_protocol_fee__above_bound__reverts(escrow, gov):
    with ape.reverts(escrow.JobEscrowParameterOutOfBounds):
        escrow.setProtocolFee(1_001, sender=gov)
    escrow.setProtocolFee(1_000, sender=gov)
    assert escrow.protocolFeeBps() == 1_000


def test_set_slash_bps__above_bound__reverts(escrow, gov):
    with ape.reverts(escrow.JobEscrowParameterOutOfBounds):
        escrow.setSlashBps(5_001, sender=gov)


def test_governance_setters__not_admin__revert(escrow, attacker):
    for call in (
        lambda: escrow.setProtocolFee(0, sender=attacker),
        lambda: escrow.setSlashBps(0, sender=attacker),
        lambda: escrow.setTreasury(attacker, sender=attacker),
    ):
        with ape.reverts(escrow.AccessControlUnauthorizedAccount):
            call()


def test_constructor__fee_above_bound__reverts(
    project, gov, token, staking, registry, attestation_log, treasury
):
    with ape.reverts():
        gov.deploy(project.JobEscrow, gov, token, staking, registry, attestation_log, treasury, 1_001, 0)


def test_settle__max_fee__pool_still_gets_the_rest(
    escrow, gov, token, treasury, staking, worker, relayer, post_job, result_sig
):
    escrow.setProtocolFee(1_000, sender=gov)
    job = post_job(payment=1_000, relay_fee=1_000)  # relay fee = whole payment: fee and pool get 0
    before = [escrow.relayerOwed(relayer), escrow.feesOwed(), token.balanceOf(staking)]
    escrow.settle(*job.args, worker.address, b"x", result_sig(worker, job, b"x"), sender=relayer)
    after = [escrow.relayerOwed(relayer), escrow.feesOwed(), token.balanceOf(staking)]
    assert [x - y for x, y in zip(after, before, strict=True)] == [1_000, 0, 0]


def test_post__relay_fee_above_payment__reverts(escrow, post_job):
    with ape.reverts(escrow.JobEscrowRelayFeeAbovePayment):
        post_job(payment=PHA, relay_fee=PHA + 1)


def test_post__deadline_beyond_max_duration__reverts(escrow, post_job):
    with ape.reverts(escrow.JobEscrowBadDeadline):
        post_job(duration=31 * 86_400)


# ---------------------------------------------------------------- reentrancy


@pytest.fixture
def probe_escrow(project, gov, token, treasury, client, fund):
    probe = gov.deploy(project.EscrowReentrancyProbe)
    own_log = gov.deploy(project.AttestationLog, gov)
    contract = gov.deploy(project.JobEscrow, gov, token, probe, probe, own_log, treasury, 100, 1_000)
    own_log.setWriters(probe, contract, "0x" + "00" * 20, sender=gov)
    probe.setEscrow(contract, sender=gov)
    token.approve(contract, 2**256 - 1, sender=client)
    return contract, probe


def test_payout__reentered_from_staking__reverts(probe_escrow, client, relayer, worker, code, chain, token):
    """Every path that calls Staking (a batch's reward, a flush's reward) holds the guard: a
    hostile Staking re-entering settle or cancel is refused and nothing moves."""
    from pha.escrow.spec import JobSpec
    from pha.escrow.typed_data import Domain, ResultEntry, output_hash, sign_batch, sign_result

    escrow, probe = probe_escrow
    specs = []
    for i in range(3):
        spec = JobSpec(code.measurement_id, b"%31d" % i + b"!", 0, chain.pending_timestamp + 600)
        escrow.post(spec.as_tuple(), PHA, b"", sender=client)
        specs.append(spec)
    domain = Domain(chain.chain_id, escrow.address)
    sigs = [
        sign_result(domain, ResultEntry(i + 1, s.input_hash, output_hash(b"x")), worker.signer.key)
        for i, s in enumerate(specs)
    ]
    # A single settlement calls no Staking: it credits the pool (probe pool 1).
    escrow.settle(1, specs[0].as_tuple(), worker.address, b"x", sigs[0], sender=relayer)
    owed = escrow.poolRewardsOwed(1)
    assert owed == PHA - PHA // 100
    # The hostile "staking" re-enters settle for job 2 while the flush pays job 1's share...
    probe.setReentry(
        escrow.settle.encode_input(2, specs[1].as_tuple(), worker.address, b"x", sigs[1]), sender=client
    )
    with ape.reverts(escrow.ReentrancyGuardReentrantCall):
        escrow.flushPoolRewards([1], sender=relayer)
    # ... and cancel from inside a batch's reward is refused too.
    probe.setReentry(escrow.cancel.encode_input(2, specs[1].as_tuple()), sender=client)
    entry = ResultEntry(3, specs[2].input_hash, output_hash(b"x"))
    batch = [(3, specs[2].as_tuple(), b"x")]
    with ape.reverts(escrow.ReentrancyGuardReentrantCall):
        escrow.settleBatch(
            worker.address,
            code.measurement_id,
            batch,
            sign_batch(domain, [entry], worker.signer.key),
            sender=relayer,
        )
    with ape.reverts(escrow.ReentrancyGuardReentrantCall):
        escrow.flushPoolRewards([1], sender=relayer)
    # Nothing moved: jobs 2 and 3 still open, job 1's share still owed, all PHA still here.
    assert escrow.poolRewardsOwed(1) == owed
    assert token.balanceOf(escrow) == 3 * PHA
    assert [escrow.statusOf(i + 1, s.as_tuple()) for i, s in enumerate(specs)] == [3, 1, 1]


# ---------------------------------------------------------------- who a missed deadline is blamed on


def _expire_claimed(escrow, chain, worker, relayer, pool, post_job, client, token, before_expiry=None):
    """Claim a job, run `before_expiry`, pass the deadline, expire it; return (slashed, refund)."""
    job = post_job(duration=600)
    escrow.claim(*job.args, worker.address, sender=relayer)
    if before_expiry:
        before_expiry(job)
    chain.pending_timestamp += 601
    balance = token.balanceOf(client)
    tx = escrow.expire(*job.args, worker.address, pool, sender=client)
    (event,) = tx.events.filter(escrow.JobExpired)
    assert token.balanceOf(client) - balance == job.payment == event.refund
    return event.slashed


def test_expire__claimed_job_missed_by_the_pool__slashes_it(
    escrow, staking, chain, worker, relayer, pool, post_job, client, token
):
    owed = staking.slashedOwed()
    slashed = _expire_claimed(escrow, chain, worker, relayer, pool, post_job, client, token)
    assert slashed == 10 * PHA * escrow.slashBps() // 10_000 > 0
    assert staking.slashedOwed() - owed == slashed


def test_expire__measurement_revoked_after_claim__pool_not_slashed(
    escrow, staking, registry, gov, code, chain, worker, relayer, pool, post_job, client, token
):
    """Governance (or the guardian) revoking the measurement makes settling impossible: the client
    is refunded and the honest pool keeps its stake."""
    owed = staking.slashedOwed()

    def revoke(_job):
        registry.revokeMeasurement(code.measurement_id, sender=gov)

    assert _expire_claimed(escrow, chain, worker, relayer, pool, post_job, client, token, revoke) == 0
    assert staking.slashedOwed() == owed


def test_expire__revoked_and_worker_then_deregistered__pool_still_not_slashed(
    escrow, staking, registry, gov, code, operator, chain, worker, relayer, pool, post_job, client, token
):
    """An operator removing a worker governance already revoked does not turn the miss into its fault."""
    owed = staking.slashedOwed()

    def revoke_then_deregister(_job):
        registry.revokeMeasurement(code.measurement_id, sender=gov)
        registry.deregisterWorker(worker.address, sender=operator)

    slashed = _expire_claimed(
        escrow, chain, worker, relayer, pool, post_job, client, token, revoke_then_deregister
    )
    assert slashed == 0 and staking.slashedOwed() == owed


def test_expire__policy_tightened_past_the_worker__pool_not_slashed(
    escrow, registry, gov, code, default_policy, chain, relayer, pool, post_job, client, token,
    committee, attester_keys, operator,
):  # fmt: skip
    from pha.quote.tcb import TcbStatus
    from tests.world import Enclave, committee_evidence

    hardened = Enclave(code)
    quote = hardened.quote(chain.chain_id, registry.address, pool)
    evidence = committee_evidence(
        quote, attester_keys[:2], chain.chain_id, committee.address, chain.pending_timestamp,
        tcb_status=TcbStatus.SWHardeningNeeded,
    )  # fmt: skip
    registry.registerWorker(
        pool, hardened.address, hardened.encryption_key, committee, quote, evidence, sender=operator
    )

    def tighten(_job):
        registry.setPolicy(code.measurement_id, (2, 0, 0, 0, *default_policy[4:]), sender=gov)

    assert _expire_claimed(escrow, chain, hardened, relayer, pool, post_job, client, token, tighten) == 0


def test_expire__measurement_expiry_moved_before_the_deadline__pool_not_slashed(
    escrow, registry, gov, code, default_policy, chain, worker, relayer, pool, post_job, client, token
):
    def expire_early(job):
        policy = (default_policy[0], job.spec.deadline - 300, *default_policy[2:])
        registry.setPolicy(code.measurement_id, policy, sender=gov)

    assert _expire_claimed(escrow, chain, worker, relayer, pool, post_job, client, token, expire_early) == 0


def test_expire__measurement_expiring_after_the_deadline__pool_slashed(
    escrow, registry, gov, code, default_policy, chain, worker, relayer, pool, post_job, client, token
):
    """The measurement still allowed at the deadline: the pool could have settled."""

    def expire_later(job):
        policy = (default_policy[0], job.spec.deadline + 60, *default_policy[2:])
        registry.setPolicy(code.measurement_id, policy, sender=gov)

    assert _expire_claimed(escrow, chain, worker, relayer, pool, post_job, client, token, expire_later) > 0


def test_expire__worker_deregistered_by_its_operator__pool_slashed(
    escrow, registry, operator, chain, worker, relayer, pool, post_job, client, token
):
    """The excuse is governance's doing only: an operator pulling its worker mid-job is the pool's miss."""

    def deregister(_job):
        registry.deregisterWorker(worker.address, sender=operator)

    assert _expire_claimed(escrow, chain, worker, relayer, pool, post_job, client, token, deregister) > 0


def test_claim__measurement_expiring_before_the_deadline__refused(
    escrow, registry, gov, code, default_policy, chain, worker, relayer, pool, post_job
):
    """Else a pool could claim such a job, sit on it, and have the scheduled expiry excuse the miss."""
    job = post_job(duration=3_600)
    policy = (default_policy[0], job.spec.deadline - 600, *default_policy[2:])
    registry.setPolicy(code.measurement_id, policy, sender=gov)
    with ape.reverts(escrow.JobEscrowMeasurementExpiresFirst, jobId=job.id, deadline=job.spec.deadline):
        escrow.claim(*job.args, worker.address, sender=relayer)
    # A job whose deadline the measurement outlives is claimed as before.
    later = (default_policy[0], job.spec.deadline + 600, *default_policy[2:])
    registry.setPolicy(code.measurement_id, later, sender=gov)
    escrow.claim(*job.args, worker.address, sender=relayer)
