//! Records: the local state of each record, its base copy and version.

use std::fmt::Write as _;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use super::meta::Meta;
use super::outbox;
use super::query::{self, Query};
use super::{exec, query_row};
use crate::error::{Error, Result};
use crate::hlc::Hlc;
use accord_protocol::{now_ms, RawData, RemoteRecord};

/// A record as this device holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRecord {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Local fields; `None` for a tombstone.
    pub data: Option<Value>,
    /// True when deleted.
    pub deleted: bool,
    /// Server version the local copy builds on (0: never on the server).
    pub version: i64,
    /// The last copy agreed with the server (`None`: none, or a server tombstone).
    pub base: Option<Value>,
    /// True while local changes wait in the outbox.
    pub dirty: bool,
    /// Clock of the last write (local or merged from the server).
    pub hlc: String,
    /// Grows on every local write.
    pub rev: i64,
    /// Wall time of the last change, milliseconds since the Unix epoch.
    pub updated_ms: i64,
}

/// A local write: new fields, or a delete.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordWrite {
    /// Replace the record's fields.
    Put(Value),
    /// Delete the record (a tombstone until the server has it).
    Delete,
}

pub(crate) const COLUMNS: &str =
    "collection, id, data, deleted, version, base, dirty, hlc, rev, updated_ms";

fn parse_json(text: Option<String>) -> rusqlite::Result<Option<Value>> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

impl LocalRecord {
    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<LocalRecord> {
        let data = parse_json(row.get(2)?)?;
        let dirty: bool = row.get(6)?;
        // A clean record's base is its data: a record taken from the server stores the
        // copy once (see `adopt_clean`), and a local write copies it into `base` first.
        let base = if dirty {
            parse_json(row.get(5)?)?
        } else {
            data.clone()
        };
        Ok(LocalRecord {
            collection: row.get(0)?,
            id: row.get(1)?,
            data,
            deleted: row.get(3)?,
            version: row.get(4)?,
            base,
            dirty,
            hlc: row.get(7)?,
            rev: row.get(8)?,
            updated_ms: row.get(9)?,
        })
    }

    /// Loads one record, tombstones included.
    pub fn load(conn: &Connection, collection: &str, id: &str) -> Result<Option<LocalRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM records WHERE collection = ?1 AND id = ?2");
        Ok(query_row(conn, &sql, [collection, id], LocalRecord::from_row).optional()?)
    }

    /// Live (not deleted) records of a collection, by id.
    pub fn list(conn: &Connection, collection: &str) -> Result<Vec<LocalRecord>> {
        Self::query(
            conn,
            &Query {
                collection: collection.to_string(),
                ..Query::default()
            },
        )
    }

    /// Live records matching `q`.
    pub fn query(conn: &Connection, q: &Query) -> Result<Vec<LocalRecord>> {
        query::run(conn, q)
    }

    /// Number of live records in a collection.
    pub fn count(conn: &Connection, collection: &str) -> Result<i64> {
        Ok(query_row(
            conn,
            "SELECT count(*) FROM records WHERE collection = ?1 AND deleted = 0",
            [collection],
            |r| r.get(0),
        )?)
    }
}

/// Checks what an app passes in before it reaches the store.
pub(crate) fn check_write(collection: &str, id: &str, write: &RecordWrite) -> Result<()> {
    accord_protocol::check_name("collection", collection).map_err(Error::invalid)?;
    accord_protocol::check_name("record id", id).map_err(Error::invalid)?;
    if let RecordWrite::Put(v) = write {
        if !v.is_object() {
            return Err(Error::invalid(format!(
                "a record is a JSON object; got {}",
                kind_of(v)
            )));
        }
    }
    Ok(())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What decides whether a server version can simply be taken over a local record: its
/// version, whether local changes wait for the server, and its write counter, which every
/// local write moves (so a stamp read before and after tells whether the user wrote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub version: i64,
    pub dirty: bool,
    pub rev: i64,
}

/// The stamp of a record, `None` when there is no local row.
pub(crate) fn stamp(conn: &Connection, collection: &str, id: &str) -> Result<Option<Stamp>> {
    Ok(query_row(
        conn,
        "SELECT version, dirty, rev FROM records WHERE collection = ?1 AND id = ?2",
        [collection, id],
        |r| {
            Ok(Stamp {
                version: r.get(0)?,
                dirty: r.get(1)?,
                rev: r.get(2)?,
            })
        },
    )
    .optional()?)
}

/// True when two stored field texts hold the same JSON. Every stored text is serde_json's
/// compact output of an object (keys sorted), so equal objects have equal texts; texts of
/// equal length are compared as JSON too, so an equal object is never taken for an edit.
fn same_fields(stored: Option<&str>, new: Option<&str>) -> bool {
    match (stored, new) {
        (Some(a), Some(b)) if a == b => true,
        (Some(a), Some(b)) if a.len() == b.len() => {
            serde_json::from_str::<Value>(a).ok() == serde_json::from_str::<Value>(b).ok()
        }
        (a, b) => a == b,
    }
}

