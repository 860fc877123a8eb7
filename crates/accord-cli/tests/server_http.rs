//! The server's HTTP surface, spoken to directly: auth, limits, bad input, idempotency.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use accord_server::ServerOptions;
use common::{get, post, request, TestServer};
use serde_json::{json, Value};

fn mutation(id: &str, mutation_id: &str, base: i64) -> Value {
    json!({"mutation_id": mutation_id, "collection": "notes", "id": id, "base_version": base, "data": {"body": "x"}})
}

#[test]
fn same_mutation_id_twice_is_applied_once_with_the_same_answer() {
    let s = TestServer::start();
    let token = s.user("alice");
    let url = format!("{}/v1/spaces/notes/mutations", s.url());
    let body = json!({"mutations": [mutation("n", "m-1", 0)]}).to_string();
    let (st1, first) = post(&url, Some(&token), &body);
    let (st2, second) = post(&url, Some(&token), &body);
    assert_eq!((st1, st2), (200, 200));
    assert_eq!(first, second);
    assert_eq!(first["results"][0]["status"], "applied");
    assert_eq!(first["results"][0]["version"], 1);
    assert_eq!(s.seq(), 1);
}

#[test]
fn stale_base_version_gets_a_conflict_with_the_current_record() {
    let s = TestServer::start();
    let token = s.user("alice");
    let url = format!("{}/v1/spaces/notes/mutations", s.url());
    post(
        &url,
        Some(&token),
        &json!({"mutations": [mutation("n", "m-1", 0)]}).to_string(),
    );
    post(
        &url,
        Some(&token),
        &json!({"mutations": [mutation("n", "m-2", 1)]}).to_string(),
    );
    let (status, body) = post(
        &url,
        Some(&token),
        &json!({"mutations": [mutation("n", "m-3", 1)]}).to_string(),
    );
    assert_eq!(status, 200);
    let r = &body["results"][0];
    assert_eq!(r["status"], "conflict");
    assert_eq!(r["current"]["version"], 2);
    assert_eq!(r["current"]["mutation_id"], "m-2");
    assert_eq!(s.seq(), 2);
}

