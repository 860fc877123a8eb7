//! PostgreSQL storage, for deployments that outgrow one machine: several stateless
//! `accord serve` processes behind a load balancer over one database.
//!
//! The SQL and the transaction handling stay inside what PostgreSQL-compatible
//! distributed databases (CockroachDB, YugabyteDB) also accept, so a deployment can move
//! to one of them:
//! - every transaction is `SERIALIZABLE` and is retried, whole, on a serialization
//!   failure (SQLSTATE 40001) or a deadlock (40P01), with jittered backoff;
//! - no advisory locks, no `LISTEN/NOTIFY`, no reliance on gapless sequences: the change
//!   feed's `seq` is a counter column of the space, advanced in the same transaction as
//!   the writes it numbers (so it has no gaps and commits in order); `BIGSERIAL` ids are
//!   only used as opaque keys;
//! - row locks only through `SELECT ... FOR UPDATE`; upserts through
//!   `INSERT ... ON CONFLICT`;
//! - schema changes are idempotent (`IF NOT EXISTS`) and versioned in a table, so two
//!   servers starting together both end up on the same schema.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postgres::error::SqlState;
use postgres::{Client, IsolationLevel, NoTls, Row, Transaction};

use super::{Result, SpaceInfo, Storage, StorageError, StoredLogReport, User};
use accord_protocol::{ChangesPage, LogReport, Mutation, MutationResult, RemoteRecord};

const SCHEMA_VERSION: i64 = 1;

