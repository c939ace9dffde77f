//! simplejwt-compatible tokens: mint and verify, with the clock and randomness injected.
//!
//! HS256 with the shared key is the default (what simplejwt signs and accepts). Optionally the
//! worker signs with Ed25519 (`EdDSA`, with a `kid`) so third parties can verify tokens against
//! the published JWKS; HS256 tokens from the Django side are still accepted then.
//!
//! Claims exactly as djangorestframework-simplejwt 5.5 writes them: `token_type`, `exp`, `iat`
//! (integer seconds), `jti` (32 lowercase hex), `user_id` (the id as a string). Verification runs
//! simplejwt's checks in simplejwt's order, so the failure messages match: signature and algorithm
//! ("Token is invalid"), expiry ("Token is expired"), `jti` ("Token has no id"), type
//! ("Token has no type" / "Token has wrong type").

use base64ct::{Base64UrlUnpadded, Encoding};
use chrono::{TimeZone, Utc};
use ed25519_compact::{KeyPair, PublicKey, SecretKey, Seed};
use jwt_compact::alg::{Ed25519, Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header, UntrustedToken};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::secrets::Token;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }
}

/// Why a token was refused, worded as simplejwt words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    Invalid,
    Expired,
    WrongType,
    Blacklisted,
    NoId,
    NoType,
    NoExp,
}

impl TokenError {
    pub fn message(self) -> &'static str {
        match self {
            TokenError::Invalid => "Token is invalid",
            TokenError::Expired => "Token is expired",
            TokenError::WrongType => "Token has wrong type",
            TokenError::Blacklisted => "Token is blacklisted",
            TokenError::NoId => "Token has no id",
            TokenError::NoType => "Token has no type",
            TokenError::NoExp => "Token has no 'exp' claim",
        }
    }
}

/// The claims of a verified token, or of one just minted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenClaims {
    pub token_type: TokenType,
    pub jti: String,
    /// `None` when the claim is missing or not an id (simplejwt then answers "no recognizable
    /// user identification"); the caller decides.
    pub user_id: Option<i64>,
    /// The session (token family) the token belongs to: edge-auth's extra `sid` claim. Tokens
    /// minted by simplejwt have none.
    pub session_id: Option<String>,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// A freshly minted token and what it says.
#[derive(Clone, Debug)]
pub struct Minted {
    /// The signed JWT; `Debug` shows only its claims.
    pub token: Token,
    pub claims: TokenClaims,
}

/// The claim names simplejwt writes (`USER_ID_CLAIM`, `TOKEN_TYPE_CLAIM`, `JTI_CLAIM`),
/// configurable for a FastAPI side that uses others (e.g. `sub`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimNames {
    pub user_id: String,
    pub token_type: String,
    pub jti: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames { user_id: "user_id".into(), token_type: "token_type".into(), jti: "jti".into() }
    }
}

/// Why configured Ed25519 key material is unusable: which part, and why (never the key itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The private seed.
    Seed(&'static str),
    /// The list of previous public keys.
    PreviousKeys(&'static str),
}

/// The optional Ed25519 keys: the current one signs (and is published with its `kid`); it and
/// the previous public keys verify, so tokens survive a key rotation.
pub struct Ed25519Keys {
    kid: String,
    secret: SecretKey,
    verifying: Vec<(String, PublicKey)>,
}

impl Ed25519Keys {
    /// `seed`: the 32-byte private seed, base64url (padding optional). `kid`: the published key
    /// id (default: the RFC 7638 thumbprint). `previous`: `kid=base64url-public-key` pairs,
    /// comma-separated, still accepted for verification.
    pub fn from_config(seed: &str, kid: Option<&str>, previous: Option<&str>) -> Result<Ed25519Keys, KeyError> {
        let bad = KeyError::Seed;
        let seed = decode_b64url(seed).ok_or(bad("not base64url"))?;
        let seed = Seed::from_slice(&seed).map_err(|_| bad("must be a 32-byte Ed25519 seed"))?;
        let pair = KeyPair::from_seed(seed);
        let kid = kid.map_or_else(|| thumbprint(&pair.pk), str::to_owned);
        let mut verifying = vec![(kid.clone(), pair.pk)];
        for entry in previous.unwrap_or_default().split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = KeyError::PreviousKeys;
            let (kid, key) = entry.split_once('=').ok_or(bad("each entry is kid=base64url-public-key"))?;
            let key = decode_b64url(key.trim()).ok_or(bad("public key is not base64url"))?;
            let key = PublicKey::from_slice(&key).map_err(|_| bad("public key must be 32 bytes"))?;
            verifying.push((kid.trim().to_owned(), key));
        }
        Ok(Ed25519Keys { kid, secret: pair.sk, verifying })
    }

    fn verifying_key(&self, kid: Option<&str>) -> Option<&PublicKey> {
        self.verifying.iter().find(|(id, _)| Some(id.as_str()) == kid).map(|(_, key)| key)
    }
}

