"""Issue 17, property 6: no depositor loses to share-price manipulation.

`reward` is open to anyone and undelegation can leave a pool with few shares, so an attacker can
push a pool's share price up before a victim delegates. With the share count rounded down, the
victim used to pay for a fraction of a share it did not get (up to ~0.9% of a 1,000 PHA deposit).
Staking now mints the shares the offer buys and takes only what they cost, rounded up: the
victim loses at most a wei or two, whatever the price. The search below lets Hypothesis look for
the attacker's best sequence (its target is the victim's loss in basis points), asserts the bound
(< 1 bp for any deposit of at least 1 PHA) and prints the worst figure it found.
"""

from __future__ import annotations

import contextlib

import pytest
from ape.exceptions import ContractLogicError
from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import strategies as st

from tests.attacks.figures import record
from tests.world import PHA

MIN_DELEGATION = PHA // 100
COOLDOWN = 7 * 86_400
BOUND_BP = 1  # the bound: less than 0.01% of the deposit
WORST: dict[str, float] = {"loss_bp": 0.0, "loss_wei": 0}

amounts = st.integers(MIN_DELEGATION, 10**6 * PHA) | st.sampled_from(
    [MIN_DELEGATION, 10**6 * PHA, 10**5 * PHA + 7]
)
steps = st.lists(
    st.tuples(st.sampled_from(["delegate", "reward", "undelegate_to_dust", "undelegate_all"]), amounts),
    min_size=1,
    max_size=6,
)


def _delegate(staking, who, pool, amount):
    return staking.invoke_transaction("delegate", pool, amount, sender=who)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    record(
        "share rounding",
        f"worst victim loss found {WORST['loss_wei']} wei = {WORST['loss_bp']:.3e} bp (bound {BOUND_BP} bp)",
    )


@pytest.fixture
def rich(accounts, token, staking, fund):
    """The attacker (also the pool's operator, so commission comes back to it) and the victim."""
    attacker, victim = accounts[9], accounts[6]
    for who in (attacker, victim):
        fund(who, 10**8 * PHA)
        token.approve(staking, 2**256 - 1, sender=who)
    return attacker, victim


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate, Phase.target],
)
@given(plan=steps, deposit=st.integers(PHA, 10**6 * PHA) | st.just(1_000 * PHA))
def test_victim_deposit__after_any_attacker_sequence__loses_under_one_bp(staking, chain, rich, plan, deposit):
    attacker, victim = rich
    with chain.isolate():
        staking.openPool(0, sender=attacker)
        pool = staking.poolCount()
        _delegate(staking, attacker, pool, MIN_DELEGATION)
        for action, amount in plan:
            held = staking.sharesOf(pool, attacker)
            if action == "delegate":
                _delegate(staking, attacker, pool, amount)
            elif action == "reward" and staking.poolInfo(pool).totalShares:
                staking.reward(pool, amount, sender=attacker)
            elif action == "undelegate_to_dust" and held:
                # keep the fewest shares that are still worth the minimum position
                price_num, price_den = staking.convertToAssets(pool, 10**30), 10**30
                keep = -(-MIN_DELEGATION * price_den // max(price_num, 1)) + 1
                if held > keep and staking.convertToAssets(pool, keep) >= MIN_DELEGATION:
                    with contextlib.suppress(ContractLogicError):  # a remainder a wei short of the minimum
                        staking.undelegate(pool, held - keep, sender=attacker)
            elif action == "undelegate_all" and held and staking.convertToAssets(pool, held):
                staking.undelegate(pool, held, sender=attacker)
        tx = _delegate(staking, victim, pool, deposit)
        charged = tx.decode_logs(staking.Delegated)[0].assets
        assert charged <= deposit  # never more than offered; the rest was not taken
        value_now = staking.assetsOf(pool, victim)
        out = staking.undelegate(pool, staking.sharesOf(pool, victim), sender=victim)
        request = out.decode_logs(staking.Undelegated)[0].requestId
        chain.pending_timestamp += COOLDOWN + 1
        withdrawn = staking.withdraw(pool, request, sender=victim).decode_logs(staking.Withdrawn)[0].assets
    loss = charged - min(value_now, withdrawn)  # what the victim paid and cannot get back
    loss_bp = loss * 10_000 / deposit
    target(loss_bp, label="victim loss (bp)")
    if loss_bp > WORST["loss_bp"]:
        WORST.update(loss_bp=loss_bp, loss_wei=loss)
    if loss_bp >= BOUND_BP:
        record(
            "share rounding, DAMAGE", f"victim lost {loss} wei of {deposit} ({loss_bp:.4f} bp) after {plan}"
        )
    assert loss_bp < BOUND_BP
    assert loss <= 2  # in fact a wei or two: the rounding of two conversions
