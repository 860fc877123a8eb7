//! Counters served at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    request_micros: AtomicU64,
    /// Mutations applied.
    pub mutations_applied: AtomicU64,
    /// Mutations answered with a conflict.
    pub mutations_conflicted: AtomicU64,
    /// Records served by the change feed.
    pub changes_served: AtomicU64,
    /// Log reports stored.
    pub log_reports: AtomicU64,
    /// Requests refused for a missing, unknown or revoked token.
    pub auth_failures: AtomicU64,
    /// Requests refused by the per-token rate limit (429).
    pub rate_limited: AtomicU64,
    /// Mutation ids forgotten by the retention window (ids a device acknowledged are
    /// forgotten inside its push and not counted here).
    pub mutation_ids_forgotten: AtomicU64,
}

impl Metrics {
    /// Counts one request of `route` answered with `status` after `micros`.
    pub fn request(&self, route: &str, status: u16, micros: u64) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((route.to_string(), status))
            .or_default() += 1;
        self.request_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP accord_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE accord_http_requests_total counter");
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "accord_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let counters: [(&str, &str, &AtomicU64); 8] = [
            (
                "accord_http_request_seconds_sum",
                "Total time spent answering requests.",
                &self.request_micros,
            ),
            (
                "accord_mutations_applied_total",
                "Mutations applied.",
                &self.mutations_applied,
            ),
            (
                "accord_mutations_conflicted_total",
                "Mutations answered with a conflict.",
                &self.mutations_conflicted,
            ),
            (
                "accord_changes_served_total",
                "Records served by the change feed.",
                &self.changes_served,
            ),
            (
                "accord_log_reports_total",
                "Log reports stored.",
                &self.log_reports,
            ),
            (
                "accord_auth_failures_total",
                "Requests refused for a bad token.",
                &self.auth_failures,
            ),
            (
                "accord_rate_limited_total",
                "Requests refused by the per-token rate limit.",
                &self.rate_limited,
            ),
            (
                "accord_mutation_ids_forgotten_total",
                "Mutation ids forgotten by the retention window.",
                &self.mutation_ids_forgotten,
            ),
        ];
        for (name, help, value) in counters {
            let v = value.load(Ordering::Relaxed);
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            if name.ends_with("_seconds_sum") {
                let _ = writeln!(out, "{name} {}", v as f64 / 1e6);
            } else {
                let _ = writeln!(out, "{name} {v}");
            }
        }
        out
    }
}
