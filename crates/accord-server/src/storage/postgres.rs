//! PostgreSQL storage, for deployments that outgrow one machine: several stateless
//! `accord serve` processes behind a load balancer over one database.
//!
//! The SQL and the transaction handling stay inside what PostgreSQL-compatible
//! distributed databases (CockroachDB, YugabyteDB) also accept, so a deployment can move
//! to one of them:
//! - every transaction is `SERIALIZABLE` and is retried, whole, on a serialization
//!   failure (SQLSTATE 40001) or a deadlock (40P01), with jittered backoff, for up to
//!   [`RETRY_BUDGET`]; transactions that only read say `READ ONLY`;
//! - no advisory locks, no `LISTEN/NOTIFY`, no reliance on gapless sequences: the change
//!   feed's `seq` is a counter column of the space, advanced in the same transaction as
//!   the writes it numbers (so it has no gaps and commits in order); `BIGSERIAL` ids are
//!   only used as opaque keys;
//! - row locks only through `SELECT ... FOR UPDATE`; upserts through
//!   `INSERT ... ON CONFLICT`;
//! - schema changes are idempotent (`IF NOT EXISTS`) and versioned in a table, so two
//!   servers starting together both end up on the same schema.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, NoTls, Row, Statement, Transaction};

use super::activity::{from_db, to_db};
use super::{
    now_ms, Activity, ActivityCounts, ActivityKey, Result, SpaceInfo, Storage, StorageError,
    StoredLogReport, TokenAccess, User, UserInfo,
};
use accord_protocol::{
    ChangesPage, LogReport, MutationBatch, MutationResult, RawData, RemoteRecord,
};

const SCHEMA_VERSION: i64 = 3;

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

/// Version 2: sync activity per hour, for the console.
const SCHEMA_V2: &[&str] = &["CREATE TABLE IF NOT EXISTS activity (
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
const SCHEMA_V3: &[&str] = &[
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

/// Each version's schema change, applied in order.
const MIGRATIONS: [(i64, &[&str]); 3] = [(1, SCHEMA_V1), (2, SCHEMA_V2), (3, SCHEMA_V3)];

/// How long one call keeps retrying serialization failures before it answers "busy"
/// (503 with Retry-After). A time budget rather than a count: what the caller feels is
/// the wait, and under load a count of short attempts ran out in well under a second.
const RETRY_BUDGET: Duration = Duration::from_secs(5);

/// The backoff window doubles from this after each failure ("full jitter": the pause is
/// uniform in the window, so transactions that collided do not collide again in step)...
const BACKOFF_FIRST: Duration = Duration::from_millis(2);
/// ...up to this.
const BACKOFF_CAP: Duration = Duration::from_millis(100);

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

/// Read-write transactions one process runs at once, for a pool of `pool_size`.
///
/// Under SERIALIZABLE, PostgreSQL locks the B-tree *pages* a transaction reads, so two
/// pushes to different spaces whose keys share a leaf page (the newest spaces' keys sit
/// side by side) can be reported as a conflict, and the more writers are in flight the
/// more of them collide; each retry is one more writer in flight. Measured at 1,000
/// devices (`accord bench load`, pool of 32): 8 writers, 1.2% of push attempts failed and
/// 1,021 syncs/s; unbounded, 3.2% and 795 syncs/s. A few writers keep the disk busy
/// (commits that arrive together share an fsync) while readers keep the rest of the pool.
fn writer_slots_for(pool_size: usize) -> usize {
    (pool_size / 4).clamp(1, 8)
}

/// A counting semaphore for [`PostgresStorage::writers`].
struct WriterSlots {
    limit: usize,
    held: Mutex<usize>,
    freed: Condvar,
}

/// One taken slot; dropping it frees the slot.
struct WriterSlot<'a>(&'a WriterSlots);

impl WriterSlots {
    fn new(limit: usize) -> Self {
        WriterSlots {
            limit: limit.max(1),
            held: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    fn take(&self) -> WriterSlot<'_> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while *held >= self.limit {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held += 1;
        WriterSlot(self)
    }
}

impl Drop for WriterSlot<'_> {
    fn drop(&mut self) {
        let mut held = self.0.held.lock().unwrap_or_else(|p| p.into_inner());
        *held -= 1;
        self.0.freed.notify_one();
    }
}

/// Whether a transaction writes. Reads run `READ ONLY`: PostgreSQL then knows they
/// cannot be the middle of a dangerous structure, cancels far fewer transactions around
/// them, and drops their predicate locks early once their snapshot is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Read,
    Write,
}

/// A pooled connection and the statements it has prepared: a cached statement costs one
/// round trip (bind and execute) instead of two (parse, then execute).
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
    /// True when `SET LOCAL enable_seqscan` is understood (see [`Tx::index_scans_only`]).
    planner_settings: bool,
}

/// A transaction on a pooled connection, preparing each statement once per connection.
/// Prepared statements belong to the session, so they outlive a rolled-back attempt.
struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<String, Statement>,
    planner_settings: bool,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl Tx<'_> {
    fn statement(&mut self, sql: &str) -> std::result::Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn query(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query(&s, params)
    }

    fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_opt(&s, params)
    }

    fn query_one(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_one(&s, params)
    }

    fn execute(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.execute(&s, params)
    }

    fn batch_execute(&mut self, sql: &str) -> std::result::Result<(), postgres::Error> {
        self.tx.batch_execute(sql)
    }

    /// Tells the planner, for this transaction only, not to scan whole tables.
    ///
    /// Under SERIALIZABLE a sequential scan takes a relation-level predicate lock (an
    /// index scan locks pages). Once statistics say `spaces` is small, the planner picks
    /// a sequential scan for the push's `WHERE space_id = $1`, and then every push
    /// conflicts with every other push, of any space. The push's queries are all key
    /// lookups, so the index is always the right plan there; other transactions keep
    /// the planner's own choice.
    fn index_scans_only(&mut self) -> std::result::Result<(), postgres::Error> {
        if self.planner_settings {
            self.tx.batch_execute("SET LOCAL enable_seqscan = off")?;
        }
        Ok(())
    }
}

