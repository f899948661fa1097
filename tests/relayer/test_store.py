"""The relayer's store, the same tests on both backends: SQLite (a file) and a real PostgreSQL 16
(pgserver, started once per session). Migrations, every table's reads and writes, the nonce
guard, and the leader lease with fencing (a stale token writes nothing)."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from pha.escrow.spec import JobSpec
from relayer.dialect import SqliteDialect, StoreUrlError, dialect_for
from relayer.migrations import STEPS, SchemaError
from relayer.store import Job, LeaseLostError, NonceReusedError, Store, StoreMissingError, open_existing

WORKER = "0x" + "ab" * 20


def _job(job_id: int, state: str = "new", **kw: object) -> Job:
    spec = JobSpec(
        measurement_id=bytes([job_id % 256]) * 32, input_hash=b"\x01" * 32, relay_fee=10**18 + job_id,
        deadline=2**40 + job_id, worker=WORKER, max_tcb_status=2,
    )  # fmt: skip
    return Job(job_id=job_id, state=state, client=WORKER, payment=2**100, spec=spec, input=b"\x00in\xff",
               posted_block=7, **kw)  # type: ignore[arg-type]  # fmt: skip


def _intent(store: Store, db, nonce: int, tx_hash: str, replaces: int | None = None, jobs=(1,)) -> int:
    return store.add_intent(
        db, nonce=nonce, purpose="settle", job_ids=list(jobs), raw_tx=b"\x02raw", tx_hash=tx_hash,
        max_fee=200 * 10**9, priority_fee=10**6, gas=300_000, worker=WORKER, replaces=replaces,
    )  # fmt: skip


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


# ---------------------------------------------------------------------- migrations


def test_fresh_store__every_migration_applied_once_reopen_is_a_no_op(store_url):
    first = Store(store_url)
    assert first.schema_version == len(STEPS) == 2
    with first.tx() as db:
        first.add_job(db, _job(1))
    first.close()
    again = Store(store_url)
    assert again.schema_version == 2 and again.job(1) is not None
    rows = again.db.execute("SELECT version FROM schema_version").fetchall()
    assert [int(r["version"]) for r in rows] == [2]
    again.close()


def test_sqlite_file_of_a_relayer_before_migrations__taken_over_with_its_rows(tmp_path):
    """A database written by the relayer before schema versions: step 1 is a no-op on it, step 2
    adds the lease table and the intents' fence column; its rows stay."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(SqliteDialect(str(path)).ddl(STEPS[0]))
    old.execute("INSERT INTO blocks(number, hash) VALUES (41, '0xabc')")
    old.execute(
        "INSERT INTO intents(nonce, purpose, job_ids, raw_tx, tx_hash, max_fee, priority_fee, gas, status,"
        " created_at) VALUES (3, 'settle', '[5]', x'02', '0x01', 1, 1, 1, 'final', 0)"
    )
    old.commit()
    old.close()
    store = Store(path)  # a plain path: the db_path setting of those relayers
    assert store.schema_version == 2
    assert store.checkpoint() == (41, "0xabc")
    (intent,) = store.all_intents()
    assert intent.nonce == 3 and intent.job_ids == [5] and intent.fence is None
    assert store.acquire_lease("leader", "a", 5) == 1
    store.close()


def test_store_newer_than_the_code__refused_in_one_line(store_url):
    s = Store(store_url)
    with s.tx() as db:
        db.execute("UPDATE schema_version SET version = 99")
    s.close()
    with pytest.raises(SchemaError, match="version 99, newer than this relayer knows"):
        Store(store_url)


