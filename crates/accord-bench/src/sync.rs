//! `accord-bench sync`: local writes against plain rusqlite, initial and incremental
//! sync over loopback with the device in its own process, the server's feed beside a
//! plain `SELECT`, and the feed's codecs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};

use accord::{Accord, Config, SyncOutcome};
use accord_server::{auth, RunningServer, ServerOptions, SqliteStorage, Storage};

/// Arguments of the hidden `accord-bench sync-device`: one device's sync, in a process
/// of its own so its peak memory can be measured.
#[derive(Args)]
pub struct DeviceArgs {
    /// The device's local database.
    #[arg(long)]
    store: std::path::PathBuf,
    /// Server URL.
    #[arg(long)]
    server: String,
    /// Bearer token.
    #[arg(long)]
    token: String,
}

/// Runs one sync of the bench space and prints its report as JSON.
pub fn run_device(a: &DeviceArgs) -> anyhow::Result<()> {
    let accord = Accord::open(Config::new(&a.store).with_server(&a.server, &a.token, "bench"))?;
    let report = accord.sync();
    // The process's own peak: the parent's `wait4` figure also counts the memory the
    // child shared with it between fork and exec (the bench's rows, the server).
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    println!(
        "{}",
        serde_json::json!({"report": report, "peak_rss_kb": peak_kb})
    );
    Ok(())
}

/// Arguments of `accord-bench sync`.
#[derive(Args)]
pub struct SyncBench {
    /// Records in the space (the initial sync pulls them all). 1000000 takes minutes and
    /// about 4 GB of disk.
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
    /// Also measure the feed on PostgreSQL storage at this URL.
    #[arg(long, env = "ACCORD_BENCH_POSTGRES")]
    postgres: Option<String>,
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

/// This thread's CPU time so far.
fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime only writes the timespec it is given.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// Plain rusqlite: the same rows into one table with the same durability settings, as
/// the floor a sync engine's local write path is measured against.
struct PlainTable {
    conn: rusqlite::Connection,
}

impl PlainTable {
    fn open(path: &std::path::Path) -> anyhow::Result<PlainTable> {
        let conn = rusqlite::Connection::open(path)?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, data TEXT NOT NULL)")?;
        Ok(PlainTable { conn })
    }

    /// Inserts `rows` in one transaction; returns the wall time and this thread's CPU
    /// time of the inserts and the commit.
    fn insert(&mut self, rows: &[(String, String)]) -> anyhow::Result<(Duration, Duration)> {
        let t = Instant::now();
        let c = thread_cpu();
        let tx = self.conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("INSERT OR REPLACE INTO t (id, data) VALUES (?1, ?2)")?;
            for (id, data) in rows {
                stmt.execute([id, data])?;
            }
        }
        tx.commit()?;
        Ok((t.elapsed(), thread_cpu().saturating_sub(c)))
    }
}

/// [`PlainTable`] filled with `n` rows, 1,000 per transaction, `rows(i)` making row `i`
/// (so a million rows need not be held at once). Returns the summed wall and CPU times of
/// the inserts and commits.
fn plain_rusqlite(
    path: &std::path::Path,
    n: usize,
    rows: impl Fn(usize) -> (String, String),
) -> anyhow::Result<Spent> {
    let mut table = PlainTable::open(path)?;
    let mut spent = Spent::default();
    for start in (0..n).step_by(1000) {
        let chunk: Vec<(String, String)> = (start..(start + 1000).min(n)).map(&rows).collect();
        spent.add(table.insert(&chunk)?);
    }
    Ok(spent)
}

/// Wall and CPU time spent by one side of a comparison.
#[derive(Debug, Default, Clone, Copy)]
struct Spent {
    wall: Duration,
    cpu: Duration,
}

impl Spent {
    fn add(&mut self, (wall, cpu): (Duration, Duration)) {
        self.wall += wall;
        self.cpu += cpu;
    }
}

