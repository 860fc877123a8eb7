//! Step 2 of the report: drop detail until it fits its byte cap, least useful first, and
//! keep the ids (`C1`, `T1`, ...) matching positions.

use std::time::Duration;

use super::{truncate_chars, DigestEntry, LogDigest, Summary};

impl LogDigest {
    /// Drops detail until the report without its paragraph fits in `cap` bytes: slot
    /// examples, then the length of raw examples, then the least frequent templates,
    /// then errors seen before the rise, then the length of template texts, then the
    /// other errors. The onset and the warning just before it go last.
    pub(super) fn fit(&mut self, cap: usize, summary_reserve: usize) {
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

#[cfg(test)]
mod tests {
    use super::super::test_support::incident;
    use super::super::{build_report, LogDigest, ReportBudget};
    use crate::line::LogLine;

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
}
