//! The sync worker: one pass pulls the server's changes and merges them into local
//! copies, pushes the outbox, merges and re-pushes what conflicted, and reports.
//!
//! All state lives in the store (the pull cursor and the outbox), written in the same
//! transaction as the effects it describes. A pass killed at any instant leaves the store
//! consistent, and the next pass finishes the job: a page is merged and its cursor saved
//! together; a push whose answer was lost is sent again under the same mutation ids (the
//! server applies each once) or recognised when it comes back through the change feed.

mod reconcile;
mod retry;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::interrupt::InterruptHandle;
use crate::merge::{Arbiter, CollectionSchema, FieldOutcome, Strategy};
use crate::model::LanguageModel;
use crate::store::{
    self, LocalRecord, LogEvent, LogRing, Meta, OutboxRow, PendingReport, Stamp, Store,
};
use crate::transport::{ErrorClass, Transport};
use accord_logs::{build_report, ReportBudget};
use accord_protocol::{ChangesPage, MutationBatch, MutationResult, RawData, RemoteRecord};

pub use reconcile::{decide, Decision, LoggedMerge};
pub use retry::{Backoff, Stop};

use reconcile::apply;
use retry::Retrier;

/// Tunables of a sync pass.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOptions {
    /// Changes asked for per page.
    pub page_limit: u32,
    /// Mutations sent per request.
    pub push_batch: usize,
    /// Push rounds per pass (a conflict answer costs a round: merge, then push again).
    pub max_push_rounds: u32,
    /// Time allowed for retrying transient failures before reporting `retry`.
    pub retry_budget: Duration,
    /// Backoff between retries.
    pub backoff: Backoff,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// Most captured log lines summarised into one report (the rest wait for the next).
    pub log_lines_per_report: i64,
    /// Certificate authorities (PEM) trusted for `https://` besides the public web
    /// roots: for a server with a private CA or a self-signed certificate.
    pub trusted_ca_pem: Option<Vec<u8>>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            page_limit: accord_protocol::MAX_PAGE_LIMIT,
            push_batch: 500,
            max_push_rounds: 8,
            retry_budget: Duration::from_secs(30),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            log_lines_per_report: 20_000,
            trusted_ca_pem: None,
        }
    }
}

/// How a sync pass ended, in the terms WorkManager needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SyncOutcome {
    /// Everything was pulled and pushed (see `pending` for writes left for another
    /// round, which is rare).
    Done,
    /// A transient problem: run the sync again later (`Result.retry()`).
    Retry {
        /// What went wrong.
        reason: String,
    },
    /// A problem retrying will not fix (`Result.failure()`).
    Failure {
        /// What went wrong and what to do.
        reason: String,
    },
    /// Interrupted between steps; nothing is half-done.
    Cancelled,
}

/// One merge made during the pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeNote {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Conflict log id.
    pub conflict_id: i64,
    /// The strongest step it needed (`field`, `diff3`, `word-diff3`, `arbiter:<model>`,
    /// `fallback`, `delete-vs-edit` or `maybe-applied` when written out).
    pub strategy: Strategy,
    /// True when a person should review it.
    pub needs_review: bool,
    /// Per-field decisions.
    pub fields: Vec<FieldOutcome>,
}

/// What a sync pass did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncReport {
    /// How it ended.
    pub outcome: SyncOutcome,
    /// Server changes received.
    pub pulled: u64,
    /// Server changes that changed a local record.
    pub applied: u64,
    /// Local mutations the server accepted.
    pub pushed: u64,
    /// Records both sides had changed, merged.
    pub merged: u64,
    /// Merges flagged for a person to review.
    pub conflicts: u64,
    /// Mutations still queued (quarantined ones included).
    pub pending: u64,
    /// Queued writes held back because their stored data is damaged: kept, never sent
    /// (see [`store::DamagedRow`]). An app should tell the user; writing the record again
    /// queues a healthy write that is sent in their place.
    pub quarantined: Vec<store::QuarantinedWrite>,
    /// Requests retried after transient failures.
    pub retries: u32,
    /// Request bytes sent (compressed).
    pub bytes_sent: u64,
    /// Response bytes received (compressed).
    pub bytes_received: u64,
    /// Wall time of the pass.
    pub elapsed_ms: u64,
    /// Each merge, as logged.
    pub merges: Vec<MergeNote>,
    /// Captured log lines summarised in the report the server accepted.
    pub logs_uploaded: u64,
    /// Why the log report could not be uploaded (its lines are kept for the next sync;
    /// it does not change the outcome, which is about records).
    pub logs_error: Option<String>,
    /// Why the configured model could not be used (missing, truncated or corrupt file):
    /// the merges that needed it kept both sides, flagged. Never changes the outcome.
    pub model_error: Option<String>,
}

