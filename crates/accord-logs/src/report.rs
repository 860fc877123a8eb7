//! The log report uploaded at sync: distinct errors with a raw example each, the most
//! frequent templates, and a short root-cause paragraph that cites them.
//!
//! [`build_report`] is the one entry point; it runs three steps that are public so the
//! benchmark can time them: [`LogDigest::from_events`] mines and selects the templates
//! (the report's structured part, which stands on its own), [`summarise`] writes the
//! paragraph, and [`LogDigest::into_report`] assembles the wire type.
//!
//! Templates in a report are named by position: `C1` is the first entry of `critical`,
//! `T1` the first of `templates`. The paragraph cites them that way, so a reader (or the
//! server) can check every claim against the templates it rests on.
//!
//! Small models get root causes wrong, so a model's paragraph is used only when it cites
//! at least one template of the report; otherwise, and whenever no model is loaded, the
//! model fails or the budget runs out, the deterministic paragraph is used and
//! [`Summary::fallback`] says why.

use std::time::{Duration, Instant};

use accord_protocol::{LogReport, LogTemplate};

use super::line::{format_time, LogLevel, LogLine};
use super::miner::{Template, TemplateMiner};
use accord_model_api::InterruptHandle;
use accord_model_api::{Budget, ChatMessage, LanguageModel};

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
    /// Mines `events` and selects the templates the report keeps, within the byte cap
    /// (leaving room for the paragraph).
    pub fn from_events(events: &[LogLine], budget: &ReportBudget) -> LogDigest {
        let mut miner = TemplateMiner::new();
        let shapes: Vec<_> = events.iter().map(|e| miner.add_line(e)).collect();
        let mined = miner.templates();
        let all = mined.templates();
        let window_start_ms = events.iter().map(|e| e.time_ms).min().unwrap_or(0);
        let window_end_ms = events.iter().map(|e| e.time_ms).max().unwrap_or(0);

        // Errors that were already there before the error rate rose are background.
        let rise_ms = error_rate_rise(events, window_start_ms, window_end_ms);
        let mut lines_before_rise = vec![0u64; all.len()];
        for (event, shape) in events.iter().zip(&shapes) {
            if event.time_ms < rise_ms {
                lines_before_rise[mined.group_of(*shape)] += 1;
            }
        }
        let recurring = |i: usize| lines_before_rise[i] > 0;

        let mut critical: Vec<usize> = (0..all.len()).filter(|&i| all[i].is_critical()).collect();
        critical.sort_by_key(|&i| (all[i].first_ms, i));
        let onset = critical.iter().copied().find(|&i| !recurring(i));
        // Keep new errors first (they are the incident), then the most frequent
        // recurring ones; show them in order of first appearance.
        let mut kept: Vec<usize> = critical
            .iter()
            .copied()
            .filter(|&i| !recurring(i))
            .collect();
        let mut chronic: Vec<usize> = critical.iter().copied().filter(|&i| recurring(i)).collect();
        chronic.sort_by_key(|&i| std::cmp::Reverse(all[i].count));
        kept.extend(chronic);
        kept.truncate(budget.max_critical);
        kept.sort_by_key(|&i| (all[i].first_ms, i));

        // Times come from the lines (a JSON line may say any i64), so differences of
        // two of them saturate rather than overflow.
        let precursor_reach_ms =
            PRECURSOR_REACH_MS.max(window_end_ms.saturating_sub(window_start_ms) / 10);
        let mut precursors: Vec<usize> = match onset {
            Some(o) => (0..all.len())
                .filter(|&i| {
                    // New warnings shortly before the onset: what went wrong first.
                    let lead = all[o].first_ms.saturating_sub(all[i].first_ms);
                    !all[i].is_critical()
                        && all[i].max_level() == LogLevel::Warn
                        && (0..=precursor_reach_ms).contains(&lead)
                })
                .collect(),
            None => Vec::new(),
        };
        precursors.sort_by_key(|&i| (std::cmp::Reverse(all[i].first_ms), i));
        precursors.truncate(MAX_PRECURSORS);
        let mut others: Vec<usize> = (0..all.len()).filter(|&i| !all[i].is_critical()).collect();
        others.sort_by_key(|&i| (std::cmp::Reverse(all[i].count), i));
        others.truncate(budget.top_templates);
        for &p in &precursors {
            if !others.contains(&p) {
                others.push(p);
            }
        }
        others.sort_by_key(|&i| (std::cmp::Reverse(all[i].count), i));

        let entry = |prefix: &str, n: usize, i: usize| DigestEntry {
            id: format!("{prefix}{}", n + 1),
            template: trim_template(&all[i], budget),
            recurring: recurring(i),
        };
        let critical_entries: Vec<DigestEntry> = kept
            .iter()
            .enumerate()
            .map(|(n, &i)| entry("C", n, i))
            .collect();
        let other_entries: Vec<DigestEntry> = others
            .iter()
            .enumerate()
            .map(|(n, &i)| entry("T", n, i))
            .collect();
        let id_of = |list: &[usize], entries: &[DigestEntry], i: usize| {
            list.iter()
                .position(|&x| x == i)
                .map(|p| entries[p].id.clone())
        };
        let mut digest = LogDigest {
            lines: mined.lines(),
            bytes: mined.bytes(),
            critical_lines: events.iter().filter(|e| e.level.is_critical()).count() as u64,
            window_start_ms,
            window_end_ms,
            onset: onset.and_then(|o| id_of(&kept, &critical_entries, o)),
            precursors: precursors
                .iter()
                .filter_map(|&p| id_of(&others, &other_entries, p))
                .collect(),
            critical: critical_entries,
            templates: other_entries,
            summary_bytes: 0,
        };
        let cap = budget.byte_cap(digest.bytes);
        digest.summary_bytes = MAX_SUMMARY_BYTES.min(cap / 3);
        digest.fit(cap, digest.summary_bytes);
        digest
    }

    /// Drops detail until the report without its paragraph fits in `cap` bytes: slot
    /// examples, then the length of raw examples, then the least frequent templates,
    /// then errors seen before the rise, then the length of template texts, then the
    /// other errors. The onset and the warning just before it go last.
    fn fit(&mut self, cap: usize, summary_reserve: usize) {
        self.shrink(cap, summary_reserve);
        // Entries removed leave gaps in the ids; renumber so `C1`, `C2`, ... match
        // positions again, and follow the renaming in the onset and precursors.
        let renames: Vec<(String, String)> = renumber(&mut self.critical, "C")
            .into_iter()
            .chain(renumber(&mut self.templates, "T"))
            .collect();
        let rename = |id: &str| {
            renames
                .iter()
                .find(|(old, _)| old == id)
                .map(|(_, new)| new.clone())
        };
        self.onset = self.onset.as_deref().and_then(rename);
        self.precursors = self.precursors.iter().filter_map(|p| rename(p)).collect();
    }

    fn shrink(&mut self, cap: usize, summary_reserve: usize) {
        let placeholder = Summary {
            text: "x".repeat(summary_reserve),
            model: "none".into(),
            cited: Vec::new(),
            prompt_tokens: 0,
            tokens: 0,
            elapsed: Duration::ZERO,
            fallback: None,
        };
        // Room for the report id, a device name and a model name of usual lengths.
        let slack = 36 + 24 + 32;
        let size = |d: &LogDigest| {
            serde_json::to_vec(&d.report(String::new(), "", &placeholder)).map_or(0, |v| v.len())
                + slack
        };
        let over = |d: &LogDigest| size(d) > cap;
        let protected = |d: &LogDigest, id: &str| {
            d.onset.as_deref() == Some(id) || d.precursors.first().is_some_and(|p| p == id)
        };
        for keep in [1usize, 0] {
            if !over(self) {
                return;
            }
            for e in self.critical.iter_mut().chain(self.templates.iter_mut()) {
                for slot in &mut e.template.slot_examples {
                    slot.truncate(keep);
                }
            }
        }
        for limit in [120usize, 60] {
            if !over(self) {
                return;
            }
            for e in &mut self.critical {
                e.template.critical_example = e
                    .template
                    .critical_example
                    .as_deref()
                    .map(|x| truncate_chars(x, limit));
            }
        }
        while over(self) {
            let Some(pos) = self.templates.iter().rposition(|e| !protected(self, &e.id)) else {
                break;
            };
            self.templates.remove(pos);
        }
        while over(self) {
            let Some(pos) = self
                .critical
                .iter()
                .rposition(|e| e.recurring && !protected(self, &e.id))
            else {
                break;
            };
            self.critical.remove(pos);
        }
        if over(self) {
            for e in &mut self.templates {
                e.template.text = truncate_chars(&e.template.text, 60);
            }
            for e in &mut self.critical {
                e.template.text = truncate_chars(&e.template.text, 120);
            }
        }
        while over(self) {
            let Some(pos) = self.critical.iter().rposition(|e| !protected(self, &e.id)) else {
                break;
            };
            self.critical.remove(pos);
        }
        if over(self) {
            for e in self.critical.iter_mut().chain(self.templates.iter_mut()) {
                e.template.text = truncate_chars(&e.template.text, 60);
                e.template.critical_example = e
                    .template
                    .critical_example
                    .as_deref()
                    .map(|x| truncate_chars(x, 40));
            }
        }
        if over(self) {
            self.templates.clear();
        }
        self.precursors
            .retain(|p| self.templates.iter().any(|e| &e.id == p));
    }

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

    /// The paragraph written without a model: the first new error as the likely cause,
    /// the warnings just before it, what followed, and what recurs throughout.
    pub fn deterministic_summary(&self) -> String {
        let quote =
            |e: &DigestEntry| format!("[{}] \"{}\"", e.id, truncate_chars(&e.display(), 100));
        let clock = |ms: i64| format_time(ms).get(11..19).unwrap_or_default().to_string();
        let mut parts: Vec<String> = Vec::new();
        match self.onset.as_deref().and_then(|id| self.entry(id)) {
            Some(onset) => {
                let mut s = format!(
                    "Likely cause: {} (first at {}, {} line{})",
                    quote(onset),
                    clock(onset.template.first_ms),
                    onset.template.count,
                    plural(onset.template.count)
                );
                let warnings: Vec<String> = self
                    .precursors
                    .iter()
                    .filter_map(|id| self.entry(id))
                    .map(|w| format!("{} at {}", quote(w), clock(w.template.first_ms)))
                    .collect();
                if !warnings.is_empty() {
                    s.push_str(&format!(", preceded by warning {}", warnings.join(" and ")));
                }
                s.push('.');
                parts.push(s);
                let after: Vec<&DigestEntry> = self
                    .critical
                    .iter()
                    .filter(|e| !e.recurring && e.id != onset.id)
                    .collect();
                if !after.is_empty() {
                    let lines: u64 = after.iter().map(|e| e.template.count).sum();
                    let shown: Vec<String> = after.iter().take(3).map(|e| quote(e)).collect();
                    parts.push(format!(
                        "Then {} more error line{} in {} template{}: {}.",
                        lines,
                        plural(lines),
                        after.len(),
                        plural(after.len() as u64),
                        shown.join(", ")
                    ));
                }
            }
            None if self.critical.is_empty() => {
                parts.push(format!(
                    "No errors in {} line{}.",
                    self.lines,
                    plural(self.lines)
                ));
            }
            None => parts.push("Only errors that recur all along, no new one.".to_string()),
        }
        let chronic: Vec<String> = self
            .critical
            .iter()
            .filter(|e| e.recurring)
            .take(2)
            .map(|e| format!("{} ({}x)", quote(e), e.template.count))
            .collect();
        if !chronic.is_empty() {
            parts.push(format!(
                "Seen before the errors rose: {}.",
                chronic.join(", ")
            ));
        }
        let mut window = format!(
            "{} lines from {} to {}",
            self.lines,
            format_time(self.window_start_ms),
            format_time(self.window_end_ms)
        );
        match self.templates.first() {
            Some(top) if !self.precursors.contains(&top.id) => {
                window.push_str(&format!(
                    "; most frequent: {} ({}x).",
                    quote(top),
                    top.template.count
                ));
            }
            _ => window.push('.'),
        }
        parts.push(window);
        // Whole sentences while they fit; the first is cut if it alone is too long.
        let mut text = String::new();
        for part in parts {
            let candidate = if text.is_empty() {
                part.clone()
            } else {
                format!("{text} {part}")
            };
            if json_bytes(&candidate) <= self.summary_bytes {
                text = candidate;
            } else if text.is_empty() {
                text = truncate_json_bytes(&part, self.summary_bytes);
                break;
            } else {
                break;
            }
        }
        text
    }

    /// The chat the model answers: the templates (never raw lines) with their ids.
    pub fn prompt(&self, max_entries: usize) -> Vec<ChatMessage> {
        let clock = |ms: i64| format_time(ms).get(11..19).unwrap_or_default().to_string();
        let mut user = format!(
            "Device log from {} to {}: {} lines, {} at ERROR or FATAL, grouped into templates (<*> marks a variable part).\n",
            format_time(self.window_start_ms),
            format_time(self.window_end_ms),
            self.lines,
            self.critical_lines
        );
        let mut shown = 0;
        if !self.critical.is_empty() {
            user.push_str("Error templates, in order of first appearance:\n");
            for e in &self.critical {
                if shown >= max_entries {
                    break;
                }
                shown += 1;
                let note = if e.recurring {
                    ", recurring before the errors rose"
                } else {
                    ""
                };
                user.push_str(&format!(
                    "[{}] first at {}, {} lines{}: {}\n",
                    e.id,
                    clock(e.template.first_ms),
                    e.template.count,
                    note,
                    e.display()
                ));
            }
        }
        if !self.templates.is_empty() && shown < max_entries {
            user.push_str("Other templates:\n");
            for e in &self.templates {
                if shown >= max_entries {
                    break;
                }
                shown += 1;
                let level = e.template.max_level().letter();
                user.push_str(&format!(
                    "[{}] {} lines, level {}, first at {}: {}\n",
                    e.id,
                    e.template.count,
                    level,
                    clock(e.template.first_ms),
                    e.display()
                ));
            }
        }
        user.push_str(
            "\nWhat is the root cause of the errors? Answer in at most three sentences. \
             Name the root cause first and cite the templates you rely on by id in square brackets, like [C1].",
        );
        vec![
            ChatMessage::system(
                "You are an expert at reading Android app logs. You explain failures briefly and only from the templates given.",
            ),
            ChatMessage::user(user),
        ]
    }
}

