//! Console sessions: a signed cookie, so a session is not the console token itself and
//! several servers behind a load balancer that share the token accept each other's
//! sessions with no shared state.
//!
//! The cookie value is `v1.EXPIRES_MS.MAC`, where MAC is HMAC-SHA256 keyed by the
//! console token over `accord-console/v1/EXPIRES_MS`. Changing the console token ends
//! every session. Signing out clears the cookie in the browser; a copied cookie stays
//! valid until it expires ([`SESSION_LENGTH`]).

use std::time::Duration;

use axum::http::{header, HeaderMap};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Name of the session cookie.
pub const COOKIE: &str = "accord_console";

/// How long a session lasts after signing in.
pub const SESSION_LENGTH: Duration = Duration::from_secs(12 * 3600);

fn mac(console_token: &str, expires_ms: i64) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(console_token.as_bytes()).ok()?;
    mac.update(format!("accord-console/v1/{expires_ms}").as_bytes());
    Some(mac)
}

/// A new session's cookie value, valid until `now_ms` plus [`SESSION_LENGTH`].
pub fn issue(console_token: &str, now_ms: i64) -> Option<String> {
    let expires_ms = now_ms.saturating_add(SESSION_LENGTH.as_millis() as i64);
    let tag = mac(console_token, expires_ms)?.finalize().into_bytes();
    Some(format!("v1.{expires_ms}.{}", hex::encode(tag)))
}

/// True when `value` is a session this console token signed and it has not expired.
/// The tag is compared in constant time.
pub fn is_valid(console_token: &str, value: &str, now_ms: i64) -> bool {
    let mut parts = value.split('.');
    let (Some("v1"), Some(expires), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(expires_ms), Ok(tag)) = (expires.parse::<i64>(), hex::decode(tag)) else {
        return false;
    };
    expires_ms > now_ms
        && mac(console_token, expires_ms).is_some_and(|m| m.verify_slice(&tag).is_ok())
}

/// The session cookie's value in a request's `Cookie` headers.
pub fn from_headers(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// `Set-Cookie` for a new session: HttpOnly (no script reads it), SameSite=Strict (no
/// other site's page sends it), scoped to the console, Secure over HTTPS.
pub fn set_cookie(value: &str, https: bool) -> String {
    format!(
        "{COOKIE}={value}; Path=/console; Max-Age={}; HttpOnly; SameSite=Strict{}",
        SESSION_LENGTH.as_secs(),
        if https { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes the session from the browser.
pub fn clear_cookie(https: bool) -> String {
    format!(
        "{COOKIE}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if https { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "console-token-for-tests";

    #[test]
    fn a_session_is_valid_until_it_expires_and_only_for_its_token() {
        let cookie = issue(TOKEN, 1_000).unwrap();
        assert!(!cookie.contains(TOKEN));
        assert!(is_valid(TOKEN, &cookie, 1_000));
        let expiry = 1_000 + SESSION_LENGTH.as_millis() as i64;
        assert!(is_valid(TOKEN, &cookie, expiry - 1));
        assert!(!is_valid(TOKEN, &cookie, expiry), "expired");
        assert!(
            !is_valid("another-console-token", &cookie, 1_000),
            "token changed"
        );
    }

    #[test]
    fn forged_and_malformed_sessions_are_refused() {
        let cookie = issue(TOKEN, 0).unwrap();
        let later = format!("v1.{}.{}", i64::MAX, cookie.rsplit('.').next().unwrap());
        for bad in [
            "",
            "v1",
            "v1.1.",
            "v2.99999999999999.00",
            "v1.notanumber.00",
            "v1.99999999999999.zz",
            later.as_str(),
            &format!("{cookie}.extra"),
            TOKEN,
        ] {
            assert!(!is_valid(TOKEN, bad, 0), "{bad}");
        }
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; accord_console=v1.2.ab; b=3".parse().unwrap(),
        );
        assert_eq!(from_headers(&headers), Some("v1.2.ab"));
        assert_eq!(from_headers(&HeaderMap::new()), None);
        let set = set_cookie("x", true);
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Secure"] {
            assert!(set.contains(attribute), "{set}");
        }
        assert!(!set_cookie("x", false).contains("Secure"));
    }
}
