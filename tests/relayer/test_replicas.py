"""Issue 22: two `pha-relayer run` replicas (processes, one key) on one PostgreSQL store with the
leader lease. The leader is killed (-9) while jobs flow: the other takes over within a bounded time
(measured: bench row relayer.failover_s). The new leader is then stopped (SIGSTOP) past its lease
and continued (SIGCONT) after the restarted replica took over: it records and sends nothing more.
The chain is the judge: every job settled once, every landed transaction is an intent, no job in
two landed transactions, no nonce signed twice, nothing reverted."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from relayer.store import Store
from tests.relayer.conftest import (
    ended,
    measurement_of,
    relayer_config,
    spawn_relayer,
    stop_relayer,
    wait_until,
)

pytestmark = pytest.mark.slow

LEASE_S = 3.0
FAILOVER_BOUND_S = LEASE_S + 2.0
"""The lease runs out at most LEASE_S after the last renewal; the follower polls every 0.3 s."""


def _leader(store: Store) -> tuple[str, int] | None:
    lease = store.lease("leader")
    return None if lease is None or lease.expires_in <= 0 else (lease.holder, lease.token)


def _await_new_leader(store: Store, old_token: int, timeout: float) -> tuple[str, int, float]:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        lead = _leader(store)
        if lead is not None and lead[1] > old_token:
            return lead[0], lead[1], time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"no replica took the lease over within {timeout} s")


def test_two_replicas__kill9_and_sigstop_of_the_leader__taken_over_nothing_twice(
    net, honest, tmp_path: Path, postgres
):
    url = postgres.new_database()
    start = net.w3.eth.block_number
    address = net.relayer.address
    nonce0 = net.w3.eth.get_transaction_count(address)
    key = net.relayer.key.hex()
    m = measurement_of(honest.url)

    def config(name: str) -> Path:
        return relayer_config(
            net, tmp_path, honest.url, start, name=name, store=url, lease_ttl_s=LEASE_S, replica_id=name,
            batch_size=5, batch_wait=0.5, worker_timeout=5.0, stuck_after_s=6,
        )  # fmt: skip

    configs = {name: config(name) for name in ("a", "b")}
    procs = {name: spawn_relayer(configs[name], key, tmp_path / f"{name}.log") for name in configs}
    store = Store(url)
    try:
        wait_until(lambda: _leader(store) is not None, 30, "a replica leads")
        first, token1 = _leader(store)  # type: ignore[misc]
        other = "b" if first == "a" else "a"
        ids = net.post_jobs(20, m)
        wait_until(lambda: any(i.fence == token1 for i in store.all_intents()), 30, "the leader sends")

        # kill -9 of the leader mid-flow: the follower takes over.
        procs[first].send_signal(signal.SIGKILL)
        procs[first].wait(10)
        holder, token2, failover_s = _await_new_leader(store, token1, 15)
        assert holder == other and token2 == token1 + 1
        assert failover_s < FAILOVER_BOUND_S
        procs[first] = spawn_relayer(configs[first], key, tmp_path / f"{first}.log")  # back, as a follower
        ids += net.post_jobs(20, m)
        wait_until(lambda: ended(net, ids[:20]), 90, "the first jobs ended")
        wait_until(lambda: any(i.fence == token2 for i in store.all_intents()), 30, "the new leader sends")

        # SIGSTOP the leader past its lease while jobs flow; the restarted replica takes over.
        ids += net.post_jobs(20, m)
        time.sleep(1.0)
        procs[other].send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        holder, token3, takeover_s = _await_new_leader(store, token2, 15)
        assert holder == first and token3 == token2 + 1
        # it may wait for a transaction the stopped one left open: the database ends that session
        assert takeover_s < FAILOVER_BOUND_S + LEASE_S / 2
        time.sleep(max(0.0, LEASE_S + 1 - (time.monotonic() - stopped_at)))
        procs[other].send_signal(signal.SIGCONT)
        resumed = time.time()
        ids += net.post_jobs(10, m)
        wait_until(lambda: ended(net, ids), 120, "every job ended")
        wait_until(
            lambda: not [i for i in store.all_intents() if i.status in ("signed", "sent")], 40, "txs followed"
        )
        assert _leader(store) == (first, token3)  # the resumed replica did not take it back
        intents = store.all_intents()
        late = [i for i in intents if i.created_at > resumed and i.fence != token3]
        assert not late, f"intents recorded under a lost lease: {late}"
        log = (tmp_path / f"{other}.log").read_text()
        assert "no longer leads" in log
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGCONT)
        for proc in procs.values():
            stop_relayer(proc)
    settled = net.ends(start)["JobSettled"]
    assert all(len(settled.get(i, [])) == 1 for i in ids)

    by_hash = {i.tx_hash.lower(): i for i in intents}
    landed = []
    for n in range(start + 1, net.w3.eth.block_number + 1):
        for tx in net.w3.eth.get_block(n, full_transactions=True)["transactions"]:
            if tx["from"] == address:
                landed.append(tx["hash"].to_0x_hex().lower())
    assert len(landed) == net.w3.eth.get_transaction_count(address) - nonce0
    assert all(h in by_hash for h in landed), "a landed tx is missing from the intents table"
    jobs_landed = [j for h in landed for j in by_hash[h].job_ids]
    assert len(jobs_landed) == len(set(jobs_landed)), "a job in two landed transactions"
    assert all(net.w3.eth.get_transaction_receipt(h)["status"] == 1 for h in landed)
    # No nonce signed twice: intents sharing a nonce are one transaction and its replacements.
    fresh = [i.nonce for i in intents if not any(o.replaced_by == i.id for o in intents)]
    assert len(fresh) == len(set(fresh)), "a nonce was signed for two different transactions"
    print(  # noqa: T201 - the figures of the run, shown with -s
        f"\nreplicas: jobs={len(ids)} failover_s={failover_s:.2f} sigstop_takeover_s={takeover_s:.2f} "
        f"tokens={token1},{token2},{token3} landed_txs={len(landed)} intents={len(intents)}"
    )
    (tmp_path / "failover_s").write_text(f"{failover_s:.3f}")
