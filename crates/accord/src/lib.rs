//! Accord: an offline-first sync engine for mobile apps.
//!
//! Apps keep records in a local SQLite database ([`store`]), edit them with no network,
//! and call [`Accord::sync`] when connectivity returns. When two devices edited the same
//! record, the [`merge`] pipeline merges them field by field without losing either side's
//! work; truly overlapping text edits go to an arbiter backed by an on-device
//! language [`model`], or to a keep-both fallback flagged for review. Device logs are
//! captured locally and summarised (by the `accord-logs` crate) into a compact report
//! uploaded at sync.
//!
//! Dependencies point one way: [`sync`] uses [`store`], [`merge`] and [`transport`];
//! [`merge`] and the log summary use a language model only through
//! [`model::LanguageModel`]. The model runtime (`accord-model`) is compiled in only with
//! the `model` cargo feature: an app that does not want a model does not ship one.

mod accord;
mod error;
pub mod hlc;
pub mod merge;
pub mod model;
pub mod store;
pub mod sync;
pub mod transport;

pub use accord::{Accord, ChangeListener, Config, ProgressListener, Record, ServerConfig};
pub use accord_model_api::{interrupt, InterruptHandle};
pub use error::{Error, Result};
pub use store::{ConflictEntry, ConflictResolution, Filter, FilterOp, Query};
pub use sync::{ChangeEvent, ChangeOrigin, SyncOptions, SyncOutcome, SyncReport};
