"""Issue 17, properties 1 and 2 as a stateful property: random sequences of public calls on the
deployed escrow + staking (delegations, undelegations, withdrawals, single and batch settlements,
flushes and direct rewards by anyone, commission changes, slashes, time passing over reward
epochs, commission effective times and cooldowns) checked against an exact reference model.

The model knows nothing of pool ledgers: it credits every job's pool share at the moment the job
settled, pro rata by value to the delegators active then, with the commission in force then
(rational numbers, no rounding). After every step the chain's figures, with any waiting ledger
paid in (in a snapshot, reverted), must equal the model's to rounding dust: each delegator's
active assets, each withdrawal, each undelegation's assets, the operator's commission.
"""

from __future__ import annotations

from fractions import Fraction
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.escrow.conftest import batch_entries, split
from tests.world import PHA

BPS = 10_000
MIN_DELEGATION = PHA // 100
TOLERANCE = 10_000  # wei: rounding of the on-chain conversions over one sequence


def _close(chain_value: int, model_value: Fraction) -> bool:
    return abs(chain_value - model_value) <= TOLERANCE + model_value / 10**15


class RewardModel(RuleBasedStateMachine):
    """One pool (its operator the first delegator), one registered worker, three delegators."""

    world: ClassVar[dict] = {}

    @initialize()
    def start(self) -> None:
        w = self.world
        self.chain, self.staking, self.escrow = w["chain"], w["staking"], w["escrow"]
        self.pool, self.operator, self.gov = w["pool"], w["operator"], w["gov"]
        self.snapshot = self.chain.snapshot()
        info = self.staking.poolInfo(self.pool)
        assert self.escrow.poolRewardsOwed(self.pool) == 0 and info.queuedShares == 0
        self.value: dict[str, Fraction] = {str(self.operator.address): Fraction(info.activeAssets)}
        self.account = {str(a.address): a for a in (self.operator, *w["delegators"])}
        self.commission = Fraction(info.commissionOwed)
        self.requests: dict[tuple[str, int], Fraction] = {}
        self.rate = (int(info.commissionBps), 0, 0)  # (current, pending, effective at)
        self.notice = int(self.staking.commissionNotice())
        self.epoch = int(self.staking.REWARD_EPOCH())
        self.cooldown = int(self.staking.cooldown())

    def teardown(self) -> None:
        if hasattr(self, "snapshot"):
            self.chain.restore(self.snapshot)

    # ------------------------------------------------------------------ model

    def _rate_at(self, t: int) -> int:
        current, pending, effective_at = self.rate
        return pending if effective_at and t >= effective_at else current

    def _credit(self, amount: int, t: int) -> None:
        """A reward earned at `t`, as the reference says it is owed."""
        active = sum(self.value.values())
        if active == 0:
            self.commission += amount
            return
        commission = amount * self._rate_at(t) // BPS
        self.commission += commission
        for who in self.value:
            self.value[who] += (amount - commission) * self.value[who] / active

    def _now(self) -> int:
        return int(self.chain.blocks.head.timestamp)

    def _actor(self, i: int):
        return self.world["delegators"][i]

    # ------------------------------------------------------------------ rules

    @rule(i=st.integers(0, 2), amount=st.integers(MIN_DELEGATION, 50_000 * PHA))
    def delegate(self, i: int, amount: int) -> None:
        who = self._actor(i)
        tx = self.staking.invoke_transaction("delegate", self.pool, amount, sender=who)
        charged = tx.decode_logs(self.staking.Delegated)[0].assets
        assert amount - 1 <= charged <= amount
        self.value[str(who.address)] = self.value.get(str(who.address), Fraction(0)) + charged

    @rule(i=st.integers(0, 3), whole=st.booleans())
    def undelegate(self, i: int, whole: bool) -> None:
        who = self.operator if i == 3 else self._actor(i)
        key = str(who.address)
        held = int(self.staking.sharesOf(self.pool, who))
        if not held:
            return
        shares = held if whole else held // 2
        left = self.value[key] * (held - shares) / held
        if shares == 0 or (0 < left < 2 * MIN_DELEGATION):
            return
        tx = self.staking.undelegate(self.pool, shares, sender=who)
        event = tx.decode_logs(self.staking.Undelegated)[0]
        expected = self.value[key] * shares / held
        assert _close(event.assets, expected), (event.assets, float(expected))
        self.value[key] -= expected
        self.requests[(key, int(event.requestId))] = expected

    @precondition(lambda self: self.requests)
    @rule(pick=st.integers(0, 10**6))
    def withdraw(self, pick: int) -> None:
        key, request = sorted(self.requests)[pick % len(self.requests)]
        (_, unlock_at), _ = self.staking.withdrawalRequest(self.pool, key, request)
        if self.chain.pending_timestamp < unlock_at:
            return
        tx = self.staking.withdraw(self.pool, request, sender=self.account[key])
        paid = tx.decode_logs(self.staking.Withdrawn)[0].assets
        assert _close(paid, self.requests.pop((key, request)))

    def _eligible(self) -> bool:
        w = self.world
        return bool(w["registry"].isEligible(w["worker"].address, w["code"].measurement_id))

    @rule(payment=st.integers(PHA, 500 * PHA))
    def settle_single(self, payment: int) -> None:
        if not self._eligible():
            return
        w = self.world
        job = w["post_job"](payment=payment)
        sig = w["result_sig"](w["worker"], job, b"s")
        tx = self.escrow.settle(*job.args, w["worker"].address, b"s", sig, sender=w["relayer"])
        self._credit(split(payment, job.spec.relay_fee)[0], tx.timestamp)

    @rule(n=st.integers(1, 3))
    def settle_batch(self, n: int) -> None:
        if not self._eligible():
            return
        w = self.world
        items = [(w["post_job"](payment=20 * PHA), b"b%d" % k) for k in range(n)]
        sig = w["batch_sig"](w["worker"], items)
        tx = self.escrow.settleBatch(
            w["worker"].address, w["code"].measurement_id, batch_entries(items), sig, sender=w["relayer"]
        )
        self._credit(sum(split(j.payment, j.spec.relay_fee)[0] for j, _ in items), tx.timestamp)

    @rule()
    def flush(self) -> None:
        if self.escrow.poolRewardsOwed(self.pool) or self.escrow.poolFeesOwed(self.pool):
            self.escrow.flushPoolRewards([self.pool], sender=self.world["attacker"])

    @rule(amount=st.integers(1, 100 * PHA))
    def reward_directly(self, amount: int) -> None:
        tx = self.staking.reward(self.pool, amount, sender=self.world["attacker"])
        self._credit(amount, tx.timestamp)

    @rule(bps=st.sampled_from([0, 500, 1_000, 2_500, 5_000]))
    def set_commission(self, bps: int) -> None:
        tx = self.staking.setCommission(self.pool, bps, sender=self.operator)
        now = int(tx.timestamp)
        current = self._rate_at(now)
        if bps <= current:
            self.rate = (bps, 0, 0)
        else:
            effective_at = -(-(now + self.notice) // self.epoch) * self.epoch
            self.rate = (current, bps, effective_at)

    @rule(bps=st.integers(1, 1_000))
    def slash(self, bps: int) -> None:
        active = sum(self.value.values())
        queued = sum(self.requests.values())
        total = active + queued
        amount = int(total * bps / BPS)
        if total == 0 or amount == 0:
            return
        tx = self.staking.slash(self.pool, amount, b"\x07" * 32, sender=self.gov)
        event = tx.decode_logs(self.staking.Slashed)[0]
        cap = total * int(self.staking.maxSlashBps()) / BPS
        take = min(Fraction(amount), cap)
        assert _close(event.fromActive + event.fromQueued, take)
        keep = 1 - take / total
        self.value = {k: v * keep for k, v in self.value.items()}
        self.requests = {k: v * keep for k, v in self.requests.items()}

    @rule(seconds=st.sampled_from([1, 59 * 60, 3_600, 2 * 3_600, 86_400, 7 * 86_400 + 1]))
    def wait(self, seconds: int) -> None:
        self.chain.pending_timestamp += seconds

    @rule()
    def wait_until_commission_changes(self) -> None:
        _, _, effective_at = self.rate
        if effective_at > self.chain.pending_timestamp:
            self.chain.pending_timestamp = effective_at

    # ------------------------------------------------------------------ the property

    @invariant()
    def chain_agrees_with_the_model(self) -> None:
        if not hasattr(self, "snapshot"):
            return
        mark = self.chain.snapshot()
        try:
            if self.escrow.poolRewardsOwed(self.pool) or self.escrow.poolFeesOwed(self.pool):
                self.escrow.flushPoolRewards([self.pool], sender=self.world["attacker"])
            for key, expected in self.value.items():
                held = int(self.staking.assetsOf(self.pool, key))
                assert _close(held, expected), (key, held, float(expected))
            owed = int(self.staking.poolInfo(self.pool).commissionOwed)
            assert _close(owed, self.commission), (owed, float(self.commission))
        finally:
            self.chain.restore(mark)


@pytest.fixture
def reward_world(chain, gov, staking, escrow, registry, pool, operator, worker, relayer, post_job,
                 result_sig, batch_sig, code, accounts, attacker, fund, token):  # fmt: skip
    delegators = [accounts[2], accounts[3], accounts[6]]
    for who in (*delegators, attacker):
        fund(who, 1_000_000 * PHA)
        token.approve(staking, 2**256 - 1, sender=who)
    return dict(
        chain=chain, gov=gov, staking=staking, escrow=escrow, registry=registry, pool=pool,
        operator=operator, worker=worker, relayer=relayer, post_job=post_job, result_sig=result_sig,
        batch_sig=batch_sig, code=code, delegators=delegators, attacker=attacker,
    )  # fmt: skip


def test_rewards_belong_to_who_was_staked_when_earned(reward_world):
    RewardModel.world = reward_world
    run = settings(
        max_examples=25, stateful_step_count=12, deadline=None, suppress_health_check=list(HealthCheck)
    )(RewardModel)
    run.TestCase().runTest()
