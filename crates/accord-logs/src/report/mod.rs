//! The log report uploaded at sync: distinct errors with a raw example each, the most
//! frequent templates, and a short root-cause paragraph that cites them.
//!
//! [`build_report`] is the one entry point the engine uses. It runs the report's jobs,
//! one file each:
//!
//! 1. `select`: mine the window and choose the templates the report keeps (new errors
//!    first, recurring ones after, the most frequent others, the warnings just before the
//!    first new error), giving [`LogDigest`], the report's structured part, which stands
//!    on its own.
//! 2. `fit`: drop detail, least useful first, until the report fits its byte cap.
//! 3. `deterministic` or `model`: write the root-cause paragraph ([`summarise`]).
//! 4. [`LogDigest::into_report`] assembles the wire type.
//!
//! `accord logs report` shows the digest to people, which is why [`LogDigest`] and
//! [`summarise`] are public.
//!
//! Templates in a report are named by position: `C1` is the first entry of `critical`,
//! `T1` the first of `templates`. The paragraph cites them that way, so a reader (or the
//! server) can check every claim against the templates it rests on.
//!
//! Small models get root causes wrong, so a model's paragraph is used only when it cites
//! at least one template of the report; otherwise, and whenever no model is loaded, the
//! model fails or the budget runs out, the deterministic paragraph is used and
//! [`Summary::fallback`] says why.

mod deterministic;
mod fit;
mod model;
mod select;

pub use model::summarise;

use std::time::Duration;

use accord_model_api::{InterruptHandle, LanguageModel};
use accord_protocol::{LogReport, LogTemplate};

use super::line::LogLine;
use super::miner::Template;

/// Limits on a report's size and on the model's work.
#[derive(Debug, Clone)]
pub struct ReportBudget {
    /// Most frequent non-error templates listed.
    pub top_templates: usize,
    /// Error templates kept (new ones first, then the most frequent recurring ones).
    pub max_critical: usize,
    /// Example values kept per `<*>` slot.
    pub slot_examples: usize,
    /// Longest template text or raw example, in characters.
    pub max_text_chars: usize,
    /// Largest serialized report in bytes; `None` means 1% of the raw bytes summarised,
    /// but at least [`MIN_REPORT_BYTES`] and at most [`MAX_REPORT_BYTES`].
    pub max_bytes: Option<usize>,
    /// Most tokens the model may write for the paragraph.
    pub summary_tokens: usize,
    /// Most wall time the model may take.
    pub summary_time: Duration,
    /// Largest prompt, in the model's tokens; templates are left out to fit.
    pub prompt_tokens: usize,
    /// Stops the model early (WorkManager's `onStopped`).
    pub interrupt: Option<InterruptHandle>,
}

/// Smallest automatic byte cap: room for the paragraph and a few templates.
pub const MIN_REPORT_BYTES: usize = 1400;

/// Largest automatic byte cap.
pub const MAX_REPORT_BYTES: usize = 16 * 1024;

/// Longest paragraph kept, in bytes of JSON.
const MAX_SUMMARY_BYTES: usize = 480;

/// Warnings shown as possible precursors of the first new error.
const MAX_PRECURSORS: usize = 2;

/// How long before the first new error a warning that first appeared then counts as its
/// precursor (or a tenth of the window, if longer).
const PRECURSOR_REACH_MS: i64 = 120_000;

impl Default for ReportBudget {
    fn default() -> Self {
        ReportBudget {
            top_templates: 8,
            max_critical: 16,
            slot_examples: 2,
            max_text_chars: 200,
            max_bytes: None,
            summary_tokens: 120,
            summary_time: Duration::from_secs(20),
            prompt_tokens: 1200,
            interrupt: None,
        }
    }
}

impl ReportBudget {
    /// The byte cap for a window of `raw_bytes`.
    pub fn byte_cap(&self, raw_bytes: u64) -> usize {
        self.max_bytes.unwrap_or_else(|| {
            usize::try_from(raw_bytes / 100)
                .unwrap_or(MAX_REPORT_BYTES)
                .clamp(MIN_REPORT_BYTES, MAX_REPORT_BYTES)
        })
    }
}

/// A template selected for the report, with its id (`C1`, `T1`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct DigestEntry {
    /// `C<n>` for error templates, `T<n>` for the others.
    pub id: String,
    /// The template.
    pub template: Template,
    /// Seen before the error rate rose: background noise rather than the
    /// incident.
    pub recurring: bool,
}

impl DigestEntry {
    /// `tag: text`, or the text alone for untagged lines.
    pub fn display(&self) -> String {
        if self.template.tag.is_empty() {
            self.template.text.clone()
        } else {
            format!("{}: {}", self.template.tag, self.template.text)
        }
    }
}

/// The report's structured part: the window and the selected templates, with the few
/// facts the paragraph is written from.
#[derive(Debug, Clone)]
pub struct LogDigest {
    /// Lines summarised.
    pub lines: u64,
    /// Bytes of tag and message text summarised.
    pub bytes: u64,
    /// Lines at ERROR or FATAL.
    pub critical_lines: u64,
    /// Time of the first line.
    pub window_start_ms: i64,
    /// Time of the last line.
    pub window_end_ms: i64,
    /// Error templates, in order of first appearance.
    pub critical: Vec<DigestEntry>,
    /// Other templates, most frequent first, and warnings that came shortly before the
    /// first new error.
    pub templates: Vec<DigestEntry>,
    /// Id of the first error template that is not recurring: where the incident starts.
    pub onset: Option<String>,
    /// Ids of warnings that first appeared shortly before the onset, latest first.
    pub precursors: Vec<String>,
    /// Bytes (as JSON) left for the paragraph within the byte cap.
    summary_bytes: usize,
}

