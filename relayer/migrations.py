"""The store's schema as ordered migration steps, applied once each, on SQLite and PostgreSQL.

`schema_version` holds the number of steps applied. A step is a script with type tokens ({int},
{blob}, {real}, {serial}) the dialect fills in; each runs in its own transaction with the version
bump, so a crash leaves the schema at a step boundary (PostgreSQL and SQLite both roll DDL back).
Never edit a released step: append a new one.

Step 1 is the schema of the relayers that had no migrations (`CREATE ... IF NOT EXISTS`): their
databases take it as a no-op and go on from there.
"""

from __future__ import annotations

from relayer.dialect import Conn, Dialect
from relayer.settings import SettingsError

STEPS: tuple[str, ...] = (
    # 1: jobs, scanned blocks, transaction intents, pool ledgers, meta (relayer/store.py)
    """
    CREATE TABLE IF NOT EXISTS jobs (
        job_id {int} PRIMARY KEY,
        state TEXT NOT NULL,
        client TEXT NOT NULL,
        payment TEXT NOT NULL,
        measurement {blob} NOT NULL,
        input_hash {blob} NOT NULL,
        chosen_worker TEXT NOT NULL,
        relay_fee TEXT NOT NULL,
        deadline {int} NOT NULL,
        max_tcb {int} NOT NULL,
        input {blob} NOT NULL,
        posted_block {int} NOT NULL,
        attempts {int} NOT NULL DEFAULT 0,
        tried TEXT NOT NULL DEFAULT '[]',
        worker TEXT,
        output {blob},
        signature {blob},
        ready_at {real},
        intent_id {int},
        claimer TEXT,
        pool_id {int},
        ended_block {int},
        settled_by TEXT,
        reason TEXT,
        created_at {real} NOT NULL,
        updated_at {real} NOT NULL
    );
    CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
    CREATE TABLE IF NOT EXISTS blocks (
        number {int} PRIMARY KEY,
        hash TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS intents (
        id {serial},
        nonce {int} NOT NULL,
        purpose TEXT NOT NULL,
        job_ids TEXT NOT NULL,
        raw_tx {blob} NOT NULL,
        tx_hash TEXT NOT NULL UNIQUE,
        max_fee {int} NOT NULL,
        priority_fee {int} NOT NULL,
        gas {int} NOT NULL,
        worker TEXT,
        status TEXT NOT NULL,
        sent_at {real},
        mined_block {int},
        mined_hash TEXT,
        gas_used {int},
        replaced_by {int},
        created_at {real} NOT NULL
    );
    CREATE INDEX IF NOT EXISTS intents_status ON intents(status);
    CREATE INDEX IF NOT EXISTS intents_nonce ON intents(nonce);
    CREATE TABLE IF NOT EXISTS pool_ledgers (
        pool_id {int} PRIMARY KEY,
        since {int} NOT NULL,
        block {int} NOT NULL,
        paid_block {int}
    );
    CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: leases for replicas (relayer/store.py "Leases and fencing"); the fencing token each
    # intent was recorded under (NULL: a relayer without a lease)
    """
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        token {int} NOT NULL,
        expires_at {real} NOT NULL
    );
    ALTER TABLE intents ADD COLUMN fence {int};
    """,
)


class SchemaError(SettingsError):
    """The database's schema is not one this relayer can use (one line for the operator)."""


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def schema_version(db: Conn) -> int:
    row = db.execute("SELECT MAX(version) AS v FROM schema_version").fetchone()
    return 0 if row is None or row["v"] is None else int(row["v"])


def migrate(db: Conn, dialect: Dialect, steps: tuple[str, ...] = STEPS) -> int:
    """Apply the steps not applied yet; returns the schema version. Replicas starting together
    take turns (a lock held while migrating); each step re-reads the version first."""
    with dialect.migration_lock(db.raw):
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        while True:
            with dialect.transaction(db.raw):
                version = schema_version(db)
                if version > len(steps):
                    raise SchemaError(
                        f"the store's schema is version {version}, newer than this relayer knows "
                        f"({len(steps)}): upgrade the relayer"
                    )
                if version == len(steps):
                    return version
                for statement in _statements(dialect.ddl(steps[version])):
                    db.execute(statement)
                db.execute("DELETE FROM schema_version")
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
