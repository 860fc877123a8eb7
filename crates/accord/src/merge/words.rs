//! Word-level three-way merge: the one word diff3 of the merge module.
//!
//! 1. Each side is diffed against the base at the level of [`tokens`]; its changes are
//!    *edits*: a run of base tokens (possibly empty: an insertion) replaced by a run of
//!    that side's tokens.
//! 2. The edits of both sides, in base order, are grouped into *clusters*: an edit joins
//!    the cluster before it when the two overlap, touch, or when the unchanged base text
//!    between them holds no word and no line break ([`separates`]). So two edits of
//!    neighbouring words, or of the same words, fall into one cluster; edits with a word
//!    or a line break unchanged between them do not.
//! 3. A cluster with edits of one side only takes that side's text; a cluster whose two
//!    sides wrote the same text takes it once. Either way every run of words either side
//!    wrote stands in the result, and a line made this way is the composition of both
//!    sides' edits.
//! 4. A cluster with different edits of both sides is a conflict. It keeps the base and
//!    both sides' versions of its span, whether the edits only sit side by side (they can
//!    be composed: each applied at its place) or touch the same base words (they cannot),
//!    and how much each side changed; the suggestion for a flagged merge is built from
//!    that ([`WordMerge::suggested`]).

use std::ops::Range;

use similar::{capture_diff_slices, Algorithm, DiffTag};

use super::decision::Side;
use super::hunk::lines_inclusive;
use super::tokens::{is_word, separates, tokens};

/// Sides longer than this many tokens are not merged word by word (the diff is
/// quadratic in the worst case); the hunk is left to the next step.
const MAX_TOKENS: usize = 50_000;

/// One run of the word merge's output.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// Decided text: unchanged base, one side's edit, or both sides' identical edit.
    Text(String),
    /// Both sides edited this span differently.
    Conflict(WordConflict),
}

/// A span both sides edited differently, with what a suggestion needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WordConflict {
    /// The span in the base.
    pub base: String,
    /// This device's version of the span.
    pub local: String,
    /// The other device's version of the span.
    pub remote: String,
    /// Both sides' edits applied each at its place, this device's first where both
    /// inserted at one point; `None` when the edits touch the same base words (one would
    /// overwrite the other).
    pub composed: Option<String>,
    /// Words this device wrote or removed in the span (the size of its edit).
    pub local_weight: usize,
    /// Words the other device wrote or removed in the span.
    pub remote_weight: usize,
}

impl WordConflict {
    /// The side that changed the span more (this device on a tie).
    pub fn larger_edit(&self) -> Side {
        if self.remote_weight > self.local_weight {
            Side::Remote
        } else {
            Side::Local
        }
    }
}

/// The result of a word-level three-way merge.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WordMerge {
    /// The output in order: decided text and conflicting spans.
    pub pieces: Vec<Piece>,
}

impl WordMerge {
    /// The merged text when no span conflicts.
    pub fn merged(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Conflict(_) => return None,
            }
        }
        Some(out)
    }

    /// The conflicting spans.
    #[cfg(test)]
    pub fn conflicts(&self) -> impl Iterator<Item = &WordConflict> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Conflict(c) => Some(c),
            Piece::Text(_) => None,
        })
    }

    /// The text with each conflicting span resolved by `choose`.
    pub fn resolved(&self, mut choose: impl FnMut(&WordConflict) -> String) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Conflict(c) => out.push_str(&choose(c)),
            }
        }
        out
    }
}

/// One side's change of the base: base tokens `base` replaced by side tokens `side`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    base: Range<usize>,
    side: Range<usize>,
    /// An insertion of whole lines at the start of a line: it stands on lines of its own,
    /// apart from an edit inside the line it comes before.
    whole_lines: bool,
}

/// A text cut into tokens, with where each line's tokens start.
struct Tokenized<'a> {
    tokens: Vec<&'a str>,
    /// `line_start[i]`: index of line i's first token; one more entry at the end.
    line_start: Vec<usize>,
}