/// A report of a pass that did nothing yet.
pub(crate) fn empty_report() -> SyncReport {
    {
        SyncReport {
            outcome: SyncOutcome::Done,
            pulled: 0,
            applied: 0,
            pushed: 0,
            merged: 0,
            conflicts: 0,
            pending: 0,
            quarantined: Vec::new(),
            retries: 0,
            bytes_sent: 0,
            bytes_received: 0,
            elapsed_ms: 0,
            merges: Vec::new(),
            logs_uploaded: 0,
            logs_error: None,
            model_error: None,
        }
    }
}

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOrigin {
    /// A write on this device.
    Local,
    /// A change pulled or merged from the server.
    Sync,
}

/// Records of one collection that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeEvent {
    /// Collection.
    pub collection: String,
    /// Ids that changed.
    pub ids: Vec<String>,
    /// Where the change came from.
    pub origin: ChangeOrigin,
}

/// The step a running pass is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Pulling and merging changes.
    Pull,
    /// Pushing the outbox.
    Push,
    /// Uploading the log report.
    Logs,
}

/// Progress of a running pass (for WorkManager's `setProgress`, a terminal's progress
/// bar, a status line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SyncProgress {
    /// Current step.
    pub phase: SyncPhase,
    /// Changes pulled or mutations pushed so far in this step.
    pub done: u64,
    /// What `done` counts up to in this step, when known: for a pull, the changes the
    /// server had after the cursor when the pull began (plus any that arrived since and
    /// were pulled too; `None` from a server that cannot count); for a push, the
    /// mutations queued when it began (plus any a merge queued). Never below `done`.
    pub total: Option<u64>,
    /// Request bytes sent so far in this pass (compressed, as on the wire).
    pub bytes_sent: u64,
    /// Response bytes received so far in this pass (compressed, as on the wire).
    pub bytes_received: u64,
}

impl SyncProgress {
    /// Progress of `phase` at `done` of `total`, with the transport's byte counts.
    fn now(ctx: &SyncContext<'_>, phase: SyncPhase, done: u64, total: Option<u64>) -> Self {
        let traffic = ctx.transport.traffic();
        SyncProgress {
            phase,
            done,
            total: total.map(|t| t.max(done)),
            bytes_sent: traffic.sent,
            bytes_received: traffic.received,
        }
    }
}

/// Everything a pass works with.
pub struct SyncContext<'a> {
    /// The local store.
    pub store: &'a Store,
    /// This device's id.
    pub device: &'a str,
    /// The space synced.
    pub space: &'a str,
    /// Merge policies by collection (missing: defaults).
    pub schemas: &'a BTreeMap<String, CollectionSchema>,
    /// The arbiter for overlapping text, if any.
    pub arbiter: Option<&'a dyn Arbiter>,
    /// Writes the log report's paragraph, if loaded.
    pub model: Option<&'a dyn LanguageModel>,
    /// The server.
    pub transport: &'a dyn Transport,
    /// Tunables.
    pub options: &'a SyncOptions,
    /// Checked between steps.
    pub interrupt: &'a InterruptHandle,
    /// Called after each committed change of local records.
    pub on_change: &'a dyn Fn(ChangeEvent),
    /// Called as the pass advances.
    pub on_progress: &'a dyn Fn(SyncProgress),
}

/// Runs one sync pass. Never panics on bad input; every way it can end is in the report.
pub fn run(ctx: &SyncContext<'_>) -> SyncReport {
    let started = Instant::now();
    log::info!(target: "accord::sync", "sync of space '{}' started", ctx.space);
    let mut report = empty_report();
    let mut retrier = Retrier::new(ctx.options.backoff, ctx.options.retry_budget, ctx.interrupt);
    let result = pull(ctx, &mut retrier, &mut report)
        .and_then(|server| push(ctx, &mut retrier, &mut report, &server, store::Rows::All))
        .and_then(|()| upload_logs(ctx, &mut retrier, &mut report));
    report.outcome = match result {
        Ok(()) => SyncOutcome::Done,
        Err(Stop::Retry(reason)) => SyncOutcome::Retry { reason },
        Err(Stop::Failure(reason)) => SyncOutcome::Failure { reason },
        Err(Stop::Cancelled) => SyncOutcome::Cancelled,
    };
    report.retries = retrier.retries;
    let outbox = ctx
        .store
        .read(|c| Ok((store::pending_mutations(c)?, store::quarantined(c)?)));
    match outbox {
        Ok((pending, quarantined)) => {
            report.pending = pending.max(0) as u64;
            report.quarantined = quarantined;
        }
        Err(e) => report.outcome = outbox_unreadable(report.outcome, &e),
    }
    let traffic = ctx.transport.traffic();
    report.bytes_sent = traffic.sent;
    report.bytes_received = traffic.received;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    log_outcome(ctx.space, &report);
    report
}

