//! Crash safety of the local store: a harness that re-executes itself as a child that
//! writes (bulk and single writes) or syncs, kills the child with SIGKILL at random
//! instants (and at the named crash points of the sync worker), then checks the database
//! with `PRAGMA integrity_check` and the records and outbox against what the child
//! reported as acknowledged before it died.
//!
//! A custom harness (`harness = false`): `main` runs the scenarios, and the same binary
//! run with `child-bulk` or `child-sync` is the child. Seeded by `ACCORD_CRASH_SEED`
//! (default 1); `ACCORD_CRASH_KILLS` sets kills per scenario (default 8).

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use accord::{Accord, Config, SyncOutcome};
use common::TestServer;
use serde_json::json;

/// A scenario: given the seed and the number of kills, a summary or what went wrong.
type Scenario = fn(u64, usize) -> Result<String, String>;

/// Records per bulk write (one transaction).
const BATCH: usize = 40;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child-bulk") => return child_bulk(Path::new(&args[2]), &args[3]),
        Some("child-sync") => return child_sync(Path::new(&args[2]), &args[3], &args[4], &args[5]),
        _ => {}
    }
    let seed: u64 = std::env::var("ACCORD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let kills: usize = std::env::var("ACCORD_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let scenarios: [(&str, Scenario); 3] = [
        (
            "a_named_crash_point_aborts_the_sync_there",
            crash_point_scenario,
        ),
        (
            "bulk_writes_killed_at_random_instants_keep_every_acknowledged_write",
            bulk_scenario,
        ),
        (
            "syncs_killed_at_random_instants_apply_every_write_exactly_once",
            sync_scenario,
        ),
    ];
    let filter: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, scenario) in scenarios {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match scenario(seed, kills) {
            Ok(summary) => {
                println!("test {name} ... ok ({summary})");
                passed += 1;
            }
            Err(why) => {
                println!("test {name} ... FAILED: {why}\n  replay with ACCORD_CRASH_SEED={seed}");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 || passed == 0 {
        std::process::exit(1);
    }
}

/// Child: bulk writes of BATCH records, then a single write, forever; prints
/// `ack <batch>` after each commit returned.
fn child_bulk(store: &Path, start: &str) {
    let start: usize = start.parse().expect("start batch");
    let accord = Accord::open(Config::new(store)).expect("open store");
    let mut out = std::io::stdout().lock();
    for b in start.. {
        let records = (0..BATCH)
            .map(|j| {
                (
                    format!("b{b}-{j}"),
                    json!({"body": format!("batch {b} row {j}\n")}),
                )
            })
            .collect();
        accord.put_many("bulk", records).expect("bulk write");
        accord
            .put("single", &format!("s{b}"), json!({"n": b}))
            .expect("single write");
        writeln!(out, "ack {b}")
            .and_then(|_| out.flush())
            .expect("stdout");
    }
}

/// Child: writes `count` records (acknowledging each), then syncs until done.
fn child_sync(store: &Path, url: &str, token: &str, first: &str) {
    let first: usize = first.parse().expect("first record");
    let accord = Accord::open(Config::new(store).with_server(url, token, "notes")).expect("open");
    let mut out = std::io::stdout().lock();
    for i in first..first + 30 {
        accord
            .put(
                "notes",
                &format!("r{i}"),
                json!({"body": format!("record {i}\n")}),
            )
            .expect("put");
        writeln!(out, "ack {i}")
            .and_then(|_| out.flush())
            .expect("stdout");
    }
    loop {
        let report = accord.sync();
        writeln!(out, "synced {:?}", report.outcome)
            .and_then(|_| out.flush())
            .expect("stdout");
    }
}

/// Signal number of `abort()` (6 on Linux and macOS).
const SIGABRT: i32 = 6;

/// The sync child run with `ACCORD_CRASH_AT=push:before-send` must abort by itself at
/// that point: proves the crash points are compiled into this test (the engine's
/// `test-hooks` feature), so the kills at named points below are real.
fn crash_point_scenario(_seed: u64, _kills: usize) -> Result<String, String> {
    let server = TestServer::start();
    let token = server.user("alice");
    let store = server.store_path("device");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args([
            "child-sync",
            &store.to_string_lossy(),
            &server.url(),
            &token,
            "0",
        ])
        .env("ACCORD_CRASH_AT", "push:before-send")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the child kept syncing past push:before-send: crash points are not compiled in (feature `test-hooks`)".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.signal() != Some(SIGABRT) {
        return Err(format!("the child ended with {status}, not abort()"));
    }
    if server.seq() != 0 {
        return Err(format!(
            "{} writes reached the server from a sync aborted before sending",
            server.seq()
        ));
    }
    Ok("aborted at push:before-send, nothing sent".into())
}

/// Runs the child, kills it after `after`, returns the numbers it acknowledged.
fn run_child(
    args: &[&str],
    env: Option<(&str, &str)>,
    after: Duration,
) -> Result<Vec<usize>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line
                .strip_prefix("ack ")
                .and_then(|n| n.parse::<usize>().ok())
            {
                let _ = tx.send(n);
            }
        }
    });
    std::thread::sleep(after);
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let _ = reader.join();
    Ok(rx.try_iter().collect())
}

