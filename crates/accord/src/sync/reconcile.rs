//! How one server version of a record meets the local copy.
//!
//! [`decide`] is pure: given the local record (and the outbox row whose mutation id the
//! server reports, if any) it says what to do. [`apply`] writes that decision in the
//! caller's transaction. The merge is computed in `decide`, outside the write lock, since
//! the arbiter may take a while; the caller re-decides inside the lock if the user wrote
//! to the record in between.

use serde_json::{json, Value};

use crate::error::Result;
use crate::merge::{merge_record, Arbiter, CollectionSchema, MergeContext, RecordMerge, Step};
use crate::store::{ConflictEntry, LocalRecord, Meta, NewConflict, OutboxRow};
use accord_protocol::RemoteRecord;

/// Strategy recorded for a delete on one side against an edit on the other.
pub const DELETE_VS_EDIT: &str = "delete-vs-edit";

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
    /// A merge was logged: its conflict id, strategy and whether it needs review.
    pub logged: Option<(i64, String, bool)>,
    /// Per-field decisions of a merge.
    pub fields: Value,
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
        fields: Value::Null,
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
            let fields = json!([{"field": "*", "step": "kept_local_edit_over_remote_delete", "needs_review": true}]);
            let empty = Value::Object(Default::default());
            let data = local.and_then(|l| l.data.clone()).unwrap_or(empty);
            let hlc = Meta::tick(conn, device)?.to_string();
            crate::store::keep_local_over(conn, remote, &data, &hlc)?;
            let id = log(
                conn,
                remote,
                local.and_then(|l| l.base.as_ref()),
                Some(&data),
                None,
                Some(&data),
                DELETE_VS_EDIT,
                fields.clone(),
                None,
            )?;
            out.fields = fields;
            out.logged = Some((id, DELETE_VS_EDIT.to_string(), true));
        }
        Decision::KeepRemoteEdit => {
            let fields = json!([{"field": "*", "step": "kept_remote_edit_over_local_delete", "needs_review": true}]);
            crate::store::adopt_remote(conn, remote)?;
            out.changed = true;
            let id = log(
                conn,
                remote,
                local.and_then(|l| l.base.as_ref()),
                None,
                remote.data.as_ref(),
                remote.data.as_ref(),
                DELETE_VS_EDIT,
                fields.clone(),
                None,
            )?;
            out.fields = fields;
            out.logged = Some((id, DELETE_VS_EDIT.to_string(), true));
        }
        Decision::Merge(m) => {
            let fields = serde_json::to_value(&m.fields)?;
            if Some(&m.value) == remote.data.as_ref() {
                crate::store::adopt_remote(conn, remote)?;
            } else {
                let hlc = Meta::tick(conn, device)?.to_string();
                crate::store::keep_local_over(conn, remote, &m.value, &hlc)?;
            }
            out.changed = local.and_then(|l| l.data.as_ref()) != Some(&m.value);
            if let Some(strategy) = &logged_strategy(&m) {
                let score = m.fields.iter().find_map(|f| match &f.step {
                    Step::Arbiter { score, .. } => *score,
                    _ => None,
                });
                let id = log(
                    conn,
                    remote,
                    local.and_then(|l| l.base.as_ref()),
                    local.and_then(|l| l.data.as_ref()),
                    remote.data.as_ref(),
                    Some(&m.value),
                    &strategy.to_string(),
                    fields.clone(),
                    score,
                )?;
                out.logged = Some((id, strategy.to_string(), m.needs_review));
            }
            out.fields = fields;
        }
    }
    Ok(out)
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

#[allow(clippy::too_many_arguments)]
fn log(
    conn: &rusqlite::Connection,
    remote: &RemoteRecord,
    base: Option<&Value>,
    local: Option<&Value>,
    remote_data: Option<&Value>,
    result: Option<&Value>,
    strategy: &str,
    fields: Value,
    score: Option<f64>,
) -> Result<i64> {
    let needs_review = strategy == DELETE_VS_EDIT
        || strategy == "fallback"
        || fields
            .as_array()
            .is_some_and(|a| a.iter().any(|f| f["needs_review"] == json!(true)));
    ConflictEntry::insert(
        conn,
        &NewConflict {
            collection: &remote.collection,
            id: &remote.id,
            base,
            local,
            remote: remote_data,
            result,
            strategy,
            fields,
            score,
            needs_review,
        },
    )
}
