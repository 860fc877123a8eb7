//! Candidate resolutions of a conflict hunk, and the check that says which are safe.
//!
//! The arbiter never writes text of its own: it picks one of these. Each candidate is
//! built from the three versions of the hunk by a rule a person merging by hand would
//! use (take one side, keep both in some order, keep a sorted list sorted, merge a line
//! edited on both sides word by word). [`check`] then says whether a candidate is *clean*:
//! it keeps every line either side added and brings in no text that is in neither input.
//! Only clean candidates may be chosen without a person reviewing the result.

use std::collections::HashSet;

use similar::{capture_diff_slices, Algorithm, DiffOp};

use super::hunk::{lines, ConflictHunk};
use super::tokens::tokens as words;
use super::words::merge_words;

/// Hunks longer than this (in lines, per side) get only the whole-side candidates: the
/// structural rules diff the hunk, and a conflict that large is for a person anyway.
const MAX_STRUCTURED_LINES: usize = 2_000;

/// How a candidate was built. The order of the variants is the structural preference:
/// where the model does not decide, the first clean candidate in this order wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CandidateKind {
    /// A sorted list (both sides sorted, and the context around it) kept sorted: every
    /// entry either side added, none either side removed, in order.
    Sorted,
    /// Like [`CandidateKind::UnionLocalFirst`], but where both sides rewrote the same
    /// lines those lines are merged word by word (when the word edits do not overlap).
    WordMerge,
    /// Every change of both sides applied at its place: lines either side added are
    /// kept, lines either side deleted are gone, identical additions appear once; where
    /// both added different lines at the same place, this device's come first.
    UnionLocalFirst,
    /// The same, the other device's additions first.
    UnionRemoteFirst,
    /// This device's hunk, then the other device's.
    LocalThenRemote,
    /// The other device's hunk, then this device's.
    RemoteThenLocal,
    /// This device's hunk alone.
    Local,
    /// The other device's hunk alone.
    Remote,
}

impl CandidateKind {
    /// Short name recorded in the conflict log.
    pub fn label(self) -> &'static str {
        match self {
            CandidateKind::Sorted => "sorted",
            CandidateKind::WordMerge => "word-merge",
            CandidateKind::UnionLocalFirst => "union-local-first",
            CandidateKind::UnionRemoteFirst => "union-remote-first",
            CandidateKind::LocalThenRemote => "local+remote",
            CandidateKind::RemoteThenLocal => "remote+local",
            CandidateKind::Local => "local",
            CandidateKind::Remote => "remote",
        }
    }
}

/// One way to resolve a hunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The rule that built it (the first rule, when several build the same text).
    pub kind: CandidateKind,
    /// The text that would replace the hunk.
    pub text: String,
    /// What it keeps and what it brings in.
    pub check: Check,
    /// True when it keeps two rival versions of the same lines (both sides rewrote a
    /// line differently and both rewrites stand): nothing is lost, but that is not a
    /// merge a person would make, so it needs review.
    pub keeps_rivals: bool,
}

impl Candidate {
    /// True when choosing this candidate needs a person's review: it loses or invents
    /// text, keeps rival versions side by side, or is a word merge of rival rewrites (a
    /// line neither side wrote; on merge-dev such merges matched the person's line in 3
    /// cases and replaced a line the person kept verbatim in 4).
    pub fn needs_review(&self) -> bool {
        !self.check.is_clean() || self.keeps_rivals || self.kind == CandidateKind::WordMerge
    }
}

/// What a candidate loses or invents, against the three versions of the hunk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    /// Lines one side added that the candidate does not keep.
    pub dropped: Vec<String>,
    /// Lines of the candidate made of text that is in no input.
    pub foreign: Vec<String>,
    /// Non-blank lines the candidate has more often than any input has them (a base
    /// line repeated by gluing both sides together).
    pub duplicated: Vec<String>,
}

impl Check {
    /// True when nothing either side added is lost and nothing new is invented: the
    /// candidate may be chosen without review.
    pub fn is_clean(&self) -> bool {
        self.dropped.is_empty() && self.foreign.is_empty() && self.duplicated.is_empty()
    }
}

