"""Pool ledgers: a single settlement leaves the pool's share and the protocol fee in the escrow's
per-pool ledger; the relayer pays the ledgers its single settlements entered within
`flush_interval_s` (flushPoolRewards through its transaction manager), sends nothing when a batch
paid them, keeps that duty across a SIGKILL, and `pha-relayer flush` shows and pays them.

Judged on chain: the ledger views, PoolRewardsFlushed / SettlementPaid / Rewarded events and the
Staking contract's token balance."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pha.fmt import amount_json, format_pha
from relayer.cli import main
from relayer.store import Store
from tests.relayer.conftest import (
    RelayerThread,
    ended,
    make_settings,
    measurement_of,
    relayer_config,
    spawn_relayer,
    stop_relayer,
    wait_until,
)

pytestmark = pytest.mark.slow


def owed(net, pool: int) -> tuple[int, int]:
    e = net.escrow.functions
    return int(e.poolRewardsOwed(pool).call()), int(e.poolFeesOwed(pool).call())


def clean(net) -> None:
    """Start from an empty ledger (an earlier test may have left one)."""
    if owed(net, net.pool) != (0, 0):
        assert net.send(net.escrow.functions.flushPoolRewards([net.pool]), net.gov)["status"] == 1


def staking_balance(net) -> int:
    return int(net.c["token"].functions.balanceOf(net.c["staking"].address).call())


def our_single_shares(net, start: int) -> list[Any]:
    """SettlementPaid of our single settlements (jobs == 1, by the relayer key) since `start`."""
    events = net.escrow.events.SettlementPaid().get_logs(from_block=start)
    return [
        e for e in events if e["args"]["relayer"] == net.relayer.address and e["args"]["poolId"] == net.pool
    ]


def flushed(net, start: int) -> list[Any]:
    return [
        e
        for e in net.escrow.events.PoolRewardsFlushed().get_logs(from_block=start)
        if e["args"]["poolId"] == net.pool
    ]


def purposes(store: Store) -> list[str]:
    return [i.purpose for i in store.all_intents()]


def single_settled_and_marked(net, honest, tmp_path: Path, **kw: Any) -> tuple[int, Path]:
    """One job settled alone by a relayer that does not flush (its ledger left unpaid, the pool
    marked in its database); returns (the pool's share, the database path)."""
    start = net.w3.eth.block_number
    settings = make_settings(
        net, tmp_path, [honest.url], start_block=start, batch_size=1, flush_interval_s=0, **kw
    )
    [job] = net.post_jobs(1, measurement_of(honest.url))
    with RelayerThread(settings) as r:
        wait_until(lambda: ended(net, [job]), 30, "job settled")
        wait_until(lambda: net.pool in r.relayer.store.unpaid_pools(), 15, "pool marked unpaid")
    [paid] = our_single_shares(net, start)
    assert owed(net, net.pool)[0] == paid["args"]["poolAmount"] > 0
    return int(paid["args"]["poolAmount"]), Path(settings.db_path)


def test_single_settlements__ledger_paid_after_the_interval_staking_gets_every_share(mined, honest, tmp_path):
    net = mined
    clean(net)
    start = net.w3.eth.block_number
    staked0 = staking_balance(net)
    interval = 3
    settings = make_settings(
        net, tmp_path, [honest.url], start_block=start, batch_size=1, flush_interval_s=interval
    )
    ids = net.post_jobs(3, measurement_of(honest.url))
    with RelayerThread(settings) as r:
        wait_until(lambda: ended(net, ids), 30, "jobs settled")
        wait_until(lambda: owed(net, net.pool) == (0, 0), 20, "ledger paid")
        store = r.relayer.store
        wait_until(lambda: store.unpaid_pools() == {}, 10, "pool no longer marked unpaid")
        metrics = r.relayer.metrics
        flush_intents = [i for i in store.all_intents() if i.purpose == "flush_pools"]
        assert metrics.flushes_sent._value.get() == len(flush_intents) >= 1
        assert metrics.pools_flushed._value.get() == len(flush_intents)
        assert sorted(purposes(store)) == sorted(["settle"] * 3 + ["flush_pools"] * len(flush_intents))
    shares = our_single_shares(net, start)
    assert len(shares) == 3 and all(e["args"]["jobs"] == 1 for e in shares)
    total = sum(e["args"]["poolAmount"] for e in shares)
    fees = sum(e["args"]["feeAmount"] for e in shares)
    paid = flushed(net, start)
    # Every share reached the pool, through our flush transactions only, each one that landed ok.
    assert sum(e["args"]["reward"] for e in paid) == total
    assert sum(e["args"]["fee"] for e in paid) == fees
    assert {e["transactionHash"].to_0x_hex() for e in paid} <= {i.tx_hash for i in flush_intents}
    assert all(net.w3.eth.get_transaction_receipt(i.tx_hash)["status"] == 1 for i in flush_intents)
    assert staking_balance(net) - staked0 == total
    rewarded = net.c["staking"].events.Rewarded().get_logs(from_block=start)
    assert sum(e["args"]["amount"] for e in rewarded if e["args"]["payer"] == net.escrow.address) == total
    # Not flushed before the interval: the first flush lands >= interval after the first share.
    first_share = net.w3.eth.get_block(min(e["blockNumber"] for e in shares))["timestamp"]
    first_flush = net.w3.eth.get_block(min(e["blockNumber"] for e in paid))["timestamp"]
    assert interval <= first_flush - first_share <= interval + 10


def test_batch_settlement__pays_the_ledger_and_no_flush_is_sent(mined, honest, tmp_path):
    net = mined
    clean(net)
    share, db = single_settled_and_marked(net, honest, tmp_path)
    start = net.w3.eth.block_number
    m = measurement_of(honest.url)
    # Same database; a long interval: only the batch may pay the ledger here.
    settings = make_settings(
        net, tmp_path, [honest.url], start_block=start, batch_size=3, batch_wait=30, flush_interval_s=600
    )
    assert Path(settings.db_path) == db
    with RelayerThread(settings) as r:
        store = r.relayer.store
        assert net.pool in store.unpaid_pools()
        ids = net.post_jobs(3, m)
        wait_until(lambda: ended(net, ids), 30, "batch settled")
        wait_until(lambda: store.unpaid_pools() == {}, 10, "the batch's PoolRewardsFlushed clears the mark")
        assert owed(net, net.pool) == (0, 0)
        [paid] = flushed(net, start)
        batch = next(i for i in store.all_intents() if i.purpose == "settle_batch")
        assert paid["transactionHash"].to_0x_hex() == batch.tx_hash and paid["args"]["reward"] == share
        # A batch into an empty ledger is no single settlement: the pool stays unmarked.
        more = net.post_jobs(3, m)
        wait_until(lambda: ended(net, more), 30, "second batch settled")
        wait_until(lambda: r.relayer.store.count_by_state().get("settled") == 7, 15, "settled in the db")
        assert store.unpaid_pools() == {}
        assert r.relayer.metrics.flushes_sent._value.get() == 0
        assert "flush_pools" not in purposes(store)
    assert len(flushed(net, start)) == 1


def test_relayer_sigkilled_with_an_unpaid_ledger__pays_it_after_restart(mined, honest, tmp_path):
    net = mined
    clean(net)
    start = net.w3.eth.block_number
    interval = 6
    config = relayer_config(
        net, tmp_path, honest.url, start, name="relayer0", batch_size=1, flush_interval_s=interval
    )
    log = tmp_path / "relayer.log"
    key = net.relayer.key.hex()
    proc = spawn_relayer(config, key, log)
    try:
        [job] = net.post_jobs(1, measurement_of(honest.url))
        wait_until((tmp_path / "relayer0.db").exists, 20, "the relayer's database")
        store = Store(tmp_path / "relayer0.db")
        wait_until(lambda: net.pool in store.unpaid_pools(), 30, "pool marked unpaid")
        proc.send_signal(signal.SIGKILL)  # before the interval is over: nothing flushed yet
        proc.wait(10)
        assert ended(net, [job])
        [single] = our_single_shares(net, start)
        share = int(single["args"]["poolAmount"])
        assert owed(net, net.pool)[0] == share > 0 and flushed(net, start) == []
        proc = spawn_relayer(config, key, log)
        wait_until(lambda: owed(net, net.pool) == (0, 0), 30, "ledger paid after the restart")
        wait_until(lambda: store.unpaid_pools() == {}, 10, "mark cleared")
    finally:
        stop_relayer(proc)
    [paid] = flushed(net, start)
    flush_intents = {i.tx_hash: i for i in store.all_intents() if i.purpose == "flush_pools"}
    assert paid["transactionHash"].to_0x_hex() in flush_intents and paid["args"]["reward"] == share
    assert len(flush_intents) == 1
    store.close()


def test_cli_flush__shows_the_ledger_then_pays_it_once(mined, honest, tmp_path, monkeypatch):
    net = mined
    clean(net)
    share, db = single_settled_and_marked(net, honest, tmp_path)
    reward, fee = owed(net, net.pool)
    config = relayer_config(net, tmp_path, honest.url, net.deploy_block, db_path=str(db))
    monkeypatch.setenv("PHA_RELAYER_PRIVATE_KEY", net.relayers[1].key.hex())  # any key may flush
    runner = CliRunner()

    shown = runner.invoke(main, ["flush", "--config", str(config)])  # pools from the database
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip() == f"pool {net.pool}: reward {format_pha(reward)}, fee {format_pha(fee)}"
    assert owed(net, net.pool) == (reward, fee)
    document = json.loads(runner.invoke(main, ["flush", "--config", str(config), "--json"]).output)
    assert document == {
        "pools": [{"pool_id": net.pool, "reward": amount_json(reward), "fee": amount_json(fee)}],
        "flushed": None,
    }

    staked0 = staking_balance(net)
    sent = runner.invoke(main, ["flush", "--config", str(config), "--pool", str(net.pool), "--send"])
    assert sent.exit_code == 0, sent.output
    assert f"flushed pool {net.pool} {format_pha(share)} (fee {format_pha(fee)})" in sent.output
    assert owed(net, net.pool) == (0, 0)
    assert staking_balance(net) - staked0 == share

    again = runner.invoke(main, ["flush", "--config", str(config), "--pool", str(net.pool), "--send"])
    assert again.exit_code == 1 and f"nothing owed in pool(s) {net.pool}" in again.output
    assert "Traceback" not in again.output
    bad = runner.invoke(main, ["flush", "--config", str(config), "--pool", "0"])
    assert bad.exit_code == 2 and "--pool" in bad.output


def test_cli_flush__no_database_and_no_pool__one_line(tmp_path, monkeypatch):
    cfg = {"rpc_urls": ["http://127.0.0.1:1"], "escrow": "0x" + "ab" * 20, "registry": "0x" + "12" * 20}
    cfg["db_path"] = str(tmp_path / "none.db")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(cfg))
    result = CliRunner().invoke(main, ["flush", "--config", str(path)])
    assert result.exit_code == 1 and "no database at" in result.output and "--pool" in result.output
