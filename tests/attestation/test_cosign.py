"""Co-signing: M attesters sign one identical statement, each after verifying the quote itself."""

import dataclasses

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from pha.quote.attester import Attester
from pha.quote.committee import encode_evidence, typed_data
from pha.quote.errors import VerificationError
from pha.quote.tcb import TcbStatus
from pha.quote.verify import collateral_window

VERIFIER = "0x" + "22" * 20


@pytest.fixture
def pair(attester_keys):
    return Attester(attester_keys[0], 31337, VERIFIER), Attester(attester_keys[1], 31337, VERIFIER)


def test_cosign__agreeing_verdict__signs_the_same_statement(pair, tdx_raw, tdx_collateral):
    first, second = pair
    start, _ = collateral_window(tdx_collateral)
    proposed = first.attest(tdx_raw, tdx_collateral, start + 60)
    cosigned = second.cosign(tdx_raw, tdx_collateral, proposed.statement, start + 300)
    assert cosigned.statement == proposed.statement
    message = encode_typed_data(full_message=typed_data(proposed.statement, 31337, VERIFIER))
    assert Account.recover_message(message, signature=cosigned.signature) == second.address
    evidence = encode_evidence(
        proposed.statement, [(first.address, proposed.signature), (second.address, cosigned.signature)]
    )
    assert len(evidence) > 2 * 65


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"tcb_status": TcbStatus.OutOfDate}, "TCB status"),
        ({"advisory_ids": ["INTEL-SA-00001"]}, "advisory ids differ"),
        ({"quote_hash": b"\x01" * 32}, "another quote"),
        ({"tcb_date": 1}, "TCB date differs"),
        ({"compose_hash": b"\x02" * 32}, "no event log was given"),
    ],
)
def test_cosign__statement_disagreeing_with_own_verdict__refused(
    pair, tdx_raw, tdx_collateral, change, reason
):
    first, second = pair
    start, _ = collateral_window(tdx_collateral)
    proposed = dataclasses.replace(first.attest(tdx_raw, tdx_collateral, start + 60).statement, **change)
    with pytest.raises(VerificationError, match=reason):
        second.cosign(tdx_raw, tdx_collateral, proposed, start + 60)


def test_cosign__verified_too_far_apart__refused(pair, tdx_raw, tdx_collateral):
    first, second = pair
    start, end = collateral_window(tdx_collateral)
    proposed = first.attest(tdx_raw, tdx_collateral, start + 60).statement
    later = min(start + 60 + 3600, end - 1)
    with pytest.raises(VerificationError, match="from my verification"):
        second.cosign(tdx_raw, tdx_collateral, proposed, later)


def test_cosign__lifetime_longer_than_cosigner_allows__refused(attester_keys, tdx_raw, tdx_collateral):
    generous = Attester(attester_keys[0], 31337, VERIFIER, lifetime=7 * 86400)
    strict = Attester(attester_keys[1], 31337, VERIFIER, lifetime=600)
    start, _ = collateral_window(tdx_collateral)
    proposed = generous.attest(tdx_raw, tdx_collateral, start + 60).statement
    if proposed.expires_at <= proposed.verified_at + 600:
        pytest.fail("collateral window too short for this test")
    with pytest.raises(VerificationError, match="expires later"):
        strict.cosign(tdx_raw, tdx_collateral, proposed, start + 60)
