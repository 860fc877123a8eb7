//! Three-way text merge: line diff3, word diff3 inside the lines both sides changed, the
//! arbiter for what still overlaps, then the keep-both fallback.
//!
//! The guarantee, at the level of edits: every run of words either side wrote (inserted,
//! or put in place of base words) is in the result, unless the merge is flagged for
//! review (`needs_review`) and the conflict log holds both sides. A line neither side
//! wrote is allowed when it is the composition of both sides' edits (two typo fixes in
//! one sentence). How each step keeps it:
//! 1. Line diff3 takes each region from the side that changed it, once when both
//!    changed it alike; adjacent lines changed on different sides are taken line by
//!    line.
//! 2. Word diff3 ([`super::words`]) applies each side's word edits at their place, and
//!    only when every edit of one side has an unchanged word or line break between it
//!    and every edit of the other side; two edits of the same words, or of neighbouring
//!    words, still conflict.
//! 3. The arbiter returns a candidate that keeps every line either side added, or flags
//!    its choice for review.
//! 4. The fallback keeps both sides of the hunk, local first, flagged; the hunk then
//!    carries a suggestion ([`super::suggest`]) an app can apply in one call.

use super::arbiter::Arbiter;
use super::decision::{HunkOutcome, Step};
use super::diff3::{diff3, Chunk};
use super::hunk::{keep_both, lines_inclusive, ConflictHunk};
use super::suggest;
use super::words::merge_words;

/// The result of merging a text field.
#[derive(Debug, Clone, PartialEq)]
pub struct TextMerge {
    /// The merged text.
    pub text: String,
    /// The strongest step any hunk needed (keep-both over arbiter over word diff3 over
    /// line diff3).
    pub step: Step,
    /// True when both sides were kept somewhere (or the arbiter's choice needs a person).
    pub needs_review: bool,
    /// The hunks line diff3 could not merge, with what decided each.
    pub hunks: Vec<HunkOutcome>,
}

/// Labels and size of git-style conflict markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Markers {
    /// After `<<<<<<<`: this device's (our) version.
    pub ours: String,
    /// After `|||||||`: the common ancestor.
    pub base: String,
    /// After `>>>>>>>`: the other (their) version.
    pub theirs: String,
    /// How many marker characters (git's default is 7).
    pub size: usize,
}

impl Default for Markers {
    fn default() -> Self {
        Markers {
            ours: "ours".to_string(),
            base: "base".to_string(),
            theirs: "theirs".to_string(),
            size: 7,
        }
    }
}

impl TextMerge {
    /// The merged text with each flagged hunk replaced by its suggestion; `None` when
    /// nothing is flagged.
    pub fn suggested(&self) -> Option<String> {
        if !self.needs_review {
            return None;
        }
        Some(self.replace_flagged(|h| {
            h.suggestion.as_ref().map_or_else(
                || self.text[h.output.clone()].to_string(),
                |s| s.text.clone(),
            )
        }))
    }

    /// The merged text with git's conflict markers (diff3 style: ours, base, theirs)
    /// around each flagged hunk instead of its resolution, so git, `git diff` and
    /// mergetools find it.
    pub fn with_markers(&self, markers: &Markers) -> String {
        let line = |c: char, label: &str| {
            let mut s: String = std::iter::repeat_n(c, markers.size.max(1)).collect();
            if !label.is_empty() {
                s.push(' ');
                s.push_str(label);
            }
            s.push('\n');
            s
        };
        let nl = |t: &str| {
            if t.is_empty() || t.ends_with('\n') {
                t.to_string()
            } else {
                format!("{t}\n")
            }
        };
        self.replace_flagged(|h| {
            let mut s = line('<', &markers.ours);
            s.push_str(&nl(&h.local));
            s.push_str(&line('|', &markers.base));
            s.push_str(&nl(&h.base));
            s.push_str(&line('=', ""));
            s.push_str(&nl(&h.remote));
            s.push_str(&line('>', &markers.theirs));
            s
        })
    }

