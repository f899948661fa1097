"""Worker identity attacks (issue 17, items 3 and 4): the attacker's best attempts to bring an
invalidated worker back on old evidence, and to invalidate someone else's worker with forgeable
evidence. Each test passes when the attack is refused (by the custom error named) and prints the
damage when it is not.

Self-contained: the stack comes from tests/conftest.py (registry, committee and dev verifiers,
pools); no fixture of this folder's conftest is needed.
"""

from __future__ import annotations

import pytest

from pha.quote.binding import report_data
from pha.quote.dev import simulated_tdx_quote
from pha.quote.tcb import TcbStatus
from tests.world import Code, Enclave, committee_evidence

DAY = 86_400


def refused(call, error: str, damage) -> None:
    """The attack `call` must revert with the custom error `error`; otherwise print the damage."""
    try:
        call()
    except Exception as exc:  # Ape raises the contract's custom error as its own class
        assert type(exc).__name__ == error, f"refused, but by {type(exc).__name__}, not {error}: {exc}"
        return
    figure = damage()
    print(f"ATTACK SUCCEEDED: {figure}")  # noqa: T201 - the damage figure is the report
    pytest.fail(f"attack not refused: {figure}")


@pytest.fixture
def world(chain, registry, committee, attester_keys, pool, operator, code):
    """A committee-admitted worker, then invalidated by a Revoked verdict from the same committee."""

    class W:
        enclave = Enclave(code)

        @staticmethod
        def verdict(enclave, pool_id, t, status=TcbStatus.UpToDate, lifetime=DAY):
            quote = enclave.quote(chain.chain_id, registry.address, pool_id)
            return quote, committee_evidence(
                quote,
                attester_keys[:2],
                chain.chain_id,
                committee.address,
                t,
                tcb_status=status,
                lifetime=lifetime,
            )

        @staticmethod
        def register(enclave, pool_id, quote, evidence, verifier=None):
            return registry.registerWorker(
                pool_id,
                enclave.address,
                enclave.encryption_key,
                verifier or committee,
                quote,
                evidence,
                sender=operator,
            )

        @staticmethod
        def eligible(enclave):
            return registry.isEligible(enclave.address, code.measurement_id)

    w = W()
    t0 = chain.pending_timestamp
    w.admitted_at = t0
    w.admission = w.verdict(w.enclave, pool, t0)
    w.register(w.enclave, pool, *w.admission)
    assert w.eligible(w.enclave)
    chain.pending_timestamp = t0 + 600
    w.invalidated_at = t0 + 600
    quote, revoked = w.verdict(w.enclave, pool, w.invalidated_at, TcbStatus.Revoked)
    registry.invalidateWorker(
        w.enclave.address, w.enclave.encryption_key, committee, quote, revoked, sender=operator
    )
    assert not w.eligible(w.enclave)
    assert registry.evidenceFloor(w.enclave.address) == w.invalidated_at
    chain.pending_timestamp = t0 + 1_200
    return w


def damage_eligible(w, enclave):
    return lambda: (
        f"worker {enclave.address} eligible={w.eligible(enclave)} again on evidence not newer than its "
        f"invalidation at {w.invalidated_at}"
    )


# ---------------------------------------------------------------------------- item 3


@pytest.mark.parametrize(
    "offset", [-600, -1, 0], ids=["admission-verdict", "one-second-older", "same-second"]
)
def test_invalidated__renew_with_older_or_equal_evidence__refused(
    world, registry, committee, operator, pool, offset
):
    w = world
    quote, evidence = w.verdict(w.enclave, pool, w.invalidated_at + offset)
    refused(
        lambda: registry.renewWorker(
            w.enclave.address,
            w.enclave.address,
            w.enclave.encryption_key,
            committee,
            quote,
            evidence,
            sender=operator,
        ),
        "RegistryEvidenceNotNewer",
        damage_eligible(w, w.enclave),
    )


def test_invalidated__deregister_then_register_old_verdict__refused(world, registry, operator, pool):
    w = world
    registry.deregisterWorker(w.enclave.address, sender=operator)
    assert registry.evidenceFloor(w.enclave.address) == w.invalidated_at  # survives the record
    refused(
        lambda: w.register(w.enclave, pool, *w.admission),
        "RegistryEvidenceNotNewer",
        damage_eligible(w, w.enclave),
    )
    quote, same_second = w.verdict(w.enclave, pool, w.invalidated_at)
    refused(
        lambda: w.register(w.enclave, pool, quote, same_second),
        "RegistryEvidenceNotNewer",
        damage_eligible(w, w.enclave),
    )


def test_invalidated__deregister_then_register_in_another_pool__refused(world, registry, operator, open_pool):
    w = world
    registry.deregisterWorker(w.enclave.address, sender=operator)
    other = open_pool(operator)
    quote, evidence = w.verdict(w.enclave, other, w.admitted_at + 1)  # bound to the new pool, old time
    refused(
        lambda: w.register(w.enclave, other, quote, evidence),
        "RegistryEvidenceNotNewer",
        damage_eligible(w, w.enclave),
    )


