//! `accord merge BASE OURS THEIRS [-o OUT]`.
//!
//! The text pipeline of a sync (line diff3, word diff3, the arbiter, keep-both) on three
//! files, usable as a git merge driver: with `--markers`, each hunk that needs a person
//! is written between git's conflict markers instead of both sides one after the other,
//! so git, `git diff` and mergetools find it; with `--suggest`, it is written as its
//! suggested resolution. The arbiter's model is `--model`, else `ACCORD_MODEL`, else the
//! default model in the models folder (`ACCORD_MODELS_DIR`, else `./models`) when
//! present; it is loaded only
//! if a hunk needs it. A model that is missing or cannot be loaded is reported on
//! standard error and the merge goes on without it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};

use accord::merge::{
    Arbiter, ArbiterError, ArbiterOptions, CandidateArbiter, Choice, ConflictHunk, Markers,
    Resolution, Suggestion,
};
use accord_model::{LazyModel, LoadOptions};

use crate::model_path::default_model_path;

/// Arguments of `accord merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// The common ancestor.
    base: PathBuf,
    /// Our version (kept first where both sides are kept).
    ours: PathBuf,
    /// Their version.
    theirs: PathBuf,
    /// Write the merge here instead of standard output (git passes %A to overwrite ours).
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// GGUF model the arbiter consults (default: ACCORD_MODEL, else the default model in
    /// ACCORD_MODELS_DIR or ./models if present).
    #[arg(long, value_name = "PATH", conflicts_with = "no_model")]
    model: Option<PathBuf>,
    /// Decide overlapping edits without a model (the arbiter's structural choice).
    #[arg(long)]
    no_model: bool,
    /// No arbiter at all: what diff3 cannot merge keeps both sides, flagged.
    #[arg(long, conflicts_with = "model")]
    no_arbiter: bool,
    /// How the arbiter chooses among clean candidates: `structural` (the default: it
    /// measured better than every model method, see bench/results/merge-dev.md),
    /// `likelihood` (the model's likelihood of each in the document's context), `prompt`
    /// (the model picks a labelled candidate) or `generate` (the model writes the merge,
    /// kept only when it passes the candidates' check).
    #[arg(long, value_enum, default_value_t = ChoiceArg::Structural)]
    choice: ChoiceArg,
    /// Wall-time budget of the arbiter per conflicting hunk, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    budget: f64,
    /// Write each hunk that needs review between git's conflict markers (ours, base,
    /// theirs: the diff3 style) instead of keeping both sides one after the other.
    #[arg(long, conflicts_with = "suggest")]
    markers: bool,
    /// Labels of the markers, as git merge-file takes them: the first for ours, the
    /// second for the base, the third for theirs (default: ours, base, theirs).
    #[arg(short = 'L', value_name = "LABEL", num_args = 1, action = clap::ArgAction::Append)]
    labels: Vec<String>,
    /// Length of the conflict markers (git passes %L).
    #[arg(long, value_name = "N", default_value_t = 7, value_parser = clap::value_parser!(u16).range(1..))]
    marker_size: u16,
    /// Write each hunk that needs review as its suggested resolution (what a person most
    /// likely wants; see `conflicts` in the README) instead of both sides. The exit
    /// status stays 1: a person should still look.
    #[arg(long)]
    suggest: bool,
    /// How the suggestion for a hunk that needs review is chosen: `structural` (the
    /// default), or by the model (`likelihood`, `prompt`, `generate`; see --choice).
    #[arg(long, value_enum, default_value_t = ChoiceArg::Structural)]
    suggest_with: ChoiceArg,
    /// Print what decided each conflicting hunk on standard error.
    #[arg(short, long)]
    verbose: bool,
    /// Print each conflicting hunk and its candidates as one JSON line on standard error
    /// (for studying the arbiter on a benchmark).
    #[arg(long, hide = true)]
    dump_candidates: bool,
}

/// Prints each hunk and its candidates as JSON on standard error, then lets `inner`
/// decide.
struct CandidateDump<'a> {
    inner: Option<&'a dyn Arbiter>,
}