fn tokenize(text: &str) -> Tokenized<'_> {
    let mut t = Tokenized {
        tokens: Vec::new(),
        line_start: vec![0],
    };
    // Token boundaries always fall at line ends, so tokenizing line by line gives the
    // same tokens as the whole text.
    for line in lines_inclusive(text) {
        t.tokens.extend(tokens(line));
        t.line_start.push(t.tokens.len());
    }
    t
}

/// Appends the edits of one token-level diff, offset to where it starts.
fn push_token_edits(out: &mut Vec<Edit>, base: &[&str], side: &[&str], at: (usize, usize)) {
    for op in capture_diff_slices(Algorithm::Myers, base, side) {
        let (tag, b, s) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            continue;
        }
        push_edit(
            out,
            Edit {
                base: b.start + at.0..b.end + at.0,
                side: s.start + at.1..s.end + at.1,
                whole_lines: false,
            },
        );
    }
}

/// Appends an edit, joining it to the previous one when the two are contiguous.
fn push_edit(out: &mut Vec<Edit>, e: Edit) {
    match out.last_mut() {
        Some(last)
            if last.base.end == e.base.start
                && last.side.end == e.side.start
                && !last.whole_lines
                && !e.whole_lines =>
        {
            last.base.end = e.base.end;
            last.side.end = e.side.end;
        }
        _ => out.push(e),
    }
}

/// The edits that turn `base` into `side`, in base order. Lines are aligned first (so
/// a line inserted next to a similar line stays an inserted line), then the tokens of
/// the lines a side changed; a deletion next to an insertion is one replacement.
fn edits(
    base: &Tokenized<'_>,
    side: &Tokenized<'_>,
    base_text: &str,
    side_text: &str,
) -> Vec<Edit> {
    let (bl, sl) = (lines_inclusive(base_text), lines_inclusive(side_text));
    let mut out: Vec<Edit> = Vec::new();
    for op in capture_diff_slices(Algorithm::Histogram, &bl, &sl) {
        let (tag, b, s) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            continue;
        }
        let bt = base.line_start[b.start]..base.line_start[b.end];
        let st = side.line_start[s.start]..side.line_start[s.end];
        let whole = st.end > st.start && side.tokens[st.end - 1].ends_with(['\n', '\r']);
        if b.is_empty() && whole {
            push_edit(
                &mut out,
                Edit {
                    base: bt,
                    side: st,
                    whole_lines: true,
                },
            );
        } else {
            push_token_edits(
                &mut out,
                &base.tokens[bt.clone()],
                &side.tokens[st.clone()],
                (bt.start, st.start),
            );
        }
    }
    out
}

