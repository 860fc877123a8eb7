//! TLS: `accord serve` over rustls, and the client over https trusting a private CA.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use accord::{Accord, SyncOutcome};
use accord_server::{RunningServer, ServerOptions, TlsFiles};
use serde_json::json;

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
fn certificate(dir: &std::path::Path) -> (TlsFiles, Vec<u8>) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert_pem = cert.cert.pem();
    let files = TlsFiles {
        cert_pem: dir.join("cert.pem"),
        key_pem: dir.join("key.pem"),
    };
    std::fs::write(&files.cert_pem, &cert_pem).unwrap();
    std::fs::write(&files.key_pem, cert.signing_key.serialize_pem()).unwrap();
    (files, cert_pem.into_bytes())
}

#[test]
fn devices_sync_over_https_and_an_untrusted_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (files, ca) = certificate(dir.path());
    let db = common::fresh_database(dir.path());
    let storage = accord_server::storage::open(&db).unwrap();
    storage.add_space("notes").unwrap();
    let token = accord_server::auth::new_token().unwrap();
    storage
        .add_user("alice", &accord_server::auth::token_hash(&token))
        .unwrap();
    storage.grant("alice", "notes").unwrap();
    let server = RunningServer::start_with_tls(
        storage,
        ServerOptions::default(),
        "127.0.0.1:0",
        Some(files),
    )
    .unwrap();
    assert!(server.url().starts_with("https://"), "{}", server.url());

    let open =
        |name: &str, trust: bool| {
            let mut config = accord::Config::new(dir.path().join(format!("{name}.db")))
                .with_server(&server.url(), &token, "notes");
            config.sync.retry_budget = Duration::from_millis(300);
            if trust {
                config.sync.trusted_ca_pem = Some(ca.clone());
            }
            Accord::open(config).unwrap()
        };
    let a = open("a", true);
    a.put("notes", "n", json!({"body": "over tls\n"})).unwrap();
    assert_eq!(a.sync().outcome, SyncOutcome::Done);
    let b = open("b", true);
    assert_eq!(b.sync().outcome, SyncOutcome::Done);
    assert_eq!(
        b.get("notes", "n").unwrap().unwrap().data["body"],
        "over tls\n"
    );

    // Without trusting the CA the handshake fails and nothing is sent.
    let c = open("c", false);
    c.put("notes", "m", json!({"body": "must not arrive\n"}))
        .unwrap();
    let report = c.sync();
    assert_ne!(report.outcome, SyncOutcome::Done, "{report:?}");
    assert_eq!(report.pushed, 0);
    assert_eq!(c.pending_mutations().unwrap(), 1);

    // Plain http to the TLS port gets no answer.
    let plain = server.url().replacen("https://", "http://", 1);
    assert!(common::client()
        .get(&format!("{plain}/health"))
        .call()
        .is_err());
}

#[test]
fn a_bad_certificate_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let files = TlsFiles {
        cert_pem: dir.path().join("missing.pem"),
        key_pem: dir.path().join("missing-key.pem"),
    };
    let err = files.rustls_config().err().unwrap().to_string();
    assert!(
        err.contains("missing.pem") && err.contains("certificate"),
        "{err}"
    );
    std::fs::write(&files.cert_pem, "not a certificate").unwrap();
    let err = files.rustls_config().err().unwrap().to_string();
    assert!(err.contains("no CERTIFICATE"), "{err}");
}
