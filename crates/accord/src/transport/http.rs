//! The HTTP transport: JSON over HTTP(S), gzip both ways, bearer token (fixed, or from
//! the app's provider, renewed once after a 401).
//!
//! ureq only moves bytes here: it reports every status as a response (the status is
//! classified below), does not decompress (the body is decoded below, within
//! [`MAX_RESPONSE_BYTES`]), reads no proxy from the environment and verifies TLS with
//! rustls on *ring* against the Mozilla roots.

use std::io::{BufRead, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::de::DeserializeOwned;
use serde::Serialize;
use ureq::http::Response;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::Body;

use super::credentials::check_token;
use super::{Credentials, ErrorClass, Traffic, Transport, TransportError};
use accord_protocol::{
    ChangesPage, ErrorBody, LogReceipt, LogReport, MutationBatch, MutationResults, RawData,
    API_PREFIX,
};

/// Request bodies larger than this are gzip-compressed.
const COMPRESS_ABOVE: usize = 1024;

/// What the client asks the server to compress answers with. zstd first: for the same
/// bytes on the wire it costs the server a fraction of gzip's CPU (bench/results/sync.md);
/// a server without zstd answers gzip, so an older server keeps working.
const ACCEPT_ENCODING: &str = "zstd, gzip;q=0.8";

/// Largest response body accepted (after decompression); a server that sends more is
/// broken or hostile.
const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// Redirects followed before the request fails (ureq 2's default, kept when moving to 3).
const MAX_REDIRECTS: u32 = 5;

/// What one request gave: a response whatever its status, or why there is none.
type Answer = Result<Response<Body>, ureq::Error>;

/// HTTP client for one space of one server.
pub struct HttpTransport {
    agent: ureq::Agent,
    connect_timeout: Duration,
    request_timeout: Duration,
    space_url: String,
    credentials: Credentials,
    /// The `Authorization` value sent now: the fixed token's, or the provider's once
    /// asked (at the first request, and again after a 401).
    authorization: Mutex<Option<String>>,
    /// This device's id, sent in [`accord_protocol::DEVICE_HEADER`] when set.
    device: Option<String>,
    sent: AtomicU64,
    received: AtomicU64,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of debug output.
        f.debug_struct("HttpTransport")
            .field("space_url", &self.space_url)
            .finish()
    }
}

impl HttpTransport {
    /// A client for `space` on the server at `base_url` (`http://host:port` or
    /// `https://...`), authenticating with `token`.
    pub fn new(
        base_url: &str,
        token: &str,
        space: &str,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Self, TransportError> {
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(TransportError::protocol(format!(
                "server URL '{base_url}' must start with http:// or https://"
            )));
        }
        accord_protocol::check_name("space", space).map_err(TransportError::protocol)?;
        let agent = agent(connect_timeout, request_timeout, RootCerts::WebPki);
        Ok(HttpTransport {
            agent,
            connect_timeout,
            request_timeout,
            space_url: format!("{base}{API_PREFIX}/spaces/{}", encode_segment(space)),
            credentials: Credentials::from(token),
            authorization: Mutex::new(Some(format!("Bearer {token}"))),
            device: None,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
        })
    }