/// One line for how a pass ended (the report says it all; this is for the app's logs).
fn log_outcome(space: &str, r: &SyncReport) {
    let counts = format!(
        "pulled {}, pushed {}, merged {}, {} pending, {} retries, {} ms",
        r.pulled, r.pushed, r.merged, r.pending, r.retries, r.elapsed_ms
    );
    match &r.outcome {
        SyncOutcome::Done => {
            log::info!(target: "accord::sync", "sync of space '{space}' done: {counts}")
        }
        SyncOutcome::Cancelled => {
            log::info!(target: "accord::sync", "sync of space '{space}' cancelled: {counts}")
        }
        SyncOutcome::Retry { reason } => log::warn!(
            target: "accord::sync",
            "sync of space '{space}' to be retried: {reason} ({counts})"
        ),
        SyncOutcome::Failure { reason } => log::error!(
            target: "accord::sync",
            "sync of space '{space}' failed: {reason} ({counts})"
        ),
    }
}

/// A local store failure during sync: usually a full disk. Nothing half-written stays
/// (each step is one transaction), so the pass can simply be retried later.
/// The outcome of a pass after which the outbox cannot be read: what is still queued is
/// then unknown, so the pass is not `Done` (nor a clean cancel) but what the store error
/// calls for (`Retry` for a full disk, else `Failure`). An earlier `Failure` stays one;
/// an earlier reason is kept in front of this one.
fn outbox_unreadable(outcome: SyncOutcome, err: &crate::error::Error) -> SyncOutcome {
    let (earlier, was_failure) = match outcome {
        SyncOutcome::Retry { reason } => (Some(reason), false),
        SyncOutcome::Failure { reason } => (Some(reason), true),
        SyncOutcome::Done | SyncOutcome::Cancelled => (None, false),
    };
    let why = store_failure("reading the outbox after the pass", err);
    let retry = err.is_disk_full() && !was_failure;
    let reason = match earlier {
        Some(e) => format!("{e}; {why}"),
        None => why,
    };
    if retry {
        SyncOutcome::Retry { reason }
    } else {
        SyncOutcome::Failure { reason }
    }
}

fn store_failed(step: &str, err: crate::error::Error) -> Stop {
    let reason = store_failure(step, &err);
    if err.is_disk_full() {
        Stop::Retry(reason)
    } else {
        Stop::Failure(reason)
    }
}

/// What went wrong in the store during `step`, in words for the user.
fn store_failure(step: &str, err: &crate::error::Error) -> String {
    if err.is_disk_full() {
        format!("{step}: the device's disk is full; free some space")
    } else {
        format!("{step}: {err}")
    }
}

fn schema_for<'a>(ctx: &'a SyncContext<'_>, collection: &str) -> &'a CollectionSchema {
    static DEFAULT: std::sync::OnceLock<CollectionSchema> = std::sync::OnceLock::new();
    ctx.schemas
        .get(collection)
        .unwrap_or_else(|| DEFAULT.get_or_init(CollectionSchema::new))
}

/// What the server said about itself on the first page of a pull.
#[derive(Debug, Clone, Default)]
struct ServerFeatures {
    /// The server takes the device, outbox positions and `answered_below` in a push,
    /// and forgets mutation ids once the device has their answers.
    answered_below: bool,
    /// The server streams several pages of the feed in one answer.
    feed_stream: bool,
}

impl ServerFeatures {
    fn of(page: &ChangesPage<RawData>) -> Self {
        let lists = |feature: &str| page.features.iter().any(|f| f == feature);
        ServerFeatures {
            answered_below: lists(accord_protocol::FEATURE_ANSWERED_BELOW),
            feed_stream: lists(accord_protocol::FEATURE_FEED_STREAM),
        }
    }
}

