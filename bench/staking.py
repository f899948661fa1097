"""Staking gas: delegate, undelegate, withdraw, reward, slash, in a pool with 1 and with 1,000
delegators (the `.n1000` rows), to show that no operation depends on the number of delegators.

The 1,000 delegators are anvil-impersonated addresses funded with `anvil_setBalance`; their
transactions go straight to web3 (no Ape gas estimation per call) so the set-up takes seconds.
Each measured operation is the next one (the 2nd or the 1,001st) in its pool.
"""

from __future__ import annotations

from typing import Any

from eth_utils import keccak, to_checksum_address

from bench.common import BenchEnv, Row, gas
from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE

PHA = 10**18
DAY = 86_400

GOALS = {"delegate": 110_000, "undelegate": 110_000, "withdraw": 80_000, "reward": 60_000, "slash": 80_000}
NOTES = {
    "delegate": "new delegator (position slot 0 -> non-zero), exact approval spent to 0, pool already staked",
    "undelegate": "partial undelegate, delegator's first request (new request slot), queue already non-empty",
    "withdraw": "whole request after the cooldown (request slot cleared), others still queued",
    "reward": "payer approved exactly the amount, 10% commission, pool has active shares",
    "slash": "1% of backing requested (under the 10% bound), active + queued; owed to the treasury "
    "(pull payment), after an earlier slash",
}


def _address(seed: str) -> str:
    return to_checksum_address(keccak(text=seed)[:20])


def _fill(env: BenchEnv, token: Any, staking: Any, pool_id: int, count: int, amount: int) -> None:
    """`count` fresh delegators each delegate `amount` to the pool, through raw web3 calls."""
    w3 = env.chain.provider.web3
    gov = str(env.gov.address)
    w3.provider.make_request("anvil_autoImpersonateAccount", [True])
    raw_token = w3.eth.contract(
        address=str(token.address),
        abi=[a.model_dump(mode="json", by_alias=True) for a in token.contract_type.abi],
    )
    raw_staking = w3.eth.contract(
        address=str(staking.address),
        abi=[a.model_dump(mode="json", by_alias=True) for a in staking.contract_type.abi],
    )
    token.minterMint(gov, count * amount, sender=env.gov)
    hashes = []
    for i in range(count):
        who = _address(f"bench-delegator-{pool_id}-{i}")
        w3.provider.make_request("anvil_setBalance", [who, hex(10**18)])
        hashes.append(raw_token.functions.transfer(who, amount).transact({"from": gov, "gas": 100_000}))
        hashes.append(
            raw_token.functions.approve(str(staking.address), amount).transact({"from": who, "gas": 100_000})
        )
        hashes.append(raw_staking.functions.delegate(pool_id, amount).transact({"from": who, "gas": 200_000}))
    for h in hashes[-3:]:
        assert w3.eth.wait_for_transaction_receipt(h).status == 1
    w3.provider.make_request("anvil_autoImpersonateAccount", [False])


def _measure_pool(env: BenchEnv, token: Any, staking: Any, delegators: int) -> dict[str, int]:
    gov, operator, newcomer, payer = env.accounts[0], env.accounts[4], env.accounts[5], env.accounts[6]
    pool_id = staking.poolCount() + 1
    staking.openPool(1_000, sender=operator)
    if delegators > 1:
        _fill(env, token, staking, pool_id, delegators - 1, 100 * PHA)
    # the last pre-existing delegator, by Ape, and an earlier request so the queue is non-empty
    token.minterMint(env.accounts[7], 200 * PHA, sender=gov)
    token.approve(staking, 200 * PHA, sender=env.accounts[7])
    staking.invoke_transaction("delegate", pool_id, 200 * PHA, sender=env.accounts[7])
    staking.undelegate(pool_id, staking.sharesOf(pool_id, env.accounts[7]) // 2, sender=env.accounts[7])
    assert staking.poolInfo(pool_id).totalShares > 0

    figures: dict[str, int] = {}
    token.minterMint(newcomer, 1_000 * PHA, sender=gov)
    token.approve(staking, 500 * PHA, sender=newcomer)
    figures["delegate"] = gas(staking.invoke_transaction("delegate", pool_id, 500 * PHA, sender=newcomer))
    shares = staking.sharesOf(pool_id, newcomer)
    figures["undelegate"] = gas(staking.undelegate(pool_id, shares // 2, sender=newcomer))
    request_id = staking.requestCount(pool_id, newcomer) - 1

    token.minterMint(payer, 100 * PHA, sender=gov)
    token.approve(staking, 10 * PHA, sender=payer)
    figures["reward"] = gas(staking.reward(pool_id, 10 * PHA, sender=payer))
    staking.slash(pool_id, PHA // 100, b"\x10" * 32, sender=gov)  # warm-up: slashed-PHA slot non-zero
    figures["slash"] = gas(staking.slash(pool_id, staking.backing(pool_id) // 100, b"\x11" * 32, sender=gov))

    env.chain.pending_timestamp += 7 * DAY + 1
    figures["withdraw"] = gas(staking.withdraw(pool_id, request_id, sender=newcomer))
    return figures


def measure(env: BenchEnv) -> list[Row]:
    gov = env.gov
    token = gov.deploy(env.project.PHAToken, gov, L2_STANDARD_BRIDGE, L1_PHA)
    token.grantRole(token.MINTER_ROLE(), gov, sender=gov)
    treasury = env.accounts[8]
    token.minterMint(treasury, PHA, sender=gov)  # the treasury already holds PHA (common case)
    staking = gov.deploy(env.project.Staking, token, gov, treasury)
    deploy_gas = gas(staking.creation_metadata.receipt)

    one = _measure_pool(env, token, staking, 1)
    many = _measure_pool(env, token, staking, 1_000)
    assert staking.poolInfo(2).totalShares > 999 * staking.convertToShares(2, 90 * PHA)

    rows = [Row("staking.deploy", deploy_gas, "gas", note="Staking constructor")]
    for op in ("delegate", "undelegate", "withdraw", "reward", "slash"):
        rows.append(
            Row(f"staking.{op}", one[op], "gas", goal=GOALS[op], note=NOTES[op] + "; pool of 1 delegator")
        )
        rows.append(
            Row(
                f"staking.{op}.n1000",
                many[op],
                "gas",
                goal=GOALS[op],
                note=NOTES[op] + "; pool of 1,000 delegators",
            )
        )
    return rows