impl Arbiter for CandidateDump<'_> {
    fn name(&self) -> &str {
        self.inner.map_or("none", |a| a.name())
    }

    fn resolve(&self, hunk: &ConflictHunk<'_>) -> Result<Resolution, ArbiterError> {
        let cands: Vec<_> = accord::merge::candidates(hunk)
            .into_iter()
            .map(|c| {
                serde_json::json!({
                    "kind": c.kind.label(), "text": c.text, "review": c.needs_review(),
                    "lossless": c.check.is_clean(),
                })
            })
            .collect();
        let result = match self.inner {
            Some(a) => a.resolve(hunk),
            None => Err(ArbiterError::NoValidCandidate("no arbiter".into())),
        };
        let line = serde_json::json!({
            "before": hunk.before, "base": hunk.base, "local": hunk.local,
            "remote": hunk.remote, "after": hunk.after, "candidates": cands,
            "chosen": result.as_ref().ok().map(|r| r.text.clone()),
        });
        eprintln!("{line}");
        result
    }

    fn suggest(&self, hunk: &ConflictHunk<'_>, structural: Suggestion) -> Suggestion {
        match self.inner {
            Some(a) => a.suggest(hunk, structural),
            None => structural,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ChoiceArg {
    /// Likelihood of each candidate in the document's own context.
    Likelihood,
    /// The model answers a choice prompt with a candidate's label.
    Prompt,
    /// The model writes the merged hunk; kept when it passes the candidates' check.
    Generate,
    /// Structural preference only (the model is not called).
    Structural,
}

/// The arbiter these arguments ask for, and the lazily loaded model behind it (to report
/// a load failure after the merge).
fn arbiter(args: &MergeArgs) -> (Option<CandidateArbiter>, Option<Arc<LazyModel>>) {
    if args.no_arbiter {
        return (None, None);
    }
    if args.no_model {
        return (Some(CandidateArbiter::structural()), None);
    }
    let Some(path) = args.model.clone().or_else(default_model_path) else {
        return (Some(CandidateArbiter::structural()), None);
    };
    if !path.is_file() {
        eprintln!(
            "accord merge: warning: model {} not found; merging without the model \
             (run `make model`, or pass --no-model to silence this)",
            path.display()
        );
        return (Some(CandidateArbiter::structural()), None);
    }
    let model = Arc::new(LazyModel::new(path, LoadOptions::default()));
    let choice = |c: ChoiceArg| match c {
        ChoiceArg::Likelihood => Choice::DocumentLikelihood,
        ChoiceArg::Prompt => Choice::Prompt,
        ChoiceArg::Generate => Choice::Generate,
        ChoiceArg::Structural => Choice::Structural,
    };
    let options = ArbiterOptions {
        choice: choice(args.choice),
        suggestion: choice(args.suggest_with),
        time_budget: std::time::Duration::from_secs_f64(args.budget.clamp(0.0, 3600.0)),
        ..ArbiterOptions::default()
    };
    (
        Some(CandidateArbiter::with_model(model.clone(), options)),
        Some(model),
    )
}

/// Runs the merge; exit 0 merged, 1 merged but flagged for review.
pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {} as UTF-8 text", p.display()))
    };
    if args.labels.len() > 3 {
        anyhow::bail!("-L is given at most three times: ours, base, theirs");
    }
    let (base, ours, theirs) = (read(&args.base)?, read(&args.ours)?, read(&args.theirs)?);
    let (arbiter, model) = arbiter(&args);
    let arbiter = arbiter.as_ref().map(|a| a as &dyn Arbiter);
    let dump = CandidateDump { inner: arbiter };
    let arbiter = if args.dump_candidates {
        Some(&dump as &dyn Arbiter)
    } else {
        arbiter
    };
    let merged = accord::merge::merge_text(&base, &ours, &theirs, arbiter);
    if let Some(e) = model.as_ref().and_then(|m| m.load_error()) {
        eprintln!(
            "accord merge: warning: the model could not be loaded ({e}); overlapping edits \
             it would have decided keep both sides (pass --no-model to merge without it)"
        );
    }
    if args.verbose {
        for (i, h) in merged.hunks.iter().enumerate() {
            let step = serde_json::to_string(&h.step).unwrap_or_default();
            match &h.arbiter_error {
                Some(e) => eprintln!("hunk {}: {step} ({e})", i + 1),
                None => eprintln!("hunk {}: {step}", i + 1),
            }
            if let Some(s) = &h.suggestion {
                eprintln!("hunk {}: suggested: {}", i + 1, s.reason);
            }
        }
    }
    let text = if args.markers {
        let label = |i: usize, default: &str| {
            args.labels
                .get(i)
                .cloned()
                .unwrap_or_else(|| default.to_string())
        };
        merged.with_markers(&Markers {
            ours: label(0, "ours"),
            base: label(1, "base"),
            theirs: label(2, "theirs"),
            size: usize::from(args.marker_size),
        })
    } else if args.suggest {
        merged.suggested().unwrap_or_else(|| merged.text.clone())
    } else {
        merged.text.clone()
    };
    match &args.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .context("cannot write to standard output")?;
            out.flush().context("cannot write to standard output")?;
        }
    }
    Ok(if merged.needs_review {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
