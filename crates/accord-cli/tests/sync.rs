//! Two or more devices syncing through a real server on loopback.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::merge::{CollectionSchema, FieldPolicy};
use accord::merge::{Side, Strategy, SuggestionReason};
use accord::sync::{Backoff, SyncOptions};
use accord::transport::{HttpTransport, Traffic, Transport, TransportError};
use accord::{Accord, ChangeEvent, ChangeOrigin, ConflictResolution, SyncOutcome};
use accord_protocol::{
    ChangesPage, LogReceipt, LogReport, MutationBatch, MutationResults, RawData,
};
use common::TestServer;
use serde_json::json;

fn done(report: &accord::SyncReport) {
    assert_eq!(report.outcome, SyncOutcome::Done, "{report:#?}");
}

fn data(a: &Accord, id: &str) -> Option<serde_json::Value> {
    a.get("notes", id).unwrap().map(|r| r.data)
}

#[test]
fn offline_edits_on_two_devices_converge() {
    let server = TestServer::start();
    let schema = CollectionSchema::new()
        .with("tags", FieldPolicy::Set)
        .with("likes", FieldPolicy::Counter);
    let open = |name: &str, token: &str| {
        Accord::open(
            server
                .device_config(name, token)
                .with_collection("notes", schema.clone()),
        )
        .unwrap()
    };
    let a = open("a", &server.user("alice"));
    let b = open("b", &server.user("bob"));

    a.put(
        "notes",
        "n1",
        json!({"title": "t", "body": "one\ntwo\nthree\n", "tags": ["x"], "likes": 1}),
    )
    .unwrap();
    a.put(
        "notes",
        "n2",
        json!({"title": "second", "body": "keep me\n"}),
    )
    .unwrap();
    done(&a.sync());
    done(&b.sync());
    assert_eq!(data(&b, "n1"), data(&a, "n1"));

    // Offline on both.
    a.put(
        "notes",
        "n1",
        json!({"title": "t", "body": "one\ntwo\nthree\n", "tags": ["x", "a"], "likes": 3}),
    )
    .unwrap();
    b.put(
        "notes",
        "n1",
        json!({"title": "t (b)", "body": "one\ntwo\nthree\n", "tags": ["x", "b"], "likes": 2}),
    )
    .unwrap();
    a.delete("notes", "n2").unwrap();
    b.put(
        "notes",
        "n2",
        json!({"title": "second", "body": "keep me\nand this\n"}),
    )
    .unwrap();
    a.put("notes", "from-a", json!({"title": "a"})).unwrap();
    b.put("notes", "from-b", json!({"title": "b"})).unwrap();

    done(&a.sync());
    let rb = b.sync();
    done(&rb);
    assert_eq!(
        rb.merged, 2,
        "n1 merged by field, n2 delete-vs-edit: {rb:#?}"
    );
    done(&a.sync());
    done(&b.sync());

    let all_a = a.list("notes").unwrap();
    let all_b = b.list("notes").unwrap();
    let view = |v: Vec<accord::Record>| {
        v.into_iter()
            .map(|r| (r.id, r.data, r.pending))
            .collect::<Vec<_>>()
    };
    assert_eq!(view(all_a), view(all_b));
    let n1 = data(&a, "n1").unwrap();
    assert_eq!(n1["tags"], json!(["x", "b", "a"]));
    assert_eq!(n1["likes"], json!(4), "counter deltas add: 1 + 2 + 1");
    assert_eq!(n1["title"], json!("t (b)"));
    assert_eq!(
        data(&a, "n2").unwrap()["body"],
        json!("keep me\nand this\n"),
        "the edit beats the delete"
    );
    assert!(data(&a, "from-a").is_some() && data(&a, "from-b").is_some());
    assert_eq!(a.pending_mutations().unwrap(), 0);
    assert_eq!(b.pending_mutations().unwrap(), 0);

    let conflicts = b.conflicts(false).unwrap();
    let n2 = conflicts
        .iter()
        .find(|c| c.id == "n2")
        .expect("delete-vs-edit logged");
    assert_eq!(n2.strategy, Strategy::DeleteVsEdit);
    assert!(n2.needs_review);
    assert!(conflicts
        .iter()
        .any(|c| c.id == "n1" && c.strategy == Strategy::Field));
}

#[test]
fn edits_of_different_words_of_one_line_on_two_devices_merge_silently() {
    let server = TestServer::start();
    let a = server.device("a", &server.user("alice"));
    let b = server.device("b", &server.user("bob"));
    a.put(
        "notes",
        "m",
        json!({"body": "Meet Bob at 10am\nBring the notes\n"}),
    )
    .unwrap();
    done(&a.sync());
    done(&b.sync());
    a.put(
        "notes",
        "m",
        json!({"body": "Meet Robert at 10am\nBring the notes\n"}),
    )
    .unwrap();
    b.put(
        "notes",
        "m",
        json!({"body": "Meet Bob at 11am\nBring the notes\n"}),
    )
    .unwrap();
    done(&a.sync());
    let r = b.sync();
    done(&r);
    assert_eq!(r.conflicts, 0, "not flagged: {r:?}");
    assert_eq!(r.merges.len(), 1);
    assert_eq!(r.merges[0].strategy, Strategy::WordDiff3);
    done(&a.sync());
    for d in [&a, &b] {
        assert_eq!(
            data(d, "m").unwrap()["body"],
            json!("Meet Robert at 11am\nBring the notes\n")
        );
    }
    // Logged with both sides, so the app can show it and undo it.
    let c = &b.conflicts(false).unwrap()[0];
    assert!(!c.needs_review && c.suggested.is_none());
    assert_eq!(
        c.local.as_ref().unwrap()["body"],
        json!("Meet Bob at 11am\nBring the notes\n")
    );
    assert_eq!(
        c.remote.as_ref().unwrap()["body"],
        json!("Meet Robert at 10am\nBring the notes\n")
    );
}

