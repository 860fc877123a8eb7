//! [`Choice::Generate`](super::Choice::Generate): the model writes the merged hunk, and the
//! text is used only when the candidates' check allows it.

use std::collections::HashSet;
use std::time::Instant;

use super::context::{describe_hunk, lines_tail};
use super::{ArbiterError, CandidateArbiter, Resolution};
use crate::merge::candidates::{check, Candidate, Check};
use crate::merge::hunk::{lines, ConflictHunk};
use crate::model::{ChatMessage, LanguageModel, ModelError, StopReason};

/// What the model wrote for a hunk.
pub(super) enum Written {
    /// A finished merge (the closing fence or the end of text was reached).
    Text {
        /// The merged hunk, ending with a line break when the inputs do.
        text: String,
        /// Tokens generated.
        tokens: usize,
    },
    /// The budget ran out first; why, in words.
    Unfinished(String),
}

/// Why a generated merge cannot be used, in words for the log.
fn rejection(c: &Check) -> String {
    let mut why = Vec::new();
    if !c.dropped.is_empty() {
        why.push(format!("drops {} line(s) a side added", c.dropped.len()));
    }
    if !c.foreign.is_empty() {
        why.push(format!("invents {} line(s)", c.foreign.len()));
    }
    if !c.duplicated.is_empty() {
        why.push(format!("repeats {} line(s)", c.duplicated.len()));
    }
    why.join(", ")
}

impl CandidateArbiter {
    /// Asks the model to write the merged hunk (greedy, within the budget).
    pub(super) fn write_merge(
        &self,
        model: &dyn LanguageModel,
        hunk: &ConflictHunk<'_>,
        started: Instant,
    ) -> Result<Written, ArbiterError> {
        let before = lines_tail(hunk.before, self.options.context_lines, 1_500);
        let mut question = describe_hunk(before, hunk);
        question.push_str(
            "\nWrite the merged passage: keep what each person added or changed, in a \
             sensible order, and add nothing of your own. Answer with the merged passage \
             only, in a ``` block.",
        );
        let mut prompt = model.chat_prompt(&[
            ChatMessage::system(
                "You are a careful editor. You merge two people's edits of a text file.",
            ),
            ChatMessage::user(question),
        ])?;
        // The answer starts inside the block, so its end is the closing fence.
        prompt.push_str("```\n");
        let max_tokens = model.count_tokens(hunk.local)? + model.count_tokens(hunk.remote)? + 16;
        let budget = self.token_budget(started, max_tokens);
        if let Some(stop) = budget.exhausted() {
            return Err(stop.into());
        }
        let generation = model.generate(&prompt, &budget)?;
        if generation.stop == StopReason::Cancelled {
            return Err(ModelError::Cancelled.into());
        }
        let tokens = generation.tokens;
        let closed = generation.text.find("```");
        if closed.is_none() && generation.stop != StopReason::EndOfText {
            let why = match generation.stop {
                StopReason::OutOfTime => "time budget spent",
                _ => "token budget spent",
            };
            return Ok(Written::Unfinished(format!(
                "unfinished after {tokens} tokens ({why})"
            )));
        }
        let mut text = match closed {
            Some(end) => generation.text[..end].to_string(),
            None => generation.text,
        };
        let newline = [hunk.local, hunk.remote, hunk.base]
            .iter()
            .any(|t| t.ends_with('\n'));
        if newline && !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(Written::Text { text, tokens })
    }

    /// [`Choice::Generate`]: the model's merge when it passes the candidates' check,
    /// else the structural choice with the reason in the detail.
    pub(super) fn generated(
        &self,
        model: &dyn LanguageModel,
        hunk: &ConflictHunk<'_>,
        all: &[Candidate],
        clean: &[&Candidate],
        started: Instant,
    ) -> Result<Resolution, ArbiterError> {
        let reject = |why: String| {
            self.by_structure(
                all,
                clean,
                started,
                "by structure",
                &format!("; generated merge by {} rejected: {why}", self.name),
            )
        };
        let (text, tokens) = match self.write_merge(model, hunk, started)? {
            Written::Text { text, tokens } => (text, tokens),
            Written::Unfinished(why) => return reject(why),
        };
        let c = check(hunk, &text);
        if !c.is_clean() {
            return reject(rejection(&c));
        }
        // Review as for candidates: the same text as a candidate is judged as that
        // candidate; new text is flagged when a line of it is in no input verbatim (a
        // rewording) or when the sides are rival rewrites (no clean candidate).
        let same = all.iter().find(|cand| cand.text == text);
        let (needs_review, what) = match same {
            Some(cand) => (cand.needs_review(), format!("= {}", cand.kind.label())),
            None => {
                let input: HashSet<&str> = [hunk.base, hunk.local, hunk.remote]
                    .iter()
                    .flat_map(|t| lines(t))
                    .collect();
                let reworded = lines(&text).iter().any(|l| !input.contains(l));
                (reworded || clean.is_empty(), "new text".to_string())
            }
        };
        Ok(Resolution {
            text,
            detail: format!(
                "generated: by {} ({what}; {tokens} tokens; passes the check; {} of {} candidates clean), {:.0} ms",
                self.name,
                clean.len(),
                all.len(),
                started.elapsed().as_secs_f64() * 1000.0
            ),
            score: None,
            needs_review,
        })
    }
}
