//! The SQLite set-up Accord's client store and its server share.
//!
//! Both keep one file in WAL mode with `synchronous=FULL`: a write that was reported done
//! survives a power cut, not only a crash (NORMAL may lose the last commits on power
//! loss), at the price of one fsync per transaction, which batching amortises. Both
//! serialise every write through one connection behind a lock (two writer connections
//! race into SQLITE_BUSY), while reads run beside it on pooled read-only connections.
//! What differs between the two sides is a [`Settings`] value, not a second set-up.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

/// What one side tunes on top of the shared set-up.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a connection waits for a lock held by another process before failing.
    pub busy_timeout: Duration,
    /// Readers kept open for reuse; more are opened on demand and closed when returned.
    pub idle_readers: usize,
    /// Applied to every connection, writer and readers, after the shared pragmas.
    pub tune: fn(&Connection) -> rusqlite::Result<()>,
}

impl Settings {
    /// No tuning beyond the shared pragmas.
    pub fn untuned(_: &Connection) -> rusqlite::Result<()> {
        Ok(())
    }
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite refused (among others: the file is not a database, or is corrupt).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The file cannot use a write-ahead log.
    #[error("cannot switch {} to WAL mode (got {mode}); is it on a file system without shared memory?", path.display())]
    NoWal {
        /// The database file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
}

/// The pragmas every connection gets: the busy timeout, foreign keys enforced,
/// temporary tables in memory, then the side's own [`Settings::tune`].
pub fn configure(conn: &Connection, settings: &Settings) -> rusqlite::Result<()> {
    conn.busy_timeout(settings.busy_timeout)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    (settings.tune)(conn)
}

/// Opens (creating if needed) the file at `path` as the writer: configured, in WAL mode
/// with `synchronous=FULL`. Refuses a file that cannot use WAL.
pub fn open_writer(path: &Path, settings: &Settings) -> Result<Connection, OpenError> {
    let conn = Connection::open(path)?;
    configure(&conn, settings)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::NoWal {
            path: path.to_path_buf(),
            mode,
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Opens a read-only connection to the file at `path`, configured.
pub fn open_reader(path: &Path, settings: &Settings) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, settings)?;
    Ok(conn)
}

/// One database file as Accord uses it: one writer connection behind a lock, and
/// readers opened on demand, a few kept for reuse.
pub struct Database {
    path: PathBuf,
    settings: Settings,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .finish()
    }
}

impl Database {
    /// Serves the file at `path` through `writer` (from [`open_writer`], and migrated by
    /// the caller) and readers opened with the same `settings`.
    pub fn new(path: &Path, writer: Connection, settings: Settings) -> Self {
        Database {
            path: path.to_path_buf(),
            settings,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one immediate write transaction and commits it; on error nothing `f`
    /// did is kept.
    pub fn write<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.writer_lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on a reader connection, in one read transaction: every statement of `f`
    /// sees the same snapshot, and the WAL read lock is taken once for all of them
    /// (outside a transaction SQLite takes and drops it around each statement: two
    /// `fcntl` calls per statement, which were most of the system calls of a first sync
    /// that reads one row per pulled record).
    pub fn read<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let pooled = self.reader_pool().pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_reader(&self.path, &self.settings)?,
        };
        let out = match conn.unchecked_transaction() {
            // Read-only: ending it by commit or rollback is the same; a failure to end
            // it is reported only when `f` succeeded.
            Ok(tx) => f(&tx).and_then(|v| tx.commit().map(|()| v).map_err(E::from)),
            Err(e) => Err(E::from(e)),
        };
        let mut pool = self.reader_pool();
        if pool.len() < self.settings.idle_readers {
            pool.push(conn);
        }
        out
    }

    fn writer_lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held rolled its transaction back when the
        // Transaction dropped; the connection itself is still good.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reader_pool(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.readers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Settings = Settings {
        busy_timeout: Duration::from_secs(1),
        idle_readers: 1,
        tune: Settings::untuned,
    };

    #[test]
    fn a_new_file_is_in_wal_mode_with_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_writer(&dir.path().join("a.db"), &PLAIN).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
    }

    #[test]
    fn a_failed_write_keeps_nothing_and_readers_see_what_was_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let writer = open_writer(&path, &PLAIN).unwrap();
        let db = Database::new(&path, writer, PLAIN);
        db.write(|tx| tx.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);"))
            .unwrap();
        let failed: rusqlite::Result<()> = db.write(|tx| {
            tx.execute("INSERT INTO t VALUES (2)", [])?;
            Err(rusqlite::Error::InvalidQuery)
        });
        assert!(failed.is_err());
        let n: i64 = db
            .read(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn readers_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let writer = open_writer(&path, &PLAIN).unwrap();
        let db = Database::new(&path, writer, PLAIN);
        db.write(|tx| tx.execute_batch("CREATE TABLE t (x INTEGER)"))
            .unwrap();
        assert!(db
            .read(|c| c.execute("INSERT INTO t VALUES (1)", []))
            .is_err());
    }
}
