//! `accord-bench ga`: the miner's Grouping Accuracy measured the way it will be judged,
//! on logs it was not tuned on. Leave-one-system-out over the ten Loghub-2k systems and
//! our own labelled logs (bench/logs/extra): each system is scored with the settings
//! chosen on all the others, beside the in-sample score of the settings chosen on all
//! (the shipped default). Also prints, for every rule the choice switched on, which
//! systems it is there for. Exits 1 when the shipped default is not that choice.

use std::path::PathBuf;
use std::process::ExitCode;

use accord_bench::logs_eval::{read_loghub, EXTRA_SYSTEMS, LOGHUB_SYSTEMS};
use accord_bench::logs_select::{leave_one_out, motivations, DevLog};
use accord_logs::MinerSettings;
use clap::Args;

/// Arguments of `accord-bench ga`.
#[derive(Args)]
pub struct GaArgs {
    /// Folder holding the Loghub-2k systems [default: $ACCORD_SHARED_DIR/bench/loghub,
    /// else ../shared/bench/loghub next to the workspace].
    #[arg(long)]
    loghub: Option<PathBuf>,
    /// Folder holding our own labelled logs [default: bench/logs/extra].
    #[arg(long)]
    extra: Option<PathBuf>,
    /// Leave our own labelled logs out of the choice and the table.
    #[arg(long)]
    no_extra: bool,
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Runs the leave-one-system-out measurement and prints its tables.
pub fn run(args: GaArgs) -> anyhow::Result<ExitCode> {
    let loghub = args.loghub.unwrap_or_else(crate::logs::default_loghub);
    let extra = args
        .extra
        .unwrap_or_else(|| crate::workspace_root().join("bench/logs/extra"));
    let mut logs = Vec::new();
    for system in LOGHUB_SYSTEMS {
        logs.push(DevLog::new(read_loghub(&loghub, system)?));
    }
    if !args.no_extra {
        for system in EXTRA_SYSTEMS {
            logs.push(DevLog::new(read_loghub(&extra, system)?));
        }
    }
    let (chosen, rows) = leave_one_out(&mut logs);

    println!("## Grouping Accuracy, leave one system out\n");
    println!(
        "Each system scored with the settings chosen on all the others (held out) and with \
         the settings chosen on all systems, the shipped default (in sample).\n"
    );
    println!("| system | held out | in sample | chosen without it, where it differs |");
    println!("|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {:.4} | {:.4} | {} |",
            r.system,
            r.held_out,
            r.in_sample,
            if r.differs.is_empty() {
                "—".to_string()
            } else {
                r.differs.join(", ")
            }
        );
    }
    let loghub_rows = &rows[..LOGHUB_SYSTEMS.len()];
    println!(
        "| **Loghub mean** | **{:.4}** | **{:.4}** | |",
        mean(loghub_rows.iter().map(|r| r.held_out)),
        mean(loghub_rows.iter().map(|r| r.in_sample))
    );
    if rows.len() > LOGHUB_SYSTEMS.len() {
        let own = &rows[LOGHUB_SYSTEMS.len()..];
        println!(
            "| **our logs mean** | **{:.4}** | **{:.4}** | |",
            mean(own.iter().map(|r| r.held_out)),
            mean(own.iter().map(|r| r.in_sample))
        );
    }

    println!("\n## What each rule is there for\n");
    println!(
        "Each knob the choice on all systems moved from its start, and how each system's \
         Grouping Accuracy changes when that knob alone goes back (negative: the systems \
         that motivate it; positive: the systems it costs).\n"
    );
    println!("| knob | change without it |\n|---|---|");
    for (knob, deltas) in motivations(&mut logs, &chosen) {
        let shown: Vec<String> = deltas.iter().map(|(s, d)| format!("{s} {d:+.4}")).collect();
        println!(
            "| {knob} | {} |",
            if shown.is_empty() {
                "none (kept by a tie)".to_string()
            } else {
                shown.join(", ")
            }
        );
    }
    let shipped = MinerSettings::default();
    if shipped != chosen {
        println!(
            "\nThe shipped default differs from the choice: {:?} (default has {:?}). \
             Update MinerSettings::default.",
            chosen.diff(&shipped),
            shipped.diff(&chosen)
        );
        return Ok(ExitCode::from(1));
    }
    println!("\nThe shipped default (MinerSettings::default) is this choice.");
    Ok(ExitCode::SUCCESS)
}
