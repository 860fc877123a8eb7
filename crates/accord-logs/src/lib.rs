//! Device logs: line parsing, template mining and the report uploaded at sync.
//!
//! The engine (`accord`) captures lines into a bounded ring in its store; at sync it reads
//! them back as [`LogLine`]s and [`build_report`] turns them into a compact
//! [`accord_protocol::LogReport`]: lines are grouped into templates by a
//! [`TemplateMiner`] (one generic configuration, no per-app patterns), the distinct
//! ERROR/FATAL templates are kept with a raw example each, the most frequent templates
//! are listed, and a short root-cause paragraph is written from those templates — by a
//! language model (through `accord_model_api::LanguageModel`) when one is given,
//! deterministically otherwise. Everything here works on lines in memory and does no
//! I/O.

mod line;
mod miner;
mod report;
mod settings;
mod token;

pub use line::{format_time, parse_log_line, LogLevel, LogLine};
pub use miner::{group_messages, MinedTemplates, ShapeId, Template, TemplateMiner};
pub use report::{
    build_report, summarise, DigestEntry, LogDigest, ReportBudget, Summary, MAX_REPORT_BYTES,
    MIN_REPORT_BYTES,
};
#[cfg(feature = "tuning")]
pub use settings::{Knob, MinerSettings, KNOBS};
pub use token::mask;