/// Writes the root-cause paragraph for `digest`: by `model` when given and when its
/// answer cites the digest's templates, deterministically otherwise.
pub fn summarise(
    digest: &LogDigest,
    model: Option<&dyn LanguageModel>,
    budget: &ReportBudget,
) -> Summary {
    let deterministic = |fallback: Option<String>, prompt_tokens, tokens, elapsed| {
        let text = digest.deterministic_summary();
        Summary {
            cited: citations(&text, digest),
            text,
            model: "none".to_string(),
            prompt_tokens,
            tokens,
            elapsed,
            fallback,
        }
    };
    let Some(model) = model else {
        return deterministic(None, 0, 0, Duration::ZERO);
    };
    if digest.critical.is_empty() {
        return deterministic(Some("no errors to explain".into()), 0, 0, Duration::ZERO);
    }
    let started = Instant::now();
    let mut model_budget = Budget::new(budget.summary_tokens, budget.summary_time);
    if let Some(interrupt) = &budget.interrupt {
        model_budget = model_budget.with_interrupt(interrupt.clone());
    }
    // Fit the prompt: fewer templates until it is within the token budget.
    let total = digest.critical.len() + digest.templates.len();
    let mut entries = total;
    let prompt = loop {
        let prompt = match model.chat_prompt(&digest.prompt(entries)) {
            Ok(p) => p,
            Err(e) => {
                return deterministic(
                    Some(format!("model prompt failed: {e}")),
                    0,
                    0,
                    started.elapsed(),
                )
            }
        };
        match model.count_tokens(&prompt) {
            Ok(n) if n <= budget.prompt_tokens || entries <= 1 => break (prompt, n),
            Ok(_) => entries = entries.saturating_sub(1 + entries / 4),
            Err(e) => {
                return deterministic(
                    Some(format!("model tokenizer failed: {e}")),
                    0,
                    0,
                    started.elapsed(),
                )
            }
        }
    };
    let (prompt, prompt_tokens) = prompt;
    let generation = match model.generate(&prompt, &model_budget) {
        Ok(g) => g,
        Err(e) => {
            return deterministic(
                Some(format!("model failed: {e}")),
                prompt_tokens,
                0,
                started.elapsed(),
            )
        }
    };
    let elapsed = started.elapsed();
    let text = truncate_json_bytes(generation.text.trim(), digest.summary_bytes);
    let cited = citations(&text, digest);
    if text.is_empty() {
        return deterministic(
            Some("model wrote nothing".into()),
            prompt_tokens,
            generation.tokens,
            elapsed,
        );
    }
    if cited.is_empty() {
        return deterministic(
            Some("model cited no template of the report".into()),
            prompt_tokens,
            generation.tokens,
            elapsed,
        );
    }
    Summary {
        text,
        model: model.name().to_string(),
        cited,
        prompt_tokens,
        tokens: generation.tokens,
        elapsed,
        fallback: None,
    }
}

