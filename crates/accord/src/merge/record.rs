//! Record-level merge: field by field under the collection's policies.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Number, Value};

use super::arbiter::Arbiter;
use super::decision::{FieldOutcome, Side, Step, Strategy};
use super::policy::{CollectionSchema, FieldPolicy};
use super::text::merge_text;
use crate::hlc::compare_hlc_str;

/// What the merge needs besides the three versions.
#[derive(Clone, Copy)]
pub struct MergeContext<'a> {
    /// Clock of the local write.
    pub local_hlc: &'a str,
    /// Clock of the remote write.
    pub remote_hlc: &'a str,
    /// Decides text hunks that diff3 cannot; `None` keeps both sides instead.
    pub arbiter: Option<&'a dyn Arbiter>,
}

impl fmt::Debug for MergeContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MergeContext")
            .field("local_hlc", &self.local_hlc)
            .field("remote_hlc", &self.remote_hlc)
            .field("arbiter", &self.arbiter.map(|a| a.name()))
            .finish()
    }
}

/// The result of merging a record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordMerge {
    /// The merged record.
    pub value: Value,
    /// One entry per field either side changed.
    pub fields: Vec<FieldOutcome>,
    /// The strongest step any field needed; `None` when the merge was trivial (the
    /// result is simply one side's record).
    pub strategy: Option<Strategy>,
    /// True when any field kept both sides or otherwise needs a person.
    pub needs_review: bool,
    /// When flagged: the record a person most likely wants, each flagged text field
    /// replaced by its suggestion (see [`FieldOutcome::suggestion`] for why). `value`
    /// keeps both sides; an app applies this one in one call.
    pub suggested: Option<Value>,
}

/// Merges a record changed on both sides.
///
/// `base` is the last version both sides shared (`None` when both created the record
/// independently). Fields changed on one side only take that side; fields changed on both
/// are decided by the collection's policy. The result never loses a field that either
/// side set unless the other side deliberately changed the same field (and the policy
/// says it wins).
pub fn merge_record(
    schema: &CollectionSchema,
    base: Option<&Value>,
    local: &Value,
    remote: &Value,
    ctx: &MergeContext<'_>,
) -> RecordMerge {
    let mut fields = Vec::new();
    let (value, suggested) = match (local, remote) {
        (Value::Object(l), Value::Object(r)) => {
            let empty = Map::new();
            let b = base.and_then(Value::as_object).unwrap_or(&empty);
            let (v, s) = merge_object(Some(schema), "", b, l, r, ctx, &mut fields);
            (Value::Object(v), Value::Object(s))
        }
        _ => {
            // Not objects (should not happen for records): treat as one lww field.
            let out = merge_field(FieldPolicy::Lww, "", base, Some(local), Some(remote), ctx);
            fields.push(out.outcome);
            let v = out.value.unwrap_or(Value::Null);
            (v.clone(), v)
        }
    };
    let strategy = if value == *local || value == *remote {
        None
    } else {
        fields
            .iter()
            .filter_map(|f| f.step.strategy())
            .max()
            .or(Some(Strategy::Field))
    };
    let needs_review = fields.iter().any(|f| f.needs_review);
    RecordMerge {
        value,
        fields,
        strategy,
        needs_review,
        suggested: needs_review.then_some(suggested),
    }
}

/// Merges an object key by key; returns the merged object and the same object with each
/// flagged field's suggestion in its place.
fn merge_object(
    schema: Option<&CollectionSchema>,
    prefix: &str,
    base: &Map<String, Value>,
    local: &Map<String, Value>,
    remote: &Map<String, Value>,
    ctx: &MergeContext<'_>,
    fields: &mut Vec<FieldOutcome>,
) -> (Map<String, Value>, Map<String, Value>) {
    let default_schema = CollectionSchema::new();
    let schema = schema.unwrap_or(&default_schema);
    let mut keys: Vec<&String> = local
        .keys()
        .chain(remote.keys())
        .chain(base.keys())
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    let mut suggested = Map::new();
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let (b, l, r) = (base.get(key), local.get(key), remote.get(key));
        let policy = match schema.policy_for(key) {
            // Undeclared object fields merge key by key rather than as one lww value.
            FieldPolicy::Lww
                if !schema.fields.contains_key(key)
                    && l.is_some_and(Value::is_object)
                    && r.is_some_and(Value::is_object) =>
            {
                FieldPolicy::Json
            }
            p => p,
        };
        let merged = if policy == FieldPolicy::Json && changed_on_both(b, l, r) {
            match (l, r) {
                (Some(Value::Object(lo)), Some(Value::Object(ro))) => {
                    let empty = Map::new();
                    let bo = b.and_then(Value::as_object).unwrap_or(&empty);
                    let before = fields.len();
                    let (v, s) = merge_object(None, &path, bo, lo, ro, ctx, fields);
                    let review = fields[before..].iter().any(|f| f.needs_review);
                    fields.push(FieldOutcome {
                        field: path.clone(),
                        policy: Some(policy),
                        step: Step::Json,
                        needs_review: review,
                        suggestion: None,
                    });
                    FieldMerge {
                        value: Some(Value::Object(v)),
                        suggested: Some(Value::Object(s)),
                        outcome: None,
                    }
                }
                _ => {
                    let mut o = merge_field(FieldPolicy::Lww, &path, b, l, r, ctx);
                    o.outcome.policy = Some(policy);
                    FieldMerge {
                        suggested: o.value.clone(),
                        value: o.value,
                        outcome: Some(o.outcome),
                    }
                }
            }
        } else {
            let o = merge_field(policy, &path, b, l, r, ctx);
            let keep = o.outcome.step != Step::Equal;
            FieldMerge {
                suggested: o.suggested.or_else(|| o.value.clone()),
                value: o.value,
                outcome: keep.then_some(o.outcome),
            }
        };
        fields.extend(merged.outcome);
        if let Some(v) = merged.value {
            out.insert(key.clone(), v);
        }
        if let Some(v) = merged.suggested {
            suggested.insert(key.clone(), v);
        }
    }
    (out, suggested)
}