/// Applies a transaction's local writes and queues them for the server. It holds what
/// the writes of one transaction share: the clock (read once, saved by [`finish`]), the
/// queue position a record with nothing queued takes next (see
/// [`outbox::next_position`]), and the buffer each record's JSON text is written into.
///
/// [`finish`]: LocalWriter::finish
pub(crate) struct LocalWriter<'c> {
    conn: &'c Connection,
    /// The one statement of a put, held for the transaction (a cache lookup per write
    /// hashes its text).
    upsert: rusqlite::CachedStatement<'c>,
    clock: Hlc,
    /// The clock's text for the write being made.
    clock_text: String,
    /// Wall time of the transaction's writes (read once: every write of one transaction
    /// is made at the same instant; the clock's counter orders them).
    now: i64,
    next: i64,
    text: Vec<u8>,
}

impl<'c> LocalWriter<'c> {
    pub(crate) fn new(conn: &'c Connection, device: &str) -> Result<LocalWriter<'c>> {
        // A clean record keeps its base only implicitly (base is data); the first local
        // write makes it explicit before replacing the data.
        let upsert = conn.prepare_cached(
            "INSERT INTO records (collection, id, data, deleted, version, dirty, hlc, rev, updated_ms, queued)
             VALUES (?1, ?2, ?3, ?4, 0, 1, ?5, 1, ?6, ?7)
             ON CONFLICT (collection, id) DO UPDATE SET
                base = CASE WHEN records.dirty THEN records.base ELSE records.data END,
                data = excluded.data, deleted = excluded.deleted, dirty = 1,
                hlc = excluded.hlc, rev = rev + 1, updated_ms = excluded.updated_ms,
                queued = coalesce(records.queued, excluded.queued)
             WHERE records.deleted <> excluded.deleted OR records.data IS NOT excluded.data",
        )?;
        Ok(LocalWriter {
            conn,
            upsert,
            clock: Meta::clock(conn, device)?,
            clock_text: String::with_capacity(64),
            now: now_ms(),
            next: outbox::next_position(conn)?,
            text: Vec::with_capacity(1024),
        })
    }

    /// Applies one write. Returns false when it changed nothing (deleting a record that
    /// does not exist, or writing the same fields again).
    ///
    /// A put is one statement: the row is written unless it already holds the same text
    /// (every stored text is serde_json's compact output, keys sorted, so the same fields
    /// are the same text). The queue entry is the row's `queued` position, kept when the
    /// record already waits (a later write is sent in the same mutation).
    pub(crate) fn write(
        &mut self,
        collection: &str,
        id: &str,
        write: &RecordWrite,
    ) -> Result<bool> {
        let conn = self.conn;
        let data_text = match write {
            RecordWrite::Put(v) => {
                self.text.clear();
                // A Value always serialises, as UTF-8; the errors are only the API's.
                super::json_text::write_compact(&mut self.text, v)
                    .map_err(|e| Error::invalid(format!("record {id}: {e}")))?;
                Some(
                    std::str::from_utf8(&self.text)
                        .map_err(|e| Error::invalid(format!("record {id}: {e}")))?,
                )
            }
            RecordWrite::Delete => {
                let current: Option<(i64, bool)> = query_row(
                    conn,
                    "SELECT version, deleted FROM records WHERE collection = ?1 AND id = ?2",
                    [collection, id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
                match current {
                    None | Some((_, true)) => return Ok(false),
                    // A record created here and deleted before any sync never has to
                    // reach the server.
                    Some((0, false)) if outbox::only_unsent(conn, collection, id)? => {
                        outbox::drop_record(conn, collection, id)?;
                        exec(
                            conn,
                            "DELETE FROM records WHERE collection = ?1 AND id = ?2",
                            [collection, id],
                        )?;
                        return Ok(true);
                    }
                    Some(_) => None,
                }
            }
        };
        let deleted = data_text.is_none();
        let before = (self.clock.millis, self.clock.counter);
        self.clock.advance_at(u64::try_from(self.now).unwrap_or(0));
        self.clock_text.clear();
        write!(self.clock_text, "{}", self.clock).map_err(|e| Error::invalid(e.to_string()))?;
        let written = self.upsert.execute(params![
            collection,
            id,
            data_text,
            deleted,
            self.clock_text,
            self.now,
            self.next
        ])?;
        if written == 0 {
            // Nothing was written: the clock does not move either.
            (self.clock.millis, self.clock.counter) = before;
            return Ok(false);
        }
        self.next += 1;
        Ok(true)
    }

    /// Saves the clock (once per transaction).
    pub(crate) fn finish(self) -> Result<()> {
        Meta::save_clock(self.conn, &self.clock)
    }
}

/// Takes the server's version of a record that has no local changes (or no local row),
/// its fields stored as received: nothing is decoded, and the base is not written a
/// second time (a clean record's base is its data). Returns whether the local fields
/// changed. The caller has checked the stamp: the record is absent or clean.
pub(crate) fn adopt_clean(
    conn: &Connection,
    remote: &RemoteRecord<RawData>,
    had_local: bool,
) -> Result<bool> {
    let changed = !had_local || {
        let (old, old_deleted): (Option<String>, bool) = query_row(
            conn,
            "SELECT data, deleted FROM records WHERE collection = ?1 AND id = ?2",
            [&remote.collection, &remote.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        old_deleted != remote.deleted || !same_fields(old.as_deref(), raw_fields(remote))
    };
    store_clean(conn, remote, true)?;
    Ok(changed)
}

/// Takes the server's version of a record that had no local row when the page was
/// read, in one statement: the row is inserted unless one appeared since (a local write
/// made while the page was read). Returns false in that case, and the caller decides
/// with the row as it now is.
pub(crate) fn insert_new(conn: &Connection, remote: &RemoteRecord<RawData>) -> Result<bool> {
    Ok(store_clean(conn, remote, false)? == 1)
}

fn raw_fields(remote: &RemoteRecord<RawData>) -> Option<&str> {
    if remote.deleted {
        None
    } else {
        remote.data.as_ref().map(|d| d.get())
    }
}

/// Writes `remote` as a clean row, fields as received; over an existing row only when
/// `replace`. Returns the rows written (0 or 1).
fn store_clean(conn: &Connection, remote: &RemoteRecord<RawData>, replace: bool) -> Result<usize> {
    let sql = if replace {
        "INSERT INTO records (collection, id, data, deleted, version, base, dirty, hlc, rev, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, NULL, 0, ?6, 0, ?7)
         ON CONFLICT (collection, id) DO UPDATE SET
            data = excluded.data, deleted = excluded.deleted, version = excluded.version,
            base = NULL, dirty = 0, hlc = excluded.hlc, updated_ms = excluded.updated_ms"
    } else {
        "INSERT INTO records (collection, id, data, deleted, version, base, dirty, hlc, rev, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, NULL, 0, ?6, 0, ?7)
         ON CONFLICT (collection, id) DO NOTHING"
    };
    Ok(exec(
        conn,
        sql,
        params![
            remote.collection,
            remote.id,
            raw_fields(remote),
            remote.deleted,
            remote.version,
            remote.hlc,
            now_ms()
        ],
    )?)
}

/// Makes the local copy exactly the server's: data, version and base; clean.
pub(crate) fn adopt_remote(conn: &Connection, remote: &RemoteRecord) -> Result<()> {
    let data = if remote.deleted {
        None
    } else {
        remote.data.as_ref().map(Value::to_string)
    };
    exec(
        conn,
        "INSERT INTO records (collection, id, data, deleted, version, base, dirty, hlc, rev, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?3, 0, ?6, 0, ?7)
         ON CONFLICT (collection, id) DO UPDATE SET
            data = excluded.data, deleted = excluded.deleted, version = excluded.version,
            base = excluded.base, dirty = 0, hlc = excluded.hlc, updated_ms = excluded.updated_ms,
            queued = NULL",
        params![
            remote.collection,
            remote.id,
            data,
            remote.deleted,
            remote.version,
            remote.hlc,
            now_ms()
        ],
    )?;
    outbox::drop_record(conn, &remote.collection, &remote.id)?;
    Ok(())
}

/// Records a merge result: the server's version becomes the base, the merged fields the
/// local state, still dirty (the merge must reach the server).
pub(crate) fn store_merged(
    conn: &Connection,
    remote: &RemoteRecord,
    merged: &Value,
    hlc: &str,
) -> Result<()> {
    let base = if remote.deleted {
        None
    } else {
        remote.data.as_ref().map(Value::to_string)
    };
    exec(
        conn,
        "UPDATE records SET data = ?3, deleted = 0, version = ?4, base = ?5, dirty = 1,
            hlc = ?6, updated_ms = ?7
         WHERE collection = ?1 AND id = ?2",
        params![
            remote.collection,
            remote.id,
            merged.to_string(),
            remote.version,
            base,
            hlc,
            now_ms()
        ],
    )?;
    Ok(())
}

/// After the server accepted a mutation: the record builds on `version`, whose content
/// is what was sent; clean unless later writes wait (`rows_remain`: outbox rows of the
/// record, or an unsent write in its `queued`). Returns whether writes still wait.
pub(crate) fn acknowledge(
    conn: &Connection,
    collection: &str,
    id: &str,
    version: i64,
    sent: Option<&str>,
    rows_remain: bool,
) -> Result<bool> {
    let dirty = query_row(
        conn,
        "UPDATE records SET version = ?3, base = ?4, dirty = (?5 OR queued IS NOT NULL)
         WHERE collection = ?1 AND id = ?2 RETURNING dirty",
        params![collection, id, version, sent, rows_remain],
        |r| r.get(0),
    )
    .optional()?;
    Ok(dirty.unwrap_or(rows_remain))
}
