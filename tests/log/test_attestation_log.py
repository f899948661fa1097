"""AttestationLog: writers only, hash chain, and the off-chain rebuild that detects tampering."""

import dataclasses
import os

import ape
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pha.attestation_log import ZERO32, fetch_entries, next_head, verify_chain
from pha.escrow.spec import ZERO_ADDRESS


@pytest.fixture(scope="module")
def log_contract(project, gov, bob):
    contract = gov.deploy(project.AttestationLog, gov)
    contract.setWriters(gov, bob, ZERO_ADDRESS, sender=gov)  # gov: registry writer, bob: escrow writer
    return contract


@pytest.fixture(scope="module")
def writer(gov, bob):
    """The account allowed to append entries of `kind` (0: attestations, 1: results)."""
    return lambda kind: gov if kind == 0 else bob


def entry(kind=0, subject=b"\x01" * 32, worker=None, measurement=b"\x02" * 32, data=b"\x03" * 32):
    return (kind, subject, worker or "0x" + "ab" * 20, measurement, data)


def rebuild(log_contract, chain):
    w3 = chain.provider.web3
    start = log_contract.creation_metadata.receipt.block_number
    return verify_chain(
        fetch_entries(w3, log_contract.address, start, chain.blocks.head.number, page=4),
        bytes(log_contract.head()),
        log_contract.count(),
    )


def test_append__non_writer__reverts(log_contract, attacker):
    with ape.reverts(log_contract.AttestationLogUnauthorized):
        log_contract.append(entry(), sender=attacker)
    with ape.reverts(log_contract.AttestationLogUnauthorized):
        log_contract.appendBatch([entry()], sender=attacker)


def test_append__replaced_writer__reverts(log_contract, gov, alice, bob):
    log_contract.setWriters(alice, bob, ZERO_ADDRESS, sender=gov)
    try:
        log_contract.append(entry(kind=0), sender=alice)
        with ape.reverts(log_contract.AttestationLogUnauthorized):
            log_contract.append(entry(kind=0), sender=gov)  # no longer the registry
    finally:
        log_contract.setWriters(gov, bob, ZERO_ADDRESS, sender=gov)
    with ape.reverts(log_contract.AttestationLogUnauthorized):
        log_contract.append(entry(kind=0), sender=alice)


def test_set_writers__former_escrow_settles_its_jobs_until_cleared(project, gov, alice, bob, carol):
    contract = gov.deploy(project.AttestationLog, gov)
    contract.setWriters(alice, bob, ZERO_ADDRESS, sender=gov)
    tx = contract.setWriters(alice, carol, bob, sender=gov)  # carol replaces bob as the escrow
    assert tx.decode_logs(contract.WritersSet)[0].formerEscrow == bob
    contract.append(entry(kind=1), sender=bob)
    contract.appendBatch([entry(kind=1)], sender=carol)
    with ape.reverts(contract.AttestationLogUnauthorized):
        contract.append(entry(kind=0), sender=bob)  # results only
    contract.setWriters(alice, carol, ZERO_ADDRESS, sender=gov)  # bob has no open jobs left
    with ape.reverts(contract.AttestationLogUnauthorized):
        contract.append(entry(kind=1), sender=bob)
    assert contract.count() == 2 and contract.formerEscrow() == ZERO_ADDRESS


def test_set_writers__one_address_two_roles__reverts(project, gov, alice, bob):
    contract = gov.deploy(project.AttestationLog, gov)
    for writers in ((alice, alice, ZERO_ADDRESS), (alice, bob, alice), (alice, bob, bob)):
        with ape.reverts(contract.AttestationLogWritersNotDistinct):
            contract.setWriters(*writers, sender=gov)
    contract.setWriters(ZERO_ADDRESS, ZERO_ADDRESS, ZERO_ADDRESS, sender=gov)  # all switched off
    with ape.reverts(contract.AttestationLogUnauthorized):
        contract.append(entry(kind=1), sender=gov)


def test_append_batch__empty__reverts(log_contract, attacker, bob):
    for who in (attacker, bob):
        with ape.reverts(log_contract.AttestationLogEmptyBatch):
            log_contract.appendBatch([], sender=who)


