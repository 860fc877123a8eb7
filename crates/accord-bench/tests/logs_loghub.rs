//! The template miner's Grouping Accuracy on the ten Loghub-2k systems (corrected labels,
//! grouped by EventTemplate) and on our own labelled logs stays at or above the figures in
//! bench/results/logs.md, and the shipped default is the settings leave-one-system-out
//! chooses on all of them.
//!
//! Reads the benchmark from `$ACCORD_SHARED_DIR/bench/loghub`, by default `../shared`
//! next to the workspace, and fails when it is missing.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use accord_bench::logs_eval::{
    grouping_accuracy, read_loghub, LabelledLog, EXTRA_SYSTEMS, LOGHUB_SYSTEMS,
};
use accord_bench::logs_select::{select, DevLog};
use accord_logs::{group_messages, MinerSettings};
use accord_test_support::on_a_terminal;

/// GA per system as published in bench/results/logs.md (one configuration for all).
const PUBLISHED: [(&str, f64); 21] = [
    ("Android", 0.9575),
    ("Apache", 1.0000),
    ("BGL", 1.0000),
    ("HDFS", 1.0000),
    ("HPC", 0.9505),
    ("Hadoop", 0.9925),
    ("Linux", 0.9975),
    ("OpenSSH", 0.9985),
    ("Spark", 0.9965),
    ("Windows", 1.0000),
    ("AppLogcat", 0.6680),
    ("SyncServer", 0.8360),
    ("DesktopDaemons", 0.5730),
    ("ShopApp", 0.5527),
    ("ChatApp", 0.5467),
    ("TeamApp", 0.6720),
    ("HomeApp", 0.7867),
    ("DataStack", 0.6807),
    ("OpsPlatform", 0.6727),
    ("InfraOps", 0.7547),
    ("MediaApp", 0.5380),
];

fn loghub_dir() -> PathBuf {
    let shared = std::env::var_os("ACCORD_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("bench/loghub")
}

fn development_logs() -> Vec<LabelledLog> {
    let loghub = loghub_dir();
    assert!(
        loghub.is_dir(),
        "Loghub-2k data not found at {}; set ACCORD_SHARED_DIR to the folder holding bench/loghub",
        loghub.display()
    );
    let extra = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/logs/extra");
    // Loghub-2k systems and our first three logs have 2,000 lines, the others 1,500.
    let read = |dir: &PathBuf, system: &str| {
        let log = read_loghub(dir, system).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            [1500, 2000].contains(&log.messages.len()),
            "{system}: {} lines, expected 2000 or 1500",
            log.messages.len()
        );
        log
    };
    LOGHUB_SYSTEMS
        .iter()
        .map(|s| read(&loghub, s))
        .chain(EXTRA_SYSTEMS.iter().map(|s| read(&extra, s)))
        .collect()
}

#[test]
fn grouping_accuracy_stays_at_the_published_figures() {
    let logs = development_logs();
    let names: Vec<&str> = logs.iter().map(|l| l.system.as_str()).collect();
    assert_eq!(names, PUBLISHED.map(|(s, _)| s));
    let mut below = Vec::new();
    for (log, (system, published)) in logs.iter().zip(PUBLISHED) {
        let groups = group_messages(&log.messages);
        let score = grouping_accuracy(&log.templates, &groups);
        // The figures are rounded to four places.
        if score.accuracy + 5e-5 < published {
            below.push(format!("{system}: {:.4} < {published:.4}", score.accuracy));
        }
    }
    assert!(
        below.is_empty(),
        "GA fell below the published figures: {below:?}"
    );
}

#[test]
fn the_shipped_default_is_the_choice_made_on_all_development_logs() {
    let mut logs: Vec<DevLog> = development_logs().into_iter().map(DevLog::new).collect();
    let all: Vec<usize> = (0..logs.len()).collect();
    let chosen = select(&mut logs, &all);
    let shipped = MinerSettings::default();
    assert_eq!(
        chosen,
        shipped,
        "the choice differs from MinerSettings::default in {:?}",
        chosen.diff(&shipped)
    );
}

/// `accord-bench logs` counts the systems it measured on a terminal's standard error, and
/// writes nothing but its tables and one line per system when its output is a pipe.
#[test]
fn the_logs_bench_shows_progress_on_a_terminal_only() {
    let bench = env!("CARGO_BIN_EXE_accord-bench");
    let data = loghub_dir();
    let shared = data.parent().and_then(|p| p.parent()).unwrap();
    let args = ["logs", "--no-drain3", "--no-model", "--repeat", "1"];
    let shared_env = format!("ACCORD_SHARED_DIR={}", shared.display());
    let shown = on_a_terminal(&[["env", shared_env.as_str(), bench].as_slice(), &args].concat());
    assert!(shown.contains("10/10 systems"), "{shown}");
    assert!(shown.contains("| system | lines |"), "{shown}");

    // Through pipes: the tables on stdout, no bar anywhere.
    let out = std::process::Command::new(bench)
        .args(args)
        .env("ACCORD_SHARED_DIR", shared)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains("| system | lines |"), "{stdout}");
    assert!(
        !stdout.contains("systems  ") && !stderr.contains("/10 systems"),
        "{stderr}"
    );
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("measured "))
            .count(),
        10,
        "{stderr}"
    );
}
