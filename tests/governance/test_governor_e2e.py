"""Issue 21's Done-when, on anvil: the stack deployed with `--governance timelock`, PHA holders
(some staked) allow a measurement by proposal, and nobody else can change anything.

Settings are GovernanceParams.devnet(): voting delay 1 block, period 20 blocks, threshold 1 PHA,
quorum 4%, timelock 60 s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import ape
import pytest
from ape.exceptions import ContractLogicError

from pha.cli import UserError
from pha.deploy import DeployConfig, GovernanceParams, MigratorParams, deploy_stack
from pha.governance import SUPPORT, Call, Proposal, state_name
from pha.manifest import load_manifest
from pha.migration.deploy import MigratorDeployError, deploy_migrator
from tests.conftest import PHA
from tests.governance.conftest import token_delegate
from tests.world import Code, Enclave

PARAMS = GovernanceParams.devnet()
ZERO = "0x" + "00" * 20
BUILD = ("pha-worker x", bytes(20), bytes(32))


@dataclass
class Stack:
    c: dict[str, Any]
    redeploy: Any = None
    path: Any = None

    def __getattr__(self, name: str) -> Any:
        return self.c[name]


@pytest.fixture(scope="module")
def guardian(accounts):
    return accounts[7]


@pytest.fixture(scope="module")
def gstack(gov, guardian, accounts, tmp_path_factory, chain):
    migrator = MigratorParams(
        root="0x" + "11" * 32,
        total=10**12,
        count=1,
        closes_at=chain.pending_timestamp + 30 * 86_400,
        operator=str(accounts[6].address),
    )
    config = DeployConfig(
        admin=str(gov.address),
        governance="timelock",
        governance_params=PARAMS,
        guardian=str(guardian.address),
        dev_verifier=True,
        migrator=migrator,
    )
    path = tmp_path_factory.mktemp("gov") / "manifest.json"
    _, ctx, _ = deploy_stack(gov, config, path, fresh=True)
    return Stack(ctx.contracts, lambda **changes: deploy_stack(gov, replace(config, **changes), path), path)


@pytest.fixture(scope="module")
def holders(gstack, bridge, alice, bob, carol, operator):
    """alice 1,000 PHA token-delegated; bob 2,000 PHA staked in operator's pool, staked votes to
    himself; carol 10,000 PHA never delegated (counts in the supply, not in votes)."""
    t, s = gstack.PHAToken, gstack.Staking
    for who, amount in ((alice, 1_000), (bob, 2_000), (carol, 10_000)):
        t.mint(who, amount * PHA, sender=bridge)
    token_delegate(t, alice, alice)
    s.openPool(1_000, sender=operator)
    pool = s.poolCount()
    t.approve(s, 2_000 * PHA, sender=bob)
    s.invoke_transaction("delegate", pool, 2_000 * PHA, sender=bob)
    s.delegateStakedVotes(bob, [pool], sender=bob)
    gstack.WorkerRegistry.setRelayer(pool, operator, True, sender=operator)
    ape.chain.mine()
    return pool


def allow_x(gstack, code, default_policy, description="Allow measurement X") -> Proposal:
    call = Call(gstack.WorkerRegistry, "allowMeasurement", (code.measurement_id, default_policy, BUILD))
    return Proposal.of(description, [call])


def pass_vote(gstack, proposal, voters, support="for"):
    g = gstack.PHAGovernor
    pid = proposal.id(g)
    ape.chain.mine(PARAMS.voting_delay + 1)
    for v in voters:
        g.castVote(pid, SUPPORT[support], sender=v)
    ape.chain.mine(PARAMS.voting_period)
    return pid


def register(gstack, pool, operator, code):
    enclave = Enclave(code)
    r = gstack.WorkerRegistry
    quote = enclave.quote(ape.chain.chain_id, r.address, pool)
    r.registerWorker(
        pool, enclave.address, enclave.encryption_key, gstack.DevQuoteVerifier, quote, b"", sender=operator
    )
    return enclave


def test_e2e__holders_allow_a_measurement__registry_accepts_the_worker(
    gstack, holders, alice, bob, operator, default_policy
):
    code = Code.named("pha-worker/x")
    g, r = gstack.PHAGovernor, gstack.WorkerRegistry
    proposal = allow_x(gstack, code, default_policy)
    words = proposal.words({str(c.address).lower(): c for c in gstack.c.values()})
    assert (
        f"WorkerRegistry({r.address}).allowMeasurement(measurementId=0x{code.measurement_id.hex()}" in words
    )
    proposal.propose(g, alice)
    pid = proposal.id(g)
    assert state_name(g, pid) == "Pending"
    ape.chain.mine(PARAMS.voting_delay + 1)
    assert state_name(g, pid) == "Active"
    g.castVote(pid, SUPPORT["for"], sender=alice)
    g.castVote(pid, SUPPORT["for"], sender=bob)
    against, for_, _ = g.proposalVotes(pid)
    assert (against, for_) == (0, 3_000 * PHA)  # bob's staked PHA votes
    snapshot = g.proposalSnapshot(pid)
    assert g.quorum(snapshot) == gstack.PHAToken.getPastTotalSupply(snapshot) * 4 // 100
    assert for_ >= g.quorum(snapshot)
    ape.chain.mine(PARAMS.voting_period)
    assert state_name(g, pid) == "Succeeded"
    with ape.reverts():  # the worker is refused before the measurement is allowed
        register(gstack, holders, operator, code)
    proposal.queue(g, alice)
    assert state_name(g, pid) == "Queued"
    ape.chain.pending_timestamp += PARAMS.timelock_delay + 1
    proposal.execute(g, operator)  # anyone may execute
    assert state_name(g, pid) == "Executed"
    assert r.measurementStatus(code.measurement_id) == 1
    workers = r.workerCount(holders)
    enclave = register(gstack, holders, operator, code)
    assert r.workerCount(holders) == workers + 1
    assert r.isEligible(enclave.address, code.measurement_id)


def test_e2e__failed_vote__changes_nothing(gstack, holders, alice, bob, default_policy):
    code = Code.named("pha-worker/rejected")
    g = gstack.PHAGovernor
    proposal = allow_x(gstack, code, default_policy, "Allow measurement Y")
    proposal.propose(g, alice)
    pid = pass_vote(gstack, proposal, [alice, bob], "against")
    assert state_name(g, pid) == "Defeated"
    with ape.reverts(g.GovernorUnexpectedProposalState):
        proposal.queue(g, alice)
    ape.chain.pending_timestamp += PARAMS.timelock_delay + 1
    with ape.reverts(g.GovernorUnexpectedProposalState):
        proposal.execute(g, alice)
    assert gstack.WorkerRegistry.measurementStatus(code.measurement_id) == 0


def test_e2e__below_quorum__defeated(gstack, holders, alice, bob, carol, bridge, default_policy):
    """For-votes under 4% of the supply do not pass, even unopposed."""
    g, t = gstack.PHAGovernor, gstack.PHAToken
    t.transfer(carol, 990 * PHA, sender=alice)  # alice keeps 10 PHA of votes: far under 4%
    ape.chain.mine()
    proposal = allow_x(gstack, Code.named("pha-worker/quorum"), default_policy, "Allow measurement Q")
    proposal.propose(g, alice)
    pid = pass_vote(gstack, proposal, [alice])
    assert g.proposalVotes(pid)[1] == 10 * PHA
    assert state_name(g, pid) == "Defeated"


# ---------------------------------------------------------------------------- attacks


def test_attack__transfer_after_snapshot__votes_once(gstack, holders, alice, carol, default_policy, accounts):
    g, t = gstack.PHAGovernor, gstack.PHAToken
    dave = accounts[6]
    proposal = allow_x(gstack, Code.named("pha-worker/dv"), default_policy, "Allow measurement DV")
    proposal.propose(g, alice)
    pid = proposal.id(g)
    ape.chain.mine(PARAMS.voting_delay + 1)
    g.castVote(pid, SUPPORT["for"], sender=alice)
    with ape.reverts(g.GovernorAlreadyCastVote):
        g.castVote(pid, SUPPORT["for"], sender=alice)
    t.transfer(dave, 1_000 * PHA, sender=alice)
    token_delegate(t, dave, dave)
    g.castVote(pid, SUPPORT["for"], sender=dave)  # weight at the snapshot: none
    assert g.proposalVotes(pid)[1] == 1_000 * PHA
    assert g.hasVoted(pid, dave)


def test_attack__staked_and_token_votes__count_once(gstack, holders, bob, bridge, alice, default_policy):
    """bob also holds and token-delegates PHA: his weight is what he owns, not twice his stake."""
    g, t, s = gstack.PHAGovernor, gstack.PHAToken, gstack.Staking
    t.mint(bob, 500 * PHA, sender=bridge)
    token_delegate(t, bob, bob)  # token delegation does not carry the staked PHA
    ape.chain.mine()
    proposal = allow_x(gstack, Code.named("pha-worker/st"), default_policy, "Allow measurement ST")
    proposal.propose(g, alice)
    pid = proposal.id(g)
    ape.chain.mine(PARAMS.voting_delay + 1)
    tx = g.castVote(pid, SUPPORT["for"], sender=bob)
    weight = tx.decode_logs(g.VoteCast)[0].weight
    assert weight == 2_500 * PHA == t.balanceOf(bob) + s.assetsOf(holders, bob)
    # undelegating after the snapshot and voting again through the token is refused
    s.undelegate(holders, s.sharesOf(holders, bob) // 2, sender=bob)
    with ape.reverts(g.GovernorAlreadyCastVote):
        g.castVote(pid, SUPPORT["for"], sender=bob)


def test_attack__flash_stake_after_the_snapshot__weighs_nothing(
    gstack, holders, alice, bridge, accounts, default_policy
):
    g, t, s = gstack.PHAGovernor, gstack.PHAToken, gstack.Staking
    eve = accounts[9]
    proposal = allow_x(gstack, Code.named("pha-worker/fl"), default_policy, "Allow measurement FL")
    proposal.propose(g, alice)
    pid = proposal.id(g)
    ape.chain.mine(PARAMS.voting_delay + 1)  # voting open: the snapshot block is past
    t.mint(eve, 1_000_000 * PHA, sender=bridge)
    t.approve(s, 1_000_000 * PHA, sender=eve)
    s.invoke_transaction("delegate", holders, 1_000_000 * PHA, sender=eve)
    s.delegateStakedVotes(eve, [holders], sender=eve)
    assert s.getStakedVotes(eve) == 1_000_000 * PHA
    tx = g.castVote(pid, SUPPORT["against"], sender=eve)
    assert tx.decode_logs(g.VoteCast)[0].weight == 0
    assert g.proposalVotes(pid)[0] == 0


def test_attack__execute_before_delay_and_replay__refused(gstack, holders, alice, bob, default_policy):
    g, tl = gstack.PHAGovernor, gstack.PHATimelock
    proposal = allow_x(gstack, Code.named("pha-worker/rp"), default_policy, "Allow measurement RP")
    proposal.propose(g, alice)
    pass_vote(gstack, proposal, [alice, bob])
    proposal.queue(g, alice)
    with ape.reverts(tl.TimelockUnexpectedOperationState):
        proposal.execute(g, alice)
    ape.chain.pending_timestamp += PARAMS.timelock_delay + 1
    proposal.execute(g, alice)
    with ape.reverts(g.GovernorUnexpectedProposalState):
        proposal.execute(g, alice)
    with ape.reverts(g.GovernorUnexpectedProposalState):  # nor proposed again under the same id
        proposal.propose(g, alice)


# ---------------------------------------------------------------------------- nobody else


def _admin_calls(gstack, who, code, default_policy) -> list[tuple[Any, str, tuple]]:
    """One call of every admin function family of the stack."""
    z32 = b"\x00" * 32
    return [
        (gstack.PHAToken, "setMigrationCap", (1,)),
        (gstack.PHAToken, "grantRole", (gstack.PHAToken.MINTER_ROLE(), who)),
        (gstack.Staking, "setCooldown", (86_400,)),
        (gstack.Staking, "setTreasury", (who,)),
        (gstack.Staking, "setRewardLedgers", (ZERO, ZERO)),
        (gstack.Staking, "slash", (1, PHA, z32)),
        (gstack.Staking, "grantRole", (gstack.Staking.SLASHER_ROLE(), who)),
        (gstack.WorkerRegistry, "allowMeasurement", (code.measurement_id, default_policy, BUILD)),
        (gstack.WorkerRegistry, "setVerifier", (who, True)),
        (gstack.WorkerRegistry, "setAttestationValidity", (86_400,)),
        (gstack.WorkerRegistry, "grantRole", (gstack.WorkerRegistry.GUARDIAN_ROLE(), who)),
        (gstack.JobEscrow, "setProtocolFee", (0,)),
        (gstack.JobEscrow, "setTreasury", (who,)),
        (gstack.AttestationLog, "setWriters", (who, who, ZERO)),
        (gstack.Migrator, "unpause", ()),
        (gstack.Migrator, "close", ()),
        (gstack.DevQuoteVerifier, "setDevSigner", (who,)),
        (gstack.DevQuoteVerifier, "transferOwnership", (who,)),
        (gstack.PHATimelock, "schedule", (who, 0, b"", z32, z32, 60)),
        (gstack.PHATimelock, "grantRole", (gstack.PHATimelock.PROPOSER_ROLE(), who)),
        (gstack.PHATimelock, "updateDelay", (0,)),
        (gstack.PHAGovernor, "setVotingPeriod", (1,)),
        (gstack.PHAGovernor, "updateQuorumNumerator", (1,)),
    ]


AUTH_ERRORS = {
    "AccessControlUnauthorizedAccount",
    "OwnableUnauthorizedAccount",
    "GovernorOnlyExecutor",
    "TimelockUnauthorizedCaller",
}


def assert_unauthorized(contract: Any, method: str, args: tuple, sender: Any) -> None:
    """The call reverts with an authorisation error (not for some other reason)."""
    with pytest.raises(ContractLogicError) as info:
        getattr(contract, method)(*args, sender=sender)
    name = type(info.value).__name__
    assert name in AUTH_ERRORS, f"{contract.contract_type.name}.{method}: {name} {info.value}"


def test_deployer_and_old_governance__can_change_nothing(gstack, holders, gov, default_policy):
    code = Code.named("pha-worker/gov")
    for contract, method, args in _admin_calls(gstack, gov, code, default_policy):
        assert_unauthorized(contract, method, args, gov)
    # a second `deploy` attaches to everything and, holding no role, changes nothing
    _, _, deployed = gstack.redeploy()
    assert deployed == []
    # ... and refuses to deploy a contract anew: it would be the deployer's, never the timelock's
    with pytest.raises(UserError, match="CommitteeQuoteVerifier would be deployed anew, but PHATimelock"):
        gstack.redeploy(attesters=[str(gov.address)], threshold=1)
    for name in ("PHAToken", "Staking", "WorkerRegistry", "JobEscrow", "AttestationLog", "Migrator"):
        c = gstack.c[name]
        assert not c.hasRole(c.DEFAULT_ADMIN_ROLE(), gov), name
        assert c.hasRole(c.DEFAULT_ADMIN_ROLE(), gstack.PHATimelock), name
    assert not gstack.PHATimelock.hasRole(gstack.PHATimelock.DEFAULT_ADMIN_ROLE(), gov)
    assert gstack.DevQuoteVerifier.owner() == gstack.PHATimelock.address
    with ape.reverts(gstack.WorkerRegistry.AccessControlUnauthorizedAccount):
        gstack.WorkerRegistry.revokeMeasurement(code.measurement_id, sender=gov)
    with ape.reverts(gstack.Migrator.AccessControlUnauthorizedAccount):
        gstack.Migrator.pause(sender=gov)


def test_guardian__can_only_pause_and_revoke_and_governance_can_remove_it(
    gstack, holders, guardian, alice, bob, default_policy
):
    code = Code.named("pha-worker/guarded")
    g, r, m = gstack.PHAGovernor, gstack.WorkerRegistry, gstack.Migrator
    for contract, method, args in _admin_calls(gstack, guardian, code, default_policy):
        assert_unauthorized(contract, method, args, guardian)
    # a queued proposal: the guardian cannot cancel it (a canceller could veto every proposal,
    # the one that removes it included)
    proposal = allow_x(gstack, code, default_policy, "Allow measurement G")
    proposal.propose(g, alice)
    pid = pass_vote(gstack, proposal, [alice, bob])
    proposal.queue(g, alice)
    tl = gstack.PHATimelock
    op = tl.hashOperationBatch(
        proposal.targets, proposal.values, proposal.calldatas, bytes(32), _salt(g, proposal)
    )
    assert tl.isOperationPending(op) and not tl.hasRole(tl.CANCELLER_ROLE(), guardian)
    with ape.reverts(tl.AccessControlUnauthorizedAccount):
        tl.cancel(op, sender=guardian)
    ape.chain.pending_timestamp += PARAMS.timelock_delay + 1
    proposal.execute(g, alice)
    assert state_name(g, pid) == "Executed" and r.measurementStatus(code.measurement_id) == 1
    # the guardian revokes it and pauses migration, and can undo neither
    r.revokeMeasurement(code.measurement_id, sender=guardian)
    assert r.measurementStatus(code.measurement_id) == 2
    m.pause(sender=guardian)
    assert m.paused()
    with ape.reverts(m.AccessControlUnauthorizedAccount):
        m.unpause(sender=guardian)
    # holders remove the guardian; it can then do nothing at all
    role = r.GUARDIAN_ROLE()
    removal = Proposal.of(
        "Remove the guardian",
        [
            Call(r, "revokeRole", (role, guardian.address)),
            Call(m, "revokeRole", (m.GUARDIAN_ROLE(), guardian.address)),
        ],
    )
    removal.propose(g, alice)
    pass_vote(gstack, removal, [alice, bob])
    removal.queue(g, alice)
    ape.chain.pending_timestamp += PARAMS.timelock_delay + 1
    removal.execute(g, alice)
    assert not r.hasRole(role, guardian) and not m.hasRole(m.GUARDIAN_ROLE(), guardian)
    with ape.reverts(r.AccessControlUnauthorizedAccount):
        r.revokeMeasurement(Code.named("pha-worker/other").measurement_id, sender=guardian)


def _salt(governor, proposal) -> bytes:
    """GovernorTimelockControl's salt: bytes20(governor) ^ descriptionHash."""
    return (int(governor.address, 16) << 96 ^ int.from_bytes(proposal.description_hash, "big")).to_bytes(
        32, "big"
    )


