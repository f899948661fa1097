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


def test_settle__unclaimed__pays_pool_and_accrues_relay_and_protocol_fees(
    escrow, token, staking, pool, worker, relayer, treasury, post_job, result_sig, attestation_log
):
    job = post_job(payment=10 * PHA, relay_fee=PHA // 10)
    sig = result_sig(worker, job, b"hello")
    balances = [token.balanceOf(a) for a in (relayer, treasury, staking)]
    tx = escrow.settle(*job.args, worker.address, b"hello", sig, sender=relayer)
    pool_amount, relay, fee = split(10 * PHA, PHA // 10)
    # Nothing moves yet: the relay fee accrues to the relayer, the pool's share and the protocol
    # fee wait in the pool's ledger.
    after = [token.balanceOf(a) for a in (relayer, treasury, staking)]
    assert after == balances
    assert escrow.relayerOwed(relayer) == relay and escrow.feesOwed() == 0
    assert (escrow.poolRewardsOwed(pool), escrow.poolFeesOwed(pool)) == (pool_amount, fee)
    assert token.balanceOf(escrow) == 10 * PHA
    paid = tx.decode_logs(escrow.SettlementPaid)[0]
    assert (paid.poolId, paid.jobs) == (pool, 1)
    assert (paid.poolAmount, paid.relayAmount, paid.feeAmount) == (pool_amount, relay, fee)
    # The flush (anyone) pays the pool through Staking.reward and makes the fee sweepable.
    flush = escrow.flushPoolRewards([pool], sender=relayer)
    assert token.balanceOf(staking) - balances[2] == pool_amount
    assert escrow.feesOwed() == fee and escrow.poolRewardsOwed(pool) == escrow.poolFeesOwed(pool) == 0
    flushed = flush.decode_logs(escrow.PoolRewardsFlushed)[0]
    assert (flushed.poolId, flushed.reward, flushed.fee) == (pool, pool_amount, fee)
    assert token.balanceOf(escrow) == relay + fee
    settled = tx.decode_logs(escrow.JobSettled)[0]
    assert settled.jobId == job.id and bytes(settled.output) == b"hello"
    assert settled.worker == worker.address
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
    pool_amount, relay, fee = split(10 * PHA, PHA // 10)
    assert token.balanceOf(staking) - before == 5 * pool_amount
    assert escrow.relayerOwed(relayer) == 5 * relay and escrow.feesOwed() == 5 * fee
    assert token.balanceOf(escrow) == 5 * (relay + fee)
    assert tx.gas_used / 5 < 60_000


def test_settle_batch__also_pays_the_pools_ledger_in_one_reward(
    escrow, token, worker, relayer, code, pool, post_job, result_sig, batch_sig, staking
):
    from tests.escrow.conftest import batch_entries

    single = post_job()
    escrow.settle(*single.args, worker.address, b"s", result_sig(worker, single, b"s"), sender=relayer)
    share, _, fee = split(single.payment, single.spec.relay_fee)
    items = [(post_job(), b"b0"), (post_job(), b"b1")]
    before = token.balanceOf(staking)
    tx = escrow.settleBatch(
        worker.address, code.measurement_id, batch_entries(items), batch_sig(worker, items), sender=relayer
    )
    batch_share = sum(split(j.payment, j.spec.relay_fee)[0] for j, _ in items)
    batch_fee = sum(split(j.payment, j.spec.relay_fee)[2] for j, _ in items)
    assert token.balanceOf(staking) - before == batch_share + share
    # One Staking call and one transfer; the ledger and the batch are booked apart (each at the
    # commission of the epoch it was earned in).
    transfers = [t for t in tx.decode_logs(token.Transfer) if t.to == staking.address]
    assert [int(t.value) for t in transfers] == [batch_share + share]
    rewarded = tx.decode_logs(staking.Rewarded)
    assert [int(r.amount) for r in rewarded] == [share, batch_share]
    assert escrow.poolRewardsOwed(pool) == escrow.poolFeesOwed(pool) == 0
    assert escrow.feesOwed() == batch_fee + fee
    paid = tx.decode_logs(escrow.SettlementPaid)[0]
    assert (paid.jobs, paid.poolAmount, paid.feeAmount) == (2, batch_share, batch_fee)  # the batch's own


def test_flush__rules(escrow, token, staking, worker, relayer, pool, attacker, post_job, result_sig):
    with ape.reverts(escrow.JobEscrowNothingOwed):
        escrow.flushPoolRewards([pool], sender=attacker)
    with ape.reverts(escrow.JobEscrowNothingOwed):
        escrow.flushPoolRewards([], sender=attacker)
    limit = escrow.MAX_FLUSH_POOLS()
    with ape.reverts(escrow.JobEscrowTooManyPools):
        escrow.flushPoolRewards([pool] * (limit + 1), sender=attacker)
    job = post_job()
    escrow.settle(*job.args, worker.address, b"x", result_sig(worker, job, b"x"), sender=relayer)
    share, _, _ = split(job.payment, job.spec.relay_fee)
    before = token.balanceOf(staking)
    # A repeated pool id pays once; an unknown pool with an empty ledger is passed over.
    tx = escrow.flushPoolRewards([pool, 999, pool], sender=attacker)
    assert token.balanceOf(staking) - before == share
    assert len(tx.decode_logs(escrow.PoolRewardsFlushed)) == 1
    with ape.reverts(escrow.JobEscrowNothingOwed):
        escrow.flushPoolRewards([pool], sender=attacker)


def test_settle__twice__reverts(escrow, worker, relayer, post_job, result_sig):
    job = post_job()
    sig = result_sig(worker, job, b"x")
    escrow.settle(*job.args, worker.address, b"x", sig, sender=relayer)
    with ape.reverts(escrow.JobEscrowJobNotActive):
        escrow.settle(*job.args, worker.address, b"x", sig, sender=relayer)


# ---------------------------------------------------------------- fee payouts (pull)


def _settled(escrow, worker, relayer, post_job, result_sig, n=2):
    for _ in range(n):
        job = post_job(payment=10 * PHA, relay_fee=PHA // 10)
        escrow.settle(*job.args, worker.address, b"x", result_sig(worker, job, b"x"), sender=relayer)
    _, relay, fee = split(10 * PHA, PHA // 10)
    return n * relay, n * fee


def test_withdraw_relayer_fees__pays_caller_owed_to_target(
    escrow, token, worker, relayer, carol, post_job, result_sig
):
    relay, _ = _settled(escrow, worker, relayer, post_job, result_sig)
    before = token.balanceOf(carol)
    tx = escrow.withdrawRelayerFees(carol, sender=relayer)
    assert token.balanceOf(carol) - before == relay
    assert escrow.relayerOwed(relayer) == 0 and escrow.relayerWithdrawn(relayer) == relay
    event = tx.decode_logs(escrow.RelayerFeesWithdrawn)[0]
    assert (event.relayer, event.to, event.amount) == (relayer.address, carol.address, relay)
    with ape.reverts(escrow.JobEscrowNothingOwed):
        escrow.withdrawRelayerFees(carol, sender=relayer)


def test_withdraw_relayer_fees__other_caller__gets_nothing(
    escrow, worker, relayer, attacker, post_job, result_sig
):
    relay, _ = _settled(escrow, worker, relayer, post_job, result_sig)
    with ape.reverts(escrow.JobEscrowNothingOwed):
        escrow.withdrawRelayerFees(attacker, sender=attacker)
    assert escrow.relayerOwed(relayer) == relay


def test_withdraw_relayer_fees__zero_address__reverts(escrow, worker, relayer, post_job, result_sig):
    _settled(escrow, worker, relayer, post_job, result_sig, n=1)
    with ape.reverts(escrow.JobEscrowZeroAddress):
        escrow.withdrawRelayerFees("0x" + "00" * 20, sender=relayer)


def test_sweep_protocol_fees__anyone__pays_treasury(
    escrow, token, worker, relayer, treasury, attacker, pool, post_job, result_sig
):
    relay, fee = _settled(escrow, worker, relayer, post_job, result_sig)
    # Single settlements' fees wait in the pool's ledger until it is paid.
    with ape.reverts(escrow.JobEscrowNothingOwed):
        escrow.sweepProtocolFees(sender=attacker)
    escrow.flushPoolRewards([pool], sender=attacker)
    before = token.balanceOf(treasury)
    tx = escrow.sweepProtocolFees(sender=attacker)
    # one wei stays owed (the anchor keeping the escrow's balance non-zero), nothing is lost
    assert token.balanceOf(treasury) - before == fee - 1 and escrow.feesOwed() == 1
    event = tx.decode_logs(escrow.ProtocolFeesSwept)[0]
    assert (event.treasury, event.amount) == (treasury.address, fee - 1)
    assert token.balanceOf(escrow) == relay + 1  # the relayer's fees and the anchor are left
    with ape.reverts(escrow.JobEscrowNothingOwed):
        escrow.sweepProtocolFees(sender=attacker)


def test_sweep_protocol_fees__after_set_treasury__pays_new_treasury(
    escrow, token, gov, carol, worker, relayer, pool, post_job, result_sig
):
    _, fee = _settled(escrow, worker, relayer, post_job, result_sig, n=1)
    escrow.flushPoolRewards([pool], sender=gov)
    escrow.setTreasury(carol, sender=gov)
    before = token.balanceOf(carol)
    escrow.sweepProtocolFees(sender=gov)
    assert token.balanceOf(carol) - before == fee - 1


def test_staking_allowance__unlimited_and_not_spent(
    escrow, token, staking, worker, relayer, post_job, result_sig
):
    _settled(escrow, worker, relayer, post_job, result_sig, n=1)
    assert token.allowance(escrow, staking) == 2**256 - 1


def test_settle__ledger_of_an_earlier_epoch__paid_by_the_next_settlement(
    escrow, token, staking, worker, relayer, pool, post_job, result_sig, chain
):
    """A ledger holds one reward epoch's single settlements: the first settlement of a later
    epoch pays it, with its own share, in one reward (and each part at its own epoch's rate)."""
    epoch = escrow.REWARD_EPOCH()
    first = post_job(duration=3 * 3_600)
    start = (chain.pending_timestamp // epoch + 1) * epoch  # an epoch's first second
    chain.pending_timestamp = start
    escrow.settle(*first.args, worker.address, b"a", result_sig(worker, first, b"a"), sender=relayer)
    opened = escrow.poolLedgerOpenedAt(pool)
    assert opened == chain.blocks.head.timestamp == start
    second = post_job(duration=3 * 3_600)
    chain.pending_timestamp = start + epoch - 1  # the epoch's last second
    escrow.settle(*second.args, worker.address, b"b", result_sig(worker, second, b"b"), sender=relayer)
    assert escrow.poolLedgerOpenedAt(pool) == opened  # same epoch: it waits
    third = post_job(duration=3 * 3_600)
    chain.pending_timestamp = start + epoch  # the next epoch, one second later
    before, fees = token.balanceOf(staking), escrow.feesOwed()
    tx = escrow.settle(*third.args, worker.address, b"c", result_sig(worker, third, b"c"), sender=relayer)
    shares = [split(j.payment, j.spec.relay_fee) for j in (first, second, third)]
    assert token.balanceOf(staking) - before == sum(s[0] for s in shares)  # all three, one transfer
    assert escrow.feesOwed() - fees == sum(s[2] for s in shares)
    assert escrow.poolRewardsOwed(pool) == escrow.poolFeesOwed(pool) == escrow.poolLedgerOpenedAt(pool) == 0
    flushed = tx.decode_logs(escrow.PoolRewardsFlushed)[0]
    assert flushed.reward == sum(s[0] for s in shares)
    rewarded = [log.amount for log in tx.decode_logs(staking.Rewarded)]
    assert rewarded == [shares[0][0] + shares[1][0], shares[2][0]]  # the ledger, then the new share
    # The next settlement opens a fresh ledger.
    fourth = post_job()
    escrow.settle(*fourth.args, worker.address, b"d", result_sig(worker, fourth, b"d"), sender=relayer)
    assert escrow.poolLedgerOpenedAt(pool) == chain.blocks.head.timestamp


def test_settle_batch__pays_only_its_own_pools_ledger(
    escrow, token, staking, registry, worker, relayer, pool, operator, open_pool, register_worker, code,
    post_job, result_sig, batch_sig,
):  # fmt: skip
    """A batch for pool A pays A's ledger; pool B's ledger is untouched (and a flush of B pays it)."""
    from tests.escrow.conftest import batch_entries

    other_pool = open_pool(operator)
    registry.setRelayer(other_pool, relayer, True, sender=operator)
    other = register_worker(other_pool)
    a, b = post_job(), post_job()
    escrow.settle(*a.args, worker.address, b"a", result_sig(worker, a, b"a"), sender=relayer)
    escrow.settle(*b.args, other.address, b"b", result_sig(other, b, b"b"), sender=relayer)
    share = split(b.payment, b.spec.relay_fee)[0]
    assert escrow.poolRewardsOwed(other_pool) == share
    items = [(post_job(), b"c"), (post_job(), b"d")]
    escrow.settleBatch(worker.address, code.measurement_id, batch_entries(items), batch_sig(worker, items),
                       sender=relayer)  # fmt: skip
    assert escrow.poolRewardsOwed(pool) == 0
    assert escrow.poolRewardsOwed(other_pool) == share
    before = token.balanceOf(staking)
    tx = escrow.flushPoolRewards([pool, other_pool], sender=relayer)
    assert [int(e.poolId) for e in tx.decode_logs(escrow.PoolRewardsFlushed)] == [other_pool]
    assert token.balanceOf(staking) - before == share
