//! The app's credentials provider, as the core's [`TokenProvider`].

use std::panic::{catch_unwind, AssertUnwindSafe};

use accord::transport::{TokenError, TokenProvider};

/// Gives the sync a bearer token: asked before each sync, and again once when the
/// server refuses the token (401), so a token can be renewed without reopening.
///
/// Called on the syncing thread, which waits for the answer. Throw
/// `CredentialsException.Unavailable` when no token can be had for now (renewing needs
/// a network that is down: the sync retries, then reports `Retry`), and
/// `CredentialsException.Failed` when asking again will not help (signed out: the sync
/// reports `Failure` with the reason). Any other exception counts as `Failed`.
#[uniffi::export(callback_interface)]
pub trait CredentialsProvider: Send + Sync {
    /// The token to send. `refresh` is true when the server has just refused the token
    /// given last: renew it (the same token again ends the sync with the auth failure).
    fn token(&self, refresh: bool) -> Result<String, CredentialsError>;
}

/// Why a [`CredentialsProvider`] gave no token.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CredentialsError {
    /// No token for now; the sync retries within its budget, then reports `Retry`.
    #[error("{reason}")]
    Unavailable { reason: String },
    /// No token, and asking again will not help; the sync reports `Failure`.
    #[error("{reason}")]
    Failed { reason: String },
}

/// An exception the provider did not declare arrives here instead of panicking in Rust.
impl From<uniffi::UnexpectedUniFFICallbackError> for CredentialsError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CredentialsError::Failed {
            reason: format!("the credentials provider threw: {}", e.reason),
        }
    }
}

/// The foreign provider behind the core's trait.
pub(crate) struct ForeignTokens(pub(crate) Box<dyn CredentialsProvider>);

impl TokenProvider for ForeignTokens {
    fn token(&self, refresh: bool) -> Result<String, TokenError> {
        // The generated callback code reports foreign exceptions as errors; a panic in it
        // must still not unwind through the sync.
        match catch_unwind(AssertUnwindSafe(|| self.0.token(refresh))) {
            Ok(Ok(token)) => Ok(token),
            Ok(Err(CredentialsError::Unavailable { reason })) => {
                Err(TokenError::Unavailable(reason))
            }
            Ok(Err(CredentialsError::Failed { reason })) => Err(TokenError::Failed(reason)),
            Err(_) => Err(TokenError::Failed(
                "the credentials provider's bridge panicked".into(),
            )),
        }
    }
}
