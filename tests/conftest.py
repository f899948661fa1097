"""Fixtures that build the world: named actors, the deployed token, funding helpers.

Every test runs on a real chain (anvil through ape-foundry by default, see the Makefile) and is
isolated by Ape's snapshot/revert between tests.
"""

from __future__ import annotations

import pytest

from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE

PHA = 10**18


@pytest.fixture(scope="session")
def gov(accounts):
    """Governance (admin of every contract)."""
    return accounts[0]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def carol(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def attacker(accounts):
    return accounts[9]


@pytest.fixture(scope="session")
def bridge(accounts, gov):
    """The OP-stack L2 bridge predeploy, impersonated and funded for gas."""
    account = accounts[L2_STANDARD_BRIDGE]
    gov.transfer(account, 10**18)
    return account


@pytest.fixture(scope="session")
def token(project, gov):
    """A fresh PHAToken; governance holds MINTER_ROLE so tests can fund actors."""
    contract = gov.deploy(project.PHAToken, gov, L2_STANDARD_BRIDGE, L1_PHA)
    contract.grantRole(contract.MINTER_ROLE(), gov, sender=gov)
    return contract


@pytest.fixture(scope="session")
def fund(token, gov):
    """fund(account, amount_wei): mint PHA to an account (as the minter)."""

    def _fund(account, amount: int) -> None:
        token.minterMint(account, amount, sender=gov)

    return _fund
