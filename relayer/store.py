"""The relayer's persistent state, on SQLite (one file, WAL mode: the embedded default) or on
PostgreSQL (shared by several replicas), behind one interface; relayer/dialect.py holds what differs.

- `jobs`: one row per job seen on chain, with its state (see relayer.decide) and what is known
  about it (spec, input, the verified result, the claim, how it ended).
- `blocks`: recent scanned block hashes (the checkpoint is the highest row) for reorg detection.
- `intents`: every transaction, written BEFORE it is sent (nonce, raw signed bytes, hash, purpose,
  job ids, the fencing token it was recorded under), so that after a crash the same bytes are
  re-sent, never a second transaction for the same work.
- `pool_ledgers`: the pools whose escrow ledger our single settlements entered and that are not
  known to be paid yet (see `Relayer._pay_ledgers`), written with the events that tell it.
- `leases`: who may write (relayer/store.py "Leases and fencing"); `meta`, `schema_version`.

All writes go through short transactions (`tx()`, never an await inside one); the connection is
used from the event loop's thread. The schema is migrated at open (relayer/migrations.py).

Leases and fencing: replicas sharing a store elect a leader with a lease row (holder, token,
expiry on the database's clock). Taking a free or expired lease increments its token; the
holder renews it well before it expires. Once `fence(token)` is set, every transaction of this
store first checks, under a row lock, that the lease still has that token, this holder and time
left, and raises `LeaseLostError` otherwise: a replica that lost its lease (paused, partitioned) records
nothing more, however far it had got. The lock makes a takeover wait for a fenced transaction in
progress; PostgreSQL ends a session left idle in a transaction (a paused replica) after a timeout
under the lease's length, so the takeover never waits longer, and the paused transaction rolls back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pha.escrow.spec import JobSpec
from relayer.dialect import Conn, SqliteDialect, dialect_for
from relayer.migrations import migrate
from relayer.settings import SettingsError

# pool_ledgers: `since` is the chain time (block timestamp) of our first single settlement entered
# in the pool's ledger since it was last paid, `block` that settlement's block; `paid_block` the
# block that showed it paid (PoolRewardsFlushed, or the ledger read empty), NULL while unpaid.

# Intent statuses: signed (persisted, maybe not sent) -> sent -> mined (receipt seen) -> final
# (confirmed) | failed (reverted, confirmed) | dropped (its nonce was used by another tx).
OPEN_INTENT = ("signed", "sent", "mined")


@dataclass
class Job:
    """A jobs row."""

    job_id: int
    state: str
    client: str
    payment: int
    spec: JobSpec
    input: bytes
    posted_block: int
    attempts: int = 0
    tried: list[str] = field(default_factory=list)
    worker: str | None = None
    output: bytes | None = None
    signature: bytes | None = None
    ready_at: float | None = None
    intent_id: int | None = None
    claimer: str | None = None
    pool_id: int | None = None
    ended_block: int | None = None
    settled_by: str | None = None
    reason: str | None = None


@dataclass
class Intent:
    """An intents row: one signed transaction."""

    id: int
    nonce: int
    purpose: str
    job_ids: list[int]
    raw_tx: bytes
    tx_hash: str
    max_fee: int
    priority_fee: int
    gas: int
    worker: str | None
    status: str
    sent_at: float | None
    mined_block: int | None
    mined_hash: str | None
    gas_used: int | None
    replaced_by: int | None
    created_at: float
    fence: int | None = None
    """The lease's fencing token it was recorded under (None: a relayer without a lease)."""


class LeaseLostError(RuntimeError):
    """This store's lease is lost (expired, or taken by another replica): nothing was written."""


@dataclass(frozen=True)
class Lease:
    """A leases row, as the database's clock sees it now."""

    name: str
    holder: str
    token: int
    expires_in: float
    """Seconds of the lease left (negative: expired that long ago)."""


_SPECS: dict[tuple[object, ...], JobSpec] = {}
"""JobSpec (immutable) by its stored columns: the loop reads every open job each step, and building
a JobSpec checksums its address (a keccak) every time."""


def _spec(row: Mapping[str, Any]) -> JobSpec:
    key = (row["measurement"], row["input_hash"], row["relay_fee"], row["deadline"], row["chosen_worker"],
           row["max_tcb"])  # fmt: skip
    spec = _SPECS.get(key)
    if spec is None:
        if len(_SPECS) >= 100_000:
            _SPECS.clear()
        spec = _SPECS[key] = JobSpec(
            measurement_id=row["measurement"],
            input_hash=row["input_hash"],
            relay_fee=int(row["relay_fee"]),
            deadline=row["deadline"],
            worker=row["chosen_worker"],
            max_tcb_status=row["max_tcb"],
        )
    return spec


