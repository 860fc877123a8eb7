//! PostgreSQL storage, for deployments that outgrow one machine: several stateless
//! `accord serve` processes behind a load balancer over one database.
//!
//! The SQL and the transaction handling stay inside what PostgreSQL-compatible
//! distributed databases (CockroachDB, YugabyteDB) also accept, so a deployment can move
//! to one of them:
//! - every transaction is `SERIALIZABLE` and is retried, whole, on a serialization
//!   failure (SQLSTATE 40001) or a deadlock (40P01), with jittered backoff, for up to
//!   `retry::RETRY_BUDGET`; transactions that only read say `READ ONLY`;
//! - no advisory locks, no `LISTEN/NOTIFY`, no reliance on gapless sequences: the change
//!   feed's `seq` is a counter column of the space, advanced in the same transaction as
//!   the writes it numbers (so it has no gaps and commits in order); `BIGSERIAL` ids are
//!   only used as opaque keys;
//! - row locks only through `SELECT ... FOR UPDATE`; upserts through
//!   `INSERT ... ON CONFLICT`;
//! - schema changes are idempotent (`IF NOT EXISTS`) and versioned in a table, so two
//!   servers starting together both end up on the same schema.
//!
//! This file holds the schema and the storage calls. The machinery under them lives
//! beside it, one job a file: `pool` (connections and writer slots), `statements` (each
//! connection's prepared statements), `retry` (the serializable retry runner) and `url`
//! (Accord's `pool_size` parameter, and passwords kept out of messages).

mod pool;
mod retry;
mod statements;
mod url;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::activity::{from_db, to_db};
use super::schema::{self, Migration, SchemaStore};
use super::{
    now_ms, Activity, ActivityCounts, ActivityKey, Result, SpaceInfo, Storage, StorageError,
    StoredLogReport, TokenAccess, User, UserInfo,
};
use accord_protocol::{
    ChangesPage, LogReport, MutationBatch, MutationResult, RawData, RemoteRecord,
};
use pool::{writer_slots_for, ConnectionPool, WriterSlots};
use postgres::Row;
use retry::{is_retryable, is_unique_violation, Mode, TxFailure, TxResult};
use statements::Tx;

/// Version 1 (see [`schema::MIGRATIONS`]): spaces, users, tokens, grants, records, the
/// mutation ids applied, log reports.
pub(super) const SCHEMA_V1: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS spaces (
        space_id   BIGSERIAL PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        seq        BIGINT NOT NULL DEFAULT 0,
        created_ms BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS users (
        user_id    BIGSERIAL PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_ms BIGINT NOT NULL
    )",
    // Only the SHA-256 of a token is stored: a leaked database does not leak tokens.
    "CREATE TABLE IF NOT EXISTS tokens (
        token_hash TEXT PRIMARY KEY,
        user_id    BIGINT NOT NULL REFERENCES users (user_id),
        revoked    BOOLEAN NOT NULL DEFAULT FALSE,
        created_ms BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS grants (
        user_id  BIGINT NOT NULL REFERENCES users (user_id),
        space_id BIGINT NOT NULL REFERENCES spaces (space_id),
        PRIMARY KEY (user_id, space_id)
    )",
    "CREATE TABLE IF NOT EXISTS records (
        space_id    BIGINT NOT NULL REFERENCES spaces (space_id),
        collection  TEXT NOT NULL,
        id          TEXT NOT NULL,
        version     BIGINT NOT NULL,
        seq         BIGINT NOT NULL,
        data        TEXT,
        deleted     BOOLEAN NOT NULL DEFAULT FALSE,
        hlc         TEXT NOT NULL,
        mutation_id TEXT NOT NULL,
        updated_ms  BIGINT NOT NULL,
        PRIMARY KEY (space_id, collection, id)
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS records_feed ON records (space_id, seq)",
    // First answer of every applied mutation id, for idempotent retries.
    "CREATE TABLE IF NOT EXISTS mutations (
        space_id    BIGINT NOT NULL,
        mutation_id TEXT NOT NULL,
        version     BIGINT NOT NULL,
        seq         BIGINT NOT NULL,
        applied_ms  BIGINT NOT NULL,
        PRIMARY KEY (space_id, mutation_id)
    )",
    "CREATE TABLE IF NOT EXISTS log_reports (
        space_id    BIGINT NOT NULL REFERENCES spaces (space_id),
        report_id   TEXT NOT NULL,
        user_id     BIGINT NOT NULL,
        received_ms BIGINT NOT NULL,
        body        TEXT NOT NULL,
        PRIMARY KEY (space_id, report_id)
    )",
];