/// The root-cause paragraph and how it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The paragraph.
    pub text: String,
    /// The model that wrote it, or `"none"` for the deterministic paragraph.
    pub model: String,
    /// Template ids the paragraph cites, in order of first citation.
    pub cited: Vec<String>,
    /// Prompt tokens (0 without a model).
    pub prompt_tokens: usize,
    /// Tokens the model generated (0 without a model).
    pub tokens: usize,
    /// Time spent in the model.
    pub elapsed: Duration,
    /// Why a model's paragraph was not used, when a model was given but the
    /// deterministic paragraph was.
    pub fallback: Option<String>,
}

/// Builds the report for `events` (any order) from `device`, with the paragraph written
/// by `summariser` when given and usable.
pub fn build_report(
    events: &[LogLine],
    device: &str,
    summariser: Option<&dyn LanguageModel>,
    budget: &ReportBudget,
) -> LogReport {
    let digest = LogDigest::from_events(events, budget);
    let summary = summarise(&digest, summariser, budget);
    digest.into_report(device, &summary)
}

impl LogDigest {
    fn wire_templates(&self, entries: &[DigestEntry]) -> Vec<LogTemplate> {
        entries
            .iter()
            .map(|e| LogTemplate {
                template: e.display(),
                count: e.template.count,
                levels: e
                    .template
                    .levels
                    .iter()
                    .map(|l| l.letter().to_string())
                    .collect(),
                first_ms: e.template.first_ms,
                last_ms: e.template.last_ms,
                examples: e.template.slot_examples.clone(),
                raw_example: if e.template.is_critical() {
                    e.template
                        .critical_example
                        .clone()
                        .or_else(|| Some(e.template.example.clone()))
                } else {
                    None
                },
            })
            .collect()
    }

    /// Looks up an entry by id.
    pub fn entry(&self, id: &str) -> Option<&DigestEntry> {
        self.critical
            .iter()
            .chain(&self.templates)
            .find(|e| e.id == id)
    }

    /// The wire report from `device` with `summary` as its paragraph.
    pub fn into_report(self, device: &str, summary: &Summary) -> LogReport {
        self.report(uuid::Uuid::now_v7().to_string(), device, summary)
    }

    fn report(&self, report_id: String, device: &str, summary: &Summary) -> LogReport {
        LogReport {
            report_id,
            device: device.to_string(),
            window_start_ms: self.window_start_ms,
            window_end_ms: self.window_end_ms,
            lines: self.lines,
            bytes: self.bytes,
            templates: self.wire_templates(&self.templates),
            critical: self.wire_templates(&self.critical),
            summary: summary.text.clone(),
            model: summary.model.clone(),
        }
    }
}

/// At most `max` characters of `text`, ending in `…` when cut.
fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The longest prefix of `text` whose JSON string form takes at most `max` bytes,
/// ending in `…` when cut.
fn truncate_json_bytes(text: &str, max: usize) -> String {
    if json_bytes(text) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + json_char_bytes(c) + '…'.len_utf8() > max {
            break;
        }
        used += json_char_bytes(c);
        out.push(c);
    }
    out.push('…');
    out
}

/// Bytes `c` takes inside a JSON string.
fn json_char_bytes(c: char) -> usize {
    match c {
        '"' | '\\' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Bytes `text` takes inside a JSON string (without the quotes).
fn json_bytes(text: &str) -> usize {
    text.chars().map(json_char_bytes).sum()
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! A ten-minute incident and a roomy budget, shared by the report's tests.

    use super::*;

    /// A budget whose byte cap keeps every selected template of the small test windows.
    pub(crate) fn roomy() -> ReportBudget {
        ReportBudget {
            max_bytes: Some(MAX_REPORT_BYTES),
            ..ReportBudget::default()
        }
    }

    /// Ten minutes of an app: heartbeats and a recurring ad error all along; at minute 6
    /// storage runs low, then writes fail and sync gives up.
    pub(crate) fn incident() -> Vec<LogLine> {
        let mut lines = Vec::new();
        let t0 = 1_700_000_000_000;
        for s in (0..600).step_by(5) {
            lines.push(LogLine::new(
                t0 + s * 1000,
                "I",
                "Heartbeat",
                &format!("tick {s} rss={}kB", 9000 + s),
            ));
            if s % 60 == 0 {
                lines.push(LogLine::new(
                    t0 + s * 1000 + 7,
                    "E",
                    "AdLoader",
                    &format!("no fill for slot {}", s / 60),
                ));
            }
        }
        lines.push(LogLine::new(
            t0 + 359_000,
            "W",
            "StorageMonitor",
            "low storage: 12 MB free",
        ));
        for k in 0..6 {
            let t = t0 + 361_000 + k * 9000;
            lines.push(LogLine::new(
                t,
                "E",
                "NotesDb",
                &format!(
                    "SQLiteFullException: database or disk is full (code {})",
                    13
                ),
            ));
            lines.push(LogLine::new(
                t + 50,
                "E",
                "SyncWorker",
                &format!("upload of batch {k} failed: local write failed"),
            ));
        }
        lines.push(LogLine::new(
            t0 + 420_000,
            "F",
            "AndroidRuntime",
            "FATAL EXCEPTION: main Process: com.example.notes, PID: 4242",
        ));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_window_makes_a_small_report() {
        let report = build_report(&[], "d", None, &ReportBudget::default());
        assert_eq!((report.lines, report.bytes), (0, 0));
        assert!(report.summary.starts_with("No errors in 0 lines."));
    }
}
