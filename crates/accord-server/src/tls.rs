//! TLS for the server (rustls, ring crypto): a certificate chain and a private key, both
//! PEM files, as `accord serve --tls-cert FILE --tls-key FILE` takes them.

use std::path::PathBuf;
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("cannot use {path} as a TLS {what}: {reason}")]
    File {
        /// The file.
        path: String,
        /// `certificate` or `private key`.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The certificate and key do not make a valid configuration.
    #[error("the TLS certificate and key do not fit together: {0}")]
    Config(String),
}

/// The PEM files of a server certificate chain and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert_pem: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: PathBuf,
}

impl TlsFiles {
    /// Reads both files and builds a rustls server configuration (TLS 1.2 and 1.3,
    /// HTTP/1.1 over ALPN).
    pub fn rustls_config(&self) -> Result<RustlsConfig, TlsError> {
        let file_error = |path: &PathBuf, what, reason: String| TlsError::File {
            path: path.display().to_string(),
            what,
            reason,
        };
        let certs = CertificateDer::pem_file_iter(&self.cert_pem)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| file_error(&self.cert_pem, "certificate", e.to_string()))?;
        if certs.is_empty() {
            return Err(file_error(
                &self.cert_pem,
                "certificate",
                "no CERTIFICATE block found".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key_pem)
            .map_err(|e| file_error(&self.key_pem, "private key", e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(RustlsConfig::from_config(Arc::new(config)))
    }
}
