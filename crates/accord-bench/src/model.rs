//! `accord-bench model`: the on-device model's load time, peak RSS, prompt and decode
//! speed beside llama.cpp on the same GGUF file, each measured in a fresh process.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use accord_model::{GgufModel, KnownModel, LoadOptions};
use anyhow::{bail, Context, Result};
use clap::Args;

/// Arguments of `accord-bench model`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Models by fetch-script key (smollm2, qwen05, qwen15) or path; missing ones are
    /// reported and skipped.
    #[arg(long, value_delimiter = ',', default_value = "smollm2,qwen05,qwen15")]
    pub models: Vec<String>,
    /// Thread counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Prompt tokens (llama-bench -p).
    #[arg(long, default_value_t = 512)]
    pub prompt: usize,
    /// Decoded tokens (llama-bench -n).
    #[arg(long, default_value_t = 128)]
    pub decode: usize,
    /// Repetitions per measurement.
    #[arg(long, default_value_t = 2)]
    pub reps: usize,
    /// Skip llama.cpp (only candle's figures).
    #[arg(long)]
    pub no_llama_cpp: bool,
}

/// Arguments of `accord-bench model-one`: one measurement, run by `accord-bench model`
/// in a fresh process so each thread count gets its own pool and peak RSS.
#[derive(Args, Debug)]
pub struct OneArgs {
    /// GGUF file.
    #[arg(long)]
    model: PathBuf,
    /// Prompt tokens to evaluate in one batch.
    #[arg(long, default_value_t = 512)]
    prompt: usize,
    /// Tokens to decode one at a time.
    #[arg(long, default_value_t = 128)]
    decode: usize,
    /// Measured repetitions (after one warm-up).
    #[arg(long, default_value_t = 2)]
    reps: usize,
    /// Requantize Q4_1/Q5_0 to Q8_0 and use candle's kernels instead of Accord's.
    #[arg(long)]
    no_own_kernels: bool,
}

/// Runs `accord-bench model-one`: loads the model, measures, prints one JSON line.
pub fn run_one(args: OneArgs) -> Result<()> {
    let options = LoadOptions {
        own_kernels: !args.no_own_kernels,
        ..LoadOptions::default()
    };
    let m = GgufModel::load(&args.model, &options)?;
    let speed = m.measure_speed(args.prompt, args.decode, args.reps)?;
    println!(
        "{}",
        serde_json::json!({
            "load_ms": m.report().load_ms,
            "prompt_tps": speed.prompt_tokens_per_s,
            "decode_tps": speed.decode_tokens_per_s,
            "requantized": m.report().requantized.iter().map(|(q, n)| format!("{q} x{n}")).collect::<Vec<_>>(),
            "own_kernels": m.report().native_kernels.iter().map(|(q, n)| format!("{q} x{n}")).collect::<Vec<_>>(),
        })
    );
    Ok(())
}

/// What one child process measured.
#[derive(Debug, Default, Clone)]
struct Sample {
    load_ms: Option<f64>,
    peak_rss_mb: Option<f64>,
    prompt_tps: Option<f64>,
    decode_tps: Option<f64>,
    /// Some matrices ran on our own kernels over the file's blocks (not requantized).
    own_kernels: bool,
    note: String,
}

/// What [`run_measured`] saw of a finished child process.
pub(crate) struct Measured {
    pub out: String,
    /// Peak resident set, MB.
    pub rss_mb: f64,
    pub elapsed: Duration,
    /// User plus system CPU time.
    pub cpu: Duration,
}

/// Runs `cmd`, returns its stdout, its peak resident set and CPU time (from `wait4`,
/// the same way for candle and llama.cpp) and its wall time.
pub(crate) fn run_measured(mut cmd: Command) -> Result<Measured> {
    let started = std::time::Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        s.read_to_string(&mut out)?;
    }
    if let Some(mut s) = child.stderr.take() {
        s.read_to_string(&mut err)?;
    }
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data that wait4 fills; pid is our own child, not yet reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    if rc != pid {
        bail!("waiting for {cmd:?} failed");
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let tail: String = err.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        bail!("{cmd:?} failed: {tail}");
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Ok(Measured {
        out,
        // ru_maxrss is in KiB on Linux.
        rss_mb: usage.ru_maxrss as f64 / 1024.0,
        elapsed,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
    })
}

