//! The outbox: local mutations waiting for the server's answer.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::Value;

use super::{exec, query_row};
use crate::error::Result;
use accord_protocol::{now_ms, Mutation};

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
    /// Why the row is held back and never sent (see [`DamagedRow`]); `None` for a row
    /// that is sent normally.
    pub quarantined: Option<String>,
}

/// Why a queued row cannot be sent. The store writes only valid JSON objects, so each of
/// these means the file was damaged; sending anything in its place (an empty object)
/// would overwrite the record on the server, so the row is quarantined instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DamagedRow {
    /// The stored data does not parse as JSON.
    #[error("its stored data is not valid JSON ({0})")]
    UnreadableData(String),
    /// The stored data is JSON but not an object.
    #[error("its stored data is not a JSON object")]
    NotAnObject,
    /// A write that is not a delete has no data.
    #[error("it is not a delete but has no data")]
    MissingData,
}

/// A queued write held back because its stored data is damaged: kept in the outbox,
/// never sent, until a newer write of the same record supersedes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantinedWrite {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// The queued mutation's id.
    pub mutation_id: String,
    /// Why it cannot be sent.
    pub reason: String,
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
            quarantined: row.get(9)?,
        })
    }

    /// The wire form, or why the row's stored data cannot be sent.
    pub fn to_mutation(&self) -> std::result::Result<Mutation, DamagedRow> {
        let data = if self.deleted {
            None
        } else {
            let text = self.data.as_deref().ok_or(DamagedRow::MissingData)?;
            let value: Value = serde_json::from_str(text)
                .map_err(|e| DamagedRow::UnreadableData(e.to_string()))?;
            if !value.is_object() {
                return Err(DamagedRow::NotAnObject);
            }
            Some(value)
        };
        Ok(Mutation {
            mutation_id: self.mutation_id.clone(),
            collection: self.collection.clone(),
            id: self.id.clone(),
            base_version: self.base_version,
            data,
            deleted: self.deleted,
            hlc: self.hlc.clone(),
            outbox_seq: None,
        })
    }
}

/// Which queued rows [`take_batch`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Every record's oldest row: what a push sends.
    All,
    /// Only rows sent before without an answer recorded (their answer was lost): what a
    /// pass sends again before it merges anything (see `sync::pull`).
    Unanswered,
}

const COLUMNS: &str =
    "seq, mutation_id, collection, id, base_version, data, deleted, hlc, attempts, quarantined";

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
           AND attempts = 0 AND quarantined IS NULL",
        params![collection, id, hlc],
    )?;
    if updated == 0 {
        insert(conn, collection, id, base_version, hlc)?;
    }
    Ok(())
}

/// A fresh mutation id: a UUIDv7 (time-ordered, so the server's index of ids grows at
/// its end) whose 74 random bits come from the thread's fast generator rather than one
/// `getrandom` system call per id; that call was 5% of a `put_many`. The ids only have
/// to be unique (no secret rides on them), and 74 random bits within one millisecond are.
fn new_mutation_id() -> String {
    let ms = u64::try_from(now_ms()).unwrap_or(0);
    let random = fastrand::u128(..).to_le_bytes();
    let mut bytes = [0u8; 10];
    bytes.copy_from_slice(&random[..10]);
    uuid::Builder::from_unix_timestamp_millis(ms, &bytes)
        .into_uuid()
        .to_string()
}