    fn replace_flagged(&self, mut with: impl FnMut(&HunkOutcome) -> String) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut at = 0;
        for h in self.hunks.iter().filter(|h| h.needs_review) {
            out.push_str(&self.text[at..h.output.start]);
            out.push_str(&with(h));
            at = h.output.end;
        }
        out.push_str(&self.text[at..]);
        out
    }
}

/// Merges `local` and `remote`, both edited from `base` (see the module doc for the
/// steps and the guarantee). `arbiter` decides what word diff3 cannot; without one, what
/// overlaps keeps both sides, local first, flagged for review.
pub fn merge_text(
    base: &str,
    local: &str,
    remote: &str,
    arbiter: Option<&dyn Arbiter>,
) -> TextMerge {
    let trivial = |text: &str, step| TextMerge {
        text: text.to_string(),
        step,
        needs_review: false,
        hunks: Vec::new(),
    };
    if local == remote {
        return trivial(local, Step::Equal);
    }
    if remote == base {
        return trivial(local, Step::TookLocal);
    }
    if local == base {
        return trivial(remote, Step::TookRemote);
    }

    let (b, l, r) = (
        lines_inclusive(base),
        lines_inclusive(local),
        lines_inclusive(remote),
    );
    let mut out = String::with_capacity(local.len().max(remote.len()));
    let mut step = Step::LineDiff3;
    let mut needs_review = false;
    let mut hunks = Vec::new();
    for chunk in diff3(&b, &l, &r) {
        let (br, lr, rr) = match chunk {
            Chunk::Stable(range) => {
                out.extend(b[range].iter().copied());
                continue;
            }
            Chunk::Local(range) => {
                out.extend(l[range].iter().copied());
                continue;
            }
            Chunk::Remote(range) => {
                out.extend(r[range].iter().copied());
                continue;
            }
            Chunk::Conflict {
                base,
                local,
                remote,
            } => (base, local, remote),
        };
        if let Some(merged) = zip_lines(&b[br.clone()], &l[lr.clone()], &r[rr.clone()]) {
            out.push_str(&merged);
            continue;
        }
        let (bh, lh, rh) = (b[br].concat(), l[lr.clone()].concat(), r[rr].concat());
        let start = out.len();
        let words = merge_words(&bh, &lh, &rh);
        let mut outcome = HunkOutcome {
            step: Step::WordDiff3,
            arbiter_error: None,
            needs_review: false,
            output: 0..0,
            suggestion: None,
            base: String::new(),
            local: String::new(),
            remote: String::new(),
        };
        if let Some(merged) = words.as_ref().and_then(|w| w.merged()) {
            out.push_str(&merged);
        } else {
            // Context after the hunk: the rest of the local text.
            let after = l[lr.end..].concat();
            let hunk = ConflictHunk {
                before: &out,
                base: &bh,
                local: &lh,
                remote: &rh,
                after: &after,
            };
            let decided = arbiter.map(|a| (a.name().to_string(), a.resolve(&hunk)));
            let text = match decided {
                Some((model, Ok(res))) => {
                    outcome.needs_review = res.needs_review;
                    outcome.step = Step::Arbiter {
                        model,
                        detail: res.detail,
                        score: res.score,
                    };
                    res.text
                }
                other => {
                    outcome.needs_review = true;
                    outcome.step = Step::KeepBoth;
                    outcome.arbiter_error = other.and_then(|(_, r)| r.err()).map(|e| e.to_string());
                    keep_both(&lh, &rh)
                }
            };
            if outcome.needs_review {
                let structural = suggest::structural(&hunk, words.as_ref());
                outcome.suggestion = Some(match arbiter {
                    Some(a) => a.suggest(&hunk, structural),
                    None => structural,
                });
            }
            out.push_str(&text);
        }
        outcome.output = start..out.len();
        (outcome.base, outcome.local, outcome.remote) = (bh, lh, rh);
        needs_review |= outcome.needs_review;
        if outcome.step.rank() > step.rank() {
            step = outcome.step.clone();
        }
        hunks.push(outcome);
    }
    TextMerge {
        text: out,
        step,
        needs_review,
        hunks,
    }
}

