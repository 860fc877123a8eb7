//! Security of the HTTP surface: every endpoint against every kind of bad credential,
//! with zero leaks; tokens at rest; the per-token rate limit; the metrics token.
//!
//! Runs against SQLite, and against PostgreSQL when `ACCORD_TEST_POSTGRES` is set (as
//! `make test-postgres` does).

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use accord_server::{auth, RateLimit, ServerOptions};
use common::{request, TestServer};
use serde_json::{json, Value};

/// What a request carries in `Authorization`.
#[derive(Debug, Clone, Copy)]
enum Credential {
    None,
    NotBearer,
    UnknownToken,
    RevokedToken,
    OtherSpaceToken,
}

const MARKER: &str = "SECRET-MARKER-7f3a";

fn log_report(id: &str) -> String {
    json!({
        "report_id": id, "device": "d", "window_start_ms": 0, "window_end_ms": 1,
        "lines": 1, "bytes": 10, "templates": [], "critical": [], "summary": MARKER, "model": ""
    })
    .to_string()
}

#[test]
fn every_endpoint_refuses_every_bad_credential_and_leaks_nothing() {
    let s = TestServer::start();
    let alice = s.user("alice");
    // A record only alice's space holds; no refused request may show any of it.
    let url = |space: &str, what: &str| format!("{}/v1/spaces/{space}/{what}", s.url());
    let (st, _, _) = request(
        "POST",
        &url("notes", "mutations"),
        Some(&format!("Bearer {alice}")),
        Some(&json!({"mutations": [{"mutation_id": "m-secret", "collection": "notes", "id": "secret-note", "base_version": 0, "data": {"body": MARKER}}]}).to_string()),
    );
    assert_eq!(st, 200);
    let seq_before = s.seq();

    let revoked = s.user("mallory");
    s.storage.revoke_tokens("mallory").unwrap();
    s.storage.add_space("other").unwrap();
    let outsider = {
        let t = auth::new_token().unwrap();
        s.storage.add_user("oscar", &auth::token_hash(&t)).unwrap();
        s.storage.grant("oscar", "other").unwrap();
        t
    };

    let endpoints: [(&str, &str, Option<String>); 3] = [
        ("GET", "changes?since=0", None),
        (
            "POST",
            "mutations",
            Some(json!({"mutations": [{"mutation_id": "m-evil", "collection": "notes", "id": "secret-note", "base_version": 1, "data": {"body": "overwritten"}}]}).to_string()),
        ),
        ("POST", "logs", Some(log_report("r-evil"))),
    ];
    let credentials = [
        Credential::None,
        Credential::NotBearer,
        Credential::UnknownToken,
        Credential::RevokedToken,
        Credential::OtherSpaceToken,
    ];
    let mut checked = 0;
    for (method, path, body) in &endpoints {
        for credential in credentials {
            let header = match credential {
                Credential::None => None,
                Credential::NotBearer => Some(format!("Basic {alice}")),
                Credential::UnknownToken => Some(format!("Bearer {}", auth::new_token().unwrap())),
                Credential::RevokedToken => Some(format!("Bearer {revoked}")),
                Credential::OtherSpaceToken => Some(format!("Bearer {outsider}")),
            };
            let (status, _, text) = request(
                method,
                &url("notes", path),
                header.as_deref(),
                body.as_deref(),
            );
            let expected = match credential {
                Credential::OtherSpaceToken => 404,
                _ => 401,
            };
            let case = format!("{method} {path} with {credential:?}");
            assert_eq!(status, expected, "{case}: {text}");
            let err: Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("{case}: not JSON: {text}"));
            assert!(
                err["error"].is_string() && err["message"].is_string(),
                "{case}: {err}"
            );
            for secret in [
                MARKER,
                "secret-note",
                "m-secret",
                alice.as_str(),
                outsider.as_str(),
            ] {
                assert!(!text.contains(secret), "{case} leaked '{secret}': {text}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 15);
    // The outsider cannot tell a space it may not see from one that does not exist.
    let (missing, _, missing_text) = request(
        "GET",
        &url("no-such-space", "changes"),
        Some(&format!("Bearer {outsider}")),
        None,
    );
    let (hidden, _, hidden_text) = request(
        "GET",
        &url("notes", "changes"),
        Some(&format!("Bearer {outsider}")),
        None,
    );
    assert_eq!((missing, hidden), (404, 404));
    let code = |t: &str| serde_json::from_str::<Value>(t).unwrap()["error"].clone();
    assert_eq!(code(&missing_text), code(&hidden_text));

    // Nothing was written by any refused request, and alice still reads her record.
    assert_eq!(s.seq(), seq_before);
    assert!(s.storage.log_reports("notes", 10).unwrap().is_empty());
    let (st, _, text) = request(
        "GET",
        &url("notes", "changes?since=0"),
        Some(&format!("Bearer {alice}")),
        None,
    );
    assert_eq!(st, 200);
    assert!(text.contains(MARKER));
    assert!(!text.contains("overwritten"));
}

#[test]
fn tokens_are_stored_only_as_hashes() {
    let s = TestServer::start();
    let token = s.user("alice");
    let hash = auth::token_hash(&token);
    assert_ne!(hash, token);
    if accord_server::storage::is_postgres_url(&s.db) {
        let mut c = postgres::Client::connect(&s.db, postgres::NoTls).unwrap();
        let mut count = |v: &str| -> i64 {
            c.query_one("SELECT count(*) FROM tokens WHERE token_hash = $1", &[&v])
                .unwrap()
                .get(0)
        };
        assert_eq!((count(&hash), count(&token)), (1, 0));
    } else {
        // Every byte of the database and its WAL: the token itself is nowhere, its
        // hash is there.
        let mut bytes = Vec::new();
        for suffix in ["", "-wal"] {
            if let Ok(b) = std::fs::read(format!("{}{suffix}", s.db)) {
                bytes.extend(b);
            }
        }
        let holds = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(holds(&hash), "the hash should be stored");
        assert!(!holds(&token), "the token itself is stored in the database");
        assert!(!holds(&token[auth::TOKEN_PREFIX.len()..]));
    }
}

#[test]
fn a_token_over_its_rate_gets_429_with_retry_after_and_others_are_unaffected() {
    let s = TestServer::start_with(ServerOptions {
        rate_limit: Some(RateLimit {
            per_second: 0.5,
            burst: 3,
        }),
        ..ServerOptions::default()
    });
    let alice = s.user("alice");
    let bob = s.user("bob");
    let feed = format!("{}/v1/spaces/notes/changes", s.url());
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let (st, ra, text) = request("GET", &feed, Some(&format!("Bearer {alice}")), None);
        if st == 429 {
            retry_after = ra;
            assert!(text.contains("rate_limited"), "{text}");
        }
        statuses.push(st);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // At 0.5 requests/s the next request is allowed in at most 2 s.
    let secs: u64 = retry_after.expect("Retry-After on a 429").parse().unwrap();
    assert!((1..=2).contains(&secs), "Retry-After: {secs}");
    assert_eq!(
        request("GET", &feed, Some(&format!("Bearer {bob}")), None).0,
        200
    );
    let metrics = ureq::get(&format!("{}/metrics", s.url()))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(metrics.contains("accord_rate_limited_total 2"), "{metrics}");
}

#[test]
fn the_client_honours_retry_after_and_its_sync_still_finishes() {
    let s = TestServer::start_with(ServerOptions {
        rate_limit: Some(RateLimit {
            per_second: 1.0,
            burst: 2,
        }),
        ..ServerOptions::default()
    });
    let token = s.user("alice");
    let mut config = s.device_config("a", &token);
    config.sync.retry_budget = Duration::from_secs(20);
    config.sync.push_batch = 1;
    let a = accord::Accord::open(config).unwrap();
    for i in 0..4 {
        a.put("notes", &format!("n{i}"), json!({"body": format!("{i}\n")}))
            .unwrap();
    }
    // One pull and four one-mutation pushes: five requests against a burst of two.
    let started = std::time::Instant::now();
    let report = a.sync();
    assert_eq!(report.outcome, accord::SyncOutcome::Done, "{report:?}");
    assert_eq!(report.pushed, 4);
    assert!(report.retries >= 1, "the limit was never hit: {report:?}");
    // Retry-After was waited out rather than hammered: three refills at 1/s.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(s.seq(), 4);
}

#[test]
fn metrics_can_require_a_token() {
    let s = TestServer::start_with(ServerOptions {
        metrics_token: Some("scrape-secret".into()),
        ..ServerOptions::default()
    });
    let url = format!("{}/metrics", s.url());
    assert_eq!(request("GET", &url, None, None).0, 401);
    assert_eq!(
        request("GET", &url, Some("Bearer scrape-secreT"), None).0,
        401
    );
    assert_eq!(
        request("GET", &url, Some("Bearer scrape-secre"), None).0,
        401
    );
    let (st, _, text) = request("GET", &url, Some("Bearer scrape-secret"), None);
    assert_eq!(st, 200);
    assert!(text.contains("accord_auth_failures_total 3"), "{text}");
}