/// Merges `local` and `remote`, both edited from `base`, word by word (see the module
/// doc). `None` when a side is too long to diff word by word.
pub(crate) fn merge_words(base: &str, local: &str, remote: &str) -> Option<WordMerge> {
    let (bt, lt, rt) = (tokenize(base), tokenize(local), tokenize(remote));
    let (b, l, r) = (&bt.tokens, &lt.tokens, &rt.tokens);
    if b.len().max(l.len()).max(r.len()) > MAX_TOKENS {
        return None;
    }
    let (le, re) = (edits(&bt, &lt, base, local), edits(&bt, &rt, base, remote));

    // All edits in base order, tagged by side. At one base position an insertion of
    // this device sorts first.
    let mut all: Vec<(Side, &Edit)> = le
        .iter()
        .map(|e| (Side::Local, e))
        .chain(re.iter().map(|e| (Side::Remote, e)))
        .collect();
    all.sort_by_key(|(side, e)| (e.base.start, e.base.end, *side == Side::Remote));

    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut at = 0; // base tokens up to here are emitted
    let (mut l_shift, mut r_shift) = (0isize, 0isize); // side index - base index before `at`
    let mut i = 0;
    while i < all.len() {
        // Grow a cluster from edit i. `lines_end`: the cluster ends with an insertion
        // of whole lines, which stands apart from what follows it in the next line
        // (though not from another insertion at the same point).
        let start = all[i].1.base.start;
        let mut end = all[i].1.base.end;
        let mut lines_end = all[i].1.whole_lines;
        let mut j = i + 1;
        while j < all.len() {
            let next = all[j].1;
            let apart = next.base.start >= end
                && (b[end..next.base.start].iter().any(|t| separates(t))
                    || (lines_end && !(next.base.is_empty() && next.base.start == end)));
            if apart {
                break;
            }
            if next.base.end > end || (next.base.end == end && next.whole_lines) {
                lines_end = next.whole_lines;
            } else if next.base.end == end {
                lines_end &= next.whole_lines;
            }
            end = end.max(next.base.end);
            j += 1;
        }
        let cluster = &all[i..j];
        text.extend(b[at..start].iter().copied());

        let span = |side: Side, shift: isize| -> (Range<usize>, isize) {
            let grow: isize = cluster
                .iter()
                .filter(|(s, _)| *s == side)
                .map(|(_, e)| e.side.len() as isize - e.base.len() as isize)
                .sum();
            let from = (start as isize + shift) as usize;
            let to = (end as isize + shift + grow) as usize;
            (from..to, shift + grow)
        };
        let (lr, l_next) = span(Side::Local, l_shift);
        let (rr, r_next) = span(Side::Remote, r_shift);
        let has = |side: Side| cluster.iter().any(|(s, _)| *s == side);
        let (local_span, remote_span) = (l[lr.clone()].concat(), r[rr.clone()].concat());
        // Containment is a judgement about words inside one line; across lines, where a
        // line break moved, both versions stay for a person (or the arbiter) to order.
        let within_a_line = !local_span.contains('\n') && !remote_span.contains('\n');
        if !has(Side::Remote) {
            text.push_str(&local_span);
        } else if !has(Side::Local) || local_span == remote_span {
            text.push_str(&remote_span);
        } else if within_a_line && contains(cluster, Side::Local, l, lr.clone(), r) {
            text.push_str(&local_span);
        } else if within_a_line && contains(cluster, Side::Remote, r, rr.clone(), l) {
            text.push_str(&remote_span);
        } else {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            let weight = |side: Side, toks: &[&str]| {
                cluster
                    .iter()
                    .filter(|(s, _)| *s == side)
                    .map(|(_, e)| {
                        let wrote = toks[e.side.clone()].iter().filter(|t| is_word(t));
                        let removed = b[e.base.clone()].iter().filter(|t| is_word(t));
                        wrote.count() + removed.count()
                    })
                    .sum()
            };
            pieces.push(Piece::Conflict(WordConflict {
                base: b[start..end].concat(),
                composed: compose(b, l, r, cluster, start, end),
                local_weight: weight(Side::Local, l),
                remote_weight: weight(Side::Remote, r),
                local: local_span,
                remote: remote_span,
            }));
        }
        at = end;
        l_shift = l_next;
        r_shift = r_next;
        i = j;
    }
    text.extend(b[at..].iter().copied());
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Some(WordMerge { pieces })
}

/// True when the `outer` side's version of a cluster within one line (`outer_range` of
/// `outer_toks`) already holds everything the other side did there: every base token
/// the other side replaced or removed is replaced or removed by the outer side too, and
/// each run of words the other side wrote stands in the outer version, in order, as the
/// whole space-delimited chunk it is part of. Taking the outer side alone then loses
/// nothing either side wrote (one side fixed a word, the other fixed it the same way and
/// went on writing). The chunk, not the token, is what must match: tokens are cut at
/// inner punctuation, so `o15` of `[d3-o15]` also stands in `[d0-o15]`, which holds
/// none of that edit.
fn contains(
    cluster: &[(Side, &Edit)],
    outer: Side,
    outer_toks: &[&str],
    outer_range: Range<usize>,
    inner: &[&str],
) -> bool {
    let outer_edits: Vec<&Edit> = cluster
        .iter()
        .filter(|(s, _)| *s == outer)
        .map(|(_, e)| *e)
        .collect();
    let outer_span = &outer_toks[chunk(outer_toks, outer_range)];
    let mut from = 0;
    for (_, e) in cluster.iter().filter(|(s, _)| *s != outer) {
        let covered =
            (e.base.start..e.base.end).all(|p| outer_edits.iter().any(|o| o.base.contains(&p)));
        if !covered {
            return false;
        }
        if !trim_spacing(&inner[e.side.clone()])
            .iter()
            .any(|t| is_word(t))
        {
            // A removal, or an edit of spacing, marks or line breaks only: not a run of
            // words another text can be said to hold.
            return false;
        }
        let run = trim_spacing(&inner[chunk(inner, e.side.clone())]);
        match outer_span[from..].windows(run.len()).position(|w| w == run) {
            Some(at) => from += at + run.len(),
            None => return false,
        }
    }
    true
}