#[test]
fn a_flagged_merge_suggests_a_resolution_that_one_call_applies() {
    let server = TestServer::start();
    let a = server.device("a", &server.user("alice"));
    let b = server.device("b", &server.user("bob"));
    a.put(
        "notes",
        "m",
        json!({"title": "t", "body": "The launch is on Monday.\n"}),
    )
    .unwrap();
    done(&a.sync());
    done(&b.sync());
    a.put(
        "notes",
        "m",
        json!({"title": "t", "body": "The launch is on Tuesday.\n"}),
    )
    .unwrap();
    b.put(
        "notes",
        "m",
        json!({"title": "t", "body": "The launch is on the first Friday of June.\n"}),
    )
    .unwrap();
    done(&b.sync());
    let r = a.sync();
    done(&r);
    assert_eq!(r.conflicts, 1);
    let c = &a.conflicts(true).unwrap()[0];
    assert!(c.needs_review);
    // The merge keeps both; the suggestion is the larger rewrite.
    assert_eq!(
        c.result.as_ref().unwrap()["body"],
        json!("The launch is on Tuesday.\nThe launch is on the first Friday of June.\n")
    );
    assert_eq!(
        c.suggested.as_ref().unwrap()["body"],
        json!("The launch is on the first Friday of June.\n")
    );
    let body_field = c.fields.iter().find(|f| f.field == "body").unwrap();
    assert!(matches!(
        body_field.suggestion,
        Some(SuggestionReason::LargerEdit { side: Side::Remote })
    ));
    // Edits made since the merge, elsewhere in the record, are kept.
    let mut edited = data(&a, "m").unwrap();
    edited["title"] = json!("Launch");
    a.put("notes", "m", edited).unwrap();
    a.resolve_conflict(c.conflict_id, ConflictResolution::Suggested)
        .unwrap();
    assert!(a.conflicts(true).unwrap().is_empty());
    done(&a.sync());
    done(&b.sync());
    for d in [&a, &b] {
        assert_eq!(
            data(d, "m").unwrap(),
            json!({"title": "Launch", "body": "The launch is on the first Friday of June.\n"})
        );
    }
    // A merge that needed no review has nothing to apply.
    let err = a
        .resolve_conflict(c.conflict_id + 1000, ConflictResolution::Suggested)
        .unwrap_err();
    assert!(err.to_string().contains("no conflict"), "{err}");
}

#[test]
fn overlapping_text_edit_keeps_both_sides_and_is_flagged() {
    let server = TestServer::start();
    let a = server.device("a", &server.user("alice"));
    let b = server.device("b", &server.user("bob"));
    a.put("notes", "m", json!({"body": "Standup on Tuesday\n"}))
        .unwrap();
    done(&a.sync());
    done(&b.sync());
    a.put("notes", "m", json!({"body": "Standup on Wednesday\n"}))
        .unwrap();
    b.put("notes", "m", json!({"body": "Standup on Thursday\n"}))
        .unwrap();
    done(&a.sync());
    let r = b.sync();
    done(&r);
    assert_eq!(r.conflicts, 1);
    done(&a.sync());
    let body = data(&a, "m").unwrap()["body"].as_str().unwrap().to_string();
    assert!(
        body.contains("Wednesday") && body.contains("Thursday"),
        "{body}"
    );
    assert_eq!(data(&a, "m"), data(&b, "m"));

    // A person restores the laptop's side; that becomes an edit like any other.
    let c = &b.conflicts(true).unwrap()[0];
    assert_eq!(c.strategy, Strategy::Fallback);
    assert_eq!(
        c.local.as_ref().unwrap()["body"],
        json!("Standup on Thursday\n")
    );
    b.resolve_conflict(c.conflict_id, ConflictResolution::UseLocal)
        .unwrap();
    assert!(b.conflicts(true).unwrap().is_empty());
    done(&b.sync());
    done(&a.sync());
    assert_eq!(
        data(&a, "m").unwrap()["body"],
        json!("Standup on Thursday\n")
    );
}

/// A transport that forwards to the real server but can lose answers, fail, or run
/// something in the middle of a request.
struct Flaky {
    inner: HttpTransport,
    lose_next_push_answer: AtomicBool,
    pushes: AtomicUsize,
    /// Fail the next log upload before it reaches the server.
    refuse_next_logs: AtomicBool,
    /// Let the next log upload reach the server but lose its answer.
    lose_next_logs_answer: AtomicBool,
    log_uploads: AtomicUsize,
    during_changes: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    during_logs: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// Let the next push reach the server, lose its answer and end the pass (the device
    /// went offline with a write sent and unanswered).
    lose_next_push_answer_and_stop: AtomicBool,
    /// Answer pages without their `features`, as a server before them did.
    hide_features: AtomicBool,
    /// Every batch pushed through it.
    batches: Mutex<Vec<MutationBatch>>,
    /// Streamed answers asked for, and pages they delivered.
    streams: AtomicUsize,
    streamed_pages: AtomicUsize,
    /// Cut each of the next streamed answers short with a network error after this many
    /// pages (0: never).
    cut_streams_after: AtomicUsize,
    cuts_left: AtomicUsize,
    /// Pages each streamed answer asked for.
    asked_pages: Mutex<Vec<u32>>,
}

