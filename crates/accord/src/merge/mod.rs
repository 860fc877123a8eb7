//! The merge pipeline: how a record edited on two devices becomes one.
//!
//! [`merge_record`] merges a record field by field under its collection's
//! [`CollectionSchema`]; `text` fields go through [`merge_text`] (line diff3, the
//! [`Arbiter`] for hunks that still overlap, then the keep-both fallback). Every decision
//! is returned as data ([`FieldOutcome`]) so the sync layer can write it to the conflict
//! log and an app can show it. Nothing here touches the disk or the network.

mod arbiter;
mod candidates;
mod policy;
mod record;
mod text;

pub use arbiter::{
    Arbiter, ArbiterError, ArbiterOptions, CandidateArbiter, Choice, ConflictHunk, Resolution,
};
pub use candidates::{candidates, check, Candidate, CandidateKind, Check};
pub use policy::{CollectionSchema, FieldPolicy};
pub use record::{merge_record, FieldOutcome, MergeContext, RecordMerge, Step, Strategy};
pub use text::{merge_text, HunkOutcome, TextMerge};
