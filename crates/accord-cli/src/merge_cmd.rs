//! `accord merge BASE OURS THEIRS [-o OUT]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

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
}

/// Runs the merge; exit 0 merged, 1 merged but flagged for review.
pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {} as UTF-8 text", p.display()))
    };
    let (base, ours, theirs) = (read(&args.base)?, read(&args.ours)?, read(&args.theirs)?);
    let merged = accord::merge::merge_text(&base, &ours, &theirs, None);
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
