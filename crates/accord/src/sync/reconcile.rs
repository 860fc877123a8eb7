//! How one server version of a record meets the local copy.
//!
//! [`decide`] is pure: given the local record (and the outbox row whose mutation id the
//! server reports, if any) it says what to do. [`apply`] writes that decision in the
//! caller's transaction. The merge is computed in `decide`, outside the write lock, since
//! the arbiter may take a while; the caller re-decides inside the lock if the user wrote
//! to the record in between.

use serde_json::Value;

use crate::error::Result;
use crate::merge::{
    merge_record, Arbiter, CollectionSchema, FieldOutcome, MergeContext, RecordMerge, Side, Step,
    Strategy, SuggestionReason,
};
use crate::store::{ConflictEntry, LocalRecord, Meta, NewConflict, OutboxRow};
use accord_protocol::RemoteRecord;

/// What to do with a server version of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// We already hold this version or a later one.
    Skip,
    /// No local changes: take the server's version as it is.
    Adopt,
    /// The server's version is our own queued write (its answer was lost): acknowledge it.
    Echo(OutboxRow),
    /// Both sides changed the record; `merge` is the result.
    Merge(RecordMerge),
    /// The server deleted it, we edited it: keep the edit and send it again.
    KeepLocalEdit,
    /// We deleted it, the server's copy was edited: keep the edit.
    KeepRemoteEdit,
}

/// Decides how `remote` meets `local`. `echo` is the outbox row whose mutation id equals
/// `remote.mutation_id`, if there is one.
///
/// Invariant: a local change is never dropped silently. It is either already on the
/// server (echo), merged into the result, or kept over a delete; every case where one
/// side's change does not survive as-is is written to the conflict log by [`apply`].
pub fn decide(
    schema: &CollectionSchema,
    local: Option<&LocalRecord>,
    remote: &RemoteRecord,
    echo: Option<OutboxRow>,
    arbiter: Option<&dyn Arbiter>,
) -> Decision {
    let Some(local) = local else {
        return Decision::Adopt;
    };
    if let Some(row) = echo {
        if row.collection == remote.collection && row.id == remote.id {
            return Decision::Echo(row);
        }
    }
    if remote.version <= local.version {
        return Decision::Skip;
    }
    if !local.dirty {
        return Decision::Adopt;
    }
    match (local.deleted, remote.deleted) {
        (true, true) => Decision::Adopt,
        (false, true) => Decision::KeepLocalEdit,
        (true, false) => Decision::KeepRemoteEdit,
        (false, false) => {
            let empty = Value::Object(Default::default());
            let local_data = local.data.as_ref().unwrap_or(&empty);
            let remote_data = remote.data.as_ref().unwrap_or(&empty);
            let ctx = MergeContext {
                local_hlc: &local.hlc,
                remote_hlc: &remote.hlc,
                arbiter,
            };
            Decision::Merge(merge_record(
                schema,
                local.base.as_ref(),
                local_data,
                remote_data,
                &ctx,
            ))
        }
    }
}

/// What applying a decision did, for the sync report.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The local copy changed (observers should hear of it).
    pub changed: bool,
    /// The merge written to the conflict log, if one was.
    pub logged: Option<LoggedMerge>,
}

/// A merge as written to the conflict log.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedMerge {
    /// Its conflict log id.
    pub conflict_id: i64,
    /// The strongest step it needed.
    pub strategy: Strategy,
    /// True when a person should review it.
    pub needs_review: bool,
    /// Per-field decisions.
    pub fields: Vec<FieldOutcome>,
}

/// The whole-record outcome of a delete on one side against an edit on the other.
fn kept_edit(edited: Side) -> Vec<FieldOutcome> {
    vec![FieldOutcome {
        field: "*".to_string(),
        policy: None,
        step: Step::KeptEditOverDelete { edited },
        needs_review: true,
        suggestion: Some(SuggestionReason::KeepEdit),
    }]
}