/// Pages asked for in one streamed answer at most: 16 pages of 1,000 records of about
/// 1 KB are about 5 MB on the wire, large enough that a round trip per answer costs
/// little. A link too slow to carry that within a request's time gets smaller answers
/// (see [`stream_pages`]).
const STREAM_PAGES: u32 = 16;

/// Pulls the feed page by page. The next page is fetched on a second thread while the
/// current one is merged (at most one page waits, so memory stays two pages whatever the
/// space's size): the server's work and the network overlap the local writes. Each page
/// is merged with its cursor in one transaction, in order, as without the overlap.
///
/// Invariant: writes whose answer was lost are sent again before any page is merged
/// (after the first page is fetched, which says what the server understands). Merged
/// first, a record another device wrote since would be merged with a server copy that
/// may already hold our write, and a `counter` field would count it twice; sent first,
/// the server answers from the mutation id and the pulled copy is simply taken.
fn pull(
    ctx: &SyncContext<'_>,
    retrier: &mut Retrier<'_>,
    report: &mut SyncReport,
) -> Result<ServerFeatures, Stop> {
    retrier.check_interrupt()?;
    let cursor = ctx
        .store
        .read(|c| Meta::cursor(c, ctx.space))
        .map_err(|e| store_failed("reading the pull cursor", e))?;
    let limit = ctx.options.page_limit;
    // The first page also asks how many changes follow, for progress.
    let first = retrier.run("pulling changes", || {
        ctx.transport.changes(cursor, limit, true)
    })?;
    check_page(&first, cursor)?;
    let server = ServerFeatures::of(&first);
    push(ctx, retrier, report, &server, store::Rows::Unanswered)?;
    let total = first
        .remaining
        .map(|r| r.saturating_add(first.changes.len() as u64));
    let (more, next) = (first.more && !first.changes.is_empty(), first.next);
    merge_page(ctx, report, &first, total)?;
    if !more {
        return Ok(server);
    }
    let (pages, received) =
        std::sync::mpsc::sync_channel::<Result<(i64, ChangesPage<RawData>), Stop>>(1);
    std::thread::scope(|scope| {
        let transport = ctx.transport;
        let fetcher = &mut *retrier;
        scope.spawn(move || {
            let mut since = next;
            if server.feed_stream {
                return stream_pages(fetcher, transport, since, limit, &pages);
            }
            loop {
                let page =
                    fetcher.run("pulling changes", || transport.changes(since, limit, false));
                let last = match &page {
                    Ok(p) => !p.more || p.changes.is_empty(),
                    Err(_) => true,
                };
                let next = page.as_ref().map_or(since, |p| p.next);
                // A closed channel means the merging side stopped: so do we.
                if pages.send(page.map(|p| (since, p))).is_err() || last {
                    return;
                }
                since = next;
            }
        });
        for fetched in received {
            let (since, page) = fetched?;
            check_page(&page, since)?;
            merge_page(ctx, report, &page, total)?;
        }
        Ok(())
    })?;
    Ok(server)
}

/// The fetching side of a pull from a server that streams the feed: answers of up to
/// [`STREAM_PAGES`] pages, each page sent on to be merged as it arrives, until a page
/// says nothing follows. Each answer asks from the last whole page received.
///
/// An answer cut short by a transient error after whole pages arrived (a request's time
/// runs out on a slow link, a mobile connection drops) is progress, not a failure: the
/// pages are kept, and the next answer asks for as many pages as arrived, doubling
/// again after each answer that arrives whole. So a link too slow for 16 pages within a
/// request's time settles on answers it can carry, without spending the retry budget;
/// an answer that delivers no page is retried with backoff like any request.
fn stream_pages(
    fetcher: &mut Retrier<'_>,
    transport: &dyn Transport,
    mut since: i64,
    limit: u32,
    pages: &std::sync::mpsc::SyncSender<Result<(i64, ChangesPage<RawData>), Stop>>,
) {
    let mut finished = false;
    let mut ask = STREAM_PAGES;
    while !finished {
        let mut received = 0u32;
        let answer = fetcher.run("pulling changes", || {
            let before = received;
            let answer = transport.changes_stream(since, limit, ask, &mut |page| {
                received += 1;
                let from = since;
                since = page.next;
                finished = !page.more || page.changes.is_empty();
                // A closed channel means the merging side stopped: so do we.
                let open = pages.send(Ok((from, page))).is_ok();
                finished |= !open;
                open && !finished
            });
            let arrived = received - before;
            match answer {
                // The last page arrived whole: the answer is complete.
                Err(e) if e.class == ErrorClass::Transient && arrived > 0 && finished => Ok(None),
                Err(e) if e.class == ErrorClass::Transient && arrived > 0 => {
                    log::info!(
                        target: "accord::sync",
                        "pulling changes: an answer ended after {arrived} of {ask} pages ({e}); asking for {arrived} at a time"
                    );
                    Ok(Some(arrived))
                }
                Err(e) => Err(e),
                Ok(()) => Ok(None),
            }
        });
        let answer = answer.and_then(|cut| {
            if received == 0 {
                // Asking again would get the same nothing: a server bug, not a pause.
                Err(Stop::Failure(
                    "pulling changes: the server's streamed answer held no page".into(),
                ))
            } else {
                Ok(cut)
            }
        });
        match answer {
            Ok(Some(arrived)) => ask = arrived.clamp(1, STREAM_PAGES),
            Ok(None) => ask = ask.saturating_mul(2).min(STREAM_PAGES),
            Err(stop) => {
                let _ = pages.send(Err(stop));
                return;
            }
        }
    }
}