    /// Authenticates with `credentials` instead of the token given to [`Self::new`]: a
    /// provider is asked at the first request and again after the server refuses its
    /// token (see [`crate::transport::TokenProvider`]).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        let fixed = match &credentials {
            Credentials::Token(t) => Some(format!("Bearer {t}")),
            Credentials::Provider(_) => None,
        };
        self.credentials = credentials;
        self.authorization = Mutex::new(fixed);
        self
    }

    /// Names this device to the server in every request (the server counts activity
    /// per device with it).
    pub fn with_device(mut self, device: &str) -> Self {
        self.device = Some(device.to_string());
        self
    }

    /// The `Authorization` header to send: the one in use, or a new one from the
    /// provider when there is none yet or `renew` (the server refused the one in use).
    /// A fixed token is never renewed. The provider is called with no lock held.
    fn authorization(&self, renew: bool) -> Result<String, TransportError> {
        let current = self
            .authorization
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let provider = match (&self.credentials, current) {
            (Credentials::Provider(p), None) => p,
            (Credentials::Provider(p), Some(_)) if renew => p,
            (_, Some(current)) => return Ok(current),
            // Only a provider starts without a value.
            (Credentials::Token(t), None) => return Ok(format!("Bearer {t}")),
        };
        if renew {
            log::info!(
                target: "accord::transport",
                "the server refused the token (401); asking the credentials provider for a new one"
            );
        }
        let token = provider.token(renew)?;
        check_token(&token).map_err(TransportError::credentials)?;
        let value = format!("Bearer {token}");
        *self.authorization.lock().unwrap_or_else(|p| p.into_inner()) = Some(value.clone());
        Ok(value)
    }

    /// Sends one request with the current token, built by `send` from the
    /// `Authorization` value. When the server refuses the token (401) and a provider can
    /// renew it, sends it once more with the renewed token; a token the provider does not
    /// change, or a second 401, is the server's auth failure.
    fn exchange<R: DeserializeOwned>(
        &self,
        what: &str,
        send: impl Fn(&str) -> Answer,
    ) -> Result<R, TransportError> {
        self.exchange_with(send, |resp| {
            let bytes = self.read_body(resp)?;
            serde_json::from_slice(&bytes).map_err(|e| {
                TransportError::protocol(format!(
                    "the server's answer is not a valid {what}: {e} (is the server URL right?)"
                ))
            })
        })
    }

    /// [`Self::exchange`] with a successful answer's body read by `read`.
    fn exchange_with<R>(
        &self,
        send: impl Fn(&str) -> Answer,
        read: impl FnOnce(Response<Body>) -> Result<R, TransportError>,
    ) -> Result<R, TransportError> {
        let authorization = self.authorization(false)?;
        let mut result = send(&authorization);
        if matches!(&result, Ok(resp) if resp.status().as_u16() == 401)
            && matches!(self.credentials, Credentials::Provider(_))
        {
            let renewed = self.authorization(true)?;
            if renewed != authorization {
                result = send(&renewed);
            }
        }
        read(self.answer(result)?)
    }

    /// `req` with the headers every request carries.
    fn with_headers<B>(
        &self,
        req: ureq::RequestBuilder<B>,
        authorization: &str,
    ) -> ureq::RequestBuilder<B> {
        let req = req
            .header("Authorization", authorization)
            .header("Accept-Encoding", ACCEPT_ENCODING);
        match &self.device {
            Some(d) => req.header(accord_protocol::DEVICE_HEADER, d),
            None => req,
        }
    }

    /// Also trusts the certificate authorities in `pem` (one or more PEM certificates)
    /// for `https://`, besides the public web roots: for a server with a private CA or a
    /// self-signed certificate.
    pub fn with_trusted_ca(mut self, pem: &[u8]) -> Result<Self, TransportError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        // The CA certificates are checked here, where a bad one can be reported: ureq
        // would skip a root it cannot parse without a word.
        let mut checked = rustls::RootCertStore::empty();
        let mut extra = Vec::new();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                TransportError::protocol(format!("the trusted CA file is not valid PEM: {e}"))
            })?;
            extra.push(Certificate::from_der(&cert).to_owned());
            checked.add(cert).map_err(|e| {
                TransportError::protocol(format!("cannot trust that CA certificate: {e}"))
            })?;
        }
        if extra.is_empty() {
            return Err(TransportError::protocol(
                "the trusted CA file holds no CERTIFICATE block",
            ));
        }
        // ureq takes roots as whole certificates, so the Mozilla set comes from
        // webpki-root-certs here (the same roots webpki-roots holds as trust anchors).
        let public = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()));
        let roots = RootCerts::from(public.chain(extra));
        self.agent = agent(self.connect_timeout, self.request_timeout, roots);
        Ok(self)
    }

    fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<R, TransportError> {
        let json = serde_json::to_vec(body)
            .map_err(|e| TransportError::protocol(format!("cannot encode {what}: {e}")))?;
        let (body, gzipped) = if json.len() > COMPRESS_ABOVE {
            (gzip(&json)?, true)
        } else {
            (json, false)
        };
        let url = format!("{}{path}", self.space_url);
        self.exchange(what, |authorization| {
            let req = self
                .with_headers(self.agent.post(&url), authorization)
                .header("Content-Type", "application/json");
            self.sent.fetch_add(body.len() as u64, Ordering::Relaxed);
            if gzipped {
                req.header("Content-Encoding", "gzip").send(&body[..])
            } else {
                req.send(&body[..])
            }
        })
    }

    /// The response of a success (below 400), or the error a failing status or a
    /// failed exchange means.
    fn answer(&self, result: Answer) -> Result<Response<Body>, TransportError> {
        match result {
            Ok(resp) if resp.status().as_u16() < 400 => Ok(resp),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = header(&resp, "Retry-After")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let message = match self.read_body(resp) {
                    Ok(bytes) => match serde_json::from_slice::<ErrorBody>(&bytes) {
                        Ok(body) => body.message,
                        Err(_) => String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                    },
                    Err(e) => e.message,
                };
                Err(TransportError {
                    class: classify_status(status),
                    status: Some(status),
                    message,
                    retry_after,
                })
            }
            Err(e) => Err(TransportError::transient(format!(
                "cannot reach the server: {e}"
            ))),
        }
    }

    fn read_body(&self, resp: Response<Body>) -> Result<Vec<u8>, TransportError> {
        let encoding = Encoding::of(&resp)?;
        let mut raw = Vec::new();
        // Unlimited in ureq; the cap is this `take`, so an oversized answer gets the
        // size error below rather than a read error.
        resp.into_body()
            .into_reader()
            .take(MAX_RESPONSE_BYTES + 1)
            .read_to_end(&mut raw)
            .map_err(|e| {
                TransportError::transient(format!("connection lost while reading the answer: {e}"))
            })?;
        self.received.fetch_add(raw.len() as u64, Ordering::Relaxed);
        let decoded = |reader: &mut dyn Read, name: &str| {
            let mut out = Vec::with_capacity(raw.len() * 4);
            reader
                .take(MAX_RESPONSE_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    TransportError::protocol(format!("the server sent broken {name}: {e}"))
                })?;
            Ok::<_, TransportError>(out)
        };
        let body = match encoding {
            Encoding::Identity => raw,
            Encoding::Gzip => decoded(&mut GzDecoder::new(raw.as_slice()), "gzip")?,
            Encoding::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::with_buffer(raw.as_slice())
                    .map_err(|e| {
                        TransportError::protocol(format!("cannot start a zstd decoder: {e}"))
                    })?;
                decoded(&mut decoder, "zstd")?
            }
        };
        if body.len() as u64 > MAX_RESPONSE_BYTES {
            return Err(TransportError::protocol(format!(
                "the server's answer is larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        Ok(body)
    }

    /// Reads a streamed feed: one page a line, each handed to `each` once whole.
    fn read_stream(
        &self,
        resp: Response<Body>,
        each: &mut dyn FnMut(ChangesPage<RawData>) -> bool,
    ) -> Result<(), TransportError> {
        let encoding = Encoding::of(&resp)?;
        let raw = Counted {
            inner: resp.into_body().into_reader(),
            received: &self.received,
        };
        let decoded: Box<dyn Read + '_> = match encoding {
            Encoding::Identity => Box::new(raw),
            Encoding::Gzip => Box::new(GzDecoder::new(raw)),
            Encoding::Zstd => Box::new(zstd::stream::read::Decoder::new(raw).map_err(|e| {
                TransportError::protocol(format!("cannot start a zstd decoder: {e}"))
            })?),
        };
        let mut lines = std::io::BufReader::with_capacity(256 * 1024, decoded);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut lines)
                .take(MAX_RESPONSE_BYTES + 1)
                .read_until(b'\n', &mut line)
                .map_err(|e| {
                    TransportError::transient(format!(
                        "connection lost while reading the feed: {e}"
                    ))
                })?;
            if read == 0 {
                return Ok(());
            }
            if read as u64 > MAX_RESPONSE_BYTES {
                return Err(TransportError::protocol(format!(
                    "the server sent a page larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            let whole = line.last() == Some(&b'\n');
            let page = match serde_json::from_slice::<ChangesPage<RawData>>(&line) {
                Ok(page) => page,
                // The answer ended inside a page: keep the pages before it, ask again.
                Err(_) if !whole => {
                    return Err(TransportError::transient(
                        "the streamed feed ended inside a page",
                    ))
                }
                Err(e) => {
                    return Err(TransportError::protocol(format!(
                        "the server's streamed feed holds a line that is not a changes page: {e}"
                    )))
                }
            };
            if !each(page) {
                return Ok(());
            }
        }
    }
}

/// A response body that counts the bytes read from the network.
struct Counted<'a, R> {
    inner: R,
    received: &'a AtomicU64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.received.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Transport for HttpTransport {
    fn changes(
        &self,
        since: i64,
        limit: u32,
        count_remaining: bool,
    ) -> Result<ChangesPage<RawData>, TransportError> {
        let url = format!("{}/changes", self.space_url);
        self.exchange("changes page", |authorization| {
            let mut req = self
                .with_headers(self.agent.get(&url), authorization)
                .query("since", since.to_string())
                .query("limit", limit.to_string());
            if count_remaining {
                req = req.header(accord_protocol::COUNT_REMAINING_HEADER, "1");
            }
            req.call()
        })
    }

    fn changes_stream(
        &self,
        since: i64,
        limit: u32,
        pages: u32,
        each: &mut dyn FnMut(ChangesPage<RawData>) -> bool,
    ) -> Result<(), TransportError> {
        let url = format!("{}/changes", self.space_url);
        self.exchange_with(
            |authorization| {
                self.with_headers(self.agent.get(&url), authorization)
                    .query("since", since.to_string())
                    .query("limit", limit.to_string())
                    .query("pages", pages.to_string())
                    .call()
            },
            |resp| self.read_stream(resp, each),
        )
    }

    fn push(&self, batch: &MutationBatch) -> Result<MutationResults, TransportError> {
        self.post("/mutations", batch, "mutation results")
    }

    fn upload_logs(&self, report: &LogReport) -> Result<LogReceipt, TransportError> {
        self.post("/logs", report, "log receipt")
    }

    fn traffic(&self) -> Traffic {
        Traffic {
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
        }
    }
}

/// The agent every transport uses: its timeouts, TLS against `roots` on rustls with
/// *ring*, and no behaviour of ureq's own that would hide what the server said.
fn agent(connect_timeout: Duration, request_timeout: Duration, roots: RootCerts) -> ureq::Agent {
    let tls = TlsConfig::builder()
        .root_certs(roots)
        // *ring* whatever provider the process installed, as before.
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build();
    ureq::Agent::config_builder()
        .timeout_connect(Some(connect_timeout))
        // The whole exchange, from resolving the name to the body's last byte.
        .timeout_global(Some(request_timeout))
        // 4xx and 5xx are answers: `answer` classifies them and reads their message.
        .http_status_as_error(false)
        // No proxy from HTTP(S)_PROXY/ALL_PROXY: the transport never used one.
        .proxy(None)
        .max_redirects(MAX_REDIRECTS)
        .tls_config(tls)
        .build()
        .new_agent()
}

/// A response header's value, when it is text.
fn header<'a>(resp: &'a Response<Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// How a response body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Zstd,
}

impl Encoding {
    /// The response's `Content-Encoding`; one this client did not ask for is refused.
    fn of(resp: &Response<Body>) -> Result<Self, TransportError> {
        match header(resp, "Content-Encoding").map(str::trim) {
            None => Ok(Encoding::Identity),
            Some(v) if v.eq_ignore_ascii_case("identity") => Ok(Encoding::Identity),
            Some(v) if v.eq_ignore_ascii_case("gzip") => Ok(Encoding::Gzip),
            Some(v) if v.eq_ignore_ascii_case("zstd") => Ok(Encoding::Zstd),
            Some(other) => Err(TransportError::protocol(format!(
                "the server answered in an encoding this client did not ask for: {other}"
            ))),
        }
    }
}

/// What a status code means for the worker.
fn classify_status(status: u16) -> ErrorClass {
    match status {
        408 | 429 | 500..=599 => ErrorClass::Transient,
        401 | 403 | 404 => ErrorClass::Auth,
        _ => ErrorClass::Protocol,
    }
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, TransportError> {
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    enc.write_all(bytes)
        .and_then(|_| enc.finish())
        .map_err(|e| TransportError::protocol(format!("cannot compress the request: {e}")))
}

/// Percent-encodes one URL path segment.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{TokenError, TokenProvider};

    #[test]
    fn statuses_are_classified_for_retry_or_failure() {
        assert_eq!(classify_status(503), ErrorClass::Transient);
        assert_eq!(classify_status(429), ErrorClass::Transient);
        assert_eq!(classify_status(401), ErrorClass::Auth);
        assert_eq!(classify_status(404), ErrorClass::Auth);
        assert_eq!(classify_status(400), ErrorClass::Protocol);
        assert_eq!(classify_status(413), ErrorClass::Protocol);
    }

    #[test]
    fn space_names_are_encoded_in_the_path() {
        assert_eq!(encode_segment("team notes/1"), "team%20notes%2F1");
    }

    #[test]
    fn urls_without_a_scheme_are_refused() {
        let err = HttpTransport::new(
            "localhost:8080",
            "t",
            "s",
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Protocol);
    }

    /// A server on loopback that accepts only `Bearer good` on `/changes`, answering
    /// each connection once; returns its URL and the tokens it saw, in order.
    fn token_checking_server(requests: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
        use std::io::BufRead;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for stream in listener.incoming().take(requests) {
                let mut stream = stream.unwrap();
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut auth = String::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    // Header names are case-insensitive (ureq 3 sends them lowercase).
                    let (name, value) = line.split_once(':').unwrap_or((&line, ""));
                    if name.eq_ignore_ascii_case("authorization") {
                        let value = value.trim();
                        auth = value.strip_prefix("Bearer ").unwrap_or(value).to_string();
                    }
                }
                let (status, body) = if auth == "good" {
                    ("200 OK", r#"{"changes":[],"next":0,"more":false}"#)
                } else {
                    (
                        "401 Unauthorized",
                        r#"{"error":"unauthorized","message":"unknown token"}"#,
                    )
                };
                seen.push(auth);
                write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
            seen
        });
        (url, seen)
    }

    /// A server on loopback that answers its one connection with `head` (status line
    /// and headers, without Content-Length) and `body`; returns its URL and the
    /// request's head as it arrived.
    fn answering(head: &str, body: Vec<u8>) -> (String, std::thread::JoinHandle<String>) {
        use std::io::BufRead;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let head = head.to_string();
        let seen = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                request.push_str(&line);
            }
            write!(
                stream,
                "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            stream.write_all(&body).unwrap();
            request
        });
        (url, seen)
    }

    fn transport(url: &str) -> HttpTransport {
        HttpTransport::new(
            url,
            "t",
            "s",
            Duration::from_secs(5),
            Duration::from_secs(5),
        )
        .unwrap()
    }

    #[test]
    fn an_error_status_is_returned_with_the_servers_message_and_retry_after() {
        let (url, _) = answering(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 7",
            br#"{"error":"unavailable","message":"the server is restarting"}"#.to_vec(),
        );
        let err = transport(&url).changes(0, 10, false).unwrap_err();
        assert_eq!((err.class, err.status), (ErrorClass::Transient, Some(503)));
        assert_eq!(err.message, "the server is restarting");
        assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
    }

    #[test]
    fn a_zstd_answer_is_decoded_and_the_request_says_what_it_accepts() {
        let page = br#"{"changes":[],"next":42,"more":false}"#;
        let (url, request) = answering(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: zstd",
            zstd::encode_all(&page[..], 3).unwrap(),
        );
        let t = transport(&url).with_device("phone-1");
        assert_eq!(t.changes(0, 10, true).unwrap().next, 42);
        let request = request.join().unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("get /v1/spaces/s/changes?since=0&limit=10 "),
            "{request}"
        );
        for header in [
            "authorization: bearer t\r\n",
            "accept-encoding: zstd, gzip;q=0.8\r\n",
            "accord-device: phone-1\r\n",
            "accord-count-remaining: 1\r\n",
        ] {
            assert!(request.contains(header), "{header} in {request}");
        }
    }

    #[test]
    fn an_answer_in_an_encoding_not_asked_for_is_refused() {
        let (url, _) = answering("HTTP/1.1 200 OK\r\nContent-Encoding: br", b"...".to_vec());
        let err = transport(&url).changes(0, 10, false).unwrap_err();
        assert_eq!(err.class, ErrorClass::Protocol, "{err}");
    }

    fn page_line(next: i64, more: bool) -> String {
        format!(
            "{{\"changes\":[{{\"collection\":\"c\",\"id\":\"r{next}\",\"version\":1,\"seq\":{next},\"data\":{{\"n\":{next}}},\"hlc\":\"h\",\"mutation_id\":\"m\"}}],\"next\":{next},\"more\":{more}}}\n"
        )
    }

    /// The pages a streamed answer of `body` delivers, and how it ended.
    fn stream_from(body: Vec<u8>) -> (Vec<i64>, Result<(), TransportError>) {
        let (url, _) = answering(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson",
            body,
        );
        let t = transport(&url);
        let mut got = Vec::new();
        let result = t.changes_stream(0, 1, 16, &mut |page| {
            got.push(page.next);
            true
        });
        (got, result)
    }

    #[test]
    fn a_streamed_feed_cut_inside_a_page_delivers_the_whole_pages_before_it() {
        let mut body = format!("{}{}", page_line(1, true), page_line(2, true)).into_bytes();
        let third = page_line(3, false);
        body.extend_from_slice(&third.as_bytes()[..third.len() / 2]);
        let (got, result) = stream_from(body);
        assert_eq!(got, vec![1, 2]);
        let err = result.unwrap_err();
        assert_eq!(err.class, ErrorClass::Transient, "{err}");

        // Whole pages to the end: all delivered, no error.
        let body = format!("{}{}", page_line(1, true), page_line(2, false)).into_bytes();
        let (got, result) = stream_from(body);
        assert_eq!(got, vec![1, 2]);
        assert!(result.is_ok(), "{result:?}");
    }

    #[test]
    fn a_streamed_line_that_is_not_a_page_is_the_servers_fault_not_a_retry() {
        let body = format!("{}{{\"not\":\"a page\"}}\n", page_line(1, true)).into_bytes();
        let (got, result) = stream_from(body);
        assert_eq!(got, vec![1]);
        assert_eq!(result.unwrap_err().class, ErrorClass::Protocol);
    }

    struct Renewing {
        tokens: std::sync::Mutex<Vec<Result<String, TokenError>>>,
        asked: std::sync::Mutex<Vec<bool>>,
    }

    impl TokenProvider for Renewing {
        fn token(&self, refresh: bool) -> Result<String, TokenError> {
            self.asked.lock().unwrap().push(refresh);
            self.tokens.lock().unwrap().remove(0)
        }
    }

    fn renewing(tokens: Vec<Result<String, TokenError>>) -> Arc<Renewing> {
        Arc::new(Renewing {
            tokens: std::sync::Mutex::new(tokens),
            asked: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn transport_with(url: &str, provider: Arc<Renewing>) -> HttpTransport {
        HttpTransport::new(url, "", "s", Duration::from_secs(5), Duration::from_secs(5))
            .unwrap()
            .with_credentials(Credentials::Provider(provider))
    }

    #[test]
    fn a_refused_token_is_renewed_once_and_the_request_sent_again() {
        let (url, server) = token_checking_server(3);
        let provider = renewing(vec![Ok("stale".into()), Ok("good".into())]);
        let t = transport_with(&url, provider.clone());
        t.changes(0, 10, false).expect("renewed after the 401");
        // The renewed token is kept for the rest of the pass: not asked again.
        t.changes(0, 10, false).expect("the renewed token again");
        assert_eq!(*provider.asked.lock().unwrap(), vec![false, true]);
        assert_eq!(server.join().unwrap(), vec!["stale", "good", "good"]);
    }

    #[test]
    fn a_token_the_provider_cannot_renew_is_the_servers_auth_failure() {
        let (url, server) = token_checking_server(3);
        let provider = renewing(vec![
            Ok("stale".into()),
            Ok("stale".into()),
            Ok("other".into()),
        ]);
        let t = transport_with(&url, provider.clone());
        let err = t.changes(0, 10, false).unwrap_err();
        assert_eq!((err.class, err.status), (ErrorClass::Auth, Some(401)));
        // Renewed, and refused again: one more request, never a loop.
        let err = t.changes(0, 10, false).unwrap_err();
        assert_eq!((err.class, err.status), (ErrorClass::Auth, Some(401)));
        assert_eq!(*provider.asked.lock().unwrap(), vec![false, true, true]);
        assert_eq!(server.join().unwrap(), vec!["stale", "stale", "other"]);
    }

    #[test]
    fn a_provider_without_a_token_is_transient_or_a_failure_as_it_says() {
        let unreachable = "http://127.0.0.1:9";
        let offline = renewing(vec![Err(TokenError::Unavailable("offline".into()))]);
        let err = transport_with(unreachable, offline)
            .changes(0, 10, false)
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Transient, "{err}");
        let signed_out = renewing(vec![Err(TokenError::Failed("signed out".into()))]);
        let err = transport_with(unreachable, signed_out)
            .changes(0, 10, false)
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Credentials, "{err}");
        assert!(err.message.contains("signed out"), "{err}");
        let newline = renewing(vec![Ok("good\r\nX-Injected: 1".into())]);
        let err = transport_with(unreachable, newline)
            .changes(0, 10, false)
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Credentials, "{err}");
    }

    #[test]
    fn refused_connection_is_transient() {
        // Port 9 (discard) on loopback is closed on any sane test machine.
        let t = HttpTransport::new(
            "http://127.0.0.1:9",
            "t",
            "s",
            Duration::from_secs(2),
            Duration::from_secs(2),
        )
        .unwrap();
        let err = t.changes(0, 10, false).unwrap_err();
        assert_eq!(err.class, ErrorClass::Transient, "{err}");
    }
}
