"""Governance gas: propose, vote, queue, execute on PHAGovernor + PHATimelock (issue 21), and what
staked votes cost a staker who votes (the plain staking rows are bench/staking.py's).

The proposal is one call (Staking.setCooldown through the timelock); votes come from PHAVotes
(token + staked). Settings are GovernanceParams.devnet() (1-block delay, 20-block vote, 60 s).
"""

from __future__ import annotations

from eth_utils import keccak

from bench.common import BenchEnv, Row, gas
from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE, GovernanceParams
from pha.escrow.spec import ZERO_ADDRESS
from pha.governance import SUPPORT, Call, Proposal

PHA = 10**18


def measure(env: BenchEnv) -> list[Row]:
    gov, proposer, staker, newcomer, operator = (env.accounts[i] for i in (0, 1, 2, 3, 4))
    p = env.project
    params = GovernanceParams.devnet()
    token = gov.deploy(p.PHAToken, gov, L2_STANDARD_BRIDGE, L1_PHA)
    token.grantRole(token.MINTER_ROLE(), gov, sender=gov)
    staking = gov.deploy(p.Staking, token, gov, env.accounts[8])
    votes = gov.deploy(p.PHAVotes, token, staking)
    timelock = gov.deploy(p.PHATimelock, params.timelock_delay, [], [], gov)
    governor = gov.deploy(
        p.PHAGovernor,
        votes,
        timelock,
        params.voting_delay,
        params.voting_period,
        params.proposal_threshold,
        params.quorum_percent,
    )
    governor_deploy = gas(governor.creation_metadata.receipt)
    timelock.grantRole(timelock.PROPOSER_ROLE(), governor, sender=gov)
    timelock.grantRole(timelock.EXECUTOR_ROLE(), ZERO_ADDRESS, sender=gov)
    staking.grantRole(staking.DEFAULT_ADMIN_ROLE(), timelock, sender=gov)

    token.minterMint(proposer, 1_000 * PHA, sender=gov)
    token.invoke_transaction("delegate", proposer, sender=proposer)
    staking.openPool(1_000, sender=operator)
    pool = staking.poolCount()
    for who in (staker, newcomer):
        token.minterMint(who, 2_000 * PHA, sender=gov)
        token.approve(staking, 2_000 * PHA, sender=who)
    staking.invoke_transaction("delegate", pool, 1_000 * PHA, sender=staker)
    delegate_votes = gas(staking.delegateStakedVotes(staker, [pool], sender=staker))
    # a staker with a vote delegate adds to its position: the position, its units and a checkpoint
    voter_delegate = gas(staking.invoke_transaction("delegate", pool, 1_000 * PHA, sender=staker))
    voter_undelegate = gas(staking.undelegate(pool, staking.sharesOf(pool, staker) // 4, sender=staker))
    env.chain.mine()

    proposal = Proposal.of("Cooldown 1 day", [Call(staking, "setCooldown", (86_400,))])
    propose = gas(proposal.propose(governor, proposer))
    pid = proposal.id(governor)
    env.chain.mine(params.voting_delay + 1)
    vote_first = gas(governor.castVote(pid, SUPPORT["for"], sender=proposer))
    vote_second = gas(governor.castVote(pid, SUPPORT["for"], sender=staker))
    env.chain.mine(params.voting_period)
    queue = gas(proposal.queue(governor, proposer))
    env.chain.pending_timestamp += params.timelock_delay + 1
    execute = gas(proposal.execute(governor, proposer))
    assert staking.cooldown() == 86_400
    assert keccak(text=proposal.description) == proposal.description_hash

    return [
        Row("governance.deploy", governor_deploy, "gas", note="PHAGovernor constructor"),
        Row(
            "governance.propose_gas",
            propose,
            "gas",
            note="one call (Staking.setCooldown), 14-char description",
        ),
        Row(
            "governance.vote_gas",
            vote_first,
            "gas",
            note="castVote for, first vote of the proposal, token votes (PHAVotes reads token + staking)",
        ),
        Row(
            "governance.vote_gas.second",
            vote_second,
            "gas",
            note="castVote for, a staker's staked votes, second vote",
        ),
        Row("governance.queue_gas", queue, "gas", note="queue the one-call proposal in the timelock"),
        Row(
            "governance.execute_gas",
            execute,
            "gas",
            note="execute through the timelock after its delay, the call itself (setCooldown) included",
        ),
        Row(
            "governance.delegate_staked_votes",
            delegate_votes,
            "gas",
            note="Staking.delegateStakedVotes(self, [one pool]): first checkpoint of the delegate",
        ),
        Row(
            "governance.staking_delegate_voter",
            voter_delegate,
            "gas",
            note="Staking.delegate by a staker whose staked votes are delegated (same pool, later block)",
        ),
        Row(
            "governance.staking_undelegate_voter",
            voter_undelegate,
            "gas",
            note="Staking.undelegate of a quarter by a voting staker (new checkpoint block)",
        ),
    ]
