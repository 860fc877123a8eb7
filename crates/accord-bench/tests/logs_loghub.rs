//! The template miner's Grouping Accuracy on the ten Loghub-2k systems (corrected labels,
//! grouped by EventTemplate) stays at or above the figures in bench/results/logs.md.
//!
//! Reads the benchmark from `$ACCORD_SHARED_DIR/bench/loghub`, by default `../shared`
//! next to the workspace, and fails when it is missing.

use std::path::PathBuf;

use accord_bench::logs_eval::{grouping_accuracy, read_loghub, LOGHUB_SYSTEMS};
use accord_logs::group_messages;

/// GA per system as published in bench/results/logs.md (one configuration for all).
const PUBLISHED: [(&str, f64); 10] = [
    ("Android", 0.9550),
    ("Apache", 1.0000),
    ("BGL", 0.9900),
    ("HDFS", 1.0000),
    ("HPC", 0.9505),
    ("Hadoop", 0.9925),
    ("Linux", 0.9990),
    ("OpenSSH", 0.9985),
    ("Spark", 0.9965),
    ("Windows", 1.0000),
];

fn loghub_dir() -> PathBuf {
    let shared = std::env::var_os("ACCORD_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("bench/loghub")
}

#[test]
fn grouping_accuracy_stays_at_the_published_figures() {
    let dir = loghub_dir();
    assert!(
        dir.is_dir(),
        "Loghub-2k data not found at {}; set ACCORD_SHARED_DIR to the folder holding bench/loghub",
        dir.display()
    );
    assert_eq!(PUBLISHED.map(|(s, _)| s), LOGHUB_SYSTEMS);
    let mut sum = 0.0;
    let mut below = Vec::new();
    for (system, published) in PUBLISHED {
        let log = read_loghub(&dir, system).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(log.messages.len(), 2000, "{system}: expected the 2k sample");
        let groups = group_messages(&log.messages);
        let score = grouping_accuracy(&log.templates, &groups);
        sum += score.accuracy;
        if score.accuracy + 1e-9 < published {
            below.push(format!("{system}: {:.4} < {published:.4}", score.accuracy));
        }
    }
    assert!(
        below.is_empty(),
        "GA fell below the published figures: {below:?}"
    );
    let mean = sum / PUBLISHED.len() as f64;
    assert!(mean >= 0.95, "mean GA {mean:.4} is below the 0.95 bar");
}
