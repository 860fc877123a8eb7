//! The `accord` command: run the sync server, administer it, act as a client device,
//! merge files, run the demo and the benchmarks.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench_logs;
mod logs_cmd;
mod merge_cmd;

/// Offline-first sync engine: server, client, merge and benchmarks.
#[derive(Parser)]
#[command(name = "accord", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Three-way merge of text files; usable as a git merge driver.
    ///
    /// Prints the merge (or writes it to -o). Exit status: 0 merged, 1 merged but
    /// flagged for review (both sides of an overlapping edit were kept), 2 error.
    Merge(merge_cmd::MergeArgs),
    /// Log template mining and the log report.
    Logs(logs_cmd::LogsArgs),
    /// Benchmarks; each prints Markdown tables.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Template mining against drain3, grouping accuracy, report size, root-cause paragraphs.
    Logs(bench_logs::BenchLogsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Merge(args) => merge_cmd::run(args),
        Command::Logs(args) => logs_cmd::run(args),
        Command::Bench { target } => match target {
            BenchTarget::Logs(args) => bench_logs::run(args),
        },
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("accord: {err:#}");
            ExitCode::from(2)
        }
    }
}
