"""The relayer's persistent state: SQLite in WAL mode, one file.

- `jobs`: one row per job seen on chain, with its state (see relayer.decide) and what is known
  about it (spec, input, the verified result, the claim, how it ended).
- `blocks`: recent scanned block hashes (the checkpoint is the highest row) for reorg detection.
- `intents`: every transaction, written BEFORE it is sent (nonce, raw signed bytes, hash, purpose,
  job ids), so that after a crash the same bytes are re-sent, never a second transaction for
  the same work.
- `pool_ledgers`: the pools whose escrow ledger our single settlements entered and that are not
  known to be paid yet (see `Relayer._pay_ledgers`), written with the events that tell it.

All writes go through short transactions; the connection is used from the event loop's thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pha.escrow.spec import JobSpec

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    client TEXT NOT NULL,
    payment TEXT NOT NULL,
    measurement BLOB NOT NULL,
    input_hash BLOB NOT NULL,
    chosen_worker TEXT NOT NULL,
    relay_fee TEXT NOT NULL,
    deadline INTEGER NOT NULL,
    max_tcb INTEGER NOT NULL,
    input BLOB NOT NULL,
    posted_block INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    tried TEXT NOT NULL DEFAULT '[]',
    worker TEXT,
    output BLOB,
    signature BLOB,
    ready_at REAL,
    intent_id INTEGER,
    claimer TEXT,
    pool_id INTEGER,
    ended_block INTEGER,
    settled_by TEXT,
    reason TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS intents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nonce INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    job_ids TEXT NOT NULL,
    raw_tx BLOB NOT NULL,
    tx_hash TEXT NOT NULL UNIQUE,
    max_fee INTEGER NOT NULL,
    priority_fee INTEGER NOT NULL,
    gas INTEGER NOT NULL,
    worker TEXT,
    status TEXT NOT NULL,
    sent_at REAL,
    mined_block INTEGER,
    mined_hash TEXT,
    gas_used INTEGER,
    replaced_by INTEGER,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS intents_status ON intents(status);
CREATE INDEX IF NOT EXISTS intents_nonce ON intents(nonce);
CREATE TABLE IF NOT EXISTS pool_ledgers (
    pool_id INTEGER PRIMARY KEY,
    since INTEGER NOT NULL,
    block INTEGER NOT NULL,
    paid_block INTEGER
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

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


_SPECS: dict[tuple[object, ...], JobSpec] = {}
"""JobSpec (immutable) by its stored columns: the loop reads every open job each step, and building
a JobSpec checksums its address (a keccak) every time."""


def _spec(row: sqlite3.Row) -> JobSpec:
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


def _job(row: sqlite3.Row) -> Job:
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


def _intent(row: sqlite3.Row) -> Intent:
    data = dict(row)
    data["job_ids"] = json.loads(data["job_ids"])
    return Intent(**data)


class Store:
    """The relayer's SQLite database."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed transaction survives a process crash (kill -9); only an
        # OS crash may lose the last ones, and the chain is re-read from the checkpoint anyway.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic write transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ checkpoint

    def checkpoint(self) -> tuple[int, str] | None:
        """(block number, block hash) of the last fully processed block."""
        row = self.db.execute("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1").fetchone()
        return None if row is None else (int(row["number"]), str(row["hash"]))

    def block_hashes_desc(self) -> list[tuple[int, str]]:
        rows = self.db.execute("SELECT number, hash FROM blocks ORDER BY number DESC").fetchall()
        return [(int(r["number"]), str(r["hash"])) for r in rows]

    def rewind(self, number: int) -> None:
        """Forget scanned blocks above `number` (a reorg replaced them)."""
        with self.tx() as db:
            db.execute("DELETE FROM blocks WHERE number > ?", (number,))

    # ------------------------------------------------------------------ jobs

    def add_job(self, db: sqlite3.Connection, job: Job) -> bool:
        """Insert a newly posted job (inside a `tx()`); False if it was known."""
        now = time.time()
        s = job.spec
        cur = db.execute(
            "INSERT OR IGNORE INTO jobs(job_id, state, client, payment, measurement, input_hash,"
            " chosen_worker, relay_fee, deadline, max_tcb, input, posted_block, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                job.job_id, job.state, job.client, str(job.payment), s.measurement_id, s.input_hash,
                s.worker, str(s.relay_fee), s.deadline, s.max_tcb_status, job.input, job.posted_block,
                now, now,
            ),
        )  # fmt: skip
        return cur.rowcount == 1

    def job(self, job_id: int) -> Job | None:
        row = self.db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def jobs_in(self, states: Iterable[str], limit: int = 10_000) -> list[Job]:
        states = list(states)
        marks = ",".join("?" * len(states))
        rows = self.db.execute(
            f"SELECT * FROM jobs WHERE state IN ({marks}) ORDER BY job_id LIMIT ?",
            (*states, limit),
        ).fetchall()
        return [_job(r) for r in rows]

    def update_job(self, db: sqlite3.Connection | None = None, job_id: int = 0, **fields: object) -> None:
        """Set columns of a job (inside a `tx()` when `db` is given)."""
        if "tried" in fields:
            fields["tried"] = json.dumps(fields["tried"])
        fields["updated_at"] = time.time()
        self._update("jobs", "job_id", job_id, db, fields)

    def refused(self, limit: int = 100) -> list[tuple[int, str]]:
        """(job id, the last refusal) of jobs not yet ended that a worker refused (400: bad input)."""
        rows = self.db.execute(
            "SELECT job_id, reason FROM jobs WHERE state = 'new' AND reason IS NOT NULL"
            " ORDER BY job_id LIMIT ?",
            (limit,),
        ).fetchall()
        return [(int(r["job_id"]), str(r["reason"])) for r in rows]

    def count_by_state(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").fetchall()
        return {str(r["state"]): int(r["n"]) for r in rows}

    # ------------------------------------------------------------------ intents

    def add_intent(
        self,
        db: sqlite3.Connection,
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
    ) -> int:
        cur = db.execute(
            "INSERT INTO intents(nonce, purpose, job_ids, raw_tx, tx_hash, max_fee, priority_fee, gas,"
            " worker, status, created_at) VALUES (?,?,?,?,?,?,?,?,?,'signed',?)",
            (nonce, purpose, json.dumps(job_ids), raw_tx, tx_hash, max_fee, priority_fee, gas, worker,
             time.time()),
        )  # fmt: skip
        return int(cur.lastrowid or 0)

    def intent(self, intent_id: int) -> Intent | None:
        row = self.db.execute("SELECT * FROM intents WHERE id = ?", (intent_id,)).fetchone()
        return None if row is None else _intent(row)

    def intents_in(self, statuses: Iterable[str]) -> list[Intent]:
        statuses = list(statuses)
        marks = ",".join("?" * len(statuses))
        rows = self.db.execute(
            f"SELECT * FROM intents WHERE status IN ({marks}) ORDER BY nonce, id",
            statuses,
        ).fetchall()
        return [_intent(r) for r in rows]

    def intents_with_nonce(self, nonce: int) -> list[Intent]:
        rows = self.db.execute("SELECT * FROM intents WHERE nonce = ? ORDER BY id", (nonce,)).fetchall()
        return [_intent(r) for r in rows]

    def update_intent(
        self, db: sqlite3.Connection | None = None, intent_id: int = 0, **fields: object
    ) -> None:
        self._update("intents", "id", intent_id, db, fields)

    def _update(
        self, table: str, key: str, row_id: int, db: sqlite3.Connection | None, fields: dict[str, object]
    ) -> None:
        """UPDATE one row (table, key and column names are ours, never user input), inside the
        caller's transaction when `db` is given, else in its own."""
        cols = ", ".join(f"{k} = ?" for k in fields)
        sql = f"UPDATE {table} SET {cols} WHERE {key} = ?"
        if db is None:
            with self.tx() as conn:
                conn.execute(sql, (*fields.values(), row_id))
        else:
            db.execute(sql, (*fields.values(), row_id))

    def max_nonce(self) -> int | None:
        row = self.db.execute("SELECT MAX(nonce) AS n FROM intents").fetchone()
        return None if row is None or row["n"] is None else int(row["n"])

    def all_intents(self) -> list[Intent]:
        return [_intent(r) for r in self.db.execute("SELECT * FROM intents ORDER BY id").fetchall()]

    # ------------------------------------------------------------------ pool ledgers

    def mark_unpaid(self, db: sqlite3.Connection, pool_id: int, since: int, block: int) -> None:
        """Our single settlement in `block` (chain time `since`) entered the pool's ledger: the pool
        is unpaid from then, unless it already was (then its older `since` stays)."""
        db.execute(
            "INSERT INTO pool_ledgers(pool_id, since, block, paid_block) VALUES (?, ?, ?, NULL)"
            " ON CONFLICT(pool_id) DO UPDATE SET since = excluded.since, block = excluded.block,"
            " paid_block = NULL WHERE paid_block IS NOT NULL",
            (pool_id, since, block),
        )

    def mark_paid(self, db: sqlite3.Connection | None, pool_ids: Iterable[int], block: int) -> None:
        """The pools' ledgers were paid (or read empty) at `block`."""
        rows = [(block, p) for p in pool_ids]
        if db is None:
            with self.tx() as conn:
                conn.executemany("UPDATE pool_ledgers SET paid_block = ? WHERE pool_id = ?", rows)
        else:
            db.executemany("UPDATE pool_ledgers SET paid_block = ? WHERE pool_id = ?", rows)

    def unpaid_pools(self) -> dict[int, int]:
        """pool id -> `since` (chain time) of each pool whose ledger we entered, not known paid."""
        rows = self.db.execute("SELECT pool_id, since FROM pool_ledgers WHERE paid_block IS NULL").fetchall()
        return {int(r["pool_id"]): int(r["since"]) for r in rows}

    def known_pools(self) -> list[int]:
        """Every pool whose ledger our single settlements ever entered."""
        return [
            int(r["pool_id"]) for r in self.db.execute("SELECT pool_id FROM pool_ledgers ORDER BY pool_id")
        ]