/// `range` of `toks` widened to the whole space-delimited chunks at its ends (`o15` of
/// `[d3-o15]` becomes the five tokens of `[d3-o15]`).
fn chunk(toks: &[&str], range: Range<usize>) -> Range<usize> {
    let blank = |t: &str| t.chars().all(char::is_whitespace);
    let mut start = range.start.min(toks.len());
    while start > 0 && !blank(toks[start - 1]) {
        start -= 1;
    }
    let mut end = range.end.min(toks.len()).max(start);
    while end < toks.len() && !blank(toks[end]) {
        end += 1;
    }
    start..end
}

/// `toks` without the horizontal spacing at either end.
fn trim_spacing<'t>(toks: &'t [&'t str]) -> &'t [&'t str] {
    let blank = |t: &&str| {
        t.chars()
            .all(|c| c.is_whitespace() && c != '\n' && c != '\r')
    };
    let start = toks.iter().position(|t| !blank(t)).unwrap_or(toks.len());
    let end = toks
        .iter()
        .rposition(|t| !blank(t))
        .map_or(start, |i| i + 1);
    &toks[start..end]
}

/// Both sides' edits of a cluster applied each at its place (where both inserted at one
/// point, this device's insertion first); `None` when edits of the two sides touch the
/// same base tokens, so that one would overwrite the other.
fn compose(
    b: &[&str],
    l: &[&str],
    r: &[&str],
    cluster: &[(Side, &Edit)],
    start: usize,
    end: usize,
) -> Option<String> {
    for (k, (s1, e1)) in cluster.iter().enumerate() {
        for (s2, e2) in &cluster[k + 1..] {
            if s1 != s2 && e1.base.start < e2.base.end && e2.base.start < e1.base.end {
                return None;
            }
        }
    }
    let mut out = String::new();
    let mut at = start;
    for (side, e) in cluster {
        if e.base.start > at {
            out.extend(b[at..e.base.start].iter().copied());
        }
        let toks = match side {
            Side::Local => l,
            Side::Remote => r,
        };
        out.push_str(&toks[e.side.clone()].concat());
        at = at.max(e.base.end);
    }
    out.extend(b[at..end].iter().copied());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(base: &str, local: &str, remote: &str) -> Option<String> {
        merge_words(base, local, remote).and_then(|m| m.merged())
    }

    #[test]
    fn edits_of_two_words_with_a_word_between_compose() {
        assert_eq!(
            merged(
                "Meet Bob at 10am",
                "Meet Robert at 10am",
                "Meet Bob at 11am"
            )
            .as_deref(),
            Some("Meet Robert at 11am")
        );
    }

    #[test]
    fn edits_of_neighbouring_words_conflict() {
        // Only a space between: the same phrase rewritten twice.
        let m = merge_words(
            "The quick brown fox",
            "The quick red fox",
            "The slow brown fox",
        )
        .unwrap();
        assert_eq!(m.merged(), None);
        let c = m.conflicts().next().unwrap();
        assert_eq!(
            (c.local.as_str(), c.remote.as_str()),
            ("quick red", "slow brown")
        );
        // They touch different words, so they can be composed for a suggestion.
        assert_eq!(c.composed.as_deref(), Some("slow red"));
        // Only punctuation between: still neighbours.
        assert_eq!(merged("Bob, Alice", "Robert, Alice", "Bob, Carol"), None);
        assert_eq!(merged("[d1-o6]", "[d1-o22]", "[d3-o6]"), None);
    }

    #[test]
    fn edits_of_the_same_word_conflict_and_cannot_be_composed() {
        let m = merge_words("on Tuesday", "on Wednesday", "on Thursday").unwrap();
        assert_eq!(m.merged(), None);
        assert_eq!(m.conflicts().next().unwrap().composed, None);
    }

    #[test]
    fn an_insertion_next_to_an_edit_conflicts_but_composes() {
        let m = merge_words(
            "Meet Bob at 10am",
            "Meet Bob at 11am",
            "Meet Bob at 10am in room 4",
        )
        .unwrap();
        assert_eq!(m.merged(), None);
        let c = m.conflicts().next().unwrap();
        assert_eq!(c.composed.as_deref(), Some("11am in room 4"));
    }

    #[test]
    fn a_line_break_separates_edits() {
        assert_eq!(
            merged(
                "one two\nthree four\n",
                "one 2\nthree four\n",
                "one two\n3 four\n"
            )
            .as_deref(),
            Some("one 2\n3 four\n")
        );
    }

    #[test]
    fn the_same_edit_on_both_sides_is_taken_once() {
        assert_eq!(
            merged("a cat sat", "a dog sat", "a dog sat down").as_deref(),
            Some("a dog sat down")
        );
    }

    #[test]
    fn a_side_that_already_holds_the_other_sides_edit_is_taken() {
        // Both fixed the typo; one went on to add a word.
        assert_eq!(
            merged(
                "Use the colour picker",
                "Use the color picker",
                "Use the color scheme picker"
            )
            .as_deref(),
            Some("Use the color scheme picker")
        );
        // A side that deleted a phrase does not hold an edit made inside it, even when it
        // wrote the same word elsewhere (a chaos run found `[d0-o11] [d3-o7]` edited to
        // `[d0-o11] [d3-o15]` here and to `[d0-o15]` there, which took the second whole).
        assert_eq!(
            merged("[d0-o11] [d3-o7]", "[d0-o11] [d3-o15]", "[d0-o15]"),
            None
        );
        // A side that removed what the other kept does not hold the other's edit.
        assert_eq!(
            merged("the quick fox", "the fox", "the quick brown fox"),
            None
        );
        // A run found only inside a longer word does not count.
        assert_eq!(merged("go to it", "go at it", "go cat it"), None);
    }

    #[test]
    fn non_latin_scripts_merge_by_their_words() {
        // Two ideographs apart, with an unchanged ideograph (a word) between.
        assert_eq!(
            merged("会議は月曜日です", "会談は月曜日です", "会議は火曜日です").as_deref(),
            Some("会談は火曜日です")
        );
        // Cyrillic words with a word between.
        assert_eq!(
            merged(
                "Встреча в понедельник утром",
                "Встреча во вторник утром",
                "Встреча в понедельник вечером"
            ),
            None,
            "neighbouring words"
        );
        assert_eq!(
            merged(
                "Встреча с Иваном в понедельник",
                "Встреча с Петром в понедельник",
                "Встреча с Иваном в среду"
            )
            .as_deref(),
            Some("Встреча с Петром в среду")
        );
    }

    #[test]
    fn emoji_are_words() {
        assert_eq!(
            merged(
                "I ❤️ cats and dogs",
                "We ❤️ cats and dogs",
                "I ❤️ cats and 🐦"
            )
            .as_deref(),
            Some("We ❤️ cats and 🐦")
        );
        // An emoji between two edits separates them like a word.
        assert_eq!(
            merged("a 👍 b", "x 👍 b", "a 👍 y").as_deref(),
            Some("x 👍 y")
        );
    }

    #[test]
    fn weights_count_the_words_each_side_changed() {
        let m = merge_words(
            "The meeting is on Monday",
            "The meeting is on Tuesday",
            "The gathering happens on a Friday",
        )
        .unwrap();
        let c = m.conflicts().next().unwrap();
        assert_eq!(c.larger_edit(), Side::Remote);
    }
}
