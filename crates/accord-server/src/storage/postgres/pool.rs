//! The connections of one server process: a bounded pool of sessions (each with its
//! prepared statements) and the writer slots that bound how many of them write at once.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use postgres::{Client, NoTls, Statement};

use super::{Result, StorageError};

/// Connections kept by one server process unless the URL says otherwise
/// (`?pool_size=N` is read by Accord and removed before connecting).
pub const DEFAULT_POOL_SIZE: usize = 16;

/// Read-write transactions one process runs at once, for a pool of `pool_size`.
///
/// Under SERIALIZABLE, PostgreSQL locks the B-tree *pages* a transaction reads, so two
/// pushes to different spaces whose keys share a leaf page (the newest spaces' keys sit
/// side by side) can be reported as a conflict, and the more writers are in flight the
/// more of them collide; each retry is one more writer in flight. Measured at 1,000
/// devices (`accord bench load`, pool of 32): 8 writers, 1.2% of push attempts failed and
/// 1,021 syncs/s; unbounded, 3.2% and 795 syncs/s. A few writers keep the disk busy
/// (commits that arrive together share an fsync) while readers keep the rest of the pool.
pub(super) fn writer_slots_for(pool_size: usize) -> usize {
    (pool_size / 4).clamp(1, 8)
}

/// A counting semaphore for [`super::PostgresStorage::writers`].
pub(super) struct WriterSlots {
    limit: usize,
    held: Mutex<usize>,
    freed: Condvar,
}

/// One taken slot; dropping it frees the slot.
pub(super) struct WriterSlot<'a>(&'a WriterSlots);

impl WriterSlots {
    pub(super) fn new(limit: usize) -> Self {
        WriterSlots {
            limit: limit.max(1),
            held: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Takes a slot, waiting while all are held.
    pub(super) fn take(&self) -> WriterSlot<'_> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while *held >= self.limit {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held += 1;
        WriterSlot(self)
    }
}

impl Drop for WriterSlot<'_> {
    fn drop(&mut self) {
        let mut held = self.0.held.lock().unwrap_or_else(|p| p.into_inner());
        *held -= 1;
        self.0.freed.notify_one();
    }
}

/// A pooled connection and the statements it has prepared: a cached statement costs one
/// round trip (bind and execute) instead of two (parse, then execute).
pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) statements: HashMap<String, Statement>,
    /// True when `SET LOCAL enable_seqscan` is understood (see
    /// [`super::statements::Tx::index_scans_only`]).
    pub(super) planner_settings: bool,
}

/// A bounded pool: at most `size` connections open; callers wait for a free one.
pub(super) struct ConnectionPool {
    config: postgres::Config,
    size: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

impl ConnectionPool {
    /// A pool of at most `size` connections to the database `config` names; none is
    /// opened until one is needed.
    pub(super) fn new(config: postgres::Config, size: usize) -> Self {
        ConnectionPool {
            config,
            size,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// Takes a connection from the pool, waiting while all `size` are in use.
    pub(super) fn checkout(&self) -> Result<Conn> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            while let Some(conn) = state.idle.pop() {
                if !conn.client.is_closed() {
                    return Ok(conn);
                }
                state.open -= 1;
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                return self.connect().map_err(|e| {
                    let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                    state.open -= 1;
                    self.freed.notify_one();
                    StorageError::Database(format!("cannot connect to PostgreSQL: {e}"))
                });
            }
            state = self.freed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn connect(&self) -> std::result::Result<Conn, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        // Whether this database has PostgreSQL's planner settings (CockroachDB has
        // neither the setting nor the predicate locks it is needed against).
        let planner_settings = match client.batch_execute("SHOW enable_seqscan") {
            Ok(()) => true,
            Err(e) if e.as_db_error().is_some() => false,
            Err(e) => return Err(e),
        };
        Ok(Conn {
            client,
            statements: HashMap::new(),
            planner_settings,
        })
    }

    /// Returns a connection; a broken one is closed instead of pooled.
    pub(super) fn checkin(&self, conn: Conn) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if conn.client.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push(conn);
        }
        self.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_keeps_most_connections_for_readers() {
        assert_eq!(writer_slots_for(1), 1);
        assert_eq!(writer_slots_for(16), 4);
        assert_eq!(writer_slots_for(32), 8);
        assert_eq!(writer_slots_for(300), 8);
    }
}
