//! `accord logs parse` and `accord logs report` as a user runs them.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

fn accord() -> Command {
    Command::new(env!("CARGO_BIN_EXE_accord"))
}

fn run_with_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut child = accord()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const MESSAGES: &str = "session opened for user news by (uid=0)
PacketResponder 1 for block blk_38865049064139660 terminating
session opened for user test by (uid=509)

session opened for user cyrus by (uid=0)
PacketResponder 0 for block blk_-6952295868487656571 terminating
session closed for user news
session closed for user cyrus
session closed for user test
";

fn parse_ids(input: &str) -> Vec<String> {
    let out = run_with_stdin(&["logs", "parse"], input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn parse_prints_one_template_id_per_line_in_order() {
    let ids = parse_ids(MESSAGES);
    assert_eq!(ids.len(), 9);
    // Sessions opened and closed (the user names recur between the two statements, so
    // they are values), the packet responders and the empty line: four templates.
    assert_eq!((&ids[0], &ids[0]), (&ids[2], &ids[4]));
    assert_eq!(ids[1], ids[5]);
    assert_eq!((&ids[6], &ids[6]), (&ids[7], &ids[8]));
    assert_ne!(ids[6], ids[0]);
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{ids:?}");
}

#[test]
fn parse_gives_a_line_the_same_id_whatever_the_order_of_lines() {
    let forward = parse_ids(MESSAGES);
    let reversed: String = MESSAGES.lines().rev().map(|l| format!("{l}\n")).collect();
    let mut backward = parse_ids(&reversed);
    backward.reverse();
    assert_eq!(forward, backward);
}

#[test]
fn parse_reads_a_file_like_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messages.txt");
    std::fs::write(&path, MESSAGES).unwrap();
    let from_file = accord()
        .args(["logs", "parse"])
        .arg(&path)
        .output()
        .unwrap();
    let from_stdin = run_with_stdin(&["logs", "parse"], MESSAGES);
    assert!(from_file.status.success());
    assert_eq!(from_file.stdout, from_stdin.stdout);
    let with_templates = accord()
        .args(["logs", "parse", "--with-template"])
        .arg(&path)
        .output()
        .unwrap();
    let first = String::from_utf8(with_templates.stdout).unwrap();
    assert_eq!(
        first
            .lines()
            .next()
            .and_then(|l| l.split_once('\t'))
            .map(|(_, t)| t),
        Some("session opened for user <*> by (uid=<*>)")
    );
}

#[test]
fn report_json_is_the_upload_body() {
    let input = "\
03-21 09:00:01.000  4242  4249 I SyncWorker: pulled page 1: 20 changes
03-21 09:00:02.000  4242  4249 I SyncWorker: pulled page 2: 7 changes
03-21 09:00:05.000  4242  4251 W StorageMonitor: low storage: 11 MB free
03-21 09:00:06.000  4242  4249 E NotesDb: insert failed: database or disk is full (code 13)
03-21 09:00:09.000  4242  4249 E NotesDb: insert failed: database or disk is full (code 13)
";
    let out = run_with_stdin(&["logs", "report", "--json", "--device", "pixel-7"], input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: accord_protocol::LogReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report.lines, report.device.as_str()), (5, "pixel-7"));
    assert_eq!(report.critical.len(), 1);
    assert_eq!(
        report.critical[0].template,
        "NotesDb: insert failed: database or disk is full (code <*>)"
    );
    assert_eq!(report.critical[0].count, 2);
    // The warning just before the first new error is named as its likely cause, and the
    // error it led to is cited.
    assert!(
        report.summary.starts_with("Likely cause: warning [T2]") && report.summary.contains("[C1]"),
        "{}",
        report.summary
    );
    assert_eq!(report.model, "none");
}

#[test]
fn report_for_people_starts_with_the_summary() {
    let out = run_with_stdin(
        &["logs", "report"],
        "E net: connect failed: timeout after 3000 ms\n",
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Summary (none):"), "{text}");
    assert!(text.contains("Uploaded report:"), "{text}");
}

#[test]
fn a_missing_file_is_reported_with_exit_status_1() {
    let out = accord()
        .args(["logs", "parse", "/nonexistent/accord-logs.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open /nonexistent/accord-logs.txt"),
        "{err}"
    );
}
