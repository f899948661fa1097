"""Issue 17, properties 1 and 2: a pool's rewards belong to the shares that existed when they were
earned, at the commission in force then, even while they wait in the escrow's pool ledger.

Each test is an attacker's best attempt by one path. It passes when the attack gains at most
rounding dust and prints the damage when it does not. The paths: join before the payout and
leave after it, through every way a ledger reaches Staking (a flush by anyone, the pool's next
batch, the next epoch's single settlement, Staking taking it on a delegation), the same block,
an escrow replaced (the former escrow's ledger), the last worker leaving, and a commission
increase that matures while rewards wait.
"""

from __future__ import annotations

import ape
import pytest

from pha.escrow.spec import ZERO_ADDRESS
from tests.attacks.figures import record
from tests.escrow.conftest import batch_entries, split
from tests.world import PHA

COOLDOWN = 7 * 86_400
DUST = 10_000  # wei: what rounding may move between holders over a few operations
WHALE = 90_000 * PHA


def delegate(staking, who, pool, amount):
    return staking.invoke_transaction("delegate", pool, amount, sender=who)


def report(what: str, gained: int) -> None:
    damage = "DAMAGE: " if gained > DUST else ""
    record(f"reward ownership, {what}", f"{damage}attacker gained {gained} wei beyond its pro-rata share")


@pytest.fixture
def settle_single(escrow, worker, relayer, post_job, result_sig):
    """settle_single(n, payment, enclave=worker): n single settlements into the pool's ledger;
    returns their pool shares."""

    def _settle(n: int, payment: int = 100 * PHA, enclave=None) -> int:
        enclave = enclave or worker
        total = 0
        for i in range(n):
            job = post_job(payment=payment)
            out = b"r%d" % i
            escrow.settle(*job.args, enclave.address, out, result_sig(enclave, job, out), sender=relayer)
            total += split(job.payment, job.spec.relay_fee)[0]
        return total

    return _settle


@pytest.fixture
def whale(attacker, fund, token, staking):
    fund(attacker, WHALE + 10 * PHA)
    token.approve(staking, 2**256 - 1, sender=attacker)
    return attacker


def _exit(staking, pool, who, chain) -> int:
    """Undelegate everything, wait out the cooldown, withdraw: the PHA received."""
    tx = staking.undelegate(pool, staking.sharesOf(pool, who), sender=who)
    request = tx.decode_logs(staking.Undelegated)[0].requestId
    chain.pending_timestamp += COOLDOWN + 1
    return int(staking.withdraw(pool, request, sender=who).decode_logs(staking.Withdrawn)[0].assets)


