//! `accord merge BASE OURS THEIRS [-o OUT]`.
//!
//! The text pipeline of a sync (line diff3, the arbiter, keep-both) on three
//! files, usable as a git merge driver. The arbiter's model is `--model`, else
//! `ACCORD_MODEL`, else the default model in `models/` when present; it is loaded only
//! if a hunk needs it. A model that is missing or cannot be loaded is reported on
//! standard error and the merge goes on without it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};

use accord::merge::{
    Arbiter, ArbiterError, ArbiterOptions, CandidateArbiter, Choice, ConflictHunk, Resolution,
};
use accord_model::{default_model_path, LazyModel, LoadOptions};

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
    /// models/ if present).
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
    let options = ArbiterOptions {
        choice: match args.choice {
            ChoiceArg::Likelihood => Choice::DocumentLikelihood,
            ChoiceArg::Prompt => Choice::Prompt,
            ChoiceArg::Generate => Choice::Generate,
            ChoiceArg::Structural => Choice::Structural,
        },
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
        }
    }
    match &args.output {
        Some(path) => std::fs::write(path, &merged.text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(merged.text.as_bytes())
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