fn bulk_scenario(seed: u64, kills: usize) -> Result<String, String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = dir.path().join("device.db");
    let store_arg = store.to_string_lossy().into_owned();
    let mut acked: BTreeSet<usize> = BTreeSet::new();
    let mut next = 0usize;
    for _ in 0..kills {
        let after = Duration::from_millis(rng.u64(80..600));
        let got = run_child(&["child-bulk", &store_arg, &next.to_string()], None, after)?;
        acked.extend(&got);
        let accord = Accord::open(Config::new(&store)).map_err(|e| e.to_string())?;
        accord
            .store()
            .check_integrity()
            .map_err(|p| format!("integrity_check after a kill: {p:?}"))?;
        let bulk: BTreeSet<String> = accord
            .list("bulk")
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let singles = accord.list("single").map_err(|e| e.to_string())?.len();
        let outbox = accord.pending_mutations().map_err(|e| e.to_string())? as usize;
        accord.shutdown().map_err(|e| e.to_string())?;
        // Every acknowledged batch is whole; a batch in flight is whole or absent.
        let last = bulk
            .iter()
            .filter_map(|id| {
                id[1..]
                    .split_once('-')
                    .and_then(|(b, _)| b.parse::<usize>().ok())
            })
            .max();
        let written = last.map_or(0, |b| b + 1);
        for b in 0..written {
            let present = (0..BATCH)
                .filter(|j| bulk.contains(&format!("b{b}-{j}")))
                .count();
            if present != BATCH {
                return Err(format!(
                    "batch {b} is half-written: {present} of {BATCH} rows"
                ));
            }
        }
        if let Some(missing) = acked.iter().find(|b| **b >= written) {
            return Err(format!(
                "acknowledged batch {missing} is missing after the kill"
            ));
        }
        // One outbox row per local write that was committed: nothing lost, nothing doubled.
        if outbox != bulk.len() + singles {
            return Err(format!(
                "outbox holds {outbox} rows for {} committed writes",
                bulk.len() + singles
            ));
        }
        next = written;
    }
    Ok(format!(
        "{} kills, {} batches acknowledged, {} written",
        kills,
        acked.len(),
        next
    ))
}

fn sync_scenario(seed: u64, kills: usize) -> Result<String, String> {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0xc0ffee);
    let server = TestServer::start();
    let token = server.user("alice");
    let store = server.store_path("device");
    let store_arg = store.to_string_lossy().into_owned();
    let url = server.url();
    let points = [
        None,
        Some("push:before-send"),
        Some("push:sent"),
        Some("pull:page-applied"),
    ];
    let mut acked: BTreeSet<usize> = BTreeSet::new();
    let mut next = 0usize;
    for k in 0..kills {
        let point = points[rng.usize(0..points.len())];
        let after = Duration::from_millis(rng.u64(50..500));
        let got = run_child(
            &["child-sync", &store_arg, &url, &token, &next.to_string()],
            point.map(|p| ("ACCORD_CRASH_AT", p)),
            after,
        )?;
        acked.extend(&got);
        next += 30;
        let accord = Accord::open(Config::new(&store)).map_err(|e| e.to_string())?;
        accord
            .store()
            .check_integrity()
            .map_err(|p| format!("kill {k} ({point:?}): integrity_check: {p:?}"))?;
        // Each acknowledged write is still local: in the store, and either queued or
        // already accepted by the server.
        for i in &acked {
            let rec = accord
                .get("notes", &format!("r{i}"))
                .map_err(|e| e.to_string())?;
            if rec.is_none() {
                return Err(format!("kill {k} ({point:?}): acknowledged r{i} is gone"));
            }
        }
        accord.shutdown().map_err(|e| e.to_string())?;
    }
    // A clean sync finishes the job; the server holds each acknowledged write once.
    let accord = server.device("device", &token);
    let report = accord.sync();
    if report.outcome != SyncOutcome::Done || report.pending != 0 {
        return Err(format!("final sync: {report:?}"));
    }
    let records = accord.list("notes").map_err(|e| e.to_string())?;
    for i in &acked {
        if server.version_of("notes", &format!("r{i}")) != Some(1) {
            return Err(format!(
                "r{i} on the server has version {:?}; expected exactly one applied write",
                server.version_of("notes", &format!("r{i}"))
            ));
        }
    }
    if server.seq() != records.len() as i64 {
        return Err(format!(
            "the server applied {} writes for {} records: something was applied twice",
            server.seq(),
            records.len()
        ));
    }
    Ok(format!(
        "{kills} kills, {} writes acknowledged, {} on the server",
        acked.len(),
        server.seq()
    ))
}
