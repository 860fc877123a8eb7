//! Connection URLs: Accord's own `pool_size` parameter, and the URL as error messages
//! show it (without its password).

use super::pool::DEFAULT_POOL_SIZE;
use super::{Result, StorageError};

/// Splits Accord's own `pool_size` parameter off a connection URL.
pub(super) fn split_pool_size(url: &str) -> Result<(String, usize)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), DEFAULT_POOL_SIZE));
    };
    let mut size = DEFAULT_POOL_SIZE;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("pool_size", v)) => {
                size = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    StorageError::Invalid(format!("pool_size must be a number ≥ 1, got '{v}'"))
                })?;
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, size))
}

/// The URL without its password, for error messages.
pub(super) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_is_read_from_the_url_and_removed() {
        assert_eq!(
            split_pool_size("postgres://u@h/db?pool_size=4&sslmode=disable").unwrap(),
            ("postgres://u@h/db?sslmode=disable".to_string(), 4)
        );
        assert_eq!(
            split_pool_size("postgres://u@h/db").unwrap(),
            ("postgres://u@h/db".to_string(), DEFAULT_POOL_SIZE)
        );
        assert!(split_pool_size("postgres://u@h/db?pool_size=0").is_err());
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://bob:s3cret@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(redact("postgres://bob@db/x"), "postgres://bob@db/x");
    }
}
