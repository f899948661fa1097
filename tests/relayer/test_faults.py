"""Issue 9 faults, each bounded in time, loopback only: three relayers on the same jobs, and a
reorg deeper than the confirmation depth (evm_snapshot / evm_revert)."""

from __future__ import annotations

import pytest

from tests.relayer.conftest import RelayerThread, ended, make_settings, measurement_of, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def honest(net):
    net.interval_mining(1)
    return net.start_worker(net.pool)


def test_three_relayers__each_job_settled_once_losers_pay_no_reverts(net, honest, tmp_path):
    start = net.w3.eth.block_number
    nonces = [net.w3.eth.get_transaction_count(r.address) for r in net.relayers]
    threads = [
        RelayerThread(
            make_settings(net, tmp_path, [honest.url], key_index=i, start_block=start, batch_size=10)
        )
        for i in range(3)
    ]
    for t in threads:
        t.start()
    try:
        ids = net.post_jobs(30, measurement_of(honest.url))
        wait_until(lambda: ended(net, ids), 60, "jobs settled")
        settled = net.ends(start)["JobSettled"]
        assert all(len(settled[i]) == 1 for i in ids)
        wait_until(
            lambda: all(not t.relayer.store.intents_in(("signed", "sent")) for t in threads), 20, "txs mined"
        )
        stored = [t.relayer.store.all_intents() for t in threads]
    finally:
        for t in threads:
            t.stop()
    landed = []
    for i, r in enumerate(net.relayers):
        sent = net.w3.eth.get_transaction_count(r.address) - nonces[i]
        intents = [x for x in stored[i] if x.status in ("mined", "final", "failed")]
        assert sent == len(intents)  # nothing landed that the relayer did not account for
        landed += [net.w3.eth.get_transaction_receipt(x.tx_hash) for x in intents]
    reverted = [rc for rc in landed if rc["status"] == 0]
    # Races lost before sending cost nothing (eth_call); two relayers simulating in the same block
    # can still both send, and the later one reverts (JobEscrowNothingSettled): open in issue 9.
    assert len(reverted) < len(landed) / 2, f"{len(reverted)} reverted of {len(landed)}"


def test_reorg_deeper_than_confirmations__rewinds_and_every_job_ends_once(net, honest, tmp_path):
    start = net.w3.eth.block_number
    settings = make_settings(net, tmp_path, [honest.url], start_block=start, confirmations=1, batch_wait=0.5)
    m = measurement_of(honest.url)
    snap = net.w3.provider.make_request("evm_snapshot", [])["result"]
    with RelayerThread(settings) as r:
        first = net.post_jobs(4, m)
        wait_until(lambda: ended(net, first), 30, "first jobs settled")
        wait_until(lambda: r.relayer.store.count_by_state().get("settled") == 4, 10, "settled in the db")
        # Replace the last blocks (posting and settlement included) by a different history.
        net.w3.provider.make_request("evm_revert", [snap])
        net.w3.provider.make_request("anvil_mine", [hex(6)])
        again = net.post_jobs(5, m)  # same ids reused on the new chain, with other inputs
        wait_until(lambda: r.relayer.metrics.reorgs._value.get() >= 1, 20, "reorg detected")
        wait_until(lambda: ended(net, again), 40, "new jobs settled")
        settled = net.ends(start)["JobSettled"]
        assert all(len(settled[i]) == 1 for i in again)
        wait_until(
            lambda: r.relayer.store.count_by_state().get("settled") == 5, 15, "db follows the new chain"
        )
