//! SQLite storage: one file, WAL, one writer connection and a pool of readers.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::activity::{from_db, to_db};
use super::schema::{self, Migration, SchemaStore, SCHEMA_VERSION};
use super::{
    now_ms, Activity, ActivityCounts, ActivityKey, Result, SpaceInfo, Storage, StorageError,
    StoredLogReport, User, UserInfo,
};
use accord_protocol::{
    ChangesPage, LogReport, MutationBatch, MutationResult, RawData, RemoteRecord,
};

/// Version 1 (see [`schema::MIGRATIONS`]): spaces, users, tokens, grants, records, the
/// mutation ids applied, log reports.
pub(super) const SCHEMA_V1: &str = r#"
CREATE TABLE spaces (
    space_id   INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    seq        INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE TABLE users (
    user_id    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);
-- Only the SHA-256 of a token is stored: a leaked database does not leak tokens.
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (user_id),
    revoked    INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE TABLE grants (
    user_id  INTEGER NOT NULL REFERENCES users (user_id),
    space_id INTEGER NOT NULL REFERENCES spaces (space_id),
    PRIMARY KEY (user_id, space_id)
);
CREATE TABLE records (
    space_id    INTEGER NOT NULL REFERENCES spaces (space_id),
    collection  TEXT NOT NULL,
    id          TEXT NOT NULL,
    version     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    data        TEXT,
    deleted     INTEGER NOT NULL DEFAULT 0,
    hlc         TEXT NOT NULL,
    mutation_id TEXT NOT NULL,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (space_id, collection, id)
);
CREATE UNIQUE INDEX records_feed ON records (space_id, seq);
-- First answer of every applied mutation id, for idempotent retries.
CREATE TABLE mutations (
    space_id    INTEGER NOT NULL,
    mutation_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    applied_ms  INTEGER NOT NULL,
    PRIMARY KEY (space_id, mutation_id)
);
CREATE TABLE log_reports (
    space_id    INTEGER NOT NULL REFERENCES spaces (space_id),
    report_id   TEXT NOT NULL,
    user_id     INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (space_id, report_id)
);
"#;

/// Version 2: sync activity per hour, for the console.
pub(super) const SCHEMA_V2: &str = r#"
CREATE TABLE activity (
    hour_ms           INTEGER NOT NULL,
    space_id          INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    token             TEXT NOT NULL,
    device            TEXT NOT NULL,
    pulls             INTEGER NOT NULL,
    records_pulled    INTEGER NOT NULL,
    pushes            INTEGER NOT NULL,
    mutations_applied INTEGER NOT NULL,
    conflicts         INTEGER NOT NULL,
    log_reports       INTEGER NOT NULL,
    last_ms           INTEGER NOT NULL,
    PRIMARY KEY (hour_ms, space_id, user_id, token, device)
);
"#;

/// Version 3: mutation ids are forgotten once their device has the answers (the device
/// and its outbox position are kept with each id), or after the retention window (by
/// `applied_ms`); `mutation_devices` keeps, per device whose ids the window dropped, the
/// outbox position below which ids may have been forgotten.
pub(super) const SCHEMA_V3: &str = r#"
ALTER TABLE mutations ADD COLUMN device TEXT;
ALTER TABLE mutations ADD COLUMN device_seq INTEGER;
CREATE INDEX mutations_device ON mutations (space_id, device, device_seq) WHERE device IS NOT NULL;
CREATE INDEX mutations_age ON mutations (applied_ms);
CREATE TABLE mutation_devices (
    space_id        INTEGER NOT NULL,
    device          TEXT NOT NULL,
    forgotten_below INTEGER NOT NULL,
    PRIMARY KEY (space_id, device)
);
"#;

/// The server's side of the SQLite set-up it shares with the client store
/// ([`accord_sqlite`]). It keeps more idle readers than an app (many requests read at
/// once) and takes none of the client's tuning, which was measured on the client's
/// workload only; the busy timeout is the one it always had.
const SETTINGS: accord_sqlite::Settings = accord_sqlite::Settings {
    busy_timeout: Duration::from_secs(10),
    idle_readers: 4,
    tune: accord_sqlite::Settings::untuned,
};

/// Server storage in one SQLite file.
pub struct SqliteStorage {
    db: accord_sqlite::Database,
}

impl SqliteStorage {
    /// Opens or creates the database at `path`. `synchronous=FULL`: a mutation the server
    /// answered `applied` survives a power cut.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = accord_sqlite::open_writer(path, &SETTINGS).map_err(|e| match e {
            accord_sqlite::OpenError::Sqlite(e) => StorageError::from(e),
            wal @ accord_sqlite::OpenError::NoWal { .. } => StorageError::Database(wal.to_string()),
        })?;
        // A database already current is opened without taking the write lock.
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Read again under the lock: another process may have migrated meanwhile.
            schema::upgrade(&mut UserVersion(&tx), &path.display().to_string())?;
            tx.commit()?;
        }
        Ok(SqliteStorage {
            db: accord_sqlite::Database::new(path, conn, SETTINGS),
        })
    }

    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        self.db.write(f)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.db.read(f)
    }
}

