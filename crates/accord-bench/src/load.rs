//! `accord-bench load`: N simulated devices sync concurrently with one server on
//! loopback, against SQLite and (given a URL) PostgreSQL storage; prints throughput,
//! p50/p99 latency and errors as a Markdown table.
//!
//! A simulated device is the real client transport ([`HttpTransport`]) driven the way the
//! sync worker drives it, in a closed loop with no think time: pull every change since
//! its cursor (paged), then push one mutation (a new record, or an edit of one of its own
//! records on the version it last saw). One such cycle is one "sync"; its wall time is
//! the latency measured. Devices are grouped into spaces (a user's phone, tablet, ...),
//! so each device also pulls what the others of its space wrote. The local store is left
//! out on purpose: a thousand devices' fsyncs on one disk would measure the disk, not the
//! server.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde_json::json;

use accord::transport::{HttpTransport, Transport};
use accord_protocol::{Mutation, MutationBatch, MutationResult};
use accord_server::{auth, RunningServer, ServerOptions, Storage};

/// Arguments of `accord-bench load`.
#[derive(Args)]
pub struct LoadBench {
    /// Device counts to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    devices: Vec<usize>,
    /// Seconds each measurement lasts.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Devices sharing one space (and one user).
    #[arg(long, default_value_t = 10)]
    devices_per_space: usize,
    /// Also measure PostgreSQL storage at this URL (each run uses spaces of its own).
    #[arg(long, env = "ACCORD_BENCH_POSTGRES")]
    postgres: Option<String>,
    /// Push as clients before `answered_below` did (no device, no outbox positions): the
    /// server then keeps every mutation id for its retention window.
    #[arg(long)]
    legacy_push: bool,
}

/// What one run measured.
struct LoadResult {
    backend: &'static str,
    devices: usize,
    elapsed: Duration,
    syncs: u64,
    mutations: u64,
    conflicts: u64,
    errors: u64,
    /// Errors by kind (HTTP status, or the transport's message), for the notes.
    error_kinds: BTreeMap<String, u64>,
    latencies_us: Vec<u64>,
    /// Mutation ids the server remembered for this run's spaces, sampled every second:
    /// the most seen, and at the end.
    ids_peak: u64,
    ids_end: u64,
}

