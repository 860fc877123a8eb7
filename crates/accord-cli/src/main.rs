//! The `accord` command: run the sync server, administer it, act as a client device,
//! merge files, run the demo, look into logs and the model. (The benchmarks are a
//! separate tool, `accord-bench`.)

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod admin_cmd;
mod client_cmd;
mod demo_cmd;
mod logs_cmd;
mod merge_cmd;
mod model_cmd;
mod model_path;
mod progress;
mod serve_cmd;

/// Offline-first sync engine: server, client, merge, logs and the model.
#[derive(Parser)]
#[command(name = "accord", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the sync server. Prints `listening on http://HOST:PORT` when ready.
    Serve(serve_cmd::ServeArgs),
    /// Administers a server database: spaces, users, grants, tokens, log reports.
    Admin(admin_cmd::AdminArgs),
    /// Acts as one device: local store, records, sync, conflicts, logs.
    Client(client_cmd::ClientArgs),
    /// Three-way merge of text files; usable as a git merge driver.
    ///
    /// Prints the merge (or writes it to -o). Exit status: 0 merged, 1 merged but
    /// flagged for review (both sides of an overlapping edit were kept), 2 error.
    Merge(merge_cmd::MergeArgs),
    /// Two devices edit the same notes offline, sync through an embedded server, and
    /// the merge is explained.
    Demo(demo_cmd::DemoArgs),
    /// Groups log lines into templates (`parse`) and prints the report a sync would
    /// upload (`report`).
    Logs(logs_cmd::LogsArgs),
    /// Inspect and try the on-device model: info, tokenize, generate.
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
    /// Prints a shell completion script for `accord`, e.g.
    /// `accord completions bash > ~/.local/share/bash-completion/completions/accord`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
}

/// A closed standard output ends a command the way it ends `cat` or `grep`: killed by
/// SIGPIPE, silently (status 141 in a shell), which is what `accord ... | head` expects.
///
/// Rust ignores SIGPIPE so that writing to a closed socket is an error rather than a
/// kill. The sockets here write through std or mio, which pass MSG_NOSIGNAL, so the
/// default disposition only changes what a closed pipe does. `serve` goes back to
/// ignoring it once it printed its ready line ([`keep_running_on_closed_pipes`]).
fn die_quietly_on_closed_stdout() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Ignores SIGPIPE again, as Rust does by default: a server must never die because a
/// peer went away (a PostgreSQL unix socket is written without MSG_NOSIGNAL).
pub(crate) fn keep_running_on_closed_pipes() {
    #[cfg(unix)]
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE; changing it is process-wide
    // and atomic, so other threads see either disposition, both safe.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

fn main() -> ExitCode {
    die_quietly_on_closed_stdout();
    let cli = Cli::parse();
    // Errors exit 2 for `merge` (1 means "flagged" there, as git expects) and 1
    // elsewhere (for `client sync`, 2 means "retry later").
    let (result, error_code) = match cli.command {
        Command::Serve(args) => (serve_cmd::run(args), 1),
        Command::Admin(args) => (admin_cmd::run(args), 1),
        Command::Client(args) => (client_cmd::run(args), 1),
        Command::Merge(args) => (merge_cmd::run(args), 2),
        Command::Demo(args) => (demo_cmd::run(args), 1),
        Command::Logs(args) => (logs_cmd::run(args), 1),
        Command::Model(cmd) => (model_cmd::run_model(cmd), 1),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "accord", &mut std::io::stdout());
            (Ok(ExitCode::SUCCESS), 1)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("accord: {err:#}");
            ExitCode::from(error_code)
        }
    }
}
