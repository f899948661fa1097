"""Relayer fail-over: two `pha-relayer run` replicas (processes, one key) on one PostgreSQL 16 store
(pgserver, started by the bench) with the leader lease; jobs flow while the leader is killed (-9)
ROUNDS times, the killed one restarted as a follower each time. relayer.failover_s: seconds from
the kill to the other replica holding the lease (median of the rounds; the note has the max).
The same set-up as tests/relayer/test_replicas.py, which also checks that nothing is done twice.
"""

from __future__ import annotations

import os
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import BenchEnv, Row
from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID
from relayer.store import Store
from tests.devnet import Devnet
from tests.relayer.conftest import PostgresServer, measurement_of, relayer_config, spawn_relayer, stop_relayer

LEASE_S = 3.0
ROUNDS = 3
JOBS_PER_ROUND = 20


def _lease(store: Store) -> tuple[str, int] | None:
    lease = store.lease("leader")
    return None if lease is None or lease.expires_in <= 0 else (lease.holder, lease.token)


def _wait(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"bench: condition not met within {timeout} s")


def failover() -> tuple[list[float], int]:
    """Kill-to-takeover seconds of each round, and the jobs settled over the run."""
    import pgserver

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp))
        server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
        node = Anvil(chain_id=DEVNET_CHAIN_ID).start()
        procs = {}
        try:
            net = Devnet(node.url).deploy()
            pool = net.open_pool([net.relayer.address])
            net.interval_mining(1)
            worker = net.start_worker(pool)
            url = PostgresServer(server.get_uri()).new_database()
            start = net.w3.eth.block_number
            options = {"store": url, "lease_ttl_s": LEASE_S, "batch_size": 5, "batch_wait": 0.5}
            configs = {
                name: relayer_config(net, tmp, worker.url, start, name=name, replica_id=name, **options)
                for name in ("a", "b")
            }
            key = net.relayer.key.hex()
            procs = {n: spawn_relayer(c, key, tmp / f"{n}.log") for n, c in configs.items()}
            store = Store(url)
            m = measurement_of(worker.url)
            _wait(lambda: _lease(store) is not None, 30)
            ids: list[int] = []
            times = []
            for _ in range(ROUNDS):
                leader, token = _lease(store)  # type: ignore[misc]
                ids += net.post_jobs(JOBS_PER_ROUND, m)
                _wait(lambda t=token: any(i.fence == t for i in store.all_intents()), 60)
                procs[leader].send_signal(signal.SIGKILL)
                procs[leader].wait(10)
                killed = time.monotonic()
                _wait(lambda t=token: (lease := _lease(store)) is not None and lease[1] > t, 30)
                times.append(time.monotonic() - killed)
                procs[leader] = spawn_relayer(configs[leader], key, tmp / f"{leader}.log")
            _wait(lambda: len(net.ends(start)["JobSettled"]) >= len(ids), 120)
            ends = net.ends(start)["JobSettled"]
            store.close()
            return times, sum(1 for i in ids if len(ends.get(i, [])) == 1)
        finally:
            for proc in procs.values():
                stop_relayer(proc)
            node.stop()
            server.cleanup()


def measure(env: BenchEnv) -> list[Row]:
    times, settled = failover()
    note = (
        f"2 replicas on PostgreSQL 16, lease {LEASE_S:g} s (renewed every third), kill -9 of the leader "
        f"{ROUNDS} times while jobs flow: median of kill -> new lease holder, max {max(times):.2f} s; "
        f"{settled}/{ROUNDS * JOBS_PER_ROUND} jobs settled once"
    )
    median = round(statistics.median(times), 2)
    return [Row("relayer.failover_s", median, "s", LEASE_S + 2, "lower", note=note)]


if __name__ == "__main__":
    for row in measure(None):  # type: ignore[arg-type]
        print(row)
