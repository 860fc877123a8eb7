//! Three-way text merge: line diff3, the arbiter for the hunks that still overlap, then
//! the keep-both fallback.
//!
//! The invariant every step keeps: nothing either side wrote is dropped unless the merge
//! says a person should look (`needs_review`). Line diff3 only ever takes a region from
//! the side that changed it; the fallback keeps both sides of a hunk, local first, so its
//! output contains every line of both.
//!
//! Word diff3 is not a step of its own. Carrying one side's word edits onto a line the
//! other side also changed writes a line neither author wrote: on merge-dev it matched
//! the person's merge in 5 conflicts, and in 2 more replaced a line the person kept
//! verbatim. So a word merge ([`merge_words`]) is only a candidate the arbiter may offer,
//! always flagged for review.

use std::hash::Hash;
use std::ops::Range;

use similar::{capture_diff_slices, Algorithm, DiffOp};

use super::arbiter::{Arbiter, ConflictHunk};
use super::record::Step;

/// The result of merging a text field.
#[derive(Debug, Clone, PartialEq)]
pub struct TextMerge {
    /// The merged text.
    pub text: String,
    /// The strongest step any hunk needed (keep-both over arbiter over line diff3).
    pub step: Step,
    /// True when both sides were kept somewhere (or the arbiter's choice needs a person).
    pub needs_review: bool,
    /// The hunks line diff3 could not merge, with what decided each.
    pub hunks: Vec<HunkOutcome>,
}

/// How one overlapping hunk was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct HunkOutcome {
    /// The step that decided it: `Arbiter` or `KeepBoth`.
    pub step: Step,
    /// Why the arbiter did not decide it, when it did not and one was given.
    pub arbiter_error: Option<String>,
}

/// Merges `local` and `remote`, both edited from `base`.
///
/// Regions only one side changed take that side; regions both changed the same way are
/// taken once; where both changed different adjacent lines each line comes from its
/// side; what still overlaps goes to `arbiter` (when given) and otherwise keeps both
/// sides, local first, flagged for review.
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

    let (b, l, r) = (lines(base), lines(local), lines(remote));
    let chunks = diff3(&b, &l, &r, Algorithm::Histogram);
    let mut out = String::with_capacity(local.len().max(remote.len()));
    let mut step = Step::LineDiff3;
    let mut needs_review = false;
    let mut hunks = Vec::new();
    for chunk in &chunks {
        match chunk {
            Chunk::Stable(range) => push_all(&mut out, &b[range.clone()]),
            Chunk::Local(range) => push_all(&mut out, &l[range.clone()]),
            Chunk::Remote(range) => push_all(&mut out, &r[range.clone()]),
            Chunk::Conflict {
                base: br,
                local: lr,
                remote: rr,
            } => {
                let (bh, lh, rh) = (
                    b[br.clone()].concat(),
                    l[lr.clone()].concat(),
                    r[rr.clone()].concat(),
                );
                if let Some(merged) = zip_lines(&b[br.clone()], &l[lr.clone()], &r[rr.clone()]) {
                    out.push_str(&merged);
                    continue;
                }
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
                let (text, outcome) = match decided {
                    Some((model, Ok(res))) => {
                        needs_review |= res.needs_review;
                        let s = Step::Arbiter {
                            model,
                            detail: res.detail,
                            score: res.score,
                        };
                        (
                            res.text,
                            HunkOutcome {
                                step: s,
                                arbiter_error: None,
                            },
                        )
                    }
                    other => {
                        needs_review = true;
                        (
                            keep_both(&lh, &rh),
                            HunkOutcome {
                                step: Step::KeepBoth,
                                arbiter_error: other
                                    .and_then(|(_, r)| r.err())
                                    .map(|e| e.to_string()),
                            },
                        )
                    }
                };
                out.push_str(&text);
                step = stronger(step, outcome.step.clone());
                hunks.push(outcome);
            }
        }
    }
    TextMerge {
        text: out,
        step,
        needs_review,
        hunks,
    }
}