def _payout_by(
    path, escrow, staking, pool, attacker, settle_single, worker, relayer, post_job, batch_sig, chain
):
    """Makes the pool's ledger reach Staking by `path`; returns nothing."""

    def flush_if_owed() -> None:  # (nothing waits when Staking took the ledger already)
        if escrow.poolRewardsOwed(pool):
            escrow.flushPoolRewards([pool], sender=attacker)

    if path == "flush":
        flush_if_owed()
    elif path == "batch":
        job = post_job()
        sig = batch_sig(worker, [(job, b"b")])
        escrow.settleBatch(
            worker.address, job.spec.measurement_id, batch_entries([(job, b"b")]), sig, sender=relayer
        )
    elif path == "next_epoch":
        epoch = escrow.REWARD_EPOCH()
        chain.pending_timestamp = (chain.pending_timestamp // epoch + 1) * epoch
        settle_single(1, enclave=worker)  # pays the earlier epoch's ledger with it, or opens a new one
        flush_if_owed()
    elif path == "reward":
        staking.reward(pool, PHA, sender=attacker)  # a direct reward (anyone): it must not carry the ledger
        flush_if_owed()
    else:
        raise AssertionError(path)
    assert escrow.poolRewardsOwed(pool) == 0


@pytest.mark.parametrize("path", ["flush", "batch", "next_epoch", "reward"])
def test_late_delegator__joins_before_a_ledger_payout__takes_no_earlier_reward(
    path, escrow, staking, pool, whale, settle_single, worker, relayer, post_job, batch_sig, chain, token
):
    waiting = settle_single(10)
    assert escrow.poolRewardsOwed(pool) == waiting > 900 * PHA
    paid_in = delegate(staking, whale, pool, WHALE).decode_logs(staking.Delegated)[0].assets
    # Staking took the ledger before minting the whale's shares: nothing waits any more.
    assert escrow.poolRewardsOwed(pool) == 0
    fraction = staking.assetsOf(pool, whale) / staking.poolInfo(pool).activeAssets
    _payout_by(path, escrow, staking, pool, whale, settle_single, worker, relayer, post_job, batch_sig, chain)
    got = _exit(staking, pool, whale, chain)
    # What the whale is owed: its pro-rata part of what was earned after it joined (the batch's
    # job, the next epoch's job, its own donation), after commission; none of the 10 before.
    earned_after = {
        "flush": 0,
        "batch": split(10 * PHA, PHA // 10)[0],
        "next_epoch": split(100 * PHA, PHA // 10)[0],
    }
    after = earned_after.get(path, PHA)
    owed = (after - after * staking.commissionAt(pool, chain.pending_timestamp) // 10_000) * fraction
    excess = got - paid_in - int(owed)
    report(path, excess)
    assert excess <= DUST


def _raw(contract, w3):
    abi = [item.model_dump(mode="json", by_alias=True) for item in contract.contract_type.abi]
    return w3.eth.contract(address=str(contract.address), abi=abi)


def test_late_delegator__same_block_as_the_flush__takes_nothing(
    escrow, staking, pool, whale, settle_single, chain
):
    settle_single(10)
    w3 = chain.provider.web3
    sender = {"from": str(whale.address), "gas": 600_000}
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        hashes = [
            _raw(staking, w3).functions.delegate(pool, WHALE).transact(sender),
            _raw(escrow, w3).functions.flushPoolRewards([pool]).transact(sender),
        ]
        w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    receipts = [w3.eth.wait_for_transaction_receipt(h) for h in hashes]
    assert receipts[0].blockNumber == receipts[1].blockNumber
    assert receipts[0].status == 1  # the delegation took the ledger first
    assert receipts[1].status == 0  # so the flush found nothing to pay
    delegated = _raw(staking, w3).events.Delegated().process_receipt(receipts[0])[0]
    gained = _exit(staking, pool, whale, chain) - delegated.args.assets
    report("same block", gained)
    assert gained <= DUST


def test_leaver__exits_before_the_payout__keeps_its_share(
    escrow, staking, pool, operator, settle_single, chain
):
    """The other side of the same promise: a delegator who leaves while rewards wait is paid its
    share of them (Staking takes the ledger before moving its shares to the queue)."""
    held = staking.assetsOf(pool, operator)
    waiting = settle_single(5)
    expected = waiting - waiting * staking.commissionAt(pool, chain.pending_timestamp) // 10_000
    got = _exit(staking, pool, operator, chain)
    # The operator was the only delegator: it is owed all of the stakers' part.
    assert got >= held + expected - DUST


def test_former_escrow__its_ledger_is_taken_too(
    project, gov, token, staking, registry, attestation_log, treasury, escrow, pool, whale, worker,
    relayer, client, result_sig, chain, code,
):  # fmt: skip
    """Across a replaced escrow: the old one settles its open jobs into its own ledger; a late
    delegator still cannot reach them (Staking takes the former escrow's ledger as well)."""
    from pha.escrow.spec import JobSpec, input_hash
    from pha.escrow.typed_data import Domain, ResultEntry, output_hash, sign_result

    old = escrow
    new = gov.deploy(project.JobEscrow, gov, token, staking, registry, attestation_log, treasury, 100, 1_000)
    data = b'{"handler":"echo","data":"old"}'
    spec = JobSpec(
        code.measurement_id, input_hash(data), PHA // 10, chain.pending_timestamp + 3_600, ZERO_ADDRESS, 6
    )
    job_id = old.post(spec.as_tuple(), 100 * PHA, data, sender=client).decode_logs(old.JobPosted)[0].jobId
    attestation_log.setWriters(registry, new, old, sender=gov)
    staking.setRewardLedgers(new, old, sender=gov)
    assert staking.rewardLedgers() == (new.address, old.address)
    sig = sign_result(
        Domain(chain.chain_id, old.address),
        ResultEntry(job_id, spec.input_hash, output_hash(b"o")),
        worker.signer.key,
    )
    old.settle(job_id, spec.as_tuple(), worker.address, b"o", sig, sender=relayer)
    assert old.poolRewardsOwed(pool) > 0
    paid_in = delegate(staking, whale, pool, WHALE).decode_logs(staking.Delegated)[0].assets
    assert old.poolRewardsOwed(pool) == 0
    gained = _exit(staking, pool, whale, chain) - paid_in
    report("former escrow", gained)
    assert gained <= DUST


def test_last_worker_leaves__ledger_taken_before_shares_can_move_unchecked(
    escrow, staking, registry, pool, whale, worker, operator, settle_single, chain
):
    settle_single(5)
    assert staking.workersOf(pool) == 1
    registry.deregisterWorker(worker.address, sender=operator)
    assert staking.workersOf(pool) == 0 and escrow.poolRewardsOwed(pool) == 0
    paid_in = delegate(staking, whale, pool, WHALE).decode_logs(staking.Delegated)[0].assets
    gained = _exit(staking, pool, whale, chain) - paid_in
    report("after the last worker left", gained)
    assert gained <= DUST


def test_slash__hits_rewards_earned_before_it(
    escrow, staking, pool, settle_single, post_job, worker, relayer, chain, gov
):
    """A slash takes its fraction of the backing including what waits in the ledger: rewards
    credited at settlement are staked, so they are slashable like the stake they were paid to."""
    waiting = settle_single(5)
    before = staking.backing(pool)
    tx = staking.slash(pool, 10**30, b"\x01" * 32, sender=gov)  # as much as the bound allows
    slashed = tx.decode_logs(staking.Slashed)[0]
    stakers_part = waiting - waiting * staking.commissionAt(pool, chain.pending_timestamp) // 10_000
    cap = (before + stakers_part) * staking.maxSlashBps() // 10_000
    assert cap - 1 <= slashed.fromActive + slashed.fromQueued <= cap
    assert escrow.poolRewardsOwed(pool) == 0


# ---------------------------------------------------------------------- property 2: commission


@pytest.fixture
def increase(staking, pool, operator, gov):
    """Schedules 10% -> 50% at the shortest notice (a day: the worker stays attested through
    the test); returns when it takes effect."""
    staking.setCommissionNotice(86_400, sender=gov)
    tx = staking.setCommission(pool, 5_000, sender=operator)
    return int(tx.decode_logs(staking.CommissionChangeScheduled)[0].effectiveAt)


@pytest.mark.parametrize("path", ["flush", "batch", "next_epoch", "delegate", "set_commission", "undelegate"])
def test_commission__increase_matures_while_rewards_wait__old_rate_applies(
    path, increase, escrow, staking, pool, operator, whale, settle_single, register_worker, relayer,
    post_job, batch_sig, chain,
):  # fmt: skip
    chain.pending_timestamp = increase - 600  # ten minutes before the increase
    worker = register_worker(pool)  # attested now: still valid an hour after the increase
    waiting = settle_single(5, enclave=worker)
    owed_before = staking.poolInfo(pool).commissionOwed
    chain.pending_timestamp = increase + 3_000  # well after it, whoever pays the ledger
    if path == "delegate":
        delegate(staking, whale, pool, PHA)
    elif path == "set_commission":
        staking.setCommission(pool, 4_000, sender=operator)
    elif path == "undelegate":
        staking.undelegate(pool, staking.sharesOf(pool, operator) // 2, sender=operator)
    else:
        _payout_by(
            path, escrow, staking, pool, whale, settle_single, worker, relayer, post_job, batch_sig, chain
        )
    assert escrow.poolRewardsOwed(pool) == 0
    charged = staking.poolInfo(pool).commissionOwed - owed_before
    after = {"batch": split(10 * PHA, PHA // 10)[0], "next_epoch": split(100 * PHA, PHA // 10)[0]}.get(
        path, 0
    )
    fair = waiting * 1_000 // 10_000 + after * 5_000 // 10_000  # old rate before, new rate after
    damage = "DAMAGE: " if charged > fair + 1 else ""
    record(f"commission, {path}", f"{damage}charged {charged} wei, owed at the rates of earning {fair} wei")
    assert fair - 1 <= charged <= fair + 1


def test_commission__increase_lands_on_the_epoch_grid(increase, staking, escrow):
    assert increase % escrow.REWARD_EPOCH() == 0 == increase % staking.REWARD_EPOCH()


def test_commission__decrease_with_rewards_waiting__they_keep_the_old_rate(
    escrow, staking, pool, operator, settle_single
):
    """A decrease is in force at once, for what is earned from then on: Staking takes the
    ledger at the old rate first (the operator cannot lose what it earned either)."""
    waiting = settle_single(3)
    owed_before = staking.poolInfo(pool).commissionOwed
    staking.setCommission(pool, 0, sender=operator)
    assert staking.poolInfo(pool).commissionOwed - owed_before == waiting * 1_000 // 10_000


def test_take_pool_ledger__only_staking(escrow, pool, attacker, settle_single):
    settle_single(1)
    with ape.reverts(escrow.JobEscrowNotStaking, caller=attacker):
        escrow.takePoolLedger(pool, sender=attacker)


def test_reward_with_ledger__earned_in_the_future__refused(staking, pool, attacker, chain):
    later = chain.pending_timestamp + 3_600
    with ape.reverts(staking.StakingEarnedInFuture):
        staking.rewardWithLedger(pool, 0, PHA, later, sender=attacker)


def test_set_reward_ledgers__mismatched_or_not_governance__refused(
    project, gov, staking, escrow, attacker, token, attestation_log, treasury
):
    with ape.reverts(staking.StakingLedgerMismatch, ledger=escrow.address):
        staking.setRewardLedgers(escrow, escrow, sender=gov)
    other_staking = gov.deploy(project.Staking, token, gov, treasury)
    foreign = gov.deploy(
        project.JobEscrow, gov, token, other_staking, escrow.REGISTRY(), attestation_log, treasury, 100, 1_000
    )
    with ape.reverts(staking.StakingLedgerMismatch, ledger=foreign.address):
        staking.setRewardLedgers(foreign, ZERO_ADDRESS, sender=gov)
    with ape.reverts():
        staking.setRewardLedgers(ZERO_ADDRESS, ZERO_ADDRESS, sender=attacker)
