//! Shared test fixtures: a real server on loopback over a real SQLite file (or, when
//! `ACCORD_TEST_POSTGRES` holds a server URL, a fresh PostgreSQL database), and devices.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use accord::{Accord, Config};
use accord_server::{auth, RunningServer, ServerOptions, Storage};
use serde_json::Value;

/// Environment variable naming a PostgreSQL server (`postgres://user@host:port/db`) to
/// run the server suites against instead of SQLite (`scripts/pg-test-cluster.sh` sets it).
pub const POSTGRES_ENV: &str = "ACCORD_TEST_POSTGRES";

/// A new, empty server database: a SQLite file in `dir`, or a database of its own on
/// the PostgreSQL server named by [`POSTGRES_ENV`]. Returns what `--db` would take.
pub fn fresh_database(dir: &Path) -> String {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => fresh_postgres_database(&url),
        _ => dir.join("server.db").to_string_lossy().into_owned(),
    }
}

/// Creates a uniquely named database on the server of `url` and returns its URL.
pub fn fresh_postgres_database(url: &str) -> String {
    let name = format!("accord_test_{}_{}", std::process::id(), uuid_like());
    let mut admin = postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={url}: cannot connect: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _db) = url.rsplit_once('/').expect("URL ends in /DATABASE");
    format!("{base}/{name}")
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A running server with one space and users granted to it.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    /// What `accord serve --db` would take for this server's database.
    pub db: String,
    pub storage: Arc<dyn Storage>,
    pub server: RunningServer,
    pub space: String,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(ServerOptions::default())
    }

    pub fn start_with(options: ServerOptions) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db = fresh_database(dir.path());
        let storage = accord_server::storage::open(&db).unwrap();
        storage.add_space("notes").unwrap();
        let server = RunningServer::start(storage.clone(), options, "127.0.0.1:0").unwrap();
        TestServer {
            dir,
            db,
            storage,
            server,
            space: "notes".into(),
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A new user granted to the space; returns its token.
    pub fn user(&self, name: &str) -> String {
        let token = auth::new_token().unwrap();
        self.storage
            .add_user(name, &auth::token_hash(&token))
            .unwrap();
        self.storage.grant(name, &self.space).unwrap();
        token
    }

    /// Opens a device store in the server's temp dir.
    pub fn device(&self, name: &str, token: &str) -> Accord {
        Accord::open(self.device_config(name, token)).unwrap()
    }

    pub fn device_config(&self, name: &str, token: &str) -> Config {
        Config::new(self.store_path(name)).with_server(&self.url(), token, &self.space)
    }

    pub fn store_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.db"))
    }

    /// The space's current change sequence (how many writes it accepted).
    pub fn seq(&self) -> i64 {
        self.storage
            .spaces()
            .unwrap()
            .into_iter()
            .find(|s| s.name == self.space)
            .unwrap()
            .seq
    }

    /// The server's version of a record.
    pub fn version_of(&self, collection: &str, id: &str) -> Option<i64> {
        self.record(collection, id).map(|r| r.version)
    }

    /// The server's copy of a record's fields (`None` when absent or deleted).
    pub fn data_of(&self, collection: &str, id: &str) -> Option<serde_json::Value> {
        self.record(collection, id).and_then(|r| r.data)
    }

    fn record(&self, collection: &str, id: &str) -> Option<accord_protocol::RemoteRecord> {
        let user = self
            .storage
            .user_for_token(&auth::token_hash(&self.user_token_for_reading()))
            .unwrap()
            .unwrap();
        let sid = self.storage.space_for(&user, &self.space).unwrap().unwrap();
        self.storage
            .changes(sid, 0, 1000)
            .unwrap()
            .changes
            .into_iter()
            .find(|r| r.collection == collection && r.id == id)
            .map(|r| r.decode().unwrap())
    }

    fn user_token_for_reading(&self) -> String {
        // A reader user made once per server.
        static_reader(self)
    }
}

fn static_reader(s: &TestServer) -> String {
    let path = s.dir.path().join("reader.token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        return t;
    }
    let t = s.user("test-reader");
    std::fs::write(&path, &t).unwrap();
    t
}

