//! The arbiter: the merge step for text hunks that line diff3 cannot merge.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::candidates::{candidates, Candidate, CandidateKind};
use crate::interrupt::InterruptHandle;
use crate::model::{Budget, LanguageModel};

/// One hunk both sides changed in overlapping ways, with its surroundings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictHunk<'a> {
    /// The merged text before the hunk (context).
    pub before: &'a str,
    /// The hunk in the common ancestor.
    pub base: &'a str,
    /// The hunk on this device.
    pub local: &'a str,
    /// The hunk on the other device.
    pub remote: &'a str,
    /// The text after the hunk (context).
    pub after: &'a str,
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
}

impl Default for ArbiterOptions {
    fn default() -> Self {
        ArbiterOptions {
            // Measured on the merge benchmark (bench/results/merge-dev.md): SmolLM2-135M's
            // likelihood picked worse than the structural order, so structure decides
            // unless a caller asks for the model.
            choice: Choice::Structural,
            time_budget: Duration::from_secs(10),
            context_lines: 6,
            after_lines: 3,
            max_scored_chars: 20_000,
            max_candidate_chars: 300,
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
            Choice::DocumentLikelihood => model.name().to_string(),
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
        let left = self.options.time_budget.saturating_sub(started.elapsed());
        let budget = Budget::new(usize::MAX, left);
        match &self.interrupt {
            Some(i) => budget.with_interrupt(i.clone()),
            None => budget,
        }
    }

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
        Ok(scores.iter().map(|s| s.mean()).collect())
    }
}

