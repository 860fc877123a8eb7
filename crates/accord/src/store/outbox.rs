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
    /// Outbox position, given when the write is first sent (0 for a write not yet sent).
    pub seq: i64,
    /// Sent as the mutation id; unchanged across retries (empty for a write not yet
    /// sent: it is made when the write is first sent).
    pub mutation_id: String,
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Server version the write was made from.
    pub base_version: i64,
    /// New fields, as JSON text, as sent; `None` for a delete, and for a write not yet
    /// sent (it stands for the record's current state until it is sent).
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

/// The queue position a record with nothing queued takes next: after every position
/// given so far. Positions only order the unsent writes among themselves (the outbox
/// position sent to the server is made when a write is first sent), so a position freed
/// by a sent write may be given again.
pub(crate) fn next_position(conn: &Connection) -> Result<i64> {
    Ok(query_row(
        conn,
        "SELECT coalesce(max(queued), 0) + 1 FROM records WHERE queued IS NOT NULL",
        [],
        |r| r.get(0),
    )?)
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

/// Replaces every queued write of a record with its current local state, queued as one
/// write not yet sent (after a merge: the old rows were made from a version the server
/// has moved past; the record's row already holds that version).
pub(crate) fn replace_for_record(conn: &Connection, collection: &str, id: &str) -> Result<()> {
    drop_record(conn, collection, id)?;
    let next = next_position(conn)?;
    exec(
        conn,
        "UPDATE records SET queued = ?3 WHERE collection = ?1 AND id = ?2",
        params![collection, id, next],
    )?;
    Ok(())
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

/// Removes every outbox row of a record (the caller sees to its `queued` entry).
pub(crate) fn drop_record(conn: &Connection, collection: &str, id: &str) -> Result<()> {
    exec(
        conn,
        "DELETE FROM outbox WHERE collection = ?1 AND id = ?2",
        [collection, id],
    )?;
    Ok(())
}

/// The next mutations to send, each with its wire form, at most `limit`: first the
/// oldest outbox row of each record that is not quarantined (sent before, its answer not
/// recorded; a later write of the same record needs the version it will get), then, for
/// [`Rows::All`], the unsent writes of records with no such row, in the order they were
/// queued. An unsent write becomes an outbox row here: it takes the next position, a
/// mutation id and a copy of the record's current state, and is marked sent before it
/// leaves, so later writes to the same record queue anew and a retry resends the same
/// thing under the same id.
///
/// A write whose data cannot be sent ([`DamagedRow`]) is quarantined instead: its data
/// is kept in an outbox row with the reason, and it is never sent. A write carries the
/// record's whole state, so a later write of the same record is sent in its place and,
/// once the server has it, supersedes it. Empty only when nothing is left to send.
pub(crate) fn take_batch(
    conn: &Connection,
    limit: usize,
    rows: Rows,
) -> Result<Vec<(OutboxRow, Mutation)>> {
    let mut sent_before = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox
         WHERE seq IN (SELECT min(seq) FROM outbox WHERE quarantined IS NULL
                       GROUP BY collection, id)
         ORDER BY seq LIMIT ?1"
    ))?;
    let mut unsent = conn.prepare_cached(
        "SELECT r.collection, r.id, r.version, r.data, r.deleted, r.hlc FROM records r
         WHERE r.queued IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.collection = r.collection
                           AND o.id = r.id AND o.quarantined IS NULL)
         ORDER BY r.queued LIMIT ?1",
    )?;
    // Each round quarantines at least one write or returns, so this ends.
    loop {
        let mut batch = Vec::new();
        let mut quarantined_any = false;
        let resends = sent_before
            .query_map([limit as i64], OutboxRow::from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for r in resends {
            match r.to_mutation() {
                Ok(m) => {
                    exec(
                        conn,
                        "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?1",
                        [r.seq],
                    )?;
                    batch.push((r, m));
                }
                Err(damage) => {
                    quarantine(conn, r.seq, &damage)?;
                    quarantined_any = true;
                }
            }
        }
        let room = limit.saturating_sub(batch.len());
        if rows == Rows::All && room > 0 {
            let writes = unsent
                .query_map([room as i64], |r| {
                    let deleted: bool = r.get(4)?;
                    // The outbox row it becomes (its position is given when it is stored).
                    Ok(OutboxRow {
                        seq: 0,
                        mutation_id: new_mutation_id(),
                        collection: r.get(0)?,
                        id: r.get(1)?,
                        base_version: r.get(2)?,
                        data: if deleted { None } else { r.get(3)? },
                        deleted,
                        hlc: r.get(5)?,
                        attempts: 0,
                        quarantined: None,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for mut row in writes {
                let checked = row.to_mutation();
                row.quarantined = checked.as_ref().err().map(DamagedRow::to_string);
                row.attempts = i64::from(checked.is_ok());
                row.seq = query_row(
                    conn,
                    "INSERT INTO outbox (mutation_id, collection, id, base_version, data,
                                         deleted, hlc, created_ms, attempts, quarantined)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING seq",
                    params![
                        row.mutation_id,
                        row.collection,
                        row.id,
                        row.base_version,
                        row.data,
                        row.deleted,
                        row.hlc,
                        now_ms(),
                        row.attempts,
                        row.quarantined
                    ],
                    |r| r.get(0),
                )?;
                exec(
                    conn,
                    "UPDATE records SET queued = NULL WHERE collection = ?1 AND id = ?2",
                    [&row.collection, &row.id],
                )?;
                match checked {
                    Ok(m) => batch.push((row, m)),
                    Err(_) => quarantined_any = true,
                }
            }
        }
        if !batch.is_empty() || !quarantined_any {
            return Ok(batch);
        }
    }
}

fn quarantine(conn: &Connection, seq: i64, damage: &DamagedRow) -> Result<()> {
    exec(
        conn,
        "UPDATE outbox SET quarantined = ?2 WHERE seq = ?1",
        params![seq, damage.to_string()],
    )?;
    Ok(())
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
/// rebases the record's remaining rows on the new version (an unsent write builds on
/// the record's version, which the caller moves). Returns whether outbox rows of the
/// record remain.
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

/// Writes waiting, all records: outbox rows and unsent writes.
pub(crate) fn pending(conn: &Connection) -> Result<i64> {
    Ok(query_row(
        conn,
        "SELECT (SELECT count(*) FROM outbox)
              + (SELECT count(*) FROM records WHERE queued IS NOT NULL)",
        [],
        |r| r.get(0),
    )?)
}

/// Every queued write in order (for inspection and tests): the outbox rows by position,
/// then the unsent writes in queue order. An unsent write has no position or mutation
/// id yet (both are made when it is first sent): `seq` 0, an empty `mutation_id`, and
/// no data (it stands for the record's current state).
pub(crate) fn all(conn: &Connection) -> Result<Vec<OutboxRow>> {
    let sql = format!(
        "SELECT {COLUMNS}, 0 AS part, seq AS k FROM outbox
         UNION ALL
         SELECT 0, '', collection, id, version, NULL, deleted, hlc, 0, NULL, 1, queued
         FROM records WHERE queued IS NOT NULL
         ORDER BY part, k"
    );
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
