"""The relayer against a real chain (anvil, 1-second blocks, the devnet chain id 20350) and real in-process
workers: posted jobs end settled (single and batched), bad workers get nothing submitted, jobs
nobody can run are expired with a refund, and a restart resumes from SQLite without a second
transaction for the same work."""

from __future__ import annotations

import pytest

from relayer.store import Store
from tests.relayer.conftest import (
    BadWorker,
    RelayerThread,
    ended,
    make_settings,
    measurement_of,
    wait_until,
)

pytestmark = pytest.mark.slow


def _relayer_txs(net, store: Store, start_nonce: int) -> list:
    """Receipts of every transaction the relayer key landed since `start_nonce` (from the db's intents)."""
    receipts = []
    for intent in store.all_intents():
        if intent.nonce >= start_nonce and intent.status in ("mined", "final", "failed"):
            receipts.append(net.w3.eth.get_transaction_receipt(intent.tx_hash))
    return receipts


def test_posted_jobs__settled_in_batches_each_exactly_once(mined, honest, tmp_path):
    net = mined
    start = net.w3.eth.block_number
    nonce0 = net.w3.eth.get_transaction_count(net.relayer.address)
    settings = make_settings(net, tmp_path, [honest.url], start_block=start, batch_size=10)
    ids = net.post_jobs(12, measurement_of(honest.url))
    with RelayerThread(settings) as r:
        wait_until(lambda: ended(net, ids), 40, "jobs settled")
        wait_until(lambda: r.relayer.store.count_by_state().get("settled") == 12, 10, "confirmed in the db")
        store = r.relayer.store
        ends = net.ends(start)
        assert all(len(ends["JobSettled"][i]) == 1 for i in ids)
        intents = [i for i in store.all_intents() if i.status in ("mined", "final")]
        assert {i.purpose for i in intents} == {"settle_batch"}
        assert sorted(j for i in intents for j in i.job_ids) == sorted(ids)
        receipts = _relayer_txs(net, store, nonce0)
        assert receipts and all(rc["status"] == 1 for rc in receipts)
        assert net.w3.eth.get_transaction_count(net.relayer.address) - nonce0 == len(receipts)


def test_single_job__settled_with_settle(mined, honest, tmp_path):
    net = mined
    start = net.w3.eth.block_number
    settings = make_settings(net, tmp_path, [honest.url], start_block=start, batch_wait=0.5)
    [job] = net.post_jobs(1, measurement_of(honest.url))
    with RelayerThread(settings) as r:
        wait_until(lambda: ended(net, [job]), 30, "job settled")
        settled = net.ends(start)["JobSettled"][job]
        assert len(settled) == 1 and settled[0]["args"]["worker"] == honest.state.keys.address
        wait_until(
            lambda: any(i.status in ("mined", "final") for i in r.relayer.store.all_intents()), 10, "receipt"
        )
        assert [i.purpose for i in r.relayer.store.all_intents()] == ["settle"]


@pytest.mark.parametrize(
    ("mode", "batch_api"),
    [
        ("bad_signature", False),
        ("bad_output_hash", False),
        ("timeout", False),
        ("bad_signature", True),
        ("bad_output_hash", True),
    ],
)
def test_bad_worker__nothing_submitted_for_it_and_job_goes_to_another(
    mined, honest, tmp_path, mode, batch_api
):
    net = mined
    victim = net.start_worker(net.pool)  # registered and eligible; only reachable through the bad front
    bad = BadWorker(victim.url, mode, delay=4.0, batch_api=batch_api).start()
    try:
        start = net.w3.eth.block_number
        settings = make_settings(net, tmp_path, [bad.url, honest.url], start_block=start, worker_timeout=1.5)
        ids = net.post_jobs(3, measurement_of(honest.url))
        with RelayerThread(settings) as r:
            wait_until(lambda: ended(net, ids), 45, "jobs settled by the honest worker")
            settled = net.ends(start)["JobSettled"]
            assert {settled[i][0]["args"]["worker"] for i in ids} == {honest.state.keys.address}
            assert bad.calls >= 1
            store = r.relayer.store
            assert all(i.worker != victim.state.keys.address for i in store.all_intents())
            kinds = {
                "bad_signature": "bad_signature",
                "bad_output_hash": "bad_output_hash",
                "timeout": "timeout",
            }
            assert r.relayer.metrics.worker_results.labels(kinds[mode])._value.get() >= 1
    finally:
        bad.stop()