const SCHEMA_V1: &[&str] = &[
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

/// Attempts of one transaction before a serialization failure is reported as "busy".
/// Writers of one space queue on its row, and under SERIALIZABLE each waiter fails when
/// the holder commits, so a hot space costs retries; 40 short attempts ride that out.
const MAX_ATTEMPTS: u32 = 40;

/// Connections kept by one server process unless the URL says otherwise
/// (`?pool_size=N` is read by Accord and removed before connecting).
pub const DEFAULT_POOL_SIZE: usize = 16;

/// Server storage in a PostgreSQL (or CockroachDB / YugabyteDB) database.
pub struct PostgresStorage {
    config: postgres::Config,
    pool: ConnectionPool,
    /// One lock per space, taken around a write of that space. Correctness does not
    /// depend on it (the database serializes writers through the space row); it keeps a
    /// process's writers of one space from all queueing on that row, where under
    /// SERIALIZABLE every waiter fails when the holder commits and must start over.
    /// With it, at most one transaction per process contends for a space.
    space_writers: Mutex<std::collections::HashMap<i64, Arc<Mutex<()>>>>,
}

/// A bounded pool: at most `size` connections open; callers wait for a free one.
struct ConnectionPool {
    size: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Client>,
    open: usize,
}

/// A failure inside a transaction: either the database's (maybe retryable) or ours.
enum TxFailure {
    Db(postgres::Error),
    Storage(StorageError),
}

impl From<postgres::Error> for TxFailure {
    fn from(e: postgres::Error) -> Self {
        TxFailure::Db(e)
    }
}

impl From<StorageError> for TxFailure {
    fn from(e: StorageError) -> Self {
        TxFailure::Storage(e)
    }
}

type TxResult<T> = std::result::Result<T, TxFailure>;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// True for the errors a serializable database asks the client to retry.
fn is_retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

fn db_error(e: postgres::Error) -> StorageError {
    // The driver's Display hides the server's message behind "db error"; show it.
    match e.as_db_error() {
        Some(db) => StorageError::Database(format!("{} ({})", db.message(), db.code().code())),
        None => StorageError::Database(e.to_string()),
    }
}

/// Splits Accord's own `pool_size` parameter off a connection URL.
fn split_pool_size(url: &str) -> Result<(String, usize)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), DEFAULT_POOL_SIZE));
    };
    let mut size = DEFAULT_POOL_SIZE;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("pool_size", v)) => {
                size = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    StorageError::Invalid(format!("pool_size must be a number ≥ 1, got '{v}'"))
                })?;
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, size))
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, optionally
    /// `?pool_size=N`) and creates or upgrades the schema. A database whose schema is
    /// newer than this build is refused.
    pub fn open(url: &str) -> Result<Self> {
        let (url, size) = split_pool_size(url)?;
        let config: postgres::Config = url.parse().map_err(|e| {
            StorageError::Invalid(format!(
                "'{}' is not a PostgreSQL URL ({e}); use postgres://USER@HOST:PORT/DB",
                redact(&url)
            ))
        })?;
        let storage = PostgresStorage {
            config,
            pool: ConnectionPool {
                size,
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                freed: Condvar::new(),
            },
            space_writers: Mutex::new(std::collections::HashMap::new()),
        };
        storage.migrate()?;
        Ok(storage)
    }

    fn migrate(&self) -> Result<()> {
        // Two servers starting together may both create the tables; the loser of that
        // race sees a unique violation on the catalog and simply tries again.
        let retry = |e: &postgres::Error| is_retryable(e) || is_unique_violation(e);
        self.transact_retrying(retry, |tx| {
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS accord_schema (
                    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE,
                    version   BIGINT NOT NULL
                )",
            )?;
            let version: i64 = tx
                .query_opt("SELECT version FROM accord_schema FOR UPDATE", &[])?
                .map_or(0, |r| r.get(0));
            if version > SCHEMA_VERSION {
                return Err(StorageError::Database(format!(
                    "the database has server schema version {version}, newer than this build ({SCHEMA_VERSION}); upgrade accord"
                ))
                .into());
            }
            if version < 1 {
                for statement in SCHEMA_V1 {
                    tx.batch_execute(statement)?;
                }
                tx.execute(
                    "INSERT INTO accord_schema (singleton, version) VALUES (TRUE, $1)
                     ON CONFLICT (singleton) DO UPDATE SET version = excluded.version",
                    &[&SCHEMA_VERSION],
                )?;
            }
            Ok(())
        })
    }

    /// Takes a connection from the pool, waiting while all `size` are in use.
    fn checkout(&self) -> Result<Client> {
        let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            while let Some(client) = state.idle.pop() {
                if !client.is_closed() {
                    return Ok(client);
                }
                state.open -= 1;
            }
            if state.open < self.pool.size {
                state.open += 1;
                drop(state);
                return self.config.connect(NoTls).map_err(|e| {
                    let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
                    state.open -= 1;
                    self.pool.freed.notify_one();
                    StorageError::Database(format!("cannot connect to PostgreSQL: {e}"))
                });
            }
            state = self
                .pool
                .freed
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Returns a connection; a broken one is closed instead of pooled.
    fn checkin(&self, client: Client) {
        let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        if client.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push(client);
        }
        self.pool.freed.notify_one();
    }

    /// Runs `f` in one serializable transaction and commits it, running it again from
    /// the start when the database reports a serialization failure. `f` must have no
    /// effect outside the transaction, since it may run more than once.
    fn transact<T>(&self, f: impl FnMut(&mut Transaction<'_>) -> TxResult<T>) -> Result<T> {
        self.transact_retrying(is_retryable, f)
    }

    fn transact_retrying<T>(
        &self,
        retry: impl Fn(&postgres::Error) -> bool,
        mut f: impl FnMut(&mut Transaction<'_>) -> TxResult<T>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = self.checkout()?;
            let outcome = run_once(&mut client, &mut f);
            self.checkin(client);
            match outcome {
                Ok(v) => return Ok(v),
                Err(TxFailure::Storage(e)) => return Err(e),
                Err(TxFailure::Db(e)) if retry(&e) && attempt < MAX_ATTEMPTS => {
                    // "Full jitter" over a growing, capped window, so the transactions
                    // that collided do not collide again in lockstep.
                    let window = 2u64.saturating_pow(attempt.min(6));
                    std::thread::sleep(Duration::from_micros(fastrand::u64(0..=window * 1000)));
                }
                Err(TxFailure::Db(e)) if retry(&e) => {
                    return Err(StorageError::Busy(format!(
                        "gave up after {MAX_ATTEMPTS} serialization failures: {}",
                        db_error(e)
                    )))
                }
                Err(TxFailure::Db(e)) => return Err(db_error(e)),
            }
        }
    }
}

