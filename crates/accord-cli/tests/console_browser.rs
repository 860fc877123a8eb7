//! The web console in a real browser: `accord serve` with a console token, devices that
//! sync and upload log reports through it, and headless Chromium (Debian's `chromium`
//! and `chromium-driver`, which `make test` installs) driven over WebDriver to sign in,
//! open every page, check what it shows, and save screenshots under bench/results/.
//!
//! It never skips: without Chromium it fails and says what to install.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use accord::{Accord, Config, SyncOutcome};
use accord_server::auth;
use base64::Engine;
use common::ServeProcess;
use serde_json::{json, Value};

const CONSOLE_TOKEN: &str = "console-token-for-the-browser-test";
/// A log line a device uploads: it must show as text, never run.
const HOSTILE_LINE: &str =
    "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">";
/// A space name that is markup, and has characters a URL must encode.
const HOSTILE_SPACE: &str = "<b>ops</b> & co/1";

fn find_program(names: &[&str]) -> PathBuf {
    for name in names {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "{names:?} not found: install Debian's chromium and chromium-driver \
         (`make test` does: apt-get install -y chromium chromium-driver)"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chromedriver process and one headless Chromium session, closed when dropped.
struct Browser {
    driver: Child,
    base: String,
    session: String,
}

impl Browser {
    fn start() -> Browser {
        let chromium = find_program(&["chromium", "chromium-browser"]);
        let chromedriver = find_program(&["chromedriver"]);
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = common::client()
                .get(&format!("{base}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not get ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap().keep();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars",
                    "--window-size=1280,1100",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        }}});
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
        };
        let created = browser.call("POST", "/session", Some(caps));
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        browser
    }

    /// One WebDriver command; returns its `value`.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let agent = common::client_config()
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        let req = ureq::http::Request::builder().method(method).uri(&url);
        let body = body.map(|b| b.to_string());
        let mut resp = common::send_with(&agent, req, body.as_deref());
        let status = resp.status();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["value"].clone()
    }

    fn at(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    fn open(&self, url: &str) {
        self.call("POST", &self.at("/url"), Some(json!({"url": url})));
    }

    fn title(&self) -> String {
        self.call("GET", &self.at("/title"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits until `check` holds for the current page (a click's navigation may still
    /// be under way when the click returns).
    fn wait_until(&self, what: &str, check: impl Fn(&Browser) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check(self) {
            assert!(
                Instant::now() < deadline,
                "waited for {what}; at {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self) -> String {
        self.call("GET", &self.at("/url"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn elements(&self, css: &str) -> Vec<String> {
        self.call(
            "POST",
            &self.at("/elements"),
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["element-6066-11e4-a52e-4f735466cecf"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
    }

    fn element(&self, css: &str) -> String {
        let mut found = self.elements(css);
        assert_eq!(found.len(), 1, "one {css} on {}", self.url());
        found.remove(0)
    }

    /// What the page shows as text (what a person reads).
    fn text(&self, css: &str) -> String {
        let e = self.element(css);
        self.call("GET", &self.at(&format!("/element/{e}/text")), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.element(css);
        self.call(
            "POST",
            &self.at(&format!("/element/{e}/clear")),
            Some(json!({})),
        );
        self.call(
            "POST",
            &self.at(&format!("/element/{e}/value")),
            Some(json!({"text": text})),
        );
    }

    fn click(&self, css: &str) {
        let e = self.element(css);
        self.call(
            "POST",
            &self.at(&format!("/element/{e}/click")),
            Some(json!({})),
        );
    }

    fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            &self.at("/execute/sync"),
            Some(json!({"script": js, "args": []})),
        )
    }

    fn screenshot(&self, name: &str) {
        let png = self.call("GET", &self.at("/screenshot"), None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        // The published screenshots are rewritten only when asked for (`make
        // console-screenshots`); an ordinary test run keeps its own under target/.
        let dir = std::env::var_os("ACCORD_SCREENSHOT_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("console"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = common::client()
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A server with two spaces, devices that synced (with a conflict) and uploaded log
/// reports, one of them hostile.
fn busy_server(dir: &Path) -> ServeProcess {
    let db = dir.join("server.db");
    let storage = accord_server::storage::open(&db.to_string_lossy()).unwrap();
    let mut tokens = Vec::new();
    for space in ["notes", HOSTILE_SPACE] {
        storage.add_space(space).unwrap();
    }
    for user in ["alice", "bob"] {
        let t = auth::new_token().unwrap();
        storage.add_user(user, &auth::token_hash(&t)).unwrap();
        storage.grant(user, "notes").unwrap();
        tokens.push(t);
    }
    storage.grant("bob", HOSTILE_SPACE).unwrap();
    drop(storage);
    let server = ServeProcess::start(&db.to_string_lossy(), &["--console-token", CONSOLE_TOKEN]);

    let device = |name: &str, token: &str, space: &str| {
        Accord::open(Config::new(dir.join(format!("{name}.db"))).with_server(
            &server.url,
            token,
            space,
        ))
        .unwrap()
    };
    let phone = device("phone", &tokens[0], "notes");
    let laptop = device("laptop", &tokens[1], "notes");
    let ops = device("ops", &tokens[1], HOSTILE_SPACE);
    let rows: Vec<_> = (0..120)
        .map(|i| {
            (
                format!("n{i}"),
                json!({"title": format!("note {i}"), "body": "first line\n"}),
            )
        })
        .collect();
    phone.put_many("notes", rows).unwrap();
    for i in 0..40 {
        phone
            .log(
                "I",
                "Sync",
                &format!("fetched page {i} in {} ms", 10 + i % 7),
            )
            .unwrap();
    }
    phone
        .log(
            "E",
            "Db",
            "disk full: cannot write /data/notes.db-wal (28 bytes free)",
        )
        .unwrap();
    assert_eq!(phone.sync().outcome, SyncOutcome::Done);
    assert_eq!(laptop.sync().outcome, SyncOutcome::Done);
    // Both edit the same note offline; each sync pulls before it pushes, so they merge
    // without the server noticing...
    phone
        .put(
            "notes",
            "n1",
            json!({"title": "note 1", "body": "phone's line\n"}),
        )
        .unwrap();
    laptop
        .put(
            "notes",
            "n1",
            json!({"title": "note 1", "body": "laptop's line\n"}),
        )
        .unwrap();
    assert_eq!(phone.sync().outcome, SyncOutcome::Done);
    assert_eq!(laptop.sync().outcome, SyncOutcome::Done);
    // ...but a write built on a version that is no longer current gets a conflict answer.
    let stale = json!({"mutations": [{"mutation_id": "m-stale", "collection": "notes", "id": "n2",
        "base_version": 0, "data": {"body": "stale\n"}}]});
    let answer: Value = common::client()
        .post(&format!("{}/v1/spaces/notes/mutations", server.url))
        .header("Authorization", &format!("Bearer {}", tokens[0]))
        .header("Accord-Device", "script")
        .send_json(stale)
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(answer["results"][0]["status"], "conflict");
    for i in 0..10 {
        ops.log("W", "Net", &format!("retrying request {i}"))
            .unwrap();
    }
    ops.log("E", "Web", HOSTILE_LINE).unwrap();
    ops.put("notes", "x", json!({"body": HOSTILE_LINE}))
        .unwrap();
    assert_eq!(ops.sync().outcome, SyncOutcome::Done);
    server
}

#[test]
fn an_operator_signs_in_and_reads_every_page_of_the_console_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let server = busy_server(dir.path());
    let console = format!("{}/console", server.url);
    let browser = Browser::start();

    // Any page without a session is the sign-in page.
    browser.open(&format!("{console}/activity"));
    assert!(
        browser.title().starts_with("Sign in"),
        "{}",
        browser.title()
    );
    assert!(browser.elements("table").is_empty(), "nothing but the form");
    browser.screenshot("sign-in");
    // A device's sync token is not the console token.
    browser.type_into("#token", "acc_0123456789abcdef0123456789abcdef");
    browser.click("button[type=submit]");
    browser.wait_until("the refusal", |b| !b.elements("[role=alert]").is_empty());
    assert!(browser
        .text("[role=alert]")
        .contains("not this server's console token"));
    browser.type_into("#token", CONSOLE_TOKEN);
    browser.click("form.login button[type=submit]");
    browser.wait_until("the spaces page", |b| b.url() == format!("{console}/"));

    // The session cookie is out of scripts' reach and never sent by other sites.
    let cookies = browser.call("GET", &browser.at("/cookie"), None);
    let session = cookies
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "accord_console")
        .unwrap_or_else(|| panic!("no session cookie: {cookies}"));
    assert_eq!(session["httpOnly"], true);
    assert_eq!(session["sameSite"], "Strict");
    assert!(!session["value"].as_str().unwrap().contains(CONSOLE_TOKEN));
    assert_eq!(browser.script("return document.cookie"), json!(""));

    // Spaces: both, names as text (the markup in one is shown, not applied).
    let spaces = browser.text("main table");
    assert!(
        spaces.contains("notes") && spaces.contains("alice, bob"),
        "{spaces}"
    );
    assert!(spaces.contains(HOSTILE_SPACE), "{spaces}");
    assert!(
        browser.elements("main table b").is_empty(),
        "a name's <b> stayed text"
    );
    browser.screenshot("spaces");

    // A space: members, charts with bars, devices, reports.
    browser.click("main table a[href='/console/spaces/notes']");
    browser.wait_until("the space page", |b| {
        b.title() == "Space notes · Accord console"
    });
    let page = browser.text("main");
    for expected in [
        "alice",
        "bob",
        "Records pulled",
        "Mutations applied",
        "Conflict answers",
        "Devices, last 7 days",
    ] {
        assert!(page.contains(expected), "{expected} missing: {page}");
    }
    assert!(
        browser.elements("figure.chart svg rect.bar").len() >= 3,
        "bars drawn"
    );
    let devices = browser.text("main table:nth-of-type(2)");
    assert!(
        devices.contains(
            &accord::Accord::open(Config::new(dir.path().join("phone.db")))
                .unwrap()
                .device_id()
                .to_string()
        ),
        "{devices}"
    );
    browser.screenshot("space");

    // Activity: the conflict answer is counted.
    browser.open(&format!("{console}/activity"));
    let page = browser.text("main");
    assert!(page.contains("Conflict answers"), "{page}");
    let conflicts = browser.script(
        "return [...document.querySelectorAll('figure.chart')].map(f => f.querySelector('figcaption').textContent)",
    );
    let captions: Vec<&str> = conflicts
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        captions[2].contains("— 1 in 48 h"),
        "one conflict answer: {captions:?}"
    );
    // 120 notes, two edits of n1, one note in the other space.
    assert!(
        captions[1].contains("— 123 in 48 h"),
        "mutations applied: {captions:?}"
    );
    browser.screenshot("activity");

    // Reports: both; the hostile one shows its line as text and runs nothing.
    browser.open(&format!("{console}/reports"));
    let list = browser.text("main table");
    assert!(
        list.contains("notes") && list.contains(HOSTILE_SPACE),
        "{list}"
    );
    browser.screenshot("reports");
    let hostile_link = format!(
        "main table a[href^='/console/spaces/{}/reports/']",
        "%3Cb%3Eops%3C%2Fb%3E%20%26%20co%2F1"
    );
    browser.click(&hostile_link);
    browser.wait_until("the report page", |b| b.title().starts_with("Log report "));
    let page = browser.text("main");
    assert!(page.contains(HOSTILE_LINE), "shown as text: {page}");
    assert!(browser.elements("main script, main img").is_empty());
    let title = browser.script("return document.title");
    assert!(
        !title.as_str().unwrap().contains("pwned"),
        "a script ran: {title}"
    );
    assert!(browser.elements("script").is_empty());

    // The other report: the paragraph's citations link to the templates they cite.
    browser.open(&format!("{console}/reports"));
    browser.click("main table a[href^='/console/spaces/notes/reports/']");
    browser.wait_until("the report page", |b| b.title().starts_with("Log report "));
    let summary = browser.text("p.summary");
    assert!(summary.contains("[C1]"), "{summary}");
    let cited = browser.elements("a.cite");
    assert!(!cited.is_empty());
    for (i, link) in cited.iter().enumerate() {
        let href = browser.call(
            "GET",
            &browser.at(&format!("/element/{link}/attribute/href")),
            None,
        );
        let href = href.as_str().unwrap();
        if i == 0 {
            assert_eq!(href, "#C1");
        }
        // Every citation links to a template of this report.
        assert_eq!(browser.elements(&format!("tr{href}")).len(), 1, "{href}");
    }
    assert!(browser.text("tr#C1").contains("disk full"));
    let page = browser.text("main");
    assert!(
        page.contains("Sync: fetched page <*> in <*> 40 I"),
        "{page}"
    );
    browser.screenshot("report");

    // Signing out ends the session in this browser.
    browser.click("header form button");
    browser.wait_until("the sign-in page", |b| b.title().starts_with("Sign in"));
    browser.open(&format!("{console}/"));
    assert!(browser.title().starts_with("Sign in"));
    assert!(browser.elements("table").is_empty());
}
