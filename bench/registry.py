"""Registry gas: register with a 2-of-3 committee verdict, renew, revoke a measurement that 1,000
workers run, and the eligibility check the escrow makes.

Workers for the revocation row are registered through the development verifier with raw web3
transactions (set-up speed only; the registration path is the same).
"""

from __future__ import annotations

from eth_account import Account

from bench.common import DAY, BenchEnv, Row, calldata_gas, deploy_registry_world, gas, web3_contract
from pha.quote.dev import DEV_ADDRESS
from pha.quote.layout import parse_quote
from pha.quote.tcb import TcbStatus
from tests.world import Code, Enclave, committee_evidence

PHA = 10**18
WORKERS = 1_000


def measure(env: BenchEnv) -> list[Row]:
    gov, operator = env.accounts[0], env.accounts[4]
    p, chain = env.project, env.chain
    token, staking, _log, registry = deploy_registry_world(env, gov)
    attesters = sorted(
        (Account.from_key(bytes([0x70 + i]) * 32) for i in range(3)), key=lambda a: int(a.address, 16)
    )
    committee = gov.deploy(p.CommitteeQuoteVerifier, gov, [a.address for a in attesters], 2, 7 * DAY)
    dev = gov.deploy(p.DevQuoteVerifier, gov, DEV_ADDRESS, DAY)
    registry.setVerifier(committee, True, sender=gov)
    registry.setVerifier(dev, True, sender=gov)

    token.grantRole(token.MINTER_ROLE(), gov, sender=gov)
    stake = (WORKERS + 10) * staking.minStakePerWorker()
    token.minterMint(operator, stake, sender=gov)
    token.approve(staking, stake, sender=operator)
    staking.openPool(1_000, sender=operator)
    pool = staking.poolCount()
    staking.invoke_transaction("delegate", pool, stake, sender=operator)

    code = Code.named("bench/registry")
    policy = (2, 0, int(TcbStatus.ConfigurationAndSWHardeningNeeded), 0, bytes([1]) + bytes(15), bytes(16))
    registry.allowMeasurement(code.measurement_id, policy, ("bench", bytes(20), bytes(32)), sender=gov)

    def committee_register(enclave: Enclave) -> tuple[int, int]:
        full = enclave.quote(chain.chain_id, registry.address, pool)
        signed_part = parse_quote(full).signed_part  # 632 bytes: header + TD report body
        evidence = committee_evidence(
            full, attesters[:2], chain.chain_id, committee.address, chain.pending_timestamp
        )
        tx = registry.registerWorker(
            pool, enclave.address, enclave.encryption_key, committee, signed_part, evidence, sender=operator
        )
        return gas(tx), len(signed_part)

    committee_register(Enclave(code))  # the pool's first worker (its count slot 0 -> 1)
    worker = Enclave(code)
    register_gas, quote_len = committee_register(worker)

    chain.pending_timestamp += DAY
    full = worker.quote(chain.chain_id, registry.address, pool)
    evidence = committee_evidence(
        full, attesters[:2], chain.chain_id, committee.address, chain.pending_timestamp
    )
    renew_gas = gas(
        registry.renewWorker(
            worker.address,
            worker.address,
            worker.encryption_key,
            committee,
            parse_quote(full).signed_part,
            evidence,
            sender=operator,
        )
    )

    # isEligible: a transaction that only calls the view; execution gas = gasUsed - intrinsic.
    w3 = chain.provider.web3
    data = bytes.fromhex(
        registry.isEligible.encode_input(worker.address, code.measurement_id).hex().removeprefix("0x")
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": str(gov.address), "to": str(registry.address), "data": data})
    )
    eligible_gas = receipt.gasUsed - 21_000 - calldata_gas(data)

    # 1,000 workers on one measurement, then one revocation.
    fleet = Code.named("bench/fleet")
    registry.allowMeasurement(fleet.measurement_id, policy, ("fleet", bytes(20), bytes(32)), sender=gov)
    raw = web3_contract(env, registry)
    hashes = []
    for _ in range(WORKERS - 2):
        enclave = Enclave(fleet)
        quote = enclave.quote(chain.chain_id, registry.address, pool)
        hashes.append(
            raw.functions.registerWorker(
                pool, enclave.address, enclave.encryption_key, str(dev.address), quote, b""
            ).transact({"from": str(operator.address), "gas": 600_000})
        )
    assert w3.eth.wait_for_transaction_receipt(hashes[-1]).status == 1
    assert registry.workerCount(pool) == WORKERS
    revoke_gas = gas(registry.revokeMeasurement(fleet.measurement_id, sender=gov))

    return [
        Row(
            "registry.register_committee_2of3",
            register_gas,
            "gas",
            goal=250_000,
            note=f"TDX v4 header+body ({quote_len} B) + 2 attester signatures in calldata; the pool's "
            "2nd worker; includes verification, binding, policy, stake check and the log entry",
        ),
        Row(
            "registry.renew",
            renew_gas,
            "gas",
            goal=150_000,
            note="same key, fresh 2-of-3 verdict a day later (calldata included)",
        ),
        Row(
            "registry.revoke_measurement.w1000",
            revoke_gas,
            "gas",
            goal=60_000,
            note=f"measurement run by {WORKERS} registered workers; one status write, no loop",
        ),
        Row(
            "registry.is_eligible",
            eligible_gas,
            "gas",
            goal=10_000,
            note="execution gas of isEligible(worker, measurement) from a cold transaction "
            "(gasUsed - 21,000 - calldata), the pool-backing flag read locally (no call into Staking)",
        ),
    ]