def test_store_urls__parsed_or_refused_in_one_line(tmp_path):
    assert dialect_for("sqlite:///rel/a.db").target == "rel/a.db"
    assert dialect_for("sqlite:////abs/a.db").target == "/abs/a.db"
    assert dialect_for(tmp_path / "x.db").name == "sqlite"
    assert dialect_for("postgres://u@h/db").name == "postgresql"
    assert dialect_for("postgresql://u:secret@h:5433/db").describe() == "postgresql://u:***@h:5433/db"
    with pytest.raises(StoreUrlError, match="mysql:// is not supported"):
        dialect_for("mysql://h/db")
    with pytest.raises(StoreUrlError, match="sqlite:///relative/path"):
        dialect_for("sqlite://x.db")
    with pytest.raises(StoreMissingError, match="no database at"):
        open_existing(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_unreachable_postgres__one_line_naming_the_store_without_its_password(tmp_path):
    with pytest.raises(StoreUrlError, match=r"cannot connect to the store postgresql://u:\*\*\*@") as caught:
        Store(f"postgresql://u:hunter2@/db?host={tmp_path}")
    assert "hunter2" not in str(caught.value) and "\n" not in str(caught.value)


# ---------------------------------------------------------------------- jobs, blocks, ledgers


def test_jobs__round_trip_of_every_column_type(store):
    with store.tx() as db:
        assert store.add_job(db, _job(1))
        assert not store.add_job(db, _job(1, state="ready"))  # known: the first row stays
        assert store.add_job(db, _job(2))
    job = store.job(1)
    assert job is not None and job == _job(1)  # bytes, big ints (as text), the spec
    store.update_job(job_id=1, tried=["0xw1"], attempts=1, output=b"\x00out", ready_at=1.5, state="ready")
    job = store.job(1)
    assert job is not None and (job.tried, job.attempts, job.output, job.ready_at) == (
        ["0xw1"],
        1,
        b"\x00out",
        1.5,
    )
    assert [j.job_id for j in store.jobs_in(["new", "ready"])] == [1, 2]
    assert store.count_by_state() == {"ready": 1, "new": 1}
    assert store.job(3) is None


def test_update_job_if__only_from_the_expected_state(store):
    with store.tx() as db:
        store.add_job(db, _job(1, state="running"))
        assert store.update_job_if(db, 1, ["ready"], state="settled") == 0
        assert store.job_state(db, 1) == "running"
        assert store.update_job_if(db, 1, ["running", "new"], state="ready") == 1
        assert store.job_state(db, 1) == "ready"
        assert store.job_state(db, 9) is None


def test_requeue_running__gives_back_the_interrupted_try(store):
    with store.tx() as db:
        store.add_job(db, _job(1, state="running"))
        store.add_job(db, _job(2, state="ready"))
    store.update_job(job_id=1, attempts=2, tried=["0xa", "0xb"])
    assert store.requeue_running() == 1
    job = store.job(1)
    assert job is not None and (job.state, job.attempts, job.tried) == ("new", 1, ["0xa"])
    assert store.job(2).state == "ready"  # type: ignore[union-attr]


def test_refused__jobs_a_worker_refused_with_the_reason(store):
    with store.tx() as db:
        store.add_job(db, _job(1))
        store.add_job(db, _job(2))
    store.update_job(job_id=2, reason="0xw 400 bad input")
    assert store.refused() == [(2, "0xw 400 bad input")]


def test_checkpoint_and_reorg_rewind(store):
    with store.tx() as db:
        for n in range(10, 16):
            store.set_checkpoint(db, n, f"0x{n:02x}", keep=3)
        store.add_job(db, _job(1))
        store.add_job(db, _job(2))
        store.update_job(db, 2, posted_block=15)
        store.update_job(db, 1, state="settled", ended_block=14)
        store.mark_unpaid(db, 4, since=100, block=12)
        store.mark_paid(db, [4], 14)
        store.set_checkpoint(db, 15, "0xnew", keep=3)  # the same block again: its hash replaced
    assert store.block_hashes_desc() == [(15, "0xnew"), (14, "0x0e"), (13, "0x0d"), (12, "0x0c")]
    with store.tx() as db:
        iid = _intent(store, db, 0, "0xt1")
        store.update_intent(db, iid, status="final", mined_block=14, mined_hash="0xm")
        store.rewind(db, 13)
    assert store.checkpoint() == (13, "0x0d")
    assert store.job(2) is None  # posted in a replaced block
    assert store.job(1).state == "closing"  # type: ignore[union-attr]  # its end is re-checked
    intent = store.intent(iid)
    assert intent is not None and (intent.status, intent.mined_block) == ("signed", None)
    assert store.unpaid_pools() == {4: 100}


def test_pool_ledgers__unpaid_keeps_the_oldest_since_paid_clears(store):
    with store.tx() as db:
        store.mark_unpaid(db, 1, since=100, block=10)
        store.mark_unpaid(db, 1, since=200, block=20)  # still unpaid: the older mark stays
        store.mark_unpaid(db, 2, since=150, block=15)
    assert store.unpaid_pools() == {1: 100, 2: 150}
    store.mark_paid(None, [1], 30)
    assert store.unpaid_pools() == {2: 150}
    with store.tx() as db:
        store.mark_unpaid(db, 1, since=300, block=31)  # paid, then entered again: a new since
    assert store.unpaid_pools() == {1: 300, 2: 150}
    assert store.known_pools() == [1, 2]


def test_meta__bound_once(store):
    assert store.get_meta("deployment") is None
    assert store.bind_meta("deployment", "1:0xa") == "1:0xa"
    assert store.bind_meta("deployment", "2:0xb") == "1:0xa"  # the first binding stays
    assert store.get_meta("deployment") == "1:0xa"


# ---------------------------------------------------------------------- intents and nonces


def test_intents__recorded_followed_and_replaced(store):
    with store.tx() as db:
        a = _intent(store, db, 5, "0xa", jobs=(1, 2))
        b = _intent(store, db, 6, "0xb")
        c = _intent(store, db, 5, "0xc", replaces=a)  # same nonce, higher fees
        store.update_intent(db, a, replaced_by=c)
    assert b > a and c > b
    assert store.max_nonce() == 6
    first = store.intent(a)
    assert first is not None and first.job_ids == [1, 2] and first.raw_tx == b"\x02raw"
    assert first.replaced_by == c and first.status == "signed" and first.fence is None
    assert [i.id for i in store.intents_with_nonce(5)] == [a, c]
    store.update_intent(intent_id=b, status="sent", sent_at=3.25)
    assert [i.id for i in store.intents_in(["sent"])] == [b]
    assert [i.tx_hash for i in store.all_intents()] == ["0xa", "0xb", "0xc"]


def test_nonce_used_twice__refused_in_the_transaction_nothing_recorded(store):
    with store.tx() as db:
        a = _intent(store, db, 5, "0xa")
    for nonce, replaces in ((5, None), (4, None), (6, a)):
        with pytest.raises(NonceReusedError), store.tx() as db:
            store.update_job(db, 0, state="x")  # a write in the same transaction
            _intent(store, db, nonce, f"0x{nonce}{replaces}", replaces=replaces)
    assert [i.tx_hash for i in store.all_intents()] == ["0xa"]


# ---------------------------------------------------------------------- leases and fencing


def test_lease__one_holder_renewed_taken_after_expiry_with_a_new_token(store_url):
    a, b = Store(store_url), Store(store_url)
    try:
        assert a.acquire_lease("leader", "a", 1.0) == 1
        assert b.acquire_lease("leader", "b", 1.0) is None  # a holds it
        assert a.acquire_lease("leader", "a", 1.0) == 1  # ours: renewed, same token
        assert a.renew_lease("leader", "a", 1, 1.0)
        lease = b.lease("leader")
        assert lease is not None and lease.holder == "a" and 0.5 < lease.expires_in <= 1.0
        time.sleep(1.1)
        assert not a.renew_lease("leader", "a", 1, 1.0)  # expired: renewal refused
        assert b.acquire_lease("leader", "b", 5.0) == 2
        assert a.acquire_lease("leader", "a", 5.0) is None
        assert not a.renew_lease("leader", "a", 1, 5.0)
        b.release_lease("leader", "b", 2)
        assert a.acquire_lease("leader", "a", 5.0) == 3  # released: taken at once
    finally:
        a.close()
        b.close()


def test_fence__a_replica_that_lost_its_lease_records_nothing(store_url):
    """The attack: replica a leads, pauses past its lease, b takes over; a resumes and writes as
    if still leading (a job result, a transaction with the next nonce). The store refuses both."""
    a, b = Store(store_url), Store(store_url)
    try:
        token = a.acquire_lease("leader", "a", 1.0)
        assert token == 1
        a.fence("leader", "a", token, 1.0)
        with a.tx() as db:
            a.add_job(db, _job(1))
            first = _intent(a, db, 0, "0xa0")
        assert a.intent(first).fence == 1  # type: ignore[union-attr]
        time.sleep(1.1)  # "paused"
        assert b.acquire_lease("leader", "b", 5.0) == 2
        b.fence("leader", "b", 2, 5.0)
        assert not a.holds_lease() and b.holds_lease()
        with pytest.raises(LeaseLostError, match="token 1 is lost"), a.tx() as db:
            a.update_job(db, 1, state="ready", output=b"stale")
        with pytest.raises(LeaseLostError):
            a.update_job(job_id=1, state="settled")
        with pytest.raises(LeaseLostError), a.tx() as db:
            _intent(a, db, 1, "0xa1")
        with b.tx() as db:
            second = _intent(b, db, 1, "0xb1")
        assert a.job(1).state == "new"  # type: ignore[union-attr]
        assert [(i.tx_hash, i.fence) for i in a.all_intents()] == [("0xa0", 1), ("0xb1", 2)]
        assert second > first
    finally:
        a.close()
        b.close()


def test_fence__paused_inside_a_transaction__takeover_waits_the_idle_timeout_paused_write_lost(postgres):
    """Replica a is stopped in the middle of a fenced transaction (its lease check passed, its
    write done, no commit yet): its row lock would hold a takeover back, so PostgreSQL ends the
    idle session after half the lease; b then takes over, and a's write never lands. (PostgreSQL
    only: SQLite has one writer at a time and no session timeout, so replicas need PostgreSQL.)"""
    store_url = postgres.new_database()
    a, b = Store(store_url), Store(store_url)
    try:
        with a.tx() as db:
            a.add_job(db, _job(1))
        token = a.acquire_lease("leader", "a", 2.0)
        assert token is not None
        a.fence("leader", "a", token, 2.0)
        paused = a.tx()
        db = paused.__enter__()
        a.update_job(db, 1, state="ready", output=b"from a paused leader")
        started = time.monotonic()
        while (got := b.acquire_lease("leader", "b", 5.0)) is None:
            time.sleep(0.1)
        waited = time.monotonic() - started
        assert got == token + 1
        assert waited < 2.0 + 0.5  # the lease's length, then at once
        with pytest.raises(Exception):  # noqa: B017 - the server closed a's session: the commit fails
            paused.__exit__(None, None, None)
        assert b.job(1).state == "new"  # type: ignore[union-attr]
        # a opens a new connection for its next transaction, and is fenced there.
        with pytest.raises(LeaseLostError), a.tx() as db:
            a.update_job(db, 1, state="ready")
    finally:
        a.close()
        b.close()


def test_two_stores_migrating_at_once__both_open_at_the_last_version(store_url):
    import threading

    results: list[int] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            s = Store(store_url)
            results.append(s.schema_version)
            s.close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and results == [2, 2, 2, 2]


def test_json_columns_survive_both_engines(store):
    with store.tx() as db:
        store.add_job(db, _job(1))
        _intent(store, db, 0, "0xj", jobs=(2**62, 1))
    assert store.all_intents()[0].job_ids == [2**62, 1]
    store.update_job(job_id=1, tried=json.loads('["0xa", "0xb"]'))
    assert store.job(1).tried == ["0xa", "0xb"]  # type: ignore[union-attr]


def test_fence__a_replica_that_lost_its_lease_does_not_broadcast_recorded_bytes(store_url):
    """Paused between recording a transaction and sending it: on resuming after a takeover the
    old leader does not send (the new leader sends the same recorded bytes itself)."""
    import asyncio

    from relayer.chain.txmanager import TxManager
    from relayer.settings import load_settings
    from relayer.signer import LocalSigner

    settings = load_settings(None, rpc_urls=["http://a"], escrow=WORKER, registry=WORKER)
    a, b = Store(store_url), Store(store_url)
    try:
        a.fence("leader", "a", a.acquire_lease("leader", "a", 1.0), 1.0)
        with a.tx() as db:
            iid = _intent(a, db, 0, "0xa0")
        time.sleep(1.1)
        assert b.acquire_lease("leader", "b", 5.0) == 2
        # no RPC: a send would fail on it, so returning quietly means nothing was sent
        txm = TxManager(None, a, LocalSigner.from_key("0x" + "4c" * 32), 1, settings)  # type: ignore[arg-type]
        intent = a.intent(iid)
        assert intent is not None
        asyncio.run(txm.broadcast(intent))
        assert a.intent(iid).status == "signed"  # type: ignore[union-attr]
    finally:
        a.close()
        b.close()


def test_status_cli__reads_either_store_names_the_leader(store_url, tmp_path):
    from click.testing import CliRunner

    from relayer.cli import main

    s = Store(store_url)
    s.bind_meta("deployment", "20350:0xescrow")
    s.acquire_lease("leader", "relayer-a", 30.0)
    with s.tx() as db:
        s.add_job(db, _job(1))
    s.close()
    config = tmp_path / "relayer.json"
    config.write_text(
        json.dumps({"rpc_urls": ["http://a"], "escrow": WORKER, "registry": WORKER, "store": store_url})
    )
    result = CliRunner().invoke(main, ["status", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (
        data["deployment"] == "20350:0xescrow" and data["schema_version"] == 2 and data["jobs"] == {"new": 1}
    )
    assert data["leader"]["replica"] == "relayer-a" and data["leader"]["token"] == 1


def test_sqlite_store_url_in_a_config_file__relative_to_it(tmp_path):
    from relayer.settings import load_settings

    config = tmp_path / "conf" / "relayer.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"rpc_urls": ["http://a"], "escrow": WORKER, "registry": WORKER,
                                  "store": "sqlite:///state/relayer.db"}))  # fmt: skip
    target = load_settings(config).store_target()
    assert target == f"sqlite:///{tmp_path}/conf/state/relayer.db"
    Store(target).close()
    assert (tmp_path / "conf" / "state" / "relayer.db").exists()
