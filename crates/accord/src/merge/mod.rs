//! The merge pipeline: how a record edited on two devices becomes one.
//!
//! [`merge_record`] merges a record field by field under its collection's
//! [`CollectionSchema`]; `text` fields go through [`merge_text`]: line diff3, word diff3
//! inside the lines both sides changed, the [`Arbiter`] for hunks that still overlap,
//! then the keep-both fallback with a [`Suggestion`]. Every decision is returned as data
//! ([`FieldOutcome`], [`HunkOutcome`], [`Strategy`]) so the sync layer can write it to the
//! conflict log and an app can show it. Nothing here touches the disk or the network.
//!
//! # The guarantee
//!
//! Stated at the level of edits: every run of words that either side wrote (inserted, or
//! put in place of base words) is in the result, unless the merge is flagged for review
//! (`needs_review`) and the conflict log holds both sides. A line neither side wrote is
//! allowed when it is the composition of both sides' edits (two typo fixes in one
//! sentence). Two edits that touch the same words, or words with nothing but spaces and
//! punctuation between them, still conflict. See docs/reliability.md.
//!
//! # Layout
//!
//! The floors, lowest first; each file imports only from the floors below it:
//! `hunk`, `tokens`, `decision`, `policy` (shared types and helpers); `diff3`, `words`
//! (the line and word three-way merges); `candidates`, `suggest`; `arbiter`; `text`;
//! `record`.

mod arbiter;
mod candidates;
mod decision;
mod diff3;
mod hunk;
mod policy;
mod record;
mod suggest;
mod text;
mod tokens;
mod words;

pub use arbiter::{Arbiter, ArbiterError, ArbiterOptions, CandidateArbiter, Choice, Resolution};
pub use candidates::{candidates, check, Candidate, CandidateKind, Check};
pub use decision::{FieldOutcome, HunkOutcome, Side, Step, Strategy, Suggestion, SuggestionReason};
pub use hunk::ConflictHunk;
pub use policy::{CollectionSchema, FieldPolicy};
pub use record::{merge_record, MergeContext, RecordMerge};
pub use text::{merge_text, Markers, TextMerge};