/// Ids `[C1]`, `[T2]`, ... in `text` that name entries of `digest`, in order, once each.
pub fn citations(text: &str, digest: &LogDigest) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' && i + 2 < bytes.len() && matches!(bytes[i + 1], b'C' | b'T') {
            let mut j = i + 2;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 2 && j < bytes.len() && bytes[j] == b']' {
                let id = &text[i + 1..j];
                if digest.entry(id).is_some() && !out.iter().any(|c| c == id) {
                    out.push(id.to_string());
                }
                i = j;
            }
        }
        i += 1;
    }
    out
}

/// When the rate of ERROR/FATAL lines rose: the time of the error after which the
/// errors come faster than before, found where the share of errors seen so far falls
/// furthest behind the share of time passed. The window start when there are none.
fn error_rate_rise(events: &[LogLine], start_ms: i64, end_ms: i64) -> i64 {
    let mut times: Vec<i64> = events
        .iter()
        .filter(|e| e.level.is_critical())
        .map(|e| e.time_ms)
        .collect();
    if times.is_empty() || end_ms <= start_ms {
        return start_ms;
    }
    times.sort_unstable();
    // Both differences are non-negative but may not fit in an i64.
    let span = end_ms.abs_diff(start_ms) as f64;
    let n = times.len() as f64;
    let mut best = (f64::INFINITY, start_ms);
    for (k, &t) in times.iter().enumerate() {
        let lag = k as f64 / n - t.abs_diff(start_ms) as f64 / span;
        if lag < best.0 {
            best = (lag, t);
        }
    }
    best.1
}

