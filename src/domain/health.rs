//! Who may run the health check's storage probes without counting against a rate limit.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `authorization` is `Bearer <token>` with the configured token. Without a configured
/// (non-empty) token nothing matches. Both sides are hashed before the constant-time comparison,
/// so neither the token's bytes nor its length show in the timing.
pub fn bearer_matches(authorization: Option<&str>, token: Option<&str>) -> bool {
    let (Some(authorization), Some(token)) = (authorization, token.filter(|t| !t.is_empty())) else {
        return false;
    };
    let Some(("Bearer", sent)) = authorization.trim().split_once(' ') else {
        return false;
    };
    bool::from(Sha256::digest(sent.trim().as_bytes()).ct_eq(&Sha256::digest(token.as_bytes())))
}

/// Whether a request URL asks for the deep check (`?deep=1`). Read by hand: parsing the URL with
/// the `url` crate would link its IDNA tables into the worker (~75 KB gzip) for one flag.
pub fn wants_deep(url: &str) -> bool {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    query.split('&').any(|pair| pair == "deep=1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_deep_equals_one_asks_for_the_deep_check() {
        assert!(wants_deep("https://auth.example.com/healthz?deep=1"));
        assert!(wants_deep("https://auth.example.com/healthz/?x=2&deep=1#top"));
        for shallow in [
            "https://auth.example.com/healthz",
            "https://auth.example.com/healthz?deep=true",
            "https://auth.example.com/healthz?deep=10",
            "https://auth.example.com/healthz?notdeep=1",
            "https://auth.example.com/healthz#deep=1",
        ] {
            assert!(!wants_deep(shallow), "{shallow}");
        }
    }

    const TOKEN: Option<&str> = Some("health-check-token-0123456789");

    #[test]
    fn the_configured_token_matches() {
        assert!(bearer_matches(Some("Bearer health-check-token-0123456789"), TOKEN));
        assert!(bearer_matches(Some("  Bearer   health-check-token-0123456789 "), TOKEN));
    }

    #[test]
    fn other_tokens_and_schemes_do_not() {
        for sent in [
            "Bearer health-check-token-012345678",
            "Bearer health-check-token-01234567890",
            "Bearer HEALTH-CHECK-TOKEN-0123456789",
            "Basic health-check-token-0123456789",
            "health-check-token-0123456789",
            "Bearer",
            "Bearer ",
            "",
        ] {
            assert!(!bearer_matches(Some(sent), TOKEN), "{sent:?}");
        }
        assert!(!bearer_matches(None, TOKEN));
    }

    #[test]
    fn without_a_configured_token_nothing_matches() {
        assert!(!bearer_matches(Some("Bearer "), Some("")));
        assert!(!bearer_matches(Some("Bearer x"), None));
        assert!(!bearer_matches(Some("Bearer "), None));
    }
}