/// Writes records `n0`... (`n00`... with `width` 2) through one push of `n` mutations.
fn numbered_mutations(s: &TestServer, token: &str, n: usize, width: usize) {
    let url = format!("{}/v1/spaces/notes/mutations", s.url());
    let muts: Vec<Value> = (0..n)
        .map(|i| mutation(&format!("n{i:0width$}"), &format!("m{i}"), 0))
        .collect();
    let (status, answer) = post(&url, Some(token), &json!({ "mutations": muts }).to_string());
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn changes_feed_pages_by_seq() {
    let s = TestServer::start();
    let token = s.user("alice");
    numbered_mutations(&s, &token, 5, 1);
    let feed = format!("{}/v1/spaces/notes/changes", s.url());
    let (st, page) = get(&format!("{feed}?since=0&limit=2"), Some(&token));
    assert_eq!(st, 200);
    assert_eq!(page["changes"].as_array().unwrap().len(), 2);
    assert_eq!(
        (page["next"].clone(), page["more"].clone()),
        (json!(2), json!(true))
    );
    let (_, page) = get(&format!("{feed}?since=4&limit=2"), Some(&token));
    assert_eq!(page["changes"][0]["id"], "n4");
    assert_eq!(
        (page["next"].clone(), page["more"].clone()),
        (json!(5), json!(false))
    );
}

#[test]
fn a_streamed_feed_holds_the_same_pages_a_line_each_and_stops_where_asked() {
    let s = TestServer::start();
    let token = s.user("alice");
    numbered_mutations(&s, &token, 25, 2);
    let feed = format!("{}/v1/spaces/notes/changes", s.url());
    let bearer = format!("Bearer {token}");
    let lines = |query: &str| -> Vec<Value> {
        let (status, _, text) = request("GET", &format!("{feed}?{query}"), Some(&bearer), None);
        assert_eq!(status, 200, "{text}");
        assert!(text.ends_with('\n'), "every page ends its line");
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let ids = |pages: &[Value]| -> Vec<String> {
        pages
            .iter()
            .flat_map(|p| p["changes"].as_array().unwrap().clone())
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };

    // Two pages asked: two lines, each the page a plain request would answer.
    let two = lines("since=0&limit=10&pages=2");
    assert_eq!(two.len(), 2);
    let (_, plain) = get(&format!("{feed}?since=10&limit=10"), Some(&token));
    assert_eq!(two[1], plain);
    assert_eq!(
        ids(&two),
        (0..20).map(|i| format!("n{i:02}")).collect::<Vec<_>>()
    );
    assert_eq!(
        (two[1]["next"].clone(), two[1]["more"].clone()),
        (json!(20), json!(true))
    );
    assert!(two[0]["features"]
        .as_array()
        .unwrap()
        .contains(&json!(accord_protocol::FEATURE_FEED_STREAM)));

    // More pages asked than there are: the stream ends after the page with more: false.
    let rest = lines("since=20&limit=10&pages=50");
    assert_eq!(rest.len(), 1);
    assert_eq!(
        ids(&rest),
        (20..25).map(|i| format!("n{i:02}")).collect::<Vec<_>>()
    );
    assert_eq!(rest[0]["more"], json!(false));
    // An empty feed is one empty page.
    let empty = lines("since=25&pages=3");
    assert_eq!(empty.len(), 1);
    assert_eq!(empty[0]["changes"], json!([]));

    for bad in ["pages=0", "pages=abc", "pages=-1"] {
        let (st, err) = get(&format!("{feed}?since=0&{bad}"), Some(&token));
        assert_eq!(st, 400, "{bad}: {err}");
        assert!(err["message"].as_str().unwrap().contains("pages"), "{err}");
    }
    // More than a stream holds is capped (to MAX_STREAM_PAGES), not refused.
    let capped = lines(&format!(
        "since=0&limit=1&pages={}",
        accord_protocol::MAX_STREAM_PAGES + 100
    ));
    assert_eq!(capped.len(), 25);
}

#[test]
fn bad_or_missing_token_gets_401_and_no_grant_gets_404() {
    let s = TestServer::start();
    let alice = s.user("alice");
    s.storage.add_space("private").unwrap();
    let eve = {
        let t = accord_server::auth::new_token().unwrap();
        s.storage
            .add_user("eve", &accord_server::auth::token_hash(&t))
            .unwrap();
        t
    };
    let feed = |space: &str| format!("{}/v1/spaces/{space}/changes", s.url());
    let muts = |space: &str| format!("{}/v1/spaces/{space}/mutations", s.url());
    let body = json!({"mutations": [mutation("n", "m-x", 0)]}).to_string();

    let (st, err) = get(&feed("notes"), None);
    assert_eq!((st, err["error"].clone()), (401, json!("unauthorized")));
    let (st, _) = get(&feed("notes"), Some("acc_wrong"));
    assert_eq!(st, 401);
    let (st, _) = post(&muts("notes"), Some("acc_wrong"), &body);
    assert_eq!(st, 401);

    // Eve exists but has no grant: she can neither read nor write, and cannot tell
    // a space she may not see from one that does not exist.
    let (st, err) = get(&feed("notes"), Some(&eve));
    assert_eq!(st, 404);
    assert!(err["message"].as_str().unwrap().contains("no grant"));
    let (st, _) = post(&muts("notes"), Some(&eve), &body);
    assert_eq!(st, 404);
    assert_eq!(get(&feed("nonexistent"), Some(&eve)).0, 404);
    assert_eq!(get(&feed("private"), Some(&alice)).0, 404);
    assert_eq!(s.seq(), 0, "nothing was written");

    // Revoking the grant and the tokens takes effect at once.
    assert_eq!(get(&feed("notes"), Some(&alice)).0, 200);
    s.storage.revoke("alice", "notes").unwrap();
    assert_eq!(get(&feed("notes"), Some(&alice)).0, 404);
    s.storage.grant("alice", "notes").unwrap();
    s.storage.revoke_tokens("alice").unwrap();
    assert_eq!(get(&feed("notes"), Some(&alice)).0, 401);
}

#[test]
fn malformed_input_gets_clear_errors_and_changes_nothing() {
    let s = TestServer::start_with(ServerOptions {
        max_body_bytes: 64 * 1024,
        ..ServerOptions::default()
    });
    let token = s.user("alice");
    let url = format!("{}/v1/spaces/notes/mutations", s.url());
    let cases: Vec<(String, u16, &str)> = vec![
        ("{not json".into(), 400, "invalid mutations body"),
        (json!({"mutations": [mutation("n", "m", 0)], "extra": 1}).to_string(), 400, "unknown field `extra`"),
        (
            json!({"mutations": [{"mutation_id": "m", "collection": "notes", "id": "n", "base_version": 0, "data": {}, "colour": "red"}]})
                .to_string(),
            400,
            "unknown field `colour`",
        ),
        (
            json!({"mutations": [mutation("n", "ok", 0), {"mutation_id": "m2", "collection": "notes", "id": "n2", "base_version": 0, "data": [1, 2]}]})
                .to_string(),
            400,
            "data must be a JSON object",
        ),
        (json!({"mutations": [mutation("", "m", 0)]}).to_string(), 400, "id must not be empty"),
        (json!({"mutations": [mutation("n", "m", -3)]}).to_string(), 400, "negative"),
        (
            json!({"mutations": [{"mutation_id": "m", "collection": "notes", "id": "n", "base_version": 0, "data": {"body": "x".repeat(100_000)}}]})
                .to_string(),
            413,
            "too large",
        ),
    ];
    for (body, status, needle) in cases {
        let (st, err) = post(&url, Some(&token), &body);
        assert_eq!(st, status, "{err}");
        let message = err["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "expected '{needle}' in '{message}'"
        );
    }
    assert_eq!(s.seq(), 0, "no bad request wrote anything");

    let feed = format!("{}/v1/spaces/notes/changes", s.url());
    let (st, err) = get(&format!("{feed}?since=abc"), Some(&token));
    assert_eq!(st, 400, "{err}");
    let (st, _) = get(&format!("{}/v2/anything", s.url()), Some(&token));
    assert_eq!(st, 404);
}

#[test]
fn gzip_request_bodies_are_accepted_and_bombs_are_refused() {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let s = TestServer::start_with(ServerOptions {
        max_body_bytes: 64 * 1024,
        ..ServerOptions::default()
    });
    let token = s.user("alice");
    let url = format!("{}/v1/spaces/notes/mutations", s.url());
    let gz = |bytes: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    let send = |body: Vec<u8>| {
        common::client()
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Encoding", "gzip")
            .send(&body[..])
            .unwrap()
            .status()
            .as_u16()
    };
    let ok = json!({"mutations": [mutation("n", "m-gz", 0)]}).to_string();
    assert_eq!(send(gz(ok.as_bytes())), 200);
    // 10 MB of spaces compresses to a few KB but is refused once decompressed.
    let mut bomb = ok.clone().into_bytes();
    bomb.extend(std::iter::repeat_n(b' ', 10 * 1024 * 1024));
    let packed = gz(&bomb);
    assert!(packed.len() < 64 * 1024);
    assert_eq!(send(packed), 413);
    assert_eq!(s.seq(), 1);
}

#[test]
fn health_and_metrics_answer() {
    let s = TestServer::start();
    let (st, health) = get(&format!("{}/health", s.url()), None);
    assert_eq!(st, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["storage"], s.storage.kind());
    let token = s.user("alice");
    post(
        &format!("{}/v1/spaces/notes/mutations", s.url()),
        Some(&token),
        &json!({"mutations": [mutation("n", "m-1", 0)]}).to_string(),
    );
    let text = common::client()
        .get(&format!("{}/metrics", s.url()))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(text.contains("accord_mutations_applied_total 1"), "{text}");
    assert!(
        text.contains("route=\"/v1/spaces/{space}/mutations\",status=\"200\""),
        "{text}"
    );
}

/// A client that sends a body over the limit slowly keeps writing while the server has
/// already decided: the server must read (and discard) the rest, so the client's writes
/// succeed and it can read the 413, instead of a reset connection and a broken pipe.
#[test]
fn oversized_body_sent_slowly_gets_413_not_a_broken_pipe() {
    use std::io::{BufRead, BufReader, Write};
    let s = TestServer::start_with(ServerOptions {
        max_body_bytes: 64 * 1024,
        ..ServerOptions::default()
    });
    let token = s.user("alice");
    let body_len = 1024 * 1024;
    let mut stream = std::net::TcpStream::connect(s.server.addr()).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /v1/spaces/notes/mutations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b' '; 16 * 1024];
    for i in 0..body_len / chunk.len() {
        if let Err(e) = stream.write_all(&chunk) {
            panic!("write {i} of the body failed: {e}");
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let mut status = String::new();
    BufReader::new(&stream).read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert_eq!(s.seq(), 0);
}

#[test]
fn a_device_name_that_is_not_a_name_is_refused() {
    let s = TestServer::start();
    let token = s.user("alice");
    let url = format!("{}/v1/spaces/notes/changes", s.url());
    let ask = |device: &str| {
        common::send(
            ureq::http::Request::get(&url)
                .header("Authorization", &format!("Bearer {token}"))
                .header("Accord-Device", device),
            None,
        )
    };
    assert_eq!(ask("phone-1").status(), 200);
    let mut long = ask(&"x".repeat(accord_protocol::MAX_NAME_LEN + 1));
    assert_eq!(long.status(), 400);
    assert!(long
        .body_mut()
        .read_to_string()
        .unwrap()
        .contains("Accord-Device"));
}
