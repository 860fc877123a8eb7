//! Small key-value facts about this store: device id, clock, pull cursor.

use rusqlite::{Connection, OptionalExtension};

use super::{exec, query_row};
use crate::error::Result;
use crate::hlc::Hlc;

/// Typed access to the `meta` table.
pub struct Meta;

const DEVICE_ID: &str = "device_id";
const CLOCK: &str = "hlc";

impl Meta {
    /// Reads a raw value.
    pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
        Ok(
            query_row(conn, "SELECT value FROM meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?,
        )
    }

    /// Writes a raw value.
    pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
        exec(
            conn,
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// This device's id, made (UUID v7) and stored the first time it is asked for.
    pub fn device_id(conn: &Connection) -> Result<String> {
        if let Some(id) = Self::get(conn, DEVICE_ID)? {
            return Ok(id);
        }
        let id = uuid::Uuid::now_v7().simple().to_string();
        Self::set(conn, DEVICE_ID, &id)?;
        Ok(id)
    }

    /// The pull cursor of `space`: the last change sequence merged from it.
    pub fn cursor(conn: &Connection, space: &str) -> Result<i64> {
        Ok(Self::get(conn, &cursor_key(space))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Moves the pull cursor of `space`; written in the same transaction as the page it
    /// follows, so a crash never skips or repeats a page's effects.
    pub fn set_cursor(conn: &Connection, space: &str, seq: i64) -> Result<()> {
        Self::set(conn, &cursor_key(space), &seq.to_string())
    }

    /// Advances the clock for a local write and returns the write's timestamp.
    pub fn tick(conn: &Connection, node: &str) -> Result<Hlc> {
        let last = Self::clock(conn, node)?;
        let next = Hlc::tick(&last, node);
        Self::set(conn, CLOCK, &next.to_string())?;
        Ok(next)
    }

    /// Saves the clock after a batch of writes ticked it.
    pub fn save_clock(conn: &Connection, clock: &Hlc) -> Result<()> {
        Self::set(conn, CLOCK, &clock.to_string())
    }

    /// Moves the clock past a timestamp seen from another device.
    pub fn observe(conn: &Connection, node: &str, remote: &str) -> Result<()> {
        if let Some(remote) = Hlc::parse(remote) {
            let last = Self::clock(conn, node)?;
            if remote > last {
                let next = Hlc::observe(&last, &remote, node);
                Self::set(conn, CLOCK, &next.to_string())?;
            }
        }
        Ok(())
    }

    /// The clock as last saved (a batch of writes ticks it in memory and saves once).
    pub fn clock(conn: &Connection, node: &str) -> Result<Hlc> {
        Ok(Self::get(conn, CLOCK)?
            .and_then(|v| Hlc::parse(&v))
            .unwrap_or_else(|| Hlc::zero(node)))
    }
}

fn cursor_key(space: &str) -> String {
    format!("cursor:{space}")
}
