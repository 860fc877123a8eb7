//! Talking to the sync server: the [`Transport`] the sync worker drives, and its HTTP
//! implementation over ureq.
//!
//! Errors are classified once, here, into what the worker does with them: retry later
//! (connection trouble, timeouts, 5xx, 429) or stop and report a failure (a refused
//! token, a missing grant, an answer that is not the protocol). The bearer token comes
//! from [`Credentials`]: fixed, or asked of the app's [`TokenProvider`].

mod credentials;
mod http;

use std::fmt;
use std::time::Duration;

use accord_protocol::{
    ChangesPage, LogReceipt, LogReport, MutationBatch, MutationResults, RawData,
};

pub use credentials::{Credentials, TokenError, TokenProvider};
pub use http::HttpTransport;

/// What the worker should do about a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later: the network or the server is having trouble.
    Transient,
    /// The server refused the credentials or the space: retrying will not help until
    /// the configuration changes.
    Auth,
    /// The server's answer, or our request, is not the protocol: a bug or a wrong URL.
    Protocol,
    /// The app's [`TokenProvider`] gave no usable token, for a reason asking again will
    /// not fix ([`TokenError::Failed`], or a token a header cannot carry).
    Credentials,
}

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// What to do about it.
    pub class: ErrorClass,
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// What happened, for people.
    pub message: String,
    /// How long the server asked us to wait (429/503 `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl TransportError {
    /// A transient error without a status (connection refused, timeout, ...).
    pub fn transient(message: impl Into<String>) -> Self {
        TransportError {
            class: ErrorClass::Transient,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The credentials provider gave no usable token.
    pub fn credentials(message: impl Into<String>) -> Self {
        TransportError {
            class: ErrorClass::Credentials,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// An answer that is not the protocol.
    pub fn protocol(message: impl Into<String>) -> Self {
        TransportError {
            class: ErrorClass::Protocol,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<TokenError> for TransportError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Unavailable(why) => TransportError::transient(format!(
                "the credentials provider has no token now: {why}"
            )),
            TokenError::Failed(why) => {
                TransportError::credentials(format!("the credentials provider failed: {why}"))
            }
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "HTTP {s}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for TransportError {}

/// Bytes that crossed the network, as sent and received (compressed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Request bytes (bodies, after compression).
    pub sent: u64,
    /// Response bytes (bodies, before decompression).
    pub received: u64,
}

/// The server, as the sync worker sees it: one space, authenticated.
pub trait Transport: Send + Sync {
    /// One page of the change feed after `since`, the records' fields undecoded; with
    /// `count_remaining`, the server is asked to say how many changes follow the page
    /// ([`ChangesPage::remaining`], for progress: it costs the server a count, so ask on
    /// a pull's first page only).
    fn changes(
        &self,
        since: i64,
        limit: u32,
        count_remaining: bool,
    ) -> Result<ChangesPage<RawData>, TransportError>;

    /// Up to `pages` pages of the feed from `since`, each handed to `each` as it arrives
    /// (the next one's `since` is this one's `next`), from a server that lists
    /// [`accord_protocol::FEATURE_FEED_STREAM`]. `each` returns false to stop reading.
    /// It may stop before `pages` pages, or before a page with `more: false`: the caller
    /// asks again from the last page's `next`. An error after some pages leaves those
    /// pages delivered. This default, for transports that do not stream, hands over one
    /// page from [`Transport::changes`].
    fn changes_stream(
        &self,
        since: i64,
        limit: u32,
        pages: u32,
        each: &mut dyn FnMut(ChangesPage<RawData>) -> bool,
    ) -> Result<(), TransportError> {
        let _ = pages;
        each(self.changes(since, limit, false)?);
        Ok(())
    }

    /// Sends mutations; one result per mutation, in order.
    fn push(&self, batch: &MutationBatch) -> Result<MutationResults, TransportError>;

    /// Uploads a log report.
    fn upload_logs(&self, report: &LogReport) -> Result<LogReceipt, TransportError>;

    /// Bytes moved so far by this transport.
    fn traffic(&self) -> Traffic;
}