fn run_once<T>(
    client: &mut Client,
    f: &mut impl FnMut(&mut Transaction<'_>) -> TxResult<T>,
) -> TxResult<T> {
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .start()?;
    let out = f(&mut tx)?;
    tx.commit()?;
    Ok(out)
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
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

fn user_id(tx: &mut Transaction<'_>, name: &str) -> TxResult<i64> {
    match tx.query_opt("SELECT user_id FROM users WHERE name = $1", &[&name])? {
        Some(r) => Ok(r.try_get(0)?),
        None => Err(StorageError::NotFound(format!("no user named '{name}'")).into()),
    }
}

fn space_id(tx: &mut Transaction<'_>, name: &str) -> TxResult<i64> {
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
        self.transact(|tx| {
            tx.query_one("SELECT 1", &[])?;
            Ok(())
        })
    }

    fn user_for_token(&self, token_hash: &str) -> Result<Option<User>> {
        self.transact(|tx| {
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
        self.transact(|tx| {
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

    fn changes(&self, space_id: i64, since: i64, limit: u32) -> Result<ChangesPage> {
        self.transact(|tx| {
            let rows = tx.query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE space_id = $1 AND seq > $2
                     ORDER BY seq LIMIT $3"
                ),
                &[&space_id, &since, &(i64::from(limit) + 1)],
            )?;
            let mut changes = rows
                .iter()
                .map(record_from_row)
                .collect::<TxResult<Vec<_>>>()?;
            let more = changes.len() > limit as usize;
            changes.truncate(limit as usize);
            let next = changes.last().map_or(since, |r| r.seq);
            Ok(ChangesPage {
                changes,
                next,
                more,
            })
        })
    }

    fn apply(&self, space_id: i64, mutations: &[Mutation]) -> Result<Vec<MutationResult>> {
        super::validate_mutations(mutations)?;
        let space_lock = self
            .space_writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(space_id)
            .or_default()
            .clone();
        let _one_writer_here = space_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.transact(|tx| {
            // The space row is the per-space write lock: writers of one space take
            // their seq numbers one after another, so the feed commits in seq order and
            // a reader never skips a seq that commits later.
            let mut seq: i64 = match tx.query_opt(
                "SELECT seq FROM spaces WHERE space_id = $1 FOR UPDATE",
                &[&space_id],
            )? {
                Some(r) => r.try_get(0)?,
                None => return Err(StorageError::NotFound("the space no longer exists".into()).into()),
            };
            let seen_stmt = tx.prepare(
                "SELECT version, seq FROM mutations WHERE space_id = $1 AND mutation_id = $2",
            )?;
            let current_stmt = tx.prepare(&format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE space_id = $1 AND collection = $2 AND id = $3"
            ))?;
            let upsert = tx.prepare(
                "INSERT INTO records (space_id, collection, id, version, seq, data, deleted, hlc, mutation_id, updated_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (space_id, collection, id) DO UPDATE SET
                    version = excluded.version, seq = excluded.seq, data = excluded.data,
                    deleted = excluded.deleted, hlc = excluded.hlc,
                    mutation_id = excluded.mutation_id, updated_ms = excluded.updated_ms",
            )?;
            let remember = tx.prepare(
                "INSERT INTO mutations (space_id, mutation_id, version, seq, applied_ms) VALUES ($1, $2, $3, $4, $5)",
            )?;
            let mut results = Vec::with_capacity(mutations.len());
            for m in mutations {
                if let Some(r) = tx.query_opt(&seen_stmt, &[&space_id, &m.mutation_id])? {
                    results.push(MutationResult::Applied {
                        mutation_id: m.mutation_id.clone(),
                        version: r.try_get(0)?,
                        seq: r.try_get(1)?,
                    });
                    continue;
                }
                let current = match tx.query_opt(&current_stmt, &[&space_id, &m.collection, &m.id])? {
                    Some(r) => Some(record_from_row(&r)?),
                    None => None,
                };
                // A record the server does not have has nothing to conflict with: the
                // write creates it whatever version the client built on.
                if let Some(cur) = current.as_ref().filter(|c| c.version != m.base_version) {
                    results.push(MutationResult::Conflict {
                        mutation_id: m.mutation_id.clone(),
                        current: cur.clone(),
                    });
                    continue;
                }
                let version = current.as_ref().map_or(0, |c| c.version) + 1;
                seq += 1;
                let data = m.data.as_ref().map(|d| d.to_string());
                let now = now_ms();
                tx.execute(
                    &upsert,
                    &[
                        &space_id, &m.collection, &m.id, &version, &seq, &data, &m.deleted,
                        &m.hlc, &m.mutation_id, &now,
                    ],
                )?;
                tx.execute(&remember, &[&space_id, &m.mutation_id, &version, &seq, &now])?;
                results.push(MutationResult::Applied {
                    mutation_id: m.mutation_id.clone(),
                    version,
                    seq,
                });
            }
            tx.execute(
                "UPDATE spaces SET seq = $2 WHERE space_id = $1",
                &[&space_id, &seq],
            )?;
            Ok(results)
        })
    }

    fn store_log_report(&self, space_id: i64, user: &User, report: &LogReport) -> Result<bool> {
        let body = serde_json::to_string(report)
            .map_err(|e| StorageError::Invalid(format!("cannot store report: {e}")))?;
        self.transact(|tx| {
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
        self.transact(|tx| {
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

    fn add_space(&self, name: &str) -> Result<()> {
        accord_protocol::check_name("space", name).map_err(StorageError::Invalid)?;
        self.transact(|tx| {
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
        self.transact(|tx| {
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
        self.transact(|tx| {
            let uid = user_id(tx, user)?;
            insert_token(tx, uid, token_hash)
        })
    }

    fn revoke_tokens(&self, user: &str) -> Result<u64> {
        self.transact(|tx| {
            let uid = user_id(tx, user)?;
            Ok(tx.execute(
                "UPDATE tokens SET revoked = TRUE WHERE user_id = $1 AND NOT revoked",
                &[&uid],
            )?)
        })
    }

    fn grant(&self, user: &str, space: &str) -> Result<()> {
        self.transact(|tx| {
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
        self.transact(|tx| {
            let uid = user_id(tx, user)?;
            let sid = space_id(tx, space)?;
            Ok(tx.execute(
                "DELETE FROM grants WHERE user_id = $1 AND space_id = $2",
                &[&uid, &sid],
            )? == 1)
        })
    }

    fn spaces(&self) -> Result<Vec<SpaceInfo>> {
        self.transact(|tx| {
            let rows = tx.query(
                "SELECT s.space_id, s.name, s.seq,
                        (SELECT count(*) FROM records r WHERE r.space_id = s.space_id)
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
                });
            }
            Ok(out)
        })
    }
}

fn insert_token(tx: &mut Transaction<'_>, uid: i64, token_hash: &str) -> TxResult<()> {
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

    #[test]
    fn pool_size_is_read_from_the_url_and_removed() {
        assert_eq!(
            split_pool_size("postgres://u@h/db?pool_size=4&sslmode=disable").unwrap(),
            ("postgres://u@h/db?sslmode=disable".to_string(), 4)
        );
        assert_eq!(
            split_pool_size("postgres://u@h/db").unwrap(),
            ("postgres://u@h/db".to_string(), DEFAULT_POOL_SIZE)
        );
        assert!(split_pool_size("postgres://u@h/db?pool_size=0").is_err());
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://bob:s3cret@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(redact("postgres://bob@db/x"), "postgres://bob@db/x");
    }
}