/// Writes `decision` into the store (inside the caller's transaction). The caller has
/// moved the clock past `remote.hlc` first, so merged writes order after what they merge.
pub fn apply(
    conn: &rusqlite::Connection,
    device: &str,
    local: Option<&LocalRecord>,
    remote: &RemoteRecord,
    decision: Decision,
) -> Result<Applied> {
    let mut out = Applied {
        changed: false,
        logged: None,
    };
    match decision {
        Decision::Skip => {}
        Decision::Adopt => {
            crate::store::adopt_remote(conn, remote)?;
            out.changed =
                local.is_none_or(|l| l.data != remote.data || l.deleted != remote.deleted);
        }
        Decision::Echo(row) => {
            let remaining = crate::store::acknowledge_row(conn, &row, remote.version)?;
            if !remaining {
                // Our write is the server's state: take it exactly (server may have
                // normalised nothing, but the version and base must match).
                crate::store::adopt_remote(conn, remote)?;
            }
        }
        Decision::KeepLocalEdit => {
            let empty = Value::Object(Default::default());
            let data = local.and_then(|l| l.data.clone()).unwrap_or(empty);
            let hlc = Meta::tick(conn, device)?.to_string();
            crate::store::keep_local_over(conn, remote, &data, &hlc)?;
            let logged = LogInput {
                base: local.and_then(|l| l.base.as_ref()),
                local: Some(&data),
                remote: None,
                result: Some(&data),
                strategy: Strategy::DeleteVsEdit,
                fields: kept_edit(Side::Local),
                score: None,
                needs_review: true,
                // Keeping the edit is what a person most likely wants, too.
                suggested: Some(&data),
            };
            out.logged = Some(log(conn, remote, logged)?);
        }
        Decision::KeepRemoteEdit => {
            crate::store::adopt_remote(conn, remote)?;
            out.changed = true;
            let logged = LogInput {
                base: local.and_then(|l| l.base.as_ref()),
                local: None,
                remote: remote.data.as_ref(),
                result: remote.data.as_ref(),
                strategy: Strategy::DeleteVsEdit,
                fields: kept_edit(Side::Remote),
                score: None,
                needs_review: true,
                suggested: remote.data.as_ref(),
            };
            out.logged = Some(log(conn, remote, logged)?);
        }
        Decision::Merge(m) => {
            if Some(&m.value) == remote.data.as_ref() {
                crate::store::adopt_remote(conn, remote)?;
            } else {
                let hlc = Meta::tick(conn, device)?.to_string();
                crate::store::keep_local_over(conn, remote, &m.value, &hlc)?;
            }
            out.changed = local.and_then(|l| l.data.as_ref()) != Some(&m.value);
            if let Some(strategy) = logged_strategy(&m) {
                let score = m.fields.iter().find_map(|f| match &f.step {
                    Step::Arbiter { score, .. } => *score,
                    _ => None,
                });
                let logged = LogInput {
                    base: local.and_then(|l| l.base.as_ref()),
                    local: local.and_then(|l| l.data.as_ref()),
                    remote: remote.data.as_ref(),
                    result: Some(&m.value),
                    strategy,
                    fields: m.fields.clone(),
                    score,
                    needs_review: m.needs_review,
                    suggested: m.suggested.as_ref(),
                };
                out.logged = Some(log(conn, remote, logged)?);
            }
        }
    }
    Ok(out)
}

/// Logs a write of ours that the server may already hold: it answered our resend with a
/// conflict marked `maybe_applied` (it forgot the write's id, the device having been
/// silent for longer than it keeps ids, and the record changed since). Merging the write
/// in again could count it twice (a `counter` adds deltas) and dropping it could lose it,
/// so the caller takes the write as applied and the server's copy as the record; this
/// entry keeps the write (`local`) beside the server's copy, flagged for review, with the
/// write itself as the suggestion should it turn out missing.
pub fn log_maybe_applied(
    conn: &rusqlite::Connection,
    remote: &RemoteRecord,
    sent: &OutboxRow,
    base: Option<&Value>,
) -> Result<LoggedMerge> {
    let sent_data = match (&sent.data, sent.deleted) {
        (Some(text), false) => Some(serde_json::from_str::<Value>(text)?),
        _ => None,
    };
    log(
        conn,
        remote,
        LogInput {
            base,
            local: sent_data.as_ref(),
            remote: remote.data.as_ref(),
            result: remote.data.as_ref(),
            strategy: Strategy::MaybeApplied,
            fields: vec![FieldOutcome {
                field: "*".to_string(),
                policy: None,
                step: Step::KeptRemoteMayHoldLocal,
                needs_review: true,
                suggestion: None,
            }],
            score: None,
            needs_review: true,
            suggested: sent_data.as_ref(),
        },
    )
}

/// The strategy a merge is logged under, or `None` when nothing was decided.
///
/// Invariant: a merge that discarded a concurrent write of either side is logged, even
/// when its result equals one side's record (say local won the only field both changed,
/// by last-writer-wins): the losing side was an acknowledged write on another device,
/// and the conflict log is the only place it can still be found and restored. Only a
/// merge in which every field was equal or changed on one side only goes unlogged.
fn logged_strategy(m: &RecordMerge) -> Option<crate::merge::Strategy> {
    m.strategy
        .clone()
        .or_else(|| m.fields.iter().filter_map(|f| f.step.strategy()).max())
}

/// What one conflict-log entry records.
struct LogInput<'a> {
    base: Option<&'a Value>,
    local: Option<&'a Value>,
    remote: Option<&'a Value>,
    result: Option<&'a Value>,
    strategy: Strategy,
    fields: Vec<FieldOutcome>,
    score: Option<f64>,
    needs_review: bool,
    suggested: Option<&'a Value>,
}

fn log(conn: &rusqlite::Connection, remote: &RemoteRecord, i: LogInput<'_>) -> Result<LoggedMerge> {
    let conflict_id = ConflictEntry::insert(
        conn,
        &NewConflict {
            collection: &remote.collection,
            id: &remote.id,
            base: i.base,
            local: i.local,
            remote: i.remote,
            result: i.result,
            strategy: &i.strategy,
            fields: &i.fields,
            score: i.score,
            needs_review: i.needs_review,
            suggested: i.suggested,
        },
    )?;
    Ok(LoggedMerge {
        conflict_id,
        strategy: i.strategy,
        needs_review: i.needs_review,
        fields: i.fields,
    })
}
