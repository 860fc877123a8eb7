//! Captured log lines: a ring bounded by rows and bytes, so logging can never fill the
//! phone's disk.

use rusqlite::{params, Connection};

use super::meta::Meta;
use super::{exec, query_row};
use crate::error::Result;

/// One captured log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Position in the ring (0 before it is stored).
    pub seq: i64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Level letter or word as given (`E`, `WARN`, ...).
    pub level: String,
    /// Source tag.
    pub tag: String,
    /// The message.
    pub message: String,
}

impl LogEvent {
    /// The line as the template miner reads it.
    pub fn to_line(&self) -> accord_logs::LogLine {
        accord_logs::LogLine::new(self.time_ms, &self.level, &self.tag, &self.message)
    }

    /// Bytes this line counts against the ring's byte cap.
    pub fn bytes(&self) -> i64 {
        (self.level.len() + self.tag.len() + self.message.len()) as i64
    }
}

/// Bounds of the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRing {
    /// Most lines kept.
    pub max_rows: i64,
    /// Most bytes (level + tag + message) kept.
    pub max_bytes: i64,
}

impl Default for LogRing {
    fn default() -> Self {
        LogRing {
            max_rows: 20_000,
            max_bytes: 4 * 1024 * 1024,
        }
    }
}

/// What the ring holds and what it had to drop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogRingStats {
    /// Lines held.
    pub rows: i64,
    /// Bytes held.
    pub bytes: i64,
    /// Lines dropped (oldest first) to stay within the bounds, since the store was made.
    pub dropped: i64,
}

const DROPPED: &str = "log_dropped";

impl LogRing {
    /// Appends lines in one statement batch, then drops the oldest lines beyond the
    /// bounds. Returns how many were dropped.
    pub(crate) fn append(&self, conn: &Connection, events: &[LogEvent]) -> Result<i64> {
        {
            let mut stmt = conn.prepare_cached(
                "INSERT INTO log_events (time_ms, level, tag, message, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in events {
                stmt.execute(params![e.time_ms, e.level, e.tag, e.message, e.bytes()])?;
            }
        }
        self.trim(conn)
    }

    fn trim(&self, conn: &Connection) -> Result<i64> {
        let (rows, bytes) = usage(conn)?;
        if rows <= self.max_rows && bytes <= self.max_bytes {
            return Ok(0);
        }
        // Oldest first: find the newest seq that must go so both bounds hold.
        let mut cut_rows = (rows - self.max_rows).max(0);
        let mut over_bytes = bytes - self.max_bytes;
        let mut last_seq = 0;
        let mut stmt = conn.prepare_cached("SELECT seq, bytes FROM log_events ORDER BY seq")?;
        let mut it = stmt.query([])?;
        let mut dropped = 0;
        while let Some(row) = it.next()? {
            if cut_rows <= 0 && over_bytes <= 0 {
                break;
            }
            last_seq = row.get(0)?;
            let b: i64 = row.get(1)?;
            cut_rows -= 1;
            over_bytes -= b;
            dropped += 1;
        }
        drop(it);
        exec(conn, "DELETE FROM log_events WHERE seq <= ?1", [last_seq])?;
        let before: i64 = Meta::get(conn, DROPPED)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Meta::set(conn, DROPPED, &(before + dropped).to_string())?;
        Ok(dropped)
    }

    /// What the ring holds now.
    pub fn stats(conn: &Connection) -> Result<LogRingStats> {
        let (rows, bytes) = usage(conn)?;
        let dropped = Meta::get(conn, DROPPED)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(LogRingStats {
            rows,
            bytes,
            dropped,
        })
    }

    /// Lines not yet uploaded, oldest first, at most `limit`.
    pub(crate) fn pending(conn: &Connection, limit: i64) -> Result<Vec<LogEvent>> {
        let mut stmt = conn.prepare_cached(
            "SELECT seq, time_ms, level, tag, message FROM log_events
             ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(LogEvent {
                seq: r.get(0)?,
                time_ms: r.get(1)?,
                level: r.get(2)?,
                tag: r.get(3)?,
                message: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Removes lines up to `seq` once their report is on the server.
    pub(crate) fn prune_uploaded(conn: &Connection, through_seq: i64) -> Result<()> {
        exec(
            conn,
            "DELETE FROM log_events WHERE seq <= ?1",
            [through_seq],
        )?;
        Ok(())
    }
}

/// A built report waiting for upload, with the last ring position it covers. Kept in
/// `meta` so a failed upload resends the same report (same id: the server stores it
/// once) instead of building another from overlapping lines.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PendingReport {
    /// The report.
    pub report: accord_protocol::LogReport,
    /// Lines up to this ring position are in it.
    pub through_seq: i64,
}

const PENDING_REPORT: &str = "log_report_pending";

impl PendingReport {
    /// The report waiting for upload, if any.
    pub fn load(conn: &Connection) -> Result<Option<PendingReport>> {
        match Meta::get(conn, PENDING_REPORT)? {
            None => Ok(None),
            // A damaged entry is dropped rather than wedging every later upload; its
            // lines stay in the ring and go into the next report.
            Some(text) => Ok(serde_json::from_str(&text).ok()),
        }
    }

    /// Keeps the report until it is uploaded.
    pub fn save(&self, conn: &Connection) -> Result<()> {
        Meta::set(conn, PENDING_REPORT, &serde_json::to_string(self)?)
    }

    /// The server has it: drop the report and the lines it covers.
    pub fn uploaded(&self, conn: &Connection) -> Result<()> {
        LogRing::prune_uploaded(conn, self.through_seq)?;
        exec(conn, "DELETE FROM meta WHERE key = ?1", [PENDING_REPORT])?;
        Ok(())
    }
}

fn usage(conn: &Connection) -> Result<(i64, i64)> {
    Ok(query_row(
        conn,
        "SELECT count(*), coalesce(sum(bytes), 0) FROM log_events",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}
