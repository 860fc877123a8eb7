//! Step 1 of the report: mine the window and choose the templates it keeps. Errors that
//! were already there before the error rate rose are background; the first error that
//! was not is where the incident starts (the onset), and the warnings that first
//! appeared shortly before it are its likely precursors.

use super::{
    truncate_chars, DigestEntry, LogDigest, ReportBudget, MAX_PRECURSORS, MAX_SUMMARY_BYTES,
    PRECURSOR_REACH_MS,
};
use crate::line::{LogLevel, LogLine};
use crate::miner::{Template, TemplateMiner};

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

#[cfg(test)]
mod tests {
    use super::super::build_report;
    use super::super::test_support::{incident, roomy};

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
}
