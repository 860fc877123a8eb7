//! [`Accord`]: the one object an app holds. It owns the store, runs syncs, captures
//! logs and tells observers what changed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::interrupt::InterruptHandle;
use crate::merge::{
    merge_record, Arbiter, ArbiterOptions, CandidateArbiter, CollectionSchema, MergeContext,
};
use crate::model::ModelFile;
use crate::store::{
    self, ConflictEntry, ConflictResolution, LocalRecord, LogEvent, LogRing, LogRingStats, Meta,
    OpenReport, Query, RecordWrite, Store,
};
use crate::sync::{
    self, ChangeEvent, ChangeOrigin, SyncContext, SyncOptions, SyncOutcome, SyncProgress,
    SyncReport,
};
use crate::transport::{Credentials, HttpTransport, Transport};

/// Where and as whom to sync.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `http://host:port` or `https://...`.
    pub url: String,
    /// The bearer token (from `accord admin add-user`), or a provider that gives one
    /// before each sync and renews it after a 401.
    pub credentials: Credentials,
    /// The space to sync.
    pub space: String,
}

/// Everything [`Accord::open`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The local database file.
    pub path: PathBuf,
    /// The server; `None` for a local-only store (sync then fails with a clear reason).
    pub server: Option<ServerConfig>,
    /// Merge policies per collection; undeclared collections use the defaults.
    pub collections: BTreeMap<String, CollectionSchema>,
    /// Sync tunables.
    pub sync: SyncOptions,
    /// Bounds of the captured-log ring.
    pub log_ring: LogRing,
    /// GGUF model for the merge arbiter and the log summary, loaded on first use (needs
    /// the `model` feature). A file that is missing or cannot be loaded, or a build
    /// without the runtime, never fails a sync: merges fall back (structural choice,
    /// else keep-both) and [`SyncReport::model_error`] says why.
    pub model_path: Option<PathBuf>,
    /// How the arbiter uses the model (time budget per conflict, context).
    pub arbiter: ArbiterOptions,
}

impl Config {
    /// A config for a store at `path` with every default.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Config {
            path: path.into(),
            server: None,
            collections: BTreeMap::new(),
            sync: SyncOptions::default(),
            log_ring: LogRing::default(),
            model_path: None,
            arbiter: ArbiterOptions::default(),
        }
    }

    /// Uses the GGUF model at `path` for overlapping text edits and log summaries.
    pub fn with_model(mut self, path: impl Into<PathBuf>) -> Self {
        self.model_path = Some(path.into());
        self
    }

    /// How the arbiter chooses among clean candidates (structural by default; see
    /// [`crate::merge::Choice`]).
    pub fn with_arbiter_choice(mut self, choice: crate::merge::Choice) -> Self {
        self.arbiter.choice = choice;
        self
    }

    /// Sets the server, authenticating with a fixed token.
    pub fn with_server(self, url: &str, token: &str, space: &str) -> Self {
        self.with_server_credentials(url, Credentials::from(token), space)
    }

    /// Sets the server, authenticating with `credentials` (a fixed token, or a
    /// [`crate::transport::TokenProvider`] that can renew it without reopening).
    pub fn with_server_credentials(
        mut self,
        url: &str,
        credentials: Credentials,
        space: &str,
    ) -> Self {
        self.server = Some(ServerConfig {
            url: url.to_string(),
            credentials,
            space: space.to_string(),
        });
        self
    }

    /// Declares a collection's merge policies.
    pub fn with_collection(mut self, name: &str, schema: CollectionSchema) -> Self {
        self.collections.insert(name.to_string(), schema);
        self
    }
}

/// A live record as an app sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Fields.
    pub data: Value,
    /// True while local changes wait to be pushed.
    pub pending: bool,
    /// Server version it builds on (0: never synced).
    pub version: i64,
}

impl Record {
    fn from_local(r: LocalRecord) -> Option<Record> {
        if r.deleted {
            return None;
        }
        Some(Record {
            collection: r.collection,
            id: r.id,
            data: r.data.unwrap_or(Value::Null),
            pending: r.dirty,
            version: r.version,
        })
    }
}