def test_invalidated__rotate_to_fresh_key_with_old_verdict__refused_then_old_key_keeps_floor(
    world, registry, committee, operator, pool, chain
):
    w = world
    fresh = w.enclave.rotated()
    quote, old = w.verdict(fresh, pool, w.invalidated_at - 1)
    refused(
        lambda: registry.renewWorker(
            w.enclave.address, fresh.address, fresh.encryption_key, committee, quote, old, sender=operator
        ),
        "RegistryEvidenceNotNewer",
        damage_eligible(w, fresh),
    )
    # an honest rotation with newer evidence works; the new key inherits the floor, the old keeps its own
    quote, newer = w.verdict(fresh, pool, w.invalidated_at + 60)
    registry.renewWorker(
        w.enclave.address, fresh.address, fresh.encryption_key, committee, quote, newer, sender=operator
    )
    assert w.eligible(fresh) and registry.evidenceFloor(w.enclave.address) == w.invalidated_at
    refused(
        lambda: w.register(w.enclave, pool, *w.admission),
        "RegistryEvidenceNotNewer",
        damage_eligible(w, w.enclave),
    )


def test_invalidated__launder_through_another_key_and_rotate_back__refused(
    world, registry, committee, operator, pool
):
    w = world
    registry.deregisterWorker(w.enclave.address, sender=operator)
    mule = Enclave(w.enclave.code)
    w.register(
        mule, pool, *w.verdict(mule, pool, w.admitted_at + 1)
    )  # a fresh key, older time is fine for it
    quote, old = w.verdict(w.enclave, pool, w.admitted_at + 2)  # rotate back onto the invalidated key
    refused(
        lambda: registry.renewWorker(
            mule.address, w.enclave.address, w.enclave.encryption_key, committee, quote, old, sender=operator
        ),
        "RegistryEvidenceNotNewer",
        damage_eligible(w, w.enclave),
    )


def test_invalidated__after_attestation_expired__old_evidence_refused(
    world, registry, committee, operator, pool, chain, gov
):
    w = world
    registry.setMaxVerdictAge(7 * DAY, sender=gov)  # only the floor may stop it, not staleness
    chain.pending_timestamp = w.admitted_at + 2 * DAY  # past the 1-day attestation
    chain.mine()
    quote, old = w.verdict(w.enclave, pool, w.invalidated_at, lifetime=7 * DAY)
    refused(
        lambda: registry.renewWorker(
            w.enclave.address,
            w.enclave.address,
            w.enclave.encryption_key,
            committee,
            quote,
            old,
            sender=operator,
        ),
        "RegistryEvidenceNotNewer",
        damage_eligible(w, w.enclave),
    )


def test_invalidated__measurement_revoked_and_reallowed__stays_out(
    world, registry, operator, pool, gov, code, default_policy
):
    w = world
    registry.revokeMeasurement(code.measurement_id, sender=gov)
    registry.allowMeasurement(
        code.measurement_id, default_policy, ("again", bytes(20), bytes(32)), sender=gov
    )
    assert not w.eligible(w.enclave)  # re-allowing restores valid workers, never an invalidated one
    registry.deregisterWorker(w.enclave.address, sender=operator)
    refused(
        lambda: w.register(w.enclave, pool, *w.admission),
        "RegistryEvidenceNotNewer",
        damage_eligible(w, w.enclave),
    )


def test_renewal__never_moves_evidence_backwards__even_without_invalidation(
    registry, committee, world, operator, pool, chain
):
    """A worker renewed onto a worse (but accepted) verdict cannot return to its older, better one."""
    w = world
    honest = Enclave(w.enclave.code)
    t = chain.pending_timestamp
    good = w.verdict(honest, pool, t - 300)
    w.register(honest, pool, *good)
    quote, worse = w.verdict(honest, pool, t, TcbStatus.ConfigurationAndSWHardeningNeeded)
    registry.renewWorker(
        honest.address, honest.address, honest.encryption_key, committee, quote, worse, sender=operator
    )
    refused(
        lambda: registry.renewWorker(
            honest.address, honest.address, honest.encryption_key, committee, *good, sender=operator
        ),
        "RegistryEvidenceNotNewer",
        lambda: (
            f"TCB status back to {registry.workerInfo(honest.address).tcbStatus} "
            "on a verdict older than the current one"
        ),
    )
    registry.deregisterWorker(honest.address, sender=operator)
    refused(
        lambda: w.register(honest, pool, *good),
        "RegistryEvidenceNotNewer",
        lambda: "older verdict re-admitted after deregistration",
    )


# ---------------------------------------------------------------------------- item 4