def test_migrator_deployed_later__administered_by_the_timelock_never_the_deployer(
    gstack, gov, accounts, chain
):
    """`ape run migrate deploy` on a timelock deployment: the new Migrator's admin is the timelock
    (an admin account could grant itself OPERATOR_ROLE and mint the snapshot), and another admin
    is refused; the token's MINTER_ROLE is left to a proposal."""
    manifest = load_manifest(gstack.path)
    del manifest.contracts["Migrator"]
    path = gstack.path.with_name("later.json")
    params = MigratorParams(
        root="0x" + "22" * 32, total=10**9, count=1, closes_at=chain.pending_timestamp + 86_400,
        operator=str(accounts[6].address),
    )  # fmt: skip
    with pytest.raises(MigratorDeployError, match="the Migrator's admin is the timelock"):
        deploy_migrator(gov, manifest, path, params, admin=str(gov.address))
    migrator, fresh = deploy_migrator(gov, manifest, path, params)
    assert fresh and migrator.hasRole(migrator.DEFAULT_ADMIN_ROLE(), gstack.PHATimelock)
    assert not migrator.hasRole(migrator.DEFAULT_ADMIN_ROLE(), gov)
    assert not gstack.PHAToken.hasRole(gstack.PHAToken.MINTER_ROLE(), migrator)
