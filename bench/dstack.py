"""dstack app identity on chain: the RTMR3 replay of the real 9-event Phala Cloud log plus the
compose-event digest (the issue's figure), the whole app-log check, and a registration through
the development verifier with a compose measurement (the on-chain path as anvil runs it)."""

from __future__ import annotations

import os

from eth_account import Account

from bench.common import DAY, BenchEnv, Row, deploy_registry_world, gas
from pha.quote.app_evidence import app_log_evidence
from pha.quote.binding import report_data
from pha.quote.dev import DEV_ADDRESS
from pha.quote.layout import parse_quote
from pha.quote.tcb import TcbStatus
from tests.attestation import dstack
from tests.attestation.dstack import COMPOSE_HASH, simulated_app_quote


def measure(env: BenchEnv) -> list[Row]:
    gov, operator = env.accounts[0], env.accounts[4]
    p, chain = env.project, env.chain
    events = dstack.events()
    evidence = app_log_evidence(events)

    harness = gov.deploy(p.TestDstackAppLog)
    compose, check_gas, replay_gas = harness.measure(dstack.raw_quote(), evidence)
    assert bytes(compose) == COMPOSE_HASH

    token, staking, _log, registry = deploy_registry_world(env, gov)
    dev = gov.deploy(p.DevQuoteVerifier, gov, DEV_ADDRESS, DAY)
    registry.setVerifier(dev, True, sender=gov)
    token.grantRole(token.MINTER_ROLE(), gov, sender=gov)
    stake = 3 * staking.minStakePerWorker()
    token.minterMint(operator, stake, sender=gov)
    token.approve(staking, stake, sender=operator)
    staking.openPool(1_000, sender=operator)
    pool = staking.poolCount()
    staking.invoke_transaction("delegate", pool, stake, sender=operator)

    def quote_for(signer: str, key: bytes) -> bytes:
        return simulated_app_quote(events, report_data(chain.chain_id, registry.address, signer, key, pool))

    app_id = parse_quote(quote_for(gov.address, bytes(32))).measurement_id_with_compose(COMPOSE_HASH)
    policy = (2, 0, int(TcbStatus.ConfigurationAndSWHardeningNeeded), 0, bytes([1]) + bytes(15), bytes(16))
    registry.allowMeasurement(app_id, policy, ("bench dstack app", bytes(20), bytes(32)), sender=gov)
    receipts = []
    for _ in range(2):  # the pool's 2nd worker is measured (its count slot already non-zero)
        signer, key = Account.create().address, os.urandom(32)
        receipts.append(
            registry.registerWorker(pool, signer, key, dev, quote_for(signer, key), evidence, sender=operator)
        )
    assert bytes(registry.workerInfo(signer).measurementId) == app_id

    return [
        Row(
            "dstack.rtmr3_replay_gas",
            replay_gas,
            "gas",
            goal=400_000,
            note="Sha384 on chain: replay of the real 9-event RTMR3 log (9 one-block hashes) plus the "
            "compose-hash event's digest (1 block), measured with gasleft() in TestDstackAppLog",
        ),
        Row(
            "dstack.app_log_check_gas",
            check_gas,
            "gas",
            note="the whole DstackAppLog check a verifier runs: evidence decode, the digests of the "
            "events up to the compose hash (3 blocks), the replay, MRCONFIGID",
        ),
        Row(
            "registry.register_dstack_app",
            gas(receipts[-1]),
            "gas",
            note="registerWorker through DevQuoteVerifier with a simulated quote on the real registers "
            f"and the real log as app-log evidence ({len(evidence)} B); TDXCompose measurement; "
            "the pool's 2nd worker; calldata included",
        ),
    ]
