//! The records and enums that cross the boundary, and their conversions from the
//! core's types. Record data travels as JSON text: one string per record is far
//! cheaper to cross than a tree of foreign objects.

use serde_json::Value;

use crate::error::{AccordError, Result};

/// A live record.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AccordRecord {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// The record's fields as a JSON object.
    pub json: String,
    /// True while local changes wait to be pushed.
    pub pending: bool,
    /// Server version it builds on (0: never synced).
    pub version: i64,
}

/// One record to write: an id and its fields as a JSON object.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RecordData {
    /// Record id (not empty).
    pub id: String,
    /// The fields as a JSON object.
    pub json: String,
}

/// A condition on a field (a top-level name or a dot-separated path), the value as
/// JSON (`"\"draft\""`, `"3"`, `"true"`; an array for `In`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FieldFilter {
    /// Field name or dot-separated path.
    pub field: String,
    /// The comparison.
    pub op: FilterOp,
    /// The value compared with, as JSON: a scalar, or an array of scalars for `In`,
    /// or a string for `Prefix`.
    pub json_value: String,
}

/// How a field is compared with a filter's value. Numbers compare as numbers, strings
/// byte by byte; a number never matches a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FilterOp {
    /// Equal (`null`: missing or null).
    Eq,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Equal to one of the array's values.
    In,
    /// A string starting with the value (case-sensitive).
    Prefix,
}

/// Which live records of a collection to read, and in what order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RecordQuery {
    /// Collection to read.
    pub collection: String,
    /// Every filter must hold.
    #[uniffi(default = [])]
    pub filters: Vec<FieldFilter>,
    /// Order by this field; by id when `null`.
    #[uniffi(default = None)]
    pub order_by: Option<String>,
    /// Reverse the order.
    #[uniffi(default = false)]
    pub descending: bool,
    /// Most rows to return; all when `null`.
    #[uniffi(default = None)]
    pub limit: Option<i32>,
    /// Rows to skip.
    #[uniffi(default = 0)]
    pub offset: i32,
}

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChangeOrigin {
    /// A write on this device.
    Local,
    /// A change pulled or merged from the server.
    Sync,
}

/// Records of one collection that changed, after the change was committed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChangeEvent {
    /// Collection.
    pub collection: String,
    /// Ids that changed.
    pub ids: Vec<String>,
    /// Where the change came from.
    pub origin: ChangeOrigin,
}

/// The step a running sync is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    /// Pulling and merging changes.
    Pull,
    /// Pushing the outbox.
    Push,
    /// Uploading the log report.
    Logs,
}

/// Progress of a running sync (for WorkManager's `setProgress`, a status line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgress {
    /// Current step.
    pub phase: SyncPhase,
    /// Changes pulled or mutations pushed so far in this step.
    pub done: i64,
    /// What `done` counts up to in this step, when known: the changes the server had
    /// to send when the pull began, the mutations queued when the push began. `null`
    /// while unknown (a server too old to count). Never below `done`.
    pub total: Option<i64>,
    /// Request bytes sent so far in this sync (compressed, as on the wire).
    pub bytes_sent: i64,
    /// Response bytes received so far in this sync (compressed, as on the wire).
    pub bytes_received: i64,
}

/// How a sync ended, in the terms WorkManager needs.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncOutcome {
    /// Everything was pulled and pushed (`Result.success()`).
    Done,
    /// A transient problem: run the sync again later (`Result.retry()`).
    Retry { reason: String },
    /// A problem retrying will not fix: token, grant, configuration (`Result.failure()`).
    Failure { reason: String },
    /// Interrupted between steps; nothing is half-done.
    Cancelled,
}

/// One merge made during a sync.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MergeNote {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Conflict log id (for `resolveConflict`).
    pub conflict_id: i64,
    /// `field`, `diff3`, `word-diff3`, `arbiter:<model>`, `fallback`, `delete-vs-edit` or
    /// `maybe-applied`.
    pub strategy: String,
    /// True when a person should review it.
    pub needs_review: bool,
    /// Per-field decisions, as JSON.
    pub fields_json: String,
}

/// A queued write held back because its stored data is damaged: kept in the outbox,
/// never sent. Writing the record again queues a healthy write that replaces it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
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

