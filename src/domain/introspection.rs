//! RFC 7662 token introspection, free of storage: who may ask (the one configured resource
//! server, by HTTP Basic as RFC 6749 §2.3.1 has it) and what the answer says of a live token.
//! Whether a token is live is the worker's own checks (`app::introspection`).

use base64ct::{Base64, Encoding};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::tokens::TokenClaims;
use crate::domain::urlencoded::decode;

/// Whether `authorization` is HTTP Basic with the introspection client's `id` and `secret`
/// (`INTROSPECTION_CLIENT_ID`, secret `INTROSPECTION_CLIENT_SECRET`). Without both configured
/// (non-empty) nothing matches. Both are compared, whatever the first comparison gave, as SHA-256
/// digests in constant time: neither their bytes nor their lengths show in the timing.
pub fn basic_matches(authorization: Option<&str>, id: Option<&str>, secret: Option<&str>) -> bool {
    let (Some(id), Some(secret)) = (id.filter(|id| !id.is_empty()), secret.filter(|secret| !secret.is_empty())) else {
        return false;
    };
    let Some((sent_id, sent_secret)) = basic_credentials(authorization) else {
        return false;
    };
    let same = |sent: String, configured: &str| Sha256::digest(sent).ct_eq(&Sha256::digest(configured));
    bool::from(same(sent_id, id) & same(sent_secret, secret))
}

/// The id and secret an `Authorization: Basic <base64>` header carries: base64 (padded) of
/// `id:secret`, each form-urlencoded before (RFC 6749 §2.3.1), so a `:` in the id arrives as
/// `%3A`. `None` for any other scheme, anything malformed, and over 1 KB of credentials.
pub fn basic_credentials(authorization: Option<&str>) -> Option<(String, String)> {
    let (scheme, encoded) = authorization?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    let mut buffer = [0; 1024];
    let decoded = Base64::decode(encoded.trim(), &mut buffer).ok()?;
    let colon = decoded.iter().position(|byte| *byte == b':')?;
    Some((decode(&decoded[..colon]), decode(&decoded[colon + 1..])))
}

/// The answer for a token that is not live, whatever the reason (RFC 7662 §2.2 says no more).
pub fn inactive() -> Value {
    json!({ "active": false })
}

