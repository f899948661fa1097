"""Fixtures that build the world: named actors, the deployed token, funding helpers.

Every test runs on a real chain (anvil through ape-foundry by default, see the Makefile) and is
isolated by Ape's snapshot/revert between tests.
"""

from __future__ import annotations

import pytest

from pha import ape_compat
from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE
from pha.escrow.spec import ZERO_ADDRESS
from tests import strict_reverts
from tests.world import PHA

ape_compat.install()
strict_reverts.install()


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


# ---------------------------------------------------------------------------- the stack
# Staking, log, registry and verifiers, deployed once per session and wired as deploy does.

DAY = 86_400


@pytest.fixture(scope="session")
def treasury(accounts):
    return accounts[8]


@pytest.fixture(scope="session")
def operator(accounts):
    """Operator of the default pool."""
    return accounts[4]


@pytest.fixture(scope="session")
def relayer(accounts):
    """A relayer the default pool authorised."""
    return accounts[5]


@pytest.fixture(scope="session")
def staking(project, gov, token, treasury):
    return gov.deploy(project.Staking, token, gov, treasury)


@pytest.fixture(scope="session")
def attestation_log(project, gov):
    return gov.deploy(project.AttestationLog, gov)


@pytest.fixture(scope="session")
def registry(project, gov, staking, attestation_log):
    contract = gov.deploy(project.WorkerRegistry, gov, staking, attestation_log, 7 * DAY, DAY)
    attestation_log.setWriters(contract, ZERO_ADDRESS, ZERO_ADDRESS, sender=gov)
    staking.setRegistry(contract, sender=gov)
    return contract


@pytest.fixture(scope="session")
def dev_verifier(project, gov, registry):
    from pha.quote.dev import DEV_ADDRESS

    contract = gov.deploy(project.DevQuoteVerifier, gov, DEV_ADDRESS, DAY)
    registry.setVerifier(contract, True, sender=gov)
    return contract


@pytest.fixture(scope="session")
def attester_keys():
    from eth_account import Account

    return sorted(
        (Account.from_key(bytes([0x70 + i]) * 32) for i in range(3)), key=lambda a: int(a.address, 16)
    )


@pytest.fixture(scope="session")
def committee(project, gov, registry, attester_keys):
    contract = gov.deploy(project.CommitteeQuoteVerifier, gov, [k.address for k in attester_keys], 2, 7 * DAY)
    registry.setVerifier(contract, True, sender=gov)
    return contract


@pytest.fixture(scope="session")
def code():
    from tests.world import Code

    return Code.named("pha-worker/test")


@pytest.fixture(scope="session")
def default_policy():
    """TDX, no expiry, up to ConfigurationAndSWHardeningNeeded, no grace, DEBUG bit must be clear."""
    debug_mask = bytes([1]) + bytes(15)  # TDATTRIBUTES bit 0 (DEBUG) of attributes = TDATTRIBUTES || XFAM
    return (2, 0, 3, 0, debug_mask, bytes(16))


@pytest.fixture(scope="session")
def allow(registry, gov, default_policy):
    """allow(code, policy=None): allow a code's measurement with the default policy."""

    def _allow(code, policy=None):
        registry.allowMeasurement(
            code.measurement_id, policy or default_policy, ("test", bytes(20), bytes(32)), sender=gov
        )

    return _allow


@pytest.fixture(scope="session")
def open_pool(staking, token, fund):
    """open_pool(operator, stake=...): a pool with `stake` wei delegated by its operator; returns its id."""

    def _open(owner, stake: int = 10_000 * PHA, commission_bps: int = 1_000) -> int:
        staking.openPool(commission_bps, sender=owner)
        pool_id = staking.poolCount()
        if stake:
            fund(owner, stake)
            token.approve(staking, stake, sender=owner)
            staking.invoke_transaction("delegate", pool_id, stake, sender=owner)
        return pool_id

    return _open


@pytest.fixture(scope="session")
def pool(open_pool, operator, registry, relayer, allow, code):
    """The default pool: operator-owned, backed for 10 workers, `relayer` authorised, `code` allowed."""
    pool_id = open_pool(operator)
    registry.setRelayer(pool_id, relayer, True, sender=operator)
    allow(code)
    return pool_id


@pytest.fixture(scope="session")
def register_worker(registry, dev_verifier, chain, operator):
    """register_worker(pool_id, enclave=None, owner=operator): register through the dev verifier."""
    from tests.world import Code, Enclave

    def _register(pool_id, enclave=None, owner=None, code=None):
        enclave = enclave or Enclave(code or Code.named("pha-worker/test"))
        quote = enclave.quote(chain.chain_id, registry.address, pool_id)
        registry.registerWorker(
            pool_id,
            enclave.address,
            enclave.encryption_key,
            dev_verifier,
            quote,
            b"",
            sender=owner or operator,
        )
        return enclave

    return _register