/// Merges one checked page with its cursor and reports progress; stops between pages
/// when interrupted.
fn merge_page(
    ctx: &SyncContext<'_>,
    report: &mut SyncReport,
    page: &ChangesPage<RawData>,
    total: Option<u64>,
) -> Result<(), Stop> {
    report.pulled += page.changes.len() as u64;
    log::debug!(
        target: "accord::sync",
        "pulled {} changes (next {}, more: {})",
        page.changes.len(),
        page.next,
        page.more
    );
    apply_remote(ctx, &page.changes, report, Some(page.next))?;
    crash_point("pull:page-applied");
    (ctx.on_progress)(SyncProgress::now(
        ctx,
        SyncPhase::Pull,
        report.pulled,
        total,
    ));
    if ctx.interrupt.is_interrupted() {
        return Err(Stop::Cancelled);
    }
    Ok(())
}

/// A page must move forward and hold well-formed records; anything else is a server
/// bug, and merging it could corrupt local data.
fn check_page(page: &ChangesPage<RawData>, cursor: i64) -> Result<(), Stop> {
    let bad = |why: String| {
        Err(Stop::Failure(format!(
            "the server sent an invalid changes page: {why}"
        )))
    };
    if page.next < cursor {
        return bad(format!("cursor went back from {cursor} to {}", page.next));
    }
    for r in &page.changes {
        if r.seq <= cursor || r.seq > page.next {
            return bad(format!(
                "change seq {} outside ({cursor}, {}]",
                r.seq, page.next
            ));
        }
        if r.version < 1 {
            return bad(format!(
                "record {}/{} has version {}",
                r.collection, r.id, r.version
            ));
        }
        if !r.deleted && !r.data_is_object() {
            return bad(format!(
                "record {}/{} has no object data",
                r.collection, r.id
            ));
        }
        accord_protocol::check_name("collection", &r.collection)
            .and_then(|()| accord_protocol::check_name("record id", &r.id))
            .or_else(bad)?;
    }
    Ok(())
}