/// Writes records `0..n`, `per_tx` a transaction, to Accord (`write`) and to a plain
/// table at `peer` in turn, which side goes first alternating, so both meet the same
/// state of the machine and its disk. Rows are made a batch at a time, outside both
/// timings (a sync device started later must not inherit a parent holding 100,000 of
/// them). Returns Accord's time and the plain table's.
fn interleaved(
    n: usize,
    per_tx: usize,
    bytes: usize,
    peer: &std::path::Path,
    mut write: impl FnMut(Vec<(String, Value)>) -> anyhow::Result<()>,
) -> anyhow::Result<(Spent, Spent)> {
    let mut plain = PlainTable::open(peer)?;
    let (mut ours, mut theirs) = (Spent::default(), Spent::default());
    for (k, start) in (0..n).step_by(per_tx).enumerate() {
        let values: Vec<(String, Value)> = (start..(start + per_tx).min(n))
            .map(|i| row(i, bytes))
            .collect();
        let texts: Vec<(String, String)> = values
            .iter()
            .map(|(id, v)| (id.clone(), v.to_string()))
            .collect();
        let accord_first = k % 2 == 0;
        if !accord_first {
            theirs.add(plain.insert(&texts)?);
        }
        let (t, c) = (Instant::now(), thread_cpu());
        write(values)?;
        ours.add((t.elapsed(), thread_cpu().saturating_sub(c)));
        if accord_first {
            theirs.add(plain.insert(&texts)?);
        }
    }
    Ok((ours, theirs))
}

/// Row `i` of the local writes and of the seeded space: its id and its fields.
fn row(i: usize, bytes: usize) -> (String, Value) {
    (format!("r{i}"), record(i, bytes))
}

fn row_text(i: usize, bytes: usize) -> (String, String) {
    let (id, v) = row(i, bytes);
    (id, v.to_string())
}

/// One device's sync, as [`device_sync`] measured it.
struct DeviceRun {
    report: Value,
    rss_mb: f64,
    elapsed: Duration,
    /// The device process's user plus system CPU time.
    cpu: Duration,
}

/// A device as its own process (`accord-bench sync-device`), so its wall time, CPU time
/// and peak memory are the device's alone.
fn device_sync(store: &std::path::Path, url: &str, token: &str) -> anyhow::Result<DeviceRun> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args(["sync-device", "--store"])
        .arg(store)
        .args(["--server", url, "--token", token]);
    let run = crate::model::run_measured(cmd)?;
    let out: Value = serde_json::from_str(&run.out).context("the device's report is not JSON")?;
    let report = out["report"].clone();
    if report["outcome"]["status"] != "done" {
        bail!("the device's sync did not finish: {report}");
    }
    Ok(DeviceRun {
        report,
        rss_mb: out["peak_rss_kb"]
            .as_f64()
            .map_or(run.rss_mb, |kb| kb / 1024.0),
        elapsed: run.elapsed,
        cpu: run.cpu,
    })
}

/// One in-process device's sync, with the bar `accord client sync` draws (on a terminal).
fn synced(device: &Accord) -> accord::SyncReport {
    let bar = crate::progress::SyncBar::new(crate::progress::wanted(false));
    let report = device.sync_with_progress(Some(bar.listener()));
    bar.finish();
    report
}