/// Both sides of an overlapping hunk, local first, each ending in a line break so the
/// two never run together.
pub(crate) fn keep_both(local: &str, remote: &str) -> String {
    let mut text = String::with_capacity(local.len() + remote.len() + 1);
    text.push_str(local);
    if !text.is_empty() && !text.ends_with('\n') && !remote.is_empty() {
        text.push('\n');
    }
    text.push_str(remote);
    text
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

/// Word diff3 of `local` and `remote` against `base`: each side's word edits applied at
/// their place, `None` when an edit of one side touches what the other side changed.
/// Joining the result gives whole text back; line breaks are whitespace, so a merge may
/// span several lines.
pub(crate) fn merge_words(base: &str, local: &str, remote: &str) -> Option<String> {
    let (b, l, r) = (words(base), words(local), words(remote));
    let mut out = String::with_capacity(local.len().max(remote.len()));
    for chunk in diff3(&b, &l, &r, Algorithm::Myers) {
        match chunk {
            Chunk::Stable(range) => push_all(&mut out, &b[range]),
            Chunk::Local(range) => push_all(&mut out, &l[range]),
            Chunk::Remote(range) => push_all(&mut out, &r[range]),
            Chunk::Conflict { .. } => return None,
        }
    }
    Some(out)
}

fn stronger(a: Step, b: Step) -> Step {
    fn rank(s: &Step) -> u8 {
        match s {
            Step::KeepBoth => 3,
            Step::Arbiter { .. } => 2,
            _ => 0,
        }
    }
    if rank(&b) > rank(&a) {
        b
    } else {
        a
    }
}

fn push_all(out: &mut String, parts: &[&str]) {
    for p in parts {
        out.push_str(p);
    }
}

/// Lines with their terminators, so joining them gives the text back exactly.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Words, runs of whitespace and single punctuation marks, so joining them gives the
/// text back exactly and a change of one word does not touch its neighbours.
pub(crate) fn words(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Word,
        Space,
        Mark,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' || c == '\'' {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Mark
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<Class> = None;
    for (i, c) in text.char_indices() {
        let k = class(c);
        // Marks stand alone; words and spaces run on.
        if let Some(p) = prev {
            if p != k || k == Class::Mark {
                out.push(&text[start..i]);
                start = i;
            }
        }
        prev = Some(k);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// One region of a three-way comparison, as ranges into base, local or remote.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Chunk {
    /// Unchanged on both sides (a base range).
    Stable(Range<usize>),
    /// Changed the same way on both sides: take this local range.
    Local(Range<usize>),
    /// Changed on the remote side only: take this remote range.
    Remote(Range<usize>),
    /// Changed differently on both sides.
    Conflict {
        base: Range<usize>,
        local: Range<usize>,
        remote: Range<usize>,
    },
}

/// For each base item, the index of the item it matches on the side `ops` leads to, if any.
fn matches(base_len: usize, ops: &[DiffOp]) -> Vec<Option<usize>> {
    let mut m = vec![None; base_len];
    for op in ops {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = *op
        {
            for k in 0..len {
                m[old_index + k] = Some(new_index + k);
            }
        }
    }
    m
}

/// The classic diff3 chunking (Khanna, Kunal and Pierce): runs where all three agree are
/// stable; between them, a region is taken from the side that changed it, once when
/// both changed it alike, and is a conflict when both changed it differently.
fn diff3<T: Eq + Hash>(base: &[T], local: &[T], remote: &[T], alg: Algorithm) -> Vec<Chunk> {
    let ml = matches(base.len(), &capture_diff_slices(alg, base, local));
    let mr = matches(base.len(), &capture_diff_slices(alg, base, remote));
    let (mut o, mut a, mut b) = (0, 0, 0);
    let mut out = Vec::new();
    loop {
        // A stable run: base, local and remote advance together.
        let mut n = 0;
        while o + n < base.len() && ml[o + n] == Some(a + n) && mr[o + n] == Some(b + n) {
            n += 1;
        }
        if n > 0 {
            out.push(Chunk::Stable(o..o + n));
            o += n;
            a += n;
            b += n;
            continue;
        }
        // The next base item both sides still hold ends the unstable region.
        let next = (o..base.len())
            .find(|&j| matches!((ml[j], mr[j]), (Some(x), Some(y)) if x >= a && y >= b));
        let (o2, a2, b2) = match next {
            Some(j) => (j, ml[j].unwrap_or(a), mr[j].unwrap_or(b)),
            None => (base.len(), local.len(), remote.len()),
        };
        if o2 == o && a2 == a && b2 == b {
            break;
        }
        let (br, lr, rr) = (o..o2, a..a2, b..b2);
        let local_same = local[lr.clone()] == base[br.clone()];
        let remote_same = remote[rr.clone()] == base[br.clone()];
        if local_same {
            out.push(Chunk::Remote(rr));
        } else if remote_same || local[lr.clone()] == remote[rr.clone()] {
            out.push(Chunk::Local(lr));
        } else {
            out.push(Chunk::Conflict {
                base: br,
                local: lr,
                remote: rr,
            });
        }
        o = o2;
        a = a2;
        b = b2;
    }
    out
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
    fn edits_of_different_words_in_one_line_keep_both_lines_verbatim() {
        let m = merge(
            "The quick brown fox jumps.\n",
            "The quick red fox jumps.\n",
            "The quick brown fox leaps.\n",
        );
        assert_eq!(
            m.text,
            "The quick red fox jumps.\nThe quick brown fox leaps.\n"
        );
        assert_eq!(m.step, Step::KeepBoth);
        assert!(m.needs_review);
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
    fn word_diff3_applies_edits_of_different_words() {
        assert_eq!(
            merge_words(
                "The quick brown fox jumps.",
                "The quick red fox jumps.",
                "The quick brown fox leaps."
            )
            .as_deref(),
            Some("The quick red fox leaps.")
        );
        assert_eq!(
            merge_words("on Tuesday", "on Wednesday", "on Thursday"),
            None
        );
        assert_eq!(
            merge_words("it's a cat\nend", "it's a dog\nend", "it is a cat\nend\n").as_deref(),
            Some("it is a dog\nend\n")
        );
    }

    #[test]
    fn edits_of_adjacent_lines_take_each_line_from_its_side() {
        let m = merge("a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nC\nd\n");
        assert_eq!(m.text, "a\nB\nC\nd\n");
        assert!(!m.needs_review);
    }

    #[test]
    fn two_rewrites_of_one_line_are_not_interleaved_by_words() {
        let m = merge(
            "The meeting is on Monday at noon.\n",
            "The meeting moved to Tuesday at noon.\n",
            "The meeting is on Monday at three, in room 4.\n",
        );
        assert_eq!(m.step, Step::KeepBoth);
        assert!(m.text.contains("moved to Tuesday at noon.") && m.text.contains("in room 4."));
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

    #[test]
    fn words_rejoin_to_the_text() {
        let t = "Hello, wörld!  It's 3.14 -- ok\n\tnext_line";
        assert_eq!(words(t).concat(), t);
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

    proptest! {
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
