//! The UniFFI surface over the Accord core, for Kotlin (and any other UniFFI language).
//!
//! One object, [`Accord`], wraps the core's [`accord::Accord`]. Every call is blocking
//! and coarse: a call across the boundary costs 5-30 µs of CPU, so records travel
//! in batches ([`Accord::put_many`], [`Accord::list`]) as JSON text, and the Kotlin layer
//! runs the calls on `Dispatchers.IO`. Errors are the small public [`AccordError`],
//! mapped once from the core's error in `error.rs`.
//!
//! Besides the object: a [`CredentialsProvider`] the app can open it with, so a token
//! is renewed without reopening (`credentials.rs`), and a process-wide
//! [`DiagnosticsSink`] for the engine's own log lines (`diagnostics.rs`).

mod config;
mod credentials;
mod diagnostics;
mod error;
mod types;

use std::sync::{Arc, Mutex};

pub use config::{AccordConfig, CollectionConfig, FieldPolicy, ServerConfig, SyncSettings};
pub use credentials::{CredentialsError, CredentialsProvider};
pub use diagnostics::{
    install_diagnostics_sink, remove_diagnostics_sink, DiagnosticLevel, DiagnosticsSink,
};
pub use error::{AccordError, CallbackError, Result};
pub use types::{
    AccordRecord, ChangeEvent, ChangeOrigin, Conflict, ConflictResolution, FieldFilter, FilterOp,
    LogLine, MergeNote, QuarantinedWrite, RecordData, RecordQuery, SyncOutcome, SyncPhase,
    SyncProgress, SyncReport,
};

use types::parse_json;

uniffi::setup_scaffolding!();

/// Told about every committed change to the collections it watches, local or synced.
///
/// Called on the thread that made the change (a writer, or the sync), after the commit
/// and with no lock held. Return quickly (hand the event to a queue or channel) and do
/// not start a sync from here: the sync in progress is waiting for the call to return.
#[uniffi::export(callback_interface)]
pub trait ChangeObserver: Send + Sync {
    /// Records of one collection changed.
    fn on_change(&self, event: ChangeEvent) -> Result<(), CallbackError>;
}

/// Told how a running sync advances.
#[uniffi::export(callback_interface)]
pub trait SyncProgressListener: Send + Sync {
    /// The sync reached `progress`.
    fn on_progress(&self, progress: SyncProgress) -> Result<(), CallbackError>;
}

/// What happened when the store was opened.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OpenReport {
    /// Schema version the file had before (0 for a new file).
    pub migrated_from: i64,
    /// Schema version now.
    pub schema_version: i64,
    /// Where a corrupt file was moved before a new one was made. The old file is kept:
    /// it may hold edits that never reached the server.
    pub moved_aside: Option<String>,
}

/// The version of the Accord library.
#[uniffi::export]
pub fn accord_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// An open Accord store: records, observation, sync, conflicts and logs.
///
/// Safe to use from several threads at once; writes are serialised and one sync runs
/// at a time. Call [`Accord::shutdown`] when done (safe to call twice).
#[derive(uniffi::Object)]
pub struct Accord {
    inner: accord::Accord,
    /// Observers registered through this object, removed at shutdown so foreign
    /// callbacks are released even while Kotlin still holds the object.
    observers: Mutex<Vec<u64>>,
}

impl std::fmt::Debug for Accord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

#[uniffi::export]
impl Accord {
    /// Opens (creating and migrating as needed) the store at `config.path`. A corrupt
    /// file is moved aside (see [`Accord::open_report`]); a file from a newer version is
    /// refused with `SchemaTooNew`.
    #[uniffi::constructor]
    pub fn open(config: AccordConfig) -> Result<Arc<Self>> {
        Self::wrap(config.try_into()?)
    }

    /// [`Accord::open`], authenticating every sync with a token from `credentials`
    /// (asked before each sync, and again once after the server refuses it) instead of
    /// `config.server.token`, which must then be left empty. Needs `config.server`.
    #[uniffi::constructor]
    pub fn open_with_credentials(
        config: AccordConfig,
        credentials: Box<dyn CredentialsProvider>,
    ) -> Result<Arc<Self>> {
        match &config.server {
            None => {
                return Err(AccordError::invalid(
                    "a credentials provider needs config.server (the URL and space to sync)",
                ))
            }
            Some(s) if !s.token.is_empty() => {
                return Err(AccordError::invalid(
                    "give config.server.token or a credentials provider, not both",
                ))
            }
            Some(_) => {}
        }
        let mut core: accord::Config = config.try_into()?;
        if let Some(server) = core.server.as_mut() {
            server.credentials = accord::transport::Credentials::Provider(Arc::new(
                credentials::ForeignTokens(credentials),
            ));
        }
        Self::wrap(core)
    }