impl Flaky {
    fn new(server: &TestServer, token: &str) -> Flaky {
        Flaky {
            inner: HttpTransport::new(
                &server.url(),
                token,
                &server.space,
                Duration::from_secs(5),
                Duration::from_secs(30),
            )
            .unwrap(),
            lose_next_push_answer: AtomicBool::new(false),
            pushes: AtomicUsize::new(0),
            refuse_next_logs: AtomicBool::new(false),
            lose_next_logs_answer: AtomicBool::new(false),
            log_uploads: AtomicUsize::new(0),
            during_changes: Mutex::new(None),
            during_logs: Mutex::new(None),
            lose_next_push_answer_and_stop: AtomicBool::new(false),
            hide_features: AtomicBool::new(false),
            batches: Mutex::new(Vec::new()),
            streams: AtomicUsize::new(0),
            streamed_pages: AtomicUsize::new(0),
            cut_streams_after: AtomicUsize::new(0),
            cuts_left: AtomicUsize::new(0),
            asked_pages: Mutex::new(Vec::new()),
        }
    }
}

impl Transport for Flaky {
    fn changes(
        &self,
        since: i64,
        limit: u32,
        count_remaining: bool,
    ) -> Result<ChangesPage<RawData>, TransportError> {
        let mut page = self.inner.changes(since, limit, count_remaining);
        if let Some(f) = self.during_changes.lock().unwrap().take() {
            f();
        }
        if self.hide_features.load(Ordering::SeqCst) {
            if let Ok(p) = page.as_mut() {
                p.features.clear();
            }
        }
        page
    }

    fn changes_stream(
        &self,
        since: i64,
        limit: u32,
        pages: u32,
        each: &mut dyn FnMut(ChangesPage<RawData>) -> bool,
    ) -> Result<(), TransportError> {
        self.streams.fetch_add(1, Ordering::SeqCst);
        let cut_after = self.cut_streams_after.load(Ordering::SeqCst);
        // Only an answer asked for more pages than arrive before the cut is cut.
        let cut = cut_after > 0
            && pages as usize > cut_after
            && self
                .cuts_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        self.asked_pages.lock().unwrap().push(pages);
        let mut delivered = 0;
        let mut was_cut = false;
        let answer = self.inner.changes_stream(since, limit, pages, &mut |page| {
            if cut && delivered == cut_after {
                was_cut = true;
                return false;
            }
            delivered += 1;
            self.streamed_pages.fetch_add(1, Ordering::SeqCst);
            each(page)
        });
        if was_cut {
            return Err(TransportError::transient("connection reset mid-stream"));
        }
        answer
    }

    fn push(&self, batch: &MutationBatch) -> Result<MutationResults, TransportError> {
        self.pushes.fetch_add(1, Ordering::SeqCst);
        self.batches.lock().unwrap().push(batch.clone());
        let answer = self.inner.push(batch);
        if self.lose_next_push_answer.swap(false, Ordering::SeqCst) {
            return Err(TransportError::transient("connection reset (answer lost)"));
        }
        if self
            .lose_next_push_answer_and_stop
            .swap(false, Ordering::SeqCst)
        {
            assert!(answer.is_ok(), "the push reached the server: {answer:?}");
            return Err(TransportError {
                class: accord::transport::ErrorClass::Protocol,
                status: None,
                message: "answer lost, device offline".into(),
                retry_after: None,
            });
        }
        answer
    }

    fn upload_logs(&self, report: &LogReport) -> Result<LogReceipt, TransportError> {
        self.log_uploads.fetch_add(1, Ordering::SeqCst);
        if let Some(f) = self.during_logs.lock().unwrap().take() {
            f();
        }
        if self.refuse_next_logs.swap(false, Ordering::SeqCst) {
            return Err(TransportError {
                class: accord::transport::ErrorClass::Transient,
                status: Some(503),
                message: "unavailable".into(),
                retry_after: None,
            });
        }
        let answer = self.inner.upload_logs(report);
        if self.lose_next_logs_answer.swap(false, Ordering::SeqCst) {
            return Err(TransportError::transient("connection reset (answer lost)"));
        }
        answer
    }

    fn traffic(&self) -> Traffic {
        self.inner.traffic()
    }
}

#[test]
fn retried_push_is_applied_once() {
    let server = TestServer::start();
    let token = server.user("alice");
    let a = server.device("a", &token);
    a.put("notes", "n", json!({"body": "hello\n"})).unwrap();
    let flaky = Flaky::new(&server, &token);
    flaky.lose_next_push_answer.store(true, Ordering::SeqCst);
    let seq_before = server.seq();
    let r = a.sync_via(&flaky, None);
    done(&r);
    assert_eq!(
        flaky.pushes.load(Ordering::SeqCst),
        2,
        "the lost answer was retried"
    );
    assert!(r.retries >= 1);
    assert_eq!(
        server.seq(),
        seq_before + 1,
        "the server applied the mutation once"
    );
    assert_eq!(server.version_of("notes", "n"), Some(1));
    assert_eq!(a.get("notes", "n").unwrap().unwrap().version, 1);
    assert_eq!(a.pending_mutations().unwrap(), 0);
}