/// Receives change events.
pub type ChangeListener = Arc<dyn Fn(&ChangeEvent) + Send + Sync>;

/// Receives sync progress.
pub type ProgressListener = Arc<dyn Fn(&SyncProgress) + Send + Sync>;

struct Observer {
    id: u64,
    collection: Option<String>,
    listener: ChangeListener,
}

/// Log lines buffered before they are written in one transaction.
const LOG_BATCH: usize = 256;

/// An open Accord store: records, sync, conflicts, logs.
///
/// Safe to share between threads. Writes are serialised by the store; one sync runs at a
/// time (a second caller waits for the first).
pub struct Accord {
    store: Store,
    config: Config,
    device_id: String,
    open_report: OpenReport,
    interrupt: InterruptHandle,
    sync_lock: Mutex<()>,
    arbiter: RwLock<Option<Arc<dyn Arbiter>>>,
    model: Option<ModelFile>,
    observers: Mutex<Vec<Observer>>,
    next_observer: AtomicU64,
    log_buffer: Mutex<Vec<LogEvent>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for Accord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accord")
            .field("path", &self.config.path)
            .field("device_id", &self.device_id)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing guarded here is left inconsistent by a panic (observers are called with no
    // lock held), so a poisoned lock is safe to reuse.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Accord {
    /// Opens the store at `config.path`, creating and migrating it as needed. A corrupt
    /// file is moved aside (see [`Accord::open_report`]); a file from a newer version is
    /// refused.
    pub fn open(config: Config) -> Result<Accord> {
        let (store, open_report) = Store::open(&config.path)?;
        let device_id = store.write(|tx| Meta::device_id(tx))?;
        let interrupt = InterruptHandle::new();
        let (arbiter, model) = configured_arbiter(&config, &interrupt);
        Ok(Accord {
            store,
            config,
            device_id,
            open_report,
            interrupt,
            sync_lock: Mutex::new(()),
            arbiter: RwLock::new(arbiter),
            model,
            observers: Mutex::new(Vec::new()),
            next_observer: AtomicU64::new(1),
            log_buffer: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        })
    }

    /// What happened when the store was opened (migration, a corrupt file moved aside).
    pub fn open_report(&self) -> &OpenReport {
        &self.open_report
    }

    /// This device's id (made on first open).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The underlying store (for inspection and tools).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Uses `arbiter` for overlapping text edits from now on (`None`: keep both sides).
    pub fn set_arbiter(&self, arbiter: Option<Arc<dyn Arbiter>>) {
        *self.arbiter.write().unwrap_or_else(|p| p.into_inner()) = arbiter;
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Creates or replaces a record. `data` must be a JSON object.
    pub fn put(&self, collection: &str, id: &str, data: Value) -> Result<()> {
        self.write_many(collection, vec![(id.to_string(), RecordWrite::Put(data))])
    }

    /// Creates or replaces many records in one transaction (far faster than one `put`
    /// per record).
    pub fn put_many(&self, collection: &str, records: Vec<(String, Value)>) -> Result<()> {
        let writes = records
            .into_iter()
            .map(|(id, v)| (id, RecordWrite::Put(v)))
            .collect();
        self.write_many(collection, writes)
    }

    /// Deletes a record. Returns false when there was nothing to delete.
    pub fn delete(&self, collection: &str, id: &str) -> Result<bool> {
        self.check_open()?;
        store::check_write(collection, id, &RecordWrite::Delete)?;
        let writes = [(id.to_string(), RecordWrite::Delete)];
        let changed = !self
            .store
            .write(|tx| store::write_batch(tx, &self.device_id, collection, &writes))?
            .is_empty();
        if changed {
            self.notify(&ChangeEvent {
                collection: collection.to_string(),
                ids: vec![id.to_string()],
                origin: ChangeOrigin::Local,
            });
        }
        Ok(changed)
    }

    fn write_many(&self, collection: &str, writes: Vec<(String, RecordWrite)>) -> Result<()> {
        self.check_open()?;
        for (id, w) in &writes {
            store::check_write(collection, id, w)?;
        }
        let changed = self
            .store
            .write(|tx| store::write_batch(tx, &self.device_id, collection, &writes))?;
        if !changed.is_empty() {
            self.notify(&ChangeEvent {
                collection: collection.to_string(),
                ids: changed,
                origin: ChangeOrigin::Local,
            });
        }
        Ok(())
    }

    /// A live record, or `None`.
    pub fn get(&self, collection: &str, id: &str) -> Result<Option<Record>> {
        self.check_open()?;
        let r = self.store.read(|c| LocalRecord::load(c, collection, id))?;
        Ok(r.and_then(Record::from_local))
    }

    /// Every live record of a collection, by id.
    pub fn list(&self, collection: &str) -> Result<Vec<Record>> {
        self.check_open()?;
        let rows = self.store.read(|c| LocalRecord::list(c, collection))?;
        Ok(rows.into_iter().filter_map(Record::from_local).collect())
    }

    /// Live records matching `query`.
    pub fn query(&self, query: &Query) -> Result<Vec<Record>> {
        self.check_open()?;
        let rows = self.store.read(|c| LocalRecord::query(c, query))?;
        Ok(rows.into_iter().filter_map(Record::from_local).collect())
    }

    /// Creates (if missing) an index on `field` (a dot-separated path) of
    /// `collection`'s records: queries that filter on it (equality, range, `IN`,
    /// prefix) or order by it read the index instead of every record of the collection.
    /// Each write of a record then updates the index too, so it pays for a field that
    /// is queried often in a collection of more than a few hundred records.
    pub fn create_index(&self, collection: &str, field: &str) -> Result<()> {
        self.check_open()?;
        self.store
            .write(|tx| crate::store::create_index(tx, collection, field))
    }

    /// Calls `listener` after every committed change to `collection` (all collections
    /// when `None`), local or synced. Returns an id for [`Accord::unobserve`].
    pub fn observe(&self, collection: Option<&str>, listener: ChangeListener) -> u64 {
        let id = self.next_observer.fetch_add(1, Ordering::SeqCst);
        lock(&self.observers).push(Observer {
            id,
            collection: collection.map(str::to_string),
            listener,
        });
        id
    }

    /// Stops an observer. Returns false if it was not registered.
    pub fn unobserve(&self, id: u64) -> bool {
        let mut obs = lock(&self.observers);
        let before = obs.len();
        obs.retain(|o| o.id != id);
        obs.len() != before
    }

    fn notify(&self, event: &ChangeEvent) {
        // Listeners run with no lock held: a listener may call back into Accord.
        let targets: Vec<ChangeListener> = lock(&self.observers)
            .iter()
            .filter(|o| {
                o.collection
                    .as_deref()
                    .is_none_or(|c| c == event.collection)
            })
            .map(|o| o.listener.clone())
            .collect();
        for l in targets {
            l(event);
        }
    }

    /// A handle that stops a running sync between steps; safe to use from any thread.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    /// Stops a running sync between steps.
    pub fn interrupt(&self) {
        self.interrupt.interrupt();
    }

    /// Runs one sync pass against the configured server.
    pub fn sync(&self) -> SyncReport {
        self.sync_with_progress(None)
    }

    /// [`Accord::sync`], reporting progress to `progress`.
    pub fn sync_with_progress(&self, progress: Option<ProgressListener>) -> SyncReport {
        let transport = match self.transport() {
            Ok(t) => t,
            Err(reason) => return failed_report(reason),
        };
        self.sync_via(&transport, progress)
    }

    fn transport(&self) -> std::result::Result<HttpTransport, String> {
        let server = self.config.server.as_ref().ok_or_else(|| {
            "no server configured: open Accord with a server URL, token and space to sync"
                .to_string()
        })?;
        HttpTransport::new(
            &server.url,
            "",
            &server.space,
            self.config.sync.connect_timeout,
            self.config.sync.request_timeout,
        )
        .map(|t| {
            t.with_credentials(server.credentials.clone())
                .with_device(&self.device_id)
        })
        .and_then(|t| match &self.config.sync.trusted_ca_pem {
            Some(pem) => t.with_trusted_ca(pem),
            None => Ok(t),
        })
        .map_err(|e| e.to_string())
    }

    /// Runs one sync pass over any transport (tests, tools).
    pub fn sync_via(
        &self,
        transport: &dyn Transport,
        progress: Option<ProgressListener>,
    ) -> SyncReport {
        if self.check_open().is_err() {
            return failed_report("this Accord instance is closed".into());
        }
        let Some(space) = self.config.server.as_ref().map(|s| s.space.clone()) else {
            return failed_report("no server configured: no space to sync".into());
        };
        let _one_at_a_time = lock(&self.sync_lock);
        self.interrupt.reset();
        if let Err(e) = self.flush_logs() {
            return failed_report(format!("cannot write buffered log lines: {e}"));
        }
        let arbiter = self
            .arbiter
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let on_change = |e: ChangeEvent| self.notify(&e);
        let on_progress = |p: SyncProgress| {
            if let Some(l) = &progress {
                l(&p);
            }
        };
        let ctx = SyncContext {
            store: &self.store,
            device: &self.device_id,
            space: &space,
            schemas: &self.config.collections,
            arbiter: arbiter.as_deref(),
            model: self.model.as_ref().and_then(ModelFile::get),
            transport,
            options: &self.config.sync,
            interrupt: &self.interrupt,
            on_change: &on_change,
            on_progress: &on_progress,
        };
        let mut report = sync::run(&ctx);
        report.model_error = self.model_error();
        report
    }

    /// Why the configured model cannot be used, if it cannot: the file is missing, this
    /// build has no model runtime, or loading it (on first use) failed. `None` with no
    /// model configured.
    pub fn model_error(&self) -> Option<String> {
        self.model.as_ref()?.error()
    }

    /// Logged merges, newest first; only those not yet reviewed when `open_only`.
    pub fn conflicts(&self, open_only: bool) -> Result<Vec<ConflictEntry>> {
        self.check_open()?;
        self.store.read(|c| ConflictEntry::list(c, open_only))
    }

    /// Settles a logged merge: keep the result, restore one side, apply the merge's
    /// suggestion, or write other fields (each written as a new local edit, so it
    /// syncs). Marks it reviewed.
    pub fn resolve_conflict(&self, conflict_id: i64, resolution: ConflictResolution) -> Result<()> {
        self.check_open()?;
        let entry = self.store.read(|c| ConflictEntry::get(c, conflict_id))?;
        let default_schema = CollectionSchema::new();
        let schema = self
            .config
            .collections
            .get(&entry.collection)
            .unwrap_or(&default_schema);
        let changed = self.store.write(|tx| {
            let write = match &resolution {
                ConflictResolution::KeepMerged => None,
                ConflictResolution::UseLocal => Some(side_write(entry.local.clone())),
                ConflictResolution::UseRemote => Some(side_write(entry.remote.clone())),
                ConflictResolution::Suggested => Some(suggested_write(tx, &entry, schema)?),
                ConflictResolution::Custom(v) => Some(RecordWrite::Put(v.clone())),
            };
            let changed = match write {
                Some(w) => {
                    store::check_write(&entry.collection, &entry.id, &w)?;
                    let writes = [(entry.id.clone(), w)];
                    !store::write_batch(tx, &self.device_id, &entry.collection, &writes)?.is_empty()
                }
                None => false,
            };
            ConflictEntry::mark_reviewed(tx, conflict_id)?;
            Ok(changed)
        })?;
        if changed {
            self.notify(&ChangeEvent {
                collection: entry.collection,
                ids: vec![entry.id],
                origin: ChangeOrigin::Local,
            });
        }
        Ok(())
    }

    /// The queued mutations, oldest first (for inspection, tools and tests).
    pub fn outbox(&self) -> Result<Vec<store::OutboxRow>> {
        self.store.read(store::outbox_rows)
    }

    /// Mutations waiting for the server.
    pub fn pending_mutations(&self) -> Result<i64> {
        self.store.read(store::pending_mutations)
    }

    /// Captures one log line. Lines are buffered and written in batches (so this is
    /// cheap enough for a hot path); a crash may lose the last unflushed batch.
    pub fn log(&self, level: &str, tag: &str, message: &str) -> Result<()> {
        self.check_open()?;
        let full = {
            let mut buf = lock(&self.log_buffer);
            buf.push(LogEvent {
                seq: 0,
                time_ms: crate::hlc::wall_millis() as i64,
                level: level.to_string(),
                tag: tag.to_string(),
                message: message.to_string(),
            });
            buf.len() >= LOG_BATCH
        };
        if full {
            self.flush_logs()?;
        }
        Ok(())
    }

    /// Writes buffered log lines to the ring.
    pub fn flush_logs(&self) -> Result<()> {
        let lines = std::mem::take(&mut *lock(&self.log_buffer));
        if lines.is_empty() {
            return Ok(());
        }
        let ring = self.config.log_ring;
        self.store.write(|tx| ring.append(tx, &lines)).map(|_| ())
    }

    /// What the log ring holds and has dropped.
    pub fn log_stats(&self) -> Result<LogRingStats> {
        self.flush_logs()?;
        self.store.read(LogRing::stats)
    }

    /// Flushes buffered logs, stops any running sync and refuses further calls. Safe to
    /// call more than once.
    pub fn shutdown(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.interrupt.interrupt();
        self.flush_logs()
    }
}

impl Drop for Accord {
    fn drop(&mut self) {
        // Best effort: a failure here has nobody left to report to.
        let _ = self.flush_logs();
    }
}

/// The write that applies a logged merge's suggestion: the suggested record, with the
/// record's edits since the merge kept where they do not touch what the suggestion
/// changes (a three-way merge from the merge's result; edits since win a field both
/// changed). An error, and nothing written, when there is no suggestion, the record was
/// deleted since, or an edit since overlaps what the suggestion changes.
fn suggested_write(
    tx: &rusqlite::Connection,
    entry: &ConflictEntry,
    schema: &CollectionSchema,
) -> Result<RecordWrite> {
    let Some(suggested) = &entry.suggested else {
        return Err(Error::invalid(format!(
            "conflict {} has no suggestion: it needed no review",
            entry.conflict_id
        )));
    };
    let current = LocalRecord::load(tx, &entry.collection, &entry.id)?;
    let Some(current) = current.filter(|r| !r.deleted) else {
        return Err(Error::invalid(format!(
            "{}/{} was deleted after conflict {}; restore a side or write a custom value",
            entry.collection, entry.id, entry.conflict_id
        )));
    };
    let data = current.data.unwrap_or_default();
    if Some(&data) == entry.result.as_ref() {
        return Ok(RecordWrite::Put(suggested.clone()));
    }
    let ctx = MergeContext {
        local_hlc: &current.hlc,
        remote_hlc: "",
        arbiter: None,
    };
    let m = merge_record(schema, entry.result.as_ref(), &data, suggested, &ctx);
    if m.needs_review {
        return Err(Error::invalid(format!(
            "{}/{} was edited after conflict {} where its suggestion changes it; \
             write a custom value instead",
            entry.collection, entry.id, entry.conflict_id
        )));
    }
    Ok(RecordWrite::Put(m.value))
}

fn side_write(side: Option<Value>) -> RecordWrite {
    match side {
        Some(v) => RecordWrite::Put(v),
        None => RecordWrite::Delete,
    }
}

/// The arbiter a config asks for: with the model when its file exists and the runtime
/// is built in (loaded on first use), the structural choice otherwise, none without a
/// model path (overlapping edits keep both sides).
fn configured_arbiter(
    config: &Config,
    interrupt: &InterruptHandle,
) -> (Option<Arc<dyn Arbiter>>, Option<ModelFile>) {
    let Some(path) = &config.model_path else {
        return (None, None);
    };
    let file = ModelFile::open(path);
    let arbiter = match file.shared() {
        Some(model) => CandidateArbiter::with_model(model, config.arbiter.clone()),
        None => CandidateArbiter::structural(),
    };
    (
        Some(Arc::new(arbiter.with_interrupt(interrupt.clone()))),
        Some(file),
    )
}

fn failed_report(reason: String) -> SyncReport {
    let mut report = sync::empty_report();
    report.outcome = SyncOutcome::Failure { reason };
    report
}
