//! Wire types of the Accord sync protocol, version 1.
//!
//! Client and server both depend on this crate and nothing else defines the shapes that
//! cross the network. Requests refuse unknown fields (a typo in a client is an error, not a
//! silently ignored field); responses accept them, so a newer server can add fields
//! without breaking older clients.
//!
//! Endpoints (all under [`API_PREFIX`], JSON, optionally gzip, `Authorization: Bearer`):
//!
//! - `GET  /v1/spaces/{space}/changes?since={seq}&limit={n}` → [`ChangesPage`]
//!   (with [`COUNT_REMAINING_HEADER`], the page says how many changes follow it)
//! - `POST /v1/spaces/{space}/mutations` [`MutationBatch`] → [`MutationResults`]
//! - `POST /v1/spaces/{space}/logs` [`LogReport`] → [`LogReceipt`]
//! - `GET  /health`, `GET /metrics` (Prometheus text)
//!
//! Any request may name its device in [`DEVICE_HEADER`].
//!
//! Errors are [`ErrorBody`] with a status code that matches [`ErrorCode`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Path prefix of this protocol version.
pub const API_PREFIX: &str = "/v1";

/// Largest page a client may ask for; the server clamps `limit` to it.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// Page size used when the client does not ask for one.
pub const DEFAULT_PAGE_LIMIT: u32 = 500;

/// Most mutations one request may carry.
pub const MAX_MUTATIONS_PER_BATCH: usize = 1000;

/// Longest collection name or record id, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// Milliseconds since the Unix epoch by this machine's wall clock: the unit of every
/// `*_ms` field on the wire and in the client's and the server's databases, and the one
/// clock both read. A clock set before 1970 reads as 0 rather than failing a write.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A record's fields as JSON text, carried through without being decoded: the change
/// feed's form, so a server sends what it stored and a client stores what it received
/// without building a [`Value`] for each record. Its JSON on the wire is the same.
pub type RawData = Box<serde_json::value::RawValue>;

/// A record as the server holds it: the latest state, with its version and the change
/// sequence at which it last changed. `D` is how its fields are held: a decoded
/// [`Value`] (the default), or [`RawData`] in the change feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "D: Serialize", deserialize = "D: Deserialize<'de>"))]
pub struct RemoteRecord<D = Value> {
    /// Collection the record belongs to.
    pub collection: String,
    /// Record id, unique within its collection.
    pub id: String,
    /// Starts at 1 and grows by one on every accepted write.
    pub version: i64,
    /// Position of the record's last change in the space's change feed.
    pub seq: i64,
    /// The record's fields; `None` when the record is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<D>,
    /// True for a tombstone.
    #[serde(default)]
    pub deleted: bool,
    /// Hybrid logical clock of the write that produced this version (used for
    /// last-writer-wins fields).
    #[serde(default)]
    pub hlc: String,
    /// The mutation that produced this version, so a client recognises its own write
    /// coming back even when the push's answer was lost.
    #[serde(default)]
    pub mutation_id: String,
}

impl RemoteRecord<RawData> {
    /// True when the fields are a JSON object (what every live record must hold).
    pub fn data_is_object(&self) -> bool {
        self.data
            .as_ref()
            .is_some_and(|d| d.get().trim_start().starts_with('{'))
    }

    /// The same record with its fields decoded.
    pub fn decode(&self) -> Result<RemoteRecord, serde_json::Error> {
        Ok(RemoteRecord {
            collection: self.collection.clone(),
            id: self.id.clone(),
            version: self.version,
            seq: self.seq,
            data: self
                .data
                .as_ref()
                .map(|d| serde_json::from_str(d.get()))
                .transpose()?,
            deleted: self.deleted,
            hlc: self.hlc.clone(),
            mutation_id: self.mutation_id.clone(),
        })
    }
}

