//! Server storage: the one trait the HTTP layer uses, with a SQLite implementation (one
//! file, nothing to install) and a PostgreSQL one (several servers over one database).
//!
//! Calls are blocking; the HTTP layer runs them on tokio's blocking pool. Each call that
//! writes is one transaction: a batch of mutations applies together with the sequence
//! numbers and idempotency records it produces, or not at all.

mod activity;
mod postgres;
mod schema;
mod sqlite;

use accord_protocol::{
    ChangesPage, LogReport, Mutation, MutationBatch, MutationResult, RawData, RemoteRecord,
};
use serde::Serialize;

pub use activity::{Activity, ActivityCounts, ActivityKey, HOUR_MS};
pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;

/// Opens the storage a `--db` argument names: a `postgres://` or `postgresql://` URL
/// opens [`PostgresStorage`], anything else is the path of a SQLite file.
pub fn open(db: &str) -> Result<std::sync::Arc<dyn Storage>> {
    if is_postgres_url(db) {
        Ok(std::sync::Arc::new(PostgresStorage::open(db)?))
    } else {
        Ok(std::sync::Arc::new(SqliteStorage::open(
            std::path::Path::new(db),
        )?))
    }
}

/// The clock of the `*_ms` columns of either database: client and server share one.
pub(crate) use accord_protocol::now_ms;

/// True when `db` names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database failed.
    #[error("database error: {0}")]
    Database(String),
    /// A name that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A name that already exists, or a request that contradicts stored state.
    #[error("{0}")]
    Conflict(String),
    /// Input that cannot be stored.
    #[error("{0}")]
    Invalid(String),
    /// The database is too contended to finish the request now; retrying later will.
    #[error("storage busy: {0}")]
    Busy(String),
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Database(e.to_string())
    }
}

/// Storage result.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Internal id.
    pub user_id: i64,
    /// Name given at `add-user`.
    pub name: String,
}

/// What a bearer token may do with a space: the answer to both questions a request asks
/// first, so storage can answer them in one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAccess {
    /// No live token has this hash.
    UnknownToken,
    /// The token is live, but its user has no grant for the space (or the space does
    /// not exist: the same answer, so a token cannot probe which spaces exist).
    NoGrant(User),
    /// The user may read and write the space with this id.
    Granted(User, i64),
}

/// A log report as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredLogReport {
    /// Space it was uploaded to.
    pub space: String,
    /// Uploading user.
    pub user: String,
    /// When it arrived, milliseconds since the Unix epoch.
    pub received_ms: i64,
    /// The report.
    pub report: LogReport,
}

/// A space with its counts, for `accord admin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpaceInfo {
    /// Name.
    pub name: String,
    /// Records, tombstones included.
    pub records: i64,
    /// Last change sequence.
    pub seq: i64,
    /// Users with a grant.
    pub members: Vec<String>,
    /// When a record of the space last changed, milliseconds since the Unix epoch;
    /// `None` while it has no records.
    pub last_change_ms: Option<i64>,
}

/// A user with its grants and tokens, for `accord admin` and the console. Holds no
/// secret: tokens appear by their public id ([`crate::auth::token_id`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// Name given at `add-user`.
    pub name: String,
    /// When the user was created, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Spaces the user may read and write, by name.
    pub spaces: Vec<String>,
    /// Every token the user was given, live and revoked, oldest first.
    pub tokens: Vec<TokenInfo>,
}

/// A token as listed: its public id, never the secret or its full hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The first [`crate::auth::TOKEN_ID_LEN`] hex digits of the token's hash.
    pub id: String,
    /// When it was made, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// True once revoked.
    pub revoked: bool,
}