/// A bounded pool: at most `size` connections open; callers wait for a free one.
struct ConnectionPool {
    size: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

/// A failure inside a transaction: either the database's (maybe retryable) or ours.
enum TxFailure {
    Db(postgres::Error),
    Storage(StorageError),
    /// Roll back and run again at once: the closure learned something that changes what
    /// it does (it must not return this twice in a row).
    Replay,
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
            let version: i64 = tx
                .query_opt("SELECT version FROM accord_schema FOR UPDATE", &[])?
                .map_or(0, |r| r.get(0));
            if version > SCHEMA_VERSION {
                return Err(StorageError::Database(format!(
                    "the database has server schema version {version}, newer than this build ({SCHEMA_VERSION}); upgrade accord"
                ))
                .into());
            }
            for (to, statements) in MIGRATIONS {
                if version < to {
                    for statement in statements {
                        tx.batch_execute(statement)?;
                    }
                }
            }
            if version < SCHEMA_VERSION {
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
    fn checkout(&self) -> Result<Conn> {
        let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            while let Some(conn) = state.idle.pop() {
                if !conn.client.is_closed() {
                    return Ok(conn);
                }
                state.open -= 1;
            }
            if state.open < self.pool.size {
                state.open += 1;
                drop(state);
                return self.connect().map_err(|e| {
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

    fn connect(&self) -> std::result::Result<Conn, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        // Whether this database has PostgreSQL's planner settings (CockroachDB has
        // neither the setting nor the predicate locks it is needed against).
        let planner_settings = match client.batch_execute("SHOW enable_seqscan") {
            Ok(()) => true,
            Err(e) if e.as_db_error().is_some() => false,
            Err(e) => return Err(e),
        };
        Ok(Conn {
            client,
            statements: HashMap::new(),
            planner_settings,
        })
    }

    /// Returns a connection; a broken one is closed instead of pooled.
    fn checkin(&self, conn: Conn) {
        let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        if conn.client.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push(conn);
        }
        self.pool.freed.notify_one();
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
        mut f: impl FnMut(&mut Tx<'_>) -> TxResult<T>,
    ) -> Result<T> {
        // Held across the retries and their pauses: a writer that failed keeps its place
        // instead of queueing behind the writers it collided with.
        let _slot = (mode == Mode::Write).then(|| self.writers.take());
        let started = Instant::now();
        let mut failures = 0u32;
        loop {
            let mut conn = self.checkout()?;
            let outcome = run_once(&mut conn, mode, &mut f);
            self.checkin(conn);
            match outcome {
                Ok(v) => return Ok(v),
                Err(TxFailure::Storage(e)) => return Err(e),
                Err(TxFailure::Replay) => {}
                Err(TxFailure::Db(e)) if retry(&e) => {
                    failures += 1;
                    let pause = backoff(failures);
                    if started.elapsed() + pause > RETRY_BUDGET {
                        return Err(StorageError::Busy(format!(
                            "{name} gave up after {failures} serialization failures in {:.1} s: {}",
                            started.elapsed().as_secs_f64(),
                            db_error(e)
                        )));
                    }
                    std::thread::sleep(pause);
                }
                Err(TxFailure::Db(e)) => return Err(db_error(e)),
            }
        }
    }
}

/// The pause before the next attempt, after `failures` serialization failures in a row:
/// uniform in a window that doubles from [`BACKOFF_FIRST`] up to [`BACKOFF_CAP`].
fn backoff(failures: u32) -> Duration {
    let window = BACKOFF_FIRST
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_CAP);
    Duration::from_micros(fastrand::u64(0..=window.as_micros() as u64))
}

fn run_once<T>(
    conn: &mut Conn,
    mode: Mode,
    f: &mut impl FnMut(&mut Tx<'_>) -> TxResult<T>,
) -> TxResult<T> {
    let tx = conn
        .client
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .read_only(mode == Mode::Read)
        .start()?;
    let mut tx = Tx {
        tx,
        statements: &mut conn.statements,
        planner_settings: conn.planner_settings,
    };
    let out = f(&mut tx)?;
    tx.tx.commit()?;
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
            // Read once, and only when a mutation conflicts.
            let mut forgotten_below: Option<Option<i64>> = None;
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
                    let marks = match (&batch.device, forgotten_below) {
                        (Some(device), None) => {
                            let mark = forgotten_mark(tx, space_id, device)?;
                            forgotten_below = Some(mark);
                            mark
                        }
                        (_, Some(mark)) => mark,
                        (None, None) => None,
                    };
                    results.push(super::moved_record_answer(
                        m,
                        record_from_row(&current)?,
                        super::maybe_forgotten(m, marks),
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
    fn backoff_stays_inside_a_window_that_doubles_up_to_the_cap() {
        for _ in 0..200 {
            assert!(backoff(1) <= BACKOFF_FIRST);
            assert!(backoff(3) <= BACKOFF_FIRST * 4);
            assert!(backoff(u32::MAX) <= BACKOFF_CAP);
        }
    }

    #[test]
    fn a_pool_keeps_most_connections_for_readers() {
        assert_eq!(writer_slots_for(1), 1);
        assert_eq!(writer_slots_for(16), 4);
        assert_eq!(writer_slots_for(32), 8);
        assert_eq!(writer_slots_for(300), 8);
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
