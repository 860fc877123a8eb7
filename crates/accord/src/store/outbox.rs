//! The outbox: local mutations waiting for the server's answer.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use super::now_ms;
use super::{exec, query_row};
use crate::error::Result;
use accord_protocol::Mutation;

/// One queued mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// Queue position.
    pub seq: i64,
    /// Sent as the mutation id; unchanged across retries.
    pub mutation_id: String,
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Server version the write was made from.
    pub base_version: i64,
    /// New fields, as JSON text; `None` for a delete, and for a row not yet sent (it
    /// stands for the record's current state until it is sent).
    pub data: Option<String>,
    /// True for a delete.
    pub deleted: bool,
    /// Clock of the write.
    pub hlc: String,
    /// Times it was sent without an answer recorded.
    pub attempts: i64,
}

impl OutboxRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<OutboxRow> {
        Ok(OutboxRow {
            seq: row.get(0)?,
            mutation_id: row.get(1)?,
            collection: row.get(2)?,
            id: row.get(3)?,
            base_version: row.get(4)?,
            data: row.get(5)?,
            deleted: row.get(6)?,
            hlc: row.get(7)?,
            attempts: row.get(8)?,
        })
    }

    /// The wire form. Data that does not parse (it was written by this code, so only a
    /// damaged file could cause it) is sent as an empty object rather than wedging the
    /// queue.
    pub fn to_mutation(&self) -> Mutation {
        Mutation {
            mutation_id: self.mutation_id.clone(),
            collection: self.collection.clone(),
            id: self.id.clone(),
            base_version: self.base_version,
            data: if self.deleted {
                None
            } else {
                Some(
                    self.data
                        .as_deref()
                        .and_then(|d| serde_json::from_str(d).ok())
                        .unwrap_or_else(|| Value::Object(Default::default())),
                )
            },
            deleted: self.deleted,
            hlc: self.hlc.clone(),
        }
    }
}

const COLUMNS: &str =
    "seq, mutation_id, collection, id, base_version, data, deleted, hlc, attempts";

/// Queues a local write. An unsent row carries no copy of the data: it stands for the
/// record's current local state, which [`take_batch`] copies into the row when it is sent
/// (and from then on the row is frozen, so a retry carries exactly what was sent). So a
/// write is stored once, not twice, and a record has at most one unsent row: a new write
/// to a record whose last row is unsent only moves that row's clock.
pub(crate) fn enqueue(
    conn: &Connection,
    collection: &str,
    id: &str,
    base_version: i64,
    hlc: &str,
) -> Result<()> {
    let updated = exec(
        conn,
        "UPDATE outbox SET hlc = ?3
         WHERE seq = (SELECT max(seq) FROM outbox WHERE collection = ?1 AND id = ?2)
           AND attempts = 0",
        params![collection, id, hlc],
    )?;
    if updated == 0 {
        insert(conn, collection, id, base_version, hlc)?;
    }
    Ok(())
}

/// Queues a new row for a record that has none (a clean or new record).
pub(crate) fn insert(
    conn: &Connection,
    collection: &str,
    id: &str,
    base_version: i64,
    hlc: &str,
) -> Result<()> {
    let mutation_id = uuid::Uuid::now_v7().to_string();
    exec(
        conn,
        "INSERT INTO outbox (mutation_id, collection, id, base_version, hlc, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![mutation_id, collection, id, base_version, hlc, now_ms()],
    )?;
    Ok(())
}

/// Replaces every queued row of a record with one new mutation of its current local
/// state (after a merge: the old rows were made from a version the server has moved
/// past).
pub(crate) fn replace_for_record(
    conn: &Connection,
    collection: &str,
    id: &str,
    base_version: i64,
    hlc: &str,
) -> Result<()> {
    drop_record(conn, collection, id)?;
    insert(conn, collection, id, base_version, hlc)
}

/// True when every queued row of the record is unsent (or there is none).
pub(crate) fn only_unsent(conn: &Connection, collection: &str, id: &str) -> Result<bool> {
    let sent: i64 = query_row(
        conn,
        "SELECT count(*) FROM outbox WHERE collection = ?1 AND id = ?2 AND attempts > 0",
        [collection, id],
        |r| r.get(0),
    )?;
    Ok(sent == 0)
}

/// Removes every queued row of a record.
pub(crate) fn drop_record(conn: &Connection, collection: &str, id: &str) -> Result<()> {
    exec(
        conn,
        "DELETE FROM outbox WHERE collection = ?1 AND id = ?2",
        [collection, id],
    )?;
    Ok(())
}

/// The next mutations to send: the oldest queued row of each record (a later row of the
/// same record needs the version the earlier one will get), at most `limit`. Unsent rows
/// take a copy of the record's current state and are marked sent before they leave, so
/// later writes to the same records queue new rows and a retry resends the same thing.
pub(crate) fn take_batch(conn: &Connection, limit: usize) -> Result<Vec<OutboxRow>> {
    let rows = {
        let mut stmt = conn.prepare_cached(
            "SELECT o.seq, o.mutation_id, o.collection, o.id, o.base_version,
                    CASE WHEN o.attempts = 0 THEN r.data ELSE o.data END,
                    CASE WHEN o.attempts = 0 THEN coalesce(r.deleted, 1) ELSE o.deleted END,
                    o.hlc, o.attempts
             FROM outbox o LEFT JOIN records r ON r.collection = o.collection AND r.id = o.id
             WHERE o.seq IN (SELECT min(seq) FROM outbox GROUP BY collection, id)
             ORDER BY o.seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], OutboxRow::from_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let mut freeze = conn.prepare_cached(
        "UPDATE outbox SET data = ?2, deleted = ?3, attempts = attempts + 1 WHERE seq = ?1",
    )?;
    for r in &rows {
        freeze.execute(params![r.seq, r.data, r.deleted])?;
    }
    Ok(rows)
}

/// Finds a queued row by mutation id.
pub(crate) fn find(conn: &Connection, mutation_id: &str) -> Result<Option<OutboxRow>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE mutation_id = ?1");
    Ok(query_row(conn, &sql, [mutation_id], OutboxRow::from_row).optional()?)
}

/// Removes an acknowledged row and every older row of the same record (an
/// acknowledged later write implies the earlier ones were applied or superseded), and
/// rebases the record's remaining rows on the new version. Returns whether rows remain.
pub(crate) fn acknowledge(conn: &Connection, row: &OutboxRow, version: i64) -> Result<bool> {
    exec(
        conn,
        "DELETE FROM outbox WHERE collection = ?1 AND id = ?2 AND seq <= ?3",
        params![row.collection, row.id, row.seq],
    )?;
    let remaining = exec(
        conn,
        "UPDATE outbox SET base_version = ?3 WHERE collection = ?1 AND id = ?2",
        params![row.collection, row.id, version],
    )?;
    Ok(remaining > 0)
}

/// Rows waiting, all records.
pub(crate) fn pending(conn: &Connection) -> Result<i64> {
    Ok(query_row(conn, "SELECT count(*) FROM outbox", [], |r| {
        r.get(0)
    })?)
}

/// All queued rows in order (for inspection and tests).
pub(crate) fn all(conn: &Connection) -> Result<Vec<OutboxRow>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox ORDER BY seq");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], OutboxRow::from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
