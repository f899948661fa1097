"""The AttestationLog under escrow traffic: one ResultSettled entry per settled job (single and
batch), the rebuilt chain equals the on-chain head, and a tampered event is detected."""

import dataclasses

from pha.attestation_log import fetch_entries, verify_chain
from pha.escrow.typed_data import output_hash
from tests.escrow.conftest import batch_entries


def _rebuild(attestation_log, chain, entries=None):
    start = attestation_log.creation_metadata.receipt.block_number
    if entries is None:
        entries = list(
            fetch_entries(
                chain.provider.web3, attestation_log.address, start, chain.blocks.head.number, page=3
            )
        )
    return entries, verify_chain(entries, bytes(attestation_log.head()), attestation_log.count())


def test_settlements__one_result_entry_each__chain_verifies_and_tamper_detected(
    escrow, attestation_log, chain, worker, relayer, code, post_job, result_sig, batch_sig
):
    before = attestation_log.count()
    single = post_job()
    escrow.settle(*single.args, worker.address, b"one", result_sig(worker, single, b"one"), sender=relayer)
    items = [(post_job(), b"b%d" % i) for i in range(3)]
    escrow.settleBatch(
        worker.address, code.measurement_id, batch_entries(items), batch_sig(worker, items), sender=relayer
    )
    assert attestation_log.count() == before + 4

    entries, report = _rebuild(attestation_log, chain)
    assert report.ok, report.problem
    results = [e for e in entries if e.kind == 1]
    assert [int.from_bytes(e.subject, "big") for e in results] == [single.id] + [j.id for j, _ in items]
    assert [e.data_hash for e in results] == [output_hash(b"one")] + [output_hash(o) for _, o in items]
    assert {e.worker for e in results} == {worker.address}
    assert {e.measurement for e in results} == {code.measurement_id}

    tampered = list(entries)
    i = entries.index(results[2])
    tampered[i] = dataclasses.replace(results[2], data_hash=output_hash(b"forged"))
    _, report = _rebuild(attestation_log, chain, tampered)
    assert not report.ok and report.first_mismatch == results[2].index
