//! `accord logs parse [FILE]` and `accord logs report [FILE]`.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use accord_logs::{
    format_time, parse_log_line, summarise, LogDigest, LogLine, ReportBudget, TemplateMiner,
};
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
    /// when no FILE) and prints one template id per line, in the same order. A template's
    /// id depends on the templates found, not on the order of the lines.
    Parse(ParseArgs),
    /// Prints the report a sync would upload for a file of log lines (standard input
    /// when no FILE): error templates with a raw example, the most frequent templates,
    /// and a root-cause paragraph. Lines may be logcat, ISO-timestamped, JSON objects
    /// (`time_ms`, `level`, `tag`, `message`) or plain messages.
    Report(ReportArgs),
}

/// Arguments of `accord logs report`.
#[derive(Args)]
struct ReportArgs {
    /// File of log lines; standard input when absent.
    file: Option<PathBuf>,
    /// Device name recorded in the report.
    #[arg(long, default_value = "local")]
    device: String,
    /// Print the report as the JSON body uploaded to the server.
    #[arg(long)]
    json: bool,
    /// Largest report in bytes (default: 1% of the input, between 1 KiB and 16 KiB).
    #[arg(long)]
    max_bytes: Option<usize>,
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
        LogsCommand::Report(args) => report(args),
    }
}

/// Calls `each` with every line of `file` (or standard input), invalid UTF-8 replaced,
/// line ends stripped, without holding the whole input in memory.
fn for_each_line(file: Option<&PathBuf>, mut each: impl FnMut(&str)) -> anyhow::Result<()> {
    let mut reader: Box<dyn BufRead> = match file {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let source = || file.map_or_else(|| "standard input".to_string(), |p| p.display().to_string());
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {}", source()))?;
        if n == 0 {
            return Ok(());
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        each(&String::from_utf8_lossy(&buf));
    }
}

fn parse(args: ParseArgs) -> anyhow::Result<ExitCode> {
    let mut miner = TemplateMiner::new();
    let mut shapes = Vec::new();
    for_each_line(args.file.as_ref(), |line| shapes.push(miner.add(line)))?;
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

fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    // Lines without a time keep their order, a millisecond apart.
    let mut events: Vec<LogLine> = Vec::new();
    let mut index = 0i64;
    for_each_line(args.file.as_ref(), |line| {
        if !line.trim().is_empty() {
            events.push(parse_log_line(line, index));
        }
        index += 1;
    })?;
    let budget = ReportBudget {
        max_bytes: args.max_bytes,
        ..ReportBudget::default()
    };
    let digest = LogDigest::from_events(&events, &budget);
    let summary = summarise(&digest, None, &budget);
    let shown = digest.clone();
    let report = digest.into_report(&args.device, &summary);
    let json = serde_json::to_string_pretty(&report).context("cannot encode the report")?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    if args.json {
        writeln!(out, "{json}").context("cannot write to standard output")?;
    } else {
        let compact = serde_json::to_vec(&report).map_or(0, |v| v.len());
        write_report(&mut out, &shown, &report, compact)
            .context("cannot write to standard output")?;
    }
    out.flush().context("cannot write to standard output")?;
    Ok(ExitCode::SUCCESS)
}

/// The report for people: summary first, then the templates it cites.
fn write_report(
    out: &mut impl Write,
    digest: &LogDigest,
    report: &accord_protocol::LogReport,
    compact_bytes: usize,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{} lines ({} bytes) from {} to {}, device {}",
        report.lines,
        report.bytes,
        format_time(report.window_start_ms),
        format_time(report.window_end_ms),
        report.device
    )?;
    writeln!(out, "\nSummary ({}):\n  {}", report.model, report.summary)?;
    let clock = |ms: i64| format_time(ms).get(11..23).unwrap_or_default().to_string();
    if !digest.critical.is_empty() {
        writeln!(out, "\nErrors, in order of first appearance:")?;
        for e in &digest.critical {
            let t = &e.template;
            let recurring = if e.recurring { "  (recurring)" } else { "" };
            writeln!(
                out,
                "  [{}] {:>6}x {} {}..{}  {}{}",
                e.id,
                t.count,
                t.max_level().letter(),
                clock(t.first_ms),
                clock(t.last_ms),
                e.display(),
                recurring
            )?;
            if let Some(raw) = &t.critical_example {
                writeln!(out, "         e.g. {raw}")?;
            }
        }
    }
    if !digest.templates.is_empty() {
        writeln!(out, "\nMost frequent templates:")?;
        for e in &digest.templates {
            let t = &e.template;
            writeln!(
                out,
                "  [{}] {:>6}x {}  {}",
                e.id,
                t.count,
                t.max_level().letter(),
                e.display()
            )?;
        }
    }
    let percent = if report.bytes > 0 {
        compact_bytes as f64 * 100.0 / report.bytes as f64
    } else {
        0.0
    };
    writeln!(
        out,
        "\nUploaded report: {compact_bytes} bytes of JSON ({percent:.2}% of the raw text)"
    )
}