/// The answer for a live token: `active`, its claims (`token_type`, `exp`, `iat`, `jti`,
/// `user_id`; `sid` when it has one; `iss` / `aud` when they are configured, and so required of
/// it) and `sub`, the user's id. Under these names whatever the token's own (`USER_ID_CLAIM`…):
/// the answer is read by resource servers, not by simplejwt.
pub fn active(claims: &TokenClaims, issuer: Option<&str>, audience: Option<&str>) -> Value {
    let user_id = claims.user_id.map(|id| id.to_string());
    let mut answer = json!({ "active": true, "exp": claims.expires_at, "sub": user_id });
    if let Value::Object(answer) = &mut answer {
        // A token without `iat` is read as issued at 0: nothing to report.
        if claims.issued_at != 0 {
            answer.insert("iat".into(), claims.issued_at.into());
        }
        let texts = [
            ("token_type", Some(claims.token_type.as_str())),
            ("jti", Some(claims.jti.as_str())),
            ("user_id", user_id.as_deref()),
            ("sid", claims.session_id.as_deref()),
            ("iss", issuer),
            ("aud", audience),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                answer.insert(name.into(), value.into());
            }
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tokens::TokenType;

    const ID: &str = "resource-server";
    const SECRET: &str = "s3cret-0123456789_abcdefghij";

    fn basic(credentials: &str) -> String {
        format!("Basic {}", Base64::encode_string(credentials.as_bytes()))
    }

    fn accepted(authorization: &str) -> bool {
        basic_matches(Some(authorization), Some(ID), Some(SECRET))
    }

    #[test]
    fn the_configured_id_and_secret_authenticate() {
        let encoded = Base64::encode_string(format!("{ID}:{SECRET}").as_bytes());
        assert!(accepted(&format!("Basic {encoded}")));
        assert!(accepted(&format!("  basic   {encoded}  ")));
        assert!(accepted(&format!("BASIC {encoded}")));
    }

    #[test]
    fn id_and_secret_are_form_urlencoded_before_base64() {
        let matches = |credentials: &str| basic_matches(Some(&basic(credentials)), Some("rs:one"), Some("a b+c%/é"));
        assert!(matches("rs%3Aone:a+b%2Bc%25%2F%C3%A9"));
        // Sent raw, the `+` reads as a space and the `%/` stays: not the secret.
        assert!(!matches("rs%3Aone:a b+c%/é"));
        // A `:` in the id must be encoded: the first raw one ends the id.
        assert!(!matches("rs:one:a+b%2Bc%25%2F%C3%A9"));
    }

    #[test]
    fn every_other_credential_is_refused() {
        let encoded = Base64::encode_string(format!("{ID}:{SECRET}").as_bytes());
        let refused = [
            basic(&format!("other:{SECRET}")),
            basic(&format!("{ID}:wrong")),
            basic(&format!("{ID}:{}", &SECRET[..SECRET.len() - 1])),
            basic(&format!("{ID}:{}", &SECRET[..1])),
            basic(&format!("{ID}:{SECRET}x")),
            basic(&format!("{}:{SECRET}", &ID[..ID.len() - 1])),
            basic(&format!("{ID}:{}", SECRET.to_uppercase())),
            basic(&format!("{SECRET}:{ID}")),
            basic(&format!("{ID}{SECRET}")),
            basic(&format!(":{SECRET}")),
            basic(&format!("{ID}:")),
            basic(&format!("{ID}:{SECRET}%FF")),
            basic(&format!("{ID}:{SECRET}{}", " ".repeat(1024))),
            basic(":"),
            basic(""),
            "Basic".into(),
            "Basic ".into(),
            "Basic !!not-base64!!".into(),
            format!("Basic {}", encoded.trim_end_matches('=')),
            format!("Basic {encoded}="),
            format!("Bearer {encoded}"),
            format!("Digest {encoded}"),
            format!("Bearer {SECRET}"),
            format!("{ID}:{SECRET}"),
            encoded,
            String::new(),
        ];
        for authorization in refused {
            assert!(!accepted(&authorization), "{authorization:?}");
        }
        assert!(!basic_matches(None, Some(ID), Some(SECRET)));
    }

    #[test]
    fn without_both_an_id_and_a_secret_configured_nothing_matches() {
        for (id, secret) in [(None, Some(SECRET)), (Some(ID), None), (Some(ID), Some("")), (Some(""), Some(SECRET))] {
            for credentials in [format!("{ID}:{SECRET}"), format!("{ID}:"), format!(":{SECRET}"), ":".into()] {
                assert!(!basic_matches(Some(&basic(&credentials)), id, secret), "{id:?} {secret:?} {credentials}");
            }
        }
        assert!(!basic_matches(None, None, None));
    }

    #[test]
    fn basic_credentials_are_split_on_the_first_colon_and_decoded() {
        assert_eq!(basic_credentials(Some(&basic("a:b:c"))), Some(("a".into(), "b:c".into())));
        assert_eq!(basic_credentials(Some(&basic("a%20b:c+d"))), Some(("a b".into(), "c d".into())));
        assert_eq!(basic_credentials(Some(&basic("no-colon"))), None);
        assert_eq!(basic_credentials(None), None);
    }

    fn claims(session_id: Option<&str>) -> TokenClaims {
        TokenClaims {
            token_type: TokenType::Refresh,
            jti: "ab".repeat(16),
            user_id: Some(42),
            session_id: session_id.map(str::to_owned),
            issued_at: 1_750_000_000,
            expires_at: 1_750_604_800,
        }
    }

    #[test]
    fn a_live_token_is_answered_with_its_claims_and_sub() {
        assert_eq!(
            active(&claims(Some("0123abcd")), None, None),
            json!({
                "active": true,
                "token_type": "refresh",
                "exp": 1_750_604_800,
                "iat": 1_750_000_000,
                "jti": "ab".repeat(16),
                "user_id": "42",
                "sid": "0123abcd",
                "sub": "42",
            })
        );
        assert_eq!(inactive(), json!({"active": false}));
    }

    #[test]
    fn issuer_and_audience_are_answered_when_configured_and_iat_only_when_the_token_has_one() {
        let claims = TokenClaims { issued_at: 0, ..claims(None) };
        assert_eq!(
            active(&claims, Some("https://auth.example.com"), Some("edge-api")),
            json!({
                "active": true,
                "token_type": "refresh",
                "exp": 1_750_604_800,
                "jti": "ab".repeat(16),
                "user_id": "42",
                "iss": "https://auth.example.com",
                "aud": "edge-api",
                "sub": "42",
            })
        );
    }
}