/// Everything the server stores.
pub trait Storage: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;

    /// Checks the database answers.
    fn ping(&self) -> Result<()>;

    /// The user holding the token with this SHA-256 hash, if the token is live.
    fn user_for_token(&self, token_hash: &str) -> Result<Option<User>>;

    /// The id of `space` if it exists and `user` has a grant for it.
    fn space_for(&self, user: &User, space: &str) -> Result<Option<i64>>;

    /// [`Storage::user_for_token`] and [`Storage::space_for`] in one call (on PostgreSQL,
    /// one read-only transaction and one query instead of two of each).
    fn access(&self, token_hash: &str, space: &str) -> Result<TokenAccess> {
        let Some(user) = self.user_for_token(token_hash)? else {
            return Ok(TokenAccess::UnknownToken);
        };
        Ok(match self.space_for(&user, space)? {
            Some(id) => TokenAccess::Granted(user, id),
            None => TokenAccess::NoGrant(user),
        })
    }

    /// Records of the space changed after `since`, in seq order, at most `limit`, their
    /// fields as stored (never decoded: the feed is the server's hottest path).
    fn changes(&self, space_id: i64, since: i64, limit: u32) -> Result<ChangesPage<RawData>>;

    /// How many records of the space changed after `since` (what a pull from `since`
    /// still has to fetch).
    fn count_changes(&self, space_id: i64, since: i64) -> Result<u64>;

    /// Applies a batch's mutations in order, each only if its `base_version` matches (or
    /// its id was applied before, in which case the first answer is returned again).
    ///
    /// A batch that names its device first forgets that device's remembered ids below its
    /// `answered_below` (the device holds their answers and never sends them again), in
    /// the same transaction. A mutation the server may have applied and then forgotten
    /// (see [`Storage::forget_mutations`]) is answered from the record when the record
    /// still carries it, and otherwise as a conflict marked `maybe_applied`.
    fn apply(&self, space_id: i64, batch: &MutationBatch) -> Result<Vec<MutationResult>>;

    /// Forgets the ids of mutations applied before `applied_before_ms`, of every space:
    /// the retention window, for ids no device will acknowledge (clients that do not send
    /// `answered_below`, devices that stopped syncing). For each device whose ids go, it
    /// remembers the outbox position below which ids may have been forgotten, so a late
    /// retry from that device is never mistaken for a new write. Returns how many ids
    /// were forgotten.
    fn forget_mutations(&self, applied_before_ms: i64) -> Result<u64>;

    /// How many mutation ids are remembered, all spaces together (for benchmarks, tests
    /// and operators watching the table stay bounded).
    fn mutation_ids(&self) -> Result<u64>;

    /// Stores a log report once per report id; false when it was already stored.
    fn store_log_report(&self, space_id: i64, user: &User, report: &LogReport) -> Result<bool>;

    /// The newest log reports of a space.
    fn log_reports(&self, space: &str, limit: u32) -> Result<Vec<StoredLogReport>>;

    /// One log report of a space by its id.
    fn log_report(&self, space: &str, report_id: &str) -> Result<Option<StoredLogReport>>;

    /// Adds counted activity to the stored counters (one transaction).
    fn record_activity(&self, counts: &[(ActivityKey, ActivityCounts)]) -> Result<()>;

    /// Stored activity of the hours that start at or after `since_ms`, oldest first.
    fn activity(&self, since_ms: i64) -> Result<Vec<Activity>>;

    /// Creates a space.
    fn add_space(&self, name: &str) -> Result<()>;

    /// Creates a user with a first token (given by its hash).
    fn add_user(&self, name: &str, token_hash: &str) -> Result<()>;

    /// Adds a token for an existing user.
    fn add_token(&self, user: &str, token_hash: &str) -> Result<()>;

    /// Revokes every token of a user.
    fn revoke_tokens(&self, user: &str) -> Result<u64>;

    /// Lets `user` read and write `space`.
    fn grant(&self, user: &str, space: &str) -> Result<()>;

    /// Takes a grant away; false when there was none.
    fn revoke(&self, user: &str, space: &str) -> Result<bool>;

    /// Spaces with their counts and members.
    fn spaces(&self) -> Result<Vec<SpaceInfo>>;

    /// Users by name, each with its grants and tokens (by public id only).
    fn users(&self) -> Result<Vec<UserInfo>>;
}

/// Rows of `users`, `grants` and `tokens` put together as [`UserInfo`]s, in the order
/// of `users`: one assembly for both backends.
pub(crate) fn assemble_users(
    users: Vec<(i64, String, i64)>,
    grants: Vec<(i64, String)>,
    tokens: Vec<(i64, String, i64, bool)>,
) -> Vec<UserInfo> {
    let mut by_id: std::collections::HashMap<i64, UserInfo> = std::collections::HashMap::new();
    let order: Vec<i64> = users.iter().map(|u| u.0).collect();
    for (id, name, created_ms) in users {
        by_id.insert(
            id,
            UserInfo {
                name,
                created_ms,
                spaces: Vec::new(),
                tokens: Vec::new(),
            },
        );
    }
    for (id, space) in grants {
        if let Some(u) = by_id.get_mut(&id) {
            u.spaces.push(space);
        }
    }
    for (id, hash, created_ms, revoked) in tokens {
        if let Some(u) = by_id.get_mut(&id) {
            u.tokens.push(TokenInfo {
                id: crate::auth::token_id(&hash).to_string(),
                created_ms,
                revoked,
            });
        }
    }
    order.iter().filter_map(|id| by_id.remove(id)).collect()
}

/// The page of changes after `since` from `changes`, which were read with a limit of
/// `limit + 1`: the extra row only says whether there is more.
pub(crate) fn changes_page(
    mut changes: Vec<RemoteRecord<RawData>>,
    since: i64,
    limit: u32,
) -> ChangesPage<RawData> {
    let more = changes.len() > limit as usize;
    changes.truncate(limit as usize);
    let next = changes.last().map_or(since, |r| r.seq);
    ChangesPage {
        changes,
        next,
        more,
        remaining: None,
        features: Vec::new(),
    }
}

