//! The `accord` command as a user runs it: `serve` as its own process, `admin`, the
//! client verbs, exit codes, and syncs killed mid-way.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use accord_test_support::on_a_terminal;
use common::{accord_bin, ServeProcess};
use serde_json::{json, Value};

fn serve(db: &Path) -> ServeProcess {
    ServeProcess::start(&db.to_string_lossy(), &[])
}

fn admin(db: &Path, args: &[&str]) -> String {
    let out = Command::new(accord_bin())
        .arg("admin")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Device<'a> {
    store: std::path::PathBuf,
    server: &'a str,
    token: String,
}

impl Device<'_> {
    fn run(&self, args: &[&str], crash_at: Option<&str>) -> Output {
        let mut cmd = Command::new(accord_bin());
        cmd.arg("client")
            .arg("--store")
            .arg(&self.store)
            .args([
                "--server",
                self.server,
                "--token",
                &self.token,
                "--space",
                "notes",
            ])
            .args(args);
        if let Some(point) = crash_at {
            cmd.env("ACCORD_CRASH_AT", point);
        }
        cmd.output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn sync_json(&self) -> Value {
        serde_json::from_str(&self.ok(&["sync"])).unwrap()
    }
}

fn setup(dir: &Path) -> (ServeProcess, String, String) {
    let db = dir.join("server.db");
    admin(&db, &["add-space", "notes"]);
    let token_a = admin(&db, &["add-user", "alice"])
        .lines()
        .last()
        .unwrap()
        .to_string();
    let token_b = admin(&db, &["add-user", "bob"])
        .lines()
        .last()
        .unwrap()
        .to_string();
    admin(&db, &["grant", "alice", "notes"]);
    admin(&db, &["grant", "bob", "notes"]);
    let server = serve(&db);
    (server, token_a, token_b)
}