#[test]
fn write_racing_a_pull_is_not_dropped() {
    let server = TestServer::start();
    let (ta, tb) = (server.user("alice"), server.user("bob"));
    let a = Arc::new(server.device("a", &ta));
    let b = server.device("b", &tb);
    b.put("notes", "n", json!({"title": "from b", "body": "b\n"}))
        .unwrap();
    done(&b.sync());
    done(&a.sync());
    b.put(
        "notes",
        "n",
        json!({"title": "from b again", "body": "b\n"}),
    )
    .unwrap();
    done(&b.sync());

    // While a's pull is in flight (after its local read), the user edits the same record.
    let flaky = Flaky::new(&server, &ta);
    let a2 = a.clone();
    *flaky.during_changes.lock().unwrap() = Some(Box::new(move || {
        a2.put(
            "notes",
            "n",
            json!({"title": "from b", "body": "b\nraced in\n"}),
        )
        .unwrap();
    }));
    done(&a.sync_via(&flaky, None));
    done(&a.sync());
    done(&b.sync());
    let n = data(&b, "n").unwrap();
    assert_eq!(
        n["body"],
        json!("b\nraced in\n"),
        "the racing write survived: {n}"
    );
    assert_eq!(n["title"], json!("from b again"), "and the remote edit too");
    assert_eq!(data(&a, "n"), data(&b, "n"));
}

#[test]
fn unreachable_server_reports_retry_and_keeps_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = accord::Config::new(dir.path().join("a.db")).with_server(
        "http://127.0.0.1:9",
        "t",
        "notes",
    );
    config.sync = SyncOptions {
        retry_budget: Duration::from_millis(300),
        backoff: Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
        },
        ..SyncOptions::default()
    };
    let a = Accord::open(config).unwrap();
    a.put("notes", "n", json!({"body": "offline\n"})).unwrap();
    let r = a.sync();
    assert!(matches!(r.outcome, SyncOutcome::Retry { .. }), "{r:?}");
    assert!(r.retries >= 1);
    assert_eq!(a.pending_mutations().unwrap(), 1);
}

#[test]
fn bad_token_is_a_failure_not_a_retry() {
    let server = TestServer::start();
    server.user("alice");
    let a = server.device("a", "acc_not_a_real_token");
    a.put("notes", "n", json!({"body": "x\n"})).unwrap();
    let r = a.sync();
    match &r.outcome {
        SyncOutcome::Failure { reason } => assert!(reason.contains("token"), "{reason}"),
        other => panic!("expected failure, got {other:?}"),
    }
    assert_eq!(a.pending_mutations().unwrap(), 1, "nothing queued is lost");
}

#[test]
fn interrupt_stops_a_sync_between_steps() {
    let server = TestServer::start();
    let token = server.user("alice");
    let a = Arc::new(server.device("a", &token));
    let seeder = server.device("seed", &server.user("seeder"));
    let rows: Vec<_> = (0..3000)
        .map(|i| (format!("r{i}"), json!({"i": i})))
        .collect();
    seeder.put_many("notes", rows).unwrap();
    done(&seeder.sync());

    let b = Arc::new(device_paging(&server, "b", &token, 10));
    let handle = b.interrupt_handle();
    let progress: accord::ProgressListener = Arc::new(move |p| {
        if p.done >= 50 {
            handle.interrupt();
        }
    });
    let r = b.sync_with_progress(Some(progress));
    assert_eq!(r.outcome, SyncOutcome::Cancelled);
    assert!(
        r.pulled >= 50 && r.pulled < 3000,
        "stopped early: {}",
        r.pulled
    );
    // What was pulled is consistent, and the next sync finishes the job.
    done(&b.sync());
    assert_eq!(b.list("notes").unwrap().len(), 3000);
    drop(a);
}

#[test]
fn observers_hear_local_and_synced_changes() {
    let server = TestServer::start();
    let a = server.device("a", &server.user("alice"));
    let b = server.device("b", &server.user("bob"));
    let events: Arc<Mutex<Vec<ChangeEvent>>> = Arc::default();
    let sink = events.clone();
    let id = b.observe(
        Some("notes"),
        Arc::new(move |e: &ChangeEvent| sink.lock().unwrap().push(e.clone())),
    );
    b.put("notes", "local", json!({"x": 1})).unwrap();
    b.put("other", "ignored", json!({"x": 1})).unwrap();
    a.put("notes", "remote", json!({"x": 2})).unwrap();
    done(&a.sync());
    done(&b.sync());
    let got = events.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        (got[0].ids.clone(), got[0].origin),
        (vec!["local".to_string()], ChangeOrigin::Local)
    );
    assert_eq!(
        (got[1].ids.clone(), got[1].origin),
        (vec!["remote".to_string()], ChangeOrigin::Sync)
    );
    assert!(b.unobserve(id));
}

/// Puts `n` records `r00000`, `r00001`, ... `{"i": i}` on the server through device
/// "a" (one push); returns that sync's report.
fn numbered_records_on_the_server(server: &TestServer, n: usize) -> accord::SyncReport {
    let a = server.device("a", &server.user("alice"));
    let rows: Vec<_> = (0..n)
        .map(|i| (format!("r{i:05}"), json!({"i": i})))
        .collect();
    a.put_many("notes", rows).unwrap();
    let r = a.sync();
    done(&r);
    r
}

/// A new device of `token`'s that pulls `page_limit` records a page.
fn device_paging(server: &TestServer, name: &str, token: &str, page_limit: u32) -> Accord {
    let mut config = server.device_config(name, token);
    config.sync.page_limit = page_limit;
    Accord::open(config).unwrap()
}