/// Runs the sync benchmark and prints its tables.
pub fn run(b: &SyncBench) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    println!("## accord bench sync\n");
    println!(
        "Command: `accord-bench {}`. {} records of {} bytes; {} single puts; incremental sync of {} changed records. Loopback HTTP, server on SQLite, {} cores.\n",
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        b.records,
        b.record_bytes,
        b.single_puts,
        b.changed,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    // Local writes: one a transaction, then 1,000 a transaction.
    let batch_n = b.records.min(100_000);
    let n1 = b.single_puts.min(batch_n);
    let single = Accord::open(Config::new(dir.path().join("single.db")))?;
    let (accord_single, plain_single) = interleaved(
        n1,
        1,
        b.record_bytes,
        &dir.path().join("plain1.db"),
        |rows| {
            for (id, v) in rows {
                single.put("notes", &id, v)?;
            }
            Ok(())
        },
    )?;
    let batched = Accord::open(Config::new(dir.path().join("batched.db")))?;
    let (accord_batched, plain_batched) = interleaved(
        batch_n,
        1000,
        b.record_bytes,
        &dir.path().join("plain2.db"),
        |rows| Ok(batched.put_many("notes", rows)?),
    )?;
    println!("| local writes | rows | accord rows/s | plain rusqlite rows/s | accord / rusqlite | CPU time: accord / rusqlite |");
    println!("|---|---:|---:|---:|---:|---:|");
    let ratio = |peer: Duration, ours: Duration| peer.as_secs_f64() / ours.as_secs_f64().max(1e-9);
    println!(
        "| put, one transaction each (WAL, synchronous=FULL) | {n1} | {:.0} | {:.0} | {:.2} | {:.2} |",
        rate(n1, accord_single.wall),
        rate(n1, plain_single.wall),
        ratio(plain_single.wall, accord_single.wall),
        ratio(plain_single.cpu, accord_single.cpu)
    );
    println!(
        "| put_many, 1,000 per transaction | {batch_n} | {:.0} | {:.0} | {:.2} | {:.2} |",
        rate(batch_n, accord_batched.wall),
        rate(batch_n, plain_batched.wall),
        ratio(plain_batched.wall, accord_batched.wall),
        ratio(plain_batched.cpu, accord_batched.cpu)
    );
    drop(single);
    drop(batched);

    // The server, seeded through its storage (the seeding is not what is measured).
    let storage = Arc::new(SqliteStorage::open(&dir.path().join("server.db"))?);
    let (token, space_id) = seed(storage.as_ref(), b)?;
    let server = RunningServer::start(storage.clone(), ServerOptions::default(), "127.0.0.1:0")?;

    let initial = device_sync(&dir.path().join("fresh.db"), &server.url(), &token)?;
    let pulled = initial.report["pulled"].as_u64().unwrap_or(0);
    if pulled as usize != b.records {
        bail!("the initial sync pulled {pulled} of {} records", b.records);
    }
    // The peer of the initial sync: the same rows into plain rusqlite, batched.
    let Spent {
        wall: plain_initial,
        cpu: plain_initial_cpu,
    } = plain_rusqlite(&dir.path().join("plain3.db"), b.records, |i| {
        row_text(i, b.record_bytes)
    })?;

    // Another device changes some records (written through storage, as that device's
    // pushes would be), then the first device pulls them.
    let mut muts = Vec::with_capacity(b.changed);
    for i in 0..b.changed {
        let idx = i * (b.records / b.changed.max(1)).max(1) % b.records.max(1);
        muts.push(accord_protocol::Mutation {
            mutation_id: format!("change-{i}"),
            collection: "notes".into(),
            id: format!("r{idx}"),
            base_version: 1,
            data: Some(record(idx + b.records, b.record_bytes)),
            deleted: false,
            hlc: String::new(),
            outbox_seq: None,
        });
    }
    storage.apply(space_id, &accord_protocol::MutationBatch::new(muts))?;
    let incremental = device_sync(&dir.path().join("fresh.db"), &server.url(), &token)?;

    // Another device, synced, writes new records and pushes them: that sync is timed.
    let writer = Accord::open(Config::new(dir.path().join("writer.db")).with_server(
        &server.url(),
        &token,
        "bench",
    ))?;
    if synced(&writer).outcome != SyncOutcome::Done {
        bail!("the writer's first sync failed");
    }
    let new_records: Vec<(String, Value)> = (0..b.changed)
        .map(|i| (format!("new{i}"), record(i, b.record_bytes)))
        .collect();
    writer.put_many("notes", new_records)?;
    let w = synced(&writer);
    if w.outcome != SyncOutcome::Done || w.pushed as usize != b.changed {
        bail!("the writer's push failed: {:?}", w.outcome);
    }

    println!("\n| sync over loopback (device in its own process) | records | wall time | records/s | device CPU s | device peak RSS MB | bytes received | received bytes/record |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let line = |what: &str, run: &DeviceRun| {
        let n = run.report["pulled"].as_u64().unwrap_or(0);
        let received = run.report["bytes_received"].as_u64().unwrap_or(0);
        println!(
            "| {what} | {n} | {:.2} s | {:.0} | {:.2} | {:.0} | {received} | {:.0} |",
            run.elapsed.as_secs_f64(),
            rate(n as usize, run.elapsed),
            run.cpu.as_secs_f64(),
            run.rss_mb,
            received as f64 / n.max(1) as f64
        );
    };
    line("initial sync to a new device (pull)", &initial);
    line(
        &format!("incremental sync ({} changed of {})", b.changed, b.records),
        &incremental,
    );
    println!(
        "\nInitial sync against plain rusqlite inserting the same {} rows (1,000 per transaction, WAL, synchronous=FULL) in this run: {:.0} against {:.0} rows/s = **{:.2}**. The device's time includes starting its process. CPU time: the device process {:.2} s (all its threads; the server's work is not in it), plain rusqlite {:.2} s = {:.2}.",
        b.records,
        rate(b.records, initial.elapsed),
        rate(b.records, plain_initial),
        plain_initial.as_secs_f64() / initial.elapsed.as_secs_f64(),
        initial.cpu.as_secs_f64(),
        plain_initial_cpu.as_secs_f64(),
        plain_initial_cpu.as_secs_f64() / initial.cpu.as_secs_f64().max(1e-9)
    );
    println!(
        "Push of {} new records by another device: {} ms, {} bytes sent.",
        b.changed, w.elapsed_ms, w.bytes_sent
    );
    let json_bytes = record(0, b.record_bytes).to_string().len() as f64;
    println!(
        "Raw JSON of the records in the initial sync: {:.0} bytes; on the wire (compressed): {} bytes ({:.1}%).",
        b.records as f64 * json_bytes,
        initial.report["bytes_received"],
        100.0 * initial.report["bytes_received"].as_f64().unwrap_or(0.0) / (b.records as f64 * json_bytes)
    );
    server.stop();

    feed(b, storage, &token, dir.path())?;
    codecs(b)?;
    Ok(())
}

