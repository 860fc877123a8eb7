//! The conflict log: every non-trivial merge with all its inputs, so an app can show
//! "merged automatically — review?" and restore either side.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::Value;

use super::{exec, query_row};
use crate::error::{Error, Result};
use crate::merge::{FieldOutcome, Strategy};
use accord_protocol::now_ms;

/// A merge to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConflict<'a> {
    /// Collection.
    pub collection: &'a str,
    /// Record id.
    pub id: &'a str,
    /// Common ancestor (`None`: none, e.g. both created the record).
    pub base: Option<&'a Value>,
    /// This device's version (`None`: deleted here).
    pub local: Option<&'a Value>,
    /// The server's version (`None`: deleted there).
    pub remote: Option<&'a Value>,
    /// What the merge produced (`None`: a tombstone).
    pub result: Option<&'a Value>,
    /// The strongest step the merge needed.
    pub strategy: &'a Strategy,
    /// Per-field decisions.
    pub fields: &'a [FieldOutcome],
    /// Arbiter score, when one was used.
    pub score: Option<f64>,
    /// True when a person should look.
    pub needs_review: bool,
    /// For a flagged merge: the record a person most likely wants.
    pub suggested: Option<&'a Value>,
}

/// A logged merge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictEntry {
    /// Log id.
    pub conflict_id: i64,
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Common ancestor.
    pub base: Option<Value>,
    /// This device's version.
    pub local: Option<Value>,
    /// The server's version.
    pub remote: Option<Value>,
    /// What the merge produced.
    pub result: Option<Value>,
    /// How it was decided.
    pub strategy: Strategy,
    /// Per-field decisions, with the reason for each flagged field's suggestion.
    pub fields: Vec<FieldOutcome>,
    /// Arbiter score, when one was used.
    pub score: Option<f64>,
    /// True when a person should look.
    pub needs_review: bool,
    /// For a flagged merge: the record a person most likely wants (each flagged field
    /// resolved as its [`FieldOutcome::suggestion`] says), which
    /// [`ConflictResolution::Suggested`] writes. `result` keeps both sides.
    pub suggested: Option<Value>,
    /// True once someone resolved it.
    pub reviewed: bool,
    /// When it was logged, milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// How a person settles a logged merge.
#[derive(Debug, Clone, PartialEq)]
pub enum ConflictResolution {
    /// Keep what the merge produced.
    KeepMerged,
    /// Restore this device's version (written as a new local edit, so it syncs).
    UseLocal,
    /// Restore the other device's version.
    UseRemote,
    /// Apply the merge's suggestion ([`ConflictEntry::suggested`]); edits made to the
    /// record since the merge are kept where they do not touch what the suggestion
    /// changes.
    Suggested,
    /// Write these fields instead.
    Custom(Value),
}

fn to_text(v: Option<&Value>) -> Option<String> {
    v.map(Value::to_string)
}

fn from_text<T: serde::de::DeserializeOwned>(
    idx: usize,
    t: Option<String>,
) -> rusqlite::Result<Option<T>> {
    t.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

fn strategy_from(idx: usize, t: String) -> rusqlite::Result<Strategy> {
    t.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
    })
}

/// The columns [`ConflictEntry::from_row`] reads, in its order.
const COLUMNS: &str = "conflict_id, collection, id, base, local, remote, result, strategy, \
                       fields, score, needs_review, reviewed, created_ms, suggested";

impl ConflictEntry {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<ConflictEntry> {
        Ok(ConflictEntry {
            conflict_id: row.get(0)?,
            collection: row.get(1)?,
            id: row.get(2)?,
            base: from_text(3, row.get(3)?)?,
            local: from_text(4, row.get(4)?)?,
            remote: from_text(5, row.get(5)?)?,
            result: from_text(6, row.get(6)?)?,
            strategy: strategy_from(7, row.get(7)?)?,
            fields: from_text(8, row.get(8)?)?.unwrap_or_default(),
            score: row.get(9)?,
            needs_review: row.get(10)?,
            reviewed: row.get(11)?,
            created_ms: row.get(12)?,
            suggested: from_text(13, row.get(13)?)?,
        })
    }

    /// Appends a merge to the log.
    pub(crate) fn insert(conn: &Connection, c: &NewConflict<'_>) -> Result<i64> {
        exec(
            conn,
            "INSERT INTO conflicts (collection, id, base, local, remote, result, strategy, fields,
                                    score, needs_review, created_ms, suggested)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                c.collection,
                c.id,
                to_text(c.base),
                to_text(c.local),
                to_text(c.remote),
                to_text(c.result),
                c.strategy.to_string(),
                serde_json::to_string(c.fields)?,
                c.score,
                c.needs_review,
                now_ms(),
                to_text(c.suggested),
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Logged merges, newest first; only those not yet reviewed when `open_only`.
    pub fn list(conn: &Connection, open_only: bool) -> Result<Vec<ConflictEntry>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM conflicts WHERE (?1 = 0 OR reviewed = 0)
             ORDER BY conflict_id DESC"
        ))?;
        let rows = stmt.query_map([open_only], ConflictEntry::from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One logged merge.
    pub fn get(conn: &Connection, conflict_id: i64) -> Result<ConflictEntry> {
        query_row(
            conn,
            &format!("SELECT {COLUMNS} FROM conflicts WHERE conflict_id = ?1"),
            [conflict_id],
            ConflictEntry::from_row,
        )
        .optional()?
        .ok_or_else(|| Error::invalid(format!("no conflict with id {conflict_id}")))
    }

    /// Marks a logged merge as reviewed.
    pub(crate) fn mark_reviewed(conn: &Connection, conflict_id: i64) -> Result<()> {
        exec(
            conn,
            "UPDATE conflicts SET reviewed = 1 WHERE conflict_id = ?1",
            [conflict_id],
        )?;
        Ok(())
    }
}