#[test]
fn many_records_page_through_the_feed() {
    let server = TestServer::start();
    assert_eq!(numbered_records_on_the_server(&server, 2500).pushed, 2500);
    let b = device_paging(&server, "b", &server.user("bob"), 300);
    let r = b.sync();
    done(&r);
    assert_eq!(r.pulled, 2500);
    assert_eq!(b.list("notes").unwrap().len(), 2500);
    assert_eq!(
        b.get("notes", "r02499").unwrap().unwrap().data,
        json!({"i": 2499})
    );
}

#[test]
fn a_streamed_pull_cut_short_resumes_after_its_last_whole_page_and_repeats_none() {
    let server = TestServer::start();
    numbered_records_on_the_server(&server, 1000);
    let token = server.user("bob");
    let b = device_paging(&server, "b", &token, 40);
    let flaky = Flaky::new(&server, &token);
    // The first two streamed answers break after 3 pages each.
    flaky.cut_streams_after.store(3, Ordering::SeqCst);
    flaky.cuts_left.store(2, Ordering::SeqCst);
    let r = b.sync_via(&flaky, None);
    done(&r);
    assert_eq!(r.pulled, 1000, "every record merged once: {r:#?}");
    assert_eq!(b.list("notes").unwrap().len(), 1000);
    assert_eq!(
        b.get("notes", "r00999").unwrap().unwrap().data,
        json!({"i": 999})
    );
    // 25 pages: the first asked alone (it says whether the server streams), 24 streamed:
    // 16 asked, cut after 3; then 3 (whole), 6 (cut after 3), 3, 6, 12 (the last 6).
    assert_eq!(flaky.streamed_pages.load(Ordering::SeqCst), 24);
    assert_eq!(*flaky.asked_pages.lock().unwrap(), vec![16, 3, 6, 3, 6, 12]);
    assert_eq!(
        r.retries, 0,
        "a cut after whole pages is progress, not a failure: {r:#?}"
    );
}

#[test]
fn a_link_too_slow_for_a_whole_answer_settles_on_smaller_answers_and_finishes() {
    let server = TestServer::start();
    numbered_records_on_the_server(&server, 1000);
    let token = server.user("bob");
    let b = device_paging(&server, "b", &token, 20);
    let flaky = Flaky::new(&server, &token);
    // Every answer asked for more than 4 pages breaks after 4 (what the link carries
    // within a request's time).
    flaky.cut_streams_after.store(4, Ordering::SeqCst);
    flaky.cuts_left.store(usize::MAX, Ordering::SeqCst);
    let r = b.sync_via(&flaky, None);
    done(&r);
    assert_eq!(r.pulled, 1000, "{r:#?}");
    assert_eq!(b.list("notes").unwrap().len(), 1000);
    assert_eq!(r.retries, 0, "{r:#?}");
    assert_eq!(flaky.streamed_pages.load(Ordering::SeqCst), 49);
    let asked = flaky.asked_pages.lock().unwrap().clone();
    assert_eq!(&asked[..4], &[16, 4, 8, 4], "{asked:?}");
    assert!(asked[1..].iter().all(|&p| p <= 8), "{asked:?}");
}

#[test]
fn a_pull_from_a_server_that_does_not_stream_asks_page_by_page() {
    let server = TestServer::start();
    numbered_records_on_the_server(&server, 100);
    let token = server.user("bob");
    let b = device_paging(&server, "b", &token, 10);
    let flaky = Flaky::new(&server, &token);
    flaky.hide_features.store(true, Ordering::SeqCst);
    let r = b.sync_via(&flaky, None);
    done(&r);
    assert_eq!(r.pulled, 100);
    assert_eq!(b.list("notes").unwrap().len(), 100);
    assert_eq!(
        flaky.streams.load(Ordering::SeqCst),
        0,
        "never asked to stream"
    );
}

#[test]
fn a_record_created_and_deleted_offline_never_reaches_the_server() {
    let server = TestServer::start();
    let a = server.device("a", &server.user("alice"));
    a.put("notes", "tmp", json!({"x": 1})).unwrap();
    assert!(a.delete("notes", "tmp").unwrap());
    assert_eq!(a.pending_mutations().unwrap(), 0);
    let before = server.seq();
    done(&a.sync());
    assert_eq!(server.seq(), before);
}

#[test]
fn closed_instance_refuses_calls_and_closing_twice_is_safe() {
    let server = TestServer::start();
    let a = server.device("a", &server.user("alice"));
    a.shutdown().unwrap();
    a.shutdown().unwrap();
    assert!(matches!(
        a.put("notes", "n", json!({})),
        Err(accord::Error::Closed)
    ));
    assert!(matches!(a.sync().outcome, SyncOutcome::Failure { .. }));
}

fn log_reports(server: &TestServer) -> Vec<accord_server::storage::StoredLogReport> {
    server.storage.log_reports(&server.space, 100).unwrap()
}