/// One key of an object, merged.
struct FieldMerge {
    value: Option<Value>,
    suggested: Option<Value>,
    outcome: Option<FieldOutcome>,
}

fn changed_on_both(b: Option<&Value>, l: Option<&Value>, r: Option<&Value>) -> bool {
    l != r && l != b && r != b
}

/// One field merged under its policy.
struct PolicyMerge {
    value: Option<Value>,
    /// The suggested value when the merge is flagged and differs from `value`.
    suggested: Option<Value>,
    outcome: FieldOutcome,
}

fn merge_field(
    policy: FieldPolicy,
    path: &str,
    b: Option<&Value>,
    l: Option<&Value>,
    r: Option<&Value>,
    ctx: &MergeContext<'_>,
) -> PolicyMerge {
    let done = |value: Option<&Value>, step: Step| PolicyMerge {
        value: value.cloned(),
        suggested: None,
        outcome: FieldOutcome {
            field: path.to_string(),
            policy: Some(policy),
            step,
            needs_review: false,
            suggestion: None,
        },
    };
    if l == r {
        return done(l, Step::Equal);
    }
    if l == b {
        return done(r, Step::TookRemote);
    }
    if r == b {
        return done(l, Step::TookLocal);
    }
    match (policy, l, r) {
        (FieldPolicy::Text, Some(Value::String(ls)), Some(Value::String(rs))) => {
            let bs = b.and_then(Value::as_str).unwrap_or("");
            let m = merge_text(bs, ls, rs, ctx.arbiter);
            // The field's suggestion reason: its first flagged hunk's.
            let reason = m
                .hunks
                .iter()
                .find_map(|h| h.suggestion.as_ref().map(|s| s.reason.clone()));
            let suggested = m.suggested().map(Value::String);
            PolicyMerge {
                outcome: FieldOutcome {
                    field: path.to_string(),
                    policy: Some(policy),
                    step: m.step,
                    needs_review: m.needs_review,
                    suggestion: reason,
                },
                value: Some(Value::String(m.text)),
                suggested,
            }
        }
        (FieldPolicy::Counter, Some(Value::Number(ln)), Some(Value::Number(rn))) => {
            let bn = b.and_then(Value::as_number);
            done(Some(&add_counter(bn, ln, rn)), Step::Counter)
        }
        (FieldPolicy::Set, Some(Value::Array(la)), Some(Value::Array(ra))) => {
            let empty = Vec::new();
            let ba = b.and_then(Value::as_array).unwrap_or(&empty);
            done(Some(&Value::Array(merge_set(ba, la, ra))), Step::Set)
        }
        _ => {
            // lww, or a field whose values do not fit its policy (e.g. a text field one
            // side removed): the later write wins.
            let local_wins = match compare_hlc_str(ctx.local_hlc, ctx.remote_hlc) {
                Ordering::Greater => true,
                Ordering::Less => false,
                // Same clock: order by value so both devices pick the same side.
                Ordering::Equal => canonical(l) > canonical(r),
            };
            let (value, winner) = if local_wins {
                (l, Side::Local)
            } else {
                (r, Side::Remote)
            };
            done(value, Step::Lww { winner })
        }
    }
}

fn canonical(v: Option<&Value>) -> String {
    v.map(Value::to_string).unwrap_or_default()
}

