//! `accord-bench`: Accord's benchmarks, each printing a Markdown table beside a peer
//! measured in the same run. A development tool built from the workspace; nothing here
//! ships in the `accord` command or the app library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ga;
mod load;
mod logs;
mod merge_oracle;
mod model;
// The `accord` command's progress bars, so a benchmark's sync looks like `accord client
// sync` (one file shared by the two binaries, as the fuzz harness is).
#[path = "../../accord-cli/src/progress.rs"]
mod progress;
mod sync;

/// A bar for a counted step of a long bench (systems, runs, models), drawn on standard
/// error when both outputs are terminals; the table on standard output is unaffected.
/// Lines printed meanwhile go through `bar.suspend` so they never tear the bar.
pub(crate) fn steps(len: u64, label: &str, unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::hidden(),
    );
    bar.set_style(progress::style(STEPS));
    bar.set_prefix(label.to_string());
    bar.set_message(unit.to_string());
    progress::show(&bar, progress::wanted(false));
    bar
}

const STEPS: &str = "{prefix:>5} [{bar:30}] {human_pos}/{human_len} {msg}  {per_sec}  eta {eta}";

/// Accord's benchmarks: each prints a Markdown table.
#[derive(Parser)]
#[command(name = "accord-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    which: Which,
}

#[derive(Subcommand)]
enum Which {
    /// Local writes against plain rusqlite; initial and incremental sync over loopback.
    Sync(sync::SyncBench),
    /// One device's sync in this process (run by `sync` in a fresh process).
    #[command(hide = true)]
    SyncDevice(sync::DeviceArgs),
    /// Log template mining against drain3, grouping accuracy, report size, root-cause
    /// paragraphs on incidents with known causes.
    Logs(logs::BenchLogsArgs),
    /// Grouping Accuracy by leave-one-system-out: each log scored with the miner's
    /// settings chosen on the others, beside the shipped default's.
    Ga(ga::GaArgs),
    /// Model load time, peak RSS, prompt and decode speed beside llama.cpp.
    Model(model::BenchArgs),
    /// One model measurement in this process (run by `model` in a fresh process).
    #[command(hide = true)]
    ModelOne(model::OneArgs),
    /// N concurrent simulated devices against SQLite and PostgreSQL storage.
    Load(load::LoadBench),
    /// The ceiling of any choice among the arbiter's candidates on a merge benchmark:
    /// how many committed merges some choice of candidates rebuilds exactly.
    MergeOracle(merge_oracle::MergeOracleArgs),
}

/// The workspace this binary was built from: the default home of the fixtures, the
/// scripts under bench/ and the drain3 venv. (A development tool, so the build
/// machine's path is the right default here; the shipped crates never look for it.)
fn workspace_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.which {
        Which::Sync(b) => sync::run(&b).map(|()| ExitCode::SUCCESS),
        Which::SyncDevice(a) => sync::run_device(&a).map(|()| ExitCode::SUCCESS),
        Which::Logs(b) => logs::run(b),
        Which::Ga(b) => ga::run(b),
        Which::Model(b) => model::run_bench(b),
        Which::ModelOne(b) => model::run_one(b).map(|()| ExitCode::SUCCESS),
        Which::Load(b) => load::run(&b).map(|()| ExitCode::SUCCESS),
        Which::MergeOracle(b) => merge_oracle::run(b),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("accord-bench: {err:#}");
            ExitCode::from(1)
        }
    }
}