/// A SQLite database's schema version lives in `PRAGMA user_version`.
struct UserVersion<'a>(&'a rusqlite::Transaction<'a>);

impl SchemaStore for UserVersion<'_> {
    type Error = StorageError;

    fn version(&mut self) -> Result<i64> {
        Ok(self.0.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn run(&mut self, step: &Migration) -> Result<()> {
        Ok(self.0.execute_batch(step.sqlite)?)
    }

    fn set_version(&mut self, version: i64) -> Result<()> {
        Ok(self.0.pragma_update(None, "user_version", version)?)
    }
}

fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RemoteRecord> {
    let data: Option<String> = row.get(4)?;
    let data = data
        .map(|d| {
            serde_json::from_str(&d).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    4,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })
        })
        .transpose()?;
    Ok(RemoteRecord {
        collection: row.get(0)?,
        id: row.get(1)?,
        version: row.get(2)?,
        seq: row.get(3)?,
        data,
        deleted: row.get(5)?,
        hlc: row.get(6)?,
        mutation_id: row.get(7)?,
    })
}

const RECORD_COLUMNS: &str = "collection, id, version, seq, data, deleted, hlc, mutation_id";

fn user_id(conn: &Connection, name: &str) -> Result<i64> {
    conn.query_row("SELECT user_id FROM users WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| StorageError::NotFound(format!("no user named '{name}'")))
}

fn space_id(conn: &Connection, name: &str) -> Result<i64> {
    conn.query_row("SELECT space_id FROM spaces WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| StorageError::NotFound(format!("no space named '{name}'")))
}

/// The outbox position below which the retention window may have dropped `device`'s
/// mutation ids in this space, if it ever dropped any.
fn forgotten_mark(conn: &Connection, space_id: i64, device: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT forgotten_below FROM mutation_devices WHERE space_id = ?1 AND device = ?2",
        )?
        .query_row(params![space_id, device], |r| r.get(0))
        .optional()?)
}

fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