/// One page of the change feed; `D` as in [`RemoteRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "D: Serialize", deserialize = "D: Deserialize<'de>"))]
pub struct ChangesPage<D = Value> {
    /// Records changed after `since`, in increasing `seq`, each at its latest state.
    pub changes: Vec<RemoteRecord<D>>,
    /// Cursor to pass as `since` for the next page.
    pub next: i64,
    /// True when more changes follow after `next`.
    pub more: bool,
    /// How many records changed after `next` when the page was read: present only when
    /// the request carried [`COUNT_REMAINING_HEADER`] and the server can count (servers
    /// before it was added leave it out). For progress; the feed itself is `more`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// Optional parts of the protocol this server understands (e.g.
    /// [`FEATURE_ANSWERED_BELOW`]). A client sends an optional request field only to a
    /// server that lists it here: requests refuse unknown fields, so an older server
    /// would answer 400. Servers before this list leave it out (empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// Feature of a server that takes [`MutationBatch::device`],
/// [`MutationBatch::answered_below`] and [`Mutation::outbox_seq`], and forgets a device's
/// mutation ids once the device says it has their answers (see `docs/reliability.md`).
pub const FEATURE_ANSWERED_BELOW: &str = "answered_below";

/// Feature of a server that streams several pages of the feed in one answer: `GET
/// .../changes?since=S&limit=L&pages=N` answers up to `N` (at most
/// [`MAX_STREAM_PAGES`]) pages, each a [`ChangesPage`] on one line
/// ([`STREAM_CONTENT_TYPE`]), the next read from where the last ended. The stream stops
/// after a page with `more: false`, after `N` pages, or early (the client then asks again
/// from the last page's `next`); a page cut short is never a page. The server reads and
/// compresses the next page while the client takes this one, and a long first sync pays
/// one round trip per `N` pages instead of one per page (bench/results/sync.md).
pub const FEATURE_FEED_STREAM: &str = "feed_stream";

/// Most pages one streamed answer holds.
pub const MAX_STREAM_PAGES: u32 = 64;

/// Content type of a streamed feed: newline-delimited JSON, one page a line.
pub const STREAM_CONTENT_TYPE: &str = "application/x-ndjson";

/// Request header of `GET .../changes` asking the server to fill
/// [`ChangesPage::remaining`]. Counting costs the server a scan of the rest of the feed,
/// so a client asks once per pull, on its first page. Servers that do not know the header
/// ignore it.
pub const COUNT_REMAINING_HEADER: &str = "Accord-Count-Remaining";

/// Request header naming the device that makes a request (its store's device id), so the
/// server can tell a user's devices apart in its activity figures. Optional; at most
/// [`MAX_NAME_LEN`] bytes without control characters, or the request is refused (400).
pub const DEVICE_HEADER: &str = "Accord-Device";

/// One local write, sent to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// Client-made id (UUID v7); a mutation id seen before gets its first answer again.
    pub mutation_id: String,
    /// Collection of the record.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// The version this write was made from (0 for a record the client never saw on the
    /// server). The write applies only if it equals the server's current version.
    pub base_version: i64,
    /// The record's new fields; absent for a delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// True for a delete.
    #[serde(default)]
    pub deleted: bool,
    /// Hybrid logical clock of the write on the device.
    #[serde(default)]
    pub hlc: String,
    /// The write's position in its device's outbox (which never reuses a position), when
    /// the batch names its [`MutationBatch::device`]. Sent only to servers with
    /// [`FEATURE_ANSWERED_BELOW`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox_seq: Option<i64>,
}

/// Body of `POST /v1/spaces/{space}/mutations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutationBatch {
    /// Applied in order, each in its own right: one conflict does not stop the others.
    pub mutations: Vec<Mutation>,
    /// The device whose outbox the mutations come from (its store's device id). With it,
    /// every mutation carries its [`Mutation::outbox_seq`] and the batch its
    /// `answered_below`. Sent only to servers with [`FEATURE_ANSWERED_BELOW`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The lowest outbox position still queued on the device: the device holds the
    /// answer of every mutation it sent from a lower position and will never send one of
    /// them again, so the server may forget their ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_below: Option<i64>,
}

impl MutationBatch {
    /// A batch in the form every server understands (no device, no outbox positions).
    pub fn new(mutations: Vec<Mutation>) -> Self {
        MutationBatch {
            mutations,
            device: None,
            answered_below: None,
        }
    }
}

/// The server's answer to one mutation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MutationResult {
    /// The write was accepted (now, or the first time this mutation id was seen).
    Applied {
        /// The mutation this answers.
        mutation_id: String,
        /// The record's new version.
        version: i64,
        /// The change sequence of the write.
        seq: i64,
    },
    /// `base_version` did not match: nothing was written; here is the current record to
    /// merge with before trying again.
    Conflict {
        /// The mutation this answers.
        mutation_id: String,
        /// The record as the server holds it now.
        current: RemoteRecord,
        /// True when the server may have applied this mutation before and forgotten
        /// its id (its device was silent for longer than the server keeps ids, and
        /// another write has changed the record since): `current` may already hold it,
        /// so merging it in again could count it twice. Only sent for batches that name
        /// their device; absent (false) otherwise.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        maybe_applied: bool,
    },
}