/// Merges a hunk whose sides kept its line count and changed different lines of it
/// (adjacent lines, which diff3 cannot tell apart from one overlapping edit): each line
/// is taken whole from the side that changed it. `None` when some line was changed
/// differently on both sides or the line counts differ.
fn zip_lines(base: &[&str], local: &[&str], remote: &[&str]) -> Option<String> {
    if base.len() != local.len() || base.len() != remote.len() {
        return None;
    }
    let mut out = String::new();
    for ((b, l), r) in base.iter().zip(local).zip(remote) {
        let line = if l == b {
            r
        } else if r == b || l == r {
            l
        } else {
            return None;
        };
        out.push_str(line);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::{ArbiterError, Resolution};
    use proptest::prelude::*;

    fn merge(base: &str, local: &str, remote: &str) -> TextMerge {
        merge_text(base, local, remote, None)
    }

    #[test]
    fn edits_of_different_lines_merge_by_lines() {
        let m = merge("a\nb\nc\n", "A\nb\nc\n", "a\nb\nc\nd\n");
        assert_eq!(m.text, "A\nb\nc\nd\n");
        assert_eq!(m.step, Step::LineDiff3);
        assert!(!m.needs_review);
    }

    #[test]
    fn edits_of_different_words_in_one_line_merge_by_words() {
        let m = merge(
            "The quick brown fox jumps.\n",
            "The quick red fox jumps.\n",
            "The quick brown fox leaps.\n",
        );
        assert_eq!(m.text, "The quick red fox leaps.\n");
        assert_eq!(m.step, Step::WordDiff3);
        assert!(!m.needs_review);
        assert_eq!(m.hunks.len(), 1);
        assert_eq!(m.hunks[0].local, "The quick red fox jumps.\n");
        assert_eq!(m.hunks[0].remote, "The quick brown fox leaps.\n");
    }

    #[test]
    fn a_word_changed_while_the_line_is_extended_keeps_both() {
        let m = merge(
            "Meet Bob at 10am.\nBring the notes.\n",
            "Meet Robert at 10am.\nBring the notes.\n",
            "Meet Bob at 10am in room 4.\nBring the notes.\n",
        );
        assert_eq!(m.text, "Meet Robert at 10am in room 4.\nBring the notes.\n");
        assert!(!m.needs_review);
    }

    #[test]
    fn an_edit_beside_an_inserted_line_merges() {
        let m = merge(
            "Milk\nEggs\nFlour\n",
            "Oat milk\nEggs\nFlour\n",
            "Milk\nButter\nEggs\nFlour\n",
        );
        assert_eq!(m.text, "Oat milk\nButter\nEggs\nFlour\n");
        assert!(!m.needs_review);
    }

    #[test]
    fn two_small_edits_of_one_line_do_not_make_a_line_neither_side_wrote() {
        // Found by the chaos run: word diff3 used to give "[d3-o22]" here.
        let m = merge("[d1-o6]\n", "[d1-o22]\n", "[d3-o6]\n");
        assert_eq!(m.text, "[d1-o22]\n[d3-o6]\n");
        assert!(m.needs_review);
        let arbiter = crate::merge::CandidateArbiter::structural();
        let m = merge_text("[d1-o6]\n", "[d1-o22]\n", "[d3-o6]\n", Some(&arbiter));
        assert!(m.text.contains("[d1-o22]\n") && m.text.contains("[d3-o6]\n"));
        assert!(m.needs_review);
    }

    #[test]
    fn edits_of_adjacent_lines_take_each_line_from_its_side() {
        let m = merge("a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nC\nd\n");
        assert_eq!(m.text, "a\nB\nC\nd\n");
        assert!(!m.needs_review);
    }

    #[test]
    fn rewrites_of_different_words_of_one_line_compose() {
        let m = merge(
            "The meeting is on Monday at noon.\n",
            "The meeting moved to Tuesday at noon.\n",
            "The meeting is on Monday at three, in room 4.\n",
        );
        assert_eq!(m.step, Step::WordDiff3);
        assert_eq!(
            m.text,
            "The meeting moved to Tuesday at three, in room 4.\n"
        );
    }

    #[test]
    fn rival_rewrites_of_the_same_words_are_flagged_with_a_suggestion() {
        let m = merge(
            "The meeting is on Monday.\n",
            "The meeting is on Tuesday.\n",
            "The meeting is on a Friday afternoon.\n",
        );
        assert_eq!(m.step, Step::KeepBoth);
        assert!(m.needs_review);
        assert_eq!(
            m.text,
            "The meeting is on Tuesday.\nThe meeting is on a Friday afternoon.\n"
        );
        let s = m.hunks[0].suggestion.as_ref().unwrap();
        assert_eq!(s.text, "The meeting is on a Friday afternoon.\n");
        assert_eq!(
            m.suggested().as_deref(),
            Some("The meeting is on a Friday afternoon.\n")
        );
    }

    #[test]
    fn markers_surround_each_flagged_hunk() {
        let m = merge("a\nb\nc\n", "a\nB!\nc\n", "a\nB?\nc\n");
        let markers = Markers {
            ours: "mine".into(),
            base: "base".into(),
            theirs: "yours".into(),
            size: 7,
        };
        assert_eq!(
            m.with_markers(&markers),
            "a\n<<<<<<< mine\nB!\n||||||| base\nb\n=======\nB?\n>>>>>>> yours\nc\n"
        );
        // A merge with nothing flagged has no markers.
        let clean = merge("a\nb\n", "A\nb\n", "a\nB\n");
        assert_eq!(clean.with_markers(&markers), clean.text);
    }

    #[test]
    fn the_same_change_on_both_sides_is_taken_once() {
        let m = merge("a\nb\nc\n", "a\nB\nc\nx\n", "a\nB\nc\ny\n");
        assert!(m.text.starts_with("a\nB\nc\n"), "{:?}", m.text);
        assert_eq!(m.text.matches('B').count(), 1);
    }

    #[test]
    fn overlapping_edits_keep_both_sides_local_first() {
        let m = merge("a\nb\nc\n", "a\nB!\nc\n", "a\nB?\nc\n");
        assert_eq!(m.text, "a\nB!\nB?\nc\n");
        assert_eq!(m.step, Step::KeepBoth);
        assert!(m.needs_review);
        assert_eq!(m.hunks.len(), 1);
    }

    #[test]
    fn a_missing_final_newline_does_not_glue_the_two_sides() {
        let m = merge("x", "local", "remote");
        assert_eq!(m.text, "local\nremote");
        assert!(m.needs_review);
    }

    #[test]
    fn one_side_unchanged_takes_the_other() {
        assert_eq!(merge("a", "a", "b").text, "b");
        assert_eq!(merge("a", "b", "a").text, "b");
        assert_eq!(merge("a", "b", "b").step, Step::Equal);
    }

    struct Pick(bool);
    impl Arbiter for Pick {
        fn name(&self) -> &str {
            "pick"
        }
        fn resolve(&self, hunk: &ConflictHunk<'_>) -> Result<Resolution, ArbiterError> {
            if !self.0 {
                return Err(ArbiterError::NoValidCandidate("test".into()));
            }
            assert_eq!(hunk.before, "a\n");
            assert_eq!(hunk.after, "c\n");
            Ok(Resolution {
                text: hunk.remote.to_string(),
                detail: "remote".into(),
                score: Some(-1.0),
                needs_review: false,
            })
        }
    }

    #[test]
    fn the_arbiter_decides_what_still_overlaps() {
        let m = merge_text("a\nb\nc\n", "a\nB!\nc\n", "a\nB?\nc\n", Some(&Pick(true)));
        assert_eq!(m.text, "a\nB?\nc\n");
        assert!(matches!(m.step, Step::Arbiter { ref model, .. } if model == "pick"));
        assert!(!m.needs_review);
    }

    #[test]
    fn a_failing_arbiter_falls_back_to_keep_both_and_says_why() {
        let m = merge_text("a\nb\nc\n", "a\nB!\nc\n", "a\nB?\nc\n", Some(&Pick(false)));
        assert_eq!(m.text, "a\nB!\nB?\nc\n");
        assert_eq!(m.step, Step::KeepBoth);
        assert!(m.hunks[0]
            .arbiter_error
            .as_deref()
            .is_some_and(|e| e.contains("test")));
    }

    fn doc() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(
            prop::sample::select(vec!["alpha", "beta", "gamma", "delta", "eps", "zeta", ""]),
            0..8,
        )
        .prop_map(|v| v.into_iter().map(|s| format!("{s}\n")).collect())
    }

    /// Every line a side added (is in that side but not in base) is in the merge.
    fn added_lines<'a>(base: &[String], side: &'a [String]) -> Vec<&'a String> {
        side.iter().filter(|l| !base.contains(l)).collect()
    }

    /// A base text of words, spaces, punctuation and line breaks.
    fn base_tokens() -> impl Strategy<Value = Vec<String>> {
        let word = prop::sample::select(vec![
            "alpha", "beta", "gamma", "delta", "épsilon", "会", "议", "🙂",
        ]);
        let sep = prop::sample::select(vec![" ", " ", " ", ", ", ". ", "\n", " - "]);
        prop::collection::vec((word, sep), 0..24).prop_map(|v| {
            v.into_iter()
                .flat_map(|(w, s)| [w.to_string(), s.to_string()])
                .collect()
        })
    }

    /// One edit of a token list: at a position, replace or delete up to two tokens, or
    /// insert; what it writes is fresh words (`L3`, `R7`) no base holds.
    #[derive(Debug, Clone)]
    enum Op {
        Replace(usize, usize, usize),
        Insert(usize, usize),
        Delete(usize, usize),
    }

    fn script() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(
            prop_oneof![
                (0..60usize, 1..3usize, 1..3usize).prop_map(|(p, n, k)| Op::Replace(p, n, k)),
                (0..60usize, 1..3usize).prop_map(|(p, k)| Op::Insert(p, k)),
                (0..60usize, 1..3usize).prop_map(|(p, n)| Op::Delete(p, n)),
            ],
            0..4,
        )
    }

    /// Applies `ops` to `base`, writing fresh words named `prefix` + a counter.
    fn apply(base: &[String], ops: &[Op], prefix: &str) -> String {
        let mut t = base.to_vec();
        let mut fresh = 0;
        let mut words = |k: usize| -> Vec<String> {
            (0..k)
                .flat_map(|i| {
                    fresh += 1;
                    let w = format!("{prefix}{fresh}");
                    if i + 1 < k {
                        vec![w, " ".to_string()]
                    } else {
                        vec![w]
                    }
                })
                .collect()
        };
        for op in ops {
            let len = t.len();
            match *op {
                Op::Replace(p, n, k) if len > 0 => {
                    let p = p % len;
                    let end = (p + n).min(len);
                    t.splice(p..end, words(k));
                }
                Op::Insert(p, k) => {
                    let p = p % (len + 1);
                    t.splice(p..p, words(k));
                }
                Op::Delete(p, n) if len > 0 => {
                    let p = p % len;
                    t.drain(p..(p + n).min(len));
                }
                _ => {}
            }
        }
        t.concat()
    }

    /// The runs of words `side` wrote: maximal stretches of its fresh words (with what
    /// stands between them), which no base holds.
    fn written_runs(side: &str, prefix: &str) -> Vec<String> {
        let toks = crate::merge::tokens::tokens(side);
        let fresh = |t: &str| {
            t.starts_with(prefix) && t[prefix.len()..].chars().all(|c| c.is_ascii_digit())
        };
        let mut runs = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if !fresh(toks[i]) {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            let mut end = j;
            while j < toks.len() {
                if fresh(toks[j]) {
                    end = j + 1;
                } else if crate::merge::tokens::is_word(toks[j]) {
                    break;
                }
                j += 1;
            }
            runs.push(toks[i..end].concat());
            i = end;
        }
        runs
    }

    proptest! {
        #[test]
        fn every_run_of_words_either_side_wrote_survives(
            b in base_tokens(), lo in script(), ro in script()
        ) {
            let (bs, ls, rs) = (b.concat(), apply(&b, &lo, "L"), apply(&b, &ro, "R"));
            let m = merge(&bs, &ls, &rs);
            for run in written_runs(&ls, "L").iter().chain(&written_runs(&rs, "R")) {
                prop_assert!(m.text.contains(run.as_str()),
                    "lost {run:?}: base {bs:?} local {ls:?} remote {rs:?} -> {:?}", m.text);
            }
            // Nothing invented: every word of the result is in some input.
            let input: std::collections::HashSet<&str> = [bs.as_str(), &ls, &rs]
                .iter()
                .flat_map(|t| crate::merge::tokens::tokens(t))
                .collect();
            for w in crate::merge::tokens::tokens(&m.text) {
                // Keep-both may add a line break between two sides; words are never new.
                if crate::merge::tokens::is_word(w) {
                    prop_assert!(input.contains(w), "invented {w:?} in {:?}", m.text);
                }
            }
        }

        #[test]
        fn the_arbiter_keeps_every_written_run_unless_it_flags_the_merge(
            b in base_tokens(), lo in script(), ro in script()
        ) {
            let (bs, ls, rs) = (b.concat(), apply(&b, &lo, "L"), apply(&b, &ro, "R"));
            let arbiter = crate::merge::CandidateArbiter::structural();
            let m = merge_text(&bs, &ls, &rs, Some(&arbiter));
            if !m.needs_review {
                for run in written_runs(&ls, "L").iter().chain(&written_runs(&rs, "R")) {
                    prop_assert!(m.text.contains(run.as_str()),
                        "lost {run:?}: base {bs:?} local {ls:?} remote {rs:?} -> {:?}", m.text);
                }
            }
        }

        #[test]
        fn equal_sides_or_an_unchanged_side_merge_exactly(
            b in base_tokens(), ops in script()
        ) {
            let (bs, xs) = (b.concat(), apply(&b, &ops, "X"));
            prop_assert_eq!(merge(&bs, &xs, &xs).text, xs.clone());
            prop_assert_eq!(merge(&bs, &bs, &xs).text, xs.clone());
            prop_assert_eq!(merge(&bs, &xs, &bs).text, xs);
        }

        #[test]
        fn merging_is_symmetric_up_to_the_local_first_order(
            b in base_tokens(), lo in script(), ro in script()
        ) {
            let (bs, ls, rs) = (b.concat(), apply(&b, &lo, "L"), apply(&b, &ro, "R"));
            let one = merge(&bs, &ls, &rs);
            let other = merge(&bs, &rs, &ls);
            prop_assert_eq!(one.needs_review, other.needs_review);
            if one.needs_review {
                // Keep-both puts this device's side first: the same lines, in another order.
                let sorted = |t: &str| {
                    let mut v: Vec<String> = t.lines().map(str::to_string).collect();
                    v.sort();
                    v
                };
                prop_assert_eq!(sorted(&one.text), sorted(&other.text));
            } else {
                prop_assert_eq!(one.text, other.text);
            }
        }

        #[test]
        fn no_line_either_side_added_is_lost(b in doc(), l in doc(), r in doc()) {
            let (bs, ls, rs) = (b.concat(), l.concat(), r.concat());
            let m = merge(&bs, &ls, &rs);
            let out: Vec<String> = m.text.split_inclusive('\n').map(str::to_string).collect();
            for line in added_lines(&b, &l).into_iter().chain(added_lines(&b, &r)) {
                prop_assert!(out.contains(line), "lost {line:?} in {:?}", m.text);
            }
        }

        #[test]
        fn merging_is_exact_when_one_side_is_base(b in doc(), l in doc()) {
            let (bs, ls) = (b.concat(), l.concat());
            prop_assert_eq!(merge(&bs, &ls, &bs).text, ls.clone());
            prop_assert_eq!(merge(&bs, &bs, &ls).text, ls);
        }
    }
}
