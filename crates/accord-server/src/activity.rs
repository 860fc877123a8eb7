//! Counting sync activity without slowing the sync path: requests add to counters in
//! memory (a lock and a map entry), and a background task writes them to storage every
//! [`FLUSH_EVERY`], in one transaction, and once more at shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::storage::{ActivityCounts, ActivityKey, Storage};

/// How often counted activity is written to storage.
pub const FLUSH_EVERY: Duration = Duration::from_secs(10);

/// Activity counted since the last flush.
#[derive(Debug, Default)]
pub struct ActivityRecorder {
    pending: Mutex<HashMap<ActivityKey, ActivityCounts>>,
}

impl ActivityRecorder {
    /// Adds `counts` under `key` (whose `hour_ms` is the hour of `counts.last_ms`).
    pub fn add(&self, key: ActivityKey, counts: ActivityCounts) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .add(&counts);
    }

    /// Writes what was counted to `storage`. On failure the counts are kept for the next
    /// flush, so a storage hiccup loses none.
    pub fn flush(&self, storage: &dyn Storage) -> crate::storage::Result<()> {
        let taken: Vec<(ActivityKey, ActivityCounts)> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .collect();
        if let Err(e) = storage.record_activity(&taken) {
            for (k, c) in taken {
                self.add(k, c);
            }
            return Err(e);
        }
        Ok(())
    }

    /// [`ActivityRecorder::flush`] on tokio's blocking pool; failures are logged (the
    /// counts wait for the next flush).
    pub async fn flush_in_background(self: &Arc<Self>, storage: Arc<dyn Storage>) {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || me.flush(storage.as_ref())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("cannot record sync activity yet: {e}"),
            Err(e) => tracing::warn!("activity flush failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStorage;

    fn key(device: &str, hour_ms: i64) -> ActivityKey {
        ActivityKey {
            space_id: 1,
            user_id: 1,
            token: "abc".into(),
            device: device.into(),
            hour_ms,
        }
    }

    #[test]
    fn counts_add_up_in_memory_and_in_storage() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("s.db")).unwrap();
        storage.add_space("notes").unwrap();
        storage.add_user("alice", "hash").unwrap();
        let recorder = ActivityRecorder::default();
        let pull = ActivityCounts {
            pulls: 1,
            records_pulled: 500,
            last_ms: 10,
            ..ActivityCounts::default()
        };
        recorder.add(key("phone", 0), pull);
        recorder.add(key("phone", 0), pull);
        recorder.add(
            key("tablet", 0),
            ActivityCounts {
                conflicts: 2,
                last_ms: 5,
                ..pull
            },
        );
        recorder.flush(&storage).unwrap();
        // A second flush adds to the stored row rather than replacing it.
        recorder.add(key("phone", 0), ActivityCounts { last_ms: 7, ..pull });
        recorder.flush(&storage).unwrap();
        let rows = storage.activity(0).unwrap();
        assert_eq!(rows.len(), 2);
        let phone = &rows[0];
        assert_eq!(
            (
                phone.space.as_str(),
                phone.user.as_str(),
                phone.device.as_str()
            ),
            ("notes", "alice", "phone")
        );
        assert_eq!(
            (
                phone.counts.pulls,
                phone.counts.records_pulled,
                phone.counts.last_ms
            ),
            (3, 1500, 10)
        );
        assert_eq!(rows[1].counts.conflicts, 2);
        assert!(storage
            .activity(ActivityKey::hour_of(3_600_001))
            .unwrap()
            .is_empty());
    }
}
