//! Per-token rate limiting: a token bucket for each bearer token, kept in memory by each
//! server process.
//!
//! Buckets are keyed by the token's hash (the secret itself is never kept). With several
//! servers behind a load balancer each process limits on its own, so the effective limit
//! is the per-process one times the number of processes a token's requests reach.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many requests a token may make: `burst` at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Steady rate, requests per second.
    pub per_second: f64,
    /// Requests allowed in a burst (the bucket's size).
    pub burst: u32,
}

impl Default for RateLimit {
    /// Generous for a device (a sync pass is a handful of requests), tight enough that a
    /// runaway client or a token-guessing loop cannot monopolise the server.
    fn default() -> Self {
        RateLimit {
            per_second: 50.0,
            burst: 200,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets above this count are pruned of the full ones (idle tokens), so memory stays
/// bounded whatever tokens clients send.
const PRUNE_ABOVE: usize = 100_000;

/// The buckets of every token seen.
#[derive(Debug)]
pub struct TokenBuckets {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl TokenBuckets {
    /// Buckets that enforce `limit`.
    pub fn new(limit: RateLimit) -> Self {
        TokenBuckets {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the bucket of `key`; when it is empty, returns how long to
    /// wait before the next request would be allowed (for `Retry-After`).
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(1e-6);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let refill = now.saturating_duration_since(bucket.updated).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_requests_wait_for_the_refill() {
        let b = TokenBuckets::new(RateLimit {
            per_second: 10.0,
            burst: 3,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.take("a", t0), Ok(()));
        }
        let wait = b.take("a", t0).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100));
        // Another token has its own bucket.
        assert_eq!(b.take("b", t0), Ok(()));
        // After the wait, one more request goes through.
        assert_eq!(b.take("a", t0 + Duration::from_millis(100)), Ok(()));
        assert!(b.take("a", t0 + Duration::from_millis(100)).is_err());
    }
}