/// What a sync did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncReport {
    /// How it ended.
    pub outcome: SyncOutcome,
    /// Server changes received.
    pub pulled: i64,
    /// Server changes that changed a local record.
    pub applied: i64,
    /// Local mutations the server accepted.
    pub pushed: i64,
    /// Records both sides had changed, merged.
    pub merged: i64,
    /// Merges flagged for a person to review.
    pub conflicts: i64,
    /// Mutations still queued.
    pub pending: i64,
    /// Requests retried after transient failures.
    pub retries: i64,
    /// Request bytes sent (compressed).
    pub bytes_sent: i64,
    /// Response bytes received (compressed).
    pub bytes_received: i64,
    /// Wall time of the sync.
    pub elapsed_ms: i64,
    /// Each merge, as logged.
    pub merges: Vec<MergeNote>,
    /// Captured log lines summarised in the uploaded report.
    pub logs_uploaded: i64,
    /// Why the log report could not be uploaded (kept for the next sync).
    pub logs_error: Option<String>,
    /// Why the configured model could not be used: the merges that needed it kept both
    /// sides, flagged for review. Never changes the outcome.
    pub model_error: Option<String>,
    /// Queued writes held back because their stored data is damaged (tell the user).
    pub quarantined: Vec<QuarantinedWrite>,
}

/// A logged merge, with both sides kept so either can be restored.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Conflict {
    /// Log id.
    pub conflict_id: i64,
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Common ancestor, as JSON (`null`: none).
    pub base_json: Option<String>,
    /// This device's version, as JSON (`null`: deleted).
    pub local_json: Option<String>,
    /// The server's version, as JSON (`null`: deleted).
    pub remote_json: Option<String>,
    /// What the merge produced, as JSON.
    pub result_json: Option<String>,
    /// How it was decided.
    pub strategy: String,
    /// Per-field decisions, as JSON.
    pub fields_json: String,
    /// Arbiter score, when one was used.
    pub score: Option<f64>,
    /// True when a person should look.
    pub needs_review: bool,
    /// For a flagged merge: the record a person most likely wants, as JSON
    /// (`ConflictResolution.Suggested` writes it); `null` when the merge needs no review.
    pub suggested_json: Option<String>,
    /// Why the suggestion is what it is, in words (e.g. "both edits applied at their
    /// places"); `null` without a suggestion.
    pub suggestion: Option<String>,
    /// True once resolved.
    pub reviewed: bool,
    /// When it was logged, milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// How to settle a logged merge.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ConflictResolution {
    /// Keep what the merge produced.
    KeepMerged,
    /// Restore this device's version (a new local edit, so it syncs).
    UseLocal,
    /// Restore the server's version.
    UseRemote,
    /// Apply the merge's suggestion (`Conflict.suggestedJson`), keeping edits made since
    /// where they do not overlap it.
    Suggested,
    /// Write these fields (a JSON object) instead.
    Custom { json: String },
}

/// One captured log line.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogLine {
    /// `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR` or `FATAL`.
    pub level: String,
    /// Where it came from (Android's log tag).
    pub tag: String,
    /// The text.
    pub message: String,
}