/// The `accord` binary built for these tests.
pub fn accord_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_accord"))
}

/// An `accord serve` process on loopback; killed when dropped.
pub struct ServeProcess {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub url: String,
}

impl ServeProcess {
    /// Starts `accord serve --db DB --listen LISTEN` plus `extra` arguments and waits
    /// for its "listening on" line. An error (not a panic) when it does not start, so a
    /// caller can retry, e.g. while the port of a killed server is still busy.
    pub fn spawn(db: &str, listen: &str, extra: &[&str]) -> Result<ServeProcess, String> {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut child = Command::new(accord_bin())
            .args(["serve", "--db", db, "--listen", listen])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start accord serve: {e}"))?;
        let mut line = String::new();
        let read = match child.stdout.take() {
            Some(out) => BufReader::new(out)
                .read_line(&mut line)
                .map_err(|e| e.to_string()),
            None => Err("no stdout".to_string()),
        };
        match (read, line.trim().strip_prefix("listening on ")) {
            (Ok(_), Some(url)) => Ok(ServeProcess {
                url: url.to_string(),
                child,
            }),
            (read, _) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "accord serve did not start: {read:?} '{}'",
                    line.trim()
                ))
            }
        }
    }

    /// [`ServeProcess::spawn`] on a free port, panicking when the server cannot start.
    pub fn start(db: &str, extra: &[&str]) -> ServeProcess {
        Self::spawn(db, "127.0.0.1:0", extra).unwrap()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The suites' HTTP client settings: a 4xx or 5xx answer is a response like any other
/// (the suites assert on them), a redirect is returned, not followed, so a test sees
/// what the server said (the console's sign-in answers 303), and no proxy from the
/// environment stands between a test and its loopback server.
pub fn client_config() -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
}

/// An agent with [`client_config`].
pub fn client() -> ureq::Agent {
    client_config().build().new_agent()
}

/// Sends `req` (method, URL and headers) with [`client`], with `body` as JSON when given,
/// and returns the response whatever its status. A transport error fails the test.
pub fn send(
    req: ureq::http::request::Builder,
    body: Option<&str>,
) -> ureq::http::Response<ureq::Body> {
    send_with(&client(), req, body)
}

/// [`send`] with `agent`.
pub fn send_with(
    agent: &ureq::Agent,
    req: ureq::http::request::Builder,
    body: Option<&str>,
) -> ureq::http::Response<ureq::Body> {
    let what = format!(
        "{} {}",
        req.method_ref().map(|m| m.as_str()).unwrap_or("?"),
        req.uri_ref().map(|u| u.to_string()).unwrap_or_default()
    );
    let result = match body {
        Some(b) => agent.run(
            req.header("Content-Type", "application/json")
                .body(b.to_string())
                .unwrap(),
        ),
        None => agent.run(req.body(()).unwrap()),
    };
    result.unwrap_or_else(|e| panic!("transport error: {what}: {e}"))
}

/// `resp`'s `name` header, when it is text.
pub fn header<'a>(resp: &'a ureq::http::Response<ureq::Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Sends `method url` with the `Authorization` header when given and `body` as JSON
/// when given; returns the status, the `Retry-After` header and the body text, whatever
/// the status.
pub fn request(
    method: &str,
    url: &str,
    authorization: Option<&str>,
    body: Option<&str>,
) -> (u16, Option<String>, String) {
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    let mut resp = send(req, body);
    let status = resp.status().as_u16();
    let retry_after = header(&resp, "Retry-After").map(str::to_string);
    (
        status,
        retry_after,
        resp.body_mut().read_to_string().unwrap(),
    )
}

/// Status and JSON body (the text as a JSON string when it is not JSON) of `method url`
/// with a bearer `token` when given.
fn json_request(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let (status, _, text) = request(method, url, bearer.as_deref(), body);
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `GET url` with a bearer `token` when given: status and JSON body, whatever the status.
pub fn get(url: &str, token: Option<&str>) -> (u16, Value) {
    json_request("GET", url, token, None)
}

/// `POST url` with JSON `body` and a bearer `token` when given: status and JSON body,
/// whatever the status.
pub fn post(url: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    json_request("POST", url, token, Some(body))
}