    /// What happened when the store was opened.
    pub fn open_report(&self) -> OpenReport {
        let r = self.inner.open_report();
        OpenReport {
            migrated_from: r.migrated_from,
            schema_version: r.schema_version,
            moved_aside: r
                .moved_aside
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        }
    }

    /// This device's id (made on first open).
    pub fn device_id(&self) -> String {
        self.inner.device_id().to_string()
    }

    /// Creates or replaces one record; `json` must be a JSON object.
    pub fn put(&self, collection: String, id: String, json: String) -> Result<()> {
        let data = parse_json(&format!("record '{id}'"), &json)?;
        Ok(self.inner.put(&collection, &id, data)?)
    }

    /// Creates or replaces many records in one transaction and one call: use this for
    /// more than a handful of records.
    pub fn put_many(&self, collection: String, records: Vec<RecordData>) -> Result<()> {
        let records = records
            .into_iter()
            .map(|r| {
                let data = parse_json(&format!("record '{}'", r.id), &r.json)?;
                Ok((r.id, data))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self.inner.put_many(&collection, records)?)
    }

    /// A live record, or `null`.
    pub fn get(&self, collection: String, id: String) -> Result<Option<AccordRecord>> {
        Ok(self.inner.get(&collection, &id)?.map(AccordRecord::from))
    }

    /// Deletes a record (a tombstone that syncs). Returns false when there was nothing
    /// to delete.
    pub fn delete(&self, collection: String, id: String) -> Result<bool> {
        Ok(self.inner.delete(&collection, &id)?)
    }

    /// Every live record of a collection, ordered by id.
    pub fn list(&self, collection: String) -> Result<Vec<AccordRecord>> {
        Ok(self
            .inner
            .list(&collection)?
            .into_iter()
            .map(AccordRecord::from)
            .collect())
    }

    /// Live records matching `query`.
    pub fn query(&self, query: RecordQuery) -> Result<Vec<AccordRecord>> {
        Ok(self
            .inner
            .query(&query.try_into()?)?
            .into_iter()
            .map(AccordRecord::from)
            .collect())
    }

    /// Creates (if missing) an index on `field` (dot-separated path) of `collection`:
    /// queries that filter on it or order by it then read the index, not every record of
    /// the collection. Worth it for a field queried often in a collection of more than a
    /// few hundred records; each write updates the index too.
    pub fn create_index(&self, collection: String, field: String) -> Result<()> {
        Ok(self.inner.create_index(&collection, &field)?)
    }

    /// Calls `observer` after every committed change to `collection` (every collection
    /// when `null`), local or synced. Returns an id for [`Accord::unobserve`].
    pub fn observe(&self, collection: Option<String>, observer: Box<dyn ChangeObserver>) -> i64 {
        let observer: Arc<dyn ChangeObserver> = Arc::from(observer);
        let id = self.inner.observe(
            collection.as_deref(),
            Arc::new(move |event: &accord::ChangeEvent| {
                // The change is committed whatever the observer says; a failing observer
                // must not fail the write or the sync that made it.
                let _ = observer.on_change(event.into());
            }),
        );
        lock(&self.observers).push(id);
        i64::try_from(id).unwrap_or(i64::MAX)
    }

    /// Stops an observer. Returns false if it was not registered.
    pub fn unobserve(&self, observer_id: i64) -> bool {
        let Ok(id) = u64::try_from(observer_id) else {
            return false;
        };
        lock(&self.observers).retain(|o| *o != id);
        self.inner.unobserve(id)
    }

    /// Runs one sync pass and says how it ended. Never throws: every way a sync can
    /// end, including no server configured or a closed instance, is in the report.
    pub fn sync(&self) -> SyncReport {
        self.inner.sync().into()
    }

    /// [`Accord::sync`], telling `listener` how it advances.
    pub fn sync_with_progress(&self, listener: Box<dyn SyncProgressListener>) -> SyncReport {
        let listener: Arc<dyn SyncProgressListener> = Arc::from(listener);
        self.inner
            .sync_with_progress(Some(Arc::new(move |p: &accord::sync::SyncProgress| {
                // Progress is advisory; a listener that fails does not stop the sync.
                let _ = listener.on_progress(p.into());
            })))
            .into()
    }

    /// Stops a sync running now, at its next step (it ends `Cancelled`, nothing
    /// half-done). Safe to call from any thread; a later sync runs normally.
    pub fn interrupt(&self) {
        self.inner.interrupt();
    }

    /// Mutations waiting for the server.
    pub fn pending_mutations(&self) -> Result<i64> {
        Ok(self.inner.pending_mutations()?)
    }

    /// Logged merges, newest first; only those not yet resolved when `open_only`.
    pub fn conflicts(&self, open_only: bool) -> Result<Vec<Conflict>> {
        Ok(self
            .inner
            .conflicts(open_only)?
            .into_iter()
            .map(Conflict::from)
            .collect())
    }

    /// Settles a logged merge and marks it reviewed.
    pub fn resolve_conflict(&self, conflict_id: i64, resolution: ConflictResolution) -> Result<()> {
        Ok(self
            .inner
            .resolve_conflict(conflict_id, resolution.try_into()?)?)
    }

    /// Captures one log line (buffered; summarised and uploaded at sync).
    pub fn log(&self, level: String, tag: String, message: String) -> Result<()> {
        Ok(self.inner.log(&level, &tag, &message)?)
    }

    /// Captures many log lines in one call.
    pub fn log_many(&self, lines: Vec<LogLine>) -> Result<()> {
        for l in lines {
            self.inner.log(&l.level, &l.tag, &l.message)?;
        }
        Ok(())
    }

    /// Writes buffered log lines to the store now.
    pub fn flush_logs(&self) -> Result<()> {
        Ok(self.inner.flush_logs()?)
    }

    /// Stops any running sync, flushes logs, releases observers and refuses further
    /// calls with `Closed`. Safe to call more than once.
    pub fn shutdown(&self) -> Result<()> {
        let ids = std::mem::take(&mut *lock(&self.observers));
        for id in ids {
            self.inner.unobserve(id);
        }
        Ok(self.inner.shutdown()?)
    }
}

impl Accord {
    fn wrap(config: accord::Config) -> Result<Arc<Self>> {
        Ok(Arc::new(Accord {
            inner: accord::Accord::open(config)?,
            observers: Mutex::new(Vec::new()),
        }))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A list of ids cannot be left inconsistent by a panic.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn open(dir: &tempfile::TempDir) -> Arc<Accord> {
        let config = AccordConfig {
            path: dir.path().join("t.db").to_string_lossy().into_owned(),
            server: None,
            collections: vec![],
            sync: None,
            model_path: None,
        };
        Accord::open(config).expect("open a new store")
    }

    struct Counting(Arc<AtomicUsize>);

    impl ChangeObserver for Counting {
        fn on_change(&self, event: ChangeEvent) -> Result<(), CallbackError> {
            self.0.fetch_add(event.ids.len(), Ordering::SeqCst);
            Ok(())
        }
    }

    struct Failing;

    impl ChangeObserver for Failing {
        fn on_change(&self, _: ChangeEvent) -> Result<(), CallbackError> {
            Err(CallbackError::Failed {
                reason: "observer broke".into(),
            })
        }
    }

    #[test]
    fn batched_records_round_trip_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let accord = open(&dir);
        let records = (0..3)
            .map(|i| RecordData {
                id: format!("n{i}"),
                json: format!(r#"{{"title":"Note {i}"}}"#),
            })
            .collect();
        accord.put_many("notes".into(), records).unwrap();
        let listed = accord.list("notes".into()).unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[1].json, r#"{"title":"Note 1"}"#);
        assert!(listed.iter().all(|r| r.pending && r.version == 0));
        assert_eq!(accord.pending_mutations().unwrap(), 3);
    }

    #[test]
    fn bad_input_is_invalid_input_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let accord = open(&dir);
        let err = accord
            .put("notes".into(), "n1".into(), "{oops".into())
            .unwrap_err();
        assert!(matches!(err, AccordError::InvalidInput { .. }), "{err:?}");
        assert!(
            err.to_string().contains("record 'n1' is not valid JSON"),
            "{err}"
        );
        let err = accord
            .put("notes".into(), "n1".into(), "3".into())
            .unwrap_err();
        assert!(
            err.to_string().contains("a record is a JSON object"),
            "{err}"
        );
        let query = RecordQuery {
            collection: "notes".into(),
            filters: vec![],
            order_by: None,
            descending: false,
            limit: Some(-1),
            offset: 0,
        };
        let err = accord.query(query).unwrap_err();
        assert!(err.to_string().contains("limit must be 0 or more"), "{err}");
    }