impl LoadResult {
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// Runs the load benchmark and prints its table.
pub fn run(b: &LoadBench) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let mut backends: Vec<(&'static str, String)> = vec![(
        "sqlite",
        dir.path().join("server.db").to_string_lossy().into_owned(),
    )];
    if let Some(url) = &b.postgres {
        backends.push(("postgres", url.clone()));
    }
    println!("## accord-bench load\n");
    println!(
        "Command: `accord {}`{}\n",
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        if b.postgres.is_some() {
            " with ACCORD_BENCH_POSTGRES set (PostgreSQL 15, throwaway cluster from scripts/pg-test-cluster.sh)"
        } else {
            ""
        }
    );
    println!(
        "Closed loop, no think time: each device pulls its space's changes then pushes one mutation per sync. \
         {} devices per space, {:.0} s per run, server with 2 worker threads on loopback, rate limit off, {} cores. \
         Pushes {}.\n",
        b.devices_per_space,
        b.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if b.legacy_push {
            "as clients before `answered_below` (`--legacy-push`: no device, every mutation id kept for the window)"
        } else {
            "with the device, outbox positions and `answered_below` (the server forgets each device's answered ids)"
        }
    );
    let mut results = Vec::new();
    let bar = crate::steps((backends.len() * b.devices.len()) as u64, "load", "runs");
    for (run, (backend, db)) in backends.iter().enumerate() {
        let storage = accord_server::storage::open(db)
            .with_context(|| format!("cannot open the {backend} database"))?;
        for (i, &n) in b.devices.iter().enumerate() {
            let tag = format!("load{}x{run}x{i}x{}", std::process::id(), n);
            let r = run_load(storage.clone(), backend, &tag, n, b)?;
            bar.suspend(|| {
                eprintln!(
                    "{backend} {n} devices: {} syncs, {} errors",
                    r.syncs, r.errors
                )
            });
            bar.inc(1);
            results.push(r);
        }
    }
    bar.finish_and_clear();
    println!("| storage | devices | syncs | syncs/s | mutations/s | p50 ms | p99 ms | conflicts | errors | mutation ids kept (peak) | mutation ids kept (end) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &results {
        let secs = r.elapsed.as_secs_f64().max(1e-9);
        println!(
            "| {} | {} | {} | {:.0} | {:.0} | {:.1} | {:.1} | {} | {} | {} | {} |",
            r.backend,
            r.devices,
            r.syncs,
            r.syncs as f64 / secs,
            r.mutations as f64 / secs,
            r.percentile_ms(0.50),
            r.percentile_ms(0.99),
            r.conflicts,
            r.errors,
            r.ids_peak,
            r.ids_end
        );
    }
    let find = |backend: &str, n: usize| {
        results
            .iter()
            .find(|r| r.backend == backend && r.devices == n)
    };
    for r in results.iter().filter(|r| r.errors > 0) {
        let kinds: Vec<String> = r
            .error_kinds
            .iter()
            .map(|(k, n)| format!("{n} × {k}"))
            .collect();
        println!(
            "\n- errors, {} with {} devices: {}",
            r.backend,
            r.devices,
            kinds.join("; ")
        );
    }
    if b.postgres.is_some() {
        println!();
        for &n in &b.devices {
            if let (Some(s), Some(p)) = (find("sqlite", n), find("postgres", n)) {
                println!(
                    "- {n} devices: PostgreSQL / SQLite throughput = {:.2}",
                    (p.syncs as f64 / p.elapsed.as_secs_f64())
                        / (s.syncs as f64 / s.elapsed.as_secs_f64()).max(1e-9)
                );
            }
        }
    }
    Ok(())
}

fn run_load(
    storage: Arc<dyn Storage>,
    backend: &'static str,
    tag: &str,
    devices: usize,
    b: &LoadBench,
) -> anyhow::Result<LoadResult> {
    let per_space = b.devices_per_space.max(1);
    let spaces = devices.div_ceil(per_space);
    let mut tokens = Vec::with_capacity(spaces);
    for s in 0..spaces {
        let name = format!("{tag}-s{s}");
        let token = auth::new_token().map_err(anyhow::Error::msg)?;
        storage.add_space(&name)?;
        storage.add_user(&name, &auth::token_hash(&token))?;
        storage.grant(&name, &name)?;
        tokens.push((name, token));
    }
    let options = ServerOptions {
        rate_limit: None,
        ..ServerOptions::default()
    };
    let ids_before = storage.mutation_ids()?;
    let server = RunningServer::start(storage.clone(), options, "127.0.0.1:0")?;
    let url = server.url();
    let duration = Duration::from_secs_f64(b.seconds.max(0.1));
    let barrier = Arc::new(Barrier::new(devices + 1));
    let counters = Arc::new([
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    ]);
    let error_kinds = Arc::new(Mutex::new(BTreeMap::new()));
    let mut handles = Vec::with_capacity(devices);
    for d in 0..devices {
        let (space, token) = tokens[d / per_space].clone();
        let transport = HttpTransport::new(
            &url,
            &token,
            &space,
            Duration::from_secs(10),
            Duration::from_secs(60),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let (barrier, counters, kinds) = (barrier.clone(), counters.clone(), error_kinds.clone());
        let device = (!b.legacy_push).then(|| format!("{tag}-d{d}"));
        let handle = std::thread::Builder::new()
            .name(format!("device-{d}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                device_loop(
                    d,
                    device.as_deref(),
                    &transport,
                    &barrier,
                    duration,
                    &counters,
                    &kinds,
                )
            })
            .context("cannot start a device thread")?;
        handles.push(handle);
    }
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (storage, sampling) = (storage.clone(), sampling.clone());
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while sampling.load(Ordering::Relaxed) {
                if let Ok(n) = storage.mutation_ids() {
                    peak = peak.max(n.saturating_sub(ids_before));
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            peak
        })
    };
    barrier.wait();
    let started = Instant::now();
    let mut latencies_us = Vec::new();
    for h in handles {
        latencies_us.extend(h.join().unwrap_or_default());
    }
    let elapsed = started.elapsed();
    server.stop();
    sampling.store(false, Ordering::Relaxed);
    let ids_end = storage.mutation_ids()?.saturating_sub(ids_before);
    let ids_peak = sampler.join().unwrap_or_default().max(ids_end);
    latencies_us.sort_unstable();
    let error_kinds = std::mem::take(&mut *error_kinds.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(LoadResult {
        backend,
        devices,
        elapsed,
        syncs: counters[0].load(Ordering::Relaxed),
        mutations: counters[1].load(Ordering::Relaxed),
        conflicts: counters[2].load(Ordering::Relaxed),
        errors: counters[3].load(Ordering::Relaxed),
        error_kinds,
        latencies_us,
        ids_peak,
        ids_end,
    })
}