#[test]
fn log_report_survives_a_failed_upload_and_is_stored_once() {
    let server = TestServer::start();
    let token = server.user("alice");
    let mut config = server.device_config("a", &token);
    // No time for transient retries inside one sync: a failure waits for the next sync.
    config.sync.retry_budget = Duration::from_millis(1);
    let a = Accord::open(config).unwrap();
    for i in 0..300 {
        a.log(
            "I",
            "Sync",
            &format!("fetched page {i} in {} ms", 10 + i % 7),
        )
        .unwrap();
    }
    a.log(
        "E",
        "Db",
        "disk full: cannot write /data/notes.db-wal (28 bytes free)",
    )
    .unwrap();

    let flaky = Flaky::new(&server, &token);
    flaky.refuse_next_logs.store(true, Ordering::SeqCst);
    let r = a.sync_via(&flaky, None);
    done(&r);
    assert!(r.logs_error.is_some(), "{r:?}");
    assert_eq!(r.logs_uploaded, 0);
    assert_eq!(
        a.log_stats().unwrap().rows,
        301,
        "lines kept for the next sync"
    );
    assert!(log_reports(&server).is_empty());

    // Next sync: the same report reaches the server, but its answer is lost.
    flaky.lose_next_logs_answer.store(true, Ordering::SeqCst);
    let r = a.sync_via(&flaky, None);
    assert!(r.logs_error.is_some());
    assert_eq!(log_reports(&server).len(), 1);
    assert_eq!(a.log_stats().unwrap().rows, 301);

    // And the one after resends it: the server keeps one copy, the ring is pruned.
    let r = a.sync_via(&flaky, None);
    done(&r);
    assert_eq!(r.logs_error, None);
    assert_eq!(r.logs_uploaded, 301);
    assert_eq!(flaky.log_uploads.load(Ordering::SeqCst), 3);
    let reports = log_reports(&server);
    assert_eq!(reports.len(), 1, "sent once");
    let report = &reports[0].report;
    assert_eq!(report.lines, 301);
    assert!(
        report
            .critical
            .iter()
            .any(|t| t.template.contains("disk full")),
        "{report:?}"
    );
    assert_eq!(a.log_stats().unwrap().rows, 0);

    // Nothing new to report: no upload.
    done(&a.sync_via(&flaky, None));
    assert_eq!(flaky.log_uploads.load(Ordering::SeqCst), 3);
}

