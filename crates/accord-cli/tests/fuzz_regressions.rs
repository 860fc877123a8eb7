//! Replays every input kept under fuzz/regressions/<target>/ (crashers the fuzzers found,
//! after their fix, and hand-written seeds) through the same harness the cargo-fuzz
//! targets run, so `make test` keeps them fixed without a fuzzer installed.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/harness.rs"]
mod harness;

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{} holds no inputs", dir.display());
    out
}

fn replay(target: &str, run: fn(&[u8])) {
    for (path, bytes) in inputs(target) {
        let result = std::panic::catch_unwind(|| run(&bytes));
        assert!(result.is_ok(), "{target} panics on {}", path.display());
    }
}

#[test]
fn server_protocol_regressions_stay_fixed() {
    replay("server_protocol", harness::server_protocol);
}

#[test]
fn client_protocol_regressions_stay_fixed() {
    replay("client_protocol", harness::client_protocol);
}

#[test]
fn merge_regressions_stay_fixed() {
    replay("merge", harness::merge);
}

#[test]
fn gguf_regressions_stay_fixed() {
    replay("gguf", harness::gguf);
}

#[test]
fn log_miner_regressions_stay_fixed() {
    replay("log_miner", harness::log_miner);
}
