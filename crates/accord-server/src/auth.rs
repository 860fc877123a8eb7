//! Bearer tokens: made from the OS's secure random source, stored only as SHA-256.

use sha2::{Digest, Sha256};

/// Prefix that makes Accord tokens easy to recognise (and to scan for in leaks).
pub const TOKEN_PREFIX: &str = "acc_";

/// A new random token (256 bits).
pub fn new_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no secure random source: {e}"))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

/// The hash stored for a token. Lookups go by this hash, so comparing the secret itself
/// never happens and its timing reveals nothing about stored tokens.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Length of a token's public id: a prefix of its hash.
pub const TOKEN_ID_LEN: usize = 12;

/// The public id of a token, from its stored hash: the first [`TOKEN_ID_LEN`] hex
/// digits. Safe to show (it is part of a one-way hash of a 256-bit secret) and enough to
/// tell a user's tokens apart in listings and in the console.
pub fn token_id(token_hash: &str) -> &str {
    token_hash.get(..TOKEN_ID_LEN).unwrap_or(token_hash)
}

/// Compares two secrets in time that depends only on their lengths, never on where they
/// first differ, so response timing cannot be used to guess a secret byte by byte.
pub fn secrets_equal(given: &str, expected: &str) -> bool {
    constant_time_eq::constant_time_eq(given.as_bytes(), expected.as_bytes())
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty() && token.len() <= 512).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(token_id(&token_hash(&a)).len(), TOKEN_ID_LEN);
        assert!(token_hash(&a).starts_with(token_id(&token_hash(&a))));
    }

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(secrets_equal("acc_abc", "acc_abc"));
        assert!(!secrets_equal("acc_abd", "acc_abc"));
        assert!(!secrets_equal("acc_ab", "acc_abc"));
        assert!(!secrets_equal("", "acc_abc"));
    }

    #[test]
    fn bearer_header_is_parsed() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