/// Merges server versions into the store: decide outside the write lock (a merge may
/// consult the arbiter), then apply inside it, deciding again for any record the user
/// wrote to in between, so a write racing a pull is never dropped. Moves the cursor to
/// `cursor` in the same transaction.
///
/// A record with no local changes (every record of a first sync) is taken as received:
/// its fields are stored without being decoded and nothing is merged. Its stamp is read
/// again inside the lock, so a user's write in between sends it through the merge.
fn apply_remote(
    ctx: &SyncContext<'_>,
    remotes: &[RemoteRecord<RawData>],
    report: &mut SyncReport,
    cursor: Option<i64>,
) -> Result<(), Stop> {
    type Snapshot = (Option<LocalRecord>, Decision);
    /// What the read phase found for one record.
    enum Plan {
        /// No local changes (or no local row): take the server's version.
        Take(Option<Stamp>),
        /// Local changes wait: the decoded server version and the decision made for it.
        Decide(Box<(RemoteRecord, Snapshot)>),
        /// Under the write lock: absent when read and inserted as the server has it.
        Inserted,
    }
    let decode = |r: &RemoteRecord<RawData>| {
        r.decode().map_err(|e| {
            crate::error::Error::invalid(format!("record {}/{}: {e}", r.collection, r.id))
        })
    };
    let decide_one =
        |c: &rusqlite::Connection, r: &RemoteRecord| -> crate::error::Result<Snapshot> {
            let local = LocalRecord::load(c, &r.collection, &r.id)?;
            let echo = if r.mutation_id.is_empty() {
                None
            } else {
                store::find_outbox_row(c, &r.collection, &r.id, &r.mutation_id)?
            };
            let decision = decide(
                schema_for(ctx, &r.collection),
                local.as_ref(),
                r,
                echo,
                ctx.arbiter,
            );
            Ok((local, decision))
        };
    let plan_one = |c: &rusqlite::Connection, r: &RemoteRecord<RawData>| {
        let stamp = store::stamp(c, &r.collection, &r.id)?;
        if stamp.is_none_or(|s| !s.dirty) {
            return Ok(Plan::Take(stamp));
        }
        let remote = decode(r)?;
        let snapshot = decide_one(c, &remote)?;
        Ok(Plan::Decide(Box::new((remote, snapshot))))
    };
    let plans: Vec<Plan> = ctx
        .store
        .read(|c| remotes.iter().map(|r| plan_one(c, r)).collect())
        .map_err(|e| store_failed("reading local records", e))?;
    retrier_free_interrupt_check(ctx)?;

    let mut changed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut notes = Vec::new();
    let mut applied_count = 0;
    let newest_clock = remotes
        .iter()
        .map(|r| r.hlc.as_str())
        .max_by(|a, b| crate::hlc::compare_hlc_str(a, b));
    ctx.store
        .write(|tx| {
            if let Some(clock) = newest_clock {
                Meta::observe(tx, ctx.device, clock)?;
            }
            for (raw, plan) in remotes.iter().zip(plans) {
                let plan = match plan {
                    // Absent when read: inserted now unless the user wrote it since (one
                    // statement instead of reading the stamp again; every record of a
                    // first sync takes this way).
                    Plan::Take(None) if store::insert_new(tx, raw)? => Plan::Inserted,
                    Plan::Take(before) if store::stamp(tx, &raw.collection, &raw.id)? == before => {
                        plan
                    }
                    // The user wrote to the record since it was read: decide with that.
                    Plan::Take(_) => {
                        let remote = decode(raw)?;
                        let snapshot = decide_one(tx, &remote)?;
                        Plan::Decide(Box::new((remote, snapshot)))
                    }
                    Plan::Decide(planned) => {
                        let (remote, (snapshot, decision)) = *planned;
                        let fresh = LocalRecord::load(tx, &remote.collection, &remote.id)?;
                        let snapshot = if fresh == snapshot {
                            (fresh, decision)
                        } else {
                            decide_one(tx, &remote)?
                        };
                        Plan::Decide(Box::new((remote, snapshot)))
                    }
                    Plan::Inserted => Plan::Inserted,
                };
                let (did_change, logged) = match plan {
                    Plan::Inserted => (true, None),
                    Plan::Take(Some(s)) if raw.version <= s.version => (false, None),
                    Plan::Take(before) => (store::adopt_clean(tx, raw, before.is_some())?, None),
                    Plan::Decide(planned) => {
                        let (remote, (local, decision)) = *planned;
                        let is_skip = decision == Decision::Skip;
                        let applied = apply(tx, ctx.device, local.as_ref(), &remote, decision)?;
                        if is_skip && local.as_ref().is_some_and(|l| l.dirty) {
                            // A conflict answer about a version we already build on: our
                            // queued rows are simply behind; rebase them instead of
                            // wedging the queue.
                            rebase_outbox(tx, &remote)?;
                        }
                        (applied.changed, applied.logged)
                    }
                };
                if did_change {
                    applied_count += 1;
                    changed
                        .entry(raw.collection.clone())
                        .or_default()
                        .push(raw.id.clone());
                }
                if let Some(logged) = logged {
                    notes.push(MergeNote {
                        collection: raw.collection.clone(),
                        id: raw.id.clone(),
                        conflict_id: logged.conflict_id,
                        strategy: logged.strategy,
                        needs_review: logged.needs_review,
                        fields: logged.fields,
                    });
                }
            }
            if let Some(next) = cursor {
                Meta::set_cursor(tx, ctx.space, next)?;
            }
            Ok(())
        })
        .map_err(|e| store_failed("merging server changes", e))?;
    report.applied += applied_count;
    report.merged += notes.len() as u64;
    report.conflicts += notes.iter().filter(|n| n.needs_review).count() as u64;
    report.merges.extend(notes);
    for (collection, ids) in changed {
        (ctx.on_change)(ChangeEvent {
            collection,
            ids,
            origin: ChangeOrigin::Sync,
        });
    }
    Ok(())
}

