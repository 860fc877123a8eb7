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
use common::{header, request, TestServer};
use serde_json::{json, Value};
use ureq::http::Request;

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
    let metrics = common::client()
        .get(&format!("{}/metrics", s.url()))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
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

/// Who asks for a console page.
#[derive(Debug, Clone, Copy)]
enum ConsoleCredential {
    Nothing,
    SyncTokenAsBearer,
    SyncTokenAsCookie,
    ConsoleTokenAsBearer,
    ConsoleTokenAsCookie,
    ForgedSession,
    SessionOfAnotherConsoleToken,
}

const CONSOLE_TOKEN: &str = "console-token-of-the-auth-matrix";

#[test]
fn console_routes_open_only_with_a_console_session_and_a_session_opens_no_sync_route() {
    let s = TestServer::start_with(ServerOptions {
        console_token: Some(CONSOLE_TOKEN.into()),
        ..ServerOptions::default()
    });
    let alice = s.user("alice");
    let (st, _, _) = request(
        "POST",
        &format!("{}/v1/spaces/notes/logs", s.url()),
        Some(&format!("Bearer {alice}")),
        Some(&log_report("r-secret")),
    );
    assert_eq!(st, 200);
    let agent = common::client();
    let sign_in = |token: &str| -> (u16, Option<String>) {
        let resp = agent
            .post(&format!("{}/console/login", s.url()))
            .send_form([("token", token)])
            .unwrap();
        let cookie = header(&resp, "Set-Cookie")
            .and_then(|c| c.split(';').next())
            .map(str::to_string);
        (resp.status().as_u16(), cookie)
    };
    // The wrong token gets the sign-in page again, and no cookie.
    for wrong in ["", "nope", alice.as_str(), &CONSOLE_TOKEN[1..]] {
        let (status, cookie) = sign_in(wrong);
        assert_eq!((status, cookie), (401, None), "signing in with '{wrong}'");
    }
    let (status, session) = sign_in(CONSOLE_TOKEN);
    assert_eq!(status, 303);
    let session = session.expect("a session cookie");
    assert!(session.starts_with("accord_console=") && !session.contains(CONSOLE_TOKEN));
    // A session signed by a server with another console token.
    let other = TestServer::start_with(ServerOptions {
        console_token: Some("another-console-token-entirely".into()),
        ..ServerOptions::default()
    });
    let foreign = {
        let resp = agent
            .post(&format!("{}/console/login", other.url()))
            .send_form([("token", "another-console-token-entirely")])
            .unwrap();
        header(&resp, "Set-Cookie")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };

    let routes = [
        ("GET", "/console/"),
        ("GET", "/console"),
        ("GET", "/console/activity"),
        ("GET", "/console/reports"),
        ("GET", "/console/spaces/notes"),
        ("GET", "/console/spaces/notes/reports/r-secret"),
        ("GET", "/console/no-such-page"),
        ("POST", "/console/logout"),
    ];
    let credentials = [
        ConsoleCredential::Nothing,
        ConsoleCredential::SyncTokenAsBearer,
        ConsoleCredential::SyncTokenAsCookie,
        ConsoleCredential::ConsoleTokenAsBearer,
        ConsoleCredential::ConsoleTokenAsCookie,
        ConsoleCredential::ForgedSession,
        ConsoleCredential::SessionOfAnotherConsoleToken,
    ];
    let mut checked = 0;
    for (method, path) in routes {
        for credential in credentials {
            let mut req = Request::builder()
                .method(method)
                .uri(format!("{}{path}", s.url()));
            req = match credential {
                ConsoleCredential::Nothing => req,
                ConsoleCredential::SyncTokenAsBearer => {
                    req.header("Authorization", format!("Bearer {alice}"))
                }
                ConsoleCredential::SyncTokenAsCookie => {
                    req.header("Cookie", format!("accord_console={alice}"))
                }
                ConsoleCredential::ConsoleTokenAsBearer => {
                    req.header("Authorization", format!("Bearer {CONSOLE_TOKEN}"))
                }
                ConsoleCredential::ConsoleTokenAsCookie => {
                    req.header("Cookie", format!("accord_console={CONSOLE_TOKEN}"))
                }
                ConsoleCredential::ForgedSession => {
                    req.header("Cookie", "accord_console=v1.99999999999999.00ff")
                }
                ConsoleCredential::SessionOfAnotherConsoleToken => {
                    req.header("Cookie", foreign.as_str())
                }
            };
            let mut resp = common::send(req, None);
            let case = format!("{method} {path} with {credential:?}");
            assert_eq!(resp.status(), 401, "{case}");
            assert_eq!(
                header(&resp, "Content-Security-Policy"),
                Some(accord_server::console::CONTENT_SECURITY_POLICY),
                "{case}"
            );
            let text = resp.body_mut().read_to_string().unwrap();
            assert!(
                text.contains("action=\"/console/login\""),
                "{case}: the sign-in page"
            );
            for secret in ["notes", "alice", MARKER, "r-secret"] {
                assert!(!text.contains(secret), "{case} leaked '{secret}'");
            }
            checked += 1;
        }
        // With the session, the same route answers (a page, or the sign-out redirect).
        let resp = common::send(
            Request::builder()
                .method(method)
                .uri(format!("{}{path}", s.url()))
                .header("Cookie", session.as_str()),
            None,
        );
        let expected = match path {
            "/console/logout" => 303,
            "/console/no-such-page" => 404,
            _ => 200,
        };
        assert_eq!(resp.status(), expected, "{method} {path} with the session");
        assert_eq!(
            header(&resp, "Content-Security-Policy"),
            Some(accord_server::console::CONTENT_SECURITY_POLICY)
        );
    }
    assert_eq!(checked, 56);

    // The session opens no sync route, and the console token is no sync token.
    for (method, path, body) in [
        ("GET", "changes?since=0", None),
        ("POST", "logs", Some(log_report("r-evil"))),
    ] {
        let url = format!("{}/v1/spaces/notes/{path}", s.url());
        let resp = common::send(
            Request::builder()
                .method(method)
                .uri(&url)
                .header("Cookie", session.as_str()),
            body.as_deref(),
        );
        assert_eq!(
            resp.status(),
            401,
            "{method} {path} with the console session"
        );
        let resp = common::send(
            Request::builder()
                .method(method)
                .uri(&url)
                .header("Authorization", format!("Bearer {CONSOLE_TOKEN}")),
            body.as_deref(),
        );
        assert_eq!(resp.status(), 401, "{method} {path} with the console token");
    }
    assert_eq!(s.storage.log_reports("notes", 10).unwrap().len(), 1);

    // Without a console token there is no console at all.
    let plain = TestServer::start();
    let resp = common::send(Request::get(format!("{}/console/login", plain.url())), None);
    assert_eq!(resp.status(), 404);
}
