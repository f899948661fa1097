"""Governance fixtures: the votes adapter over the session's token and staking contracts."""

from __future__ import annotations

import pytest

from tests.conftest import PHA


@pytest.fixture(scope="session")
def votes(project, gov, token, staking):
    """PHAVotes: token votes + staked votes, what the governor reads."""
    return gov.deploy(project.PHAVotes, token, staking)


def token_delegate(token, holder, to):
    # Ape's contract objects have their own `delegate` (EIP-7702), hiding ERC20Votes' function.
    return token.invoke_transaction("delegate", to, sender=holder)


def stake(staking, token, fund, who, pool_id: int, amount: int):
    """Mint `amount` to `who` and delegate it to the pool."""
    fund(who, amount)
    token.approve(staking, amount, sender=who)
    return staking.invoke_transaction("delegate", pool_id, amount, sender=who)


@pytest.fixture
def new_pool(staking, operator):
    def _open() -> int:
        staking.openPool(1_000, sender=operator)
        return staking.poolCount()

    return _open


__all__ = ["PHA", "stake", "token_delegate"]
