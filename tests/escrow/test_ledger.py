"""Pool ledgers as the scripts read and pay them (pha.escrow.ledger, behind `ape run stake
flush-rewards` and `ape run governance sweep-fees`)."""

from pha.escrow import ledger
from pha.fmt import format_pha
from tests.escrow.conftest import split


def test_ledgers__show_then_flush_pays_the_pool_and_says_so(
    escrow, token, staking, worker, relayer, pool, attacker, post_job, result_sig
):
    assert ledger.unpaid(escrow, int(staking.poolCount())) == []
    assert ledger.flush(escrow, attacker, []) == ["no pool ledger holds anything: nothing to flush"]
    jobs = [post_job(), post_job()]
    for job in jobs:
        escrow.settle(*job.args, worker.address, b"x", result_sig(worker, job, b"x"), sender=relayer)
    share = sum(split(j.payment, j.spec.relay_fee)[0] for j in jobs)
    fee = sum(split(j.payment, j.spec.relay_fee)[2] for j in jobs)
    [due] = ledger.unpaid(escrow, int(staking.poolCount()))
    assert (due.pool_id, due.reward, due.fee) == (pool, share, fee)
    assert (
        due.describe()
        == f"pool {pool}: {format_pha(share)} owed to its stakers, {format_pha(fee)} of protocol fees"
    )
    before = token.balanceOf(staking)
    [line] = ledger.flush(escrow, attacker, ledger.ledgers(escrow, [pool, pool + 1000]))
    assert line.startswith(f"pool {pool}: paid {format_pha(share)} to its stakers, {format_pha(fee)}")
    assert token.balanceOf(staking) - before == share
    assert ledger.ledgers(escrow, [pool])[0].empty


def test_flush_if_owed__pays_only_a_holding_ledger(
    escrow, token, staking, worker, relayer, pool, alice, post_job, result_sig
):
    """What `ape run stake undelegate` does first: nothing (no transaction) for an empty ledger."""
    nonce = alice.nonce
    assert ledger.flush_if_owed(escrow, alice, pool) == []
    assert alice.nonce == nonce
    job = post_job()
    escrow.settle(*job.args, worker.address, b"x", result_sig(worker, job, b"x"), sender=relayer)
    before = token.balanceOf(staking)
    [line] = ledger.flush_if_owed(escrow, alice, pool)
    assert f"pool {pool}: paid" in line
    assert token.balanceOf(staking) - before == split(job.payment, job.spec.relay_fee)[0]