/// RFC 7638 JWK thumbprint of an Ed25519 public key.
fn thumbprint(key: &PublicKey) -> String {
    let canonical =
        format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, Base64UrlUnpadded::encode_string(key.as_ref()));
    Base64UrlUnpadded::encode_string(&Sha256::digest(canonical.as_bytes()))
}

fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text.trim().trim_end_matches('=')).ok()
}

/// Mints and verifies tokens with the configured keys, claim names and lifetimes.
pub struct Tokens {
    hs256: Hs256Key,
    ed25519: Option<Ed25519Keys>,
    names: ClaimNames,
    issuer: Option<String>,
    audience: Option<String>,
    access_ttl_secs: i64,
    refresh_ttl_secs: i64,
}

impl Tokens {
    /// `hs256_key`: the shared HS256 secret (its length is checked where it is configured).
    pub fn new(hs256_key: &[u8], access_ttl_secs: i64, refresh_ttl_secs: i64) -> Tokens {
        Tokens {
            hs256: Hs256Key::new(hs256_key),
            ed25519: None,
            names: ClaimNames::default(),
            issuer: None,
            audience: None,
            access_ttl_secs,
            refresh_ttl_secs,
        }
    }

    pub fn with_claim_names(self, names: ClaimNames) -> Tokens {
        Tokens { names, ..self }
    }

    /// Writes `iss` / `aud` into every token and requires them on every incoming one (RFC 8725
    /// §3.8–3.9), as simplejwt's `ISSUER` / `AUDIENCE` settings do.
    pub fn with_issuer_and_audience(self, issuer: Option<String>, audience: Option<String>) -> Tokens {
        Tokens { issuer, audience, ..self }
    }

    /// Signs with Ed25519 from now on (HS256 tokens still verify).
    pub fn with_ed25519(self, keys: Ed25519Keys) -> Tokens {
        Tokens { ed25519: Some(keys), ..self }
    }

