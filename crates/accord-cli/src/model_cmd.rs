//! `accord model info|tokenize|generate` (look inside and try the on-device model) and
//! `accord bench model` (its speed and memory beside llama.cpp on the same file).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use accord::model::{
    default_model_path, known_model_path, Budget, ChatMessage, GgufFile, GgufModel, KnownModel,
    LanguageModel, LoadOptions, Tokenizer,
};
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};

/// Which model file a command uses.
#[derive(Args, Debug, Clone)]
pub struct ModelChoice {
    /// GGUF file to load (default: $ACCORD_MODEL, else the first model present in
    /// models/, fetched by scripts/fetch-models.sh).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Check the file's sha256 first (known models only).
    #[arg(long)]
    pub verify: bool,
    /// Keep every matrix in the file's own format, even where candle has no fast
    /// kernel for it (slower; for comparing against the requantized load).
    #[arg(long)]
    pub no_requantize: bool,
    /// Do not use Accord's AVX2 kernels (Q4_1/Q5_0/Q8_0): Q4_1/Q5_0 are requantized to
    /// Q8_0 and every matrix runs on candle's kernels, as on CPUs without AVX2.
    #[arg(long)]
    pub no_own_kernels: bool,
}

impl ModelChoice {
    fn path(&self) -> Result<PathBuf> {
        match &self.model {
            Some(p) => Ok(p.clone()),
            None => default_model_path().ok_or_else(|| {
                anyhow!(
                    "no model: pass --model FILE, set ACCORD_MODEL, or run scripts/fetch-models.sh"
                )
            }),
        }
    }

    fn load(&self) -> Result<GgufModel> {
        let path = self.path()?;
        let mut options = LoadOptions {
            requantize: !self.no_requantize,
            own_kernels: !self.no_own_kernels,
            ..LoadOptions::default()
        };
        if self.verify {
            let known = KnownModel::by_path(&path)
                .ok_or_else(|| anyhow!("no known checksum for {}", path.display()))?;
            options.sha256 = Some(known.sha256.to_string());
        }
        Ok(GgufModel::load(&path, &options)?)
    }
}

/// `accord model ...`
#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Load the model and print the load report (architecture, quantization, what was
    /// requantized, memory, load time).
    Info(ModelChoice),
    /// Print the token ids of TEXT (special tokens parsed, no BOS), as llama-tokenize
    /// does. Reads only the file's metadata, not the weights.
    Tokenize {
        #[command(flatten)]
        choice: ModelChoice,
        /// Tokenize this file's exact bytes instead of TEXT.
        #[arg(long, conflicts_with = "text")]
        file: Option<PathBuf>,
        /// Text to tokenize.
        #[arg(required_unless_present = "file")]
        text: Option<String>,
    },
    /// Answer PROMPT as a one-turn chat, greedily, and print timing.
    Generate {
        #[command(flatten)]
        choice: ModelChoice,
        /// Most tokens to generate.
        #[arg(long, default_value_t = 128)]
        max_tokens: usize,
        /// Wall-clock budget in seconds.
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        /// System turn (default: the template's own).
        #[arg(long)]
        system: Option<String>,
        /// The user turn.
        prompt: String,
    },
    /// One measurement, run by `accord bench model` in a fresh process so each thread
    /// count gets its own pool and peak RSS. Prints one JSON line.
    #[command(hide = true)]
    BenchOne {
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
    },
}

/// `accord bench model`
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