/// A conflict answer's record in the feed's form, for [`apply_remote`].
fn raw_record(r: RemoteRecord) -> Result<RemoteRecord<RawData>, Stop> {
    let data = r
        .data
        .map(|d| serde_json::value::to_raw_value(&d))
        .transpose()
        .map_err(|e| Stop::Failure(format!("cannot re-encode a conflict answer: {e}")))?;
    Ok(RemoteRecord {
        collection: r.collection,
        id: r.id,
        version: r.version,
        seq: r.seq,
        data,
        deleted: r.deleted,
        hlc: r.hlc,
        mutation_id: r.mutation_id,
    })
}

fn retrier_free_interrupt_check(ctx: &SyncContext<'_>) -> Result<(), Stop> {
    if ctx.interrupt.is_interrupted() {
        Err(Stop::Cancelled)
    } else {
        Ok(())
    }
}

fn rebase_outbox(tx: &rusqlite::Connection, remote: &RemoteRecord) -> crate::error::Result<()> {
    tx.execute(
        "UPDATE outbox SET base_version = ?3 WHERE collection = ?1 AND id = ?2",
        rusqlite::params![remote.collection, remote.id, remote.version],
    )?;
    Ok(())
}

/// Sends queued writes (`rows` says which), a batch a round, and records the answers;
/// a conflict answer is merged and the merge queued for the next round. To a server
/// that forgets mutation ids on the device's word, each batch names this device, each
/// mutation its outbox position, and the batch the lowest position still queued.
fn push(
    ctx: &SyncContext<'_>,
    retrier: &mut Retrier<'_>,
    report: &mut SyncReport,
    server: &ServerFeatures,
    rows: store::Rows,
) -> Result<(), Stop> {
    let queued = ctx
        .store
        .read(store::pending_mutations)
        .map_err(|e| store_failed("reading the outbox", e))?
        .max(0) as u64;
    let total = Some(report.pushed + queued);
    for _round in 0..ctx.options.max_push_rounds {
        retrier.check_interrupt()?;
        let (taken, answered_below) = ctx
            .store
            .write(|tx| {
                let taken = store::take_batch(tx, ctx.options.push_batch, rows)?;
                Ok((taken, store::lowest_queued(tx)?))
            })
            .map_err(|e| store_failed("reading the outbox", e))?;
        let (rows_sent, mut mutations): (Vec<OutboxRow>, Vec<_>) = taken.into_iter().unzip();
        if rows_sent.is_empty() {
            return Ok(());
        }
        let batch = match answered_below.filter(|_| server.answered_below) {
            Some(below) => {
                for (m, row) in mutations.iter_mut().zip(&rows_sent) {
                    m.outbox_seq = Some(row.seq);
                }
                MutationBatch {
                    mutations,
                    device: Some(ctx.device.to_string()),
                    answered_below: Some(below),
                }
            }
            None => MutationBatch::new(mutations),
        };
        log::debug!(target: "accord::sync", "pushing {} mutations", rows_sent.len());
        crash_point("push:before-send");
        let answer = retrier.run("pushing changes", || ctx.transport.push(&batch))?;
        crash_point("push:sent");
        if answer.results.len() != rows_sent.len()
            || answer
                .results
                .iter()
                .zip(&rows_sent)
                .any(|(r, row)| r.mutation_id() != row.mutation_id)
        {
            return Err(Stop::Failure(format!(
                "the server answered {} results for {} mutations, or out of order",
                answer.results.len(),
                rows_sent.len()
            )));
        }
        let mut conflicts = Vec::new();
        let mut notes = Vec::new();
        ctx.store
            .write(|tx| {
                for (result, row) in answer.results.iter().zip(&rows_sent) {
                    match result {
                        MutationResult::Applied { version, .. } => {
                            store::acknowledge_row(tx, row, *version)?;
                            report.pushed += 1;
                        }
                        MutationResult::Conflict {
                            current,
                            maybe_applied: true,
                            ..
                        } => {
                            // Taken as applied (see `reconcile::log_maybe_applied`): the
                            // write becomes the base, so the server's copy is adopted, or
                            // merged with later local edits, without the write twice.
                            let local = LocalRecord::load(tx, &row.collection, &row.id)?;
                            let logged = reconcile::log_maybe_applied(
                                tx,
                                current,
                                row,
                                local.as_ref().and_then(|l| l.base.as_ref()),
                            )?;
                            store::acknowledge_row(tx, row, row.base_version)?;
                            notes.push(MergeNote {
                                collection: row.collection.clone(),
                                id: row.id.clone(),
                                conflict_id: logged.conflict_id,
                                strategy: logged.strategy,
                                needs_review: logged.needs_review,
                                fields: logged.fields,
                            });
                            conflicts.push(current.clone());
                        }
                        MutationResult::Conflict { current, .. } => conflicts.push(current.clone()),
                    }
                }
                Ok(())
            })
            .map_err(|e| store_failed("recording pushed changes", e))?;
        report.merged += notes.len() as u64;
        report.conflicts += notes.len() as u64;
        report.merges.extend(notes);
        let mut current = Vec::with_capacity(conflicts.len());
        for c in conflicts {
            if c.collection.is_empty() || c.version < 1 {
                return Err(Stop::Failure(
                    "the server answered a conflict without a valid current record".into(),
                ));
            }
            current.push(raw_record(c)?);
        }
        apply_remote(ctx, &current, report, None)?;
        (ctx.on_progress)(SyncProgress::now(
            ctx,
            SyncPhase::Push,
            report.pushed,
            total,
        ));
    }
    Ok(())
}