def _job(row: Mapping[str, Any]) -> Job:
    spec = _spec(row)
    return Job(
        job_id=row["job_id"],
        state=row["state"],
        client=row["client"],
        payment=int(row["payment"]),
        spec=spec,
        input=row["input"],
        posted_block=row["posted_block"],
        attempts=row["attempts"],
        tried=json.loads(row["tried"]),
        worker=row["worker"],
        output=row["output"],
        signature=row["signature"],
        ready_at=row["ready_at"],
        intent_id=row["intent_id"],
        claimer=row["claimer"],
        pool_id=row["pool_id"],
        ended_block=row["ended_block"],
        settled_by=row["settled_by"],
        reason=row["reason"],
    )


def _intent(row: Mapping[str, Any]) -> Intent:
    data = dict(row)
    data["job_ids"] = json.loads(data["job_ids"])
    return Intent(**data)


class Store:
    """The relayer's database: `Store("relayer.db")`, `Store("sqlite:///relayer.db")`,
    `Store("postgresql://...")` (relayer/dialect.py)."""

    def __init__(self, target: Path | str) -> None:
        self.dialect = dialect_for(target)
        self.target = self.dialect.describe()
        self._raw: Any = None
        self._fence: tuple[str, str, int] | None = None
        self._idle_timeout: float | None = None
        self.db = self._connect()
        self.schema_version = migrate(self.db, self.dialect)

    def _connect(self) -> Conn:
        self._raw = self.dialect.connect()
        return Conn(self._raw, self.dialect)

    def _live(self) -> Conn:
        """The connection, opened again if the server closed it (a restart, or the idle-in-transaction
        timeout ending a paused replica's session: that transaction was rolled back)."""
        if getattr(self._raw, "closed", False):
            self.db = self._connect()
            if self._idle_timeout is not None:
                self.dialect.set_idle_timeout(self._raw, self._idle_timeout)
        return self.db

    def _q(self, sql: str, params: Iterable[object] = ()) -> Any:
        return self._live().execute(sql, tuple(params))

    def close(self) -> None:
        self._raw.close()

    @contextmanager
    def tx(self) -> Iterator[Conn]:
        """One atomic write transaction; with a fence set, refused (`LeaseLostError`) unless this store
        still holds the lease with the fence's token (checked first, under a row lock)."""
        db = self._live()
        with self.dialect.transaction(db.raw):
            if self._fence is not None:
                name, holder, token = self._fence
                row = db.execute(
                    "SELECT token FROM leases WHERE name = ? AND holder = ? AND token = ?"
                    f" AND expires_at > {self.dialect.now}{self.dialect.lock_shared}",
                    (name, holder, token),
                ).fetchone()
                if row is None:
                    raise LeaseLostError(f"lease {name!r} token {token} is lost: nothing recorded")
            yield db

    # ------------------------------------------------------------------ leases and fencing

    def acquire_lease(self, name: str, holder: str, ttl_s: float) -> int | None:
        """Take the lease if it is free, expired or already ours (then renewed); its fencing token,
        or None while another holder's lease runs. Taking it from anyone (or after it expired)
        increments the token, so a previous holder's token is stale from then on."""
        now = self.dialect.now
        db = self._live()
        with self.dialect.transaction(db.raw):
            row = db.execute(
                f"SELECT holder, token, expires_at - {now} AS left_s FROM leases WHERE name = ?"
                f"{self.dialect.lock_update}",
                (name,),
            ).fetchone()
            if row is None:
                db.execute(
                    f"INSERT INTO leases (name, holder, token, expires_at) VALUES (?, ?, 1, {now} + ?)",
                    (name, holder, ttl_s),
                )
                return 1
            if row["holder"] == holder and float(row["left_s"]) > 0:
                token = int(row["token"])
            elif float(row["left_s"]) > 0:
                return None
            else:
                token = int(row["token"]) + 1
            db.execute(
                f"UPDATE leases SET holder = ?, token = ?, expires_at = {now} + ? WHERE name = ?",
                (holder, token, ttl_s, name),
            )
            return token

    def renew_lease(self, name: str, holder: str, token: int, ttl_s: float) -> bool:
        """Extend our unexpired lease by `ttl_s` from now; False if it is lost (expired or taken)."""
        now = self.dialect.now
        with self.dialect.transaction(self._live().raw):
            cur = self.db.execute(
                f"UPDATE leases SET expires_at = {now} + ? WHERE name = ? AND holder = ? AND token = ?"
                f" AND expires_at > {now}",
                (ttl_s, name, holder, token),
            )
            return int(cur.rowcount) == 1

    def release_lease(self, name: str, holder: str, token: int) -> None:
        """Give the lease up (a clean stop): another replica may take it at once."""
        with self.dialect.transaction(self._live().raw):
            self.db.execute(
                f"UPDATE leases SET expires_at = {self.dialect.now} - 1 WHERE name = ? AND holder = ?"
                " AND token = ?",
                (name, holder, token),
            )

    def lease(self, name: str) -> Lease | None:
        row = self._q(
            f"SELECT name, holder, token, expires_at - {self.dialect.now} AS left_s FROM leases"
            " WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return Lease(str(row["name"]), str(row["holder"]), int(row["token"]), float(row["left_s"]))

    def fence(self, name: str, holder: str, token: int | None, ttl_s: float = 0.0) -> None:
        """From now on every transaction requires lease `name` held by `holder` with `token`
        (None: no fence). `ttl_s`: the lease's length; a session idle inside a transaction for
        half of it is ended by the database, releasing what a paused process holds."""
        self._fence = None if token is None else (name, holder, token)
        if token is not None and ttl_s > 0:
            self._idle_timeout = ttl_s / 2
            self.dialect.set_idle_timeout(self._live().raw, self._idle_timeout)

    @property
    def fence_token(self) -> int | None:
        return None if self._fence is None else self._fence[2]

    def holds_lease(self) -> bool:
        """With a fence: whether the lease still has our token and time left (a read, no lock)."""
        if self._fence is None:
            return True
        name, holder, token = self._fence
        row = self._q(
            "SELECT 1 AS ok FROM leases WHERE name = ? AND holder = ? AND token = ?"
            f" AND expires_at > {self.dialect.now}",
            (name, holder, token),
        ).fetchone()
        return row is not None

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        row = self._q("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def bind_meta(self, key: str, value: str) -> str:
        """Set `key` unless it is set; returns the value it has (ours, or the one already there)."""
        with self.tx() as db:
            db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING", (key, value))
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row["value"])

    # ------------------------------------------------------------------ checkpoint

    def checkpoint(self) -> tuple[int, str] | None:
        """(block number, block hash) of the last fully processed block."""
        row = self._q("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1").fetchone()
        return None if row is None else (int(row["number"]), str(row["hash"]))

    def block_hashes_desc(self) -> list[tuple[int, str]]:
        rows = self._q("SELECT number, hash FROM blocks ORDER BY number DESC").fetchall()
        return [(int(r["number"]), str(r["hash"])) for r in rows]

    def set_checkpoint(self, db: Conn, number: int, block_hash: str, keep: int) -> None:
        """Block `number` is processed (inside the transaction that applied its events); only the
        last `keep` block hashes are kept."""
        db.execute(
            "INSERT INTO blocks(number, hash) VALUES (?, ?)"
            " ON CONFLICT(number) DO UPDATE SET hash = excluded.hash",
            (number, block_hash),
        )
        db.execute("DELETE FROM blocks WHERE number < ?", (number - keep,))

    def rewind(self, db: Conn, number: int) -> None:
        """A reorg replaced the blocks above `number`: forget them and what they told."""
        db.execute("DELETE FROM blocks WHERE number > ?", (number,))
        # Ends seen in the replaced blocks may be gone: re-check those jobs.
        db.execute(
            "UPDATE jobs SET state = 'closing', updated_at = ? WHERE ended_block > ?", (time.time(), number)
        )
        # Our transactions mined in the replaced blocks: follow them again, re-sending the same
        # bytes at once (keeps the nonce sequence without a gap).
        db.execute(
            "UPDATE intents SET status = 'signed', mined_block = NULL, mined_hash = NULL"
            " WHERE mined_block > ? AND status IN ('mined', 'final', 'failed')",
            (number,),
        )
        # Postings in the replaced blocks are re-read from the new chain (ids may be reused).
        db.execute("DELETE FROM jobs WHERE posted_block > ?", (number,))
        # A ledger payment seen in the replaced blocks may be gone: unpaid again (a read decides).
        db.execute("UPDATE pool_ledgers SET paid_block = NULL WHERE paid_block > ?", (number,))

    # ------------------------------------------------------------------ jobs

    def add_job(self, db: Conn, job: Job) -> bool:
        """Insert a newly posted job (inside a `tx()`); False if it was known."""
        now = time.time()
        s = job.spec
        cur = db.execute(
            "INSERT INTO jobs(job_id, state, client, payment, measurement, input_hash,"
            " chosen_worker, relay_fee, deadline, max_tcb, input, posted_block, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(job_id) DO NOTHING",
            (
                job.job_id, job.state, job.client, str(job.payment), s.measurement_id, s.input_hash,
                s.worker, str(s.relay_fee), s.deadline, s.max_tcb_status, job.input, job.posted_block,
                now, now,
            ),
        )  # fmt: skip
        return int(cur.rowcount) == 1

    def job(self, job_id: int) -> Job | None:
        row = self._q("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def job_state(self, db: Conn, job_id: int) -> str | None:
        """A job's state read inside a transaction (None: not known)."""
        row = db.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else str(row["state"])

    def jobs_in(self, states: Iterable[str], limit: int = 10_000) -> list[Job]:
        states = list(states)
        marks = ",".join("?" * len(states))
        rows = self._q(
            f"SELECT * FROM jobs WHERE state IN ({marks}) ORDER BY job_id LIMIT ?", (*states, limit)
        ).fetchall()
        return [_job(r) for r in rows]

    def update_job(self, db: Conn | None = None, job_id: int = 0, **fields: object) -> None:
        """Set columns of a job (inside a `tx()` when `db` is given)."""
        self.update_job_if(db, job_id, None, **fields)

    def update_job_if(
        self, db: Conn | None, job_id: int, states: Iterable[str] | None, **fields: object
    ) -> int:
        """Set columns of a job if it is in one of `states` (None: any); the rows changed (0 or 1)."""
        if "tried" in fields:
            fields["tried"] = json.dumps(fields["tried"])
        fields["updated_at"] = time.time()
        where, extra = "", ()
        if states is not None:
            extra = tuple(states)
            where = f" AND state IN ({','.join('?' * len(extra))})"
        return self._update("jobs", "job_id", job_id, db, fields, where, extra)

    def requeue_running(self) -> int:
        """Jobs `running` when the relayer (or the leader) stopped: their worker calls are lost, run
        them again; the interrupted call was not the worker's failure, so it does not use up that
        worker's try. Returns how many."""
        with self.tx() as db:
            rows = db.execute("SELECT job_id, attempts, tried FROM jobs WHERE state = 'running'").fetchall()
            for row in rows:
                tried = json.loads(row["tried"])[:-1]
                db.execute(
                    "UPDATE jobs SET state = 'new', attempts = ?, tried = ? WHERE job_id = ?",
                    (max(0, int(row["attempts"]) - 1), json.dumps(tried), row["job_id"]),
                )
        return len(rows)

    def refused(self, limit: int = 100) -> list[tuple[int, str]]:
        """(job id, the last refusal) of jobs not yet ended that a worker refused (400: bad input)."""
        rows = self._q(
            "SELECT job_id, reason FROM jobs WHERE state = 'new' AND reason IS NOT NULL"
            " ORDER BY job_id LIMIT ?",
            (limit,),
        ).fetchall()
        return [(int(r["job_id"]), str(r["reason"])) for r in rows]

    def count_by_state(self) -> dict[str, int]:
        rows = self._q("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").fetchall()
        return {str(r["state"]): int(r["n"]) for r in rows}

    # ------------------------------------------------------------------ intents

    def add_intent(
        self,
        db: Conn,
        *,
        nonce: int,
        purpose: str,
        job_ids: list[int],
        raw_tx: bytes,
        tx_hash: str,
        max_fee: int,
        priority_fee: int,
        gas: int,
        worker: str | None,
        replaces: int | None = None,
    ) -> int:
        """Record a signed transaction (inside a `tx()`), under the fence's token. A new nonce must
        be above every nonce recorded (a stale replica that read an old maximum is refused here,
        in the transaction); a replacement (`replaces`: the intent id) reuses that intent's nonce."""
        if replaces is None:
            row = db.execute("SELECT MAX(nonce) AS n FROM intents").fetchone()
            if row is not None and row["n"] is not None and nonce <= int(row["n"]):
                raise NonceReusedError(f"nonce {nonce} is already used (highest {row['n']}): not recorded")
        else:
            row = db.execute("SELECT nonce FROM intents WHERE id = ?", (replaces,)).fetchone()
            if row is None or int(row["nonce"]) != nonce:
                raise NonceReusedError(f"intent {replaces} does not have nonce {nonce}: not a replacement")
        cur = db.execute(
            "INSERT INTO intents(nonce, purpose, job_ids, raw_tx, tx_hash, max_fee, priority_fee, gas,"
            " worker, status, created_at, fence) VALUES (?,?,?,?,?,?,?,?,?,'signed',?,?) RETURNING id",
            (nonce, purpose, json.dumps(job_ids), raw_tx, tx_hash, max_fee, priority_fee, gas, worker,
             time.time(), self.fence_token),
        )  # fmt: skip
        return int(cur.fetchone()["id"])

    def intent(self, intent_id: int) -> Intent | None:
        row = self._q("SELECT * FROM intents WHERE id = ?", (intent_id,)).fetchone()
        return None if row is None else _intent(row)

    def intents_in(self, statuses: Iterable[str]) -> list[Intent]:
        statuses = list(statuses)
        marks = ",".join("?" * len(statuses))
        rows = self._q(
            f"SELECT * FROM intents WHERE status IN ({marks}) ORDER BY nonce, id", statuses
        ).fetchall()
        return [_intent(r) for r in rows]

    def intents_with_nonce(self, nonce: int) -> list[Intent]:
        rows = self._q("SELECT * FROM intents WHERE nonce = ? ORDER BY id", (nonce,)).fetchall()
        return [_intent(r) for r in rows]

    def update_intent(self, db: Conn | None = None, intent_id: int = 0, **fields: object) -> None:
        self._update("intents", "id", intent_id, db, fields)

    def _update(
        self,
        table: str,
        key: str,
        row_id: int,
        db: Conn | None,
        fields: dict[str, object],
        where: str = "",
        extra: tuple[object, ...] = (),
    ) -> int:
        """UPDATE one row (table, key and column names are ours, never user input), inside the
        caller's transaction when `db` is given, else in its own; the rows changed."""
        cols = ", ".join(f"{k} = ?" for k in fields)
        sql = f"UPDATE {table} SET {cols} WHERE {key} = ?{where}"
        params = (*fields.values(), row_id, *extra)
        if db is None:
            with self.tx() as conn:
                return int(conn.execute(sql, params).rowcount)
        return int(db.execute(sql, params).rowcount)

    def max_nonce(self) -> int | None:
        row = self._q("SELECT MAX(nonce) AS n FROM intents").fetchone()
        return None if row is None or row["n"] is None else int(row["n"])

    def all_intents(self) -> list[Intent]:
        return [_intent(r) for r in self._q("SELECT * FROM intents ORDER BY id").fetchall()]

    # ------------------------------------------------------------------ pool ledgers

    def mark_unpaid(self, db: Conn, pool_id: int, since: int, block: int) -> None:
        """Our single settlement in `block` (chain time `since`) entered the pool's ledger: the pool
        is unpaid from then, unless it already was (then its older `since` stays)."""
        db.execute(
            "INSERT INTO pool_ledgers(pool_id, since, block, paid_block) VALUES (?, ?, ?, NULL)"
            " ON CONFLICT(pool_id) DO UPDATE SET since = excluded.since, block = excluded.block,"
            " paid_block = NULL WHERE pool_ledgers.paid_block IS NOT NULL",
            (pool_id, since, block),
        )

    def mark_paid(self, db: Conn | None, pool_ids: Iterable[int], block: int) -> None:
        """The pools' ledgers were paid (or read empty) at `block`."""
        rows = [(block, p) for p in pool_ids]
        sql = "UPDATE pool_ledgers SET paid_block = ? WHERE pool_id = ?"
        if db is None:
            with self.tx() as conn:
                conn.executemany(sql, rows)
        else:
            db.executemany(sql, rows)

    def unpaid_pools(self) -> dict[int, int]:
        """pool id -> `since` (chain time) of each pool whose ledger we entered, not known paid."""
        rows = self._q("SELECT pool_id, since FROM pool_ledgers WHERE paid_block IS NULL").fetchall()
        return {int(r["pool_id"]): int(r["since"]) for r in rows}

    def known_pools(self) -> list[int]:
        """Every pool whose ledger our single settlements ever entered."""
        return [
            int(r["pool_id"]) for r in self._q("SELECT pool_id FROM pool_ledgers ORDER BY pool_id").fetchall()
        ]


def open_existing(target: Path | str) -> Store:
    """The store of a command that only reads it: a SQLite file must exist already (none is
    created); `StoreMissingError` names the file."""
    dialect = dialect_for(target)
    if isinstance(dialect, SqliteDialect) and dialect.target != ":memory:" and not dialect.path.exists():
        raise StoreMissingError(f"no database at {dialect.path}")
    return Store(target)


class StoreMissingError(SettingsError):
    """A command that reads the store found no SQLite file."""


class NonceReusedError(RuntimeError):
    """A transaction was about to be recorded with a nonce another one already has."""