    /// The JSON Web Key Set of the Ed25519 public keys (empty when signing with HS256 only).
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .ed25519
            .iter()
            .flat_map(|ed| &ed.verifying)
            .map(|(kid, key)| {
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": Base64UrlUnpadded::encode_string(key.as_ref()),
                    "kid": kid,
                    "alg": "EdDSA",
                    "use": "sig",
                })
            })
            .collect();
        json!({ "keys": keys })
    }

    pub fn ttl(&self, token_type: TokenType) -> i64 {
        match token_type {
            TokenType::Access => self.access_ttl_secs,
            TokenType::Refresh => self.refresh_ttl_secs,
        }
    }

    /// Mints a token for `user_id` in `session` at `now` (Unix seconds); `jti_bytes` must come
    /// from a CSPRNG.
    pub fn mint(
        &self,
        token_type: TokenType,
        user_id: i64,
        session: Option<&str>,
        jti_bytes: [u8; 16],
        now: i64,
    ) -> Minted {
        let claims = TokenClaims {
            token_type,
            jti: hex(&jti_bytes),
            user_id: Some(user_id),
            session_id: session.map(str::to_owned),
            issued_at: now,
            expires_at: now + self.ttl(token_type),
        };
        Minted { token: Token::new(self.sign(&claims)), claims }
    }

    /// Signs exactly these claims. Both algorithms are deterministic, so the same claims give
    /// the same token string: a rotated token's successor can be handed out again unstored.
    pub fn sign(&self, claims: &TokenClaims) -> String {
        let mut custom = Map::new();
        custom.insert(self.names.token_type.clone(), claims.token_type.as_str().into());
        custom.insert(self.names.jti.clone(), claims.jti.clone().into());
        custom.insert(self.names.user_id.clone(), claims.user_id.unwrap_or_default().to_string().into());
        if let Some(sid) = &claims.session_id {
            custom.insert("sid".into(), sid.clone().into());
        }
        if let Some(issuer) = &self.issuer {
            custom.insert("iss".into(), issuer.clone().into());
        }
        if let Some(audience) = &self.audience {
            custom.insert("aud".into(), audience.clone().into());
        }
        let mut out = Claims::new(custom);
        out.issued_at = Utc.timestamp_opt(claims.issued_at, 0).single();
        out.expiration = Utc.timestamp_opt(claims.expires_at, 0).single();
        let header = Header::empty().with_token_type("JWT");
        // Serializing a map of strings and integers cannot fail.
        match &self.ed25519 {
            Some(ed) => Ed25519.token(&header.with_key_id(ed.kid.clone()), &out, &ed.secret).unwrap_or_default(),
            None => Hs256.token(&header, &out, &self.hs256).unwrap_or_default(),
        }
    }

    /// Verifies `token` as a token of type `expected` at `now` (Unix seconds).
    pub fn verify(&self, token: &str, expected: TokenType, now: i64) -> Result<TokenClaims, TokenError> {
        self.verify_as(token, &[expected], now)
    }

    /// Verifies `token` as a token of either type (introspection is told no type); the claims say
    /// which it is.
    pub fn verify_any(&self, token: &str, now: i64) -> Result<TokenClaims, TokenError> {
        self.verify_as(token, &[TokenType::Access, TokenType::Refresh], now)
    }

    fn verify_as(&self, token: &str, accepted: &[TokenType], now: i64) -> Result<TokenClaims, TokenError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Invalid)?;
        let verified = match untrusted.algorithm() {
            "HS256" => Hs256.validator::<Map<String, Value>>(&self.hs256).validate(&untrusted),
            "EdDSA" => {
                let key = self
                    .ed25519
                    .as_ref()
                    .and_then(|ed| ed.verifying_key(untrusted.header().key_id.as_deref()))
                    .ok_or(TokenError::Invalid)?;
                Ed25519.validator::<Map<String, Value>>(key).validate(&untrusted)
            }
            _ => return Err(TokenError::Invalid),
        }
        .map_err(|_| TokenError::Invalid)?;
        let claims = verified.claims();
        let claim = |name: &str| claims.custom.get(name);

        let expires_at = claims.expiration.ok_or(TokenError::NoExp)?.timestamp();
        if expires_at <= now {
            return Err(TokenError::Expired);
        }
        // PyJWT refuses a token whose `nbf` is still in the future.
        if claims.not_before.is_some_and(|nbf| nbf.timestamp() > now) {
            return Err(TokenError::Invalid);
        }
        // PyJWT's order after the time claims: issuer, then audience. Unconfigured, neither is
        // checked (simplejwt passes `verify_aud` only when it has an audience).
        if let Some(issuer) = &self.issuer {
            if claim("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
                return Err(TokenError::Invalid);
            }
        }
        let audience_ok = match (&self.audience, claim("aud")) {
            (None, _) => true,
            (Some(wanted), Some(Value::String(aud))) => aud == wanted,
            (Some(wanted), Some(Value::Array(auds))) => auds.iter().any(|aud| aud.as_str() == Some(wanted.as_str())),
            (Some(_), _) => false,
        };
        if !audience_ok {
            return Err(TokenError::Invalid);
        }
        let jti = match claim(&self.names.jti) {
            None => return Err(TokenError::NoId),
            Some(Value::String(jti)) => jti.clone(),
            Some(other) => other.to_string(),
        };
        let token_type = match claim(&self.names.token_type) {
            None => return Err(TokenError::NoType),
            Some(Value::String(t)) => match accepted.iter().find(|accepted| accepted.as_str() == t) {
                Some(found) => *found,
                None => return Err(TokenError::WrongType),
            },
            Some(_) => return Err(TokenError::WrongType),
        };
        let user_id = match claim(&self.names.user_id) {
            Some(Value::String(id)) => id.parse::<i64>().ok(),
            Some(Value::Number(id)) => id.as_i64(),
            _ => None,
        };
        let session_id = match claim("sid") {
            Some(Value::String(sid)) => Some(sid.clone()),
            _ => None,
        };
        let issued_at = claims.issued_at.map_or(0, |iat| iat.timestamp());
        Ok(TokenClaims { token_type, jti, user_id, session_id, issued_at, expires_at })
    }
}

