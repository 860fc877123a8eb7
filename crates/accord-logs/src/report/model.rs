//! Step 3 with a model: the root-cause paragraph asked of the on-device model, from the
//! templates only (never raw lines), and used only when it cites templates of the report.

use std::time::{Duration, Instant};

use accord_model_api::{Budget, ChatMessage, LanguageModel};

use super::{truncate_json_bytes, LogDigest, ReportBudget, Summary};
use crate::line::format_time;

impl LogDigest {
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
pub(crate) fn citations(text: &str, digest: &LogDigest) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in accord_protocol::citations(text) {
        if digest.entry(&c.id).is_some() && !out.contains(&c.id) {
            out.push(c.id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::build_report;
    use super::super::test_support::{incident, roomy};
    use super::*;
    use crate::line::LogLine;
    use accord_model_api::ModelError;
    use accord_test_support::FakeModel;

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
        assert_eq!(model.last_max_tokens(), Some(budget.summary_tokens));
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
        assert_eq!(summary.text, digest.deterministic_summary());
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
        assert!(model.prompts().is_empty());
        assert!(
            report.summary.starts_with("No errors in 50 lines."),
            "{}",
            report.summary
        );
        assert!(report.critical.is_empty());
    }
}
