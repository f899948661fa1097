"""Issue 9: `pha-relayer run` as a process, SIGKILLed at random moments many times while jobs keep
arriving, restarted each time from the same SQLite file. The chain is the judge: every job ended
exactly once (settled, or expired with a refund) and no duplicate transaction landed."""

from __future__ import annotations

import os
import random
import signal
import time

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

KILLS = 20
JOBS = 200
SEED = int(os.environ.get("PHA_CRASH_SEED", "9"))


def test_relayer_process_sigkilled_20_times__every_job_ends_once_no_duplicate_tx(net, honest, tmp_path):
    rng = random.Random(SEED)
    start = net.w3.eth.block_number
    address = net.relayer.address
    nonce0 = net.w3.eth.get_transaction_count(address)
    config = relayer_config(
        net,
        tmp_path,
        honest.url,
        start,
        name="crash",
        batch_size=20,
        batch_wait=0.5,
        worker_timeout=5.0,
        stuck_after_s=6,
    )
    log = tmp_path / "relayer.log"
    m = measurement_of(honest.url)
    key = net.relayer.key.hex()
    ids: list[int] = []
    kills = 0
    proc = spawn_relayer(config, key, log)
    try:
        while kills < KILLS:
            if len(ids) < JOBS:  # jobs keep arriving between kills; a few are short-lived (expiry path)
                duration = 12 if kills % 5 == 2 else 600
                ids += net.post_jobs(min(JOBS // (KILLS // 2), JOBS - len(ids)), m, duration=duration)
            time.sleep(rng.uniform(0.5, 5.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
            proc = spawn_relayer(config, key, log)
        wait_until(lambda: ended(net, ids), 150, "every job ended")
        store = Store(config.parent / "crash.db")
        wait_until(
            lambda: not [i for i in store.all_intents() if i.status in ("signed", "sent")], 40, "txs followed"
        )
    finally:
        stop_relayer(proc)
    ends = net.ends(start)
    settled, expired = ends["JobSettled"], ends["JobExpired"]
    assert all(len(settled.get(i, [])) + len(expired.get(i, [])) == 1 for i in ids)
    assert all(expired[i][0]["args"]["refund"] == 10**18 for i in ids if i in expired)

    # Every transaction the key landed is one of its intents, and no job is in two landed txs.
    intents = {i.tx_hash.lower(): i for i in store.all_intents()}
    landed = []
    for n in range(start + 1, net.w3.eth.block_number + 1):
        for tx in net.w3.eth.get_block(n, full_transactions=True)["transactions"]:
            if tx["from"] == address:
                landed.append(tx["hash"].to_0x_hex().lower())
    assert len(landed) == net.w3.eth.get_transaction_count(address) - nonce0
    assert all(h in intents for h in landed), "a landed tx is missing from the intents table"
    seen: dict[int, int] = {}
    for h in landed:
        for job in intents[h].job_ids:
            seen[job] = seen.get(job, 0) + 1
    duplicates = sum(n - 1 for n in seen.values())
    reverted = sum(net.w3.eth.get_transaction_receipt(h)["status"] == 0 for h in landed)
    print(  # noqa: T201 - the figures of the run, shown with -s
        f"\ncrash: jobs={len(ids)} kills={kills} settled={sum(i in settled for i in ids)} "
        f"expired={sum(i in expired for i in ids)} landed_txs={len(landed)} reverted={reverted} "
        f"duplicates={duplicates} intents={len(intents)}"
    )
    assert duplicates == 0
    assert reverted == 0