/// Every distinct candidate for `hunk`, in structural preference order (see
/// [`CandidateKind`]), each with its [`Check`].
pub fn candidates(hunk: &ConflictHunk<'_>) -> Vec<Candidate> {
    let base = lines(hunk.base);
    let local = lines(hunk.local);
    let remote = lines(hunk.remote);
    let newline = ends_with_newline(hunk);
    let mut built: Vec<(CandidateKind, Vec<String>)> = Vec::new();

    let structured = base.len().max(local.len()).max(remote.len()) <= MAX_STRUCTURED_LINES;
    // Without the structural rules, assume the worst: both sides rewrote the same lines.
    let mut rivals = true;
    if structured {
        let l = side_edits(&base, &local);
        let r = side_edits(&base, &remote);
        rivals = has_rivals(&base, &l, &r);
        let union_local = union(&base, &l, &r, true);
        if let Some(sorted) = sorted_union(hunk, &base, &local, &remote, &union_local) {
            built.push((CandidateKind::Sorted, sorted));
        }
        if let Some(words) = word_merged_union(&base, &l, &r) {
            built.push((CandidateKind::WordMerge, words));
        }
        let union_remote = union(&base, &l, &r, false);
        if opens_section_after(&l, &r) {
            built.push((CandidateKind::UnionRemoteFirst, union_remote));
            built.push((CandidateKind::UnionLocalFirst, union_local));
        } else {
            built.push((CandidateKind::UnionLocalFirst, union_local));
            built.push((CandidateKind::UnionRemoteFirst, union_remote));
        }
    }
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    built.push((
        CandidateKind::LocalThenRemote,
        owned(&local).into_iter().chain(owned(&remote)).collect(),
    ));
    built.push((
        CandidateKind::RemoteThenLocal,
        owned(&remote).into_iter().chain(owned(&local)).collect(),
    ));
    built.push((CandidateKind::Local, owned(&local)));
    built.push((CandidateKind::Remote, owned(&remote)));

    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (kind, body) in built {
        let text = join(&body, newline);
        if seen.insert(text.clone()) {
            let check = check(hunk, &text);
            let keeps_rivals = rivals
                && matches!(
                    kind,
                    CandidateKind::Sorted
                        | CandidateKind::UnionLocalFirst
                        | CandidateKind::UnionRemoteFirst
                        | CandidateKind::LocalThenRemote
                        | CandidateKind::RemoteThenLocal
                );
            out.push(Candidate {
                kind,
                text,
                check,
                keeps_rivals,
            });
        }
    }
    out
}

/// Checks `text` as a resolution of `hunk`: which lines one side added it drops, and
/// which of its lines are made of text in no input.
///
/// A line one side added counts as kept when it stands in `text` verbatim, or when the
/// words it added (those not in the base hunk) all stand in lines of `text` that no
/// input has verbatim: a line both sides edited and that was merged word by word keeps
/// both sides' words. A line of `text` that no input has verbatim is foreign unless
/// every word of it is in some input.
pub fn check(hunk: &ConflictHunk<'_>, text: &str) -> Check {
    let base = lines(hunk.base);
    let local = lines(hunk.local);
    let remote = lines(hunk.remote);
    let out = lines(text);
    let input: HashSet<&str> = base.iter().chain(&local).chain(&remote).copied().collect();
    let out_set: HashSet<&str> = out.iter().copied().collect();
    let derived: Vec<&str> = out.iter().copied().filter(|l| !input.contains(l)).collect();
    let derived_words: HashSet<&str> = derived.iter().flat_map(|l| words(l)).collect();
    let base_set: HashSet<&str> = base.iter().copied().collect();
    let base_words: HashSet<&str> = base.iter().flat_map(|l| words(l)).collect();

    let mut dropped = Vec::new();
    let mut reported = HashSet::new();
    for line in local.iter().chain(&remote) {
        if line.trim().is_empty() || base_set.contains(line) || out_set.contains(line) {
            continue;
        }
        let mut novel = words(line)
            .into_iter()
            .filter(|w| !w.trim().is_empty() && !base_words.contains(w))
            .peekable();
        let covered = novel.peek().is_some() && novel.all(|w| derived_words.contains(w));
        if !covered && reported.insert(*line) {
            dropped.push(line.to_string());
        }
    }

    let input_words: HashSet<&str> = input.iter().flat_map(|l| words(l)).collect();
    let foreign = derived
        .iter()
        .filter(|l| !words(l).iter().all(|w| input_words.contains(w)))
        .map(|l| l.to_string())
        .collect();

    let count = |v: &[&str], line: &str| v.iter().filter(|l| **l == line).count();
    let mut duplicated = Vec::new();
    let mut seen = HashSet::new();
    for line in &out {
        if line.trim().is_empty() || !seen.insert(*line) {
            continue;
        }
        let most = count(&base, line)
            .max(count(&local, line))
            .max(count(&remote, line));
        // Lines in no input are judged as foreign above, not here.
        if most > 0 && count(&out, line) > most {
            duplicated.push(line.to_string());
        }
    }
    Check {
        dropped,
        foreign,
        duplicated,
    }
}