impl MutationResult {
    /// The mutation id this result answers.
    pub fn mutation_id(&self) -> &str {
        match self {
            MutationResult::Applied { mutation_id, .. } => mutation_id,
            MutationResult::Conflict { mutation_id, .. } => mutation_id,
        }
    }
}

/// Answer of `POST /v1/spaces/{space}/mutations`: one result per mutation, same order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutationResults {
    /// One entry per mutation of the batch, in the batch's order.
    pub results: Vec<MutationResult>,
}

/// A log template in an uploaded report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogTemplate {
    /// Template text with `<*>` for variable parts.
    pub template: String,
    /// Lines that matched it.
    pub count: u64,
    /// Levels seen, e.g. `["E", "W"]`.
    #[serde(default)]
    pub levels: Vec<String>,
    /// First and last time seen, milliseconds since the Unix epoch.
    pub first_ms: i64,
    /// See `first_ms`.
    pub last_ms: i64,
    /// A few example values per slot.
    #[serde(default)]
    pub examples: Vec<Vec<String>>,
    /// One raw line, kept for ERROR/FATAL templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_example: Option<String>,
}

/// Body of `POST /v1/spaces/{space}/logs`: a compact summary of a device's log window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogReport {
    /// Client-made id, so a retried upload is stored once.
    pub report_id: String,
    /// Device that captured the lines.
    pub device: String,
    /// First and last line time, milliseconds since the Unix epoch.
    pub window_start_ms: i64,
    /// See `window_start_ms`.
    pub window_end_ms: i64,
    /// Lines summarised.
    pub lines: u64,
    /// Raw bytes summarised.
    pub bytes: u64,
    /// The most frequent templates.
    pub templates: Vec<LogTemplate>,
    /// Every distinct ERROR/FATAL template, with a raw example.
    pub critical: Vec<LogTemplate>,
    /// A short root-cause paragraph.
    pub summary: String,
    /// The model that wrote the summary, or `"none"` for the deterministic summary.
    pub model: String,
}

impl LogReport {
    /// The template a citation id names: `C1` is the first entry of `critical`, `T1` the
    /// first of `templates`; `None` for an id the report does not hold.
    pub fn cited_template(&self, id: &str) -> Option<&LogTemplate> {
        let (list, n) = match id.split_at_checked(1)? {
            ("C", n) => (&self.critical, n),
            ("T", n) => (&self.templates, n),
            _ => return None,
        };
        let n: usize = n.parse().ok()?;
        list.get(n.checked_sub(1)?)
    }
}

/// A citation of a report's template in its summary: `[C1]`, `[T2]`, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    /// The id inside the brackets, e.g. `C1`.
    pub id: String,
    /// Byte range of the whole `[C1]` in the text.
    pub range: std::ops::Range<usize>,
}

/// Every citation in `text`, in order (an id cited twice appears twice). Syntax only:
/// whether the report holds the id is [`LogReport::cited_template`]'s question.
pub fn citations(text: &str) -> Vec<Citation> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' && i + 2 < bytes.len() && matches!(bytes[i + 1], b'C' | b'T') {
            let mut j = i + 2;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 2 && j < bytes.len() && bytes[j] == b']' {
                out.push(Citation {
                    id: text[i + 1..j].to_string(),
                    range: i..j + 1,
                });
                i = j;
            }
        }
        i += 1;
    }
    out
}

/// Answer of `POST /v1/spaces/{space}/logs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogReceipt {
    /// The stored report's id.
    pub report_id: String,
    /// False when this report id had been stored before (a retried upload).
    pub stored: bool,
}

/// Machine-readable error codes; each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not valid JSON or not of the expected shape.
    BadRequest,
    /// 401: no token, or a token the server does not know.
    Unauthorized,
    /// 403: the token is valid but may not do this.
    Forbidden,
    /// 404: no such space (or no grant for it) or route.
    NotFound,
    /// 413: the body is larger than the server accepts.
    PayloadTooLarge,
    /// 429: too many requests; see `Retry-After`.
    RateLimited,
    /// 500: the server failed; retry later.
    Internal,
    /// 503: the server is starting or overloaded; retry later.
    Unavailable,
}