/// Summarises captured log lines into one report and uploads it. A report is built once
/// and kept until the server has it, so a failed upload resends the same report (the
/// server stores a report id once) and its lines are pruned only after it arrived.
/// Failing here leaves the outcome alone: the records are synced either way.
fn upload_logs(
    ctx: &SyncContext<'_>,
    retrier: &mut Retrier<'_>,
    report: &mut SyncReport,
) -> Result<(), Stop> {
    retrier.check_interrupt()?;
    let pending = match build_or_resume_report(ctx) {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(()),
        Err(e) => {
            report.logs_error = Some(format!("cannot build the log report: {e}"));
            return Ok(());
        }
    };
    (ctx.on_progress)(SyncProgress::now(ctx, SyncPhase::Logs, 0, None));
    match retrier.run("uploading the log report", || {
        ctx.transport.upload_logs(&pending.report)
    }) {
        Ok(_) => {
            ctx.store
                .write(|tx| pending.uploaded(tx))
                .map_err(|e| store_failed("recording the uploaded log report", e))?;
            report.logs_uploaded = pending.report.lines;
            Ok(())
        }
        Err(Stop::Cancelled) => Err(Stop::Cancelled),
        Err(Stop::Retry(why) | Stop::Failure(why)) => {
            report.logs_error = Some(why);
            Ok(())
        }
    }
}

fn build_or_resume_report(ctx: &SyncContext<'_>) -> crate::error::Result<Option<PendingReport>> {
    if let Some(p) = ctx.store.read(PendingReport::load)? {
        return Ok(Some(p));
    }
    let events = ctx
        .store
        .read(|c| LogRing::pending(c, ctx.options.log_lines_per_report))?;
    let Some(last) = events.last() else {
        return Ok(None);
    };
    let lines: Vec<_> = events.iter().map(LogEvent::to_line).collect();
    let budget = ReportBudget {
        interrupt: Some(ctx.interrupt.clone()),
        ..ReportBudget::default()
    };
    let pending = PendingReport {
        report: build_report(&lines, ctx.device, ctx.model, &budget),
        through_seq: last.seq,
    };
    ctx.store.write(|tx| pending.save(tx))?;
    Ok(Some(pending))
}

/// Test hook: aborts the process (as a kill would) when `ACCORD_CRASH_AT` names this
/// point. Lets the crash tests stop a real sync at a chosen instant. Compiled only with
/// the `test-hooks` feature; otherwise a no-op.
#[cfg(feature = "test-hooks")]
fn crash_point(name: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT
        .get_or_init(|| std::env::var("ACCORD_CRASH_AT").ok())
        .as_deref()
        == Some(name)
    {
        eprintln!("accord: crashing at {name} (ACCORD_CRASH_AT)");
        std::process::abort();
    }
}

#[cfg(not(feature = "test-hooks"))]
fn crash_point(_name: &str) {}
