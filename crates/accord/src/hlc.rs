//! Hybrid logical clock: orders writes across devices without trusting their wall clocks.
//!
//! A timestamp is (physical milliseconds, logical counter, node id). A device's clock
//! never goes backwards: every local write takes `max(now, last) + ε`, and every
//! timestamp seen from another device moves the clock past it. So a write made after a
//! device has seen another write always orders after it, even when the device's wall
//! clock is behind. The string form sorts in the same order as the timestamps.

use std::cmp::Ordering;
use std::fmt;

/// One hybrid logical clock reading.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (physical part).
    pub millis: u64,
    /// Logical counter within one millisecond.
    pub counter: u32,
    /// Device id: breaks ties between devices deterministically.
    pub node: String,
}

impl Hlc {
    /// The zero timestamp of a node: orders before every real write.
    pub fn zero(node: &str) -> Self {
        Hlc {
            millis: 0,
            counter: 0,
            node: node.to_string(),
        }
    }

    /// Parses the string form `MMMMMMMMMMMMMMM-CCCCC-node`. Returns `None` for anything
    /// else (an empty or foreign clock orders as zero in [`compare_hlc_str`]).
    pub fn parse(s: &str) -> Option<Hlc> {
        let mut parts = s.splitn(3, '-');
        let millis = parts.next()?.parse().ok()?;
        let counter = parts.next()?.parse().ok()?;
        let node = parts.next()?.to_string();
        Some(Hlc {
            millis,
            counter,
            node,
        })
    }

    /// The next timestamp for a local write on `node`, after `last`.
    pub fn tick(last: &Hlc, node: &str) -> Hlc {
        Self::tick_at(last, node, wall_millis())
    }

    /// [`tick`](Self::tick) with an explicit wall clock (for tests).
    pub fn tick_at(last: &Hlc, node: &str, now: u64) -> Hlc {
        let mut next = Hlc {
            millis: last.millis,
            counter: last.counter,
            node: node.to_string(),
        };
        next.advance_at(now);
        next
    }

    /// Moves this clock, in place, to the next timestamp for a local write of its node
    /// (what [`tick_at`](Self::tick_at) returns, without a new node string).
    pub fn advance_at(&mut self, now: u64) {
        if now > self.millis {
            self.millis = now;
            self.counter = 0;
        } else {
            self.counter = self.counter.saturating_add(1);
        }
    }

    /// Moves the local clock past a timestamp received from another device.
    pub fn observe(last: &Hlc, remote: &Hlc, node: &str) -> Hlc {
        Self::observe_at(last, remote, node, wall_millis())
    }

    /// [`observe`](Self::observe) with an explicit wall clock (for tests).
    pub fn observe_at(last: &Hlc, remote: &Hlc, node: &str, now: u64) -> Hlc {
        let millis = now.max(last.millis).max(remote.millis);
        let counter = if millis == last.millis && millis == remote.millis {
            last.counter.max(remote.counter).saturating_add(1)
        } else if millis == last.millis {
            last.counter.saturating_add(1)
        } else if millis == remote.millis {
            remote.counter.saturating_add(1)
        } else {
            0
        };
        Hlc {
            millis,
            counter,
            node: node.to_string(),
        }
    }
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.millis, self.counter, &self.node).cmp(&(other.millis, other.counter, &other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Hlc {
    /// `MMMMMMMMMMMMMMM-CCCCC-node`: zero-padded to 15 and 5 digits (wider when the
    /// number is). Written by hand: every local write formats one, and the padded
    /// `write!` was 4% of a `put_many`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [b'0'; 21];
        if !padded(&mut text[..15], self.millis) || !padded(&mut text[16..], self.counter.into()) {
            return write!(f, "{:015}-{:05}-{}", self.millis, self.counter, self.node);
        }
        text[15] = b'-';
        // Only ASCII digits and '-' were written.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)?;
        f.write_str("-")?;
        f.write_str(&self.node)
    }
}

/// Writes `n` right-aligned into `out` (which holds zeros). False when it does not fit.
fn padded(out: &mut [u8], mut n: u64) -> bool {
    for d in out.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    n == 0
}

/// Orders two clock strings; unparsable ones order as zero, ties broken by the text.
pub fn compare_hlc_str(a: &str, b: &str) -> Ordering {
    match (Hlc::parse(a), Hlc::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

/// Milliseconds since the Unix epoch by the wall clock (0 if the clock is before 1970):
/// [`accord_protocol::now_ms`], unsigned as the clock's fields are.
pub fn wall_millis() -> u64 {
    u64::try_from(accord_protocol::now_ms()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_form_round_trips_and_sorts_like_the_clock() {
        let a = Hlc {
            millis: 5,
            counter: 2,
            node: "dev-a".into(),
        };
        let b = Hlc {
            millis: 12,
            counter: 0,
            node: "dev-a".into(),
        };
        assert_eq!(Hlc::parse(&a.to_string()), Some(a.clone()));
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert_eq!(
            compare_hlc_str(&a.to_string(), &b.to_string()),
            Ordering::Less
        );
    }

    #[test]
    fn string_form_is_zero_padded_and_widens_for_large_numbers() {
        for (millis, counter) in [
            (0, 0),
            (1_765_000_000_123, 7),
            (999_999_999_999_999, 99_999),
            (1_000_000_000_000_000, 100_000),
            (u64::MAX, u32::MAX),
        ] {
            let h = Hlc {
                millis,
                counter,
                node: "dev-a".into(),
            };
            assert_eq!(
                h.to_string(),
                format!("{millis:015}-{counter:05}-dev-a"),
                "{millis} {counter}"
            );
        }
    }

    #[test]
    fn clock_never_goes_backwards_when_the_wall_clock_does() {
        let last = Hlc {
            millis: 1_000,
            counter: 3,
            node: "a".into(),
        };
        let next = Hlc::tick_at(&last, "a", 500);
        assert!(next > last);
    }

    #[test]
    fn write_after_seeing_a_remote_write_orders_after_it_despite_a_slow_clock() {
        let local = Hlc::zero("slow");
        let remote = Hlc {
            millis: 9_000,
            counter: 0,
            node: "fast".into(),
        };
        let seen = Hlc::observe_at(&local, &remote, "slow", 100);
        let write = Hlc::tick_at(&seen, "slow", 100);
        assert!(write > remote);
    }
}
