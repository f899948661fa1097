"""Posting, claiming and settling single jobs: who gets what, what the chain records."""

import ape

from tests.escrow.conftest import PHA, split


def test_post__escrows_payment_and_commits_spec(escrow, token, client, post_job):
    before = token.balanceOf(escrow)
    job = post_job(payment=5 * PHA)
    assert token.balanceOf(escrow) - before == 5 * PHA
    stored = escrow.jobOf(job.id)
    assert stored.client == client.address and stored.payment == 5 * PHA
    assert bytes(stored.commitment) == bytes(escrow.specHash(job.spec.as_tuple()))
    assert escrow.statusOf(*job.args) == 1  # Open


def test_settle__unclaimed__pays_pool_relayer_treasury(
    escrow, token, staking, pool, worker, relayer, treasury, post_job, result_sig, attestation_log
):
    job = post_job(payment=10 * PHA, relay_fee=PHA // 10)
    sig = result_sig(worker, job, b"hello")
    balances = [token.balanceOf(a) for a in (relayer, treasury, staking)]
    tx = escrow.settle(*job.args, worker.address, b"hello", sig, sender=relayer)
    pool_amount, relay, fee = split(10 * PHA, PHA // 10)
    after = [token.balanceOf(a) for a in (relayer, treasury, staking)]
    assert [a - b for a, b in zip(after, balances, strict=True)] == [relay, fee, pool_amount]
    assert token.balanceOf(escrow) == 0
    settled = tx.decode_logs(escrow.JobSettled)[0]
    assert settled.jobId == job.id and bytes(settled.output) == b"hello"
    assert escrow.jobOf(job.id).client == "0x" + "00" * 20
    assert escrow.statusOf(*job.args) == 3  # Ended
    appended = tx.decode_logs(attestation_log.Appended)
    assert (
        len(appended) == 1 and appended[0].kind == 1 and int.from_bytes(appended[0].subject, "big") == job.id
    )
    assert tx.gas_used < 250_000  # order-of-magnitude guard; figures in `make bench`


def test_claim_then_settle__pays(escrow, worker, relayer, pool, post_job, result_sig):
    job = post_job()
    tx = escrow.claim(*job.args, worker.address, sender=relayer)
    event = tx.decode_logs(escrow.JobClaimed)[0]
    assert event.worker == worker.address and event.poolId == pool
    assert escrow.statusOf(*job.args) == 2
    escrow.settle(*job.args, worker.address, b"x", result_sig(worker, job, b"x"), sender=relayer)
    assert escrow.statusOf(*job.args) == 3
    assert tx.gas_used < 80_000


def test_settle_batch__pays_each_job(escrow, token, worker, relayer, code, post_job, batch_sig, staking):
    from tests.escrow.conftest import batch_entries

    items = [(post_job(), b"out%d" % i) for i in range(5)]
    sig = batch_sig(worker, items)
    before = token.balanceOf(staking)
    tx = escrow.settleBatch(worker.address, code.measurement_id, batch_entries(items), sig, sender=relayer)
    assert len(tx.decode_logs(escrow.JobSettled)) == 5
    assert token.balanceOf(staking) - before == 5 * split(10 * PHA, PHA // 10)[0]
    assert token.balanceOf(escrow) == 0
    assert tx.gas_used / 5 < 60_000


def test_settle__twice__reverts(escrow, worker, relayer, post_job, result_sig):
    job = post_job()
    sig = result_sig(worker, job, b"x")
    escrow.settle(*job.args, worker.address, b"x", sig, sender=relayer)
    with ape.reverts(escrow.JobEscrowJobNotActive):
        escrow.settle(*job.args, worker.address, b"x", sig, sender=relayer)
