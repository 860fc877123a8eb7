//! The retry runner: every transaction runs `SERIALIZABLE` and is run again, whole, when
//! the database reports a serialization failure or a deadlock, with jittered backoff,
//! until [`RETRY_BUDGET`] is spent; then the call answers "busy".

use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::IsolationLevel;

use super::pool::{Conn, ConnectionPool, WriterSlots};
use super::statements::Tx;
use super::{Result, StorageError};

/// How long one call keeps retrying serialization failures before it answers "busy"
/// (503 with Retry-After). A time budget rather than a count: what the caller feels is
/// the wait, and under load a count of short attempts ran out in well under a second.
const RETRY_BUDGET: Duration = Duration::from_secs(5);

/// The backoff window doubles from this after each failure ("full jitter": the pause is
/// uniform in the window, so transactions that collided do not collide again in step)...
const BACKOFF_FIRST: Duration = Duration::from_millis(2);
/// ...up to this.
const BACKOFF_CAP: Duration = Duration::from_millis(100);

/// Whether a transaction writes. Reads run `READ ONLY`: PostgreSQL then knows they
/// cannot be the middle of a dangerous structure, cancels far fewer transactions around
/// them, and drops their predicate locks early once their snapshot is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Read,
    Write,
}

/// A failure inside a transaction: either the database's (maybe retryable) or ours.
pub(super) enum TxFailure {
    Db(postgres::Error),
    Storage(StorageError),
    /// Roll back and run again at once: the closure learned something that changes what
    /// it does (it must not return this twice in a row).
    Replay,
}

impl From<postgres::Error> for TxFailure {
    fn from(e: postgres::Error) -> Self {
        TxFailure::Db(e)
    }
}

impl From<StorageError> for TxFailure {
    fn from(e: StorageError) -> Self {
        TxFailure::Storage(e)
    }
}

pub(super) type TxResult<T> = std::result::Result<T, TxFailure>;

/// True for the errors a serializable database asks the client to retry.
pub(super) fn is_retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

pub(super) fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

pub(super) fn db_error(e: postgres::Error) -> StorageError {
    // The driver's Display hides the server's message behind "db error"; show it.
    match e.as_db_error() {
        Some(db) => StorageError::Database(format!("{} ({})", db.message(), db.code().code())),
        None => StorageError::Database(e.to_string()),
    }
}

/// Runs `f` in one serializable transaction on a connection of `pool` (read-only for
/// [`Mode::Read`]; a write first takes one of `writers`), running it again from the start
/// while `retry` says the database's error is worth another attempt. `name` says which
/// call gave up, in the "busy" message.
pub(super) fn transact<T>(
    pool: &ConnectionPool,
    writers: &WriterSlots,
    name: &str,
    mode: Mode,
    retry: impl Fn(&postgres::Error) -> bool,
    mut f: impl FnMut(&mut Tx<'_>) -> TxResult<T>,
) -> Result<T> {
    // Held across the retries and their pauses: a writer that failed keeps its place
    // instead of queueing behind the writers it collided with.
    let _slot = (mode == Mode::Write).then(|| writers.take());
    let started = Instant::now();
    let mut failures = 0u32;
    loop {
        let mut conn = pool.checkout()?;
        let outcome = run_once(&mut conn, mode, &mut f);
        pool.checkin(conn);
        match outcome {
            Ok(v) => return Ok(v),
            Err(TxFailure::Storage(e)) => return Err(e),
            Err(TxFailure::Replay) => {}
            Err(TxFailure::Db(e)) if retry(&e) => {
                failures += 1;
                let pause = backoff(failures);
                if started.elapsed() + pause > RETRY_BUDGET {
                    return Err(StorageError::Busy(format!(
                        "{name} gave up after {failures} serialization failures in {:.1} s: {}",
                        started.elapsed().as_secs_f64(),
                        db_error(e)
                    )));
                }
                std::thread::sleep(pause);
            }
            Err(TxFailure::Db(e)) => return Err(db_error(e)),
        }
    }
}

/// The pause before the next attempt, after `failures` serialization failures in a row:
/// uniform in a window that doubles from [`BACKOFF_FIRST`] up to [`BACKOFF_CAP`].
fn backoff(failures: u32) -> Duration {
    let window = BACKOFF_FIRST
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_CAP);
    Duration::from_micros(fastrand::u64(0..=window.as_micros() as u64))
}

fn run_once<T>(
    conn: &mut Conn,
    mode: Mode,
    f: &mut impl FnMut(&mut Tx<'_>) -> TxResult<T>,
) -> TxResult<T> {
    let tx = conn
        .client
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .read_only(mode == Mode::Read)
        .start()?;
    let mut tx = Tx {
        tx,
        statements: &mut conn.statements,
        planner_settings: conn.planner_settings,
    };
    let out = f(&mut tx)?;
    tx.tx.commit()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_inside_a_window_that_doubles_up_to_the_cap() {
        for _ in 0..200 {
            assert!(backoff(1) <= BACKOFF_FIRST);
            assert!(backoff(3) <= BACKOFF_FIRST * 4);
            assert!(backoff(u32::MAX) <= BACKOFF_CAP);
        }
    }
}