#[test]
fn two_devices_sync_through_accord_serve() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ta, tb) = setup(dir.path());
    let a = Device {
        store: dir.path().join("a.db"),
        server: &server.url,
        token: ta,
    };
    let b = Device {
        store: dir.path().join("b.db"),
        server: &server.url,
        token: tb,
    };

    a.ok(&["put", "notes", "n1", r#"{"body":"one\ntwo\n"}"#]);
    assert_eq!(a.sync_json()["pushed"], 1);
    assert_eq!(b.sync_json()["pulled"], 1);
    assert_eq!(
        serde_json::from_str::<Value>(&b.ok(&["get", "notes", "n1"])).unwrap(),
        json!({"body": "one\ntwo\n"})
    );

    a.ok(&["put", "notes", "n1", r#"{"body":"ONE\ntwo\n"}"#]);
    b.ok(&["put", "notes", "n1", r#"{"body":"one\ntwo\nthree\n"}"#]);
    a.ok(&["sync"]);
    let report = b.sync_json();
    assert_eq!(report["merged"], 1, "{report}");
    a.ok(&["sync"]);
    let list_a: Value = serde_json::from_str(&a.ok(&["list", "notes"])).unwrap();
    let list_b: Value = serde_json::from_str(&b.ok(&["list", "notes"])).unwrap();
    assert_eq!(list_a, list_b);
    let conflicts: Value = serde_json::from_str(&b.ok(&["conflicts"])).unwrap();
    assert_eq!(conflicts.as_array().unwrap().len(), 1);

    a.ok(&["delete", "notes", "n1"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let out = b.run(&["get", "notes", "n1"], None);
    assert_eq!(out.status.code(), Some(1), "absent record exits 1");
}

#[test]
fn client_exit_codes_tell_retry_from_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ta, _) = setup(dir.path());
    let bad = Device {
        store: dir.path().join("bad.db"),
        server: &server.url,
        token: "acc_nope".into(),
    };
    bad.ok(&["put", "notes", "n", "{}"]);
    assert_eq!(
        bad.run(&["sync"], None).status.code(),
        Some(1),
        "bad token: failure"
    );

    let down = Device {
        store: dir.path().join("down.db"),
        server: "http://127.0.0.1:9",
        token: ta.clone(),
    };
    down.ok(&["put", "notes", "n", "{}"]);
    let mut cmd = Command::new(accord_bin());
    let out = cmd
        .args(["client", "--store"])
        .arg(&down.store)
        .args([
            "--server",
            "http://127.0.0.1:9",
            "--token",
            &ta,
            "--space",
            "notes",
            "--retry-budget",
            "1",
            "sync",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "unreachable server: retry later"
    );

    let a = Device {
        store: dir.path().join("a.db"),
        server: &server.url,
        token: ta,
    };
    let out = a.run(&["put", "notes", "n", "{not json"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
    let out = a.run(&["put", "notes", "n", "[1,2]"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("a record is a JSON object"));
}

/// Kills the client (abort, as SIGKILL would) right after the server applied its push
/// and before it recorded the answer; the next sync must finish without applying twice.
#[test]
fn sync_killed_between_push_and_pull_finishes_on_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ta, tb) = setup(dir.path());
    let a = Device {
        store: dir.path().join("a.db"),
        server: &server.url,
        token: ta,
    };
    let b = Device {
        store: dir.path().join("b.db"),
        server: &server.url,
        token: tb,
    };
    a.ok(&["put", "notes", "n1", r#"{"body":"first\n"}"#]);
    a.ok(&["put", "notes", "n2", r#"{"body":"second\n"}"#]);

    let out = a.run(&["sync"], Some("push:sent"));
    assert!(!out.status.success(), "the client was killed");
    // The server has both writes; the device does not know yet.
    let list: Value = serde_json::from_str(&a.ok(&["list", "notes"])).unwrap();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["pending"] == json!(true)));

    let report = a.sync_json();
    assert_eq!(report["outcome"]["status"], "done", "{report}");
    let list: Value = serde_json::from_str(&a.ok(&["list", "notes"])).unwrap();
    for r in list.as_array().unwrap() {
        assert_eq!(r["pending"], json!(false), "{r}");
        assert_eq!(r["version"], json!(1), "applied exactly once: {r}");
    }
    assert_eq!(
        serde_json::from_str::<Value>(&a.ok(&["conflicts"])).unwrap(),
        json!([])
    );
    assert_eq!(b.sync_json()["pulled"], 2);

    // Killed after merging a pulled page, before pushing: the cursor and the merge were
    // saved together, so the next pass neither loses nor repeats them.
    b.ok(&["put", "notes", "n1", r#"{"body":"first\nfrom b\n"}"#]);
    a.ok(&["put", "notes", "n2", r#"{"body":"second\nfrom a\n"}"#]);
    a.ok(&["sync"]);
    let out = b.run(&["sync"], Some("pull:page-applied"));
    assert!(!out.status.success());
    let report = b.sync_json();
    assert_eq!(report["outcome"]["status"], "done");
    assert_eq!(report["pulled"], 0, "the page was not pulled twice");
    assert_eq!(report["pushed"], 1);
    a.ok(&["sync"]);
    let get =
        |d: &Device, id: &str| serde_json::from_str::<Value>(&d.ok(&["get", "notes", id])).unwrap();
    assert_eq!(get(&a, "n1"), json!({"body": "first\nfrom b\n"}));
    assert_eq!(get(&b, "n2"), json!({"body": "second\nfrom a\n"}));
}

#[test]
fn killed_before_the_push_left_resends_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ta, _) = setup(dir.path());
    let a = Device {
        store: dir.path().join("a.db"),
        server: &server.url,
        token: ta,
    };
    a.ok(&["put", "notes", "n", r#"{"v":1}"#]);
    assert!(!a.run(&["sync"], Some("push:before-send")).status.success());
    // A write after the crash goes into a new outbox row behind the frozen one.
    a.ok(&["put", "notes", "n", r#"{"v":2}"#]);
    let report = a.sync_json();
    assert_eq!(report["outcome"]["status"], "done", "{report}");
    assert_eq!(report["pushed"], 2);
    let list: Value = serde_json::from_str(&a.ok(&["list", "notes"])).unwrap();
    assert_eq!(list[0]["version"], json!(2));
    assert_eq!(list[0]["data"], json!({"v": 2}));
}

#[test]
fn admin_refuses_duplicates_and_unknown_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    admin(&db, &["add-space", "s"]);
    let run = |args: &[&str]| {
        Command::new(accord_bin())
            .arg("admin")
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    let dup = run(&["add-space", "s"]);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let unknown = run(&["grant", "nobody", "s"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user named 'nobody'"));
    let out = admin(&db, &["add-user", "u"]);
    assert!(out.lines().last().unwrap().starts_with("acc_"));
    admin(&db, &["grant", "u", "s"]);
    let spaces: Value = serde_json::from_str(&admin(&db, &["spaces"])).unwrap();
    assert_eq!(spaces[0]["members"], json!(["u"]));
}

#[test]
fn merge_command_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let base = write("base", "a\nb\nc\n");
    let ours = write("ours", "A\nb\nc\n");
    let theirs = write("theirs", "a\nb\nc\nd\n");
    let clash = write("clash", "a\nB!\nc\n");
    let clash2 = write("clash2", "a\nB?\nc\n");
    let merge = |o: &Path, t: &Path| {
        Command::new(accord_bin())
            .arg("merge")
            .arg(&base)
            .arg(o)
            .arg(t)
            .output()
            .unwrap()
    };
    let out = merge(&ours, &theirs);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "A\nb\nc\nd\n");
    let out = merge(&clash, &clash2);
    assert_eq!(out.status.code(), Some(1), "overlap kept both and flagged");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("B!") && text.contains("B?"));
    let missing = merge(&dir.path().join("nope"), &theirs);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn admin_lists_users_tokens_and_grants_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    admin(&db, &["add-space", "notes"]);
    admin(&db, &["add-space", "plans"]);
    let first = admin(&db, &["add-user", "alice"])
        .lines()
        .last()
        .unwrap()
        .to_string();
    let second = admin(&db, &["add-token", "alice"])
        .lines()
        .last()
        .unwrap()
        .to_string();
    admin(&db, &["add-user", "bob"]);
    admin(&db, &["grant", "alice", "notes"]);
    admin(&db, &["grant", "alice", "plans"]);
    admin(&db, &["grant", "bob", "plans"]);
    admin(&db, &["revoke-tokens", "bob"]);

    let users: Value = serde_json::from_str(&admin(&db, &["users"])).unwrap();
    assert_eq!(users[0]["name"], "alice");
    assert_eq!(users[0]["spaces"], json!(["notes", "plans"]));
    assert_eq!(
        (
            users[0]["live_tokens"].clone(),
            users[0]["revoked_tokens"].clone()
        ),
        (json!(2), json!(0))
    );
    assert_eq!(
        (
            users[1]["live_tokens"].clone(),
            users[1]["revoked_tokens"].clone()
        ),
        (json!(0), json!(1))
    );

    let text = admin(&db, &["tokens", "--user", "alice"]);
    let tokens: Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<&str> = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    for (id, secret) in ids.iter().zip([&first, &second]) {
        // The id is a prefix of the stored hash, so it names one token...
        assert!(
            accord_server::auth::token_hash(secret).starts_with(id),
            "{id}"
        );
    }
    assert_ne!(ids[0], ids[1]);
    // ...and neither the token nor its whole hash is ever printed.
    let all = admin(&db, &["tokens"]);
    for secret in [&first, &second] {
        assert!(!all.contains(&secret[4..]), "a token leaked: {all}");
        assert!(
            !all.contains(&accord_server::auth::token_hash(secret)),
            "a hash leaked"
        );
    }
    assert_eq!(
        serde_json::from_str::<Value>(&all)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let grants: Value = serde_json::from_str(&admin(&db, &["grants", "--space", "plans"])).unwrap();
    assert_eq!(
        grants,
        json!([{"user": "alice", "space": "plans"}, {"user": "bob", "space": "plans"}])
    );
    let unknown = Command::new(accord_bin())
        .args(["admin", "--db"])
        .arg(&db)
        .args(["tokens", "--user", "nobody"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user named 'nobody'"));
}

#[test]
fn completions_are_a_script_the_shell_accepts() {
    let out = Command::new(accord_bin())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("client") && script.contains("completions"));
    // bash loads it and registers a completion for `accord`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accord.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}' && complete -p accord", path.display()))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("accord"));
    let bad = Command::new(accord_bin())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "clap refuses an unknown shell");
}

/// Runs `args` with standard output a pipe whose reading end is already closed, so the
/// first write fails as it does after `| head` exits.
fn run_into_closed_pipe(args: &[&str], env: &[(&str, &str)]) -> Output {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe() writes two new descriptors into the array; each is owned once.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    let mut cmd = Command::new(accord_bin());
    cmd.args(args).stdout(std::process::Stdio::from(writer));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn every_command_ends_quietly_when_its_output_is_closed() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let (server, ta, _) = setup(dir.path());
    let db = dir.path().join("server.db");
    let a = Device {
        store: dir.path().join("a.db"),
        server: &server.url,
        token: ta.clone(),
    };
    a.ok(&["put", "notes", "n1", r#"{"body":"one\n"}"#]);
    a.ok(&["log", "ERROR", "net", "connection reset"]);
    let store = a.store.to_string_lossy().into_owned();
    let client = |verb: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "client",
            "--store",
            &store,
            "--server",
            &server.url,
            "--token",
            &ta,
            "--space",
            "notes",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(verb.iter().map(|s| s.to_string()));
        v
    };
    let db = db.to_string_lossy().into_owned();
    let base = dir.path().join("base.txt");
    std::fs::write(&base, "a\n").unwrap();
    let base = base.to_string_lossy().into_owned();
    let commands: Vec<Vec<String>> = vec![
        client(&["sync"]),
        client(&["list", "notes"]),
        client(&["get", "notes", "n1"]),
        client(&["conflicts"]),
        vec!["admin".into(), "--db".into(), db.clone(), "spaces".into()],
        vec!["admin".into(), "--db".into(), db.clone(), "users".into()],
        vec!["admin".into(), "--db".into(), db.clone(), "tokens".into()],
        vec![
            "admin".into(),
            "--db".into(),
            db.clone(),
            "logs".into(),
            "notes".into(),
        ],
        vec!["merge".into(), base.clone(), base.clone(), base.clone()],
        vec!["completions".into(), "bash".into()],
        vec![
            "serve".into(),
            "--db".into(),
            dir.path().join("other.db").to_string_lossy().into_owned(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ],
        vec!["--version".into()],
        vec!["--help".into()],
    ];
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_into_closed_pipe(&args, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
        // Killed by SIGPIPE, as `cat` would be (141 in a shell); never 101 (a panic).
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {:?}",
            out.status
        );
    }
    // And through a real pipeline: head takes the first line of far more output than a
    // pipe holds, and accord goes quietly with the status a shell reports for SIGPIPE.
    let log = dir.path().join("big.log");
    let lines: String = (0..50_000)
        .map(|i| {
            format!(
                "2024-01-01T00:00:00Z INFO net request {i} took {} ms\n",
                i % 97
            )
        })
        .collect();
    std::fs::write(&log, lines).unwrap();
    let script = format!(
        "'{}' logs parse '{}' | head -1; echo \"status ${{PIPESTATUS[0]}}\"",
        accord_bin().display(),
        log.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert_eq!(text.lines().last(), Some("status 141"), "{text}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sync_shows_progress_on_a_terminal_and_nothing_extra_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ta, tb) = setup(dir.path());
    // 1,200 records on the server: three pages for the device below.
    let seeder = accord::Accord::open(accord::Config::new(dir.path().join("seed.db")).with_server(
        &server.url,
        &tb,
        "notes",
    ))
    .unwrap();
    let rows: Vec<_> = (0..1_200)
        .map(|i| (format!("r{i}"), json!({"body": format!("line {i}\n")})))
        .collect();
    seeder.put_many("notes", rows).unwrap();
    assert_eq!(seeder.sync().outcome, accord::SyncOutcome::Done);

    let client = |store: &str, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            accord_bin().to_string_lossy().into_owned(),
            "client".into(),
            "--store".into(),
        ];
        v.push(dir.path().join(store).to_string_lossy().into_owned());
        for a in ["--server", &server.url, "--token", &ta, "--space", "notes"] {
            v.push(a.to_string());
        }
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let shown = on_a_terminal(&client("tty.db", &["sync"]));
    assert!(shown.contains("pull"), "{shown}");
    assert!(
        shown.contains("1,200/1,200 records"),
        "records of the total: {shown}"
    );
    assert!(shown.contains("KiB"), "bytes moved: {shown}");
    assert!(
        shown.contains("\"pulled\": 1200"),
        "the report follows: {shown}"
    );

    let quiet = on_a_terminal(&client("json.db", &["--json", "sync"]));
    assert!(!quiet.contains("records"), "--json draws no bar: {quiet}");
    assert!(quiet.contains("\"pulled\": 1200"), "{quiet}");

    // Through a pipe: the report alone on stdout, nothing on stderr.
    let args = client("pipe.db", &["sync"]);
    let out = Command::new(&args[0]).args(&args[1..]).output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["pulled"], 1200);
}

#[test]
fn serve_refuses_a_console_token_too_short_to_guard_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(accord_bin())
        .args(["serve", "--db"])
        .arg(dir.path().join("s.db"))
        .args(["--listen", "127.0.0.1:0"])
        .env("ACCORD_CONSOLE_TOKEN", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 16 characters"), "{err}");
    assert!(!err.contains("short"), "the token is not echoed: {err}");
}
