//! `accord-bench logs`: template mining speed against drain3 on the same files in the
//! same run, Grouping Accuracy, report size against raw size, and the root-cause
//! paragraph on incidents with known causes. Prints Markdown tables.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use accord_bench::logs_eval::{
    grouping_accuracy, names_cause, read_incidents, read_loghub, Incident, LabelledLog,
    LOGHUB_SYSTEMS,
};
use accord_logs::{build_report, summarise, LogDigest, LogLine, ReportBudget, TemplateMiner};
use anyhow::{bail, Context};
use clap::Args;

/// Arguments of `accord-bench logs`.
#[derive(Args)]
pub struct BenchLogsArgs {
    /// Folder holding the Loghub-2k systems [default: $ACCORD_SHARED_DIR/bench/loghub,
    /// else ../shared/bench/loghub next to the workspace].
    #[arg(long)]
    loghub: Option<PathBuf>,
    /// Python with drain3 installed [default: bench/.venv/bin/python, made by
    /// bench/logs/setup_drain3.sh].
    #[arg(long)]
    python: Option<PathBuf>,
    /// Leave out the drain3 comparison.
    #[arg(long)]
    no_drain3: bool,
    /// Incident fixtures [default: crates/accord-bench/tests/fixtures/incidents].
    #[arg(long)]
    incidents: Option<PathBuf>,
    /// Timed runs per measurement; the fastest is reported.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// GGUF model to measure the root-cause paragraph with (repeatable) [default: the
    /// known models present in models/].
    #[arg(long = "model")]
    models: Vec<PathBuf>,
    /// Measure the deterministic paragraph only.
    #[arg(long)]
    no_model: bool,
    /// Time the model may take for one paragraph, in seconds [default: the library's,
    /// 20 s]. A larger budget measures what the model writes apart from the machine's
    /// speed; the time column then says what it would cost.
    #[arg(long)]
    summary_seconds: Option<u64>,
}

