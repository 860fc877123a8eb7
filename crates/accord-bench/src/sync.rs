//! `accord-bench sync`: local writes against plain rusqlite, initial and incremental
//! sync over loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};

use accord::{Accord, Config, SyncOutcome};
use accord_server::{auth, RunningServer, ServerOptions, SqliteStorage, Storage};

/// Arguments of `accord-bench sync`.
#[derive(Args)]
pub struct SyncBench {
    /// Records in the initial sync.
    #[arg(long, default_value_t = 100_000)]
    records: usize,
    /// Bytes of each record's body.
    #[arg(long, default_value_t = 1024)]
    record_bytes: usize,
    /// Records changed for the incremental sync.
    #[arg(long, default_value_t = 100)]
    changed: usize,
    /// Single-record puts timed (each its own transaction, fsync included).
    #[arg(long, default_value_t = 2_000)]
    single_puts: usize,
}

fn body(i: usize, bytes: usize) -> String {
    // Varied text (so gzip does not make the wire figures meaningless): a counter mixed
    // into words.
    let words = [
        "alpha", "brisk", "cobalt", "delta", "ember", "fjord", "gale", "harbor",
    ];
    let mut s = String::with_capacity(bytes + 16);
    let mut x = i as u64 * 2_654_435_761 + 1;
    while s.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(words[(x % 8) as usize]);
        s.push_str(&format!("{} ", x % 1000));
    }
    s.truncate(bytes);
    s
}

fn record(i: usize, bytes: usize) -> Value {
    json!({"title": format!("note {i}"), "body": body(i, bytes), "done": i.is_multiple_of(3)})
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Plain rusqlite: the same rows into one table with the same durability settings, as
/// the floor a sync engine's local write path is measured against.
fn plain_rusqlite(
    path: &std::path::Path,
    rows: &[(String, String)],
    batched: bool,
) -> anyhow::Result<Duration> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, data TEXT NOT NULL)")?;
    let start = Instant::now();
    if batched {
        for chunk in rows.chunks(1000) {
            let tx = conn.transaction()?;
            {
                let mut stmt =
                    tx.prepare_cached("INSERT OR REPLACE INTO t (id, data) VALUES (?1, ?2)")?;
                for (id, data) in chunk {
                    stmt.execute([id, data])?;
                }
            }
            tx.commit()?;
        }
    } else {
        let mut stmt =
            conn.prepare_cached("INSERT OR REPLACE INTO t (id, data) VALUES (?1, ?2)")?;
        for (id, data) in rows {
            stmt.execute([id, data])?;
        }
    }
    Ok(start.elapsed())
}