/// Seeds the server's space with the bench's records through its storage; returns the
/// bench user's token and the space id.
fn seed(storage: &dyn Storage, b: &SyncBench) -> anyhow::Result<(String, i64)> {
    let token = auth::new_token().map_err(anyhow::Error::msg)?;
    seed_with_token(storage, b, &token)
}

/// The server's feed: pages per second through storage and through HTTP (compressed,
/// decoded by the client's transport), beside a plain `SELECT` of the same rows.
fn feed(
    b: &SyncBench,
    sqlite: Arc<SqliteStorage>,
    token: &str,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let limit = accord_protocol::MAX_PAGE_LIMIT;
    let pages = b.records.div_ceil(limit as usize);
    println!(
        "\n| server feed, {pages} pages of {limit} | storage pages/s | HTTP pages/s, a request each | HTTP pages/s, streamed | wire bytes/record (streamed) | plain SELECT pages/s | storage / SELECT |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut backends: Vec<(&str, Arc<dyn Storage>, i64)> = Vec::new();
    let sqlite_space = {
        let user = sqlite
            .user_for_token(&auth::token_hash(token))?
            .context("user")?;
        sqlite.space_for(&user, "bench")?.context("space")?
    };
    backends.push(("sqlite", sqlite, sqlite_space));
    let mut pg_url = None;
    if let Some(url) = &b.postgres {
        let pg = accord_server::storage::open(url)?;
        let (_, pg_space) = seed_with_token(pg.as_ref(), b, token)?;
        backends.push(("postgres", pg, pg_space));
        pg_url = Some(url.clone());
    }
    for (name, storage, space_id) in backends {
        let t = Instant::now();
        let mut since = 0;
        loop {
            let page = storage.changes(space_id, since, limit)?;
            since = page.next;
            if !page.more {
                break;
            }
        }
        let through_storage = t.elapsed();
        let server = RunningServer::start(
            storage.clone(),
            ServerOptions {
                rate_limit: None,
                ..ServerOptions::default()
            },
            "127.0.0.1:0",
        )?;
        let transport = accord::transport::HttpTransport::new(
            &server.url(),
            token,
            "bench",
            Duration::from_secs(10),
            Duration::from_secs(120),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        use accord::transport::Transport;
        let t = Instant::now();
        let mut since = 0;
        let mut n = 0usize;
        loop {
            let page = transport
                .changes(since, limit, false)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            n += page.changes.len();
            since = page.next;
            if !page.more {
                break;
            }
        }
        let through_http = t.elapsed();
        let before = transport.traffic().received;
        let t = Instant::now();
        let (mut since, mut streamed, mut finished) = (0, 0usize, false);
        while !finished {
            transport
                .changes_stream(since, limit, 16, &mut |page| {
                    streamed += page.changes.len();
                    since = page.next;
                    finished = !page.more || page.changes.is_empty();
                    !finished
                })
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let through_stream = t.elapsed();
        let streamed_bytes = transport.traffic().received - before;
        if streamed != n {
            bail!("the streamed feed held {streamed} records, the paged one {n}");
        }
        server.stop();
        let plain = match name {
            "sqlite" => plain_select_sqlite(&dir.join("server.db"), space_id, limit)?,
            _ => plain_select_postgres(pg_url.as_deref().unwrap_or_default(), space_id, limit)?,
        };
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {:.0} ({:.0}) | {:.0} | {:.2} |",
            rate(pages, through_storage),
            rate(pages, through_http),
            rate(pages, through_stream),
            before as f64 / n.max(1) as f64,
            streamed_bytes as f64 / n.max(1) as f64,
            rate(pages, plain),
            plain.as_secs_f64() / through_storage.as_secs_f64()
        );
    }
    Ok(())
}

/// [`seed`] with a given token (the same on SQLite and PostgreSQL).
fn seed_with_token(
    storage: &dyn Storage,
    b: &SyncBench,
    token: &str,
) -> anyhow::Result<(String, i64)> {
    let bar = crate::steps(b.records as u64, "seed", "records");
    // A database shared between runs may hold an earlier run's space.
    let name = "bench";
    if storage.spaces()?.iter().any(|s| s.name == name) {
        bail!("the PostgreSQL database already has a space named '{name}'; use an empty database");
    }
    storage.add_space(name)?;
    storage.add_user(name, &auth::token_hash(token))?;
    storage.grant(name, name)?;
    let user = storage
        .user_for_token(&auth::token_hash(token))?
        .context("user")?;
    let space_id = storage.space_for(&user, name)?.context("space")?;
    let mut muts = Vec::with_capacity(1000);
    for i in 0..b.records {
        muts.push(accord_protocol::Mutation {
            mutation_id: format!("seed-{i}"),
            collection: "notes".into(),
            id: format!("r{i}"),
            base_version: 0,
            data: Some(record(i, b.record_bytes)),
            deleted: false,
            hlc: String::new(),
            outbox_seq: None,
        });
        if muts.len() == 1000 || i + 1 == b.records {
            let batch = accord_protocol::MutationBatch::new(std::mem::take(&mut muts));
            storage.apply(space_id, &batch)?;
            bar.inc(batch.mutations.len() as u64);
        }
    }
    bar.finish_and_clear();
    Ok((token.to_string(), space_id))
}

const FEED_SELECT: &str = "SELECT collection, id, version, seq, data, deleted, hlc, mutation_id FROM records WHERE space_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";

/// The feed's query through plain rusqlite, each row read into owned values.
fn plain_select_sqlite(
    path: &std::path::Path,
    space_id: i64,
    limit: u32,
) -> anyhow::Result<Duration> {
    let conn = rusqlite::Connection::open(path)?;
    let t = Instant::now();
    let mut stmt = conn.prepare(&FEED_SELECT.replace('$', "?"))?;
    let mut since = 0i64;
    loop {
        let mut rows = stmt.query(rusqlite::params![space_id, since, i64::from(limit)])?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            let row: (
                String,
                String,
                i64,
                i64,
                Option<String>,
                bool,
                String,
                String,
            ) = (
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            );
            since = row.3;
            n += 1;
        }
        if n < limit {
            return Ok(t.elapsed());
        }
    }
}

/// The feed's query through the plain PostgreSQL client.
fn plain_select_postgres(url: &str, space_id: i64, limit: u32) -> anyhow::Result<Duration> {
    let url = url.split_once('?').map_or(url, |(base, _)| base);
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    let t = Instant::now();
    let stmt = client.prepare(FEED_SELECT)?;
    let mut since = 0i64;
    loop {
        let rows = client.query(&stmt, &[&space_id, &since, &i64::from(limit)])?;
        for r in &rows {
            let _: (String, String, i64, Option<String>, bool, String, String) = (
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(4)?,
                r.try_get(5)?,
                r.try_get(6)?,
                r.try_get(7)?,
            );
            since = r.try_get(3)?;
        }
        if rows.len() < limit as usize {
            return Ok(t.elapsed());
        }
    }
}

/// The codecs a changes page can travel in, on one page of the bench's records: bytes
/// against CPU, which is what the server's choice of encoding trades.
fn codecs(b: &SyncBench) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let page = accord_protocol::ChangesPage {
        changes: (0..accord_protocol::MAX_PAGE_LIMIT as usize)
            .map(|i| accord_protocol::RemoteRecord {
                collection: "notes".into(),
                id: format!("r{i}"),
                version: 1,
                seq: i as i64 + 1,
                data: Some(record(i, b.record_bytes)),
                deleted: false,
                hlc: format!("0000018f3a2b{i:08}-0000-5f1c2d3e4a5b6c7d"),
                mutation_id: format!("0190a1b2-c3d4-7e5f-8a9b-{i:012}"),
            })
            .collect(),
        next: accord_protocol::MAX_PAGE_LIMIT as i64,
        more: true,
        remaining: None,
        features: Vec::new(),
    };
    let json = serde_json::to_vec(&page)?;
    let reps = 5;
    println!(
        "\n| codec of a changes page ({} records, {} bytes of JSON) | bytes | % of JSON | compress MB/s | decompress MB/s |",
        page.changes.len(),
        json.len()
    );
    println!("|---|---:|---:|---:|---:|");
    type Transform = Box<dyn Fn(&[u8]) -> std::io::Result<Vec<u8>>>;
    type Codec = (Transform, Transform);
    let gzip = |level: u32| -> Codec {
        (
            Box::new(move |data: &[u8]| {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
                e.write_all(data)?;
                e.finish()
            }),
            Box::new(|data: &[u8]| {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(data).read_to_end(&mut out)?;
                Ok(out)
            }),
        )
    };
    let zstd = |level: i32| -> Codec {
        (
            Box::new(move |data: &[u8]| zstd::stream::encode_all(data, level)),
            Box::new(|data: &[u8]| zstd::stream::decode_all(data)),
        )
    };
    let codecs: Vec<(String, Codec)> = vec![
        ("gzip level 1".into(), gzip(1)),
        ("gzip level 6 (tower-http's default)".into(), gzip(6)),
        ("zstd level 1".into(), zstd(1)),
        ("zstd level 3 (tower-http's default)".into(), zstd(3)),
    ];
    for (name, (compress, decompress)) in codecs {
        let t = Instant::now();
        let mut packed = Vec::new();
        for _ in 0..reps {
            packed = compress(&json)?;
        }
        let c = t.elapsed();
        let t = Instant::now();
        for _ in 0..reps {
            let back = decompress(&packed)?;
            if back.len() != json.len() {
                bail!("{name} did not round-trip");
            }
        }
        let d = t.elapsed();
        let mb = (json.len() * reps) as f64 / 1e6;
        println!(
            "| {name} | {} | {:.1} | {:.0} | {:.0} |",
            packed.len(),
            100.0 * packed.len() as f64 / json.len() as f64,
            mb / c.as_secs_f64(),
            mb / d.as_secs_f64()
        );
    }
    Ok(())
}