/// One device's closed loop; returns the latency of each completed sync. With `name`,
/// pushes say which device they come from, number each mutation like an outbox (the
/// loop count) and mark everything before it answered (the loop never resends).
fn device_loop(
    device: usize,
    name: Option<&str>,
    transport: &HttpTransport,
    barrier: &Barrier,
    duration: Duration,
    counters: &[AtomicU64; 4],
    error_kinds: &Mutex<BTreeMap<String, u64>>,
) -> Vec<u64> {
    let record_error = |e: &accord::transport::TransportError| {
        let kind = match e.status {
            Some(s) => format!("HTTP {s}"),
            None => e.message.chars().take(60).collect(),
        };
        *error_kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(kind)
            .or_default() += 1;
    };
    let [syncs, mutations, conflicts, errors] = counters;
    let mut latencies = Vec::new();
    let mut cursor = 0i64;
    // Versions of this device's own records, as last seen.
    let mut own: Vec<i64> = Vec::new();
    let mut n = 0u64;
    barrier.wait();
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        n += 1;
        let started = Instant::now();
        let pulled = (|| loop {
            let page = transport.changes(cursor, 500, false)?;
            cursor = page.next;
            if !page.more || page.changes.is_empty() {
                return Ok::<_, accord::transport::TransportError>(());
            }
        })();
        if let Err(e) = pulled {
            record_error(&e);
            errors.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        // Every fourth sync edits an own record; the others create one.
        let (id, base) = match n
            .is_multiple_of(4)
            .then(|| own.len().checked_sub(1))
            .flatten()
        {
            Some(i) => (i, own[i]),
            None => (own.len(), 0),
        };
        let mutation = Mutation {
            mutation_id: format!("d{device}-m{n}-{}", started.elapsed().as_nanos()),
            collection: "notes".into(),
            id: format!("d{device}-r{id}"),
            base_version: base,
            data: Some(
                json!({"title": format!("note {id}"), "body": format!("device {device} edit {n}\n")}),
            ),
            deleted: false,
            hlc: String::new(),
            outbox_seq: name.map(|_| n as i64),
        };
        match transport.push(&MutationBatch {
            mutations: vec![mutation],
            device: name.map(str::to_string),
            answered_below: name.map(|_| n as i64),
        }) {
            Ok(answer) => {
                for r in answer.results {
                    match r {
                        MutationResult::Applied { version, .. } => {
                            mutations.fetch_add(1, Ordering::Relaxed);
                            if id == own.len() {
                                own.push(version);
                            } else {
                                own[id] = version;
                            }
                        }
                        MutationResult::Conflict { current, .. } => {
                            conflicts.fetch_add(1, Ordering::Relaxed);
                            if id < own.len() {
                                own[id] = current.version;
                            }
                        }
                    }
                }
                syncs.fetch_add(1, Ordering::Relaxed);
                latencies.push(started.elapsed().as_micros() as u64);
            }
            Err(e) => {
                record_error(&e);
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    latencies
}