fn candle_sample(
    model: &Path,
    threads: usize,
    args: &BenchArgs,
    own_kernels: bool,
) -> Result<Sample> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.env("CANDLE_NUM_THREADS", threads.to_string())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .args(["model-one", "--model"])
        .arg(model)
        .args(["--prompt", &args.prompt.to_string()])
        .args(["--decode", &args.decode.to_string()])
        .args(["--reps", &args.reps.to_string()]);
    if !own_kernels {
        cmd.arg("--no-own-kernels");
    }
    let Measured {
        out, rss_mb: rss, ..
    } = run_measured(cmd)?;
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).with_context(|| format!("model-one printed {out:?}"))?;
    let list = |key: &str, label: &str| {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .map(|s| format!("{label} {s}"))
    };
    let note = [
        list("own_kernels", "own kernels for"),
        list("requantized", "requantized"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    Ok(Sample {
        load_ms: v["load_ms"].as_f64(),
        peak_rss_mb: Some(rss),
        prompt_tps: v["prompt_tps"].as_f64(),
        decode_tps: v["decode_tps"].as_f64(),
        own_kernels: v["own_kernels"].as_array().is_some_and(|a| !a.is_empty()),
        note,
    })
}

fn llama_cpp_script() -> Result<PathBuf> {
    let script = crate::workspace_root().join("bench/model/llama_cpp.sh");
    if !script.is_file() {
        bail!("{} is missing", script.display());
    }
    Ok(script)
}

fn llama_cpp_sample(model: &Path, threads: usize, args: &BenchArgs) -> Result<Sample> {
    let script = llama_cpp_script()?;
    let bin = {
        let out = Command::new("bash").arg(&script).arg("path").output()?;
        if !out.status.success() {
            bail!(
                "building llama.cpp failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string()).join("llama-bench")
    };
    let t = threads.to_string();
    // Load time: a run that loads the model and decodes one token; the wall time is
    // load plus process start, the closest llama-bench offers.
    let mut load = Command::new(&bin);
    load.arg("-m")
        .arg(model)
        .args(["-t", &t, "-p", "0", "-n", "1", "-r", "1", "-o", "json"]);
    let load_wall = run_measured(load)?.elapsed;
    let mut cmd = Command::new(&bin);
    cmd.arg("-m")
        .arg(model)
        .args([
            "-t",
            &t,
            "-p",
            &args.prompt.to_string(),
            "-n",
            &args.decode.to_string(),
        ])
        .args(["-r", &args.reps.to_string(), "-o", "json"]);
    let Measured {
        out, rss_mb: rss, ..
    } = run_measured(cmd)?;
    let v: serde_json::Value =
        serde_json::from_str(&out).with_context(|| "llama-bench did not print JSON")?;
    let mut s = Sample {
        load_ms: Some(load_wall.as_secs_f64() * 1000.0),
        peak_rss_mb: Some(rss),
        ..Sample::default()
    };
    for run in v.as_array().into_iter().flatten() {
        let ts = run["avg_ts"].as_f64();
        if run["n_prompt"].as_u64().unwrap_or(0) > 0 {
            s.prompt_tps = ts;
        } else if run["n_gen"].as_u64().unwrap_or(0) > 0 {
            s.decode_tps = ts;
        }
    }
    Ok(s)
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

/// Runs `accord-bench model`: prints a Markdown table, candle beside llama.cpp.
pub fn run_bench(args: BenchArgs) -> Result<std::process::ExitCode> {
    println!(
        "prompt {} tokens, decode {} tokens, {} repetitions; accord = our forward pass on the memory-mapped weights (own kernels, AVX2 or NEON, and candle-core 0.11.1's)",
        args.prompt, args.decode, args.reps
    );
    println!();
    println!("| model | threads | engine | load ms | peak RSS MB | prompt tok/s | decode tok/s | prompt ratio | decode ratio | note |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    // Rows are printed as they are measured, so the bar only counts them and is
    // cleared before each row goes to standard output.
    let bar = crate::steps(
        (args.models.len() * args.threads.len()) as u64,
        "model",
        "runs",
    );
    for key in &args.models {
        let path = match KnownModel::by_key(key) {
            Some(m) => m.path_in(&crate::workspace_root().join("models")),
            None => PathBuf::from(key),
        };
        if !path.is_file() {
            bar.suspend(|| println!("| {key} | - | - | - | - | - | - | - | - | missing: {} (scripts/fetch-models.sh {key}) |", path.display()));
            bar.inc(args.threads.len() as u64);
            continue;
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for &threads in &args.threads {
            let failed = |e: anyhow::Error| Sample {
                note: format!("failed: {e:#}"),
                ..Sample::default()
            };
            let ours = candle_sample(&path, threads, &args, true).unwrap_or_else(failed);
            // Where our kernels replaced requantization, also show the requantized load.
            let requantized = if ours.own_kernels {
                Some(candle_sample(&path, threads, &args, false).unwrap_or_else(failed))
            } else {
                None
            };
            let theirs = if args.no_llama_cpp {
                None
            } else {
                Some(
                    llama_cpp_sample(&path, threads, &args).unwrap_or_else(|e| Sample {
                        note: format!("failed: {e:#}"),
                        ..Sample::default()
                    }),
                )
            };
            let (pr, dr) = match &theirs {
                Some(t) => (
                    ratio(ours.prompt_tps, t.prompt_tps),
                    ratio(ours.decode_tps, t.decode_tps),
                ),
                None => ("-".into(), "-".into()),
            };
            bar.suspend(|| {
                println!(
                    "| {name} | {threads} | accord | {} | {} | {} | {} | {pr} | {dr} | {} |",
                    fmt(ours.load_ms, 0),
                    fmt(ours.peak_rss_mb, 0),
                    fmt(ours.prompt_tps, 1),
                    fmt(ours.decode_tps, 1),
                    ours.note
                );
                if let Some(r) = requantized {
                    let (pr, dr) = match &theirs {
                        Some(t) => (
                            ratio(r.prompt_tps, t.prompt_tps),
                            ratio(r.decode_tps, t.decode_tps),
                        ),
                        None => ("-".into(), "-".into()),
                    };
                    println!(
                        "| {name} | {threads} | accord, requantized | {} | {} | {} | {} | {pr} | {dr} | {} |",
                        fmt(r.load_ms, 0),
                        fmt(r.peak_rss_mb, 0),
                        fmt(r.prompt_tps, 1),
                        fmt(r.decode_tps, 1),
                        r.note
                    );
                }
                if let Some(t) = theirs {
                    println!(
                        "| {name} | {threads} | llama.cpp | {} | {} | {} | {} | 1.00x | 1.00x | {} |",
                        fmt(t.load_ms, 0),
                        fmt(t.peak_rss_mb, 0),
                        fmt(t.prompt_tps, 1),
                        fmt(t.decode_tps, 1),
                        if t.note.is_empty() {
                            "load = process wall time for 1 token"
                        } else {
                            &t.note
                        }
                    );
                }
            });
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(std::process::ExitCode::SUCCESS)
}