/// KV refuses expirations closer than 60 seconds.
pub const KV_MIN_TTL_SECS: i64 = 60;

/// How long a dead token's blacklist entry must live: until the token would have expired
/// anyway, but never less than KV accepts.
pub fn blacklist_ttl_secs(expires_at: i64, now: i64) -> u64 {
    expires_at.saturating_sub(now).max(KV_MIN_TTL_SECS).unsigned_abs()
}

/// Lowercase hex, as Python's `uuid4().hex` writes a `jti`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000;
    const JTI: [u8; 16] = [0xab; 16];

    fn tokens() -> Tokens {
        Tokens::new(b"test-signing-key-0123456789abcdef", 1800, 604_800)
    }

    fn part(token: &str, index: usize) -> Value {
        let segment = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(segment).unwrap()).unwrap()
    }

    /// Signs an arbitrary header and payload with `secret`, as a forger with the key could.
    fn forge(header: Value, payload: Value, secret: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let signing_input = format!(
            "{}.{}",
            Base64UrlUnpadded::encode_string(header.to_string().as_bytes()),
            Base64UrlUnpadded::encode_string(payload.to_string().as_bytes())
        );
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(signing_input.as_bytes());
        let signature = Base64UrlUnpadded::encode_string(&mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    #[test]
    fn minted_tokens_carry_simplejwt_s_header_and_claims() {
        let minted = tokens().mint(TokenType::Access, 42, None, JTI, NOW);
        assert_eq!(part(minted.token.expose(), 0), json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(
            part(minted.token.expose(), 1),
            json!({
                "token_type": "access",
                "exp": NOW + 1800,
                "iat": NOW,
                "jti": "abababababababababababababababab",
                "user_id": "42"
            })
        );
    }

    #[test]
    fn a_minted_token_verifies_as_its_own_type_until_it_expires() {
        let t = tokens();
        let refresh = t.mint(TokenType::Refresh, 7, Some("s1"), JTI, NOW);
        let claims = t.verify(refresh.token.expose(), TokenType::Refresh, NOW + 604_799).unwrap();
        assert_eq!(claims, refresh.claims);
        assert_eq!(t.verify(refresh.token.expose(), TokenType::Refresh, NOW + 604_800), Err(TokenError::Expired));
    }

    #[test]
    fn the_session_id_travels_in_the_sid_claim() {
        let t = tokens();
        let minted = t.mint(TokenType::Access, 3, Some("0123abcd"), JTI, NOW);
        assert_eq!(part(minted.token.expose(), 1)["sid"], "0123abcd");
        assert_eq!(
            t.verify(minted.token.expose(), TokenType::Access, NOW).unwrap().session_id.as_deref(),
            Some("0123abcd")
        );
    }

    #[test]
    fn issuer_and_audience_are_written_and_then_required() {
        let secret = "test-signing-key-0123456789abcdef";
        let strict =
            tokens().with_issuer_and_audience(Some("https://auth.example.com".into()), Some("edge-api".into()));
        let minted = strict.mint(TokenType::Access, 3, None, JTI, NOW);
        assert_eq!(part(minted.token.expose(), 1)["iss"], "https://auth.example.com");
        assert_eq!(part(minted.token.expose(), 1)["aud"], "edge-api");
        assert!(strict.verify(minted.token.expose(), TokenType::Access, NOW).is_ok());
        let claims = |extra: Value| {
            let mut payload = json!({"token_type": "access", "exp": NOW + 60, "iat": NOW, "jti": "ab", "user_id": "3"});
            payload.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            forge(json!({"alg": "HS256", "typ": "JWT"}), payload, secret.as_bytes())
        };
        let issuer = "https://auth.example.com";
        for refused in [
            json!({}),
            json!({"iss": issuer}),
            json!({"aud": "edge-api"}),
            json!({"iss": "https://evil.example.com", "aud": "edge-api"}),
            json!({"iss": issuer, "aud": "other-api"}),
            json!({"iss": issuer, "aud": ["other-api"]}),
        ] {
            assert_eq!(
                strict.verify(&claims(refused.clone()), TokenType::Access, NOW),
                Err(TokenError::Invalid),
                "{refused}"
            );
        }
        let listed = claims(json!({"iss": issuer, "aud": ["other-api", "edge-api"]}));
        assert!(strict.verify(&listed, TokenType::Access, NOW).is_ok());
        // Unconfigured, whatever a token says of them is ignored, as simplejwt ignores it.
        assert!(tokens().verify(&claims(json!({"aud": "edge-api", "iss": issuer})), TokenType::Access, NOW).is_ok());
    }

    #[test]
    fn signing_the_same_claims_again_gives_the_same_token() {
        let t = tokens();
        let minted = t.mint(TokenType::Refresh, 3, Some("s"), JTI, NOW);
        assert_eq!(t.sign(&minted.claims), minted.token.expose());
        assert!(!format!("{minted:?}").contains(minted.token.expose()));
    }

    #[test]
    fn a_token_of_the_other_type_is_refused() {
        let t = tokens();
        let access = t.mint(TokenType::Access, 7, None, JTI, NOW);
        assert_eq!(t.verify(access.token.expose(), TokenType::Refresh, NOW), Err(TokenError::WrongType));
        let refresh = t.mint(TokenType::Refresh, 7, Some("s1"), JTI, NOW);
        assert_eq!(t.verify(refresh.token.expose(), TokenType::Access, NOW), Err(TokenError::WrongType));
    }

    #[test]
    fn either_type_verifies_as_itself_when_no_type_is_expected() {
        let t = tokens();
        let access = t.mint(TokenType::Access, 7, None, JTI, NOW);
        assert_eq!(t.verify_any(access.token.expose(), NOW), Ok(access.claims));
        let refresh = t.mint(TokenType::Refresh, 7, Some("s1"), JTI, NOW);
        assert_eq!(t.verify_any(refresh.token.expose(), NOW), Ok(refresh.claims));
        let secret = b"test-signing-key-0123456789abcdef";
        for (token_type, refused) in [
            (json!("id"), TokenError::WrongType),
            (json!(["access"]), TokenError::WrongType),
            (json!(null), TokenError::WrongType),
        ] {
            let payload = json!({"token_type": token_type, "exp": NOW + 60, "jti": "a", "user_id": "1"});
            let token = forge(json!({"alg": "HS256"}), payload, secret);
            assert_eq!(t.verify_any(&token, NOW), Err(refused), "{token_type}");
        }
        let expired = t.mint(TokenType::Access, 7, None, JTI, NOW - 1800);
        assert_eq!(t.verify_any(expired.token.expose(), NOW), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let theirs = Tokens::new(b"another-signing-key-0123456789abcdef", 1800, 604_800);
        let token = theirs.mint(TokenType::Access, 1, None, JTI, NOW).token.expose().to_owned();
        assert_eq!(tokens().verify(&token, TokenType::Access, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn a_tampered_payload_is_invalid() {
        let token = tokens().mint(TokenType::Access, 1, None, JTI, NOW).token.expose().to_owned();
        let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload = part(&token, 1);
        payload["user_id"] = json!("2");
        segments[1] = Base64UrlUnpadded::encode_string(payload.to_string().as_bytes());
        assert_eq!(tokens().verify(&segments.join("."), TokenType::Access, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn unsigned_and_other_algorithm_tokens_are_invalid() {
        let payload = json!({"token_type": "access", "exp": NOW + 60, "jti": "x", "user_id": "1"});
        let body = Base64UrlUnpadded::encode_string(payload.to_string().as_bytes());
        for alg in ["none", "HS512", "RS256", "hs256"] {
            let header = Base64UrlUnpadded::encode_string(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
            for signature in ["", "AAAA"] {
                let token = format!("{header}.{body}.{signature}");
                assert_eq!(tokens().verify(&token, TokenType::Access, NOW), Err(TokenError::Invalid), "{alg}");
            }
        }
    }

    #[test]
    fn garbage_is_invalid_and_never_panics() {
        for garbage in ["", ".", "..", "a.b.c", "Bearer x", "eyJhbGciOiJIUzI1NiJ9..", "😀.😀.😀"] {
            assert_eq!(tokens().verify(garbage, TokenType::Access, NOW), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn missing_claims_fail_in_simplejwt_s_order_with_its_messages() {
        let secret = b"test-signing-key-0123456789abcdef";
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let cases = [
            (json!({"token_type": "access", "jti": "a", "user_id": "1"}), TokenError::NoExp),
            (json!({"token_type": "access", "exp": NOW - 1, "user_id": "1"}), TokenError::Expired),
            (json!({"token_type": "access", "exp": NOW + 60, "user_id": "1"}), TokenError::NoId),
            (json!({"exp": NOW + 60, "jti": "a", "user_id": "1"}), TokenError::NoType),
            (json!({"token_type": "refresh", "exp": NOW + 60, "jti": "a"}), TokenError::WrongType),
            (json!({"token_type": "access", "exp": "soon", "jti": "a"}), TokenError::Invalid),
            (json!({"token_type": "access", "exp": NOW + 60, "nbf": NOW + 30, "jti": "a"}), TokenError::Invalid),
        ];
        for (payload, expected) in cases {
            let token = forge(header.clone(), payload.clone(), secret);
            assert_eq!(tokens().verify(&token, TokenType::Access, NOW), Err(expected), "{payload}");
        }
    }

    #[test]
    fn a_simplejwt_token_with_an_integer_user_id_is_understood() {
        let payload = json!({"token_type": "access", "exp": NOW + 60, "iat": NOW, "jti": "f".repeat(32), "user_id": 9});
        let token = forge(json!({"alg": "HS256", "typ": "JWT"}), payload, b"test-signing-key-0123456789abcdef");
        assert_eq!(tokens().verify(&token, TokenType::Access, NOW).unwrap().user_id, Some(9));
    }

    #[test]
    fn a_user_id_that_is_not_an_id_is_reported_as_missing() {
        for user_id in [json!("abc"), json!(null), json!([1])] {
            let payload = json!({"token_type": "access", "exp": NOW + 60, "jti": "a", "user_id": user_id});
            let token = forge(json!({"alg": "HS256"}), payload, b"test-signing-key-0123456789abcdef");
            assert_eq!(tokens().verify(&token, TokenType::Access, NOW).unwrap().user_id, None);
        }
    }

    #[test]
    fn claim_names_can_be_renamed_for_a_fastapi_side() {
        let names = ClaimNames { user_id: "sub".into(), token_type: "type".into(), jti: "id".into() };
        let t = tokens().with_claim_names(names);
        let minted = t.mint(TokenType::Access, 42, None, JTI, NOW);
        let payload = part(minted.token.expose(), 1);
        assert_eq!((payload["sub"].clone(), payload["type"].clone()), (json!("42"), json!("access")));
        assert_eq!(payload["id"], "abababababababababababababababab");
        assert!(payload.get("user_id").is_none() && payload.get("token_type").is_none());
        assert_eq!(t.verify(minted.token.expose(), TokenType::Access, NOW).unwrap().user_id, Some(42));
        // A token with simplejwt's names has no `type` claim on this side.
        let simplejwt = tokens().mint(TokenType::Access, 42, None, JTI, NOW).token.expose().to_owned();
        assert_eq!(t.verify(&simplejwt, TokenType::Access, NOW), Err(TokenError::NoId));
    }

    const SEED: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const OLD_SEED: &str = "TM0Imyj_ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U-4pvs";

    fn ed_tokens(seed: &str, previous: Option<&str>) -> Tokens {
        tokens().with_ed25519(Ed25519Keys::from_config(seed, None, previous).unwrap())
    }

    #[test]
    fn ed25519_tokens_name_their_key_and_verify_against_the_published_set() {
        let t = ed_tokens(SEED, None);
        let minted = t.mint(TokenType::Access, 5, Some("s"), JTI, NOW);
        let header = part(minted.token.expose(), 0);
        assert_eq!(header["alg"], "EdDSA");
        let jwks = t.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
        assert_eq!(jwks["keys"][0]["kty"], "OKP");
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
        assert_eq!(t.verify(minted.token.expose(), TokenType::Access, NOW).unwrap().user_id, Some(5));
    }

    #[test]
    fn hs256_tokens_from_the_django_side_still_verify_when_signing_with_ed25519() {
        let django = tokens().mint(TokenType::Refresh, 5, None, JTI, NOW).token.expose().to_owned();
        assert!(ed_tokens(SEED, None).verify(&django, TokenType::Refresh, NOW).is_ok());
    }

    #[test]
    fn a_previous_key_keeps_verifying_during_rotation() {
        let old = ed_tokens(OLD_SEED, None);
        let old_token = old.mint(TokenType::Access, 5, None, JTI, NOW).token.expose().to_owned();
        let old_key = &old.jwks()["keys"][0];
        let previous = format!("{}={}", old_key["kid"].as_str().unwrap(), old_key["x"].as_str().unwrap());
        let rotated = ed_tokens(SEED, Some(&previous));
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);
        assert!(rotated.verify(&old_token, TokenType::Access, NOW).is_ok());
        // Without the previous key listed, the old token no longer verifies.
        assert_eq!(ed_tokens(SEED, None).verify(&old_token, TokenType::Access, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn ed25519_tokens_are_refused_without_ed25519_keys_or_when_tampered() {
        let token = ed_tokens(SEED, None).mint(TokenType::Access, 5, None, JTI, NOW).token.expose().to_owned();
        assert_eq!(tokens().verify(&token, TokenType::Access, NOW), Err(TokenError::Invalid));
        let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload = part(&token, 1);
        payload["user_id"] = json!("6");
        segments[1] = Base64UrlUnpadded::encode_string(payload.to_string().as_bytes());
        assert_eq!(ed_tokens(SEED, None).verify(&segments.join("."), TokenType::Access, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn bad_ed25519_configuration_is_refused() {
        let refused = |seed, previous| Ed25519Keys::from_config(seed, None, previous).err();
        assert_eq!(refused("not base64!", None), Some(KeyError::Seed("not base64url")));
        assert_eq!(refused("AAAA", None), Some(KeyError::Seed("must be a 32-byte Ed25519 seed")));
        assert_eq!(
            refused(SEED, Some("no-equals-sign")),
            Some(KeyError::PreviousKeys("each entry is kid=base64url-public-key"))
        );
        assert_eq!(refused(SEED, Some("k0=AAAA")), Some(KeyError::PreviousKeys("public key must be 32 bytes")));
        let keys = Ed25519Keys::from_config(SEED, Some("k1"), None).unwrap();
        assert_eq!(tokens().with_ed25519(keys).jwks()["keys"][0]["kid"], "k1");
    }

    #[test]
    fn blacklist_entries_live_until_the_token_expires_but_at_least_a_minute() {
        assert_eq!(blacklist_ttl_secs(NOW + 604_800, NOW), 604_800);
        assert_eq!(blacklist_ttl_secs(NOW + 61, NOW), 61);
        assert_eq!(blacklist_ttl_secs(NOW + 5, NOW), 60);
        assert_eq!(blacklist_ttl_secs(NOW - 500, NOW), 60);
    }

    #[test]
    fn jti_is_lowercase_hex() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
