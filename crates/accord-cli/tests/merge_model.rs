//! The arbiter in `accord merge` and in a sync: with the real SmolLM2 file (fetched by
//! `make model`; a missing file fails these tests with the command that fetches it), and
//! with a missing or corrupt model file, which must never fail a merge or a sync.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use accord::SyncOutcome;
use accord_test_support::test_model_path;
use common::{accord_bin, TestServer};
use serde_json::json;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Numbered steps: both sides add one at the same place, this side's is the later step.
fn steps(dir: &Path) -> [PathBuf; 3] {
    let head = "How to set up the phone:\n1. Open the box.\n";
    let tail = "4. Turn the phone on.\n";
    [
        write(dir, "base", &format!("{head}{tail}")),
        write(dir, "ours", &format!("{head}3. Charge the phone.\n{tail}")),
        write(
            dir,
            "theirs",
            &format!("{head}2. Take the phone out of the box.\n{tail}"),
        ),
    ]
}

fn merge(args: &[&str], files: &[PathBuf; 3]) -> Output {
    std::process::Command::new(accord_bin())
        .arg("merge")
        .args(args)
        .args(files)
        .env_remove("ACCORD_MODEL")
        .output()
        .unwrap()
}

#[test]
fn merge_with_the_real_model_orders_both_additions() {
    let dir = tempfile::tempdir().unwrap();
    let files = steps(dir.path());
    let model = test_model_path();
    let out = merge(
        &[
            "--model",
            model.to_str().unwrap(),
            "--choice",
            "likelihood",
            "-v",
        ],
        &files,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "How to set up the phone:\n1. Open the box.\n2. Take the phone out of the box.\n\
         3. Charge the phone.\n4. Turn the phone on.\n"
    );
    assert!(stderr.contains("SmolLM2"), "{stderr}");
}

#[test]
fn corrupt_model_file_warns_and_falls_back_to_keep_both() {
    let dir = tempfile::tempdir().unwrap();
    let files = steps(dir.path());
    let bad = write(dir.path(), "broken.gguf", "GGUF but not really a model");
    let out = merge(
        &["--model", bad.to_str().unwrap(), "--choice", "likelihood"],
        &files,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "flagged, not failed: {stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("broken.gguf"),
        "{stderr}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2. Take") && text.contains("3. Charge"),
        "{text}"
    );
}

#[test]
fn missing_model_file_warns_and_merges_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let files = steps(dir.path());
    let out = merge(&["--model", "/nonexistent/model.gguf"], &files);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("not found"), "{stderr}");
    // The structural choice: this device's addition first, nothing lost.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3. Charge the phone.\n2. Take"), "{text}");
}

#[test]
fn sync_with_a_corrupt_model_completes_and_reports_it() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "broken.gguf", "not a model");
    let a = server.device("a", &server.user("alice"));
    let b = accord::Accord::open(
        server
            .device_config("b", &server.user("bob"))
            .with_model(&bad)
            .with_arbiter_choice(accord::merge::Choice::DocumentLikelihood),
    )
    .unwrap();
    let base = "Steps:\n1. Open the box.\n4. Turn it on.\n";
    a.put("notes", "m", json!({"body": base})).unwrap();
    assert_eq!(a.sync().outcome, SyncOutcome::Done);
    assert_eq!(b.sync().outcome, SyncOutcome::Done);
    a.put(
        "notes",
        "m",
        json!({"body": "Steps:\n1. Open the box.\n2. Unpack it.\n4. Turn it on.\n"}),
    )
    .unwrap();
    b.put(
        "notes",
        "m",
        json!({"body": "Steps:\n1. Open the box.\n3. Charge it.\n4. Turn it on.\n"}),
    )
    .unwrap();
    assert_eq!(a.sync().outcome, SyncOutcome::Done);
    let r = b.sync();
    assert_eq!(r.outcome, SyncOutcome::Done, "{r:?}");
    let why = r.model_error.as_deref().unwrap_or("");
    assert!(why.contains("broken.gguf"), "{r:?}");
    let body = b.get("notes", "m").unwrap().unwrap().data["body"].clone();
    let body = body.as_str().unwrap();
    assert!(
        body.contains("2. Unpack it.") && body.contains("3. Charge it."),
        "{body}"
    );
    assert!(b.conflicts(true).unwrap()[0].needs_review);
}

#[test]
fn sync_with_the_real_model_records_the_arbiter_in_the_conflict_log() {
    let server = TestServer::start();
    let a = server.device("a", &server.user("alice"));
    let b = accord::Accord::open(
        server
            .device_config("b", &server.user("bob"))
            .with_model(test_model_path())
            .with_arbiter_choice(accord::merge::Choice::DocumentLikelihood),
    )
    .unwrap();
    let base = "How to set up the phone:\n1. Open the box.\n4. Turn the phone on.\n";
    a.put("notes", "m", json!({"body": base})).unwrap();
    assert_eq!(a.sync().outcome, SyncOutcome::Done);
    assert_eq!(b.sync().outcome, SyncOutcome::Done);
    let with = |line: &str| base.replace("4. Turn", &format!("{line}\n4. Turn"));
    a.put(
        "notes",
        "m",
        json!({"body": with("2. Take the phone out of the box.")}),
    )
    .unwrap();
    b.put("notes", "m", json!({"body": with("3. Charge the phone.")}))
        .unwrap();
    assert_eq!(a.sync().outcome, SyncOutcome::Done);
    let r = b.sync();
    assert_eq!(r.outcome, SyncOutcome::Done, "{r:?}");
    assert_eq!(r.model_error, None);
    let body = b.get("notes", "m").unwrap().unwrap().data["body"].clone();
    assert_eq!(
        body,
        json!("How to set up the phone:\n1. Open the box.\n2. Take the phone out of the box.\n3. Charge the phone.\n4. Turn the phone on.\n")
    );
    let c = &b.conflicts(false).unwrap()[0];
    assert!(
        matches!(&c.strategy, accord::merge::Strategy::Arbiter(m) if m.starts_with("SmolLM2")),
        "{}",
        c.strategy
    );
    assert!(c.score.is_some());
    assert!(!c.needs_review);
}