/// `local + remote - base`, in integers when all three are integers and it fits.
fn add_counter(base: Option<&Number>, local: &Number, remote: &Number) -> Value {
    let bi = base.map_or(Some(0), Number::as_i64);
    if let (Some(b), Some(l), Some(r)) = (bi, local.as_i64(), remote.as_i64()) {
        if let Some(sum) = l.checked_add(r).and_then(|s| s.checked_sub(b)) {
            return Value::from(sum);
        }
    }
    let bf = base.and_then(Number::as_f64).unwrap_or(0.0);
    let sum = local.as_f64().unwrap_or(0.0) + remote.as_f64().unwrap_or(0.0) - bf;
    Number::from_f64(sum).map_or(Value::Null, Value::Number)
}

/// Local order, minus what the other side removed, plus what the other side added.
fn merge_set(base: &[Value], local: &[Value], remote: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in local {
        let removed_remotely = base.contains(v) && !remote.contains(v);
        if !removed_remotely && !out.contains(v) {
            out.push(v.clone());
        }
    }
    for v in remote {
        if !base.contains(v) && !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx<'a>(local_hlc: &'a str, remote_hlc: &'a str) -> MergeContext<'a> {
        MergeContext {
            local_hlc,
            remote_hlc,
            arbiter: None,
        }
    }

    const EARLY: &str = "000000000000001-00000-a";
    const LATE: &str = "000000000000002-00000-b";

    #[test]
    fn disjoint_field_edits_both_survive() {
        let base = json!({"title": "t", "done": false});
        let local = json!({"title": "t2", "done": false});
        let remote = json!({"title": "t", "done": true});
        let m = merge_record(
            &CollectionSchema::new(),
            Some(&base),
            &local,
            &remote,
            &ctx(EARLY, LATE),
        );
        assert_eq!(m.value, json!({"title": "t2", "done": true}));
        assert_eq!(m.strategy, Some(Strategy::Field));
        assert!(!m.needs_review);
    }

    #[test]
    fn lww_field_goes_to_the_later_clock() {
        let base = json!({"title": "a"});
        let local = json!({"title": "local"});
        let remote = json!({"title": "remote"});
        let schema = CollectionSchema::new();
        let m = merge_record(&schema, Some(&base), &local, &remote, &ctx(EARLY, LATE));
        assert_eq!(m.value["title"], "remote");
        let m = merge_record(&schema, Some(&base), &local, &remote, &ctx(LATE, EARLY));
        assert_eq!(m.value["title"], "local");
    }

    #[test]
    fn counter_deltas_add_up() {
        let schema = CollectionSchema::new().with("likes", FieldPolicy::Counter);
        let m = merge_record(
            &schema,
            Some(&json!({"likes": 10})),
            &json!({"likes": 12}),
            &json!({"likes": 15}),
            &ctx(EARLY, LATE),
        );
        assert_eq!(m.value["likes"], 17);
    }

    #[test]
    fn set_keeps_both_additions_and_applies_removals() {
        let schema = CollectionSchema::new().with("tags", FieldPolicy::Set);
        let m = merge_record(
            &schema,
            Some(&json!({"tags": ["a", "b", "c"]})),
            &json!({"tags": ["a", "b", "c", "local"]}),
            &json!({"tags": ["a", "c", "remote"]}),
            &ctx(EARLY, LATE),
        );
        assert_eq!(m.value["tags"], json!(["a", "c", "local", "remote"]));
    }

    #[test]
    fn nested_objects_merge_key_by_key() {
        let base = json!({"meta": {"color": "red", "size": 1}});
        let local = json!({"meta": {"color": "blue", "size": 1}});
        let remote = json!({"meta": {"color": "red", "size": 2}});
        let m = merge_record(
            &CollectionSchema::new(),
            Some(&base),
            &local,
            &remote,
            &ctx(EARLY, LATE),
        );
        assert_eq!(m.value, json!({"meta": {"color": "blue", "size": 2}}));
    }

    #[test]
    fn one_sided_change_is_trivial() {
        let base = json!({"title": "a", "body": "x"});
        let local = json!({"title": "a", "body": "x"});
        let remote = json!({"title": "b", "body": "x"});
        let m = merge_record(
            &CollectionSchema::new(),
            Some(&base),
            &local,
            &remote,
            &ctx(EARLY, LATE),
        );
        assert_eq!(m.value, remote);
        assert_eq!(m.strategy, None);
    }

    #[test]
    fn field_removed_on_one_side_and_kept_unchanged_on_the_other_is_removed() {
        let base = json!({"title": "a", "color": "red"});
        let local = json!({"title": "a"});
        let remote = json!({"title": "b", "color": "red"});
        let m = merge_record(
            &CollectionSchema::new(),
            Some(&base),
            &local,
            &remote,
            &ctx(EARLY, LATE),
        );
        assert_eq!(m.value, json!({"title": "b"}));
    }
}