/// Runs `sql` on the store file from a connection of its own, as damage (a bad sector, a
/// stray tool) would change it under the app.
fn damage(store: &std::path::Path, sql: &str) {
    rusqlite::Connection::open(store)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[test]
fn a_queued_write_whose_data_is_damaged_is_quarantined_not_sent() {
    let server = TestServer::start();
    let token = server.user("alice");
    let a = server.device("a", &token);
    a.put("notes", "n", json!({"body": "first\n"})).unwrap();
    a.put("notes", "m", json!({"body": "other\n"})).unwrap();
    done(&a.sync());
    // Pulls the two writes back, so the next pull has nothing for the damaged record (a
    // pull that must merge into a record it cannot read fails the sync, as it should).
    done(&a.sync());
    a.put("notes", "n", json!({"body": "second\n"})).unwrap();
    a.put("notes", "m", json!({"body": "other, edited\n"}))
        .unwrap();
    damage(
        &server.store_path("a"),
        r#"UPDATE records SET data = '{"body": "sec' WHERE id = 'n'"#,
    );

    let r = a.sync();
    done(&r);
    assert_eq!(r.quarantined.len(), 1, "{r:#?}");
    let q = &r.quarantined[0];
    assert_eq!((q.collection.as_str(), q.id.as_str()), ("notes", "n"));
    assert!(q.reason.contains("not valid JSON"), "{}", q.reason);
    assert_eq!(
        server.data_of("notes", "n"),
        Some(json!({"body": "first\n"})),
        "the server keeps the last good copy: nothing was sent in the damaged row's place"
    );
    assert_eq!(server.version_of("notes", "n"), Some(1));
    assert_eq!(
        server.data_of("notes", "m"),
        Some(json!({"body": "other, edited\n"})),
        "the other records sync as usual"
    );
    assert_eq!(r.pending, 1, "the damaged row is kept");
    let row = &a.outbox().unwrap()[0];
    assert_eq!(
        row.data.as_deref(),
        Some(r#"{"body": "sec"#),
        "with its data"
    );
    assert!(row.quarantined.is_some());

    // Every later sync still says so, and still sends nothing for it.
    let r = a.sync();
    done(&r);
    assert_eq!(r.quarantined.len(), 1);
    assert_eq!(server.version_of("notes", "n"), Some(1));
}

#[test]
fn a_new_write_of_the_record_supersedes_its_quarantined_write() {
    let server = TestServer::start();
    let token = server.user("alice");
    let a = server.device("a", &token);
    a.put("notes", "n", json!({"body": "first\n"})).unwrap();
    // Taken from the queue and sent once (never reaching the server), its answer lost,
    // then its frozen copy damaged.
    damage(
        &server.store_path("a"),
        r#"INSERT INTO outbox (mutation_id, collection, id, base_version, data, hlc, created_ms, attempts)
               SELECT 'm-lost', collection, id, version, '[1, 2', hlc, 1, 1 FROM records WHERE id = 'n';
           UPDATE records SET queued = NULL WHERE id = 'n'"#,
    );
    let r = a.sync();
    assert_eq!(r.quarantined.len(), 1, "{r:#?}");
    assert_eq!(server.version_of("notes", "n"), None, "nothing was sent");

    a.put("notes", "n", json!({"body": "rewritten\n"})).unwrap();
    let r = a.sync();
    done(&r);
    assert_eq!(r.quarantined, vec![], "{r:#?}");
    assert_eq!(r.pending, 0);
    assert_eq!(
        server.data_of("notes", "n"),
        Some(json!({"body": "rewritten\n"}))
    );
}

#[test]
fn an_outbox_that_cannot_be_read_after_the_pass_is_not_reported_done() {
    let server = TestServer::start();
    let token = server.user("alice");
    let a = server.device("a", &token);
    a.put("notes", "n", json!({"body": "hello\n"})).unwrap();
    a.log("E", "Db", "disk full").unwrap();
    let flaky = Flaky::new(&server, &token);
    let store = server.store_path("a");
    // The last step of the pass (the log upload) runs after the push; the outbox breaks
    // under it.
    *flaky.during_logs.lock().unwrap() = Some(Box::new(move || {
        damage(&store, "DROP TABLE outbox");
    }));
    let r = a.sync_via(&flaky, None);
    assert_eq!(r.pushed, 1);
    match &r.outcome {
        SyncOutcome::Failure { reason } => {
            assert!(reason.contains("reading the outbox"), "{reason}")
        }
        other => panic!(
            "a store error was hidden: {other:?} with pending {}",
            r.pending
        ),
    }
}

#[test]
fn log_ring_stays_bounded_under_a_flood() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = accord::Config::new(dir.path().join("a.db"));
    config.log_ring = accord::store::LogRing {
        max_rows: 1_000,
        max_bytes: 64 * 1024,
    };
    let a = Accord::open(config).unwrap();
    for i in 0..20_000 {
        a.log("D", "Flood", &format!("tick {i} value={}", i * 7))
            .unwrap();
    }
    let stats = a.log_stats().unwrap();
    assert!(stats.rows <= 1_000 && stats.bytes <= 64 * 1024, "{stats:?}");
    assert!(
        stats.rows > 500,
        "the ring keeps the newest lines: {stats:?}"
    );
    assert_eq!(
        stats.rows + stats.dropped,
        20_000,
        "every dropped line is counted"
    );
}

/// A server from before `remaining` existed: it never counts.
struct OldServer(HttpTransport);

impl Transport for OldServer {
    fn changes(
        &self,
        since: i64,
        limit: u32,
        _count_remaining: bool,
    ) -> Result<ChangesPage<RawData>, TransportError> {
        self.0.changes(since, limit, false)
    }
    fn push(&self, batch: &MutationBatch) -> Result<MutationResults, TransportError> {
        self.0.push(batch)
    }
    fn upload_logs(&self, report: &LogReport) -> Result<LogReceipt, TransportError> {
        self.0.upload_logs(report)
    }
    fn traffic(&self) -> Traffic {
        self.0.traffic()
    }
}

#[test]
fn progress_counts_records_of_the_total_and_bytes_as_they_move() {
    use accord::sync::{SyncPhase, SyncProgress};
    let server = TestServer::start();
    let seeder_token = server.user("seeder");
    let mut config = server.device_config("seed", &seeder_token);
    config.sync.push_batch = 400;
    let seeder = Accord::open(config).unwrap();
    let rows: Vec<_> = (0..1_200)
        .map(|i| (format!("r{i}"), json!({"body": format!("line {i}\n")})))
        .collect();
    seeder.put_many("notes", rows).unwrap();
    let seen: Arc<Mutex<Vec<SyncProgress>>> = Arc::default();
    let record = |seen: &Arc<Mutex<Vec<SyncProgress>>>| -> accord::ProgressListener {
        let seen = seen.clone();
        Arc::new(move |p: &SyncProgress| seen.lock().unwrap().push(*p))
    };
    done(&seeder.sync_with_progress(Some(record(&seen))));
    let pushes: Vec<(u64, Option<u64>)> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.phase == SyncPhase::Push)
        .map(|p| (p.done, p.total))
        .collect();
    assert_eq!(
        pushes,
        [(400, Some(1200)), (800, Some(1200)), (1200, Some(1200))]
    );

    let b = device_paging(&server, "b", &server.user("bob"), 500);
    seen.lock().unwrap().clear();
    let report = b.sync_with_progress(Some(record(&seen)));
    done(&report);
    let pulls: Vec<SyncProgress> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.phase == SyncPhase::Pull)
        .copied()
        .collect();
    let counts: Vec<(u64, Option<u64>)> = pulls.iter().map(|p| (p.done, p.total)).collect();
    assert_eq!(
        counts,
        [(500, Some(1200)), (1000, Some(1200)), (1200, Some(1200))]
    );
    // Bytes never go back and end at what the report says crossed the network. (The next
    // page is fetched while one is merged, so two reports may see the same bytes.)
    assert!(pulls
        .windows(2)
        .all(|w| w[0].bytes_received <= w[1].bytes_received));
    assert!(pulls[0].bytes_received > 0);
    let last = pulls.last().unwrap();
    assert!(last.bytes_received > 0 && last.bytes_received <= report.bytes_received);

    // A server that cannot count still drives progress, without a total.
    let c = device_paging(&server, "c", &server.user("carol"), 500);
    let old = OldServer(
        HttpTransport::new(
            &server.url(),
            &server.user("dave"),
            "notes",
            Duration::from_secs(5),
            Duration::from_secs(30),
        )
        .unwrap(),
    );
    seen.lock().unwrap().clear();
    done(&c.sync_via(&old, Some(record(&seen))));
    let counts: Vec<(u64, Option<u64>)> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.phase == SyncPhase::Pull)
        .map(|p| (p.done, p.total))
        .collect();
    assert_eq!(counts, [(500, None), (1000, None), (1200, None)]);
}

/// A server that forgets mutation ids after `window` (the retention window for devices
/// that do not come back).
fn server_with_window(window: Duration) -> TestServer {
    TestServer::start_with(accord_server::ServerOptions {
        mutation_id_window: window,
        ..Default::default()
    })
}

/// Opens a device whose notes count `likes` as a counter.
fn counting_device(server: &TestServer, name: &str, token: &str) -> Accord {
    let schema = CollectionSchema::new().with("likes", FieldPolicy::Counter);
    Accord::open(
        server
            .device_config(name, token)
            .with_collection("notes", schema),
    )
    .unwrap()
}

