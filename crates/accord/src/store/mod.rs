//! The local store: one SQLite file (WAL) holding records with their base copy, the
//! outbox, the conflict log, captured logs and meta.
//!
//! One writer connection behind a lock and a few readers: all writes are serialised here
//! (two writers would race into SQLITE_BUSY under sync), reads run beside them. Every
//! public write is one immediate transaction, so a crash leaves the old state or the new,
//! never half.

mod conflicts;
mod json_text;
mod logs;
mod meta;
mod outbox;
mod query;
mod records;
mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, Transaction};

pub use conflicts::{ConflictEntry, ConflictResolution, NewConflict};
pub use logs::{LogEvent, LogRing, LogRingStats, PendingReport};
pub use meta::Meta;
pub(crate) use outbox::{
    all as outbox_rows, find as find_outbox_row, lowest_queued, pending as pending_mutations,
    quarantined, take_batch, Rows,
};
pub use outbox::{DamagedRow, OutboxRow, QuarantinedWrite};
pub(crate) use query::create_index;
pub use query::{Filter, FilterOp, Query};
pub(crate) use records::check_write;
pub(crate) use records::{adopt_clean, insert_new, stamp, Stamp};
pub use records::{LocalRecord, RecordWrite};
pub use schema::SCHEMA_VERSION;

use crate::error::{Error, Result};
use accord_protocol::RemoteRecord;

/// The client's side of the SQLite set-up it shares with the server ([`accord_sqlite`]).
/// It differs on purpose in the tuning (see [`tune`]) and keeps fewer idle readers (an
/// app reads from a few threads, not a server's many requests); the busy timeout is the
/// one it always had.
const SETTINGS: accord_sqlite::Settings = accord_sqlite::Settings {
    busy_timeout: Duration::from_secs(5),
    idle_readers: 2,
    tune,
};

/// What happened while opening the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// Schema version the file had before opening (0 for a new file).
    pub migrated_from: i64,
    /// Schema version now.
    pub schema_version: i64,
    /// Where a corrupt file was moved to before a new one was created. The old file is
    /// kept: it may hold edits that never reached the server.
    pub moved_aside: Option<PathBuf>,
}

