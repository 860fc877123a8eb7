//! The arbiter: the merge step for text hunks that word diff3 cannot merge, and the
//! chooser of the suggestion for a hunk a person must review.
//!
//! It builds the candidate resolutions of a hunk (`merge::candidates`) and chooses one:
//! by structure (`structural.rs`), or with a model by likelihood in the document's
//! context (`likelihood.rs`), by a labelled choice prompt (`prompt.rs`) or by writing the
//! merge itself (`generate.rs`); `context.rs` holds what every prompt shows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::candidates::{candidates, Candidate};
use super::decision::{Suggestion, SuggestionReason};
use super::hunk::ConflictHunk;
use crate::interrupt::InterruptHandle;
use crate::model::{Budget, LanguageModel};

mod context;
mod generate;
mod likelihood;
mod prompt;
mod structural;
#[cfg(test)]
mod tests;

/// One resolution a model may choose: its label for the log and its text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Offer<'a> {
    label: &'a str,
    text: &'a str,
}

/// What the arbiter chose for a hunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The text that replaces the hunk.
    pub text: String,
    /// Which candidate or method won, for the conflict log.
    pub detail: String,
    /// The winning candidate's score, when the method scores.
    pub score: Option<f64>,
    /// True when the resolution drops something one side added or adds text that is in
    /// neither side: allowed, but a person should look.
    pub needs_review: bool,
}

/// Why the arbiter gave no resolution; the pipeline then keeps both sides.
#[derive(Debug, thiserror::Error)]
pub enum ArbiterError {
    /// The model failed or ran out of budget.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// No candidate passed validation.
    #[error("no valid candidate: {0}")]
    NoValidCandidate(String),
}

/// Decides overlapping hunks. Implemented over a [`crate::model::LanguageModel`]; the
/// pipeline works, and is tested, with none.
pub trait Arbiter: Send + Sync {
    /// Name recorded in the conflict log as `arbiter:<name>`.
    fn name(&self) -> &str;

    /// Resolves one hunk, or says why it cannot.
    fn resolve(&self, hunk: &ConflictHunk<'_>) -> Result<Resolution, ArbiterError>;

    /// The suggestion for a hunk whose resolution is flagged for review, given the
    /// structural one (see `merge::suggest`). The default keeps the structural
    /// suggestion; an arbiter with a model may choose another.
    fn suggest(&self, hunk: &ConflictHunk<'_>, structural: Suggestion) -> Suggestion {
        let _ = hunk;
        structural
    }
}

/// How [`CandidateArbiter`] chooses when more than one candidate is clean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The first clean candidate in structural preference order (see
    /// [`CandidateKind`]); no model call.
    Structural,
    /// The clean candidate the model finds most likely in the document's own context:
    /// the text before the hunk as the prompt, each candidate followed by the text after
    /// it as the continuation, mean log-probability per token.
    DocumentLikelihood,
    /// A constrained choice: the model is shown the context, the base, both sides and
    /// the clean candidates labelled A, B, C… in its own chat format, and the label it
    /// finds most likely as the answer wins (the label tokens are scored, nothing is
    /// generated). Scored in two orders (as built, then reversed) and summed, so a
    /// preference for the first or last label cancels.
    Prompt,
    /// The model writes the merged hunk (greedy, within the token and time budget). The
    /// text is kept only when it passes the candidates' check (nothing either side
    /// added dropped, nothing invented); otherwise the structural choice decides and the
    /// detail says why. Asked where more than one candidate is clean, or none is.
    Generate,
}

impl Choice {
    /// Name recorded in the conflict log.
    pub fn label(self) -> &'static str {
        match self {
            Choice::Structural => "structural",
            Choice::DocumentLikelihood => "likelihood",
            Choice::Prompt => "prompt",
            Choice::Generate => "generate",
        }
    }
}

/// Limits and method of [`CandidateArbiter`].
#[derive(Debug, Clone)]
pub struct ArbiterOptions {
    /// How to choose among clean candidates.
    pub choice: Choice,
    /// Wall time for one hunk; past it the hunk is left to the keep-both fallback.
    pub time_budget: Duration,
    /// Lines of the text before the hunk given to the model.
    pub context_lines: usize,
    /// Lines of the text after the hunk appended to each candidate.
    pub after_lines: usize,
    /// Most characters of candidates (with their after-context) worth a model call; a
    /// larger hunk is decided structurally.
    pub max_scored_chars: usize,
    /// Longer candidates are scored on their first lines up to this many characters.
    pub max_candidate_chars: usize,
    /// [`Choice::Prompt`] and [`Choice::Generate`]: most characters of hunk and
    /// candidates shown in one prompt; a larger hunk is decided structurally.
    pub max_prompt_chars: usize,
    /// [`Choice::Prompt`]: also score the labels with the candidates in reverse order and
    /// sum, against the model's preference for a position.
    pub both_orders: bool,
    /// How the suggestion for a flagged hunk is chosen: [`Choice::Structural`] keeps the
    /// structural suggestion (see `merge::suggest`); a model method lets the model choose
    /// among it and every candidate. Independent of `choice`, so the model can be
    /// measured (and used) for suggestions alone.
    pub suggestion: Choice,
}

