//! Scale-out: two `accord serve` processes over one PostgreSQL database serve the same
//! space correctly. Needs a PostgreSQL server: `make test-postgres` starts a throwaway
//! cluster and runs these with `--include-ignored`; run by hand without
//! `ACCORD_TEST_POSTGRES` they fail, loudly, rather than pass.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use accord_server::auth;
use common::{get, post, ServeProcess};
use serde_json::{json, Value};

fn serve(db: &str) -> ServeProcess {
    ServeProcess::start(db, &["--rate-limit", "0"])
}

/// A fresh database with space `notes` and a user; returns (db url, token).
fn setup() -> (String, String) {
    let base = std::env::var(common::POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "{} is not set: these tests need PostgreSQL (run `make test-postgres`)",
            common::POSTGRES_ENV
        )
    });
    let db = common::fresh_postgres_database(&base);
    let storage = accord_server::storage::open(&db).unwrap();
    storage.add_space("notes").unwrap();
    let token = auth::new_token().unwrap();
    storage
        .add_user("alice", &auth::token_hash(&token))
        .unwrap();
    storage.grant("alice", "notes").unwrap();
    (db, token)
}

fn push(url: &str, token: &str, mutations: Value) -> Value {
    let body = json!({ "mutations": mutations }).to_string();
    let (status, answer) = post(
        &format!("{url}/v1/spaces/notes/mutations"),
        Some(token),
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    answer
}

fn feed(url: &str, token: &str) -> Vec<Value> {
    let (status, page) = get(
        &format!("{url}/v1/spaces/notes/changes?since=0&limit=1000"),
        Some(token),
    );
    assert_eq!(status, 200, "{page}");
    page["changes"].as_array().unwrap().clone()
}

#[test]
#[ignore = "needs PostgreSQL: run through `make test-postgres`"]
fn concurrent_writes_of_one_record_through_two_servers_apply_exactly_once() {
    let (db, token) = setup();
    let servers = [serve(&db), serve(&db)];
    let first = push(
        &servers[0].url,
        &token,
        json!([{"mutation_id": "m-0", "collection": "notes", "id": "n", "base_version": 0, "data": {"body": "v1"}}]),
    );
    assert_eq!(first["results"][0]["status"], "applied");
    let writers = 8;
    for round in 1..=6i64 {
        let barrier = Arc::new(Barrier::new(writers));
        let answers: Vec<Value> = (0..writers)
            .map(|w| {
                let url = servers[w % 2].url.clone();
                let (token, barrier) = (token.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let m = json!([{"mutation_id": format!("m-{round}-{w}"), "collection": "notes", "id": "n",
                                    "base_version": round, "data": {"body": format!("round {round} writer {w}")}}]);
                    push(&url, &token, m)["results"][0].clone()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let applied: Vec<&Value> = answers
            .iter()
            .filter(|a| a["status"] == "applied")
            .collect();
        assert_eq!(applied.len(), 1, "round {round}: {answers:#?}");
        assert_eq!(applied[0]["version"], round + 1);
        let winner = applied[0]["mutation_id"].clone();
        for a in answers.iter().filter(|a| a["status"] == "conflict") {
            // Every loser is told the winning record, whichever server it asked.
            assert_eq!(a["current"]["version"], round + 1, "{a}");
            assert_eq!(a["current"]["mutation_id"], winner, "{a}");
        }
    }
    // Both servers serve the same feed: one record at version 7, seq 7.
    let (a, b) = (feed(&servers[0].url, &token), feed(&servers[1].url, &token));
    assert_eq!(a, b);
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0]["version"].clone(), a[0]["seq"].clone()),
        (json!(7), json!(7))
    );
}

#[test]
#[ignore = "needs PostgreSQL: run through `make test-postgres`"]
fn two_servers_number_the_feed_without_gaps_and_apply_a_retried_id_once() {
    let (db, token) = setup();
    let servers = [serve(&db), serve(&db)];
    let writers = 8;
    let per_writer = 15;
    let barrier = Arc::new(Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let url = servers[w % 2].url.clone();
            let other = servers[(w + 1) % 2].url.clone();
            let (token, barrier) = (token.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..per_writer {
                    let m = json!([{"mutation_id": format!("w{w}-{i}"), "collection": "notes",
                                    "id": format!("w{w}-{i}"), "base_version": 0, "data": {"n": i}}]);
                    let a = push(&url, &token, m.clone());
                    // The same mutation again, through the other server (a retry after a
                    // lost answer that the load balancer sent elsewhere).
                    let b = push(&other, &token, m);
                    assert_eq!(a, b, "a retried mutation id must get its first answer");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let changes = feed(&servers[0].url, &token);
    let seqs: BTreeSet<i64> = changes.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    let total = (writers * per_writer) as i64;
    assert_eq!(
        seqs,
        (1..=total).collect::<BTreeSet<_>>(),
        "seq must be 1..={total} with no gap"
    );
    assert!(
        changes.iter().all(|c| c["version"] == 1),
        "nothing applied twice"
    );
    assert_eq!(changes, feed(&servers[1].url, &token));
}