/// Parses record fields given as JSON text.
pub(crate) fn parse_json(what: &str, json: &str) -> Result<Value> {
    serde_json::from_str(json)
        .map_err(|e| AccordError::invalid(format!("{what} is not valid JSON: {e}")))
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn json_text(v: Option<&Value>) -> Option<String> {
    v.map(Value::to_string)
}

/// Per-field merge decisions as the JSON the conflict log stores.
fn fields_json(fields: &[accord::merge::FieldOutcome]) -> String {
    // Serialising these plain enums and strings cannot fail; an empty list is the
    // harmless answer if it ever did.
    serde_json::to_string(fields).unwrap_or_else(|_| "[]".to_string())
}

impl From<accord::Record> for AccordRecord {
    fn from(r: accord::Record) -> Self {
        AccordRecord {
            collection: r.collection,
            id: r.id,
            json: r.data.to_string(),
            pending: r.pending,
            version: r.version,
        }
    }
}

impl TryFrom<RecordQuery> for accord::Query {
    type Error = AccordError;

    fn try_from(q: RecordQuery) -> Result<accord::Query> {
        let filters = q
            .filters
            .into_iter()
            .map(accord::Filter::try_from)
            .collect::<Result<Vec<_>>>()?;
        let limit = q
            .limit
            .map(|l| {
                u32::try_from(l)
                    .map_err(|_| AccordError::invalid(format!("limit must be 0 or more, got {l}")))
            })
            .transpose()?;
        let offset = u32::try_from(q.offset).map_err(|_| {
            AccordError::invalid(format!("offset must be 0 or more, got {}", q.offset))
        })?;
        Ok(accord::Query {
            collection: q.collection,
            filters,
            order_by: q.order_by,
            descending: q.descending,
            limit,
            offset,
        })
    }
}

impl TryFrom<FieldFilter> for accord::Filter {
    type Error = AccordError;

    fn try_from(f: FieldFilter) -> Result<accord::Filter> {
        use accord::FilterOp as Op;
        let v = parse_json(&format!("the filter value of '{}'", f.field), &f.json_value)?;
        let op = match f.op {
            FilterOp::Eq => Op::Eq(v),
            FilterOp::Lt => Op::Lt(v),
            FilterOp::Le => Op::Le(v),
            FilterOp::Gt => Op::Gt(v),
            FilterOp::Ge => Op::Ge(v),
            FilterOp::In => match v {
                Value::Array(values) => Op::In(values),
                other => {
                    return Err(AccordError::invalid(format!(
                        "the IN filter on '{}' needs a JSON array, got {other}",
                        f.field
                    )))
                }
            },
            FilterOp::Prefix => match v {
                Value::String(p) => Op::Prefix(p),
                other => {
                    return Err(AccordError::invalid(format!(
                        "the prefix filter on '{}' needs a JSON string, got {other}",
                        f.field
                    )))
                }
            },
        };
        Ok(accord::Filter { field: f.field, op })
    }
}

impl From<&accord::ChangeEvent> for ChangeEvent {
    fn from(e: &accord::ChangeEvent) -> Self {
        ChangeEvent {
            collection: e.collection.clone(),
            ids: e.ids.clone(),
            origin: match e.origin {
                accord::ChangeOrigin::Local => ChangeOrigin::Local,
                accord::ChangeOrigin::Sync => ChangeOrigin::Sync,
            },
        }
    }
}

impl From<&accord::sync::SyncProgress> for SyncProgress {
    fn from(p: &accord::sync::SyncProgress) -> Self {
        SyncProgress {
            phase: match p.phase {
                accord::sync::SyncPhase::Pull => SyncPhase::Pull,
                accord::sync::SyncPhase::Push => SyncPhase::Push,
                accord::sync::SyncPhase::Logs => SyncPhase::Logs,
            },
            done: count(p.done),
            total: p.total.map(count),
            bytes_sent: count(p.bytes_sent),
            bytes_received: count(p.bytes_received),
        }
    }
}

impl From<accord::SyncReport> for SyncReport {
    fn from(r: accord::SyncReport) -> Self {
        SyncReport {
            outcome: match r.outcome {
                accord::SyncOutcome::Done => SyncOutcome::Done,
                accord::SyncOutcome::Retry { reason } => SyncOutcome::Retry { reason },
                accord::SyncOutcome::Failure { reason } => SyncOutcome::Failure { reason },
                accord::SyncOutcome::Cancelled => SyncOutcome::Cancelled,
            },
            pulled: count(r.pulled),
            applied: count(r.applied),
            pushed: count(r.pushed),
            merged: count(r.merged),
            conflicts: count(r.conflicts),
            pending: count(r.pending),
            retries: i64::from(r.retries),
            bytes_sent: count(r.bytes_sent),
            bytes_received: count(r.bytes_received),
            elapsed_ms: count(r.elapsed_ms),
            merges: r
                .merges
                .into_iter()
                .map(|m| MergeNote {
                    collection: m.collection,
                    id: m.id,
                    conflict_id: m.conflict_id,
                    strategy: m.strategy.to_string(),
                    needs_review: m.needs_review,
                    fields_json: fields_json(&m.fields),
                })
                .collect(),
            logs_uploaded: count(r.logs_uploaded),
            logs_error: r.logs_error,
            model_error: r.model_error,
            quarantined: r
                .quarantined
                .into_iter()
                .map(|q| QuarantinedWrite {
                    collection: q.collection,
                    id: q.id,
                    mutation_id: q.mutation_id,
                    reason: q.reason,
                })
                .collect(),
        }
    }
}

impl From<accord::ConflictEntry> for Conflict {
    fn from(c: accord::ConflictEntry) -> Self {
        Conflict {
            conflict_id: c.conflict_id,
            collection: c.collection,
            id: c.id,
            base_json: json_text(c.base.as_ref()),
            local_json: json_text(c.local.as_ref()),
            remote_json: json_text(c.remote.as_ref()),
            result_json: json_text(c.result.as_ref()),
            strategy: c.strategy.to_string(),
            fields_json: fields_json(&c.fields),
            score: c.score,
            needs_review: c.needs_review,
            suggested_json: json_text(c.suggested.as_ref()),
            suggestion: c
                .fields
                .iter()
                .find_map(|f| f.suggestion.as_ref().map(|r| r.to_string())),
            reviewed: c.reviewed,
            created_ms: c.created_ms,
        }
    }
}

impl TryFrom<ConflictResolution> for accord::ConflictResolution {
    type Error = AccordError;

    fn try_from(r: ConflictResolution) -> Result<accord::ConflictResolution> {
        Ok(match r {
            ConflictResolution::KeepMerged => accord::ConflictResolution::KeepMerged,
            ConflictResolution::UseLocal => accord::ConflictResolution::UseLocal,
            ConflictResolution::UseRemote => accord::ConflictResolution::UseRemote,
            ConflictResolution::Suggested => accord::ConflictResolution::Suggested,
            ConflictResolution::Custom { json } => {
                accord::ConflictResolution::Custom(parse_json("the custom resolution", &json)?)
            }
        })
    }
}