/// Version 2: sync activity per hour, for the console.
pub(super) const SCHEMA_V2: &[&str] = &["CREATE TABLE IF NOT EXISTS activity (
        hour_ms           BIGINT NOT NULL,
        space_id          BIGINT NOT NULL,
        user_id           BIGINT NOT NULL,
        token             TEXT NOT NULL,
        device            TEXT NOT NULL,
        pulls             BIGINT NOT NULL,
        records_pulled    BIGINT NOT NULL,
        pushes            BIGINT NOT NULL,
        mutations_applied BIGINT NOT NULL,
        conflicts         BIGINT NOT NULL,
        log_reports       BIGINT NOT NULL,
        last_ms           BIGINT NOT NULL,
        PRIMARY KEY (hour_ms, space_id, user_id, token, device)
    )"];

/// Version 3: mutation ids are forgotten once their device has the answers (the device
/// and its outbox position are kept with each id), or after the retention window (by
/// `applied_ms`); `mutation_devices` keeps, per device whose ids the window dropped, the
/// outbox position below which ids may have been forgotten.
pub(super) const SCHEMA_V3: &[&str] = &[
    "ALTER TABLE mutations ADD COLUMN IF NOT EXISTS device TEXT",
    "ALTER TABLE mutations ADD COLUMN IF NOT EXISTS device_seq BIGINT",
    "CREATE INDEX IF NOT EXISTS mutations_device ON mutations (space_id, device, device_seq)
        WHERE device IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS mutations_age ON mutations (applied_ms)",
    "CREATE TABLE IF NOT EXISTS mutation_devices (
        space_id        BIGINT NOT NULL,
        device          TEXT NOT NULL,
        forgotten_below BIGINT NOT NULL,
        PRIMARY KEY (space_id, device)
    )",
];

/// Server storage in a PostgreSQL (or CockroachDB / YugabyteDB) database.
pub struct PostgresStorage {
    pool: ConnectionPool,
    /// One lock per space, taken around a write of that space. Correctness does not
    /// depend on it (the database serializes writers through the space row); it keeps a
    /// process's writers of one space from all queueing on that row, where under
    /// SERIALIZABLE every waiter fails when the holder commits and must start over.
    /// With it, at most one transaction per process contends for a space.
    space_writers: Mutex<HashMap<i64, Arc<Mutex<()>>>>,
    /// Bounds the read-write transactions of this process that are in the database at
    /// once. See [`writer_slots_for`].
    writers: WriterSlots,
    /// Ids of the spaces this process has authorized requests for, by name. A space
    /// keeps its id and name for life, so this is never stale; with it, a request's
    /// grant check reads only `tokens`, `users` and `grants`. Under SERIALIZABLE, a read of
    /// the space row (rewritten by every push, for its seq) made each push the target of
    /// a read-write conflict from every request of its space, and a push with one more
    /// conflict, out to a push of another space, is cancelled.
    space_ids: Mutex<HashMap<String, i64>>,
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, optionally
    /// `?pool_size=N`) and creates or upgrades the schema. A database whose schema is
    /// newer than this build is refused.
    pub fn open(url: &str) -> Result<Self> {
        let (url, size) = url::split_pool_size(url)?;
        let config: postgres::Config = url.parse().map_err(|e| {
            StorageError::Invalid(format!(
                "'{}' is not a PostgreSQL URL ({e}); use postgres://USER@HOST:PORT/DB",
                url::redact(&url)
            ))
        })?;
        let storage = PostgresStorage {
            pool: ConnectionPool::new(config, size),
            space_writers: Mutex::new(HashMap::new()),
            space_ids: Mutex::new(HashMap::new()),
            writers: WriterSlots::new(writer_slots_for(size)),
        };
        storage.migrate()?;
        Ok(storage)
    }

