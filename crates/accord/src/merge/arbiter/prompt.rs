//! [`Choice::Prompt`](super::Choice::Prompt): a labelled choice prompt; the label the
//! model finds most likely as the answer wins, over both orders of the offers.

use std::time::Instant;

use super::context::{describe_hunk, fenced, lines_tail, LABELS};
use super::{best_index, ArbiterError, CandidateArbiter, Offer};
use crate::merge::hunk::ConflictHunk;
use crate::model::{ChatMessage, LanguageModel};

/// What a labelled prompt decided.
pub(super) struct PromptChoice {
    /// Index of the winning offer.
    pub best: usize,
    /// Each offer's label log-probability, summed over the orders asked.
    pub sums: Vec<f64>,
    /// How many orders were asked.
    pub orders: usize,
    /// The winner of the first order alone (to see position bias).
    pub first_order_best: usize,
}

impl CandidateArbiter {
    /// The user turn of a choice prompt: the hunk, then the offers shown, labelled.
    fn choice_question(&self, hunk: &ConflictHunk<'_>, shown: &[&Offer<'_>]) -> String {
        let before = lines_tail(hunk.before, self.options.context_lines, 1_500);
        let mut q = describe_hunk(before, hunk);
        q.push_str("\nPossible merges:\n");
        for (label, o) in LABELS.iter().zip(shown) {
            q.push_str(&format!("\nMerge {label}:\n{}", fenced(o.text)));
        }
        let labels = LABELS[..shown.len()].join(", ");
        q.push_str(&format!(
            "\nWhich merge would a careful editor commit? Answer with one letter ({labels})."
        ));
        q
    }

    /// Asks the labelled prompt over the first eight offers.
    pub(super) fn choose_by_prompt(
        &self,
        model: &dyn LanguageModel,
        hunk: &ConflictHunk<'_>,
        offers: &[Offer<'_>],
        started: Instant,
    ) -> Result<PromptChoice, ArbiterError> {
        let n = offers.len().min(LABELS.len());
        let forward: Vec<usize> = (0..n).collect();
        let mut orders = vec![forward.clone()];
        if self.options.both_orders {
            orders.push(forward.iter().rev().copied().collect());
        }
        let mut sums = vec![0.0; n];
        let mut first_order = Vec::new();
        for order in &orders {
            let shown: Vec<&Offer<'_>> = order.iter().map(|&i| &offers[i]).collect();
            let prompt = model.chat_prompt(&[
                ChatMessage::system(
                    "You are a careful editor. You merge two people's edits of a text file.",
                ),
                ChatMessage::user(self.choice_question(hunk, &shown)),
            ])?;
            let budget = self.budget(started);
            if let Some(stop) = budget.exhausted() {
                return Err(stop.into());
            }
            let scores = model.score(&prompt, &LABELS[..n], &budget)?;
            for (pos, &i) in order.iter().enumerate() {
                let lp = scores.get(pos).map_or(f64::NEG_INFINITY, |s| s.logprob);
                sums[i] += lp;
                if first_order.len() < n {
                    first_order.push(lp);
                }
            }
        }
        Ok(PromptChoice {
            best: best_index(&sums),
            first_order_best: best_index(&first_order),
            orders: orders.len(),
            sums,
        })
    }

    /// Characters the model would be shown for `hunk` with `offers` as the choices.
    pub(super) fn prompt_chars(
        &self,
        choice: super::Choice,
        hunk: &ConflictHunk<'_>,
        offers: &[Offer<'_>],
    ) -> usize {
        let shown: usize = match choice {
            super::Choice::Prompt => offers.iter().map(|o| o.text.len()).sum(),
            _ => 0,
        };
        hunk.base.len() + hunk.local.len() + hunk.remote.len() + shown
    }
}