/// Runs `accord-bench sync`: prints its tables.
pub fn run(b: &SyncBench) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    println!("## accord-bench sync\n");
    println!(
        "{} records of {} bytes; {} single puts; incremental sync of {} changed records. Loopback HTTP, server on SQLite, {} cores.\n",
        b.records,
        b.record_bytes,
        b.single_puts,
        b.changed,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    // Local writes.
    let batch_n = b.records.min(20_000);
    let rows: Vec<(String, Value)> = (0..batch_n)
        .map(|i| (format!("r{i}"), record(i, b.record_bytes)))
        .collect();
    let texts: Vec<(String, String)> = rows
        .iter()
        .map(|(id, v)| (id.clone(), v.to_string()))
        .collect();

    // Progress on a terminal only: the tables go to standard output, the bars to stderr.
    let show = crate::progress::wanted(false);
    let single = Accord::open(Config::new(dir.path().join("single.db")))?;
    let bar = steps(b.single_puts as u64, "puts", "records", show);
    let t = Instant::now();
    for (id, v) in rows.iter().take(b.single_puts) {
        single.put("notes", id, v.clone())?;
        bar.inc(1);
    }
    let accord_single = t.elapsed();
    bar.finish_and_clear();
    let plain_single = plain_rusqlite(
        &dir.path().join("plain1.db"),
        &texts[..b.single_puts.min(texts.len())],
        false,
    )?;

    let batched = Accord::open(Config::new(dir.path().join("batched.db")))?;
    let t = Instant::now();
    for chunk in rows.chunks(1000) {
        batched.put_many("notes", chunk.to_vec())?;
    }
    let accord_batched = t.elapsed();
    let plain_batched = plain_rusqlite(&dir.path().join("plain2.db"), &texts, true)?;

    println!("| local writes | rows | accord rows/s | plain rusqlite rows/s | accord / rusqlite |");
    println!("|---|---:|---:|---:|---:|");
    let n1 = b.single_puts.min(rows.len());
    println!(
        "| put, one transaction each (WAL, synchronous=FULL) | {n1} | {:.0} | {:.0} | {:.2} |",
        rate(n1, accord_single),
        rate(n1, plain_single),
        plain_single.as_secs_f64() / accord_single.as_secs_f64()
    );
    println!(
        "| put_many, 1,000 per transaction | {batch_n} | {:.0} | {:.0} | {:.2} |",
        rate(batch_n, accord_batched),
        rate(batch_n, plain_batched),
        plain_batched.as_secs_f64() / accord_batched.as_secs_f64()
    );
    drop(single);
    drop(batched);

    // The server, seeded through its storage (the seeding is not what is measured).
    let storage = Arc::new(SqliteStorage::open(&dir.path().join("server.db"))?);
    storage.add_space("bench")?;
    let token = auth::new_token().map_err(anyhow::Error::msg)?;
    storage.add_user("bench", &auth::token_hash(&token))?;
    storage.grant("bench", "bench")?;
    let space_id = storage
        .space_for(
            &storage
                .user_for_token(&auth::token_hash(&token))?
                .context("user")?,
            "bench",
        )?
        .context("space")?;
    let mut muts = Vec::with_capacity(1000);
    let bar = steps(b.records as u64, "seed", "records", show);
    for i in 0..b.records {
        muts.push(accord_protocol::Mutation {
            mutation_id: format!("seed-{i}"),
            collection: "notes".into(),
            id: format!("r{i}"),
            base_version: 0,
            data: Some(record(i, b.record_bytes)),
            deleted: false,
            hlc: String::new(),
        });
        if muts.len() == 1000 || i + 1 == b.records {
            storage.apply(space_id, &muts)?;
            bar.inc(muts.len() as u64);
            muts.clear();
        }
    }
    bar.finish_and_clear();
    // One sync's bar, as `accord client sync` draws it.
    let synced = |device: &Accord| {
        let bar = crate::progress::SyncBar::new(show);
        let report = device.sync_with_progress(Some(bar.listener()));
        bar.finish();
        report
    };
    let server = RunningServer::start(storage, ServerOptions::default(), "127.0.0.1:0")?;
    let config =
        |name: &str| Config::new(dir.path().join(name)).with_server(&server.url(), &token, "bench");

    let fresh = Accord::open(config("fresh.db"))?;
    let t = Instant::now();
    let initial = synced(&fresh);
    let initial_time = t.elapsed();
    if initial.outcome != SyncOutcome::Done || initial.pulled as usize != b.records {
        bail!(
            "initial sync did not finish: {:?}, pulled {}",
            initial.outcome,
            initial.pulled
        );
    }

    // Another device changes some records and pushes them.
    let writer = Accord::open(config("writer.db"))?;
    let w = writer.sync();
    if w.outcome != SyncOutcome::Done {
        bail!("writer sync failed: {:?}", w.outcome);
    }
    let changed: Vec<(String, Value)> = (0..b.changed)
        .map(|i| {
            let idx = i * (b.records / b.changed.max(1)).max(1) % b.records;
            (format!("r{idx}"), record(idx + b.records, b.record_bytes))
        })
        .collect();
    writer.put_many("notes", changed)?;
    let t = Instant::now();
    let push = synced(&writer);
    let push_time = t.elapsed();
    let t = Instant::now();
    let incremental = synced(&fresh);
    let incremental_time = t.elapsed();
    if incremental.outcome != SyncOutcome::Done {
        bail!("incremental sync failed: {:?}", incremental.outcome);
    }

    println!("\n| sync over loopback | records | wall time | records/s | bytes sent | bytes received | received bytes/record |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let line = |what: &str, n: u64, d: Duration, r: &accord::SyncReport| {
        println!(
            "| {what} | {n} | {:.2} s | {:.0} | {} | {} | {:.0} |",
            d.as_secs_f64(),
            rate(n as usize, d),
            r.bytes_sent,
            r.bytes_received,
            r.bytes_received as f64 / n.max(1) as f64
        );
    };
    line(
        "initial sync to a new device (pull)",
        initial.pulled,
        initial_time,
        &initial,
    );
    line("push of changed records", push.pushed, push_time, &push);
    line(
        "incremental sync (pull of changed records)",
        incremental.pulled,
        incremental_time,
        &incremental,
    );
    println!(
        "\nRaw JSON of the records in the initial sync: {} bytes; on the wire (gzip): {} bytes ({:.1}%).",
        b.records as u64 * (record(0, b.record_bytes).to_string().len() as u64),
        initial.bytes_received,
        100.0 * initial.bytes_received as f64 / (b.records as f64 * record(0, b.record_bytes).to_string().len() as f64)
    );
    server.stop();
    Ok(())
}

const STEPS: &str = "{prefix:>5} [{bar:30}] {human_pos}/{human_len} {msg}  {per_sec}  eta {eta}";

/// A counted step of the benchmark (`len` items), hidden unless `enabled`. Cleared with
/// `finish_and_clear` when the step is done.
fn steps(len: u64, label: &str, unit: &str, enabled: bool) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::hidden(),
    );
    bar.set_style(crate::progress::style(STEPS));
    bar.set_prefix(label.to_string());
    bar.set_message(unit.to_string());
    crate::progress::show(&bar, enabled);
    bar
}