/// Queues a new row for a record that has none (a clean or new record).
pub(crate) fn insert(
    conn: &Connection,
    collection: &str,
    id: &str,
    base_version: i64,
    hlc: &str,
) -> Result<()> {
    let mutation_id = new_mutation_id();
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

/// The next mutations to send, each with its wire form: the oldest queued row of each
/// record that is not quarantined (a later row of the same record needs the version the
/// earlier one will get), at most `limit`. Unsent rows take a copy of the record's
/// current state and are marked sent before they leave, so later writes to the same
/// records queue new rows and a retry resends the same thing.
///
/// A row whose data cannot be sent ([`DamagedRow`]) is quarantined instead: its data is
/// kept in the row with the reason, and it is never sent. Rows carry the record's whole
/// state, so a later write of the same record is sent in its place and, once the server
/// has it, supersedes it. Empty only when nothing is left to send.
pub(crate) fn take_batch(
    conn: &Connection,
    limit: usize,
    rows: Rows,
) -> Result<Vec<(OutboxRow, Mutation)>> {
    let mut select = conn.prepare_cached(
        "SELECT o.seq, o.mutation_id, o.collection, o.id, o.base_version,
                CASE WHEN o.attempts = 0 THEN r.data ELSE o.data END,
                CASE WHEN o.attempts = 0 THEN coalesce(r.deleted, 1) ELSE o.deleted END,
                o.hlc, o.attempts, o.quarantined
         FROM outbox o LEFT JOIN records r ON r.collection = o.collection AND r.id = o.id
         WHERE o.seq IN (SELECT min(seq) FROM outbox WHERE quarantined IS NULL
                         GROUP BY collection, id)
           AND (?2 = 0 OR o.attempts > 0)
         ORDER BY o.seq LIMIT ?1",
    )?;
    let unanswered_only = rows == Rows::Unanswered;
    let mut freeze = conn.prepare_cached(
        "UPDATE outbox SET data = ?2, deleted = ?3, attempts = attempts + 1 WHERE seq = ?1",
    )?;
    let mut quarantine = conn.prepare_cached(
        "UPDATE outbox SET data = ?2, deleted = ?3, quarantined = ?4 WHERE seq = ?1",
    )?;
    // Each round quarantines at least one row or returns, so this ends.
    loop {
        let rows = select
            .query_map(params![limit as i64, unanswered_only], OutboxRow::from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut batch = Vec::with_capacity(rows.len());
        for r in rows {
            match r.to_mutation() {
                Ok(m) => {
                    freeze.execute(params![r.seq, r.data, r.deleted])?;
                    batch.push((r, m));
                }
                Err(damage) => {
                    quarantine.execute(params![r.seq, r.data, r.deleted, damage.to_string()])?;
                }
            }
        }
        if !batch.is_empty() {
            return Ok(batch);
        }
    }
}

/// The lowest position still queued (`None` when the outbox is empty). Every mutation
/// sent from a lower position has its answer recorded or was superseded, and positions
/// are never reused (`AUTOINCREMENT`), so no id below it is ever sent again: what a push
/// tells the server as `answered_below`.
pub(crate) fn lowest_queued(conn: &Connection) -> Result<Option<i64>> {
    Ok(query_row(conn, "SELECT min(seq) FROM outbox", [], |r| {
        r.get(0)
    })?)
}

/// The quarantined rows, oldest first.
pub(crate) fn quarantined(conn: &Connection) -> Result<Vec<QuarantinedWrite>> {
    let mut stmt = conn.prepare_cached(
        "SELECT collection, id, mutation_id, quarantined FROM outbox
         WHERE quarantined IS NOT NULL ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(QuarantinedWrite {
            collection: r.get(0)?,
            id: r.get(1)?,
            mutation_id: r.get(2)?,
            reason: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Finds a queued row of a record by its mutation id.
pub(crate) fn find(
    conn: &Connection,
    collection: &str,
    id: &str,
    mutation_id: &str,
) -> Result<Option<OutboxRow>> {
    // Through the record's rows (`outbox_record`): there is no index of mutation ids.
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox WHERE collection = ?1 AND id = ?2 AND mutation_id = ?3"
    );
    Ok(query_row(
        conn,
        &sql,
        [collection, id, mutation_id],
        OutboxRow::from_row,
    )
    .optional()?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(data: Option<&str>, deleted: bool) -> OutboxRow {
        OutboxRow {
            seq: 1,
            mutation_id: "m1".into(),
            collection: "notes".into(),
            id: "n".into(),
            base_version: 3,
            data: data.map(str::to_string),
            deleted,
            hlc: "0000000000001-0000-dev".into(),
            attempts: 0,
            quarantined: None,
        }
    }

    #[test]
    fn only_a_json_object_or_a_delete_is_sendable() {
        let sent = row(Some(r#"{"body":"x"}"#), false).to_mutation().unwrap();
        assert_eq!(sent.data, Some(serde_json::json!({"body": "x"})));
        assert_eq!(sent.base_version, 3);
        assert_eq!(row(None, true).to_mutation().unwrap().data, None);
        assert!(matches!(
            row(Some(r#"{"body":"#), false).to_mutation(),
            Err(DamagedRow::UnreadableData(_))
        ));
        assert_eq!(
            row(Some("[1, 2]"), false).to_mutation(),
            Err(DamagedRow::NotAnObject)
        );
        assert_eq!(row(None, false).to_mutation(), Err(DamagedRow::MissingData));
    }
}