/// Stored record fields as the feed sends them. The text was written by this server from a
/// decoded JSON object, so it is checked (a damaged row is an error) but not decoded.
pub(crate) fn raw_data(text: String) -> Result<RawData> {
    serde_json::value::RawValue::from_string(text)
        .map_err(|e| StorageError::Database(format!("a stored record is damaged: {e}")))
}

/// The answer to a mutation whose id is not remembered and whose record has moved past
/// its `base_version`.
///
/// When the record's latest write is this very mutation, it was applied (its id was
/// forgotten since, or the client is resending it after its answer was lost): answer as
/// the first time. Otherwise it is a conflict; `maybe_applied` when the id may have been
/// forgotten, since the record may then hold this write under later ones.
pub(crate) fn moved_record_answer(
    m: &Mutation,
    current: RemoteRecord,
    maybe_applied: bool,
) -> MutationResult {
    if current.mutation_id == m.mutation_id {
        MutationResult::Applied {
            mutation_id: m.mutation_id.clone(),
            version: current.version,
            seq: current.seq,
        }
    } else {
        MutationResult::Conflict {
            mutation_id: m.mutation_id.clone(),
            current,
            maybe_applied,
        }
    }
}

/// How many outbox positions a device's acknowledgements are gathered over before the
/// server deletes the ids they cover (see [`answered_to_forget`]).
pub(crate) const FORGET_EVERY: i64 = 16;

/// The device and the position below which a batch lets the server forget that device's
/// ids, when this batch is the one to do it: one whose positions reach a multiple of
/// [`FORGET_EVERY`]. Deleting on every push costs a write per push for one row; a device
/// crosses a multiple at least every `FORGET_EVERY` writes, so it keeps at most that many
/// ids plus one batch, and the delete runs once for all of them.
pub(crate) fn answered_to_forget(batch: &MutationBatch) -> Option<(&str, i64)> {
    let device = batch.device.as_deref()?;
    let below = batch.answered_below?;
    let top = batch.mutations.iter().filter_map(|m| m.outbox_seq).max()?;
    let crosses = top.div_euclid(FORGET_EVERY) > below.div_euclid(FORGET_EVERY)
        || below.rem_euclid(FORGET_EVERY) == 0;
    crosses.then_some((device, below))
}

/// A batch's device's `forgotten_below` mark (see [`Storage::forget_mutations`]): read
/// at most once per batch, and only when a mutation conflicts.
#[derive(Debug, Default)]
pub(crate) struct ForgottenMark(Option<Option<i64>>);

impl ForgottenMark {
    /// The mark of `device` (none for a batch that names no device), read with `read` the
    /// first time it is asked for.
    pub(crate) fn get<E>(
        &mut self,
        device: Option<&str>,
        read: impl FnOnce(&str) -> std::result::Result<Option<i64>, E>,
    ) -> std::result::Result<Option<i64>, E> {
        if let Some(mark) = self.0 {
            return Ok(mark);
        }
        let mark = match device {
            Some(device) => read(device)?,
            None => None,
        };
        self.0 = Some(mark);
        Ok(mark)
    }
}

/// True when `m` comes from an outbox position below which its device's ids may have
/// been forgotten by the retention window (`forgotten_below`, the server's mark for the
/// device, if any).
pub(crate) fn maybe_forgotten(m: &Mutation, forgotten_below: Option<i64>) -> bool {
    matches!((m.outbox_seq, forgotten_below), (Some(s), Some(b)) if s < b)
}