def forged_dev_quote(chain, registry, victim: Enclave, pool_id: int) -> bytes:
    """Everything a binding needs is public (chain, registry, address, encryption key, pool), and the
    dev key is in the repository: anyone can make a 'quote' from the victim's 'enclave'."""
    other = Code.named("attacker/other-measurement")
    data = report_data(chain.chain_id, registry.address, victim.address, victim.encryption_key, pool_id)
    return simulated_tdx_quote(
        mr_td=other.mr_td, rt_mr0=other.rt_mr0, rt_mr1=other.rt_mr1, rt_mr2=other.rt_mr2, report_data=data
    )


def test_dev_verifier__cannot_invalidate_committee_admitted_worker(
    registry, committee, dev_verifier, attester_keys, pool, operator, chain, code, attacker
):
    victim = Enclave(code)
    quote = victim.quote(chain.chain_id, registry.address, pool)
    evidence = committee_evidence(
        quote, attester_keys[:2], chain.chain_id, committee.address, chain.pending_timestamp
    )
    registry.registerWorker(
        pool, victim.address, victim.encryption_key, committee, quote, evidence, sender=operator
    )
    chain.pending_timestamp += 60
    forged = forged_dev_quote(chain, registry, victim, pool)
    refused(
        lambda: registry.invalidateWorker(
            victim.address, victim.encryption_key, dev_verifier, forged, b"", sender=attacker
        ),
        "RegistryInvalidatorNotAccepted",
        lambda: (
            f"committee-admitted worker eligible={registry.isEligible(victim.address, code.measurement_id)} "
            "after a forged dev quote"
        ),
    )
    assert registry.isEligible(victim.address, code.measurement_id)


def test_rank__lower_or_unranked_verifier_cannot_invalidate__equal_rank_can(
    project, registry, committee, dev_verifier, attester_keys, pool, operator, chain, code, attacker, gov
):
    victim = Enclave(code)
    quote = victim.quote(chain.chain_id, registry.address, pool)
    t = chain.pending_timestamp
    admission = committee_evidence(quote, attester_keys[:2], chain.chain_id, committee.address, t)
    registry.registerWorker(
        pool, victim.address, victim.encryption_key, committee, quote, admission, sender=operator
    )
    registry.setVerifierRank(committee, 2, sender=gov)
    registry.setVerifierRank(dev_verifier, 1, sender=gov)  # a (mis)ranked forgeable verifier, still below
    chain.pending_timestamp = t + 60
    forged = forged_dev_quote(chain, registry, victim, pool)
    refused(
        lambda: registry.invalidateWorker(
            victim.address, victim.encryption_key, dev_verifier, forged, b"", sender=attacker
        ),
        "RegistryInvalidatorNotAccepted",
        lambda: "a lower-ranked verifier invalidated the worker",
    )
    # a successor committee that governance ranks as strict may invalidate with a real Revoked verdict
    successor = gov.deploy(
        project.CommitteeQuoteVerifier, gov, [k.address for k in attester_keys], 2, 7 * DAY
    )
    registry.setVerifier(successor, True, sender=gov)
    revoked = committee_evidence(
        quote, attester_keys[:2], chain.chain_id, successor.address, t + 60, tcb_status=TcbStatus.Revoked
    )
    refused(
        lambda: registry.invalidateWorker(
            victim.address, victim.encryption_key, successor, quote, revoked, sender=attacker
        ),
        "RegistryInvalidatorNotAccepted",
        lambda: "an unranked verifier invalidated another verifier's worker",
    )
    registry.setVerifierRank(successor, 2, sender=gov)
    registry.invalidateWorker(
        victim.address, victim.encryption_key, successor, quote, revoked, sender=attacker
    )
    assert not registry.isEligible(victim.address, code.measurement_id)


def test_dev_verifier__public_chain_id__cannot_be_deployed(project):
    from eth_utils import keccak
    from web3 import Web3

    from pha.anvil import Anvil
    from pha.quote.dev import DEV_ADDRESS

    ct = project.DevQuoteVerifier.contract_type
    abi = [item.model_dump(mode="json", by_alias=True) for item in ct.abi]
    with Anvil(chain_id=8453) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        factory = w3.eth.contract(abi=abi, bytecode=ct.deployment_bytecode.bytecode)
        gov = w3.eth.accounts[0]
        try:
            tx = factory.constructor(gov, DEV_ADDRESS, 3600).transact({"from": gov, "gas": 3_000_000})
            receipt = w3.eth.wait_for_transaction_receipt(tx)
        except Exception as exc:  # the node refuses at estimation/execution with the custom error
            selector = keccak(text="DevQuoteVerifierChainNotAllowed(uint256)")[:4].hex()
            assert selector in repr(exc), repr(exc)
            return
        figure = f"DevQuoteVerifier (public key) live on chain 8453 at {receipt.contractAddress}"
        if receipt.status == 1:
            print(f"ATTACK SUCCEEDED: {figure}")  # noqa: T201 - the damage figure is the report
            pytest.fail("dev verifier deployed on Base's chain id")