impl Storage for SqliteStorage {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn ping(&self) -> Result<()> {
        self.read(|c| {
            Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())?)
        })
    }

    fn user_for_token(&self, token_hash: &str) -> Result<Option<User>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT u.user_id, u.name FROM tokens t JOIN users u ON u.user_id = t.user_id
                 WHERE t.token_hash = ?1 AND t.revoked = 0",
                [token_hash],
                |r| {
                    Ok(User {
                        user_id: r.get(0)?,
                        name: r.get(1)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn space_for(&self, user: &User, space: &str) -> Result<Option<i64>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT s.space_id FROM spaces s JOIN grants g ON g.space_id = s.space_id
                 WHERE s.name = ?1 AND g.user_id = ?2",
                params![space, user.user_id],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn changes(&self, space_id: i64, since: i64, limit: u32) -> Result<ChangesPage<RawData>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE space_id = ?1 AND seq > ?2
                 ORDER BY seq LIMIT ?3"
            ))?;
            let mut rows = stmt.query(params![space_id, since, i64::from(limit) + 1])?;
            let mut changes = Vec::with_capacity(limit as usize + 1);
            while let Some(row) = rows.next()? {
                changes.push(RemoteRecord {
                    collection: row.get(0)?,
                    id: row.get(1)?,
                    version: row.get(2)?,
                    seq: row.get(3)?,
                    data: row
                        .get::<_, Option<String>>(4)?
                        .map(super::raw_data)
                        .transpose()?,
                    deleted: row.get(5)?,
                    hlc: row.get(6)?,
                    mutation_id: row.get(7)?,
                });
            }
            Ok(super::changes_page(changes, since, limit))
        })
    }

    fn count_changes(&self, space_id: i64, since: i64) -> Result<u64> {
        self.read(|c| {
            let n: i64 = c
                .prepare_cached("SELECT count(*) FROM records WHERE space_id = ?1 AND seq > ?2")?
                .query_row(params![space_id, since], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
    }

    fn apply(&self, space_id: i64, batch: &MutationBatch) -> Result<Vec<MutationResult>> {
        super::validate_batch(batch)?;
        self.write(|tx| {
            if let Some((device, below)) = super::answered_to_forget(batch) {
                tx.prepare_cached(
                    "DELETE FROM mutations WHERE space_id = ?1 AND device = ?2 AND device_seq < ?3",
                )?
                .execute(params![space_id, device, below])?;
            }
            let mut forgotten = super::ForgottenMark::default();
            let mut seq: i64 = tx.query_row(
                "SELECT seq FROM spaces WHERE space_id = ?1",
                [space_id],
                |r| r.get(0),
            )?;
            let mut results = Vec::with_capacity(batch.mutations.len());
            let mut seen_stmt = tx.prepare_cached(
                "SELECT version, seq FROM mutations WHERE space_id = ?1 AND mutation_id = ?2",
            )?;
            let mut current_stmt = tx.prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE space_id = ?1 AND collection = ?2 AND id = ?3"
            ))?;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO records (space_id, collection, id, version, seq, data, deleted, hlc, mutation_id, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (space_id, collection, id) DO UPDATE SET
                    version = excluded.version, seq = excluded.seq, data = excluded.data,
                    deleted = excluded.deleted, hlc = excluded.hlc,
                    mutation_id = excluded.mutation_id, updated_ms = excluded.updated_ms",
            )?;
            let mut remember = tx.prepare_cached(
                "INSERT INTO mutations (space_id, mutation_id, version, seq, applied_ms, device, device_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for m in &batch.mutations {
                if let Some((version, first_seq)) = seen_stmt
                    .query_row(params![space_id, m.mutation_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?
                {
                    results.push(MutationResult::Applied {
                        mutation_id: m.mutation_id.clone(),
                        version,
                        seq: first_seq,
                    });
                    continue;
                }
                let current = current_stmt
                    .query_row(params![space_id, m.collection, m.id], record_from_row)
                    .optional()?;
                // A record the server does not have has nothing to conflict with: the
                // write creates it whatever version the client built on.
                if let Some(cur) = current.as_ref().filter(|c| c.version != m.base_version) {
                    let mark = forgotten
                        .get(batch.device.as_deref(), |d| forgotten_mark(tx, space_id, d))?;
                    results.push(super::moved_record_answer(
                        m,
                        cur.clone(),
                        super::maybe_forgotten(m, mark),
                    ));
                    continue;
                }
                let version = current.as_ref().map_or(0, |c| c.version) + 1;
                seq += 1;
                let data = m.data.as_ref().map(|d| d.to_string());
                let now = now_ms();
                upsert.execute(params![
                    space_id, m.collection, m.id, version, seq, data, m.deleted, m.hlc,
                    m.mutation_id, now
                ])?;
                remember.execute(params![
                    space_id,
                    m.mutation_id,
                    version,
                    seq,
                    now,
                    batch.device,
                    m.outbox_seq
                ])?;
                results.push(MutationResult::Applied {
                    mutation_id: m.mutation_id.clone(),
                    version,
                    seq,
                });
            }
            tx.execute(
                "UPDATE spaces SET seq = ?2 WHERE space_id = ?1",
                params![space_id, seq],
            )?;
            Ok(results)
        })
    }

    fn forget_mutations(&self, applied_before_ms: i64) -> Result<u64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO mutation_devices (space_id, device, forgotten_below)
                 SELECT space_id, device, max(device_seq) + 1 FROM mutations
                 WHERE applied_ms < ?1 AND device IS NOT NULL AND device_seq IS NOT NULL
                 GROUP BY space_id, device
                 ON CONFLICT (space_id, device) DO UPDATE SET
                    forgotten_below = max(forgotten_below, excluded.forgotten_below)",
                [applied_before_ms],
            )?;
            Ok(tx.execute(
                "DELETE FROM mutations WHERE applied_ms < ?1",
                [applied_before_ms],
            )? as u64)
        })
    }

    fn mutation_ids(&self) -> Result<u64> {
        self.read(|c| {
            let n: i64 = c.query_row("SELECT count(*) FROM mutations", [], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
    }

    fn store_log_report(&self, space_id: i64, user: &User, report: &LogReport) -> Result<bool> {
        let body = serde_json::to_string(report)
            .map_err(|e| StorageError::Invalid(format!("cannot store report: {e}")))?;
        self.write(|tx| {
            let n = tx.execute(
                "INSERT INTO log_reports (space_id, report_id, user_id, received_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![space_id, report.report_id, user.user_id, now_ms(), body],
            )?;
            Ok(n == 1)
        })
    }

    fn log_reports(&self, space: &str, limit: u32) -> Result<Vec<StoredLogReport>> {
        self.read(|c| {
            let sid = space_id(c, space)?;
            let mut stmt = c.prepare(
                "SELECT u.name, l.received_ms, l.body FROM log_reports l
                 JOIN users u ON u.user_id = l.user_id
                 WHERE l.space_id = ?1 ORDER BY l.received_ms DESC, l.rowid DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![sid, limit], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (user, received_ms, body) = row?;
                let report = serde_json::from_str(&body).map_err(|e| {
                    StorageError::Database(format!("stored report is damaged: {e}"))
                })?;
                out.push(StoredLogReport {
                    space: space.to_string(),
                    user,
                    received_ms,
                    report,
                });
            }
            Ok(out)
        })
    }

    fn log_report(&self, space: &str, report_id: &str) -> Result<Option<StoredLogReport>> {
        self.read(|c| {
            let sid = space_id(c, space)?;
            let row = c
                .query_row(
                    "SELECT u.name, l.received_ms, l.body FROM log_reports l
                     JOIN users u ON u.user_id = l.user_id
                     WHERE l.space_id = ?1 AND l.report_id = ?2",
                    params![sid, report_id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(user, received_ms, body)| {
                Ok(StoredLogReport {
                    space: space.to_string(),
                    user,
                    received_ms,
                    report: serde_json::from_str(&body).map_err(|e| {
                        StorageError::Database(format!("stored report is damaged: {e}"))
                    })?,
                })
            })
            .transpose()
        })
    }

    fn record_activity(&self, counts: &[(ActivityKey, ActivityCounts)]) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut add = tx.prepare_cached(
                "INSERT INTO activity (hour_ms, space_id, user_id, token, device, pulls,
                    records_pulled, pushes, mutations_applied, conflicts, log_reports, last_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (hour_ms, space_id, user_id, token, device) DO UPDATE SET
                    pulls = pulls + excluded.pulls,
                    records_pulled = records_pulled + excluded.records_pulled,
                    pushes = pushes + excluded.pushes,
                    mutations_applied = mutations_applied + excluded.mutations_applied,
                    conflicts = conflicts + excluded.conflicts,
                    log_reports = log_reports + excluded.log_reports,
                    last_ms = max(last_ms, excluded.last_ms)",
            )?;
            for (k, c) in counts {
                add.execute(params![
                    k.hour_ms,
                    k.space_id,
                    k.user_id,
                    k.token,
                    k.device,
                    to_db(c.pulls),
                    to_db(c.records_pulled),
                    to_db(c.pushes),
                    to_db(c.mutations_applied),
                    to_db(c.conflicts),
                    to_db(c.log_reports),
                    c.last_ms
                ])?;
            }
            Ok(())
        })
    }

    fn activity(&self, since_ms: i64) -> Result<Vec<Activity>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT s.name, u.name, a.token, a.device, a.hour_ms, a.pulls, a.records_pulled,
                        a.pushes, a.mutations_applied, a.conflicts, a.log_reports, a.last_ms
                 FROM activity a
                 JOIN spaces s ON s.space_id = a.space_id
                 JOIN users u ON u.user_id = a.user_id
                 WHERE a.hour_ms >= ?1 ORDER BY a.hour_ms, s.name, u.name, a.token, a.device",
            )?;
            let rows = stmt.query_map([since_ms], |r| {
                Ok(Activity {
                    space: r.get(0)?,
                    user: r.get(1)?,
                    token: r.get(2)?,
                    device: r.get(3)?,
                    hour_ms: r.get(4)?,
                    counts: ActivityCounts {
                        pulls: from_db(r.get(5)?),
                        records_pulled: from_db(r.get(6)?),
                        pushes: from_db(r.get(7)?),
                        mutations_applied: from_db(r.get(8)?),
                        conflicts: from_db(r.get(9)?),
                        log_reports: from_db(r.get(10)?),
                        last_ms: r.get(11)?,
                    },
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn add_space(&self, name: &str) -> Result<()> {
        accord_protocol::check_name("space", name).map_err(StorageError::Invalid)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO spaces (name, created_ms) VALUES (?1, ?2)",
                params![name, now_ms()],
            )
            .map_err(|e| {
                if unique_violation(&e) {
                    StorageError::Conflict(format!("space '{name}' already exists"))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }

    fn add_user(&self, name: &str, token_hash: &str) -> Result<()> {
        accord_protocol::check_name("user", name).map_err(StorageError::Invalid)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO users (name, created_ms) VALUES (?1, ?2)",
                params![name, now_ms()],
            )
            .map_err(|e| {
                if unique_violation(&e) {
                    StorageError::Conflict(format!("user '{name}' already exists"))
                } else {
                    e.into()
                }
            })?;
            let uid = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO tokens (token_hash, user_id, created_ms) VALUES (?1, ?2, ?3)",
                params![token_hash, uid, now_ms()],
            )?;
            Ok(())
        })
    }

    fn add_token(&self, user: &str, token_hash: &str) -> Result<()> {
        self.write(|tx| {
            let uid = user_id(tx, user)?;
            tx.execute(
                "INSERT INTO tokens (token_hash, user_id, created_ms) VALUES (?1, ?2, ?3)",
                params![token_hash, uid, now_ms()],
            )?;
            Ok(())
        })
    }

    fn revoke_tokens(&self, user: &str) -> Result<u64> {
        self.write(|tx| {
            let uid = user_id(tx, user)?;
            Ok(tx.execute(
                "UPDATE tokens SET revoked = 1 WHERE user_id = ?1 AND revoked = 0",
                [uid],
            )? as u64)
        })
    }

    fn grant(&self, user: &str, space: &str) -> Result<()> {
        self.write(|tx| {
            let uid = user_id(tx, user)?;
            let sid = space_id(tx, space)?;
            tx.execute(
                "INSERT INTO grants (user_id, space_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![uid, sid],
            )?;
            Ok(())
        })
    }

    fn revoke(&self, user: &str, space: &str) -> Result<bool> {
        self.write(|tx| {
            let uid = user_id(tx, user)?;
            let sid = space_id(tx, space)?;
            Ok(tx.execute(
                "DELETE FROM grants WHERE user_id = ?1 AND space_id = ?2",
                params![uid, sid],
            )? == 1)
        })
    }

    fn spaces(&self) -> Result<Vec<SpaceInfo>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT s.space_id, s.name, s.seq, (SELECT count(*) FROM records r WHERE r.space_id = s.space_id),
                        (SELECT r.updated_ms FROM records r WHERE r.space_id = s.space_id ORDER BY r.seq DESC LIMIT 1)
                 FROM spaces s ORDER BY s.name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            let mut members = c.prepare(
                "SELECT u.name FROM grants g JOIN users u ON u.user_id = g.user_id WHERE g.space_id = ?1 ORDER BY u.name",
            )?;
            for row in rows {
                let (sid, name, seq, records, last_change_ms) = row?;
                let names = members
                    .query_map([sid], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push(SpaceInfo {
                    name,
                    records,
                    seq,
                    members: names,
                    last_change_ms,
                });
            }
            Ok(out)
        })
    }

    fn users(&self) -> Result<Vec<UserInfo>> {
        self.read(|c| {
            let users = c
                .prepare("SELECT user_id, name, created_ms FROM users ORDER BY name")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let grants = c
                .prepare(
                    "SELECT g.user_id, s.name FROM grants g JOIN spaces s ON s.space_id = g.space_id
                     ORDER BY s.name",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let tokens = c
                .prepare(
                    "SELECT user_id, token_hash, created_ms, revoked FROM tokens
                     ORDER BY created_ms, token_hash",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(super::assemble_users(users, grants, tokens))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_version(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_database_made_by_the_first_schema_is_upgraded_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // What the first server build wrote: version 1, no activity table.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA_V1).unwrap();
            conn.execute(
                "INSERT INTO spaces (name, created_ms) VALUES ('notes', 1)",
                [],
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        let storage = SqliteStorage::open(&path).unwrap();
        assert_eq!(user_version(&path), SCHEMA_VERSION);
        assert_eq!(storage.spaces().unwrap()[0].name, "notes");
        assert!(storage.activity(0).unwrap().is_empty());
        drop(storage);
        // Opening a current database changes nothing.
        SqliteStorage::open(&path).unwrap();
        assert_eq!(user_version(&path), SCHEMA_VERSION);
    }

    #[test]
    fn a_database_newer_than_this_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = SqliteStorage::open(&path).err().unwrap().to_string();
        assert!(err.contains("newer than this build"), "{err}");
        assert_eq!(user_version(&path), SCHEMA_VERSION + 1);
    }
}
