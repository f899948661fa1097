"""CommitteeQuoteVerifier: M-of-N EIP-712 statements over the 632-byte header + body."""

from __future__ import annotations

import ape
import pytest
from eth_account import Account

from pha.quote.committee import statement_digest
from pha.quote.layout import parse_quote
from pha.quote.tcb import TcbStatus, advisory_id_hash

from .conftest import DAY


def test_verify__2of3_on_tdx_signed_part__returns_parsed_fields(
    committee, tdx_raw, make_statement, evidence_for
):
    statement = make_statement(tdx_raw)
    result = committee.verify(tdx_raw[:632], evidence_for(statement))
    parsed = parse_quote(tdx_raw)
    assert bytes(result.measurementId) == parsed.measurement_id
    assert bytes(result.quoteHash) == parsed.quote_hash
    assert bytes(result.reportData[0]) + bytes(result.reportData[1]) == parsed.report_data
    assert result.tcbStatus == int(TcbStatus.UpToDate) and result.teeType == 2 and result.quoteVersion == 4
    assert result.expiresAt == statement.expires_at and result.tcbDate == 1710288000


def test_verify__full_quote__hashes_only_signed_part(committee, tdx_raw, make_statement, evidence_for):
    statement = make_statement(tdx_raw)
    result = committee.verify(tdx_raw, evidence_for(statement))
    assert bytes(result.quoteHash) == parse_quote(tdx_raw).quote_hash


def test_verify__sgx_with_advisories__reports_status_and_hashes(
    committee, sgx_raw, make_statement, evidence_for
):
    ids = ["INTEL-SA-00289", "INTEL-SA-00615"]
    statement = make_statement(
        sgx_raw, tcb_status=TcbStatus.ConfigurationAndSWHardeningNeeded, advisory_ids=ids
    )
    result = committee.verify(sgx_raw[:432], evidence_for(statement, signers=(0, 1, 2)))
    assert result.tcbStatus == int(TcbStatus.ConfigurationAndSWHardeningNeeded)
    assert [bytes(a) for a in result.advisoryIds] == [advisory_id_hash(i) for i in ids]


def test_statement_digest__python_matches_contract(committee, chain, tdx_raw, make_statement):
    statement = make_statement(tdx_raw, advisory_ids=["INTEL-SA-00615"])
    assert bytes(committee.statementDigest(statement.as_tuple())) == statement_digest(
        statement, chain.chain_id, str(committee.address)
    )


def test_verify__one_signature_below_threshold__reverts(committee, tdx_raw, make_statement, evidence_for):
    with ape.reverts(committee.CommitteeQuoteVerifierBelowThreshold):
        committee.verify(tdx_raw[:632], evidence_for(make_statement(tdx_raw), signers=(0,)))


def test_verify__duplicated_signature__reverts(committee, tdx_raw, make_statement, evidence_for):
    with ape.reverts(committee.CommitteeQuoteVerifierSignersNotSorted):
        committee.verify(tdx_raw[:632], evidence_for(make_statement(tdx_raw), signers=(0, 0), sort=False))


def test_verify__unsorted_signatures__reverts(committee, tdx_raw, make_statement, evidence_for):
    with ape.reverts(committee.CommitteeQuoteVerifierSignersNotSorted):
        committee.verify(tdx_raw[:632], evidence_for(make_statement(tdx_raw), signers=(1, 0), sort=False))


def test_verify__non_attester_signer__reverts(committee, tdx_raw, make_statement, evidence_for):
    with ape.reverts(committee.CommitteeQuoteVerifierNotAttester):
        committee.verify(tdx_raw[:632], evidence_for(make_statement(tdx_raw), signers=(0, 3)))


def test_verify__expired_statement__reverts(committee, chain, tdx_raw, make_statement, evidence_for):
    now = chain.pending_timestamp
    statement = make_statement(tdx_raw, verified_at=now - 2 * DAY, expires_at=now - 1)
    with ape.reverts(committee.CommitteeQuoteVerifierStatementExpired):
        committee.verify(tdx_raw[:632], evidence_for(statement))


def test_verify__statement_expires_later__reverts_after_time_passes(
    committee, chain, tdx_raw, make_statement, evidence_for
):
    statement = make_statement(tdx_raw, expires_at=chain.pending_timestamp + 100)
    evidence = evidence_for(statement)
    committee.verify(tdx_raw[:632], evidence)
    chain.mine(timestamp=chain.pending_timestamp + 200)
    with ape.reverts(committee.CommitteeQuoteVerifierStatementExpired):
        committee.verify(tdx_raw[:632], evidence)


def test_verify__lifetime_above_maximum__reverts(committee, chain, tdx_raw, make_statement, evidence_for):
    now = chain.pending_timestamp
    statement = make_statement(tdx_raw, verified_at=now - 60, expires_at=now + 8 * DAY)
    with ape.reverts(committee.CommitteeQuoteVerifierLifetimeTooLong):
        committee.verify(tdx_raw[:632], evidence_for(statement))


def test_verify__statement_from_the_future__reverts(committee, chain, tdx_raw, make_statement, evidence_for):
    now = chain.pending_timestamp
    statement = make_statement(tdx_raw, verified_at=now + 3600, expires_at=now + 7200)
    with ape.reverts(committee.CommitteeQuoteVerifierStatementFromFuture):
        committee.verify(tdx_raw[:632], evidence_for(statement))