/// The last `n` lines of `text`, from the earliest of them that keeps the tail within
/// `max_chars` (empty when even the last line is longer).
fn lines_tail(text: &str, n: usize, max_chars: usize) -> &str {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let starts: Vec<usize> = std::iter::once(0)
        .chain(body.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let from = starts.len().saturating_sub(n);
    starts[from..]
        .iter()
        .find(|&&s| text.len() - s <= max_chars)
        .map_or("", |&s| &text[s..])
}

/// The first `n` lines of `text`, as many as fit in `max_chars`.
fn lines_head(text: &str, n: usize, max_chars: usize) -> &str {
    let mut end = 0;
    for (k, piece) in text.split_inclusive('\n').enumerate() {
        if k >= n || end + piece.len() > max_chars {
            break;
        }
        end += piece.len();
    }
    &text[..end]
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
        let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;

        if clean.is_empty() {
            // Nothing a person would accept unseen: the best candidate that loses
            // nothing (rival versions side by side), flagged; else say why not.
            // Verbatim sides before a word merge: a person then picks, nothing is reworded.
            let lossless = all
                .iter()
                .find(|c| c.check.is_clean() && c.kind != CandidateKind::WordMerge)
                .or_else(|| all.iter().find(|c| c.check.is_clean()));
            return match lossless {
                Some(c) => Ok(Resolution {
                    text: c.text.clone(),
                    detail: format!(
                        "{}: rival edits, both kept (0 of {} candidates clean), {:.0} ms",
                        c.kind.label(),
                        all.len(),
                        ms(started)
                    ),
                    score: None,
                    needs_review: true,
                }),
                None => Err(ArbiterError::NoValidCandidate(format!(
                    "all {} candidates drop or invent text",
                    all.len()
                ))),
            };
        }

        let scored_chars: usize = clean.iter().map(|c| c.text.len()).sum();
        let model = match (&self.model, self.options.choice) {
            (Some(m), Choice::DocumentLikelihood)
                if clean.len() > 1 && scored_chars <= self.options.max_scored_chars =>
            {
                Some(m)
            }
            _ => None,
        };
        let Some(model) = model else {
            let c = clean[0];
            let why = if clean.len() == 1 {
                "the only clean candidate"
            } else if self.model.is_some() && scored_chars > self.options.max_scored_chars {
                "by structure: too long to score"
            } else {
                "by structure"
            };
            return Ok(Resolution {
                text: c.text.clone(),
                detail: format!(
                    "{}: {why} ({} of {} candidates clean), {:.0} ms",
                    c.kind.label(),
                    clean.len(),
                    all.len(),
                    ms(started)
                ),
                score: None,
                needs_review: false,
            });
        };

        let texts: Vec<&str> = clean.iter().map(|c| c.text.as_str()).collect();
        let scores = self.document_likelihood(model.as_ref(), hunk, &texts, started)?;
        // Ties keep the structural order: the earlier candidate wins.
        let mut best = 0;
        for (i, s) in scores.iter().enumerate() {
            if *s > scores[best] {
                best = i;
            }
        }
        let c = clean[best];
        let others: Vec<String> = clean
            .iter()
            .zip(&scores)
            .enumerate()
            .filter(|(i, _)| *i != best)
            .map(|(_, (c, s))| format!("{} {s:.3}", c.kind.label()))
            .collect();
        Ok(Resolution {
            text: c.text.clone(),
            detail: format!(
                "{}: most likely in context by {} (mean logprob {:.3}; {}; {} of {} candidates clean), {:.0} ms",
                c.kind.label(),
                self.name,
                scores[best],
                others.join(", "),
                clean.len(),
                all.len(),
                ms(started)
            ),
            score: Some(scores[best]),
            needs_review: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use proptest::prelude::*;

    use super::*;
    use crate::merge::check;
    use crate::model::{ChatMessage, ContinuationScore, Generation, ModelError};

    /// A model that finds a continuation likely in proportion to how often it contains
    /// `liked`, or fails with `fail`; it records the prompts it was given.
    struct FakeModel {
        liked: &'static str,
        fail: Mutex<Option<ModelError>>,
        prompts: Mutex<Vec<String>>,
    }

    impl FakeModel {
        fn liking(liked: &'static str) -> Arc<FakeModel> {
            Arc::new(FakeModel {
                liked,
                fail: Mutex::new(None),
                prompts: Mutex::new(Vec::new()),
            })
        }

        fn failing(e: ModelError) -> Arc<FakeModel> {
            let m = FakeModel::liking("");
            *m.fail.lock().unwrap() = Some(e);
            m
        }
    }

    impl LanguageModel for FakeModel {
        fn name(&self) -> &str {
            "fake"
        }

        fn chat_prompt(&self, messages: &[ChatMessage]) -> Result<String, ModelError> {
            Ok(messages.iter().map(|m| m.content.as_str()).collect())
        }

        fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
            Ok(text.split_whitespace().count())
        }

        fn score(
            &self,
            prompt: &str,
            continuations: &[&str],
            budget: &Budget,
        ) -> Result<Vec<ContinuationScore>, ModelError> {
            if let Some(e) = self.fail.lock().unwrap().take() {
                return Err(e);
            }
            if let Some(stop) = budget.exhausted() {
                return Err(stop);
            }
            self.prompts.lock().unwrap().push(prompt.to_string());
            Ok(continuations
                .iter()
                .map(|c| ContinuationScore {
                    logprob: if self.liked.is_empty() {
                        -1.0
                    } else {
                        c.matches(self.liked).count() as f64 - 10.0
                    },
                    tokens: 1,
                })
                .collect())
        }

        fn generate(&self, _prompt: &str, _budget: &Budget) -> Result<Generation, ModelError> {
            Err(ModelError::Runtime(
                "the fake model does not generate".into(),
            ))
        }
    }

    fn likelihood() -> ArbiterOptions {
        ArbiterOptions {
            choice: Choice::DocumentLikelihood,
            ..ArbiterOptions::default()
        }
    }

    fn hunk<'a>(base: &'a str, local: &'a str, remote: &'a str) -> ConflictHunk<'a> {
        ConflictHunk {
            before: "# Changelog\n\n",
            base,
            local,
            remote,
            after: "\n## 0.9\n",
        }
    }

    const CHANGELOG: (&str, &str, &str) = (
        "## 1.0\n",
        "## 1.2 (local)\n## 1.0\n",
        "## 1.1 (remote)\n## 1.0\n",
    );

    #[test]
    fn model_chooses_the_order_of_two_additions_at_the_top() {
        let (b, l, r) = CHANGELOG;
        let fake = FakeModel::liking("(remote)\n## 1.2");
        let arbiter = CandidateArbiter::with_model(fake.clone(), likelihood());
        let res = arbiter.resolve(&hunk(b, l, r)).unwrap();
        assert_eq!(res.text, "## 1.1 (remote)\n## 1.2 (local)\n## 1.0\n");
        assert!(!res.needs_review);
        assert!(res.score.is_some());
        assert!(
            res.detail.starts_with("union-remote-first"),
            "{}",
            res.detail
        );
        // The prompt is the document before the hunk.
        assert_eq!(fake.prompts.lock().unwrap()[0], "# Changelog\n\n");
    }

    #[test]
    fn without_a_model_the_structural_order_decides() {
        let (b, l, r) = CHANGELOG;
        let res = CandidateArbiter::structural()
            .resolve(&hunk(b, l, r))
            .unwrap();
        assert_eq!(res.text, "## 1.2 (local)\n## 1.1 (remote)\n## 1.0\n");
        assert_eq!(res.score, None);
        assert!(!res.needs_review);
        assert_eq!(CandidateArbiter::structural().name(), "structural");
    }

    #[test]
    fn a_single_clean_candidate_needs_no_model_call() {
        let fake = FakeModel::failing(ModelError::Runtime("must not be called".into()));
        let arbiter = CandidateArbiter::with_model(fake, likelihood());
        let res = arbiter.resolve(&hunk("a\n", "x\na\n", "a\ny\n")).unwrap();
        assert_eq!(res.text, "x\na\ny\n");
        assert!(!res.needs_review);
        assert!(
            res.detail.starts_with("union-local-first: the only clean"),
            "{}",
            res.detail
        );
    }

    #[test]
    fn rival_rewrites_that_merge_by_words_keep_both_verbatim_for_review() {
        let res = CandidateArbiter::structural()
            .resolve(&hunk(
                "Standup on Tuesday at ten.\n",
                "Standup on Wednesday at ten.\n",
                "Standup on Tuesday at 10:30.\n",
            ))
            .unwrap();
        assert_eq!(
            res.text,
            "Standup on Wednesday at ten.\nStandup on Tuesday at 10:30.\n"
        );
        assert!(res.needs_review);
    }

    #[test]
    fn rival_rewrites_of_one_line_are_kept_both_and_flagged() {
        let res = CandidateArbiter::structural()
            .resolve(&hunk("on Tuesday\n", "on Wednesday\n", "on Thursday\n"))
            .unwrap();
        assert_eq!(res.text, "on Wednesday\non Thursday\n");
        assert!(res.needs_review);
    }

    #[test]
    fn a_model_error_is_an_arbiter_error_so_the_pipeline_keeps_both() {
        let (b, l, r) = CHANGELOG;
        let fake = FakeModel::failing(ModelError::Runtime("weights are garbage".into()));
        let arbiter = CandidateArbiter::with_model(fake, likelihood());
        let err = arbiter.resolve(&hunk(b, l, r)).unwrap_err();
        assert!(
            matches!(err, ArbiterError::Model(ModelError::Runtime(_))),
            "{err}"
        );
    }

    #[test]
    fn a_spent_time_budget_is_an_arbiter_error() {
        let (b, l, r) = CHANGELOG;
        let options = ArbiterOptions {
            time_budget: Duration::ZERO,
            ..likelihood()
        };
        let arbiter = CandidateArbiter::with_model(FakeModel::liking("x"), options);
        let err = arbiter.resolve(&hunk(b, l, r)).unwrap_err();
        assert!(
            matches!(err, ArbiterError::Model(ModelError::OutOfTime)),
            "{err}"
        );
    }

    #[test]
    fn an_interrupt_stops_the_arbiter() {
        let (b, l, r) = CHANGELOG;
        let interrupt = InterruptHandle::new();
        let arbiter = CandidateArbiter::with_model(FakeModel::liking("x"), likelihood())
            .with_interrupt(interrupt.clone());
        interrupt.interrupt();
        let err = arbiter.resolve(&hunk(b, l, r)).unwrap_err();
        assert!(
            matches!(err, ArbiterError::Model(ModelError::Cancelled)),
            "{err}"
        );
    }

    #[test]
    fn context_is_cut_to_whole_lines() {
        assert_eq!(lines_tail("a\nb\nc\n", 2, 100), "b\nc\n");
        assert_eq!(lines_tail("a\nb\nc", 5, 100), "a\nb\nc");
        assert_eq!(lines_tail("a\nbbbbbb\n", 2, 4), "");
        assert_eq!(lines_tail("", 3, 100), "");
        assert_eq!(lines_head("a\nb\nc\n", 2, 100), "a\nb\n");
        assert_eq!(lines_head("a\nb", 5, 100), "a\nb");
        assert_eq!(lines_head("aaaa\nb\n", 2, 3), "");
    }

    /// Lines as a generated hunk side: a few short lines from a small alphabet, so sides
    /// share lines and words often.
    fn side() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d", "e"]), 0..4)
                .prop_map(|w| w.join(" ")),
            0..6,
        )
        .prop_map(|lines| lines.iter().map(|l| format!("{l}\n")).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Whatever the edits, a resolution the arbiter does not flag keeps every line
        /// either side added (verbatim, or its new words in a word-merged line) and
        /// invents nothing.
        #[test]
        fn the_arbiter_never_loses_an_added_line_unless_flagged(
            base in side(), local in side(), remote in side(), liked in 0usize..3,
        ) {
            let h = hunk(&base, &local, &remote);
            let fake = FakeModel::liking(["a", "b\n", "c d"][liked]);
            for arbiter in [
                CandidateArbiter::structural(),
                CandidateArbiter::with_model(fake.clone(), likelihood()),
            ] {
                match arbiter.resolve(&h) {
                    Ok(res) if !res.needs_review => {
                        let c = check(&h, &res.text);
                        prop_assert!(c.is_clean(), "{:?} for {:?}: {:?}", c, h, res);
                        let out: Vec<&str> = res.text.lines().collect();
                        let base_lines: Vec<&str> = base.lines().collect();
                        let base_words: std::collections::HashSet<&str> =
                            base.split_whitespace().collect();
                        let out_words: std::collections::HashSet<&str> =
                            res.text.split_whitespace().collect();
                        for added in local.lines().chain(remote.lines()) {
                            if added.trim().is_empty() || base_lines.contains(&added) {
                                continue;
                            }
                            let new_words_kept = added
                                .split_whitespace()
                                .filter(|w| !base_words.contains(w))
                                .all(|w| out_words.contains(w));
                            prop_assert!(
                                out.contains(&added) || new_words_kept,
                                "lost {:?} in {:?} for {:?}", added, res.text, h
                            );
                        }
                    }
                    // Flagged, or left to the pipeline's keep-both: both lose nothing.
                    Ok(_) | Err(ArbiterError::NoValidCandidate(_)) => {}
                    Err(e) => prop_assert!(false, "no model error expected from {:?}: {}", h, e),
                }
            }
        }
    }
}
