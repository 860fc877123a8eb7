//! The local schema and its forward migrations.
//!
//! The schema version lives in `PRAGMA user_version`. Each migration runs in one
//! immediate transaction together with the version bump, so a crash leaves the database at
//! the old or the new version, never between. A database newer than this build is refused
//! rather than guessed at.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 6;

/// Version 1: records with their base copy, the outbox, the conflict log, meta.
pub(crate) const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per record. `data` is the local state (NULL for a tombstone); `base` is the
-- last copy both this device and the server agreed on (the common ancestor of a
-- three-way merge), at server version `version` (0: never seen by the server).
-- `rev` grows on every local write, so a merge computed outside the write lock can tell
-- that the user wrote in between.
CREATE TABLE records (
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    data       TEXT,
    deleted    INTEGER NOT NULL DEFAULT 0,
    version    INTEGER NOT NULL DEFAULT 0,
    base       TEXT,
    dirty      INTEGER NOT NULL DEFAULT 0,
    hlc        TEXT NOT NULL,
    rev        INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE INDEX records_dirty ON records (dirty) WHERE dirty = 1;

-- One row per local mutation not yet acknowledged by the server. A row that was never
-- sent (attempts = 0) absorbs later writes to the same record; a sent one is frozen so a
-- retry carries exactly what was sent, under the same mutation id.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    mutation_id  TEXT NOT NULL UNIQUE,
    collection   TEXT NOT NULL,
    id           TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    data         TEXT,
    deleted      INTEGER NOT NULL DEFAULT 0,
    hlc          TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_record ON outbox (collection, id);

-- Every merge that was not trivial, with all three inputs, so nothing is ever lost.
CREATE TABLE conflicts (
    conflict_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    collection   TEXT NOT NULL,
    id           TEXT NOT NULL,
    base         TEXT,
    local        TEXT,
    remote       TEXT,
    result       TEXT,
    strategy     TEXT NOT NULL,
    fields       TEXT NOT NULL,
    score        REAL,
    needs_review INTEGER NOT NULL,
    reviewed     INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL
);
CREATE INDEX conflicts_open ON conflicts (reviewed, conflict_id);
"#;

/// Version 2: captured log lines, a bounded ring.
const V2: &str = r#"
CREATE TABLE log_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms  INTEGER NOT NULL,
    level    TEXT NOT NULL,
    tag      TEXT NOT NULL,
    message  TEXT NOT NULL,
    bytes    INTEGER NOT NULL
);
"#;

/// Version 3: a queued row whose stored data cannot be sent (only a damaged file can
/// cause it) is quarantined: kept with the reason, never sent.
const V3: &str = r#"
ALTER TABLE outbox ADD COLUMN quarantined TEXT;
"#;

/// Version 4: a flagged merge's suggested resolution (the record a person most likely
/// wants; why, per field, is in `fields`). NULL for merges logged before, and for merges
/// that need no review.
const V4: &str = r#"
ALTER TABLE conflicts ADD COLUMN suggested TEXT;
"#;

/// Version 5: fewer B-trees written per local write (a `put_many` wrote seven for one
/// record against a plain table's two). `records_dirty` was never read by a query; the
/// outbox's UNIQUE index on `mutation_id` is gone (ids are UUIDv7s made here, and the
/// only lookup by id, of a record's own echo, goes through `outbox_record`). SQLite cannot
/// drop a UNIQUE constraint, so the outbox is rebuilt; its AUTOINCREMENT counter is
/// carried over, because outbox positions must never be reused (the server forgets a
/// device's mutation ids below the lowest position it still holds).
const V5: &str = r#"
DROP INDEX IF EXISTS records_dirty;
CREATE TABLE outbox_v5 (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    mutation_id  TEXT NOT NULL,
    collection   TEXT NOT NULL,
    id           TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    data         TEXT,
    deleted      INTEGER NOT NULL DEFAULT 0,
    hlc          TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    quarantined  TEXT
);
INSERT INTO outbox_v5 (seq, mutation_id, collection, id, base_version, data, deleted, hlc,
                       created_ms, attempts, quarantined)
    SELECT seq, mutation_id, collection, id, base_version, data, deleted, hlc, created_ms,
           attempts, quarantined
    FROM outbox;
DELETE FROM sqlite_sequence WHERE name = 'outbox_v5';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_v5', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_v5 RENAME TO outbox;
CREATE INDEX outbox_record ON outbox (collection, id);
"#;

/// Version 6: a write not yet sent is queued in its record's row, not in an outbox row.
/// An unsent outbox row carried no data (it stood for the record's current state), only
/// what the record's row already holds (its version, clock and the position in the
/// queue), yet cost a local write three more B-trees (the outbox table, its record index
/// and `sqlite_sequence`). Now `records.queued` orders the records with an unsent write
/// (a partial index holds only those), and the outbox row, with its position and
/// mutation id, is made when the write is first sent. Positions stay as they were: a
/// position is given when a row is made, after every position given before, so what
/// the server is told about answered positions does not change. The unsent rows of a
/// version-5 database become their records' queue entries, in the same order (a row
/// no record took, which only a damaged file holds, stays in the outbox).
const V6: &str = r#"
ALTER TABLE records ADD COLUMN queued INTEGER;
UPDATE records SET queued = (
    SELECT max(o.seq) FROM outbox o
    WHERE o.collection = records.collection AND o.id = records.id
      AND o.attempts = 0 AND o.quarantined IS NULL)
WHERE dirty = 1;
DELETE FROM outbox WHERE attempts = 0 AND quarantined IS NULL AND EXISTS (
    SELECT 1 FROM records r
    WHERE r.collection = outbox.collection AND r.id = outbox.id AND r.queued = outbox.seq);
CREATE INDEX records_queued ON records (queued) WHERE queued IS NOT NULL;
"#;

/// Migration `i` takes the database from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [V1, V2, V3, V4, V5, V6];

/// Brings the database at `path` (open on `conn`) to [`SCHEMA_VERSION`].
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for version in found..SCHEMA_VERSION {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Re-read inside the lock: another process may have migrated meanwhile.
        let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if current != version {
            continue;
        }
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
    Ok(())
}