def test_no_good_worker__job_expires_and_client_is_refunded(mined, tmp_path):
    net = mined
    victim = net.start_worker(net.pool, code_identity="pha-worker/relayer-test-expiry")
    bad = BadWorker(victim.url, "bad_signature").start()
    try:
        start = net.w3.eth.block_number
        settings = make_settings(net, tmp_path, [bad.url], start_block=start, quarantine_s=0.5)
        [job] = net.post_jobs(1, measurement_of(victim.url), duration=8)
        with RelayerThread(settings) as r:
            wait_until(lambda: ended(net, [job]), 40, "job expired")
            ends = net.ends(start)
            assert job not in ends["JobSettled"]
            [expired] = ends["JobExpired"][job]
            assert expired["args"]["refund"] == 10**18
            wait_until(lambda: r.relayer.store.job(job).state == "expired", 10, "expired in the db")
            assert [i.purpose for i in r.relayer.store.all_intents()] == ["expire"]
            assert bad.calls == 1  # each worker is tried once per job; nothing was submitted for it
    finally:
        bad.stop()


def test_restart_mid_batch__resumes_from_sqlite_without_a_second_transaction(mined, honest, tmp_path):
    net = mined
    start = net.w3.eth.block_number
    nonce0 = net.w3.eth.get_transaction_count(net.relayer.address)
    settings = make_settings(net, tmp_path, [honest.url], start_block=start, batch_size=8, batch_wait=2.0)
    ids = net.post_jobs(8, measurement_of(honest.url))
    with RelayerThread(settings) as first:
        wait_until(lambda: first.relayer.store.count_by_state().get("submitted", 0) > 0, 30, "a batch sent")
    # Stopped right after sending: the second process must not send the same work again.
    with RelayerThread(settings) as second:
        wait_until(lambda: ended(net, ids), 40, "jobs settled")
        wait_until(lambda: second.relayer.store.count_by_state().get("settled") == 8, 10, "settled in the db")
        receipts = _relayer_txs(net, second.relayer.store, nonce0)
        assert len(receipts) == 1 and receipts[0]["status"] == 1
        assert net.w3.eth.get_transaction_count(net.relayer.address) - nonce0 == 1
        assert all(len(net.ends(start)["JobSettled"][i]) == 1 for i in ids)


def test_refused_input__reason_kept_for_status_worker_not_quarantined_and_cancel_refunds(
    mined, honest, tmp_path
):
    from eth_utils import keccak

    from pha.escrow.spec import JobSpec
    from pha.jobs import input_problem

    net = mined
    start = net.w3.eth.block_number
    settings = make_settings(net, tmp_path, [honest.url], start_block=start, batch_wait=0.5)
    bad = b'{"handler": "sha256", "data": 7}'
    spec = JobSpec(measurement_of(honest.url), keccak(bad), 0, net.now() + 600)
    receipt = net.send(net.escrow.functions.post(spec.as_tuple(), 10**18, bad), net.client)
    [posted] = net.escrow.events.JobPosted().process_receipt(receipt)
    job = int(posted["args"]["jobId"])
    with RelayerThread(settings) as r:
        wait_until(lambda: r.relayer.store.refused(), 30, "the refusal recorded")
        [(refused_id, reason)] = r.relayer.store.refused()
        assert refused_id == job and reason.endswith(input_problem(bad))
        [good] = net.post_jobs(1, measurement_of(honest.url))  # the worker still gets jobs
        wait_until(lambda: ended(net, [good]), 30, "the good job settled")
    balance = net.c["token"].functions.balanceOf(net.client.address).call()
    net.send(net.escrow.functions.cancel(job, spec.as_tuple()), net.client)
    [cancelled] = net.ends(start)["JobCancelled"][job]
    assert cancelled["args"]["refund"] == 10**18
    assert net.c["token"].functions.balanceOf(net.client.address).call() == balance + 10**18
