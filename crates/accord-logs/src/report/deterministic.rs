//! Step 3 without a model: the root-cause paragraph written from the digest alone.

use super::{json_bytes, plural, truncate_chars, truncate_json_bytes, DigestEntry, LogDigest};
use crate::line::format_time;

impl LogDigest {
    /// The paragraph written without a model: as the likely cause, the warning that
    /// first appeared just before the first new error, else that error; then what
    /// followed and what recurs throughout.
    pub fn deterministic_summary(&self) -> String {
        let quote =
            |e: &DigestEntry| format!("[{}] \"{}\"", e.id, truncate_chars(&e.display(), 100));
        let clock = |ms: i64| format_time(ms).get(11..19).unwrap_or_default().to_string();
        let mut parts: Vec<String> = Vec::new();
        match self.onset.as_deref().and_then(|id| self.entry(id)) {
            Some(onset) => {
                let first_error = format!(
                    "{} (first at {}, {} line{})",
                    quote(onset),
                    clock(onset.template.first_ms),
                    onset.template.count,
                    plural(onset.template.count)
                );
                // A warning that first appeared just before the first new error is where
                // things went wrong first; the error is what it led to.
                let mut warnings = self.precursors.iter().filter_map(|id| self.entry(id));
                match warnings.next() {
                    Some(w) => parts.push(format!(
                        "Likely cause: warning {} (first at {}), just before the first new error {}.",
                        quote(w),
                        clock(w.template.first_ms),
                        first_error
                    )),
                    None => parts.push(format!("Likely cause: {first_error}.")),
                }
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
}

#[cfg(test)]
mod tests {
    use super::super::model::citations;
    use super::super::test_support::{incident, roomy};
    use super::*;

    #[test]
    fn the_warning_just_before_the_first_new_error_is_named_first() {
        let digest = LogDigest::from_events(&incident(), &roomy());
        assert_eq!(digest.onset.as_deref(), Some("C2"));
        let text = digest.deterministic_summary();
        assert!(text.starts_with("Likely cause: warning [T"), "{text}");
        assert!(
            text.contains("StorageMonitor: low storage: <*> free"),
            "{text}"
        );
        assert!(
            text.contains(
                "just before the first new error [C2] \"NotesDb: SQLiteFullException: database or disk is full"
            ),
            "{text}"
        );
        let cited = citations(&text, &digest);
        assert_eq!(cited[1], "C2");
        assert_eq!(digest.precursors.first(), cited.first());
    }
}
