//! Records: the local state of each record, its base copy and version.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use super::now_ms;
use super::outbox;
use super::query::{self, Query};
use super::{exec, query_row};
use crate::error::{Error, Result};
use crate::hlc::Hlc;
use accord_protocol::RemoteRecord;

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
        Ok(LocalRecord {
            collection: row.get(0)?,
            id: row.get(1)?,
            data: parse_json(row.get(2)?)?,
            deleted: row.get(3)?,
            version: row.get(4)?,
            base: parse_json(row.get(5)?)?,
            dirty: row.get(6)?,
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

/// Applies a local write and queues it for the server, ticking `clock` (the caller saves
/// it once per transaction). Returns false when it changed nothing (deleting a record
/// that does not exist, or writing the same fields again).
pub(crate) fn write_local(
    conn: &Connection,
    clock: &mut Hlc,
    collection: &str,
    id: &str,
    write: &RecordWrite,
) -> Result<bool> {
    let current = LocalRecord::load(conn, collection, id)?;
    let (data, deleted) = match write {
        RecordWrite::Put(v) => (Some(v), false),
        RecordWrite::Delete => (None, true),
    };
    match &current {
        None if deleted => return Ok(false),
        Some(c) if c.deleted == deleted && c.data.as_ref() == data => return Ok(false),
        _ => {}
    }
    *clock = Hlc::tick(clock, &clock.node);
    let hlc = clock.to_string();
    let version = current.as_ref().map_or(0, |c| c.version);
    // A record created here and deleted before any sync never has to reach the server.
    if deleted && version == 0 && outbox::only_unsent(conn, collection, id)? {
        outbox::drop_record(conn, collection, id)?;
        exec(
            conn,
            "DELETE FROM records WHERE collection = ?1 AND id = ?2",
            [collection, id],
        )?;
        return Ok(true);
    }
    let data_text = data.map(Value::to_string);
    exec(
        conn,
        "INSERT INTO records (collection, id, data, deleted, version, dirty, hlc, rev, updated_ms)
         VALUES (?1, ?2, ?3, ?4, 0, 1, ?5, 1, ?6)
         ON CONFLICT (collection, id) DO UPDATE SET
            data = excluded.data, deleted = excluded.deleted, dirty = 1,
            hlc = excluded.hlc, rev = rev + 1, updated_ms = excluded.updated_ms",
        params![collection, id, data_text, deleted, hlc, now_ms()],
    )?;
    outbox::enqueue(conn, collection, id, version, &hlc)?;
    Ok(true)
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
            base = excluded.base, dirty = 0, hlc = excluded.hlc, updated_ms = excluded.updated_ms",
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
/// is what was sent; clean unless later writes wait in the outbox.
pub(crate) fn acknowledge(
    conn: &Connection,
    collection: &str,
    id: &str,
    version: i64,
    sent: Option<&str>,
    still_dirty: bool,
) -> Result<()> {
    exec(
        conn,
        "UPDATE records SET version = ?3, base = ?4, dirty = ?5
         WHERE collection = ?1 AND id = ?2",
        params![collection, id, version, sent, still_dirty],
    )?;
    Ok(())
}
