//! The arbiter's behaviour with a scripted model.

use proptest::prelude::*;

use super::context::{lines_head, lines_tail};
use super::*;
use crate::merge::check;
use crate::model::{ChatMessage, ContinuationScore, Generation, ModelError, StopReason};
use accord_test_support::FakeModel;

/// How the fake model judges a text: by how often it contains `liked` (each `disliked`
/// costs as much), so which candidate is likely is in the test's hands. Asked for a
/// label of a choice prompt, it judges the merge shown under that label the same way,
/// plus `first_label_bias` for label A (a model that prefers the first position).
fn judge(
    liked: &'static str,
    disliked: &'static str,
    first_label_bias: f64,
) -> impl Fn(&str, &str) -> f64 + Send + Sync + 'static {
    let likes = move |text: &str| {
        if liked.is_empty() {
            -1.0
        } else {
            let disliked = if disliked.is_empty() {
                0
            } else {
                text.matches(disliked).count()
            };
            text.matches(liked).count() as f64 - disliked as f64 - 10.0
        }
    };
    move |prompt: &str, c: &str| {
        let marker = format!("Merge {c}:\n");
        match prompt.find(&marker) {
            Some(at) => {
                let shown = &prompt[at + marker.len()..];
                let shown = &shown[..shown.find("\nMerge ").unwrap_or(shown.len())];
                let bias = if c == "A" { first_label_bias } else { 0.0 };
                likes(shown) + bias
            }
            None => likes(c),
        }
    }
}

/// A model (named `fake`) that finds a continuation likely in proportion to how often it
/// contains `liked` (see [`judge`]); it records the prompts it was given.
fn model_liking(liked: &'static str) -> Arc<FakeModel> {
    Arc::new(FakeModel::scoring(judge(liked, "", 0.0)).named("fake"))
}

/// [`model_liking`], with a preference worth `first_label_bias` for label A.
fn model_biased(liked: &'static str, first_label_bias: f64) -> Arc<FakeModel> {
    Arc::new(FakeModel::scoring(judge(liked, "", first_label_bias)).named("fake"))
}

/// A model that generates `text` and finds every continuation equally unlikely.
fn model_generating(text: &str) -> Arc<FakeModel> {
    Arc::new(
        FakeModel::scoring(judge("", "", 0.0))
            .named("fake")
            .with_answer(text),
    )
}

/// A model whose every call fails with `error()`.
fn model_failing(error: fn() -> ModelError) -> Arc<FakeModel> {
    Arc::new(FakeModel::failing(error).named("fake"))
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
    let fake = model_liking("(remote)\n## 1.2");
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
    assert_eq!(fake.prompts()[0], "# Changelog\n\n");
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
    let fake = model_failing(|| ModelError::Runtime("must not be called".into()));
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
    let fake = model_failing(|| ModelError::Runtime("weights are garbage".into()));
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
    let arbiter = CandidateArbiter::with_model(model_liking("x"), options);
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
    let arbiter = CandidateArbiter::with_model(model_liking("x"), likelihood())
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
    let fake = model_liking("(remote)\n## 1.2");
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
    let prompts = fake.prompts();
    assert_eq!(prompts.len(), 2);
    assert!(prompts[0].contains("Merge A:\n```\n## 1.2 (local)\n## 1.1 (remote)\n"));
    assert!(prompts[1].contains("Merge A:\n```\n## 1.1 (remote)\n## 1.2 (local)\n"));
    assert!(prompts[0].contains("person 2 left it:\n```\n## 1.1 (remote)\n## 1.0\n```"));
}

#[test]
fn scoring_both_orders_cancels_a_preference_for_the_first_label() {
    let (b, l, r) = CHANGELOG;
    // Label A is worth 5 to this model, what the merge says only 1.
    let fake = model_biased("(remote)\n## 1.2", 5.0);
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
    let fake = model_generating("## 1.1 (remote)\n## 1.2 (local)\n## 1.0\n```\n");
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
    assert!(fake.prompts()[0].ends_with("```\n"));
}

#[test]
fn a_generated_merge_that_drops_a_line_a_side_added_is_rejected() {
    let (b, l, r) = CHANGELOG;
    let fake = model_generating("## 1.2 (local)\n## 1.0\n```");
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
    let fake = model_generating("## 1.2 (local)\n## 1.1 (remote)\n## 1.0 (the best release)\n```");
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
    let fake = model_generating("Standup on Wednesday at 10:30.\n```\n");
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
        let fake = model_failing(|| ModelError::Runtime("weights are garbage".into()));
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
    let slow = OutOfTime(model_generating("## 1.1 (remote)\n"));
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
        let fake = model_biased(["a", "b\n", "c d"][liked], bias);
        // Whatever the model writes: one side, both, or lines of its own.
        let writes = [local.clone(), remote.clone(), format!("{remote}{local}"), written];
        let generators = writes.iter().map(|w| {
            CandidateArbiter::with_model(
                model_generating(&format!("{w}```\n")),
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

fn structural_suggestion(text: &str) -> Suggestion {
    Suggestion {
        text: text.to_string(),
        reason: SuggestionReason::Composed,
    }
}

#[test]
fn a_model_chooses_the_suggestion_among_all_candidates() {
    let h = hunk(
        "The launch is on Monday.\n",
        "The launch is on Tuesday.\n",
        "The launch is on Friday.\n",
    );
    let fake = Arc::new(FakeModel::scoring(judge("Friday", "Tuesday", 0.0)).named("fake"));
    let options = ArbiterOptions {
        suggestion: Choice::DocumentLikelihood,
        ..ArbiterOptions::default()
    };
    let arbiter = CandidateArbiter::with_model(fake, options);
    let s = arbiter.suggest(&h, structural_suggestion("The launch is on Tuesday.\n"));
    // One side alone is a choice for a suggestion (the log keeps both sides).
    assert_eq!(s.text, "The launch is on Friday.\n");
    assert!(matches!(
        s.reason,
        SuggestionReason::Model { ref method, ref chose, .. } if method == "likelihood" && chose == "remote"
    ));
}

#[test]
fn the_structural_suggestion_stands_without_a_model_or_when_the_model_fails() {
    let h = hunk("a\n", "b\n", "c\n");
    let structural = structural_suggestion("b\n");
    let s = CandidateArbiter::structural().suggest(&h, structural.clone());
    assert_eq!(s, structural);
    let failing = model_failing(|| ModelError::Runtime("boom".into()));
    let options = ArbiterOptions {
        suggestion: Choice::DocumentLikelihood,
        ..ArbiterOptions::default()
    };
    let s = CandidateArbiter::with_model(failing, options).suggest(&h, structural.clone());
    assert_eq!(s, structural);
}

#[test]
fn a_generated_suggestion_that_invents_text_is_not_used() {
    let h = hunk("a\n", "b\n", "c\n");
    let structural = structural_suggestion("b\n");
    let generate = ArbiterOptions {
        suggestion: Choice::Generate,
        ..ArbiterOptions::default()
    };
    let inventing = model_generating("zzz\n");
    let arbiter = CandidateArbiter::with_model(inventing, generate.clone());
    assert_eq!(arbiter.suggest(&h, structural.clone()), structural);
    let dropping = model_generating("c\n");
    let arbiter = CandidateArbiter::with_model(dropping, generate);
    let s = arbiter.suggest(&h, structural);
    assert_eq!(
        s.text, "c\n",
        "dropping a rival rewrite is allowed in a suggestion"
    );
}