def test_append__each_writer_only_its_kind(project, gov, alice, bob):
    """The registry writes attestations only, the escrow results only: neither can forge the other's."""
    contract = gov.deploy(project.AttestationLog, gov)
    tx = contract.setWriters(alice, bob, ZERO_ADDRESS, sender=gov)
    assert tx.decode_logs(contract.WritersSet)[0].escrow == bob
    assert (contract.registry(), contract.escrow()) == (alice.address, bob.address)
    for writer, forbidden in ((alice, 1), (bob, 0)):
        with ape.reverts(contract.AttestationLogUnauthorized):
            contract.append(entry(kind=forbidden), sender=writer)
        with ape.reverts(contract.AttestationLogUnauthorized):
            contract.appendBatch([entry(kind=1 - forbidden), entry(kind=forbidden)], sender=writer)
    contract.append(entry(kind=0), sender=alice)
    contract.appendBatch([entry(kind=1), entry(kind=1)], sender=bob)
    assert contract.count() == 3


def test_set_writers__only_governance(log_contract, attacker):
    with ape.reverts():
        log_contract.setWriters(attacker, ZERO_ADDRESS, ZERO_ADDRESS, sender=attacker)


def test_append__emits_entry_and_advances_head(log_contract, bob, chain):
    assert log_contract.count() == 0 and bytes(log_contract.head()) == ZERO32
    tx = log_contract.append(entry(kind=1), sender=bob)
    event = tx.decode_logs(log_contract.Appended)[0]
    assert event.index == 0 and event.kind == 1
    assert log_contract.count() == 1
    assert bytes(log_contract.head()) == bytes(event.head) != ZERO32
    report = rebuild(log_contract, chain)
    assert report.ok and report.entries == 1 and report.rebuilt_head == bytes(event.head)


def test_append_batch__same_chain_as_single_appends(log_contract, gov, chain):
    entries = [entry(subject=bytes([i]) * 32) for i in range(5)]
    log_contract.appendBatch(entries, sender=gov)
    assert log_contract.count() == 5
    report = rebuild(log_contract, chain)
    assert report.ok and report.entries == 5


def test_rebuild__tampered_event__first_mismatch_reported(log_contract, gov, chain):
    for i in range(4):
        log_contract.append(entry(subject=bytes([i + 1]) * 32), sender=gov)
    entries = list(fetch_entries(chain.provider.web3, log_contract.address, 0, chain.blocks.head.number))
    tampered = list(entries)
    tampered[2] = dataclasses.replace(entries[2], data_hash=b"\xff" * 32)
    report = verify_chain(tampered, bytes(log_contract.head()), log_contract.count())
    assert not report.ok and report.first_mismatch == 2
    dropped = entries[:1] + entries[2:]
    report = verify_chain(dropped, bytes(log_contract.head()), log_contract.count())
    assert not report.ok and report.first_mismatch == 1 and "missing" in report.problem
    report = verify_chain(entries[:3], bytes(log_contract.head()), log_contract.count())
    assert not report.ok and "3 entries" in report.problem


def test_rebuild__forged_consistent_event_chain__caught_by_onchain_head(log_contract, gov, chain):
    log_contract.append(entry(), sender=gov)
    [real] = list(fetch_entries(chain.provider.web3, log_contract.address, 0, chain.blocks.head.number))
    forged = dataclasses.replace(real, worker="0x" + "cd" * 20)
    forged = dataclasses.replace(forged, head=next_head(ZERO32, forged))
    report = verify_chain([forged], bytes(log_contract.head()), log_contract.count())
    assert not report.ok and "on-chain head" in report.problem


@settings(
    max_examples=int(os.environ.get("PHA_LOG_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(batches=st.lists(st.tuples(st.integers(0, 1), st.lists(st.binary(min_size=32, max_size=32),
                                                               min_size=1, max_size=4)),
                        min_size=1, max_size=4))  # fmt: skip
def test_rebuild__any_sequence__matches_onchain_head(log_contract, writer, chain, batches):
    """Any interleaving of the two writers' appends and batches rebuilds to the on-chain head."""
    snapshot = chain.snapshot()
    try:
        for kind, data in batches:
            items = [entry(kind=kind, data=d) for d in data]
            if len(items) == 1:
                log_contract.append(items[0], sender=writer(kind))
            else:
                log_contract.appendBatch(items, sender=writer(kind))
        report = rebuild(log_contract, chain)
        assert report.ok, report.problem
        assert report.entries == sum(len(d) for _, d in batches) == log_contract.count()
    finally:
        chain.restore(snapshot)
