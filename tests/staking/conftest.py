"""Staking fixtures: the contract, named actors and one-line world builders."""

from __future__ import annotations

import pytest

from tests.conftest import PHA

DAY = 86_400
COOLDOWN = 7 * DAY
MIN_DELEGATION = PHA // 100
VIRTUAL_SHARES = 1_000


# `staking`, `operator` (accounts[4]) and `treasury` (accounts[8]) are the root conftest's session
# fixtures, shared with the registry tests: fixture names must not be shadowed with other
# scopes (Ape's isolation tracks fixtures by name), so pool ids here are always relative to
# `poolCount()`.


@pytest.fixture(scope="session")
def escrow(accounts, staking, gov):
    """Stands in for the job escrow: a slasher and a reward payer."""
    account = accounts[5]
    staking.grantRole(staking.SLASHER_ROLE(), account, sender=gov)
    return account


@pytest.fixture
def pool_id(staking, operator):
    """A fresh pool opened by `operator` at 10% commission (pool 1 on a fresh contract)."""
    staking.openPool(1_000, sender=operator)
    return staking.poolCount()


def delegate(staking, who, pool_id, amount):
    """`staking.delegate` (Ape hides contract methods named `delegate` behind EIP-7702's)."""
    return staking.invoke_transaction("delegate", pool_id, amount, sender=who)


@pytest.fixture(scope="session")
def stake(staking, token, fund):
    """stake(who, amount, pool_id=latest pool): fund, approve and delegate; returns the receipt."""

    def _stake(who, amount, pool_id=None):
        pool_id = pool_id or staking.poolCount()
        fund(who, amount)
        token.approve(staking, amount, sender=who)
        return delegate(staking, who, pool_id, amount)

    return _stake


@pytest.fixture(scope="session")
def pay_reward(staking, token, fund, escrow):
    """pay_reward(amount, pool_id=latest pool, payer=escrow): fund, approve and reward."""

    def _reward(amount, pool_id=None, payer=None):
        pool_id = pool_id or staking.poolCount()
        payer = payer or escrow
        fund(payer, amount)
        token.approve(staking, amount, sender=payer)
        return staking.reward(pool_id, amount, sender=payer)

    return _reward


def only_event(receipt, event):
    logs = receipt.decode_logs(event)
    assert len(logs) == 1, f"expected one {event.name}, got {len(logs)}"
    return logs[0]
