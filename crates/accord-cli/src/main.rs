//! The `accord` command: run the sync server, administer it, act as a client device,
//! merge files, run the demo and the benchmarks.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod merge_cmd;
mod model_cmd;

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
    /// Inspect and try the on-device model: info, tokenize, generate.
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
    /// Benchmarks that print a table.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Model load time, peak RSS, prompt and decode speed beside llama.cpp.
    Model(model_cmd::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Merge(args) => merge_cmd::run(args),
        Command::Model(cmd) => model_cmd::run_model(cmd),
        Command::Bench(BenchCommand::Model(args)) => model_cmd::run_bench(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("accord: {err:#}");
            ExitCode::from(2)
        }
    }
}