/// Renames entries to `<prefix>1..n` in order; returns `(old, new)` pairs.
fn renumber(entries: &mut [DigestEntry], prefix: &str) -> Vec<(String, String)> {
    entries
        .iter_mut()
        .enumerate()
        .map(|(n, e)| {
            let new = format!("{prefix}{}", n + 1);
            (std::mem::replace(&mut e.id, new.clone()), new)
        })
        .collect()
}

/// The template with long texts shortened and at most `slot_examples` values a slot.
fn trim_template(template: &Template, budget: &ReportBudget) -> Template {
    let mut t = template.clone();
    t.text = truncate_chars(&t.text, budget.max_text_chars);
    t.example = truncate_chars(&t.example, budget.max_text_chars);
    t.critical_example = t
        .critical_example
        .map(|x| truncate_chars(&x, budget.max_text_chars));
    for slot in &mut t.slot_examples {
        slot.truncate(budget.slot_examples);
        for v in slot.iter_mut() {
            *v = truncate_chars(v, 40);
        }
    }
    t
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
mod tests {
    use std::sync::Mutex;

    use super::*;
    use accord_model_api::{ContinuationScore, Generation, ModelError, StopReason};

    /// A model that answers with a fixed text and records what it was asked.
    struct FakeModel {
        answer: Result<String, fn() -> ModelError>,
        prompts: Mutex<Vec<String>>,
        max_tokens: Mutex<Option<usize>>,
    }

    impl FakeModel {
        fn answering(text: &str) -> Self {
            FakeModel {
                answer: Ok(text.to_string()),
                prompts: Mutex::new(Vec::new()),
                max_tokens: Mutex::new(None),
            }
        }

        fn failing(error: fn() -> ModelError) -> Self {
            FakeModel {
                answer: Err(error),
                prompts: Mutex::new(Vec::new()),
                max_tokens: Mutex::new(None),
            }
        }

        fn last_prompt(&self) -> String {
            self.prompts
                .lock()
                .unwrap()
                .last()
                .cloned()
                .unwrap_or_default()
        }
    }

    impl LanguageModel for FakeModel {
        fn name(&self) -> &str {
            "fake-model"
        }

        fn chat_prompt(&self, messages: &[ChatMessage]) -> Result<String, ModelError> {
            Ok(messages
                .iter()
                .map(|m| m.content.as_str())
                .collect::<Vec<_>>()
                .join("\n"))
        }

        fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
            Ok(text.split_whitespace().count())
        }

        fn score(
            &self,
            _: &str,
            _: &[&str],
            _: &Budget,
        ) -> Result<Vec<ContinuationScore>, ModelError> {
            Err(ModelError::Runtime("not used by the log summary".into()))
        }

        fn generate(&self, prompt: &str, budget: &Budget) -> Result<Generation, ModelError> {
            self.prompts.lock().unwrap().push(prompt.to_string());
            *self.max_tokens.lock().unwrap() = Some(budget.max_tokens);
            let text = self.answer.clone().map_err(|e| e())?;
            Ok(Generation {
                tokens: text.split_whitespace().count().min(budget.max_tokens),
                text,
                prompt_tokens: prompt.split_whitespace().count(),
                stop: StopReason::EndOfText,
                elapsed: Duration::from_millis(5),
            })
        }
    }

    /// A budget whose byte cap keeps every selected template of the small test windows.
    fn roomy() -> ReportBudget {
        ReportBudget {
            max_bytes: Some(MAX_REPORT_BYTES),
            ..ReportBudget::default()
        }
    }

    /// Ten minutes of an app: heartbeats and a recurring ad error all along; at minute 6
    /// storage runs low, then writes fail and sync gives up.
    fn incident() -> Vec<LogLine> {
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

    #[test]
    fn report_keeps_each_error_template_with_a_raw_example() {
        let report = build_report(&incident(), "pixel-7", None, &roomy());
        let errors: Vec<&str> = report
            .critical
            .iter()
            .map(|t| t.template.as_str())
            .collect();
        assert_eq!(
            errors,
            vec![
                "AdLoader: no fill for slot <*>",
                "NotesDb: SQLiteFullException: database or disk is full (code <*>)",
                "SyncWorker: upload of batch <*> failed: local write failed",
                "AndroidRuntime: FATAL EXCEPTION: main Process: com.example.notes, PID: <*>",
            ]
        );
        assert!(report.critical.iter().all(|t| t.raw_example.is_some()));
        assert_eq!(report.critical[1].count, 6);
        assert_eq!(report.critical[1].levels, vec!["E"]);
        assert_eq!(
            report.critical[2].raw_example.as_deref(),
            Some("upload of batch 0 failed: local write failed")
        );
        assert_eq!(report.templates[0].template, "Heartbeat: tick <*> rss=<*>");
        assert!(report.templates.iter().all(|t| t.raw_example.is_none()));
        assert_eq!(report.lines, incident().len() as u64);
        assert_eq!(report.model, "none");
        assert_eq!(
            (report.device.as_str(), report.report_id.len()),
            ("pixel-7", 36)
        );
    }

    #[test]
    fn deterministic_summary_names_the_first_new_error_and_the_warning_before_it() {
        let digest = LogDigest::from_events(&incident(), &roomy());
        assert_eq!(digest.onset.as_deref(), Some("C2"));
        let text = digest.deterministic_summary();
        assert!(
            text.starts_with(
                "Likely cause: [C2] \"NotesDb: SQLiteFullException: database or disk is full"
            ),
            "{text}"
        );
        assert!(text.contains("preceded by warning [T"), "{text}");
        assert!(text.contains("low storage: <*> free"), "{text}");
        assert!(
            text.contains("Seen before the errors rose: [C1] \"AdLoader: no fill"),
            "{text}"
        );
        assert_eq!(citations(&text, &digest)[0], "C2");
    }

    #[test]
    fn a_model_paragraph_that_cites_templates_is_used() {
        let model = FakeModel::answering("The disk filled up [C2], so uploads failed [C3].");
        let budget = roomy();
        let digest = LogDigest::from_events(&incident(), &budget);
        let summary = summarise(&digest, Some(&model), &budget);
        assert_eq!(
            summary.text,
            "The disk filled up [C2], so uploads failed [C3]."
        );
        assert_eq!(
            (summary.model.as_str(), summary.fallback.as_deref()),
            ("fake-model", None)
        );
        assert_eq!(summary.cited, vec!["C2", "C3"]);
        assert_eq!(
            *model.max_tokens.lock().unwrap(),
            Some(budget.summary_tokens)
        );
        let report = digest.into_report("d", &summary);
        assert_eq!(report.model, "fake-model");
    }

    #[test]
    fn the_model_sees_templates_not_raw_lines() {
        let model = FakeModel::answering("Disk full [C2].");
        build_report(&incident(), "d", Some(&model), &roomy());
        let prompt = model.last_prompt();
        assert!(prompt.contains("[C2] first at"), "{prompt}");
        assert!(
            prompt.contains("database or disk is full (code <*>)"),
            "{prompt}"
        );
        assert!(!prompt.contains("upload of batch 3 failed"), "{prompt}");
    }

    #[test]
    fn an_uncited_model_paragraph_is_replaced_by_the_deterministic_one() {
        let model = FakeModel::answering("The network is down.");
        let budget = roomy();
        let digest = LogDigest::from_events(&incident(), &budget);
        let summary = summarise(&digest, Some(&model), &budget);
        assert_eq!(summary.model, "none");
        assert_eq!(summary.text, digest.deterministic_summary());
        assert_eq!(
            summary.fallback.as_deref(),
            Some("model cited no template of the report")
        );
        // Citing an id the report does not have is no citation.
        let model = FakeModel::answering("See [C99] and [X1].");
        assert_eq!(summarise(&digest, Some(&model), &budget).model, "none");
    }

    #[test]
    fn a_failing_or_slow_model_falls_back() {
        let budget = roomy();
        let digest = LogDigest::from_events(&incident(), &budget);
        let summary = summarise(
            &digest,
            Some(&FakeModel::failing(|| ModelError::OutOfTime)),
            &budget,
        );
        assert_eq!(summary.model, "none");
        assert_eq!(
            summary.fallback.as_deref(),
            Some("model failed: model time budget spent")
        );
        assert!(summary.text.starts_with("Likely cause: [C2]"));
    }

    #[test]
    fn the_prompt_is_cut_to_the_token_budget() {
        let model = FakeModel::answering("[C2]");
        let budget = ReportBudget {
            prompt_tokens: 120,
            ..roomy()
        };
        let digest = LogDigest::from_events(&incident(), &budget);
        let summary = summarise(&digest, Some(&model), &budget);
        assert!(summary.prompt_tokens <= 120, "{}", summary.prompt_tokens);
        assert!(model.last_prompt().contains("[C1]"));
        assert!(!model.last_prompt().contains("[T4]"));
    }

    #[test]
    fn without_errors_the_model_is_not_asked() {
        let lines: Vec<LogLine> = (0..50)
            .map(|i| LogLine::new(i, "I", "ui", &format!("frame {i} drawn")))
            .collect();
        let model = FakeModel::answering("[T1]");
        let report = build_report(&lines, "d", Some(&model), &ReportBudget::default());
        assert!(model.prompts.lock().unwrap().is_empty());
        assert!(
            report.summary.starts_with("No errors in 50 lines."),
            "{}",
            report.summary
        );
        assert!(report.critical.is_empty());
    }

    #[test]
    fn the_report_fits_its_byte_cap() {
        let mut lines = incident();
        for i in 0..400 {
            lines.push(LogLine::new(
                i,
                "E",
                &format!("Module{i}"),
                &format!("failure kind {i} in step alpha beta gamma delta epsilon"),
            ));
        }
        let budget = ReportBudget {
            max_bytes: Some(3000),
            ..ReportBudget::default()
        };
        let report = build_report(&lines, "d", None, &budget);
        let size = serde_json::to_vec(&report).unwrap().len();
        assert!(size <= 3000, "{size} bytes");
        // Ids still match positions after entries were dropped.
        let digest = LogDigest::from_events(&lines, &budget);
        for (n, e) in digest.critical.iter().enumerate() {
            assert_eq!(e.id, format!("C{}", n + 1));
        }
        assert!(digest
            .onset
            .as_deref()
            .and_then(|id| digest.entry(id))
            .is_some());
    }

    #[test]
    fn an_empty_window_makes_a_small_report() {
        let report = build_report(&[], "d", None, &ReportBudget::default());
        assert_eq!((report.lines, report.bytes), (0, 0));
        assert!(report.summary.starts_with("No errors in 0 lines."));
    }
}
