//! The arbiter: the merge step for text hunks that line diff3 cannot merge.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::candidates::{candidates, check, Candidate, CandidateKind};
use super::decision::Suggestion;
use super::hunk::{lines, ConflictHunk};
use crate::interrupt::InterruptHandle;
use crate::model::{Budget, ChatMessage, LanguageModel, ModelError, StopReason};

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

/// Labels of the candidates in a choice prompt.
const LABELS: [&str; 8] = ["A", "B", "C", "D", "E", "F", "G", "H"];

/// `text` between code fences, so the model sees where it starts and ends.
fn fenced(text: &str) -> String {
    let nl = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("```\n{text}{nl}```\n")
}

/// The part of a prompt every model method shares: the text before the hunk, the base
/// and both sides.
fn describe_hunk(before: &str, hunk: &ConflictHunk<'_>) -> String {
    format!(
        "Two people edited the same passage of a text file.\n\nThe text just before the \
         passage:\n{}\nThe passage as it was:\n{}\nThe passage as person 1 left it:\n{}\n\
         The passage as person 2 left it:\n{}",
        fenced(before),
        fenced(hunk.base),
        fenced(hunk.local),
        fenced(hunk.remote)
    )
}

/// Why a generated merge cannot be used unreviewed-or-flagged, in words for the log.
fn rejection(c: &super::candidates::Check) -> String {
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
    /// The first clean candidate (structural order), or with none clean the best
    /// lossless candidate flagged for review; `why` says why structure decided and
    /// `note` what a model method tried first.
    fn by_structure(
        &self,
        all: &[Candidate],
        clean: &[&Candidate],
        started: Instant,
        why: &str,
        note: &str,
    ) -> Result<Resolution, ArbiterError> {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let Some(c) = clean.first() else {
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
                        "{}: rival edits, both kept (0 of {} candidates clean){note}, {ms:.0} ms",
                        c.kind.label(),
                        all.len(),
                    ),
                    score: None,
                    needs_review: true,
                }),
                None => Err(ArbiterError::NoValidCandidate(format!(
                    "all {} candidates drop or invent text{note}",
                    all.len()
                ))),
            };
        };
        Ok(Resolution {
            text: c.text.clone(),
            detail: format!(
                "{}: {why} ({} of {} candidates clean){note}, {ms:.0} ms",
                c.kind.label(),
                clean.len(),
                all.len(),
            ),
            score: None,
            needs_review: false,
        })
    }

    /// [`Choice::DocumentLikelihood`] among `clean` (more than one).
    fn choose_by_likelihood(
        &self,
        model: &dyn LanguageModel,
        hunk: &ConflictHunk<'_>,
        all: &[Candidate],
        clean: &[&Candidate],
        started: Instant,
    ) -> Result<Resolution, ArbiterError> {
        let texts: Vec<&str> = clean.iter().map(|c| c.text.as_str()).collect();
        let scores = self.document_likelihood(model, hunk, &texts, started)?;
        let best = best_index(&scores);
        let c = clean[best];
        Ok(Resolution {
            text: c.text.clone(),
            detail: format!(
                "{}: most likely in context by {} (mean logprob {:.3}; {}; {} of {} candidates clean), {:.0} ms",
                c.kind.label(),
                self.name,
                scores[best],
                others(clean, &scores, best),
                clean.len(),
                all.len(),
                started.elapsed().as_secs_f64() * 1000.0
            ),
            score: Some(scores[best]),
            needs_review: false,
        })
    }

    /// The user turn of a choice prompt: the hunk, then `order`'s candidates labelled.
    fn choice_question(&self, hunk: &ConflictHunk<'_>, shown: &[&Candidate]) -> String {
        let before = lines_tail(hunk.before, self.options.context_lines, 1_500);
        let mut q = describe_hunk(before, hunk);
        q.push_str("\nPossible merges:\n");
        for (label, c) in LABELS.iter().zip(shown) {
            q.push_str(&format!("\nMerge {label}:\n{}", fenced(&c.text)));
        }
        let labels = LABELS[..shown.len()].join(", ");
        q.push_str(&format!(
            "\nWhich merge would a careful editor commit? Answer with one letter ({labels})."
        ));
        q
    }

    /// [`Choice::Prompt`] among `clean` (two to eight).
    fn choose_by_prompt(
        &self,
        model: &dyn LanguageModel,
        hunk: &ConflictHunk<'_>,
        all: &[Candidate],
        clean: &[&Candidate],
        started: Instant,
    ) -> Result<Resolution, ArbiterError> {
        let n = clean.len().min(LABELS.len());
        let forward: Vec<usize> = (0..n).collect();
        let mut orders = vec![forward.clone()];
        if self.options.both_orders {
            orders.push(forward.iter().rev().copied().collect());
        }
        let mut sums = vec![0.0; n];
        let mut first_order = Vec::new();
        for order in &orders {
            let shown: Vec<&Candidate> = order.iter().map(|&i| clean[i]).collect();
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
        let best = best_index(&sums);
        let c = clean[best];
        let alone = clean[best_index(&first_order)].kind.label();
        Ok(Resolution {
            text: c.text.clone(),
            detail: format!(
                "{}: chosen by {} from a labelled prompt (label logprob {:.3} over {} order(s); {}; first order alone: {alone}; {} of {} candidates clean), {:.0} ms",
                c.kind.label(),
                self.name,
                sums[best],
                orders.len(),
                others(&clean[..n], &sums, best),
                clean.len(),
                all.len(),
                started.elapsed().as_secs_f64() * 1000.0
            ),
            score: Some(sums[best]),
            needs_review: false,
        })
    }

    /// [`Choice::Generate`]: the model's merge when it passes the candidates' check,
    /// else the structural choice with the reason in the detail.
    fn generated(
        &self,
        model: &dyn LanguageModel,
        hunk: &ConflictHunk<'_>,
        all: &[Candidate],
        clean: &[&Candidate],
        started: Instant,
    ) -> Result<Resolution, ArbiterError> {
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
        let mut text = match closed {
            Some(end) => generation.text[..end].to_string(),
            None => generation.text.clone(),
        };
        let reject = |why: String| {
            self.by_structure(
                all,
                clean,
                started,
                "by structure",
                &format!("; generated merge by {} rejected: {why}", self.name),
            )
        };
        if closed.is_none() && generation.stop != StopReason::EndOfText {
            let why = match generation.stop {
                StopReason::OutOfTime => "time budget spent",
                _ => "token budget spent",
            };
            return reject(format!("unfinished after {tokens} tokens ({why})"));
        }
        let newline = [hunk.local, hunk.remote, hunk.base]
            .iter()
            .any(|t| t.ends_with('\n'));
        if newline && !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
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
                let input: std::collections::HashSet<&str> = [hunk.base, hunk.local, hunk.remote]
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

    /// Characters the model would be shown for `hunk` with `clean` as the choices.
    fn prompt_chars(&self, hunk: &ConflictHunk<'_>, clean: &[&Candidate]) -> usize {
        let shown: usize = match self.options.choice {
            Choice::Prompt => clean.iter().map(|c| c.text.len()).sum(),
            _ => 0,
        };
        hunk.base.len() + hunk.local.len() + hunk.remote.len() + shown
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

/// The candidates other than `best` with their scores, for the detail.
fn others(clean: &[&Candidate], scores: &[f64], best: usize) -> String {
    clean
        .iter()
        .zip(scores)
        .enumerate()
        .filter(|(i, _)| *i != best)
        .map(|(_, (c, s))| format!("{} {s:.3}", c.kind.label()))
        .collect::<Vec<_>>()
        .join(", ")
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
        let too_long = match choice {
            Choice::DocumentLikelihood => {
                clean.iter().map(|c| c.text.len()).sum::<usize>() > self.options.max_scored_chars
            }
            _ => self.prompt_chars(hunk, &clean) > self.options.max_prompt_chars,
        };
        if too_long {
            let why = match choice {
                Choice::DocumentLikelihood => "by structure: too long to score",
                _ => "by structure: too long to ask",
            };
            return self.by_structure(&all, &clean, started, why, "");
        }
        match choice {
            Choice::Structural => self.by_structure(&all, &clean, started, "by structure", ""),
            Choice::DocumentLikelihood => {
                self.choose_by_likelihood(model, hunk, &all, &clean, started)
            }
            Choice::Prompt => self.choose_by_prompt(model, hunk, &all, &clean, started),
            Choice::Generate => self.generated(model, hunk, &all, &clean, started),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use proptest::prelude::*;

    use super::*;
    use crate::merge::check;
    use crate::model::{ContinuationScore, Generation};

    /// A model that finds a continuation likely in proportion to how often it contains
    /// `liked`, or fails with `fail`; it records the prompts it was given. Asked for a
    /// label of a choice prompt, it judges the merge shown under that label the same
    /// way, plus `first_label_bias` for label A (a model that prefers the first
    /// position). It generates `generated`.
    struct FakeModel {
        liked: &'static str,
        first_label_bias: f64,
        generated: Mutex<Option<String>>,
        fail: Mutex<Option<ModelError>>,
        prompts: Mutex<Vec<String>>,
    }

    impl FakeModel {
        fn liking(liked: &'static str) -> Arc<FakeModel> {
            Arc::new(FakeModel {
                liked,
                first_label_bias: 0.0,
                generated: Mutex::new(None),
                fail: Mutex::new(None),
                prompts: Mutex::new(Vec::new()),
            })
        }

        fn biased(liked: &'static str, first_label_bias: f64) -> Arc<FakeModel> {
            Arc::new(FakeModel {
                liked,
                first_label_bias,
                generated: Mutex::new(None),
                fail: Mutex::new(None),
                prompts: Mutex::new(Vec::new()),
            })
        }

        fn generating(text: &str) -> Arc<FakeModel> {
            let m = FakeModel::liking("");
            *m.generated.lock().unwrap() = Some(text.to_string());
            m
        }

        fn failing(e: ModelError) -> Arc<FakeModel> {
            let m = FakeModel::liking("");
            *m.fail.lock().unwrap() = Some(e);
            m
        }

        fn likes(&self, text: &str) -> f64 {
            if self.liked.is_empty() {
                -1.0
            } else {
                text.matches(self.liked).count() as f64 - 10.0
            }
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
                .map(|c| {
                    let marker = format!("Merge {c}:\n");
                    let logprob = match prompt.find(&marker) {
                        Some(at) => {
                            let shown = &prompt[at + marker.len()..];
                            let shown = &shown[..shown.find("\nMerge ").unwrap_or(shown.len())];
                            let bias = if *c == "A" {
                                self.first_label_bias
                            } else {
                                0.0
                            };
                            self.likes(shown) + bias
                        }
                        None => self.likes(c),
                    };
                    ContinuationScore { logprob, tokens: 1 }
                })
                .collect())
        }

        fn generate(&self, prompt: &str, budget: &Budget) -> Result<Generation, ModelError> {
            if let Some(e) = self.fail.lock().unwrap().take() {
                return Err(e);
            }
            self.prompts.lock().unwrap().push(prompt.to_string());
            let Some(text) = self.generated.lock().unwrap().clone() else {
                return Err(ModelError::Runtime(
                    "the fake model does not generate".into(),
                ));
            };
            let stop = match budget.exhausted() {
                Some(ModelError::Cancelled) => StopReason::Cancelled,
                Some(_) => StopReason::OutOfTime,
                None => StopReason::EndOfText,
            };
            Ok(Generation {
                tokens: text.split_whitespace().count(),
                text,
                prompt_tokens: prompt.split_whitespace().count(),
                stop,
                elapsed: Duration::ZERO,
            })
        }
    }

    fn likelihood() -> ArbiterOptions {
        ArbiterOptions {
            choice: Choice::DocumentLikelihood,
            ..ArbiterOptions::default()
        }
    }

    fn with_choice(choice: Choice) -> ArbiterOptions {
        ArbiterOptions {
            choice,
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
    fn the_prompt_choice_picks_the_label_the_model_likes() {
        let (b, l, r) = CHANGELOG;
        let fake = FakeModel::liking("(remote)\n## 1.2");
        let arbiter = CandidateArbiter::with_model(fake.clone(), with_choice(Choice::Prompt));
        let res = arbiter.resolve(&hunk(b, l, r)).unwrap();
        assert_eq!(res.text, "## 1.1 (remote)\n## 1.2 (local)\n## 1.0\n");
        assert!(!res.needs_review);
        assert!(res.score.is_some());
        assert!(
            res.detail
                .starts_with("union-remote-first: chosen by fake from a labelled prompt"),
            "{}",
            res.detail
        );
        // The prompt shows the sides and the candidates under their labels, twice (in
        // both orders).
        let prompts = fake.prompts.lock().unwrap();
        assert_eq!(prompts.len(), 2);
        assert!(prompts[0].contains("Merge A:\n```\n## 1.2 (local)\n## 1.1 (remote)\n"));
        assert!(prompts[1].contains("Merge A:\n```\n## 1.1 (remote)\n## 1.2 (local)\n"));
        assert!(prompts[0].contains("person 2 left it:\n```\n## 1.1 (remote)\n## 1.0\n```"));
    }

    #[test]
    fn scoring_both_orders_cancels_a_preference_for_the_first_label() {
        let (b, l, r) = CHANGELOG;
        // Label A is worth 5 to this model, what the merge says only 1.
        let fake = FakeModel::biased("(remote)\n## 1.2", 5.0);
        let one_order = ArbiterOptions {
            both_orders: false,
            ..with_choice(Choice::Prompt)
        };
        let res = CandidateArbiter::with_model(fake.clone(), one_order)
            .resolve(&hunk(b, l, r))
            .unwrap();
        assert_eq!(res.text, "## 1.2 (local)\n## 1.1 (remote)\n## 1.0\n");
        let res = CandidateArbiter::with_model(fake, with_choice(Choice::Prompt))
            .resolve(&hunk(b, l, r))
            .unwrap();
        assert_eq!(res.text, "## 1.1 (remote)\n## 1.2 (local)\n## 1.0\n");
        assert!(
            res.detail.contains("first order alone: union-local-first"),
            "{}",
            res.detail
        );
    }

    #[test]
    fn a_generated_merge_that_passes_the_check_is_kept() {
        let (b, l, r) = CHANGELOG;
        let fake = FakeModel::generating("## 1.1 (remote)\n## 1.2 (local)\n## 1.0\n```\n");
        let arbiter = CandidateArbiter::with_model(fake.clone(), with_choice(Choice::Generate));
        let res = arbiter.resolve(&hunk(b, l, r)).unwrap();
        assert_eq!(res.text, "## 1.1 (remote)\n## 1.2 (local)\n## 1.0\n");
        assert!(!res.needs_review);
        assert!(
            res.detail
                .starts_with("generated: by fake (= union-remote-first;"),
            "{}",
            res.detail
        );
        // The answer is started inside a code block.
        assert!(fake.prompts.lock().unwrap()[0].ends_with("```\n"));
    }

    #[test]
    fn a_generated_merge_that_drops_a_line_a_side_added_is_rejected() {
        let (b, l, r) = CHANGELOG;
        let fake = FakeModel::generating("## 1.2 (local)\n## 1.0\n```");
        let arbiter = CandidateArbiter::with_model(fake, with_choice(Choice::Generate));
        let res = arbiter.resolve(&hunk(b, l, r)).unwrap();
        // The structural choice instead, and the log says why.
        assert_eq!(res.text, "## 1.2 (local)\n## 1.1 (remote)\n## 1.0\n");
        assert!(!res.needs_review);
        assert!(
            res.detail
                .contains("generated merge by fake rejected: drops 1 line"),
            "{}",
            res.detail
        );
    }

    #[test]
    fn a_generated_merge_that_invents_text_is_rejected() {
        let (b, l, r) = CHANGELOG;
        let fake = FakeModel::generating(
            "## 1.2 (local)\n## 1.1 (remote)\n## 1.0 (the best release)\n```",
        );
        let res = CandidateArbiter::with_model(fake, with_choice(Choice::Generate))
            .resolve(&hunk(b, l, r))
            .unwrap();
        assert_eq!(res.text, "## 1.2 (local)\n## 1.1 (remote)\n## 1.0\n");
        assert!(
            res.detail.contains("rejected: invents 1 line"),
            "{}",
            res.detail
        );
    }

    #[test]
    fn a_generated_rewording_of_rival_edits_is_flagged() {
        let fake = FakeModel::generating("Standup on Wednesday at 10:30.\n```\n");
        let res = CandidateArbiter::with_model(fake, with_choice(Choice::Generate))
            .resolve(&hunk(
                "Standup on Tuesday at ten.\n",
                "Standup on Wednesday at ten.\n",
                "Standup on Tuesday at 10:30.\n",
            ))
            .unwrap();
        assert_eq!(res.text, "Standup on Wednesday at 10:30.\n");
        assert!(res.needs_review);
    }

    #[test]
    fn failing_models_of_every_method_are_arbiter_errors() {
        let (b, l, r) = CHANGELOG;
        for choice in [Choice::DocumentLikelihood, Choice::Prompt, Choice::Generate] {
            let fake = FakeModel::failing(ModelError::Runtime("weights are garbage".into()));
            let arbiter = CandidateArbiter::with_model(fake, with_choice(choice));
            let err = arbiter.resolve(&hunk(b, l, r)).unwrap_err();
            assert!(
                matches!(err, ArbiterError::Model(ModelError::Runtime(_))),
                "{choice:?}: {err}"
            );
        }
    }

    #[test]
    fn a_generation_cut_by_the_budget_falls_back_to_structure() {
        let (b, l, r) = CHANGELOG;
        /// Runs out of time after the first line, with no closing fence.
        struct OutOfTime(Arc<FakeModel>);
        impl LanguageModel for OutOfTime {
            fn name(&self) -> &str {
                "slow"
            }
            fn chat_prompt(&self, m: &[ChatMessage]) -> Result<String, ModelError> {
                self.0.chat_prompt(m)
            }
            fn count_tokens(&self, t: &str) -> Result<usize, ModelError> {
                self.0.count_tokens(t)
            }
            fn score(
                &self,
                p: &str,
                c: &[&str],
                b: &Budget,
            ) -> Result<Vec<ContinuationScore>, ModelError> {
                self.0.score(p, c, b)
            }
            fn generate(&self, p: &str, b: &Budget) -> Result<Generation, ModelError> {
                let g = self.0.generate(p, b)?;
                Ok(Generation {
                    stop: StopReason::OutOfTime,
                    ..g
                })
            }
        }
        let slow = OutOfTime(FakeModel::generating("## 1.1 (remote)\n"));
        let res = CandidateArbiter::with_model(Arc::new(slow), with_choice(Choice::Generate))
            .resolve(&hunk(b, l, r))
            .unwrap();
        assert_eq!(res.text, "## 1.2 (local)\n## 1.1 (remote)\n## 1.0\n");
        assert!(!res.needs_review);
        assert!(res.detail.contains("time budget spent"), "{}", res.detail);
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
            written in side(), bias in 0.0f64..3.0,
        ) {
            let h = hunk(&base, &local, &remote);
            let fake = FakeModel::biased(["a", "b\n", "c d"][liked], bias);
            // Whatever the model writes: one side, both, or lines of its own.
            let writes = [local.clone(), remote.clone(), format!("{remote}{local}"), written];
            let generators = writes.iter().map(|w| {
                CandidateArbiter::with_model(
                    FakeModel::generating(&format!("{w}```\n")),
                    with_choice(Choice::Generate),
                )
            });
            for arbiter in [
                CandidateArbiter::structural(),
                CandidateArbiter::with_model(fake.clone(), likelihood()),
                CandidateArbiter::with_model(fake.clone(), with_choice(Choice::Prompt)),
            ]
            .into_iter()
            .chain(generators)
            {
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
