//! `accord-bench merge-oracle`: how far any choice among the arbiter's candidates can go
//! on a merge benchmark.
//!
//! For each case it runs the text pipeline with the structural arbiter, records every
//! conflicting hunk's candidates and where the hunk stands in the output, and then asks
//! whether some choice of one candidate per hunk rebuilds the committed merge exactly
//! (the text between hunks does not depend on the choices). It reads the committed merge,
//! so it is a measuring tool only: nothing here is reachable from `accord merge`.
//!
//! One approximation: the candidates of a hunk are built with the structural choice of
//! the hunks before it as context; only the sorted-list candidate looks at that context.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::Value;

use accord::merge::{
    candidates, merge_text, Arbiter, ArbiterError, CandidateArbiter, ConflictHunk, Resolution,
};

/// Arguments of `accord-bench merge-oracle`.
#[derive(Args)]
pub struct MergeOracleArgs {
    /// Cases as JSON lines ({id, base, ours, theirs, merged, git_clean}), e.g.
    /// ../shared/bench/merge-dev.jsonl.
    cases: PathBuf,
    /// Only the cases `git merge-file` merges cleanly, or only its conflicts.
    #[arg(long, value_enum)]
    only: Option<Kind>,
    /// Print each case's hunks with their candidates and which of them the committed
    /// merge uses.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Clean,
    Conflict,
}

/// One conflicting hunk as the pipeline met it.
struct SeenHunk {
    /// Byte offset of the hunk in the structural merge.
    start: usize,
    /// Length of the structural resolution there.
    len: usize,
    /// Each candidate's kind, text, whether it is clean (choosable unreviewed) and
    /// whether it loses nothing (clean, or rival versions kept side by side).
    candidates: Vec<(&'static str, String, bool, bool)>,
}

/// The structural arbiter, recording what it saw. Where the structural arbiter gives
/// nothing (the pipeline would keep both sides), it answers with the first candidate so
/// the hunk's place in the output is still known.
struct Recorder {
    inner: CandidateArbiter,
    seen: Mutex<Vec<SeenHunk>>,
}

impl Arbiter for Recorder {
    fn name(&self) -> &str {
        "oracle-recorder"
    }

    fn resolve(&self, hunk: &ConflictHunk<'_>) -> Result<Resolution, ArbiterError> {
        let cands: Vec<_> = candidates(hunk)
            .into_iter()
            .map(|c| {
                (
                    c.kind.label(),
                    c.text.clone(),
                    !c.needs_review(),
                    c.check.is_clean(),
                )
            })
            .collect();
        let res = match self.inner.resolve(hunk) {
            Ok(r) => r,
            Err(e) => Resolution {
                text: cands.first().map(|c| c.1.clone()).unwrap_or_default(),
                detail: format!("recorder: {e}"),
                score: None,
                needs_review: true,
            },
        };
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(SeenHunk {
                start: hunk.before.len(),
                len: res.text.len(),
                candidates: cands,
            });
        }
        Ok(res)
    }
}