impl Default for ArbiterOptions {
    fn default() -> Self {
        ArbiterOptions {
            // Measured on the merge benchmark (bench/results/merge-dev.md): with SmolLM2-135M
            // likelihood and the choice prompt picked worse than the structural order and
            // no generated merge passed the check, so structure decides unless a caller
            // asks for the model.
            choice: Choice::Structural,
            time_budget: Duration::from_secs(10),
            context_lines: 6,
            after_lines: 3,
            max_scored_chars: 20_000,
            max_candidate_chars: 300,
            max_prompt_chars: 6_000,
            both_orders: true,
            // Measured on merge-dev with `accord merge --suggest` (bench/results/merge-dev.md).
            suggestion: Choice::Structural,
        }
    }
}

/// The arbiter: builds the candidate resolutions of a hunk ([`candidates`]), keeps the
/// clean ones (nothing either side added lost, nothing invented, no rival versions side
/// by side), and chooses among them — by the model when one is given and more than one
/// is clean, else by structural preference. When no candidate is clean it returns the
/// best lossless one flagged for review (or the first candidate, flagged, if none is
/// lossless).
///
/// Model errors, a spent time budget and an interrupt are returned as
/// [`ArbiterError::Model`], so the caller keeps both sides; the arbiter never panics on
/// its input.
pub struct CandidateArbiter {
    model: Option<Arc<dyn LanguageModel>>,
    options: ArbiterOptions,
    interrupt: Option<InterruptHandle>,
    name: String,
}

impl std::fmt::Debug for CandidateArbiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandidateArbiter")
            .field("name", &self.name)
            .field("options", &self.options)
            .finish()
    }
}

impl CandidateArbiter {
    /// An arbiter that lets `model` choose among clean candidates.
    /// With [`Choice::Structural`] the model is never called and the arbiter is
    /// recorded as `structural`.
    pub fn with_model(model: Arc<dyn LanguageModel>, options: ArbiterOptions) -> Self {
        let name = match options.choice {
            Choice::DocumentLikelihood | Choice::Prompt | Choice::Generate => {
                model.name().to_string()
            }
            Choice::Structural => "structural".to_string(),
        };
        CandidateArbiter {
            model: Some(model),
            options,
            interrupt: None,
            name,
        }
    }

    /// An arbiter with no model: the structural choice only. Recorded as
    /// `arbiter:structural`.
    pub fn structural() -> Self {
        CandidateArbiter {
            model: None,
            options: ArbiterOptions {
                choice: Choice::Structural,
                ..ArbiterOptions::default()
            },
            interrupt: None,
            name: "structural".to_string(),
        }
    }

    /// The same arbiter, stopped by `interrupt` (a model call in flight ends with
    /// [`crate::model::ModelError::Cancelled`]).
    pub fn with_interrupt(mut self, interrupt: InterruptHandle) -> Self {
        self.interrupt = Some(interrupt);
        self
    }

    /// Its options.
    pub fn options(&self) -> &ArbiterOptions {
        &self.options
    }

    fn budget(&self, started: Instant) -> Budget {
        self.token_budget(started, usize::MAX)
    }

    fn token_budget(&self, started: Instant, max_tokens: usize) -> Budget {
        let left = self.options.time_budget.saturating_sub(started.elapsed());
        let budget = Budget::new(max_tokens, left);
        match &self.interrupt {
            Some(i) => budget.with_interrupt(i.clone()),
            None => budget,
        }
    }
}

/// The index of the highest score; ties keep the structural order (the earlier wins).
fn best_index(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = i;
        }
    }
    best
}

/// The offers other than `best` with their scores, for the detail.
fn others(offers: &[Offer<'_>], scores: &[f64], best: usize) -> String {
    offers
        .iter()
        .zip(scores)
        .enumerate()
        .filter(|(i, _)| *i != best)
        .map(|(_, (o, s))| format!("{} {s:.3}", o.label))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The clean candidates as offers.
fn offers<'a>(clean: &[&'a Candidate]) -> Vec<Offer<'a>> {
    clean
        .iter()
        .map(|c| Offer {
            label: c.kind.label(),
            text: &c.text,
        })
        .collect()
}

impl Arbiter for CandidateArbiter {
    fn name(&self) -> &str {
        &self.name
    }

