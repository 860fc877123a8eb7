//! Sync activity as stored: counters per space, user, token and device, per hour. What
//! the server can know of how its devices sync, for the console.

use serde::Serialize;

/// Length of one activity bucket: an hour.
pub const HOUR_MS: i64 = 3_600_000;

/// Who did something, in which space, in which hour: the key activity is counted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActivityKey {
    /// The space's id.
    pub space_id: i64,
    /// The user's id.
    pub user_id: i64,
    /// The public id of the token used ([`crate::auth::token_id`]).
    pub token: String,
    /// The device the requests named (empty when they named none).
    pub device: String,
    /// Start of the hour, milliseconds since the Unix epoch.
    pub hour_ms: i64,
}

impl ActivityKey {
    /// The hour bucket that holds `ms`.
    pub fn hour_of(ms: i64) -> i64 {
        ms.div_euclid(HOUR_MS) * HOUR_MS
    }
}

/// What happened under one key. Adding two counts adds every counter and keeps the
/// later `last_ms`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ActivityCounts {
    /// Pages of the change feed served.
    pub pulls: u64,
    /// Records in those pages.
    pub records_pulled: u64,
    /// Mutation batches received.
    pub pushes: u64,
    /// Mutations applied.
    pub mutations_applied: u64,
    /// Mutations answered with a conflict (the device merges and pushes again).
    pub conflicts: u64,
    /// Log reports stored.
    pub log_reports: u64,
    /// The latest request counted, milliseconds since the Unix epoch.
    pub last_ms: i64,
}

impl ActivityCounts {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &ActivityCounts) {
        self.pulls += other.pulls;
        self.records_pulled += other.records_pulled;
        self.pushes += other.pushes;
        self.mutations_applied += other.mutations_applied;
        self.conflicts += other.conflicts;
        self.log_reports += other.log_reports;
        self.last_ms = self.last_ms.max(other.last_ms);
    }
}

/// Activity as read back, with names instead of ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// Space name.
    pub space: String,
    /// User name.
    pub user: String,
    /// Public token id.
    pub token: String,
    /// Device id, empty when unknown.
    pub device: String,
    /// Start of the hour, milliseconds since the Unix epoch.
    pub hour_ms: i64,
    /// What happened in that hour.
    pub counts: ActivityCounts,
}

/// Stored counters are `i64` in both databases.
pub(crate) fn to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Counters read back; a negative number (a damaged row) counts as zero.
pub(crate) fn from_db(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