/// The local SQLite store.
pub struct Store {
    db: accord_sqlite::Database,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.db.path())
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates it to the current
    /// schema. A file that is not a database, or whose schema cannot be read, is moved
    /// aside to `<path>.corrupt-<millis>` and a new store is created; the report says so.
    /// A file from a newer Accord is refused with [`Error::SchemaTooNew`].
    pub fn open(path: &Path) -> Result<(Store, OpenReport)> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        let mut moved_aside = None;
        let (mut writer, migrated_from) = match open_writer(path) {
            Ok(ok) => ok,
            Err(err) if is_corruption(&err) => {
                moved_aside = Some(move_aside(path)?);
                open_writer(path)?
            }
            Err(err) => return Err(err),
        };
        schema::migrate(&mut writer, path)?;
        let store = Store {
            db: accord_sqlite::Database::new(path, writer, SETTINGS),
        };
        Ok((
            store,
            OpenReport {
                migrated_from,
                schema_version: SCHEMA_VERSION,
                moved_aside,
            },
        ))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// Runs `f` in one immediate write transaction and commits it; on error nothing
    /// `f` did is kept.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.db.write(f)
    }

    /// Runs `f` on a reader connection (a consistent snapshot if `f` opens a
    /// transaction; each statement is consistent on its own otherwise).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.db.read(f)
    }

    /// Runs SQLite's `PRAGMA integrity_check`; `Ok(())` when the file is sound, else the
    /// problems it lists.
    pub fn check_integrity(&self) -> Result<(), Vec<String>> {
        let rows = self
            .read(|c| {
                let mut stmt = c.prepare("PRAGMA integrity_check")?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .map_err(|e| vec![e.to_string()])?;
        if rows == ["ok"] {
            Ok(())
        } else {
            Err(rows)
        }
    }
}

/// The client's own tuning, on top of the shared pragmas. Measured on the client's
/// workload (sync and batched local writes); the server's statements were never measured
/// with it, so the server does not take it.
fn tune(conn: &Connection) -> rusqlite::Result<()> {
    // Sync and local writes together use a few dozen distinct statements; the default
    // cache of 16 would evict and re-parse them on every record.
    conn.set_prepared_statement_cache_capacity(64);
    // Plans must not depend on bound values: without this SQLite re-prepares the
    // outbox and record statements on almost every call (measured: a third of the time
    // of a batched put went to re-parsing).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Opens the writer (WAL, `synchronous=FULL`: see [`accord_sqlite`]) and reads the
/// schema version, which fails on a file that is not a database.
fn open_writer(path: &Path) -> Result<(Connection, i64)> {
    let conn = accord_sqlite::open_writer(path, &SETTINGS).map_err(|e| match e {
        accord_sqlite::OpenError::Sqlite(e) => Error::Sqlite(e),
        wal @ accord_sqlite::OpenError::NoWal { .. } => Error::invalid(wal.to_string()),
    })?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok((conn, version))
}

fn is_corruption(err: &Error) -> bool {
    matches!(
        err,
        Error::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Renames a corrupt database (and its WAL and shared-memory files) out of the way.
fn move_aside(path: &Path) -> Result<PathBuf> {
    let stamp = crate::hlc::wall_millis();
    let target = PathBuf::from(format!("{}.corrupt-{stamp}", path.display()));
    std::fs::rename(path, &target).map_err(|e| {
        Error::io(
            format!("{} is corrupt and could not be moved aside", path.display()),
            e,
        )
    })?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let to = PathBuf::from(format!("{}{suffix}", target.display()));
            std::fs::rename(&side, &to)
                .map_err(|e| Error::io(format!("cannot move {} aside", side.display()), e))?;
        }
    }
    Ok(target)
}

/// Applies local writes to one collection (one clock reading for the batch) and queues
/// them for the server. Returns the ids that changed.
pub(crate) fn write_batch(
    conn: &Connection,
    device: &str,
    collection: &str,
    writes: &[(String, RecordWrite)],
) -> Result<Vec<String>> {
    let mut writer = records::LocalWriter::new(conn, device)?;
    let mut changed = Vec::new();
    for (id, w) in writes {
        if writer.write(collection, id, w)? {
            changed.push(id.clone());
        }
    }
    writer.finish()?;
    Ok(changed)
}

/// Takes the server's version of a record as the local state (clean, outbox emptied).
pub(crate) fn adopt_remote(conn: &Connection, remote: &RemoteRecord) -> Result<()> {
    records::adopt_remote(conn, remote)
}

/// The server accepted `row` at `version`. Returns whether later writes of the record
/// still wait in the outbox.
pub(crate) fn acknowledge_row(conn: &Connection, row: &OutboxRow, version: i64) -> Result<bool> {
    let rows_remain = outbox::acknowledge(conn, row, version)?;
    let sent = if row.deleted {
        None
    } else {
        row.data.as_deref()
    };
    records::acknowledge(conn, &row.collection, &row.id, version, sent, rows_remain)
}

/// Keeps `data` as the local state on top of the server's `remote` version (a merge, or
/// an edit kept over a delete) and queues it as one new mutation from that version.
pub(crate) fn keep_local_over(
    conn: &Connection,
    remote: &RemoteRecord,
    data: &serde_json::Value,
    hlc: &str,
) -> Result<()> {
    records::store_merged(conn, remote, data, hlc)?;
    outbox::replace_for_record(conn, &remote.collection, &remote.id)
}

/// `execute` through the connection's statement cache (the hot paths run the same few
/// statements thousands of times).
pub(crate) fn exec<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the statement cache.
pub(crate) fn query_row<T, P, F>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: F,
) -> rusqlite::Result<T>
where
    P: rusqlite::Params,
    F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
{
    conn.prepare_cached(sql)?.query_row(params, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_made_by_the_first_schema_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(schema::V1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO records (collection, id, data, hlc, updated_ms, dirty) VALUES ('notes', 'n1', '{\"body\":\"kept\"}', 'h', 1, 1)",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO outbox (mutation_id, collection, id, base_version, hlc, created_ms) VALUES ('m1', 'notes', 'n1', 0, 'h', 1)",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO conflicts (collection, id, local, remote, result, strategy, fields, needs_review, created_ms)
                 VALUES ('notes', 'n1', '{\"t\":1}', '{\"t\":2}', '{\"t\":2}', 'field', '[]', 0, 1)",
                [],
            )
            .unwrap();
        }
        let (store, report) = Store::open(&path).unwrap();
        assert_eq!(report.migrated_from, 1);
        let queued = store.read(outbox_rows).unwrap();
        assert_eq!(queued.len(), 1, "the queued write survives the upgrade");
        assert_eq!(queued[0].quarantined, None);
        assert_eq!(report.schema_version, SCHEMA_VERSION);
        let body: String = store
            .read(
                |c| Ok(c.query_row("SELECT data FROM records WHERE id = 'n1'", [], |r| r.get(0))?),
            )
            .unwrap();
        assert_eq!(body, "{\"body\":\"kept\"}");
        let logs: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM log_events", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(logs, 0);
        let logged = store.read(|c| ConflictEntry::list(c, false)).unwrap();
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].strategy, crate::merge::Strategy::Field);
        assert_eq!(logged[0].suggested, None);
        let version: i64 = store
            .read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn database_newer_than_the_code_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE future (x)").unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, Error::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 5));
        assert!(err.to_string().contains("newer than this build"), "{err}");
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION + 5);
    }

    #[test]
    fn corrupt_file_is_moved_aside_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.db");
        let garbage = b"this is not a sqlite database, but it may hold someone's notes".repeat(100);
        std::fs::write(&path, &garbage).unwrap();
        let (store, report) = Store::open(&path).unwrap();
        let aside = report.moved_aside.expect("corrupt file moved aside");
        assert_eq!(std::fs::read(&aside).unwrap(), garbage);
        assert!(store.check_integrity().is_ok());
        assert_eq!(report.migrated_from, 0);
    }

    #[test]
    fn a_record_taken_from_the_server_is_stored_once_and_keeps_its_base_through_an_edit() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&dir.path().join("a.db")).unwrap();
        let remote: RemoteRecord<accord_protocol::RawData> = serde_json::from_str(
            r#"{"collection":"notes","id":"n1","version":3,"seq":9,"data":{"body":"from server"},"hlc":"h","mutation_id":"m"}"#,
        )
        .unwrap();
        assert!(store.write(|tx| adopt_clean(tx, &remote, false)).unwrap());
        let stored_base: Option<String> = store
            .read(
                |c| Ok(c.query_row("SELECT base FROM records WHERE id = 'n1'", [], |r| r.get(0))?),
            )
            .unwrap();
        assert_eq!(
            stored_base, None,
            "a clean record's base is not written twice"
        );
        let taken = store
            .read(|c| LocalRecord::load(c, "notes", "n1"))
            .unwrap()
            .unwrap();
        let server_fields = serde_json::json!({"body": "from server"});
        assert_eq!(taken.base.as_ref(), Some(&server_fields));
        assert!(!taken.dirty);
        // Taking the same version again changes nothing.
        assert!(!store.write(|tx| adopt_clean(tx, &remote, true)).unwrap());

        let edit = [(
            "n1".to_string(),
            RecordWrite::Put(serde_json::json!({"body": "edited"})),
        )];
        store
            .write(|tx| write_batch(tx, "dev", "notes", &edit))
            .unwrap();
        let edited = store
            .read(|c| LocalRecord::load(c, "notes", "n1"))
            .unwrap()
            .unwrap();
        assert!(edited.dirty);
        assert_eq!(
            edited.base.as_ref(),
            Some(&server_fields),
            "the edit keeps the server copy as base"
        );
        assert_eq!(edited.data, Some(serde_json::json!({"body": "edited"})));
        // Writing the same fields again is no change.
        assert!(store
            .write(|tx| write_batch(tx, "dev", "notes", &edit))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_pulled_record_is_inserted_only_while_no_local_write_made_it_exist() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&dir.path().join("a.db")).unwrap();
        let remote = |id: &str| -> RemoteRecord<accord_protocol::RawData> {
            serde_json::from_str(&format!(
                r#"{{"collection":"notes","id":"{id}","version":2,"seq":5,"data":{{"body":"server"}},"hlc":"h","mutation_id":"m"}}"#
            ))
            .unwrap()
        };
        assert!(store.write(|tx| insert_new(tx, &remote("n1"))).unwrap());
        let taken = store
            .read(|c| LocalRecord::load(c, "notes", "n1"))
            .unwrap()
            .unwrap();
        assert_eq!(taken.version, 2);
        assert!(!taken.dirty);

        // The user created n2 after the page was read: the pulled copy must not replace it.
        let edit = [(
            "n2".to_string(),
            RecordWrite::Put(serde_json::json!({"body": "mine"})),
        )];
        store
            .write(|tx| write_batch(tx, "dev", "notes", &edit))
            .unwrap();
        assert!(!store.write(|tx| insert_new(tx, &remote("n2"))).unwrap());
        let mine = store
            .read(|c| LocalRecord::load(c, "notes", "n2"))
            .unwrap()
            .unwrap();
        assert_eq!(mine.data, Some(serde_json::json!({"body": "mine"})));
        assert!(mine.dirty);
    }

    #[test]
    fn upgrades_keep_every_queued_write_in_order_and_never_reuse_a_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            for sql in &schema::MIGRATIONS[..4] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 4).unwrap();
            let tx = conn.transaction().unwrap();
            // Records r1..r7 wait: r1..r6 unsent (their rows stand for the record), r7
            // sent once with its answer not recorded (its row keeps what was sent).
            for seq in 1..=9 {
                let sent = seq > 6;
                tx.execute(
                    "INSERT INTO outbox (mutation_id, collection, id, base_version, data, hlc, created_ms, attempts)
                     VALUES (?1, 'notes', ?2, 0, ?3, 'h', 1, ?4)",
                    rusqlite::params![
                        format!("m{seq}"),
                        format!("r{seq}"),
                        sent.then_some("{\"n\":7}"),
                        i64::from(sent)
                    ],
                )
                .unwrap();
                tx.execute(
                    "INSERT INTO records (collection, id, data, hlc, updated_ms, dirty)
                     VALUES ('notes', ?1, ?2, 'h', 1, 1)",
                    rusqlite::params![format!("r{seq}"), format!("{{\"n\":{seq}}}")],
                )
                .unwrap();
            }
            // The newest positions were answered and deleted: the counter stays at 9.
            tx.execute("DELETE FROM outbox WHERE seq > 7", []).unwrap();
            tx.commit().unwrap();
        }
        let (store, report) = Store::open(&path).unwrap();
        assert_eq!(report.migrated_from, 4);
        let kept = store.read(outbox_rows).unwrap();
        assert_eq!(
            kept.iter()
                .map(|r| (r.seq, r.id.as_str()))
                .collect::<Vec<_>>(),
            vec![
                (7, "r7"),
                (0, "r1"),
                (0, "r2"),
                (0, "r3"),
                (0, "r4"),
                (0, "r5"),
                (0, "r6")
            ],
            "the sent row stays in the outbox, the unsent writes queue in their order"
        );
        assert_eq!(kept[0].mutation_id, "m7");
        assert_eq!(kept[0].attempts, 1, "a sent row stays sent");
        let edit = [(
            "fresh".to_string(),
            RecordWrite::Put(serde_json::json!({"body": "new"})),
        )];
        store
            .write(|tx| write_batch(tx, "dev", "notes", &edit))
            .unwrap();
        let batch = store.write(|tx| take_batch(tx, 100, Rows::All)).unwrap();
        assert_eq!(
            batch
                .iter()
                .map(|(r, m)| (r.seq, r.id.as_str(), m.data.clone()))
                .collect::<Vec<_>>(),
            vec![
                (7, "r7", Some(serde_json::json!({"n": 7}))),
                (10, "r1", Some(serde_json::json!({"n": 1}))),
                (11, "r2", Some(serde_json::json!({"n": 2}))),
                (12, "r3", Some(serde_json::json!({"n": 3}))),
                (13, "r4", Some(serde_json::json!({"n": 4}))),
                (14, "r5", Some(serde_json::json!({"n": 5}))),
                (15, "r6", Some(serde_json::json!({"n": 6}))),
                (16, "fresh", Some(serde_json::json!({"body": "new"}))),
            ],
            "positions 8 and 9 were used before the upgrade and are not given out again; \
             an unsent write is sent with the record's current state"
        );
        assert!(batch[1..].iter().all(|(r, m)| !r.mutation_id.is_empty()
            && r.mutation_id == m.mutation_id
            && r.attempts == 1));
        let indexes: Vec<String> = store
            .read(|c| {
                let mut stmt = c.prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_records%' ORDER BY name",
                )?;
                let names = stmt.query_map([], |r| r.get(0))?;
                Ok::<_, Error>(names.collect::<rusqlite::Result<Vec<String>>>()?)
            })
            .unwrap();
        assert_eq!(
            indexes,
            [
                "conflicts_open",
                "outbox_record",
                "records_queued",
                "sqlite_autoindex_meta_1"
            ],
            "no unique index of mutation ids and no index of dirty records is left"
        );
    }

    #[test]
    fn a_record_queues_one_write_at_a_time_and_leaves_the_queue_as_the_server_answers() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&dir.path().join("q.db")).unwrap();
        let put = |id: &str, v: serde_json::Value| {
            let w = [(id.to_string(), RecordWrite::Put(v))];
            store
                .write(|tx| write_batch(tx, "dev", "notes", &w))
                .unwrap()
        };
        let load = |id: &str| {
            store
                .read(|c| LocalRecord::load(c, "notes", id))
                .unwrap()
                .unwrap()
        };
        let pending = || store.read(pending_mutations).unwrap();
        let take = || store.write(|tx| take_batch(tx, 10, Rows::All)).unwrap();

        assert_eq!(put("n", serde_json::json!({"a": 1})), vec!["n"]);
        assert!(
            put("n", serde_json::json!({"a": 1})).is_empty(),
            "the same fields again"
        );
        assert_eq!(load("n").rev, 1);
        assert_eq!(put("n", serde_json::json!({"a": 2})), vec!["n"]);
        assert_eq!(
            pending(),
            1,
            "a later unsent write is the same queued write"
        );
        let queued = store.read(outbox_rows).unwrap();
        assert_eq!((queued[0].seq, queued[0].mutation_id.as_str()), (0, ""));

        // Created and deleted before any sync: it never reaches the server.
        put("gone", serde_json::json!({"a": 1}));
        let del = [("gone".to_string(), RecordWrite::Delete)];
        assert_eq!(
            store
                .write(|tx| write_batch(tx, "dev", "notes", &del))
                .unwrap(),
            vec!["gone"]
        );
        assert_eq!(pending(), 1);

        let first = take();
        assert_eq!(first.len(), 1);
        let (sent, m) = &first[0];
        assert_eq!(m.data, Some(serde_json::json!({"a": 2})));
        assert!(sent.seq > 0 && sent.attempts == 1 && !sent.mutation_id.is_empty());

        // A write while the first is in flight waits behind it: a retry resends only
        // the first, under its id.
        put("n", serde_json::json!({"a": 3}));
        assert_eq!(pending(), 2);
        let retry = take();
        assert_eq!(retry.len(), 1);
        assert_eq!(retry[0].0.mutation_id, sent.mutation_id);
        assert_eq!(retry[0].1.data, Some(serde_json::json!({"a": 2})));

        assert!(store.write(|tx| acknowledge_row(tx, sent, 1)).unwrap());
        assert!(load("n").dirty, "the later write still waits");
        let second = take();
        assert_eq!(second.len(), 1);
        let (row, m) = &second[0];
        assert_eq!(
            (m.base_version, m.data.clone()),
            (1, Some(serde_json::json!({"a": 3})))
        );
        assert!(row.seq > sent.seq, "a later send takes a later position");
        assert!(!store.write(|tx| acknowledge_row(tx, row, 2)).unwrap());
        let n = load("n");
        assert!(!n.dirty);
        assert_eq!((n.version, n.base), (2, Some(serde_json::json!({"a": 3}))));
        assert_eq!(pending(), 0);
        assert!(take().is_empty());
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        drop(Store::open(&path).unwrap());
        let (_, report) = Store::open(&path).unwrap();
        assert_eq!(report.migrated_from, SCHEMA_VERSION);
        assert_eq!(report.moved_aside, None);
    }
}