def test_verify__statement_for_another_quote__reverts(
    committee, tdx_raw, sgx_raw, make_statement, evidence_for
):
    statement = make_statement(sgx_raw)
    with ape.reverts(committee.CommitteeQuoteVerifierQuoteHashMismatch):
        committee.verify(tdx_raw[:632], evidence_for(statement))


def test_verify__statement_altered_after_signing__reverts(committee, tdx_raw, make_statement, evidence_for):
    from eth_abi import decode, encode

    from pha.quote.committee import STATEMENT_ABI

    evidence = evidence_for(make_statement(tdx_raw, tcb_status=TcbStatus.OutOfDate))
    (stmt, sigs) = decode([STATEMENT_ABI, "bytes"], evidence)
    forged = encode([STATEMENT_ABI, "bytes"], [(stmt[0], 0, *stmt[2:]), sigs])  # claim UpToDate
    with ape.reverts(committee.CommitteeQuoteVerifierNotAttester):
        committee.verify(tdx_raw[:632], forged)


def test_verify__signed_for_another_verifier__reverts(
    project, gov, committee, attester_addresses, tdx_raw, make_statement, evidence_for
):
    other = gov.deploy(project.CommitteeQuoteVerifier, gov, attester_addresses[:3], 2, 7 * DAY)
    evidence = evidence_for(make_statement(tdx_raw), verifier=other)
    other.verify(tdx_raw[:632], evidence)
    with ape.reverts(committee.CommitteeQuoteVerifierNotAttester):
        committee.verify(tdx_raw[:632], evidence)


def test_verify__signed_for_another_chain__reverts(committee, chain, tdx_raw, make_statement, evidence_for):
    evidence = evidence_for(make_statement(tdx_raw), chain_id=chain.chain_id + 1)
    with ape.reverts(committee.CommitteeQuoteVerifierNotAttester):
        committee.verify(tdx_raw[:632], evidence)


def test_set_threshold__raised_to_3__two_signatures_no_longer_enough(
    committee, gov, tdx_raw, make_statement, evidence_for
):
    statement = make_statement(tdx_raw)
    tx = committee.setThreshold(3, sender=gov)
    assert tx.events[0].threshold == 3
    with ape.reverts(committee.CommitteeQuoteVerifierBelowThreshold):
        committee.verify(tdx_raw[:632], evidence_for(statement))
    committee.verify(tdx_raw[:632], evidence_for(statement, signers=(0, 1, 2)))


@pytest.mark.parametrize("threshold", [0, 4])
def test_set_threshold__out_of_bounds__reverts(committee, gov, threshold):
    with ape.reverts(committee.CommitteeQuoteVerifierBadThreshold):
        committee.setThreshold(threshold, sender=gov)


def test_set_threshold__by_non_owner__reverts(committee, attacker):
    with ape.reverts(committee.OwnableUnauthorizedAccount):
        committee.setThreshold(1, sender=attacker)


def test_rotation__add_new_then_remove_old__no_downtime(
    committee, gov, tdx_raw, make_statement, evidence_for, attester_addresses
):
    statement = make_statement(tdx_raw)
    committee.addAttester(attester_addresses[3], sender=gov)
    committee.verify(tdx_raw[:632], evidence_for(statement, signers=(0, 3)))  # new one counts at once
    committee.removeAttester(attester_addresses[0], sender=gov)
    committee.verify(tdx_raw[:632], evidence_for(statement, signers=(1, 3)))  # still 2-of-3
    with ape.reverts(committee.CommitteeQuoteVerifierNotAttester):
        committee.verify(tdx_raw[:632], evidence_for(statement, signers=(0, 1)))  # removed stops counting
    assert not committee.isAttester(attester_addresses[0])


def test_remove_attester__below_threshold__reverts(committee, gov, attester_addresses):
    committee.setThreshold(3, sender=gov)
    with ape.reverts(committee.CommitteeQuoteVerifierBadThreshold):
        committee.removeAttester(attester_addresses[0], sender=gov)


def test_verify__debug_td__accepted_on_local_chain_with_flag(
    committee, tdx_raw, make_statement, evidence_for
):
    raw = bytearray(tdx_raw[:632])
    raw[48 + 120] |= 0x01  # TDATTRIBUTES.DEBUG
    raw = bytes(raw)
    result = committee.verify(raw, evidence_for(make_statement(raw)))
    assert result.debug is True


def test_verify__bad_signature_blob_length__reverts(committee, tdx_raw, make_statement):
    from eth_abi import encode

    from pha.quote.committee import STATEMENT_ABI

    evidence = encode([STATEMENT_ABI, "bytes"], [make_statement(tdx_raw).as_tuple(), b"\x01" * 64])
    with ape.reverts(committee.CommitteeQuoteVerifierBadSignaturesLength):
        committee.verify(tdx_raw[:632], evidence)


def test_constructor__duplicate_attester__reverts(project, gov, attester_addresses):
    with ape.reverts():
        gov.deploy(project.CommitteeQuoteVerifier, gov, [attester_addresses[0]] * 2, 1, DAY)
    assert Account  # imported for fixtures' signing helpers