    fn resolve(&self, hunk: &ConflictHunk<'_>) -> Result<Resolution, ArbiterError> {
        let started = Instant::now();
        if let Some(stop) = self.budget(started).exhausted() {
            return Err(stop.into());
        }
        let all = candidates(hunk);
        let clean: Vec<&Candidate> = all.iter().filter(|c| !c.needs_review()).collect();
        let choice = self.options.choice;
        let Some(model) = self
            .model
            .as_deref()
            .filter(|_| choice != Choice::Structural)
        else {
            let why = if clean.len() == 1 {
                "the only clean candidate"
            } else {
                "by structure"
            };
            return self.by_structure(&all, &clean, started, why, "");
        };
        // Generation may help where no candidate is clean; choosing needs two to choose
        // from.
        let asked = match choice {
            Choice::Generate => clean.len() != 1,
            _ => clean.len() > 1,
        };
        if !asked {
            let why = if clean.len() == 1 {
                "the only clean candidate"
            } else {
                "by structure"
            };
            return self.by_structure(&all, &clean, started, why, "");
        }
        let shown = offers(&clean);
        let too_long = match choice {
            Choice::DocumentLikelihood => {
                clean.iter().map(|c| c.text.len()).sum::<usize>() > self.options.max_scored_chars
            }
            _ => self.prompt_chars(choice, hunk, &shown) > self.options.max_prompt_chars,
        };
        if too_long {
            let why = match choice {
                Choice::DocumentLikelihood => "by structure: too long to score",
                _ => "by structure: too long to ask",
            };
            return self.by_structure(&all, &clean, started, why, "");
        }
        let ms = |started: Instant| started.elapsed().as_secs_f64() * 1000.0;
        match choice {
            Choice::Structural => self.by_structure(&all, &clean, started, "by structure", ""),
            Choice::DocumentLikelihood => {
                let (best, scores) = self.choose_by_likelihood(model, hunk, &shown, started)?;
                Ok(Resolution {
                    text: clean[best].text.clone(),
                    detail: format!(
                        "{}: most likely in context by {} (mean logprob {:.3}; {}; {} of {} candidates clean), {:.0} ms",
                        shown[best].label,
                        self.name,
                        scores[best],
                        others(&shown, &scores, best),
                        clean.len(),
                        all.len(),
                        ms(started)
                    ),
                    score: Some(scores[best]),
                    needs_review: false,
                })
            }
            Choice::Prompt => {
                let p = self.choose_by_prompt(model, hunk, &shown, started)?;
                let n = p.sums.len();
                Ok(Resolution {
                    text: clean[p.best].text.clone(),
                    detail: format!(
                        "{}: chosen by {} from a labelled prompt (label logprob {:.3} over {} order(s); {}; first order alone: {}; {} of {} candidates clean), {:.0} ms",
                        shown[p.best].label,
                        self.name,
                        p.sums[p.best],
                        p.orders,
                        others(&shown[..n], &p.sums, p.best),
                        shown[p.first_order_best].label,
                        clean.len(),
                        all.len(),
                        ms(started)
                    ),
                    score: Some(p.sums[p.best]),
                    needs_review: false,
                })
            }
            Choice::Generate => self.generated(model, hunk, &all, &clean, started),
        }
    }

    /// With a model and a model method, the model chooses the suggestion among the
    /// structural one and every candidate (one side alone included: a suggestion may
    /// drop a rival rewrite, since the conflict log keeps both). A generated suggestion
    /// is used when it invents nothing. Any model error, a spent budget, or a hunk too
    /// long to ask keeps the structural suggestion.
    fn suggest(&self, hunk: &ConflictHunk<'_>, structural: Suggestion) -> Suggestion {
        let started = Instant::now();
        let choice = self.options.suggestion;
        let Some(model) = self
            .model
            .as_deref()
            .filter(|_| choice != Choice::Structural)
        else {
            return structural;
        };
        let all = candidates(hunk);
        let mut shown = vec![Offer {
            label: "structural",
            text: &structural.text,
        }];
        for c in &all {
            if shown.iter().all(|o| o.text != c.text) {
                shown.push(Offer {
                    label: c.kind.label(),
                    text: &c.text,
                });
            }
        }
        let too_long = match choice {
            Choice::DocumentLikelihood => {
                shown.iter().map(|o| o.text.len()).sum::<usize>() > self.options.max_scored_chars
            }
            _ => self.prompt_chars(choice, hunk, &shown) > self.options.max_prompt_chars,
        };
        if shown.len() < 2 && choice != Choice::Generate || too_long {
            return structural;
        }
        let chosen = match choice {
            Choice::Structural => return structural,
            Choice::DocumentLikelihood => self
                .choose_by_likelihood(model, hunk, &shown, started)
                .map(|(best, _)| (shown[best].label.to_string(), shown[best].text.to_string())),
            Choice::Prompt => self
                .choose_by_prompt(model, hunk, &shown, started)
                .map(|p| {
                    (
                        shown[p.best].label.to_string(),
                        shown[p.best].text.to_string(),
                    )
                }),
            Choice::Generate => match self.write_merge(model, hunk, started) {
                Ok(generate::Written::Text { text, .. })
                    if super::candidates::check(hunk, &text).foreign.is_empty() =>
                {
                    let label = shown
                        .iter()
                        .find(|o| o.text == text)
                        .map_or("generated", |o| o.label);
                    Ok((label.to_string(), text))
                }
                Ok(_) => return structural,
                Err(e) => Err(e),
            },
        };
        match chosen {
            Ok((chose, text)) => Suggestion {
                text,
                reason: SuggestionReason::Model {
                    model: model.name().to_string(),
                    method: choice.label().to_string(),
                    chose,
                },
            },
            Err(_) => structural,
        }
    }
}
