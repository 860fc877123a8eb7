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
//! - `POST /v1/spaces/{space}/mutations` [`MutationBatch`] → [`MutationResults`]
//! - `POST /v1/spaces/{space}/logs` [`LogReport`] → [`LogReceipt`]
//! - `GET  /health`, `GET /metrics` (Prometheus text)
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
}

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
}

/// Body of `POST /v1/spaces/{space}/mutations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutationBatch {
    /// Applied in order, each in its own right: one conflict does not stop the others.
    pub mutations: Vec<Mutation>,
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