/// One sync of `device` whose push reaches the server and whose answer is lost; the
/// pass ends there, as when the device goes offline with its write sent.
fn push_and_lose_the_answer(server: &TestServer, device: &Accord, token: &str) {
    let flaky = Flaky::new(server, token);
    flaky
        .lose_next_push_answer_and_stop
        .store(true, Ordering::SeqCst);
    let r = device.sync_via(&flaky, None);
    assert!(matches!(r.outcome, SyncOutcome::Failure { .. }), "{r:#?}");
}

#[test]
fn a_device_offline_past_the_id_window_neither_loses_nor_doubles_its_write() {
    let window = Duration::from_millis(300);
    let server = server_with_window(window);
    let (ta, tb) = (server.user("alice"), server.user("bob"));
    let a = counting_device(&server, "a", &ta);
    let b = counting_device(&server, "b", &tb);
    a.put("notes", "n", json!({"body": "one\n", "likes": 1}))
        .unwrap();
    done(&a.sync());
    done(&b.sync());

    // A adds 4 likes; the server applies it, the answer is lost and A goes offline.
    a.put("notes", "n", json!({"body": "one\n", "likes": 5}))
        .unwrap();
    push_and_lose_the_answer(&server, &a, &ta);
    assert_eq!(a.pending_mutations().unwrap(), 1, "sent, unanswered");
    assert_eq!(server.data_of("notes", "n").unwrap()["likes"], json!(5));

    // B adds 2 likes on top; then A stays away longer than the server keeps ids.
    done(&b.sync());
    b.put("notes", "n", json!({"body": "one\n", "likes": 7}))
        .unwrap();
    done(&b.sync());
    std::thread::sleep(window * 2);

    // A returns: its resend is not applied again, and the 4 likes are not counted twice.
    let r = a.sync();
    done(&r);
    assert_eq!(server.data_of("notes", "n").unwrap()["likes"], json!(7));
    assert_eq!(data(&a, "n").unwrap()["likes"], json!(7), "{r:#?}");
    assert_eq!(a.pending_mutations().unwrap(), 0);
    // A's own version is not lost: the conflict log holds it, flagged for review.
    let conflicts = a.conflicts(true).unwrap();
    let c = conflicts
        .iter()
        .find(|c| c.id == "n")
        .expect("the resent write is in the conflict log");
    assert_eq!(c.strategy, Strategy::MaybeApplied);
    assert_eq!(c.local.as_ref().unwrap()["likes"], json!(5));
    done(&b.sync());
    assert_eq!(data(&b, "n").unwrap()["likes"], json!(7));
}

#[test]
fn a_lost_answer_resent_after_the_id_window_is_answered_from_the_record() {
    let window = Duration::from_millis(300);
    let server = server_with_window(window);
    let token = server.user("alice");
    let a = counting_device(&server, "a", &token);
    a.put("notes", "n", json!({"body": "one\n", "likes": 1}))
        .unwrap();
    push_and_lose_the_answer(&server, &a, &token);
    let seq = server.seq();
    std::thread::sleep(window * 2);
    // Another device's push makes the server run its window.
    let other = server.device("b", &server.user("bob"));
    other.put("notes", "m", json!({"body": "other\n"})).unwrap();
    done(&other.sync());
    assert_eq!(server.seq(), seq + 1);

    done(&a.sync());
    assert_eq!(server.seq(), seq + 1, "the resend was not applied again");
    assert_eq!(server.version_of("notes", "n"), Some(1));
    assert_eq!(a.get("notes", "n").unwrap().unwrap().version, 1);
    assert_eq!(a.pending_mutations().unwrap(), 0);
    assert!(a.conflicts(true).unwrap().is_empty(), "nothing to review");
}

#[test]
fn the_server_forgets_a_devices_ids_once_it_has_their_answers() {
    let server = TestServer::start();
    let token = server.user("alice");
    let a = server.device("a", &token);
    // Each push tells the server which answers A holds; it deletes the ids they cover
    // once every 16 outbox positions, so A leaves at most 16 ids plus one batch.
    for round in 0..12 {
        let records = (0..10)
            .map(|i| (format!("r{round}-{i}"), json!({"body": format!("{i}\n")})))
            .collect();
        a.put_many("notes", records).unwrap();
        done(&a.sync());
        let kept = server.storage.mutation_ids().unwrap();
        assert!(kept <= 16 + 10, "round {round}: {kept} ids kept");
    }
    assert_eq!(server.seq(), 120, "every write applied");
}

#[test]
fn a_client_leaves_out_the_new_push_fields_for_a_server_that_does_not_list_them() {
    let server = TestServer::start();
    let token = server.user("alice");
    let a = server.device("a", &token);
    let flaky = Flaky::new(&server, &token);
    a.put("notes", "n", json!({"body": "one\n"})).unwrap();
    done(&a.sync_via(&flaky, None));
    flaky.hide_features.store(true, Ordering::SeqCst);
    a.put("notes", "m", json!({"body": "two\n"})).unwrap();
    done(&a.sync_via(&flaky, None));
    let batches = flaky.batches.lock().unwrap();
    assert_eq!(batches.len(), 2);
    assert!(batches[0].device.is_some() && batches[0].answered_below.is_some());
    assert!(batches[0].mutations.iter().all(|m| m.outbox_seq.is_some()));
    assert_eq!(batches[1].device, None);
    assert_eq!(batches[1].answered_below, None);
    assert!(batches[1].mutations.iter().all(|m| m.outbox_seq.is_none()));
    assert_eq!(server.version_of("notes", "m"), Some(1));
}