/// `path` relative to the workspace when it lies inside it, for the printed tables.
fn shown(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    path.strip_prefix(crate::workspace_root())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

pub(crate) fn default_loghub() -> PathBuf {
    let shared = std::env::var_os("ACCORD_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("../shared"));
    shared.join("bench/loghub")
}

/// One system's measurements.
struct SystemRun {
    system: String,
    lines: usize,
    shapes: usize,
    accord_time: Duration,
    accord_ga: f64,
    accord_groups: usize,
    drain3: Option<Drain3Run>,
    raw_bytes: u64,
    report_bytes: usize,
    critical: usize,
    templates: usize,
    messages: Vec<String>,
}

struct Drain3Run {
    seconds: f64,
    ga: f64,
    clusters: usize,
}

/// Runs the benchmark and prints its tables.
pub fn run(args: BenchLogsArgs) -> anyhow::Result<ExitCode> {
    let loghub = args.loghub.clone().unwrap_or_else(default_loghub);
    if !loghub.is_dir() {
        bail!(
            "Loghub-2k data not found at {}; pass --loghub or set ACCORD_SHARED_DIR",
            loghub.display()
        );
    }
    let python = args
        .python
        .clone()
        .unwrap_or_else(|| crate::workspace_root().join("bench/.venv/bin/python"));
    if !args.no_drain3 && !python.exists() {
        bail!(
            "no Python with drain3 at {}; run bench/logs/setup_drain3.sh, pass --python, or --no-drain3",
            python.display()
        );
    }
    let repeat = args.repeat.max(1);
    let mut runs = Vec::new();
    let bar = crate::steps(LOGHUB_SYSTEMS.len() as u64, "logs", "systems");
    for system in LOGHUB_SYSTEMS {
        let log = read_loghub(&loghub, system)?;
        let drain3 = if args.no_drain3 {
            None
        } else {
            Some(run_drain3(&python, &log, repeat)?)
        };
        runs.push(measure(log, drain3, repeat));
        bar.suspend(|| eprintln!("measured {system}"));
        bar.inc(1);
    }
    bar.finish_and_clear();
    print_mining(&runs);
    print_report_sizes(&runs);
    let incidents = args.incidents.clone().unwrap_or_else(|| {
        crate::workspace_root().join("crates/accord-bench/tests/fixtures/incidents")
    });
    let models = if args.no_model {
        Vec::new()
    } else if args.models.is_empty() {
        accord_model::KNOWN_MODELS
            .iter()
            .map(|m| m.path_in(&crate::workspace_root().join("models")))
            .filter(|p| p.is_file())
            .collect()
    } else {
        args.models.clone()
    };
    print_summaries(&incidents, repeat, &models, args.summary_seconds)?;
    print_capture(&runs)?;
    Ok(ExitCode::SUCCESS)
}

/// Times our miner (tokenising, counting shapes and mining templates), scores it, and
/// builds the report of the file.
fn measure(log: LabelledLog, drain3: Option<Drain3Run>, repeat: usize) -> SystemRun {
    let mut best = Duration::MAX;
    let mut groups = Vec::new();
    let mut shapes = 0;
    let mut template_count = 0;
    for _ in 0..repeat {
        let start = Instant::now();
        let mut miner = TemplateMiner::new();
        let ids: Vec<_> = log.messages.iter().map(|m| miner.add(m)).collect();
        let mined = miner.templates();
        groups = ids
            .into_iter()
            .map(|s| mined.group_of(s))
            .collect::<Vec<_>>();
        best = best.min(start.elapsed());
        shapes = miner.shapes();
        template_count = mined.templates().len();
    }
    let score = grouping_accuracy(&log.templates, &groups);
    // The report of the file as a device would send it: a second apart, with the
    // file's levels and components as levels and tags.
    let lines: Vec<LogLine> = log
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| LogLine::new(i as i64 * 1000, &log.levels[i], &log.components[i], m))
        .collect();
    let report = build_report(&lines, "bench", None, &ReportBudget::default());
    SystemRun {
        system: log.system.clone(),
        lines: log.messages.len(),
        shapes,
        accord_time: best,
        accord_ga: score.accuracy,
        accord_groups: template_count,
        drain3,
        raw_bytes: log.raw_bytes,
        report_bytes: serde_json::to_vec(&report).map_or(0, |v| v.len()),
        critical: report.critical.len(),
        templates: report.templates.len(),
        messages: log.messages,
    }
}

/// Runs bench/logs/drain3_rate.py on the same messages.
fn run_drain3(python: &Path, log: &LabelledLog, repeat: usize) -> anyhow::Result<Drain3Run> {
    let input = std::env::temp_dir().join(format!(
        "accord-bench-{}-{}.txt",
        std::process::id(),
        log.system
    ));
    let text: String = log
        .messages
        .iter()
        .map(|m| format!("{}\n", m.replace('\n', " ")))
        .collect();
    std::fs::write(&input, text).with_context(|| format!("cannot write {}", input.display()))?;
    let script = crate::workspace_root().join("bench/logs/drain3_rate.py");
    let output = Command::new(python)
        .arg(&script)
        .arg(&input)
        .arg(repeat.to_string())
        .output()
        .with_context(|| format!("cannot run {} {}", python.display(), script.display()));
    let _ = std::fs::remove_file(&input);
    let output = output?;
    if !output.status.success() {
        bail!(
            "drain3 failed on {}: {}",
            log.system,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("drain3 printed no JSON")?;
    let seconds = v["seconds"]
        .as_f64()
        .context("drain3 JSON has no seconds")?;
    let groups: Vec<i64> = v["groups"]
        .as_array()
        .context("drain3 JSON has no groups")?
        .iter()
        .map(|g| g.as_i64().unwrap_or(-1))
        .collect();
    Ok(Drain3Run {
        seconds,
        ga: grouping_accuracy(&log.templates, &groups).accuracy,
        clusters: v["clusters"].as_u64().unwrap_or(0) as usize,
    })
}

fn rate(lines: usize, seconds: f64) -> String {
    if seconds <= 0.0 {
        return "—".into();
    }
    format!("{:.0}", lines as f64 / seconds)
}

fn print_mining(runs: &[SystemRun]) {
    println!("## Template mining on Loghub-2k (one configuration for all systems)\n");
    println!("GA: Grouping Accuracy on the corrected labels, grouped by EventTemplate. Time: tokenising, counting shapes and mining templates, fastest of the runs; drain3 timed inside Python around its mining loop only.\n");
    println!("| system | lines | shapes | templates | accord lines/s | drain3 lines/s | accord / drain3 | GA accord | GA drain3 | drain3 clusters |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let (mut lines, mut ours, mut theirs, mut ga, mut ga_d) = (0usize, 0f64, 0f64, 0f64, 0f64);
    for r in runs {
        let secs = r.accord_time.as_secs_f64();
        lines += r.lines;
        ours += secs;
        ga += r.accord_ga;
        let (d_rate, ratio, d_ga, d_clusters) = match &r.drain3 {
            Some(d) => {
                theirs += d.seconds;
                ga_d += d.ga;
                (
                    rate(r.lines, d.seconds),
                    format!("{:.1}x", d.seconds / secs.max(1e-9)),
                    format!("{:.4}", d.ga),
                    d.clusters.to_string(),
                )
            }
            None => ("—".into(), "—".into(), "—".into(), "—".into()),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.4} | {} | {} |",
            r.system,
            r.lines,
            r.shapes,
            r.accord_groups,
            rate(r.lines, secs),
            d_rate,
            ratio,
            r.accord_ga,
            d_ga,
            d_clusters
        );
    }
    let n = runs.len().max(1) as f64;
    let has_drain3 = runs.iter().all(|r| r.drain3.is_some());
    println!(
        "| **all** | {} | | | {} | {} | {} | {:.4} (mean) | {} | |\n",
        lines,
        rate(lines, ours),
        if has_drain3 {
            rate(lines, theirs)
        } else {
            "—".into()
        },
        if has_drain3 {
            format!("{:.1}x", theirs / ours.max(1e-9))
        } else {
            "—".into()
        },
        ga / n,
        if has_drain3 {
            format!("{:.4} (mean)", ga_d / n)
        } else {
            "—".into()
        },
    );
}

fn print_report_sizes(runs: &[SystemRun]) {
    println!("## Report size against the raw log (goal: at most 1%)\n");
    println!("The report a sync would upload for each whole file (levels and components as in the file, default budget), as compact JSON, against the raw log file.\n");
    println!("| system | raw bytes | report bytes | report / raw | error templates kept | other templates kept |");
    println!("|---|---|---|---|---|---|");
    for r in runs {
        println!(
            "| {} | {} | {} | {:.2}% | {} | {} |",
            r.system,
            r.raw_bytes,
            r.report_bytes,
            r.report_bytes as f64 * 100.0 / r.raw_bytes.max(1) as f64,
            r.critical,
            r.templates
        );
    }
    println!();
}

/// `named/total` over the incidents of one half.
fn per_half(incidents: &[Incident], named: &[bool], test: bool) -> String {
    let (n, total) = incidents
        .iter()
        .zip(named)
        .filter(|(i, _)| i.test == test)
        .fold((0, 0), |(n, t), (_, &ok)| (n + usize::from(ok), t + 1));
    format!("{n}/{total}")
}

fn print_summaries(
    dir: &Path,
    repeat: usize,
    models: &[PathBuf],
    summary_seconds: Option<u64>,
) -> anyhow::Result<()> {
    let incidents = read_incidents(dir)?;
    let mut budget = ReportBudget::default();
    if let Some(s) = summary_seconds {
        budget.summary_time = Duration::from_secs(s);
    }
    println!(
        "Model time budget per paragraph: {} s.\n",
        budget.summary_time.as_secs()
    );
    let mut outcomes: Vec<(bool, String)> = Vec::new();
    let mut best = Duration::MAX;
    for _ in 0..repeat {
        let start = Instant::now();
        outcomes.clear();
        for incident in &incidents {
            let digest = LogDigest::from_events(&incident.lines, &budget);
            let summary = summarise(&digest, None, &budget);
            let named = names_cause(&summary, &digest, &incident.causes);
            let claim = summary
                .cited
                .first()
                .and_then(|id| digest.entry(id))
                .map(|e| format!("[{}] {}", e.id, e.display()))
                .unwrap_or_default();
            outcomes.push((named, claim));
        }
        best = best.min(start.elapsed());
    }
    let deterministic: Vec<bool> = outcomes.iter().map(|(n, _)| *n).collect();
    let lines: usize = incidents.iter().map(|i| i.lines.len()).sum();
    println!("## Root-cause paragraph on incidents with a known cause\n");
    println!(
        "{} incidents ({} lines of noisy logcat in {}), half of them a test set never used to change a summary; a paragraph names the cause when its first cited template, or its words up to the second citation, carry a cause phrase. For a model: its own paragraph where it was used, and the uploaded one (the model's when it cited the report, else the deterministic one). Time: mining, selecting and writing the paragraph, per incident.\n",
        incidents.len(),
        lines,
        shown(dir)
    );
    println!(
        "| summariser | named, dev half | named, test half | uploaded paragraph named, dev / test | time per incident | prompt tokens | generated tokens |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| deterministic | {} | {} | {} / {} | {:.2} ms | — | — |",
        per_half(&incidents, &deterministic, false),
        per_half(&incidents, &deterministic, true),
        per_half(&incidents, &deterministic, false),
        per_half(&incidents, &deterministic, true),
        best.as_secs_f64() * 1000.0 / incidents.len().max(1) as f64
    );
    let mut model_claims = Vec::new();
    for path in models {
        let model = accord_model::GgufModel::load(path, &accord_model::LoadOptions::default())
            .with_context(|| format!("cannot load {}", path.display()))?;
        let (mut fell_back, mut elapsed, mut prompt, mut generated) = (0, Duration::ZERO, 0, 0);
        let mut own = Vec::new();
        let mut uploaded = Vec::new();
        let mut claims = Vec::new();
        let bar = crate::steps(incidents.len() as u64, "model", "incidents");
        for (incident, &det) in incidents.iter().zip(&deterministic) {
            let digest = LogDigest::from_events(&incident.lines, &budget);
            let start = Instant::now();
            let summary = summarise(&digest, Some(&model), &budget);
            elapsed += start.elapsed();
            prompt += summary.prompt_tokens;
            generated += summary.tokens;
            let used = summary.fallback.is_none();
            let ok = used && names_cause(&summary, &digest, &incident.causes);
            own.push(ok);
            uploaded.push(if used { ok } else { det });
            fell_back += usize::from(!used);
            claims.push((ok, summary));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let n = incidents.len().max(1);
        println!(
            "| {} ({} of {} fell back) | {} | {} | {} / {} | {:.0} ms | {} | {} |",
            accord_model::LanguageModel::name(&model),
            fell_back,
            incidents.len(),
            per_half(&incidents, &own, false),
            per_half(&incidents, &own, true),
            per_half(&incidents, &uploaded, false),
            per_half(&incidents, &uploaded, true),
            elapsed.as_secs_f64() * 1000.0 / n as f64,
            prompt / n,
            generated / n
        );
        model_claims.push((
            accord_model::LanguageModel::name(&model).to_string(),
            claims,
        ));
    }
    if models.is_empty() {
        println!(
            "| on-device model | not measured: no model given or found in models/ | | | — | — | — |"
        );
    }
    println!();
    for (name, claims) in &model_claims {
        let per: Vec<String> = incidents
            .iter()
            .zip(claims)
            .map(|(i, (ok, summary))| match &summary.fallback {
                Some(why) => format!("{} fallback ({why})", i.name),
                None => {
                    let first = summary.cited.first().map_or("", String::as_str);
                    format!("{} {} [{first}]", i.name, if *ok { "yes" } else { "no" })
                }
            })
            .collect();
        println!(
            "{name}, per incident (first cited template): {}\n",
            per.join(", ")
        );
        for (i, (_, summary)) in incidents.iter().zip(claims) {
            if summary.fallback.is_none() {
                println!("- {} / {}: {}", name, i.name, truncate(&summary.text, 240));
            }
        }
        println!();
    }
    println!("| incident | half | what happened | deterministic: first cited template | named |");
    println!("|---|---|---|---|---|");
    for (incident, (named, claim)) in incidents.iter().zip(&outcomes) {
        let claim: String = claim.chars().take(90).collect();
        println!(
            "| {} | {} | {} | {} | {} |",
            incident.name,
            if incident.test { "test" } else { "dev" },
            incident.description,
            claim.replace('|', "\\|"),
            if *named { "yes" } else { "no" }
        );
    }
    println!();
    Ok(())
}

/// Capture speed: `Accord::log` (buffered, written 256 lines a transaction into the
/// bounded ring) against plain rusqlite inserting the same lines one transaction each
/// (what an app logging straight into Room does) and in batches of 256, same durability
/// settings, same run.
fn print_capture(runs: &[SystemRun]) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let lines: Vec<&str> = runs
        .iter()
        .flat_map(|r| r.messages.iter().map(String::as_str))
        .collect();
    let n = lines.len();
    let accord = accord::Accord::open(accord::Config::new(dir.path().join("capture.db")))?;
    let start = Instant::now();
    for line in &lines {
        accord.log("I", "Bench", line)?;
    }
    accord.flush_logs()?;
    let accord_s = start.elapsed().as_secs_f64();
    let stats = accord.log_stats()?;

    let plain = |batch: usize, name: &str| -> anyhow::Result<f64> {
        let conn = rusqlite::Connection::open(dir.path().join(name))?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE log (seq INTEGER PRIMARY KEY, time_ms INTEGER, level TEXT, tag TEXT, message TEXT)",
        )?;
        let one = lines
            .len()
            .min(if batch == 1 { 2_000 } else { lines.len() });
        let start = Instant::now();
        for chunk in lines[..one].chunks(batch) {
            conn.execute_batch("BEGIN")?;
            for line in chunk {
                conn.prepare_cached(
                    "INSERT INTO log (time_ms, level, tag, message) VALUES (?1, 'I', 'Bench', ?2)",
                )?
                .execute(rusqlite::params![0, line])?;
            }
            conn.execute_batch("COMMIT")?;
        }
        Ok(one as f64 / start.elapsed().as_secs_f64())
    };
    let single = plain(1, "single.db")?;
    let batched = plain(256, "batched.db")?;
    let ours = n as f64 / accord_s;
    println!("## Capture\n");
    println!("{n} Loghub messages logged; WAL, synchronous=FULL for all; ring bounded at {} rows ({} kept, {} dropped).\n", accord::store::LogRing::default().max_rows, stats.rows, stats.dropped);
    println!("| path | lines/s | accord / this |");
    println!("|---|---|---|");
    println!("| `Accord::log` into the bounded ring (buffered, 256 lines a transaction) | {ours:.0} | 1.00 |");
    println!(
        "| plain rusqlite, one transaction a line (first 2,000 lines) | {single:.0} | {:.1} |",
        ours / single
    );
    println!(
        "| plain rusqlite, 256 lines a transaction, unbounded table | {batched:.0} | {:.2} |",
        ours / batched
    );
    println!();
    Ok(())
}

/// `text` on one line, cut to at most `max` characters.
fn truncate(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}
