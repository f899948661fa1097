"""Issue 9, RPC faults: the relayer talks to anvil through tests/relayer/rpcproxy.py (loopback).
An outage of 30 s (connections dropped) while jobs are posted straight to anvil, a stretch of
HTTP 429s, and null / empty receipts for transactions that did land: the relayer waits, recovers,
marks nothing failed or dropped, and every job is settled exactly once."""

from __future__ import annotations

import time

import pytest

from tests.relayer.conftest import RelayerThread, ended, make_settings, measurement_of, wait_until
from tests.relayer.rpcproxy import RpcProxy

pytestmark = pytest.mark.slow

OUTAGE_S = 30


@pytest.fixture(scope="module")
def honest(net):
    net.interval_mining(1)
    return net.start_worker(net.pool)


@pytest.fixture
def proxy(net):
    with RpcProxy(net.url) as p:
        yield p


def _settings(net, tmp_path, proxy, honest, **kw):
    return make_settings(
        net, tmp_path, [honest.url], rpc_urls=[proxy.url], start_block=net.w3.eth.block_number,
        rpc_timeout=2.0, batch_wait=0.5, stuck_after_s=4, **kw,
    )  # fmt: skip


def _all_landed_cleanly(net, r, ids, start) -> None:
    settled = net.ends(start)["JobSettled"]
    assert all(len(settled.get(i, [])) == 1 for i in ids)
    store = r.relayer.store
    wait_until(lambda: not store.intents_in(("signed", "sent")), 30, "txs followed")
    statuses = [i.status for i in store.all_intents()]
    assert statuses and not {"failed", "dropped"} & set(statuses), statuses
    wait_until(lambda: store.count_by_state().get("settled", 0) >= len(ids), 20, "settled in the db")


def test_rpc_outage_30s__relayer_waits_then_settles_jobs_posted_meanwhile(net, honest, proxy, tmp_path):
    start = net.w3.eth.block_number
    m = measurement_of(honest.url)
    with RelayerThread(_settings(net, tmp_path, proxy, honest)) as r:
        before = net.post_jobs(5, m)
        wait_until(lambda: ended(net, before), 30, "jobs settled before the outage")
        proxy.set_mode("down")
        during = net.post_jobs(20, m)  # straight to anvil: the relayer cannot see them
        time.sleep(OUTAGE_S)
        assert not any(i in net.ends(start)["JobSettled"] for i in during)
        assert r.thread.is_alive() and proxy.counts.get("dropped", 0) > 0
        proxy.set_mode("pass")
        wait_until(lambda: ended(net, during), 60, "jobs posted during the outage settled")
        _all_landed_cleanly(net, r, before + during, start)
        assert r.relayer.metrics.rpc_errors._value.get() > 0


def test_rpc_429_for_a_while__nothing_failed_everything_settles(net, honest, proxy, tmp_path):
    start = net.w3.eth.block_number
    m = measurement_of(honest.url)
    with RelayerThread(_settings(net, tmp_path, proxy, honest)) as r:
        ids = net.post_jobs(10, m)
        time.sleep(1.0)
        proxy.set_mode("429")
        ids += net.post_jobs(10, m)
        time.sleep(10)
        assert proxy.counts.get("429", 0) > 0
        proxy.set_mode("pass")
        wait_until(lambda: ended(net, ids), 60, "jobs settled after the 429s")
        _all_landed_cleanly(net, r, ids, start)


def test_null_and_empty_receipts__no_tx_declared_failed_or_dropped(net, honest, proxy, tmp_path):
    start = net.w3.eth.block_number
    m = measurement_of(honest.url)
    with RelayerThread(_settings(net, tmp_path, proxy, honest)) as r:
        proxy.set_mode("null_receipts")
        ids = net.post_jobs(20, m)
        wait_until(lambda: ended(net, ids), 60, "jobs settled (seen directly on anvil)")
        time.sleep(8)  # longer than stuck_after_s and several drop checks: still no decision
        assert proxy.counts.get("null_receipt", 0) > 0
        proxy.set_mode("pass")
        _all_landed_cleanly(net, r, ids, start)


def test_node_without_eth_simulate_v1__estimate_gas_and_pending_precheck_instead(
    net, honest, proxy, tmp_path
):
    start = net.w3.eth.block_number
    m = measurement_of(honest.url)
    proxy.set_mode("no_simulate_v1")
    with RelayerThread(_settings(net, tmp_path, proxy, honest)) as r:
        ids = net.post_jobs(6, m)
        wait_until(lambda: ended(net, ids), 40, "jobs settled")
        assert proxy.counts.get("no_simulate_v1", 0) == 1  # asked once, then never again
        assert r.relayer.txm.simulate_v1 is False
        _all_landed_cleanly(net, r, ids, start)