/// Whether choosing one allowed candidate per hunk rebuilds `expected` from `merged` (the
/// structural merge) and its recorded hunks. Returns, per hunk, the candidates that lie
/// on some path that rebuilds it (empty when unreachable).
fn reachable(
    merged: &str,
    hunks: &[SeenHunk],
    expected: &str,
    allowed: impl Fn(&(&'static str, String, bool, bool)) -> bool,
) -> Option<Vec<Vec<&'static str>>> {
    // Forward: the offsets of `expected` reachable after each hunk.
    let mut layers: Vec<BTreeSet<usize>> = Vec::new();
    let mut at: BTreeSet<usize> = BTreeSet::from([0]);
    let mut prev_end = 0;
    for h in hunks {
        let stable = merged.get(prev_end..h.start)?;
        let mut next = BTreeSet::new();
        for &p in &at {
            let rest = &expected[p..];
            if !rest.starts_with(stable) {
                continue;
            }
            let p = p + stable.len();
            for c in h.candidates.iter().filter(|c| allowed(c)) {
                if expected[p..].starts_with(c.1.as_str()) {
                    next.insert(p + c.1.len());
                }
            }
        }
        layers.push(at);
        at = next;
        prev_end = h.start + h.len;
    }
    let tail = merged.get(prev_end..)?;
    let ends: BTreeSet<usize> = at
        .iter()
        .copied()
        .filter(|&p| expected[p..] == *tail)
        .collect();
    if ends.is_empty() {
        return None;
    }
    // Backward: name the candidates that lie on a path to the end (for --verbose).
    let mut good_after = ends;
    let mut chosen = vec![Vec::new(); hunks.len()];
    let mut prev_ends: Vec<usize> = hunks.iter().map(|h| h.start + h.len).collect();
    prev_ends.insert(0, 0);
    for i in (0..hunks.len()).rev() {
        let h = &hunks[i];
        let stable_len = h.start - prev_ends[i];
        let mut good_before = BTreeSet::new();
        for &p in &layers[i] {
            let q = p + stable_len;
            if expected.get(p..q) != merged.get(prev_ends[i]..h.start) {
                continue;
            }
            for c in h.candidates.iter().filter(|c| allowed(c)) {
                if expected[q..].starts_with(c.1.as_str()) && good_after.contains(&(q + c.1.len()))
                {
                    good_before.insert(p);
                    if !chosen[i].contains(&c.0) {
                        chosen[i].push(c.0);
                    }
                }
            }
        }
        good_after = good_before;
    }
    Some(chosen)
}

/// `merge_eval.py`'s test: the committed merge uses only lines of base, ours or theirs.
fn selectable(case: &Value) -> bool {
    let field = |k: &str| case[k].as_str().unwrap_or_default();
    let pool: BTreeSet<&str> = ["base", "ours", "theirs"]
        .iter()
        .flat_map(|k| field(k).lines())
        .collect();
    field("merged").lines().all(|l| pool.contains(l))
}

/// Runs the oracle and prints its table.
pub fn run(args: MergeOracleArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.cases)
        .with_context(|| format!("cannot read {}", args.cases.display()))?;
    #[derive(Default)]
    struct Tally {
        cases: usize,
        selectable: usize,
        structural: usize,
        structural_sel: usize,
        clean: usize,
        clean_sel: usize,
        lossless: usize,
        lossless_sel: usize,
        any: usize,
        any_sel: usize,
        with_hunks: usize,
    }
    let mut t = Tally::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = serde_json::from_str(line)
            .with_context(|| format!("line {} of {} is not JSON", n + 1, args.cases.display()))?;
        let kind = if case["git_clean"].as_bool().unwrap_or(false) {
            Kind::Clean
        } else {
            Kind::Conflict
        };
        if args.only.is_some_and(|o| o != kind) {
            continue;
        }
        let field = |k: &str| case[k].as_str().unwrap_or_default();
        let recorder = Recorder {
            inner: CandidateArbiter::structural(),
            seen: Mutex::new(Vec::new()),
        };
        let merged = merge_text(
            field("base"),
            field("ours"),
            field("theirs"),
            Some(&recorder),
        );
        let hunks = recorder.seen.into_inner().unwrap_or_default();
        let expected = field("merged");
        let sel = selectable(&case);
        let exact = merged.text == expected;
        let clean = reachable(&merged.text, &hunks, expected, |c| c.2);
        let lossless = reachable(&merged.text, &hunks, expected, |c| c.3);
        let any = reachable(&merged.text, &hunks, expected, |_| true);
        t.cases += 1;
        t.selectable += usize::from(sel);
        t.structural += usize::from(exact);
        t.structural_sel += usize::from(exact && sel);
        t.clean += usize::from(clean.is_some());
        t.clean_sel += usize::from(clean.is_some() && sel);
        t.lossless += usize::from(lossless.is_some());
        t.lossless_sel += usize::from(lossless.is_some() && sel);
        t.any += usize::from(any.is_some());
        t.any_sel += usize::from(any.is_some() && sel);
        t.with_hunks += usize::from(!hunks.is_empty());
        if args.verbose {
            let id = field("id");
            let verdict = match (&clean, &lossless, &any) {
                (Some(_), _, _) => "reachable (clean)",
                (None, Some(_), _) => "reachable (lossless, flagged)",
                (None, None, Some(_)) => "reachable (losing a side's line, flagged)",
                (None, None, None) => "not reachable",
            };
            println!(
                "{id} {}: {} hunks, structural {}, {verdict}",
                field("path"),
                hunks.len(),
                if exact { "exact" } else { "differs" }
            );
            let uses = any.unwrap_or_default();
            for (i, h) in hunks.iter().enumerate() {
                let kinds: Vec<String> = h
                    .candidates
                    .iter()
                    .map(|c| {
                        let mark = match (c.2, c.3) {
                            (true, _) => "",
                            (false, true) => "(review)",
                            (false, false) => "(review, loses)",
                        };
                        format!("{}{mark}", c.0)
                    })
                    .collect();
                let used = uses.get(i).map(|u| u.join("|")).unwrap_or_default();
                println!(
                    "  hunk {}: [{}] -> {}",
                    i + 1,
                    kinds.join(", "),
                    if used.is_empty() { "none" } else { &used }
                );
            }
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    println!(
        "{} cases ({} selectable, {} reaching the arbiter)\n",
        t.cases, t.selectable, t.with_hunks
    );
    println!("| choice | cases exact | exact | exact_sel |");
    println!("|---|---|---|---|");
    for (name, all, sel) in [
        (
            "structural (today's default)",
            t.structural,
            t.structural_sel,
        ),
        (
            "perfect choice, clean candidates only",
            t.clean,
            t.clean_sel,
        ),
        (
            "perfect choice, lossless candidates (clean, or rival edits kept flagged)",
            t.lossless,
            t.lossless_sel,
        ),
        ("perfect choice, any candidate", t.any, t.any_sel),
    ] {
        println!(
            "| {name} | {all} | {:.3} | {:.3} |",
            ratio(all, t.cases),
            ratio(sel, t.selectable)
        );
    }
    Ok(ExitCode::SUCCESS)
}
