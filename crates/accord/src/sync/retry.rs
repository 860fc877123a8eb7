//! Retrying transient failures with exponential backoff and jitter, inside a time budget.

use std::time::{Duration, Instant};

use crate::interrupt::InterruptHandle;
use crate::transport::{ErrorClass, TransportError};

/// Why a sync pass stopped before finishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A transient problem outlasted the retry budget: try the whole sync again later.
    Retry(String),
    /// A problem retrying will not fix (credentials, grant, protocol).
    Failure(String),
    /// Interrupted between steps.
    Cancelled,
}

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub base: Duration,
    /// Longest delay between two attempts.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// Delay before retry number `attempt` (0-based): exponential, capped, with "equal
    /// jitter" (half fixed, half random) so many devices that failed together do not
    /// come back together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.cap);
        let half = exp / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// Runs requests, retrying transient failures until the deadline.
pub(crate) struct Retrier<'a> {
    backoff: Backoff,
    deadline: Instant,
    interrupt: &'a InterruptHandle,
    /// Retries made so far (all requests).
    pub retries: u32,
}

impl<'a> Retrier<'a> {
    pub(crate) fn new(backoff: Backoff, budget: Duration, interrupt: &'a InterruptHandle) -> Self {
        Retrier {
            backoff,
            deadline: Instant::now() + budget,
            interrupt,
            retries: 0,
        }
    }

    /// Stops with `Cancelled` if the interrupt flag is set.
    pub(crate) fn check_interrupt(&self) -> Result<(), Stop> {
        if self.interrupt.is_interrupted() {
            Err(Stop::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Runs `op` until it succeeds, fails for good, or the budget is spent.
    pub(crate) fn run<T>(
        &mut self,
        what: &str,
        mut op: impl FnMut() -> Result<T, TransportError>,
    ) -> Result<T, Stop> {
        let mut attempt = 0u32;
        loop {
            self.check_interrupt()?;
            let err = match op() {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            match err.class {
                ErrorClass::Auth => {
                    return Err(Stop::Failure(format!(
                        "{what}: the server refused access ({err}); check the token and the space grant"
                    )))
                }
                ErrorClass::Protocol | ErrorClass::Credentials => {
                    return Err(Stop::Failure(format!("{what}: {err}")))
                }
                ErrorClass::Transient => {}
            }
            let mut delay = self.backoff.delay(attempt);
            if let Some(asked) = err.retry_after {
                delay = delay.max(asked);
            }
            if Instant::now() + delay > self.deadline {
                return Err(Stop::Retry(format!(
                    "{what}: {err} (gave up after {} attempts; the sync should be retried later)",
                    attempt + 1
                )));
            }
            log::info!(
                target: "accord::sync",
                "{what}: {err}; retrying in {} ms",
                delay.as_millis()
            );
            self.sleep(delay)?;
            attempt += 1;
            self.retries += 1;
        }
    }

    /// Sleeps in short slices so an interrupt is honoured quickly.
    fn sleep(&self, total: Duration) -> Result<(), Stop> {
        let end = Instant::now() + total;
        while Instant::now() < end {
            self.check_interrupt()?;
            let left = end.saturating_duration_since(Instant::now());
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        self.check_interrupt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        for attempt in 0..20 {
            let d = b.delay(attempt);
            let full = (Duration::from_millis(100) * 2u32.pow(attempt.min(10)))
                .min(Duration::from_secs(1));
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn transient_errors_are_retried_then_reported_as_retry() {
        let flag = InterruptHandle::new();
        let backoff = Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        };
        let mut r = Retrier::new(backoff, Duration::from_millis(50), &flag);
        let mut calls = 0;
        let out: Result<(), Stop> = r.run("pull", || {
            calls += 1;
            Err(TransportError::transient("connection refused"))
        });
        assert!(matches!(out, Err(Stop::Retry(ref m)) if m.contains("connection refused")));
        assert!(calls > 1);
    }

    #[test]
    fn transient_error_then_success_succeeds() {
        let flag = InterruptHandle::new();
        let mut r = Retrier::new(Backoff::default(), Duration::from_secs(5), &flag);
        let mut calls = 0;
        let out = r.run("pull", || {
            calls += 1;
            if calls < 2 {
                Err(TransportError::transient("reset"))
            } else {
                Ok(7)
            }
        });
        assert_eq!(out, Ok(7));
        assert_eq!(r.retries, 1);
    }

    #[test]
    fn auth_errors_fail_at_once() {
        let flag = InterruptHandle::new();
        let mut r = Retrier::new(Backoff::default(), Duration::from_secs(5), &flag);
        let mut calls = 0;
        let out: Result<(), Stop> = r.run("pull", || {
            calls += 1;
            Err(TransportError {
                class: ErrorClass::Auth,
                status: Some(401),
                message: "unknown token".into(),
                retry_after: None,
            })
        });
        assert!(matches!(out, Err(Stop::Failure(_))));
        assert_eq!(calls, 1);
    }

    #[test]
    fn interrupt_stops_a_backoff_sleep() {
        let flag = InterruptHandle::new();
        let mut r = Retrier::new(Backoff::default(), Duration::from_secs(60), &flag);
        let out: Result<(), Stop> = r.run("pull", || {
            flag.interrupt();
            Err(TransportError {
                class: ErrorClass::Transient,
                status: Some(429),
                message: "slow down".into(),
                retry_after: Some(Duration::from_secs(30)),
            })
        });
        assert_eq!(out, Err(Stop::Cancelled));
    }
}