/// Joins lines, ending with a newline when `newline` (and there is a line).
fn join(body: &[String], newline: bool) -> String {
    let mut text = body.join("\n");
    if newline && !body.is_empty() {
        text.push('\n');
    }
    text
}

/// Whether a resolution ends with a newline: as both sides do if they agree, else as the
/// side that changed it from base, else as this device does.
fn ends_with_newline(hunk: &ConflictHunk<'_>) -> bool {
    let nl = |s: &str| s.ends_with('\n');
    // An empty side says nothing about how lines end.
    match (hunk.local.is_empty(), hunk.remote.is_empty()) {
        (true, true) => return false,
        (true, false) => return nl(hunk.remote),
        (false, true) => return nl(hunk.local),
        (false, false) => {}
    }
    let (b, l, r) = (nl(hunk.base), nl(hunk.local), nl(hunk.remote));
    match (l == r, l != b, r != b) {
        (true, _, _) => l,
        (false, true, _) => l,
        (false, _, true) => r,
        _ => l,
    }
}

/// What one side did to the base: which base items it deleted, and what it inserted
/// before each base position (`inserted[n]` is after the last item).
struct SideEdits<'a> {
    deleted: Vec<bool>,
    inserted: Vec<Vec<&'a str>>,
}

fn side_edits<'a>(base: &[&'a str], side: &[&'a str]) -> SideEdits<'a> {
    let mut edits = SideEdits {
        deleted: vec![false; base.len()],
        inserted: vec![Vec::new(); base.len() + 1],
    };
    for op in capture_diff_slices(Algorithm::Myers, base, side) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => edits.deleted[old_index..old_index + old_len].fill(true),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => edits.inserted[old_index].extend(&side[new_index..new_index + new_len]),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                edits.deleted[old_index..old_index + old_len].fill(true);
                edits.inserted[old_index].extend(&side[new_index..new_index + new_len]);
            }
        }
    }
    edits
}

/// True when, where both sides added lines at the same place, this device's addition
/// opens a new section (starts with a heading) and the other device's does not: the
/// other's entry then belongs to the section above, before the new heading (an entry
/// added to a changelog's open section while the other side cut a release).
fn opens_section_after(l: &SideEdits<'_>, r: &SideEdits<'_>) -> bool {
    let heading = |ins: &[&str]| {
        ins.iter()
            .find(|x| !x.trim().is_empty())
            .is_some_and(|x| x.starts_with('#'))
    };
    l.inserted
        .iter()
        .zip(&r.inserted)
        .find(|(li, ri)| !li.is_empty() && !ri.is_empty() && li != ri)
        .is_some_and(|(li, ri)| heading(li) && !heading(ri))
}

/// True when somewhere both sides replaced the same base lines by different lines: a run
/// of base lines both deleted, with different non-empty insertions in or next to it.
fn has_rivals(base: &[&str], l: &SideEdits<'_>, r: &SideEdits<'_>) -> bool {
    let mut p = 0;
    while p < base.len() {
        if !(l.deleted[p] && r.deleted[p]) {
            p += 1;
            continue;
        }
        let start = p;
        while p < base.len() && l.deleted[p] && r.deleted[p] {
            p += 1;
        }
        let li: Vec<&str> = l.inserted[start..=p].iter().flatten().copied().collect();
        let ri: Vec<&str> = r.inserted[start..=p].iter().flatten().copied().collect();
        if !li.is_empty() && !ri.is_empty() && li != ri {
            return true;
        }
    }
    false
}

