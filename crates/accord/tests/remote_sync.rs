//! The client against a server it did not start, over real HTTP.
//!
//! `make test-arm64` runs this test cross-compiled for aarch64 under qemu-user against
//! the host's `accord serve` (x86-64): the wire format, gzip, TLS-less HTTP and SQLite
//! of an ARM build meet a server built for another CPU. The server is named by
//! `ACCORD_REMOTE_SERVER` (`URL SPACE TOKEN_A TOKEN_B`, two users granted to the space);
//! without it the test is ignored, since the host suites already sync against in-process
//! servers (crates/accord-cli/tests/sync.rs).

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accord::{Accord, Config, SyncOutcome};
use serde_json::json;

struct Remote {
    url: String,
    space: String,
    tokens: [String; 2],
}

fn remote() -> Remote {
    let spec = std::env::var("ACCORD_REMOTE_SERVER")
        .expect("ACCORD_REMOTE_SERVER=URL SPACE TOKEN_A TOKEN_B (make test-arm64 sets it)");
    let parts: Vec<&str> = spec.split_whitespace().collect();
    let [url, space, a, b] = parts[..] else {
        panic!("ACCORD_REMOTE_SERVER needs URL SPACE TOKEN_A TOKEN_B, got {spec:?}");
    };
    Remote {
        url: url.into(),
        space: space.into(),
        tokens: [a.into(), b.into()],
    }
}

fn device(dir: &tempfile::TempDir, name: &str, r: &Remote, token: &str) -> Accord {
    let config =
        Config::new(dir.path().join(format!("{name}.db"))).with_server(&r.url, token, &r.space);
    Accord::open(config).expect("open the device's store")
}

fn sync_done(device: &Accord) -> accord::SyncReport {
    let report = device.sync();
    assert_eq!(report.outcome, SyncOutcome::Done, "{report:?}");
    report
}

#[test]
#[ignore = "needs ACCORD_REMOTE_SERVER; make test-arm64 starts a server and sets it"]
fn offline_edits_on_two_devices_converge_through_a_remote_server() {
    let r = remote();
    let dir = tempfile::tempdir().unwrap();
    let phone = device(&dir, "phone", &r, &r.tokens[0]);
    let laptop = device(&dir, "laptop", &r, &r.tokens[1]);
    // Ids of their own per run: the server outlives a run of the test.
    let id = format!("shared-{}", std::process::id());

    phone
        .put(
            "notes",
            &id,
            json!({"title": "Groceries", "body": "milk\neggs\n"}),
        )
        .unwrap();
    sync_done(&phone);
    sync_done(&laptop);

    // Offline on both: different lines of one note, and the title on one side.
    phone
        .put(
            "notes",
            &id,
            json!({"title": "Groceries for Sunday", "body": "milk\neggs\n"}),
        )
        .unwrap();
    laptop
        .put(
            "notes",
            &id,
            json!({"title": "Groceries", "body": "milk\neggs\nbread\n"}),
        )
        .unwrap();
    sync_done(&phone);
    let merging = sync_done(&laptop);
    sync_done(&phone);

    assert!(merging.merged >= 1, "{merging:?}");
    let on_phone = phone.get("notes", &id).unwrap().expect("the note").data;
    let on_laptop = laptop.get("notes", &id).unwrap().expect("the note").data;
    assert_eq!(on_phone, on_laptop);
    assert_eq!(
        on_phone,
        json!({"title": "Groceries for Sunday", "body": "milk\neggs\nbread\n"})
    );
    assert_eq!(phone.pending_mutations().unwrap(), 0);
    assert_eq!(laptop.pending_mutations().unwrap(), 0);
}
