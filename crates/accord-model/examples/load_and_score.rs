//! Loads a GGUF model, prints its load report, scores two continuations of one prompt
//! (a forward pass that reads every weight) and prints this process's peak resident
//! set: the figures in bench/results/model.md that compare keeping the file's blocks
//! (Accord's kernels) with requantizing them at load, on any CPU, arm64 under qemu
//! included.
//!
//!     cargo run -p accord-model --example load_and_score -- MODEL [--requantize]
//!
//! `--requantize` turns Accord's own kernels off, so the formats candle has no fast
//! kernel for are requantized to Q8_0 at load (what arm64 did before its NEON kernels).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use accord_model::{Budget, GgufModel, LanguageModel, LoadOptions};

const USAGE: &str = "usage: load_and_score MODEL.gguf [--requantize]";

fn main() -> ExitCode {
    let mut path = None;
    let mut requantize = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--requantize" => requantize = true,
            _ if path.is_none() && !arg.starts_with('-') => path = Some(PathBuf::from(arg)),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::FAILURE;
            }
        }
    }
    let Some(path) = path else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let options = LoadOptions {
        own_kernels: !requantize,
        ..LoadOptions::default()
    };
    let model = match GgufModel::load(&path, &options) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    println!("{}", model.report());
    println!("peak RSS     {} after load", peak_rss());
    let started = Instant::now();
    let budget = Budget::new(64, Duration::from_secs(3600));
    let continuations = [" Paris.", " a purple bicycle."];
    match model.score("The capital of France is", &continuations, &budget) {
        Ok(scores) => {
            for (c, s) in continuations.iter().zip(&scores) {
                println!("logprob      {:>10.5} {c:?}", s.logprob);
            }
        }
        Err(e) => {
            eprintln!("scoring failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!(
        "score time   {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    println!("peak RSS     {} after scoring", peak_rss());
    ExitCode::SUCCESS
}

/// The peak resident set (`VmHWM`) from /proc/self/status; under qemu-user that of
/// the emulator process, which holds the guest's memory.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
