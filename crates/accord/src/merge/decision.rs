//! What a merge decided, as data: the step that decided each field or hunk, the strategy a
//! record merge is logged under, and the suggestion made for a flagged merge. These are
//! the types the conflict log stores (as JSON, turned so once, in the store) and an app
//! shows; every merge step imports them from here.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::policy::FieldPolicy;

/// Which device's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// This device.
    Local,
    /// The other device (the server's version).
    Remote,
}

impl Side {
    /// `local` or `remote`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Local => "local",
            Side::Remote => "remote",
        }
    }
}

/// How one field (or one text hunk) was decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Both sides hold the same value.
    Equal,
    /// Only this device changed it.
    TookLocal,
    /// Only the other device changed it.
    TookRemote,
    /// Both changed it; the later write by hybrid logical clock won.
    Lww {
        /// The side whose write won.
        winner: Side,
    },
    /// Both changed a counter; the changes were added.
    Counter,
    /// Both changed a set; additions and removals of both were applied.
    Set,
    /// Both changed an object; its keys were merged one by one.
    Json,
    /// Both changed the text in different lines; line diff3 merged it.
    LineDiff3,
    /// Both changed the same lines, in different words with an unchanged word or line
    /// break between each pair: each side's word edits were applied at their place.
    WordDiff3,
    /// The arbiter decided the overlapping hunks.
    Arbiter {
        /// Model name (`structural` when no model was asked).
        model: String,
        /// Which candidate or method won, and why.
        detail: String,
        /// Its score, when scored.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        score: Option<f64>,
    },
    /// The edits overlap and nothing decided them: both sides are kept, local first.
    KeepBoth,
    /// One side deleted the record and the other edited it: the edit was kept.
    KeptEditOverDelete {
        /// The side whose edit was kept.
        edited: Side,
    },
    /// The server may already hold this device's write under later ones (it applied it,
    /// forgot its id after the device was silent for longer than it keeps ids, and the
    /// record changed since): its copy was taken as it is, this device's kept in the log.
    KeptRemoteMayHoldLocal,
}

impl Step {
    /// The conflict-log strategy this step belongs to; `None` for steps where no
    /// merging happened (one side or both equal).
    pub fn strategy(&self) -> Option<Strategy> {
        match self {
            Step::Equal | Step::TookLocal | Step::TookRemote => None,
            Step::Lww { .. } | Step::Counter | Step::Set | Step::Json => Some(Strategy::Field),
            Step::LineDiff3 => Some(Strategy::Diff3),
            Step::WordDiff3 => Some(Strategy::WordDiff3),
            Step::Arbiter { model, .. } => Some(Strategy::Arbiter(model.clone())),
            Step::KeepBoth => Some(Strategy::Fallback),
            Step::KeptEditOverDelete { .. } => Some(Strategy::DeleteVsEdit),
            Step::KeptRemoteMayHoldLocal => Some(Strategy::MaybeApplied),
        }
    }

    /// How strong a text step is: a record's or field's step is its strongest hunk's.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Step::KeepBoth => 3,
            Step::Arbiter { .. } => 2,
            Step::WordDiff3 => 1,
            _ => 0,
        }
    }
}

/// The strongest step a record merge needed, as written to the conflict log. Ordered
/// from the mildest to the strongest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    /// Fields were combined by policy (disjoint edits, lww, counter, set, json).
    Field,
    /// A text field needed line diff3.
    Diff3,
    /// A text field needed word diff3 inside lines both sides changed.
    WordDiff3,
    /// A text hunk was decided by the arbiter with this model.
    Arbiter(String),
    /// A text hunk kept both sides for review.
    Fallback,
    /// A delete on one side met an edit on the other; the edit was kept.
    DeleteVsEdit,
    /// The server could not say whether it had applied a resent write of this device
    /// (see [`Step::KeptRemoteMayHoldLocal`]); its copy was kept.
    MaybeApplied,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Field => f.write_str("field"),
            Strategy::Diff3 => f.write_str("diff3"),
            Strategy::WordDiff3 => f.write_str("word-diff3"),
            Strategy::Arbiter(model) => write!(f, "arbiter:{model}"),
            Strategy::Fallback => f.write_str("fallback"),
            Strategy::DeleteVsEdit => f.write_str("delete-vs-edit"),
            Strategy::MaybeApplied => f.write_str("maybe-applied"),
        }
    }
}