/// Both sides' insertions at one place, merged: lines both inserted in the same order
/// appear once; between them, the first side's lines, then the second's. Runs of blank
/// lines are not taken as common (every entry of a list ends with one), so two different
/// entries each keep their own.
fn both_inserted<'a>(first: &[&'a str], second: &[&'a str]) -> Vec<&'a str> {
    if first == second || second.is_empty() {
        return first.to_vec();
    }
    if first.is_empty() {
        return second.to_vec();
    }
    let mut out = Vec::with_capacity(first.len() + second.len());
    let (mut f0, mut s0) = (0, 0);
    for op in capture_diff_slices(Algorithm::Myers, first, second) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            let run = &first[old_index..old_index + len];
            if run.iter().all(|l| l.trim().is_empty()) {
                continue;
            }
            out.extend(&first[f0..old_index]);
            out.extend(&second[s0..new_index]);
            out.extend(run);
            f0 = old_index + len;
            s0 = new_index + len;
        }
    }
    out.extend(&first[f0..]);
    out.extend(&second[s0..]);
    out
}

fn union(base: &[&str], l: &SideEdits<'_>, r: &SideEdits<'_>, local_first: bool) -> Vec<String> {
    let mut out = Vec::new();
    for p in 0..=base.len() {
        let ins = if local_first {
            both_inserted(&l.inserted[p], &r.inserted[p])
        } else {
            both_inserted(&r.inserted[p], &l.inserted[p])
        };
        out.extend(ins.iter().map(|s| s.to_string()));
        if p < base.len() && !l.deleted[p] && !r.deleted[p] {
            out.push(base[p].to_string());
        }
    }
    out
}

/// The union, with each place where both sides replaced the same base lines by
/// different lines merged word by word. `None` when there is no such place or a word
/// merge overlaps.
fn word_merged_union(base: &[&str], l: &SideEdits<'_>, r: &SideEdits<'_>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut merged_any = false;
    let mut p = 0;
    while p <= base.len() {
        let (li, ri) = (&l.inserted[p], &r.inserted[p]);
        // The run of base lines both sides deleted right after this place.
        let run = (p..base.len())
            .take_while(|&i| l.deleted[i] && r.deleted[i])
            .count();
        if !li.is_empty() && !ri.is_empty() && li != ri && run > 0 {
            let merged = merge_words(&base[p..p + run].join("\n"), &li.join("\n"), &ri.join("\n"))
                .and_then(|m| m.merged())?;
            out.extend(merged.split('\n').map(str::to_string));
            merged_any = true;
            p += run;
            continue;
        }
        out.extend(both_inserted(li, ri).iter().map(|s| s.to_string()));
        if p < base.len() && !l.deleted[p] && !r.deleted[p] {
            out.push(base[p].to_string());
        }
        p += 1;
    }
    merged_any.then_some(out)
}

/// A key that orders list entries the way people sort them: case-insensitive, ignoring
/// indentation, bullet markers and a leading link bracket.
fn sort_key(line: &str) -> String {
    let t = line.trim_start();
    let t = t
        .strip_prefix("- ")
        .or_else(|| t.strip_prefix("* "))
        .or_else(|| t.strip_prefix("+ "))
        .unwrap_or(t);
    let t = t.trim_start_matches(['[', '`', '"', '\'']);
    t.to_lowercase()
}

fn is_sorted_by_key(heads: &[&str]) -> bool {
    heads.windows(2).all(|w| sort_key(w[0]) <= sort_key(w[1]))
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `lines` cut into entries: a line and the lines under it that are indented further (an
/// option and its description, a term and its definition, a list item and its wrapped
/// text). A list of one-line entries is one entry a line.
fn entries<L: AsRef<str>>(lines: &[L]) -> Vec<&[L]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=lines.len() {
        if i == lines.len() || indent(lines[i].as_ref()) <= indent(lines[start].as_ref()) {
            out.push(&lines[start..i]);
            start = i;
        }
    }
    out
}

/// The first line of each entry.
fn heads<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    entries(lines).iter().map(|e| e[0]).collect()
}