/// Checks a batch before it touches storage, so a bad mutation rejects the request with
/// nothing applied. A batch that names its device must give every mutation its outbox
/// position and an `answered_below` no higher than any of them (ids at or above it are
/// still being asked about); one that does not must give neither.
pub fn validate_batch(batch: &MutationBatch) -> Result<()> {
    validate_mutations(&batch.mutations)?;
    let Some(device) = &batch.device else {
        if batch.answered_below.is_some() || batch.mutations.iter().any(|m| m.outbox_seq.is_some())
        {
            return Err(StorageError::Invalid(
                "answered_below and outbox_seq need the batch's device".into(),
            ));
        }
        return Ok(());
    };
    accord_protocol::check_name("device", device).map_err(StorageError::Invalid)?;
    let below = batch.answered_below.ok_or_else(|| {
        StorageError::Invalid("a batch that names its device needs answered_below".into())
    })?;
    if below < 0 {
        return Err(StorageError::Invalid(format!(
            "answered_below {below} is negative"
        )));
    }
    for (i, m) in batch.mutations.iter().enumerate() {
        match m.outbox_seq {
            None => {
                return Err(StorageError::Invalid(format!(
                    "mutation {i}: outbox_seq is missing (the batch names its device)"
                )))
            }
            Some(s) if s < below => {
                return Err(StorageError::Invalid(format!(
                    "mutation {i}: outbox_seq {s} is below answered_below {below}: the device says it holds this mutation's answer"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Checks a batch's mutations (see [`validate_batch`]).
pub fn validate_mutations(mutations: &[Mutation]) -> Result<()> {
    if mutations.len() > accord_protocol::MAX_MUTATIONS_PER_BATCH {
        return Err(StorageError::Invalid(format!(
            "{} mutations in one request; at most {} are allowed",
            mutations.len(),
            accord_protocol::MAX_MUTATIONS_PER_BATCH
        )));
    }
    for (i, m) in mutations.iter().enumerate() {
        let at = |why: String| StorageError::Invalid(format!("mutation {i}: {why}"));
        accord_protocol::check_name("mutation_id", &m.mutation_id).map_err(at)?;
        if m.mutation_id.len() > 128 {
            return Err(at("mutation_id is longer than 128 bytes".into()));
        }
        accord_protocol::check_name("collection", &m.collection).map_err(at)?;
        accord_protocol::check_name("id", &m.id).map_err(at)?;
        if m.base_version < 0 {
            return Err(at(format!("base_version {} is negative", m.base_version)));
        }
        match (&m.data, m.deleted) {
            (Some(serde_json::Value::Object(_)), false) | (None, true) => {}
            (Some(_), true) => return Err(at("a delete carries no data".into())),
            (None, false) => return Err(at("data is missing (or set deleted: true)".into())),
            (Some(_), false) => return Err(at("data must be a JSON object".into())),
        }
        if m.hlc.len() > 128 {
            return Err(at("hlc is longer than 128 bytes".into()));
        }
        // PostgreSQL text cannot hold NUL, and no clock reading has control characters.
        if m.hlc.chars().any(char::is_control) {
            return Err(at("hlc must not contain control characters".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn mutation(id: &str, outbox_seq: Option<i64>) -> Mutation {
        Mutation {
            mutation_id: id.into(),
            collection: "notes".into(),
            id: "n".into(),
            base_version: 0,
            data: Some(serde_json::json!({"a": 1})),
            deleted: false,
            hlc: String::new(),
            outbox_seq,
        }
    }

    #[test]
    fn a_batch_naming_its_device_must_number_every_mutation_at_or_above_answered_below() {
        let ok = MutationBatch {
            mutations: vec![mutation("m1", Some(5)), mutation("m2", Some(7))],
            device: Some("phone-1".into()),
            answered_below: Some(5),
        };
        validate_batch(&ok).unwrap();
        let mut below = ok.clone();
        below.answered_below = Some(6);
        assert!(
            matches!(validate_batch(&below), Err(StorageError::Invalid(e)) if e.contains("below answered_below"))
        );
        let mut unnumbered = ok.clone();
        unnumbered.mutations[1].outbox_seq = None;
        assert!(
            matches!(validate_batch(&unnumbered), Err(StorageError::Invalid(e)) if e.contains("outbox_seq is missing"))
        );
        let mut no_mark = ok.clone();
        no_mark.answered_below = None;
        assert!(validate_batch(&no_mark).is_err());
        let mut no_device = ok;
        no_device.device = None;
        assert!(
            matches!(validate_batch(&no_device), Err(StorageError::Invalid(e)) if e.contains("need the batch's device"))
        );
        validate_batch(&MutationBatch::new(vec![mutation("m3", None)])).unwrap();
    }

    #[test]
    fn a_resend_whose_id_was_forgotten_is_answered_from_the_record_or_marked() {
        let m = mutation("m1", Some(3));
        let mut current = RemoteRecord {
            collection: "notes".into(),
            id: "n".into(),
            version: 4,
            seq: 9,
            data: None,
            deleted: false,
            hlc: String::new(),
            mutation_id: "m1".into(),
        };
        assert!(matches!(
            moved_record_answer(&m, current.clone(), true),
            MutationResult::Applied {
                version: 4,
                seq: 9,
                ..
            }
        ));
        current.mutation_id = "other".into();
        assert!(maybe_forgotten(&m, Some(4)));
        assert!(
            !maybe_forgotten(&m, Some(3)),
            "its seq is at the mark: never forgotten"
        );
        assert!(!maybe_forgotten(&m, None));
        assert!(matches!(
            moved_record_answer(&m, current, maybe_forgotten(&m, Some(4))),
            MutationResult::Conflict {
                maybe_applied: true,
                ..
            }
        ));
    }
}