/// Runs `accord model ...`.
pub fn run_model(cmd: ModelCommand) -> Result<std::process::ExitCode> {
    match cmd {
        ModelCommand::Info(choice) => {
            let model = choice.load()?;
            println!("{}", model.report());
        }
        ModelCommand::Tokenize { choice, file, text } => {
            let gguf = GgufFile::open(&choice.path()?, None)?;
            let tokenizer = Tokenizer::from_gguf(&gguf)?;
            let text = match file {
                Some(f) => std::fs::read_to_string(&f)
                    .with_context(|| format!("cannot read {}", f.display()))?,
                None => text.unwrap_or_default(),
            };
            println!("{:?}", tokenizer.encode(&text, true));
        }
        ModelCommand::Generate {
            choice,
            max_tokens,
            seconds,
            system,
            prompt,
        } => {
            let model = choice.load()?;
            let mut messages = Vec::new();
            if let Some(s) = system {
                messages.push(ChatMessage::system(s));
            }
            messages.push(ChatMessage::user(prompt));
            let text = model.chat_prompt(&messages)?;
            let budget = Budget::new(max_tokens, Duration::from_secs_f64(seconds.max(0.0)));
            let g = model.generate(&text, &budget)?;
            println!("{}", g.text);
            eprintln!(
                "[{} prompt tokens, {} generated, stop {:?}, {:.2} s, {:.1} tok/s]",
                g.prompt_tokens,
                g.tokens,
                g.stop,
                g.elapsed.as_secs_f64(),
                g.tokens as f64 / g.elapsed.as_secs_f64().max(1e-9)
            );
        }
        ModelCommand::BenchOne {
            model,
            prompt,
            decode,
            reps,
            no_own_kernels,
        } => {
            let options = LoadOptions {
                own_kernels: !no_own_kernels,
                ..LoadOptions::default()
            };
            let m = GgufModel::load(&model, &options)?;
            let speed = m.measure_speed(prompt, decode, reps)?;
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
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// What one child process measured.
#[derive(Debug, Default, Clone)]
struct Sample {
    load_ms: Option<f64>,
    peak_rss_mb: Option<f64>,
    prompt_tps: Option<f64>,
    decode_tps: Option<f64>,
    note: String,
}

/// Runs `cmd`, returns its stdout and its peak resident set (from `wait4`, the same
/// way for candle and llama.cpp).
pub(crate) fn run_measured(mut cmd: Command) -> Result<(String, f64, Duration)> {
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
    // ru_maxrss is in KiB on Linux.
    Ok((out, usage.ru_maxrss as f64 / 1024.0, elapsed))
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
        .args(["model", "bench-one", "--model"])
        .arg(model)
        .args(["--prompt", &args.prompt.to_string()])
        .args(["--decode", &args.decode.to_string()])
        .args(["--reps", &args.reps.to_string()]);
    if !own_kernels {
        cmd.arg("--no-own-kernels");
    }
    let (out, rss, _) = run_measured(cmd)?;
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).with_context(|| format!("bench-one printed {out:?}"))?;
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
        list("own_kernels", "own AVX2 kernels"),
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
        note,
    })
}

fn llama_cpp_script() -> Result<PathBuf> {
    let dir = accord::model::locate::models_dir()
        .and_then(|m| m.parent().map(Path::to_path_buf))
        .ok_or_else(|| {
            anyhow!("cannot find the workspace (Cargo.lock) to locate bench/llama_cpp.sh")
        })?;
    let script = dir.join("bench/llama_cpp.sh");
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
    let (_, _, load_wall) = run_measured(load)?;
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
    let (out, rss, _) = run_measured(cmd)?;
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

/// Runs `accord bench model`: prints a Markdown table, candle beside llama.cpp.
pub fn run_bench(args: BenchArgs) -> Result<std::process::ExitCode> {
    println!(
        "prompt {} tokens, decode {} tokens, {} repetitions; accord = our forward pass on the memory-mapped weights (own AVX2 kernels and candle-core 0.11.1's)",
        args.prompt, args.decode, args.reps
    );
    println!();
    println!("| model | threads | engine | load ms | peak RSS MB | prompt tok/s | decode tok/s | prompt ratio | decode ratio | note |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for key in &args.models {
        let path = match known_model_path(key) {
            Some(p) => p,
            None => PathBuf::from(key),
        };
        if !path.is_file() {
            println!("| {key} | - | - | - | - | - | - | - | - | missing: {} (scripts/fetch-models.sh {key}) |", path.display());
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
            let requantized = if ours.note.contains("own AVX2 kernels") {
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
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