impl FromStr for Strategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "field" => Strategy::Field,
            "diff3" => Strategy::Diff3,
            "word-diff3" => Strategy::WordDiff3,
            "fallback" => Strategy::Fallback,
            "delete-vs-edit" => Strategy::DeleteVsEdit,
            "maybe-applied" => Strategy::MaybeApplied,
            other => match other.strip_prefix("arbiter:") {
                Some(model) => Strategy::Arbiter(model.to_string()),
                None => return Err(format!("unknown merge strategy '{other}'")),
            },
        })
    }
}

impl Serialize for Strategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Strategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a suggestion is what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SuggestionReason {
    /// The edits sit side by side (neighbouring words, or additions at one place): each
    /// is applied at its place, this device's first where both added at one point.
    Composed,
    /// Both sides rewrote the same words: where they did, the version of the side that
    /// changed the text more is suggested (this device's on a tie), the other edits are
    /// applied at their places.
    LargerEdit {
        /// The side suggested for the first span both rewrote.
        side: Side,
    },
    /// Both kept, as the arbiter's candidate of this kind orders them.
    Candidate {
        /// The candidate's label (e.g. `sorted`, `union-local-first`).
        kind: String,
    },
    /// A model chose among the candidate resolutions.
    Model {
        /// Model name.
        model: String,
        /// How it chose (`likelihood`, `prompt`, `generate`).
        method: String,
        /// What it chose (a candidate label, or `generated`).
        chose: String,
    },
    /// A record deleted on one side and edited on the other: keep the edit.
    KeepEdit,
}

impl fmt::Display for SuggestionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuggestionReason::Composed => f.write_str("both edits applied at their places"),
            SuggestionReason::LargerEdit { side } => write!(
                f,
                "both rewrote the same words: the {} version, the larger edit",
                side.as_str()
            ),
            SuggestionReason::Candidate { kind } => write!(f, "both kept ({kind})"),
            SuggestionReason::Model {
                model,
                method,
                chose,
            } => write!(f, "{chose}, chosen by {model} ({method})"),
            SuggestionReason::KeepEdit => f.write_str("the edit, not the delete"),
        }
    }
}

/// The resolution a person most likely wants for a flagged hunk or field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The suggested text.
    pub text: String,
    /// Why.
    #[serde(flatten)]
    pub reason: SuggestionReason,
}

/// How one (possibly nested, dot-separated) field was decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldOutcome {
    /// Field path, e.g. `body` or `meta.tags`; `*` for the whole record.
    pub field: String,
    /// Policy that applied (`None` for a whole-record decision such as delete-vs-edit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<FieldPolicy>,
    /// What decided it.
    #[serde(flatten)]
    pub step: Step,
    /// True when a person should review this field.
    pub needs_review: bool,
    /// For a flagged field: why its suggested value is what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<SuggestionReason>,
}

/// How one hunk that line diff3 could not merge was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct HunkOutcome {
    /// The step that decided it: `WordDiff3`, `Arbiter` or `KeepBoth`.
    pub step: Step,
    /// Why the arbiter did not decide it, when it did not and one was given.
    pub arbiter_error: Option<String>,
    /// True when a person should look at it.
    pub needs_review: bool,
    /// The hunk in the base.
    pub base: String,
    /// The hunk on this device.
    pub local: String,
    /// The hunk on the other device.
    pub remote: String,
    /// Where its resolution stands in the merged text (byte range).
    pub output: Range<usize>,
    /// For a flagged hunk, the resolution a person most likely wants.
    pub suggestion: Option<Suggestion>,
}