    fn migrate(&self) -> Result<()> {
        // Two servers starting together may both create the tables; the loser of that
        // race sees a unique violation on the catalog and simply tries again.
        let retry = |e: &postgres::Error| is_retryable(e) || is_unique_violation(e);
        self.transact_retrying("migrate", Mode::Write, retry, |tx| {
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS accord_schema (
                    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE,
                    version   BIGINT NOT NULL
                )",
            )?;
            schema::upgrade(tx, "the database")
        })
    }

    /// Runs `f` in one serializable read-only transaction, running it again from the
    /// start when the database reports a serialization failure. `name` says which call
    /// gave up, in the "busy" message.
    fn read<T>(&self, name: &str, f: impl FnMut(&mut Tx<'_>) -> TxResult<T>) -> Result<T> {
        self.transact_retrying(name, Mode::Read, is_retryable, f)
    }

    /// Runs `f` in one serializable read-write transaction and commits it, running it
    /// again from the start when the database reports a serialization failure. `f` must
    /// have no effect outside the transaction, since it may run more than once.
    fn write<T>(&self, name: &str, f: impl FnMut(&mut Tx<'_>) -> TxResult<T>) -> Result<T> {
        self.transact_retrying(name, Mode::Write, is_retryable, f)
    }

    fn transact_retrying<T>(
        &self,
        name: &str,
        mode: Mode,
        retry: impl Fn(&postgres::Error) -> bool,
        f: impl FnMut(&mut Tx<'_>) -> TxResult<T>,
    ) -> Result<T> {
        retry::transact(&self.pool, &self.writers, name, mode, retry, f)
    }
}

/// A PostgreSQL database's schema version lives in the one row of `accord_schema`,
/// locked (`FOR UPDATE`) while it is upgraded.
impl SchemaStore for Tx<'_> {
    type Error = TxFailure;

    fn version(&mut self) -> TxResult<i64> {
        Ok(self
            .query_opt("SELECT version FROM accord_schema FOR UPDATE", &[])?
            .map_or(Ok(0), |r| r.try_get(0))?)
    }

    fn run(&mut self, step: &Migration) -> TxResult<()> {
        for statement in step.postgres {
            self.batch_execute(statement)?;
        }
        Ok(())
    }

    fn set_version(&mut self, version: i64) -> TxResult<()> {
        self.execute(
            "INSERT INTO accord_schema (singleton, version) VALUES (TRUE, $1)
             ON CONFLICT (singleton) DO UPDATE SET version = excluded.version",
            &[&version],
        )?;
        Ok(())
    }
}

const RECORD_COLUMNS: &str = "collection, id, version, seq, data, deleted, hlc, mutation_id";

fn record_from_row(row: &Row) -> TxResult<RemoteRecord> {
    let data: Option<String> = row.try_get(4)?;
    let data = data
        .map(|d| serde_json::from_str(&d))
        .transpose()
        .map_err(|e| StorageError::Database(format!("a stored record is damaged: {e}")))?;
    Ok(RemoteRecord {
        collection: row.try_get(0)?,
        id: row.try_get(1)?,
        version: row.try_get(2)?,
        seq: row.try_get(3)?,
        data,
        deleted: row.try_get(5)?,
        hlc: row.try_get(6)?,
        mutation_id: row.try_get(7)?,
    })
}

/// Writes a mutation's record only when the server does not have the record yet (a
/// record the server does not have has nothing to conflict with: the write creates it
/// whatever version the client built on) or has it at the client's base version ($10);
/// returns the new version, or no row when the record has moved on.
///
/// The check rides on the insert's conflict handling instead of a read before the
/// write: under SERIALIZABLE, PostgreSQL locks every B-tree page a read touches, and the
/// keys of pushes to different spaces share pages, so a read-then-write made most
/// concurrent pushes conflict with each other; the insert's own uniqueness check takes
/// no such lock.
const WRITE_IF_BASE: &str = "INSERT INTO records (space_id, collection, id, version, seq, data, deleted, hlc, mutation_id, updated_ms)
     VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (space_id, collection, id) DO UPDATE SET
        version = records.version + 1, seq = excluded.seq, data = excluded.data,
        deleted = excluded.deleted, hlc = excluded.hlc,
        mutation_id = excluded.mutation_id, updated_ms = excluded.updated_ms
     WHERE records.version = $10
     RETURNING version";

/// The answer given when `mutation_id` was first applied, if it was.
fn first_answer(
    tx: &mut Tx<'_>,
    space_id: i64,
    mutation_id: &str,
) -> TxResult<Option<MutationResult>> {
    let row = tx.query_opt(
        "SELECT version, seq FROM mutations WHERE space_id = $1 AND mutation_id = $2",
        &[&space_id, &mutation_id],
    )?;
    Ok(match row {
        Some(r) => Some(MutationResult::Applied {
            mutation_id: mutation_id.to_string(),
            version: r.try_get(0)?,
            seq: r.try_get(1)?,
        }),
        None => None,
    })
}

/// The outbox position below which the retention window may have dropped `device`'s
/// mutation ids in this space, if it ever dropped any.
fn forgotten_mark(tx: &mut Tx<'_>, space_id: i64, device: &str) -> TxResult<Option<i64>> {
    Ok(
        match tx.query_opt(
            "SELECT forgotten_below FROM mutation_devices WHERE space_id = $1 AND device = $2",
            &[&space_id, &device],
        )? {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        },
    )
}

fn user_id(tx: &mut Tx<'_>, name: &str) -> TxResult<i64> {
    match tx.query_opt("SELECT user_id FROM users WHERE name = $1", &[&name])? {
        Some(r) => Ok(r.try_get(0)?),
        None => Err(StorageError::NotFound(format!("no user named '{name}'")).into()),
    }
}

fn space_id(tx: &mut Tx<'_>, name: &str) -> TxResult<i64> {
    match tx.query_opt("SELECT space_id FROM spaces WHERE name = $1", &[&name])? {
        Some(r) => Ok(r.try_get(0)?),
        None => Err(StorageError::NotFound(format!("no space named '{name}'")).into()),
    }
}

impl Storage for PostgresStorage {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn ping(&self) -> Result<()> {
        self.read("ping", |tx| {
            tx.query_one("SELECT 1", &[])?;
            Ok(())
        })
    }

    fn user_for_token(&self, token_hash: &str) -> Result<Option<User>> {
        self.read("user_for_token", |tx| {
            let row = tx.query_opt(
                "SELECT u.user_id, u.name FROM tokens t JOIN users u ON u.user_id = t.user_id
                 WHERE t.token_hash = $1 AND NOT t.revoked",
                &[&token_hash],
            )?;
            Ok(match row {
                Some(r) => Some(User {
                    user_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                }),
                None => None,
            })
        })
    }

    fn space_for(&self, user: &User, space: &str) -> Result<Option<i64>> {
        self.read("space_for", |tx| {
            let row = tx.query_opt(
                "SELECT s.space_id FROM spaces s JOIN grants g ON g.space_id = s.space_id
                 WHERE s.name = $1 AND g.user_id = $2",
                &[&space, &user.user_id],
            )?;
            Ok(match row {
                Some(r) => Some(r.try_get(0)?),
                None => None,
            })
        })
    }

    fn access(&self, token_hash: &str, space: &str) -> Result<TokenAccess> {
        let known = self
            .space_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(space)
            .copied();
        let access = self.read("access", |tx| {
            let row = match known {
                // By id, so the read does not touch the space's row, which every push
                // to the space rewrites (see `space_ids`).
                Some(id) => tx.query_opt(
                    "SELECT u.user_id, u.name,
                            (SELECT g.space_id FROM grants g WHERE g.user_id = u.user_id AND g.space_id = $2)
                     FROM tokens t JOIN users u ON u.user_id = t.user_id
                     WHERE t.token_hash = $1 AND NOT t.revoked",
                    &[&token_hash, &id],
                )?,
                None => tx.query_opt(
                    "SELECT u.user_id, u.name,
                            (SELECT s.space_id FROM spaces s JOIN grants g ON g.space_id = s.space_id
                             WHERE s.name = $2 AND g.user_id = u.user_id)
                     FROM tokens t JOIN users u ON u.user_id = t.user_id
                     WHERE t.token_hash = $1 AND NOT t.revoked",
                    &[&token_hash, &space],
                )?,
            };
            let Some(r) = row else {
                return Ok(TokenAccess::UnknownToken);
            };
            let user = User {
                user_id: r.try_get(0)?,
                name: r.try_get(1)?,
            };
            Ok(match r.try_get::<_, Option<i64>>(2)? {
                Some(id) => TokenAccess::Granted(user, id),
                None => TokenAccess::NoGrant(user),
            })
        })?;
        if let (None, TokenAccess::Granted(_, id)) = (known, &access) {
            self.space_ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(space.to_string(), *id);
        }
        Ok(access)
    }

    fn changes(&self, space_id: i64, since: i64, limit: u32) -> Result<ChangesPage<RawData>> {
        self.read("changes", |tx| {
            let rows = tx.query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE space_id = $1 AND seq > $2
                     ORDER BY seq LIMIT $3"
                ),
                &[&space_id, &since, &(i64::from(limit) + 1)],
            )?;
            let changes = rows
                .iter()
                .map(|row| {
                    Ok(RemoteRecord {
                        collection: row.try_get(0)?,
                        id: row.try_get(1)?,
                        version: row.try_get(2)?,
                        seq: row.try_get(3)?,
                        data: row
                            .try_get::<_, Option<String>>(4)?
                            .map(super::raw_data)
                            .transpose()?,
                        deleted: row.try_get(5)?,
                        hlc: row.try_get(6)?,
                        mutation_id: row.try_get(7)?,
                    })
                })
                .collect::<TxResult<Vec<_>>>()?;
            Ok(super::changes_page(changes, since, limit))
        })
    }

    fn count_changes(&self, space_id: i64, since: i64) -> Result<u64> {
        self.read("count_changes", |tx| {
            let n: i64 = tx
                .query_one(
                    "SELECT count(*) FROM records WHERE space_id = $1 AND seq > $2",
                    &[&space_id, &since],
                )?
                .try_get(0)?;
            Ok(n.max(0) as u64)
        })
    }

    fn apply(&self, space_id: i64, batch: &MutationBatch) -> Result<Vec<MutationResult>> {
        super::validate_batch(batch)?;
        let space_lock = self
            .space_writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(space_id)
            .or_default()
            .clone();
        let _one_writer_here = space_lock.lock().unwrap_or_else(|p| p.into_inner());
        // Set when a write turned out to repeat an applied mutation id: the attempts
        // after it look each id up before writing, as a read would.
        let mut careful = false;
        self.write("apply", |tx| {
            tx.index_scans_only()?;
            // The space row is the per-space write lock: writers of one space take
            // their seq numbers one after another, so the feed commits in seq order and
            // a reader never skips a seq that commits later.
            let mut seq: i64 = match tx.query_opt(
                "SELECT seq FROM spaces WHERE space_id = $1 FOR UPDATE",
                &[&space_id],
            )? {
                Some(r) => r.try_get(0)?,
                None => {
                    return Err(StorageError::NotFound("the space no longer exists".into()).into())
                }
            };
            let first_seq = seq;
            if let Some((device, below)) = super::answered_to_forget(batch) {
                tx.execute(
                    "DELETE FROM mutations WHERE space_id = $1 AND device = $2 AND device_seq < $3",
                    &[&space_id, &device, &below],
                )?;
            }
            let mut forgotten = super::ForgottenMark::default();
            let mut results = Vec::with_capacity(batch.mutations.len());
            for m in &batch.mutations {
                if careful {
                    if let Some(first) = first_answer(tx, space_id, &m.mutation_id)? {
                        results.push(first);
                        continue;
                    }
                }
                let data = m.data.as_ref().map(|d| d.to_string());
                let now = now_ms();
                let written = tx.query_opt(
                    WRITE_IF_BASE,
                    &[
                        &space_id,
                        &m.collection,
                        &m.id,
                        &(seq + 1),
                        &data,
                        &m.deleted,
                        &m.hlc,
                        &m.mutation_id,
                        &now,
                        &m.base_version,
                    ],
                )?;
                let Some(row) = written else {
                    // Not written: the record moved past the client's base, or this is a
                    // retry of a mutation that was applied (so moved it).
                    if let Some(first) = first_answer(tx, space_id, &m.mutation_id)? {
                        results.push(first);
                        continue;
                    }
                    let current = tx
                        .query_opt(
                            &format!(
                                "SELECT {RECORD_COLUMNS} FROM records
                                 WHERE space_id = $1 AND collection = $2 AND id = $3"
                            ),
                            &[&space_id, &m.collection, &m.id],
                        )?
                        .ok_or_else(|| {
                            StorageError::Database("a record refused a write, then vanished".into())
                        })?;
                    let mark = forgotten
                        .get(batch.device.as_deref(), |d| forgotten_mark(tx, space_id, d))?;
                    results.push(super::moved_record_answer(
                        m,
                        record_from_row(&current)?,
                        super::maybe_forgotten(m, mark),
                    ));
                    continue;
                };
                let version: i64 = row.try_get(0)?;
                seq += 1;
                let remembered = tx.execute(
                    "INSERT INTO mutations (space_id, mutation_id, version, seq, applied_ms, device, device_seq)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    &[&space_id, &m.mutation_id, &version, &seq, &now, &batch.device, &m.outbox_seq],
                )?;
                if remembered == 0 {
                    // The id was applied before to a record that is now at this
                    // mutation's base again (or to another record): the write just made
                    // must not stand. Start over, looking the id up first.
                    if careful {
                        return Err(StorageError::Database(format!(
                            "mutation id '{}' was applied twice in one transaction",
                            m.mutation_id
                        ))
                        .into());
                    }
                    careful = true;
                    return Err(TxFailure::Replay);
                }
                results.push(MutationResult::Applied {
                    mutation_id: m.mutation_id.clone(),
                    version,
                    seq,
                });
            }
            if seq != first_seq {
                tx.execute(
                    "UPDATE spaces SET seq = $2 WHERE space_id = $1",
                    &[&space_id, &seq],
                )?;
            }
            Ok(results)
        })
    }

    fn forget_mutations(&self, applied_before_ms: i64) -> Result<u64> {
        self.write("forget_mutations", |tx| {
            tx.execute(
                "INSERT INTO mutation_devices (space_id, device, forgotten_below)
                 SELECT space_id, device, max(device_seq) + 1 FROM mutations
                 WHERE applied_ms < $1 AND device IS NOT NULL AND device_seq IS NOT NULL
                 GROUP BY space_id, device
                 ON CONFLICT (space_id, device) DO UPDATE SET
                    forgotten_below = GREATEST(mutation_devices.forgotten_below, excluded.forgotten_below)",
                &[&applied_before_ms],
            )?;
            Ok(tx.execute(
                "DELETE FROM mutations WHERE applied_ms < $1",
                &[&applied_before_ms],
            )?)
        })
    }

    fn mutation_ids(&self) -> Result<u64> {
        self.read("mutation_ids", |tx| {
            let n: i64 = tx
                .query_one("SELECT count(*) FROM mutations", &[])?
                .try_get(0)?;
            Ok(n.max(0) as u64)
        })
    }

    fn store_log_report(&self, space_id: i64, user: &User, report: &LogReport) -> Result<bool> {
        let body = serde_json::to_string(report)
            .map_err(|e| StorageError::Invalid(format!("cannot store report: {e}")))?;
        self.write("store_log_report", |tx| {
            let n = tx.execute(
                "INSERT INTO log_reports (space_id, report_id, user_id, received_ms, body)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[
                    &space_id,
                    &report.report_id,
                    &user.user_id,
                    &now_ms(),
                    &body,
                ],
            )?;
            Ok(n == 1)
        })
    }

    fn log_reports(&self, space: &str, limit: u32) -> Result<Vec<StoredLogReport>> {
        self.read("log_reports", |tx| {
            let sid = space_id(tx, space)?;
            let rows = tx.query(
                "SELECT u.name, l.received_ms, l.body FROM log_reports l
                 JOIN users u ON u.user_id = l.user_id
                 WHERE l.space_id = $1 ORDER BY l.received_ms DESC, l.report_id DESC LIMIT $2",
                &[&sid, &i64::from(limit)],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let body: String = row.try_get(2)?;
                let report = serde_json::from_str(&body).map_err(|e| {
                    StorageError::Database(format!("stored report is damaged: {e}"))
                })?;
                out.push(StoredLogReport {
                    space: space.to_string(),
                    user: row.try_get(0)?,
                    received_ms: row.try_get(1)?,
                    report,
                });
            }
            Ok(out)
        })
    }

    fn log_report(&self, space: &str, report_id: &str) -> Result<Option<StoredLogReport>> {
        self.read("log_report", |tx| {
            let sid = space_id(tx, space)?;
            let Some(row) = tx.query_opt(
                "SELECT u.name, l.received_ms, l.body FROM log_reports l
                 JOIN users u ON u.user_id = l.user_id
                 WHERE l.space_id = $1 AND l.report_id = $2",
                &[&sid, &report_id],
            )?
            else {
                return Ok(None);
            };
            let body: String = row.try_get(2)?;
            let report = serde_json::from_str(&body)
                .map_err(|e| StorageError::Database(format!("stored report is damaged: {e}")))?;
            Ok(Some(StoredLogReport {
                space: space.to_string(),
                user: row.try_get(0)?,
                received_ms: row.try_get(1)?,
                report,
            }))
        })
    }

    fn record_activity(&self, counts: &[(ActivityKey, ActivityCounts)]) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        self.write("record_activity", |tx| {
            for (k, c) in counts {
                tx.execute(
                    "INSERT INTO activity (hour_ms, space_id, user_id, token, device, pulls,
                        records_pulled, pushes, mutations_applied, conflicts, log_reports, last_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (hour_ms, space_id, user_id, token, device) DO UPDATE SET
                        pulls = activity.pulls + excluded.pulls,
                        records_pulled = activity.records_pulled + excluded.records_pulled,
                        pushes = activity.pushes + excluded.pushes,
                        mutations_applied = activity.mutations_applied + excluded.mutations_applied,
                        conflicts = activity.conflicts + excluded.conflicts,
                        log_reports = activity.log_reports + excluded.log_reports,
                        last_ms = GREATEST(activity.last_ms, excluded.last_ms)",
                    &[
                        &k.hour_ms,
                        &k.space_id,
                        &k.user_id,
                        &k.token,
                        &k.device,
                        &to_db(c.pulls),
                        &to_db(c.records_pulled),
                        &to_db(c.pushes),
                        &to_db(c.mutations_applied),
                        &to_db(c.conflicts),
                        &to_db(c.log_reports),
                        &c.last_ms,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn activity(&self, since_ms: i64) -> Result<Vec<Activity>> {
        self.read("activity", |tx| {
            let rows = tx.query(
                "SELECT s.name, u.name, a.token, a.device, a.hour_ms, a.pulls, a.records_pulled,
                        a.pushes, a.mutations_applied, a.conflicts, a.log_reports, a.last_ms
                 FROM activity a
                 JOIN spaces s ON s.space_id = a.space_id
                 JOIN users u ON u.user_id = a.user_id
                 WHERE a.hour_ms >= $1 ORDER BY a.hour_ms, s.name, u.name, a.token, a.device",
                &[&since_ms],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(Activity {
                    space: r.try_get(0)?,
                    user: r.try_get(1)?,
                    token: r.try_get(2)?,
                    device: r.try_get(3)?,
                    hour_ms: r.try_get(4)?,
                    counts: ActivityCounts {
                        pulls: from_db(r.try_get(5)?),
                        records_pulled: from_db(r.try_get(6)?),
                        pushes: from_db(r.try_get(7)?),
                        mutations_applied: from_db(r.try_get(8)?),
                        conflicts: from_db(r.try_get(9)?),
                        log_reports: from_db(r.try_get(10)?),
                        last_ms: r.try_get(11)?,
                    },
                });
            }
            Ok(out)
        })
    }

    fn add_space(&self, name: &str) -> Result<()> {
        accord_protocol::check_name("space", name).map_err(StorageError::Invalid)?;
        self.write("add_space", |tx| {
            let n = tx.execute(
                "INSERT INTO spaces (name, created_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &now_ms()],
            )?;
            if n == 0 {
                return Err(StorageError::Conflict(format!("space '{name}' already exists")).into());
            }
            Ok(())
        })
    }

    fn add_user(&self, name: &str, token_hash: &str) -> Result<()> {
        accord_protocol::check_name("user", name).map_err(StorageError::Invalid)?;
        self.write("add_user", |tx| {
            let row = tx.query_opt(
                "INSERT INTO users (name, created_ms) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING RETURNING user_id",
                &[&name, &now_ms()],
            )?;
            let Some(row) = row else {
                return Err(StorageError::Conflict(format!("user '{name}' already exists")).into());
            };
            let uid: i64 = row.try_get(0)?;
            insert_token(tx, uid, token_hash)
        })
    }

    fn add_token(&self, user: &str, token_hash: &str) -> Result<()> {
        self.write("add_token", |tx| {
            let uid = user_id(tx, user)?;
            insert_token(tx, uid, token_hash)
        })
    }

    fn revoke_tokens(&self, user: &str) -> Result<u64> {
        self.write("revoke_tokens", |tx| {
            let uid = user_id(tx, user)?;
            Ok(tx.execute(
                "UPDATE tokens SET revoked = TRUE WHERE user_id = $1 AND NOT revoked",
                &[&uid],
            )?)
        })
    }

    fn grant(&self, user: &str, space: &str) -> Result<()> {
        self.write("grant", |tx| {
            let uid = user_id(tx, user)?;
            let sid = space_id(tx, space)?;
            tx.execute(
                "INSERT INTO grants (user_id, space_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&uid, &sid],
            )?;
            Ok(())
        })
    }

    fn revoke(&self, user: &str, space: &str) -> Result<bool> {
        self.write("revoke", |tx| {
            let uid = user_id(tx, user)?;
            let sid = space_id(tx, space)?;
            Ok(tx.execute(
                "DELETE FROM grants WHERE user_id = $1 AND space_id = $2",
                &[&uid, &sid],
            )? == 1)
        })
    }

    fn spaces(&self) -> Result<Vec<SpaceInfo>> {
        self.read("spaces", |tx| {
            let rows = tx.query(
                "SELECT s.space_id, s.name, s.seq,
                        (SELECT count(*) FROM records r WHERE r.space_id = s.space_id),
                        (SELECT r.updated_ms FROM records r WHERE r.space_id = s.space_id
                         ORDER BY r.seq DESC LIMIT 1)
                 FROM spaces s ORDER BY s.name",
                &[],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let sid: i64 = row.try_get(0)?;
                let members = tx
                    .query(
                        "SELECT u.name FROM grants g JOIN users u ON u.user_id = g.user_id
                         WHERE g.space_id = $1 ORDER BY u.name",
                        &[&sid],
                    )?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<std::result::Result<Vec<String>, _>>()?;
                out.push(SpaceInfo {
                    name: row.try_get(1)?,
                    seq: row.try_get(2)?,
                    records: row.try_get(3)?,
                    members,
                    last_change_ms: row.try_get(4)?,
                });
            }
            Ok(out)
        })
    }

    fn users(&self) -> Result<Vec<UserInfo>> {
        self.read("users", |tx| {
            let users = tx
                .query(
                    "SELECT user_id, name, created_ms FROM users ORDER BY name",
                    &[],
                )?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect::<std::result::Result<Vec<_>, postgres::Error>>()?;
            let grants = tx
                .query(
                    "SELECT g.user_id, s.name FROM grants g JOIN spaces s ON s.space_id = g.space_id
                     ORDER BY s.name",
                    &[],
                )?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<std::result::Result<Vec<_>, postgres::Error>>()?;
            let tokens = tx
                .query(
                    "SELECT user_id, token_hash, created_ms, revoked FROM tokens
                     ORDER BY created_ms, token_hash",
                    &[],
                )?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                .collect::<std::result::Result<Vec<_>, postgres::Error>>()?;
            Ok(super::assemble_users(users, grants, tokens))
        })
    }
}

fn insert_token(tx: &mut Tx<'_>, uid: i64, token_hash: &str) -> TxResult<()> {
    tx.execute(
        "INSERT INTO tokens (token_hash, user_id, created_ms) VALUES ($1, $2, $3)",
        &[&token_hash, &uid, &now_ms()],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StorageError::Conflict("that token is already in use; make a new one".into()).into()
        } else {
            TxFailure::Db(e)
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh database on the server `ACCORD_TEST_POSTGRES` names (as
    /// `scripts/pg-test-cluster.sh` sets it), and a client connected to it.
    fn fresh_database() -> (String, postgres::Client) {
        let url = std::env::var("ACCORD_TEST_POSTGRES")
            .expect("ACCORD_TEST_POSTGRES names a PostgreSQL server");
        let name = format!("accord_schema_test_{}_{}", std::process::id(), now_ms());
        postgres::Client::connect(&url, postgres::NoTls)
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = url.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        let client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        (url, client)
    }

    #[test]
    #[ignore = "needs PostgreSQL: scripts/pg-test-cluster.sh cargo test -p accord-server -- --include-ignored"]
    fn a_database_made_by_the_first_schema_is_upgraded_and_keeps_its_rows() {
        let (url, mut old) = fresh_database();
        // What the first server build wrote: version 1, no activity table.
        old.batch_execute(
            "CREATE TABLE accord_schema (
                singleton BOOLEAN PRIMARY KEY DEFAULT TRUE,
                version   BIGINT NOT NULL
            );
            INSERT INTO accord_schema (singleton, version) VALUES (TRUE, 1)",
        )
        .unwrap();
        for statement in SCHEMA_V1 {
            old.batch_execute(statement).unwrap();
        }
        old.batch_execute("INSERT INTO spaces (name, created_ms) VALUES ('notes', 1)")
            .unwrap();
        let storage = PostgresStorage::open(&url).unwrap();
        let version = |c: &mut postgres::Client| -> i64 {
            c.query_one("SELECT version FROM accord_schema", &[])
                .unwrap()
                .get(0)
        };
        assert_eq!(version(&mut old), schema::SCHEMA_VERSION);
        assert_eq!(storage.spaces().unwrap()[0].name, "notes");
        assert!(storage.activity(0).unwrap().is_empty());
        drop(storage);
        PostgresStorage::open(&url).unwrap();
        assert_eq!(version(&mut old), schema::SCHEMA_VERSION);
    }

    #[test]
    #[ignore = "needs PostgreSQL: scripts/pg-test-cluster.sh cargo test -p accord-server -- --include-ignored"]
    fn a_database_newer_than_this_build_is_refused() {
        let (url, mut old) = fresh_database();
        old.batch_execute(&format!(
            "CREATE TABLE accord_schema (
                singleton BOOLEAN PRIMARY KEY DEFAULT TRUE,
                version   BIGINT NOT NULL
            );
            INSERT INTO accord_schema (singleton, version) VALUES (TRUE, {})",
            schema::SCHEMA_VERSION + 1
        ))
        .unwrap();
        let err = PostgresStorage::open(&url).err().unwrap().to_string();
        assert!(err.contains("newer than this build"), "{err}");
    }
}