/// The union sorted, when the hunk is part of a sorted list of entries (one line each, or
/// a line with further-indented lines under it): the base, each side, and the entries
/// next to the hunk are in order, with at least three entries of evidence and no blank
/// line inside the hunk. Entries move whole.
fn sorted_union(
    hunk: &ConflictHunk<'_>,
    base: &[&str],
    local: &[&str],
    remote: &[&str],
    union: &[String],
) -> Option<Vec<String>> {
    let blank = |v: &[&str]| v.iter().any(|l| l.trim().is_empty());
    if blank(base) || blank(local) || blank(remote) || union.len() < 2 {
        return None;
    }
    // Every side's entries start at the same indentation as the hunk's first base line.
    let level = base.first().or(local.first())?;
    let level = indent(level);
    let at_level = |v: &[&str]| heads(v).iter().all(|h| indent(h) == level);
    if !(at_level(base) && at_level(local) && at_level(remote)) {
        return None;
    }
    // The entries just outside the hunk: the head of the entry above (the nearest line at
    // that level, past the lines under it, with no blank line between), and the line below
    // when it starts the next entry.
    let above = lines(hunk.before)
        .iter()
        .rev()
        .take_while(|l| !l.trim().is_empty() && indent(l) >= level)
        .find(|l| indent(l) == level)
        .copied();
    let below = lines(hunk.after)
        .first()
        .copied()
        .filter(|l| !l.trim().is_empty() && indent(l) == level);
    fn framed<'a>(above: Option<&'a str>, v: &[&'a str], below: Option<&'a str>) -> Vec<&'a str> {
        above.into_iter().chain(heads(v)).chain(below).collect()
    }
    let evidence = framed(above, base, below);
    if evidence.len() < 3 {
        return None;
    }
    if !(is_sorted_by_key(&evidence)
        && is_sorted_by_key(&framed(above, local, below))
        && is_sorted_by_key(&framed(above, remote, below)))
    {
        return None;
    }
    let mut sorted = entries(union);
    sorted.sort_by_cached_key(|e| sort_key(&e[0]));
    Some(sorted.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hunk<'a>(base: &'a str, local: &'a str, remote: &'a str) -> ConflictHunk<'a> {
        ConflictHunk {
            before: "",
            base,
            local,
            remote,
            after: "",
        }
    }

    fn texts(c: &[Candidate]) -> Vec<(&'static str, &str)> {
        c.iter()
            .map(|c| (c.kind.label(), c.text.as_str()))
            .collect()
    }

    #[test]
    fn both_sides_adding_at_the_top_of_a_changelog_keep_both_entries_in_either_order() {
        let h = hunk(
            "## 1.0\n",
            "## 1.2 local\n## 1.0\n",
            "## 1.1 remote\n## 1.0\n",
        );
        let c = candidates(&h);
        let union_l = c
            .iter()
            .find(|c| c.kind == CandidateKind::UnionLocalFirst)
            .unwrap();
        assert_eq!(union_l.text, "## 1.2 local\n## 1.1 remote\n## 1.0\n");
        assert!(union_l.check.is_clean());
        let union_r = c
            .iter()
            .find(|c| c.kind == CandidateKind::UnionRemoteFirst)
            .unwrap();
        assert_eq!(union_r.text, "## 1.1 remote\n## 1.2 local\n## 1.0\n");
        let local = c.iter().find(|c| c.kind == CandidateKind::Local).unwrap();
        assert_eq!(local.check.dropped, vec!["## 1.1 remote".to_string()]);
    }

    #[test]
    fn an_entry_stays_in_the_open_section_above_a_new_release_heading() {
        let h = hunk(
            "## 1.0\n",
            "## 1.1\n\n* released\n\n## 1.0\n",
            "* new entry\n\n## 1.0\n",
        );
        let c = candidates(&h);
        assert_eq!(c[0].kind, CandidateKind::UnionRemoteFirst);
        assert_eq!(c[0].text, "* new entry\n\n## 1.1\n\n* released\n\n## 1.0\n");
        // The other way round, this device's entry comes first as usual.
        let h = hunk(
            "## 1.0\n",
            "* new entry\n\n## 1.0\n",
            "## 1.1\n\n* released\n\n## 1.0\n",
        );
        assert_eq!(candidates(&h)[0].kind, CandidateKind::UnionLocalFirst);
    }

    #[test]
    fn identical_additions_appear_once() {
        let h = hunk("a\n", "a\nnew\nmine\n", "a\nnew\ntheirs\n");
        let c = candidates(&h);
        assert_eq!(c[0].kind, CandidateKind::UnionLocalFirst);
        assert_eq!(c[0].text, "a\nnew\nmine\ntheirs\n");
        assert!(c[0].check.is_clean());
    }

    #[test]
    fn two_new_entries_each_keep_their_blank_line() {
        let h = hunk(
            "## 1.0\n",
            "## 1.2\n\n* local\n\n## 1.0\n",
            "## 1.1\n\n* remote\n\n## 1.0\n",
        );
        let c = candidates(&h);
        assert_eq!(
            c[0].text,
            "## 1.2\n\n* local\n\n## 1.1\n\n* remote\n\n## 1.0\n"
        );
        assert!(!c[0].needs_review());
    }

    #[test]
    fn a_sorted_list_stays_sorted() {
        let h = ConflictHunk {
            before: "# Tools\n* [Alpha](a)\n",
            base: "* [Delta](d)\n",
            local: "* [Beta](b)\n* [Delta](d)\n",
            remote: "* [Charlie](c)\n* [Delta](d)\n",
            after: "* [Echo](e)\n",
        };
        let c = candidates(&h);
        assert_eq!(c[0].kind, CandidateKind::Sorted);
        assert_eq!(c[0].text, "* [Beta](b)\n* [Charlie](c)\n* [Delta](d)\n");
        assert!(c[0].check.is_clean());
    }

    #[test]
    fn sorted_entries_of_several_lines_move_whole() {
        // Options with their descriptions under them: both added one at the same place.
        let h = ConflictHunk {
            before: "--alpha\n    Does a.\n--bravo\n    Does b.\n",
            base: "--echo\n    Does e.\n",
            local: "--delta\n    Does d.\n    More on d.\n--echo\n    Does e.\n",
            remote: "--charlie\n    Does c.\n--echo\n    Does e.\n",
            after: "--foxtrot\n    Does f.\n",
        };
        let c = candidates(&h);
        assert_eq!(c[0].kind, CandidateKind::Sorted);
        assert_eq!(
            c[0].text,
            "--charlie\n    Does c.\n--delta\n    Does d.\n    More on d.\n--echo\n    Does e.\n"
        );
        assert!(c[0].check.is_clean());
    }

    #[test]
    fn prose_is_not_treated_as_a_sorted_list() {
        let h = hunk(
            "Zebras run.\n",
            "Zebras run fast.\nAnts walk.\n",
            "Zebras run.\nBees fly.\n",
        );
        assert!(candidates(&h)
            .iter()
            .all(|c| c.kind != CandidateKind::Sorted));
    }

    #[test]
    fn a_line_edited_on_both_sides_is_merged_by_words() {
        let h = hunk(
            "these range notation can be used with gitk and \"git log\".\n",
            "these range notation can be used with `gitk` and `git log`.\n",
            "these range notations can be used with gitk and \"git log\".\n",
        );
        let c = candidates(&h);
        assert_eq!(c[0].kind, CandidateKind::WordMerge, "{:?}", texts(&c));
        assert_eq!(
            c[0].text,
            "these range notations can be used with `gitk` and `git log`.\n"
        );
        assert!(c[0].check.is_clean(), "{:?}", c[0].check);
        assert!(c[0].needs_review(), "a line neither side wrote");
    }

    #[test]
    fn check_flags_invented_text_and_dropped_additions() {
        let h = hunk("a\n", "a\nb\n", "a\nc\n");
        let invented = check(&h, "a\nb\nc\nzzz\n");
        assert_eq!(invented.foreign, vec!["zzz".to_string()]);
        let dropped = check(&h, "a\nb\n");
        assert_eq!(dropped.dropped, vec!["c".to_string()]);
        assert!(check(&h, "a\nc\nb\n").is_clean());
    }

    #[test]
    fn missing_final_newline_follows_the_side_that_changed_it() {
        let h = hunk("x", "x\ny", "x\nz");
        let c = candidates(&h);
        assert_eq!(c[0].text, "x\ny\nz");
    }

    #[test]
    fn empty_sides_give_empty_and_one_sided_candidates() {
        let h = hunk("gone\n", "", "changed\n");
        let c = candidates(&h);
        assert!(c.iter().any(|c| c.text.is_empty()));
        assert!(c
            .iter()
            .any(|c| c.text == "changed\n" && c.check.is_clean()));
    }
}