impl ErrorCode {
    /// The HTTP status code for this error.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }
}

/// Body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for programs.
    pub error: ErrorCode,
    /// What went wrong and what to do, for people.
    pub message: String,
}

/// Answer of `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `"ok"` when the server can reach its storage.
    pub status: String,
    /// Server version.
    pub version: String,
    /// Storage backend (`sqlite` or `postgres`).
    pub storage: String,
}

/// Checks a collection name or record id: non-empty, at most [`MAX_NAME_LEN`] bytes,
/// no control characters. Returns what is wrong, for an error message.
pub fn check_name(kind: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{kind} must not be empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "{kind} is {} bytes; at most {MAX_NAME_LEN} are allowed",
            name.len()
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("{kind} must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_batch_refuses_unknown_fields() {
        let body = r#"{"mutations":[{"mutation_id":"m","collection":"c","id":"1","base_version":0,"data":{},"colour":"red"}]}"#;
        let err = serde_json::from_str::<MutationBatch>(body).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn mutation_result_is_tagged_by_status() {
        let applied = MutationResult::Applied {
            mutation_id: "m".into(),
            version: 2,
            seq: 7,
        };
        let json = serde_json::to_value(&applied).unwrap();
        assert_eq!(json["status"], "applied");
        let back: MutationResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, applied);
    }

    #[test]
    fn responses_accept_fields_added_by_newer_servers() {
        let body = r#"{"changes":[],"next":3,"more":false,"server_time":1}"#;
        let page: ChangesPage = serde_json::from_str(body).unwrap();
        assert_eq!(page.next, 3);
        assert_eq!(
            page.remaining, None,
            "servers before `remaining` leave it out"
        );
        let counted: ChangesPage =
            serde_json::from_str(r#"{"changes":[],"next":3,"more":true,"remaining":7}"#).unwrap();
        assert_eq!(counted.remaining, Some(7));
    }

    #[test]
    fn citations_are_found_in_order_and_resolved_against_the_report() {
        let found = citations("disk full [C1], then [T2] and [C1]; not [X1] nor [C] nor [T3");
        let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["C1", "T2", "C1"]);
        assert_eq!(found[0].range, 10..14);
        let template = |t: &str| LogTemplate {
            template: t.into(),
            count: 1,
            levels: vec![],
            first_ms: 0,
            last_ms: 0,
            examples: vec![],
            raw_example: None,
        };
        let report = LogReport {
            report_id: "r".into(),
            device: "d".into(),
            window_start_ms: 0,
            window_end_ms: 0,
            lines: 1,
            bytes: 1,
            templates: vec![template("a"), template("b")],
            critical: vec![template("boom")],
            summary: String::new(),
            model: "none".into(),
        };
        assert_eq!(report.cited_template("C1").unwrap().template, "boom");
        assert_eq!(report.cited_template("T2").unwrap().template, "b");
        for missing in ["C2", "T0", "T3", "X1", "C", ""] {
            assert!(report.cited_template(missing).is_none(), "{missing}");
        }
    }

    #[test]
    fn a_raw_page_reads_and_writes_the_same_json_as_a_decoded_one() {
        let body = r#"{"changes":[{"collection":"notes","id":"n1","version":2,"seq":7,"data":{"b":[1,2],"a":"x"},"deleted":false,"hlc":"h","mutation_id":"m"},{"collection":"notes","id":"n2","version":1,"seq":8,"deleted":true,"hlc":"h","mutation_id":"m2"}],"next":8,"more":false}"#;
        let raw: ChangesPage<RawData> = serde_json::from_str(body).unwrap();
        let decoded: ChangesPage = serde_json::from_str(body).unwrap();
        assert!(raw.changes[0].data_is_object());
        assert!(!raw.changes[1].data_is_object());
        assert_eq!(raw.changes[0].decode().unwrap(), decoded.changes[0]);
        assert_eq!(raw.changes[1].decode().unwrap(), decoded.changes[1]);
        let again: ChangesPage =
            serde_json::from_str(&serde_json::to_string(&raw).unwrap()).unwrap();
        assert_eq!(again, decoded);
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("id", "").is_err());
        assert!(check_name("id", &"x".repeat(MAX_NAME_LEN + 1)).is_err());
        assert!(check_name("id", "a\u{0}b").is_err());
        assert!(check_name("id", "note-1").is_ok());
    }
}
