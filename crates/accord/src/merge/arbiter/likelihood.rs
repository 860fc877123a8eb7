//! [`Choice::DocumentLikelihood`](super::Choice::DocumentLikelihood): the offer the model
//! finds most likely in the document's own context.

use std::time::Instant;

use super::context::lines_head;
use super::context::lines_tail;
use super::{best_index, ArbiterError, CandidateArbiter, Offer};
use crate::merge::hunk::ConflictHunk;
use crate::model::LanguageModel;

impl CandidateArbiter {
    /// Mean log-probability per token of each candidate in the document's context.
    fn document_likelihood(
        &self,
        model: &dyn LanguageModel,
        hunk: &ConflictHunk<'_>,
        texts: &[&str],
        started: Instant,
    ) -> Result<Vec<f64>, ArbiterError> {
        let before = lines_tail(hunk.before, self.options.context_lines, 1_500);
        // The model needs at least one token to predict the first candidate token from.
        let prompt = if before.is_empty() { "\n" } else { before };
        let after = lines_head(hunk.after, self.options.after_lines, 400);
        // Long candidates are scored on their opening lines only (where orders differ
        // most visibly), which bounds the cost; a whole candidate is followed by the
        // text after the hunk, so its fit with what follows counts too.
        let conts: Vec<String> = texts
            .iter()
            .map(|t| {
                let head = lines_head(t, usize::MAX, self.options.max_candidate_chars);
                if head.len() == t.len() {
                    format!("{t}{after}")
                } else {
                    head.to_string()
                }
            })
            .collect();
        let refs: Vec<&str> = conts.iter().map(String::as_str).collect();
        let budget = self.budget(started);
        if let Some(stop) = budget.exhausted() {
            return Err(stop.into());
        }
        let scores = model.score(prompt, &refs, &budget)?;
        if scores.len() != refs.len() {
            return Err(crate::model::ModelError::Runtime(format!(
                "the model scored {} of {} candidates",
                scores.len(),
                refs.len()
            ))
            .into());
        }
        Ok(scores.iter().map(|s| s.mean()).collect())
    }

    /// The index of the offer most likely in context, and every offer's score (mean
    /// log-probability per token).
    pub(super) fn choose_by_likelihood(
        &self,
        model: &dyn LanguageModel,
        hunk: &ConflictHunk<'_>,
        offers: &[Offer<'_>],
        started: Instant,
    ) -> Result<(usize, Vec<f64>), ArbiterError> {
        let texts: Vec<&str> = offers.iter().map(|o| o.text).collect();
        let scores = self.document_likelihood(model, hunk, &texts, started)?;
        Ok((best_index(&scores), scores))
    }
}
