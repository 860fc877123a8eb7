//! `accord logs parse [FILE]` and `accord logs report [FILE]`.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use accord::logs::TemplateMiner;
use anyhow::Context;
use clap::{Args, Subcommand};

/// Arguments of `accord logs`.
#[derive(Args)]
pub struct LogsArgs {
    #[command(subcommand)]
    command: LogsCommand,
}

#[derive(Subcommand)]
enum LogsCommand {
    /// Groups log messages into templates: reads one message per line (standard input
    /// when no FILE) and prints one template id per line, in the same order.
    Parse(ParseArgs),
}

/// Arguments of `accord logs parse`.
#[derive(Args)]
struct ParseArgs {
    /// File of messages, one per line; standard input when absent.
    file: Option<PathBuf>,
    /// Also print each line's template after its id, separated by a tab.
    #[arg(long)]
    with_template: bool,
}

/// Runs `accord logs ...`.
pub fn run(args: LogsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        LogsCommand::Parse(args) => parse(args),
    }
}

/// Reads the lines of `file` (or standard input), invalid UTF-8 replaced, line ends
/// stripped.
fn read_lines(file: Option<&PathBuf>) -> anyhow::Result<Vec<String>> {
    let mut reader: Box<dyn BufRead> = match file {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let source = || file.map_or_else(|| "standard input".to_string(), |p| p.display().to_string());
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {}", source()))?;
        if n == 0 {
            break;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        lines.push(String::from_utf8_lossy(&buf).into_owned());
    }
    Ok(lines)
}

fn parse(args: ParseArgs) -> anyhow::Result<ExitCode> {
    let lines = read_lines(args.file.as_ref())?;
    let mut miner = TemplateMiner::new();
    let shapes: Vec<_> = lines.iter().map(|l| miner.add(l)).collect();
    let mined = miner.templates();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for shape in shapes {
        let group = mined.group_of(shape);
        if args.with_template {
            let text = mined.templates().get(group).map_or("", |t| t.text.as_str());
            writeln!(out, "{group}\t{text}")
        } else {
            writeln!(out, "{group}")
        }
        .context("cannot write to standard output")?;
    }
    out.flush().context("cannot write to standard output")?;
    Ok(ExitCode::SUCCESS)
}
