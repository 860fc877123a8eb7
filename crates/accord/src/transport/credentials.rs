//! Where the transport's bearer token comes from: a fixed token, or a [`TokenProvider`]
//! the app implements so a token can be renewed without reopening the store.
//!
//! A provider is asked at the first request of each sync pass (a transport lives for
//! one pass), and once more when the server refuses that token with 401: the request is
//! then sent again with the new token, once. A second 401 is the auth failure it was
//! before providers existed.

use std::fmt;
use std::sync::Arc;

/// Gives the transport a bearer token on demand.
pub trait TokenProvider: Send + Sync {
    /// The token to send. `refresh` is true when the server has just refused the token
    /// this provider gave last: renew it (returning the same token again ends the sync
    /// with the server's auth failure). Called on the syncing thread, which waits.
    fn token(&self, refresh: bool) -> Result<String, TokenError>;
}

/// Why a [`TokenProvider`] gave no token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No token for now, for a reason that may pass (renewing needs a network that is
    /// down): the request is retried within the sync's retry budget, then the sync
    /// ends `Retry`.
    #[error("{0}")]
    Unavailable(String),
    /// No token, and asking again will not help (the user signed out): the sync ends
    /// `Failure` with this reason.
    #[error("{0}")]
    Failed(String),
}

/// How the transport authenticates.
#[derive(Clone)]
pub enum Credentials {
    /// The same token for every request (a refused token fails the sync).
    Token(String),
    /// A token asked of the app before each sync and after a 401.
    Provider(Arc<dyn TokenProvider>),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens stay out of debug output.
        match self {
            Credentials::Token(_) => f.write_str("Credentials::Token(..)"),
            Credentials::Provider(_) => f.write_str("Credentials::Provider(..)"),
        }
    }
}

impl From<&str> for Credentials {
    fn from(token: &str) -> Self {
        Credentials::Token(token.to_string())
    }
}

/// Refuses a provided token an `Authorization` header cannot carry (empty, spaces,
/// control or non-ASCII characters): sent as is, it would fail as a connection error
/// and be retried as if the network were down.
pub(crate) fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() {
        return Err("the credentials provider returned an empty token".into());
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "the credentials provider returned a token with spaces, control or non-ASCII characters"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_a_header_cannot_carry_are_refused() {
        assert!(check_token("acc_abc-123.XYZ").is_ok());
        assert!(check_token("").is_err());
        assert!(check_token("acc abc").is_err());
        assert!(check_token("acc\nInjected: 1").is_err());
        assert!(check_token("accé").is_err());
    }

    #[test]
    fn debug_output_hides_the_token() {
        let c = Credentials::from("acc_secret");
        assert!(!format!("{c:?}").contains("secret"));
    }
}
