//! What `Accord.open` takes, and its translation into the core's [`accord::Config`].

use std::collections::HashMap;
use std::time::Duration;

use accord::merge::{CollectionSchema, FieldPolicy as CoreFieldPolicy};
use accord::sync::Backoff;

use crate::error::{AccordError, Result};

/// Everything `Accord.open` needs. Only `path` is required.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AccordConfig {
    /// The local database file (created if missing).
    pub path: String,
    /// The server to sync with; `null` for a local-only store (sync then fails with a
    /// clear reason).
    #[uniffi(default = None)]
    pub server: Option<ServerConfig>,
    /// Merge policies per collection; undeclared collections and fields use the
    /// defaults (`body`, `content`, `text`, `description`: text merge; others: lww).
    #[uniffi(default = [])]
    pub collections: Vec<CollectionConfig>,
    /// Sync tunables; `null` for the defaults.
    #[uniffi(default = None)]
    pub sync: Option<SyncSettings>,
    /// A GGUF model file for merging overlapping text edits, loaded on first need. A
    /// missing or corrupt file, or a library built without the `model` feature, never
    /// fails a sync (see `SyncReport.modelError`).
    #[uniffi(default = None)]
    pub model_path: Option<String>,
}

/// Where and as whom to sync.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ServerConfig {
    /// `http://host:port` or `https://...`.
    pub url: String,
    /// Bearer token from `accord admin add-user`; empty when the store is opened with
    /// a credentials provider (`Accord.openWithCredentials`), which gives it instead.
    #[uniffi(default = "")]
    pub token: String,
    /// The space to sync.
    pub space: String,
    /// PEM certificate(s) of a private CA to trust for an `https` server, on top of the
    /// system's roots (a self-hosted server with its own CA). A PEM that cannot be read
    /// makes each sync fail with the reason.
    #[uniffi(default = None)]
    pub trusted_ca_pem: Option<String>,
}

/// A collection's declared merge policies.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CollectionConfig {
    /// Collection name.
    pub name: String,
    /// Policy by top-level field name.
    pub fields: HashMap<String, FieldPolicy>,
}

/// How a field merges when both sides changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FieldPolicy {
    /// Three-way text merge, then the arbiter, then keep-both.
    Text,
    /// Last writer wins (hybrid logical clock).
    Lww,
    /// A number whose changes on both sides add up.
    Counter,
    /// An array treated as a set.
    Set,
    /// An object merged key by key.
    Json,
}

/// Sync tunables; each `null` keeps the default.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct SyncSettings {
    /// Time allowed for retrying transient failures before a sync reports `Retry`
    /// (default 30 000 ms).
    #[uniffi(default = None)]
    pub retry_budget_ms: Option<i64>,
    /// Delay before the first retry (default 200 ms).
    #[uniffi(default = None)]
    pub backoff_base_ms: Option<i64>,
    /// Longest delay between retries (default 5 000 ms).
    #[uniffi(default = None)]
    pub backoff_cap_ms: Option<i64>,
    /// TCP connect timeout (default 10 000 ms).
    #[uniffi(default = None)]
    pub connect_timeout_ms: Option<i64>,
    /// Whole-request timeout (default 60 000 ms).
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<i64>,
    /// Changes asked for per page (default: the protocol's).
    #[uniffi(default = None)]
    pub page_limit: Option<i32>,
}

fn millis(name: &str, v: Option<i64>, default: Duration) -> Result<Duration> {
    match v {
        None => Ok(default),
        Some(ms) if ms >= 0 => Ok(Duration::from_millis(ms as u64)),
        Some(ms) => Err(AccordError::invalid(format!(
            "{name} must be zero or more milliseconds, got {ms}"
        ))),
    }
}

impl From<FieldPolicy> for CoreFieldPolicy {
    fn from(p: FieldPolicy) -> Self {
        match p {
            FieldPolicy::Text => CoreFieldPolicy::Text,
            FieldPolicy::Lww => CoreFieldPolicy::Lww,
            FieldPolicy::Counter => CoreFieldPolicy::Counter,
            FieldPolicy::Set => CoreFieldPolicy::Set,
            FieldPolicy::Json => CoreFieldPolicy::Json,
        }
    }
}

impl TryFrom<AccordConfig> for accord::Config {
    type Error = AccordError;

    fn try_from(c: AccordConfig) -> Result<accord::Config> {
        if c.path.trim().is_empty() {
            return Err(AccordError::invalid(
                "config.path is empty: give the database file to open",
            ));
        }
        let mut config = accord::Config::new(c.path);
        if let Some(s) = c.server {
            config = config.with_server(&s.url, &s.token, &s.space);
            config.sync.trusted_ca_pem = s.trusted_ca_pem.map(String::into_bytes);
        }
        if let Some(model) = c.model_path {
            config = config.with_model(model);
        }
        for coll in c.collections {
            let schema = coll
                .fields
                .into_iter()
                .fold(CollectionSchema::new(), |s, (field, p)| {
                    s.with(&field, p.into())
                });
            config = config.with_collection(&coll.name, schema);
        }
        let s = c.sync.unwrap_or_default();
        let o = &mut config.sync;
        o.retry_budget = millis("retry_budget_ms", s.retry_budget_ms, o.retry_budget)?;
        o.backoff = Backoff {
            base: millis("backoff_base_ms", s.backoff_base_ms, o.backoff.base)?,
            cap: millis("backoff_cap_ms", s.backoff_cap_ms, o.backoff.cap)?,
        };
        o.connect_timeout = millis(
            "connect_timeout_ms",
            s.connect_timeout_ms,
            o.connect_timeout,
        )?;
        o.request_timeout = millis(
            "request_timeout_ms",
            s.request_timeout_ms,
            o.request_timeout,
        )?;
        if let Some(n) = s.page_limit {
            o.page_limit = u32::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                AccordError::invalid(format!("page_limit must be 1 or more, got {n}"))
            })?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_server(trusted_ca_pem: Option<String>) -> AccordConfig {
        AccordConfig {
            path: "notes.db".into(),
            server: Some(ServerConfig {
                url: "https://sync.example:8443".into(),
                token: "acc_t".into(),
                space: "team".into(),
                trusted_ca_pem,
            }),
            collections: vec![],
            sync: None,
            model_path: None,
        }
    }

    #[test]
    fn a_private_ca_reaches_the_core_config() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let config = accord::Config::try_from(with_server(Some(pem.into()))).unwrap();
        assert_eq!(config.sync.trusted_ca_pem.as_deref(), Some(pem.as_bytes()));
        let config = accord::Config::try_from(with_server(None)).unwrap();
        assert_eq!(config.sync.trusted_ca_pem, None);
    }

    #[test]
    fn negative_durations_are_refused_with_the_field_name() {
        let mut c = with_server(None);
        c.sync = Some(SyncSettings {
            retry_budget_ms: Some(-1),
            ..SyncSettings::default()
        });
        let err = accord::Config::try_from(c).unwrap_err();
        assert!(err.to_string().contains("retry_budget_ms"), "{err}");
    }
}