    #[test]
    fn observers_see_local_writes_and_a_failing_one_does_not_fail_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let accord = open(&dir);
        let seen = Arc::new(AtomicUsize::new(0));
        let id = accord.observe(Some("notes".into()), Box::new(Counting(seen.clone())));
        accord.observe(None, Box::new(Failing));
        accord
            .put("notes".into(), "a".into(), "{}".into())
            .expect("a failing observer does not fail the write");
        accord.put("other".into(), "b".into(), "{}".into()).unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        assert!(accord.unobserve(id));
        assert!(!accord.unobserve(id));
        assert!(!accord.unobserve(-5));
    }

    #[test]
    fn shutdown_twice_is_safe_and_later_calls_say_closed() {
        let dir = tempfile::tempdir().unwrap();
        let accord = Accord::open(AccordConfig {
            path: dir.path().join("t.db").to_string_lossy().into_owned(),
            server: Some(ServerConfig {
                url: "http://127.0.0.1:1".into(),
                token: "acc_x".into(),
                space: "notes".into(),
                trusted_ca_pem: None,
            }),
            collections: vec![],
            sync: None,
            model_path: None,
        })
        .unwrap();
        accord.shutdown().unwrap();
        accord.shutdown().unwrap();
        let err = accord.list("notes".into()).unwrap_err();
        assert!(matches!(err, AccordError::Closed { .. }), "{err:?}");
        match accord.sync().outcome {
            SyncOutcome::Failure { reason } => assert!(reason.contains("closed"), "{reason}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    struct Provider(std::result::Result<&'static str, fn() -> CredentialsError>);

    impl CredentialsProvider for Provider {
        fn token(&self, _refresh: bool) -> Result<String, CredentialsError> {
            self.0.map(String::from).map_err(|e| e())
        }
    }

    fn server_config(dir: &tempfile::TempDir, token: &str) -> AccordConfig {
        AccordConfig {
            path: dir.path().join("t.db").to_string_lossy().into_owned(),
            server: Some(ServerConfig {
                url: "http://127.0.0.1:1".into(),
                token: token.into(),
                space: "notes".into(),
                trusted_ca_pem: None,
            }),
            collections: vec![],
            sync: None,
            model_path: None,
        }
    }

    #[test]
    fn a_credentials_provider_needs_a_server_and_no_token_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = Accord::open_with_credentials(
            server_config(&dir, "acc_x"),
            Box::new(Provider(Ok("t"))),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
        let local = AccordConfig {
            server: None,
            ..server_config(&dir, "")
        };
        let err = Accord::open_with_credentials(local, Box::new(Provider(Ok("t")))).unwrap_err();
        assert!(err.to_string().contains("needs config.server"), "{err}");
    }

    #[test]
    fn a_provider_that_fails_ends_the_sync_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let signed_out = || CredentialsError::Failed {
            reason: "the user signed out".into(),
        };
        let accord = Accord::open_with_credentials(
            server_config(&dir, ""),
            Box::new(Provider(Err(signed_out))),
        )
        .unwrap();
        match accord.sync().outcome {
            SyncOutcome::Failure { reason } => {
                assert!(
                    reason.contains("the credentials provider failed: the user signed out"),
                    "{reason}"
                )
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn config_rejects_what_the_core_cannot_use() {
        let base = AccordConfig {
            path: "x.db".into(),
            server: None,
            collections: vec![],
            sync: None,
            model_path: None,
        };
        let empty = AccordConfig {
            path: "  ".into(),
            ..base.clone()
        };
        assert!(accord::Config::try_from(empty).is_err());
        let negative = AccordConfig {
            sync: Some(SyncSettings {
                retry_budget_ms: Some(-1),
                ..SyncSettings::default()
            }),
            ..base.clone()
        };
        let err = accord::Config::try_from(negative).unwrap_err();
        assert!(err.to_string().contains("retry_budget_ms"), "{err}");
        let tuned = AccordConfig {
            collections: vec![CollectionConfig {
                name: "notes".into(),
                fields: [("likes".to_string(), FieldPolicy::Counter)].into(),
            }],
            sync: Some(SyncSettings {
                page_limit: Some(50),
                retry_budget_ms: Some(250),
                ..SyncSettings::default()
            }),
            ..base
        };
        let config = accord::Config::try_from(tuned).unwrap();
        assert_eq!(config.sync.page_limit, 50);
        assert_eq!(
            config.sync.retry_budget,
            std::time::Duration::from_millis(250)
        );
        assert_eq!(
            config.collections["notes"].policy_for("likes"),
            accord::merge::FieldPolicy::Counter
        );
    }
}
