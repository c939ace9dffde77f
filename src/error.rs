//! The one place where failures become the contract's JSON (`CONTRACT.md`).
//!
//! Handlers return `Result<Reply, ApiError>`; each variant documents its status. Internal causes
//! are logged by the adapter that met them and never reach a response.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use crate::domain::body::BodyError;
use crate::domain::fields::FieldErrors;
use crate::domain::pagination::InvalidPage;
use crate::domain::sync::{BadEvent, SignatureError};
use crate::domain::tokens::TokenError;

/// A response before it meets the platform: status, JSON body, extra headers, and the user it
/// served (for the access log; never sent).
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
    pub user_id: Option<i64>,
}

impl Reply {
    pub fn new(status: u16, body: Value) -> Reply {
        Reply { status, body, headers: Vec::new(), user_id: None }
    }

    pub fn ok(body: Value) -> Reply {
        Reply::new(200, body)
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// Names the user served, for the access log.
    pub fn for_user(self, id: i64) -> Reply {
        Reply { user_id: Some(id), ..self }
    }

    /// Token-bearing responses must not be stored by browsers or proxies.
    pub fn no_store(self) -> Reply {
        self.with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// 400: field validation failed (DRF serializer errors).
    Fields(FieldErrors),
    /// 400 (not JSON, `null`, not an object), 413 (over the limit) or 415 (not
    /// `application/json`): the body cannot be read as a JSON object.
    Body(BodyError),
    /// 401: no `Authorization: Bearer …` header.
    NotAuthenticated,
    /// 401: `Authorization: Bearer` with no token or more than one.
    BadAuthorizationHeader,
    /// 401: a valid access token without a usable `user_id` claim.
    NoUserIdentification,
    /// 401: `token/refresh/` for a user who is gone or inactive (simplejwt's `no_active_account`,
    /// whose body has no `code`).
    NoActiveAccount,
    /// 401: the Bearer access token failed a check.
    BadAccessToken(TokenError),
    /// 401: the access token names a user that no longer exists.
    UserNotFound,
    /// 401: the access token's user is inactive.
    UserInactive,
    /// 401: login failed, whatever the cause.
    LoginFailed,
    /// 401: `token/refresh/` with a bad refresh token.
    BadRefreshToken(TokenError),
    /// 401: `token/introspect/` without the introspection client's HTTP Basic credentials (or
    /// with no client configured). RFC 6749 §5.2's `invalid_client`, with the Basic challenge.
    InvalidClient,
    /// 400: `logout/` with a bad refresh token in the body.
    BadLogoutToken(TokenError),
    /// 400: `logout/` with another user's refresh token.
    TokenNotOwned,
    /// 403: `login/` with the right password for an unverified address, when
    /// `REQUIRE_VERIFIED_EMAIL` is on.
    EmailNotVerified,
    /// 403: the caller may not do this (the admin API for anyone but staff; DRF's
    /// `PermissionDenied`).
    PermissionDenied,
    /// 404: no such path (and `registration/verify-email/` with a key that works no more).
    NotFound,
    /// 404: a listing's `page` is not a page of it (DRF's pagination).
    InvalidPage,
    /// 405: the path exists, the method does not; carries the method and the `Allow` list.
    MethodNotAllowed { method: String, allow: String },
    /// 429: throttled; carries seconds until the next attempt may succeed.
    Throttled(u64),
    /// 401: `sync/events/` without a valid `Edge-Auth-Signature` (PROTOCOL.md).
    BadSignature(SignatureError),
    /// 400: a signed event this worker cannot apply; the sender does not retry it.
    BadEvent(String),
    /// 409: an event whose id was applied before: nothing is done again.
    EventAlreadyReceived,
    /// 400 `{"detail": …}`: a request this account's state refuses (TOTP already enabled, no
    /// setup in progress, no second factor to renew codes for, passkeys not configured).
    Refused(&'static str),
    /// 401: `login/mfa/` (or passkey options for it) with an `mfa_token` that is unknown,
    /// expired, spent or out of attempts.
    MfaTokenInvalid,
    /// 401: `login/mfa/` with a wrong, replayed or spent code, recovery code or assertion.
    MfaCodeInvalid,
    /// 400: a passkey registration that failed verification; carries the check's safe reason.
    WebauthnInvalid(&'static str),
    /// 401: a passkey login that failed, whatever the cause (the trail keeps the reason).
    PasskeyLoginFailed,
    /// 500: storage or platform failure (cause logged where it happened).
    Internal,
    /// 503: configuration unusable (cause logged at load).
    Misconfigured,
    /// 503: something this answer depends on cannot be asked now (`register/` beside Django,
    /// when Django does not answer: an address must never get two accounts).
    Unavailable,
}

/// A form's failing fields are DRF's 400: `{"field": ["message", …]}`.
impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> ApiError {
        ApiError::Fields(errors)
    }
}

impl From<BadEvent> for ApiError {
    fn from(BadEvent(why): BadEvent) -> ApiError {
        ApiError::BadEvent(why)
    }
}

impl From<InvalidPage> for ApiError {
    fn from(_: InvalidPage) -> ApiError {
        ApiError::InvalidPage
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> ApiError {
        ApiError::Body(error)
    }
}

const BEARER_CHALLENGE: &str = "Bearer realm=\"api\"";
/// `sync/events/` is authenticated by a signature, not a Bearer token.
const SIGNATURE_CHALLENGE: &str = "Edge-Auth-Signature realm=\"api\"";
const BASIC_CHALLENGE: &str = "Basic realm=\"edge-auth\"";

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Fields(_)
            | ApiError::Body(BodyError::NotAnObject(_) | BodyError::NoData | BodyError::Malformed(_))
            | ApiError::BadLogoutToken(_)
            | ApiError::TokenNotOwned
            | ApiError::BadEvent(_)
            | ApiError::Refused(_)
            | ApiError::WebauthnInvalid(_) => 400,
            ApiError::NotAuthenticated
            | ApiError::BadAuthorizationHeader
            | ApiError::NoUserIdentification
            | ApiError::NoActiveAccount
            | ApiError::BadAccessToken(_)
            | ApiError::UserNotFound
            | ApiError::UserInactive
            | ApiError::LoginFailed
            | ApiError::BadRefreshToken(_)
            | ApiError::BadSignature(_)
            | ApiError::InvalidClient
            | ApiError::MfaTokenInvalid
            | ApiError::MfaCodeInvalid
            | ApiError::PasskeyLoginFailed => 401,
            ApiError::EmailNotVerified | ApiError::PermissionDenied => 403,
            ApiError::NotFound | ApiError::InvalidPage => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::EventAlreadyReceived => 409,
            ApiError::Body(BodyError::TooLarge) => 413,
            ApiError::Body(BodyError::UnsupportedMediaType(_)) => 415,
            ApiError::Throttled(_) => 429,
            ApiError::Internal => 500,
            ApiError::Misconfigured | ApiError::Unavailable => 503,
        }
    }

    pub fn body(&self) -> Value {
        // Most bodies are `{"detail": …}`, some with a `code`: built once below, where a `json!`
        // object per arm was its own map code (3.4 KB of wasm in all, 0.3 KB gzipped).
        let (detail, code): (Cow<str>, &str) = match self {
            ApiError::Fields(errors) => {
                // Inserted one by one: collecting into the map would sort (a stable sort of
                // `(String, Value)` in the wasm only for this).
                let mut body = Map::new();
                for (field, messages) in errors.iter() {
                    body.insert(field.to_owned(), json!(messages));
                }
                return Value::Object(body);
            }
            ApiError::Body(BodyError::NotAnObject(kind)) => {
                return json!({
                    "non_field_errors": [format!("Invalid data. Expected a dictionary, but got {kind}.")]
                })
            }
            ApiError::Body(BodyError::NoData) => return json!({ "non_field_errors": ["No data provided"] }),
            ApiError::BadAccessToken(why) => {
                return json!({
                    "detail": "Given token not valid for any token type",
                    "code": "token_not_valid",
                    "messages": [{
                        "token_class": "AccessToken",
                        "token_type": "access",
                        "message": why.message(),
                    }],
                })
            }
            ApiError::InvalidClient => ("Invalid client credentials.".into(), "invalid_client"),
            ApiError::Body(BodyError::Malformed(reason)) => (format!("JSON parse error - {reason}").into(), ""),
            ApiError::NotAuthenticated => ("Authentication credentials were not provided.".into(), ""),
            ApiError::BadAuthorizationHeader => {
                ("Authorization header must contain two space-delimited values".into(), "bad_authorization_header")
            }
            ApiError::NoUserIdentification => {
                ("Token contained no recognizable user identification".into(), "token_not_valid")
            }
            // simplejwt's TokenRefreshSerializer raises DRF's plain AuthenticationFailed: no `code`.
            ApiError::NoActiveAccount => ("No active account found for the given token.".into(), ""),
            ApiError::UserNotFound => ("User not found".into(), "user_not_found"),
            ApiError::UserInactive => ("User is inactive".into(), "user_inactive"),
            ApiError::LoginFailed => ("Invalid email or password.".into(), ""),
            ApiError::BadRefreshToken(why) | ApiError::BadLogoutToken(why) => (why.message().into(), "token_not_valid"),
            ApiError::TokenNotOwned => ("Token does not belong to the authenticated user.".into(), "token_not_valid"),
            ApiError::EmailNotVerified => ("E-mail is not verified.".into(), "email_not_verified"),
            ApiError::PermissionDenied => ("You do not have permission to perform this action.".into(), ""),
            ApiError::NotFound => ("Not found.".into(), ""),
            ApiError::InvalidPage => ("Invalid page.".into(), ""),
            ApiError::MethodNotAllowed { method, .. } => (format!("Method \"{method}\" not allowed.").into(), ""),
            ApiError::Body(BodyError::TooLarge) => ("Request body too large.".into(), ""),
            ApiError::Body(BodyError::UnsupportedMediaType(kind)) => {
                (format!("Unsupported media type \"{kind}\" in request.").into(), "")
            }
            ApiError::Throttled(secs) => {
                (format!("Request was throttled. Expected available in {secs} seconds.").into(), "")
            }
            ApiError::BadSignature(why) => (why.detail().into(), ""),
            ApiError::BadEvent(why) => (why.as_str().into(), ""),
            ApiError::EventAlreadyReceived => ("Event already received.".into(), ""),
            ApiError::Refused(why) => ((*why).into(), ""),
            ApiError::MfaTokenInvalid => ("Invalid or expired MFA token.".into(), "mfa_token_invalid"),
            ApiError::MfaCodeInvalid => ("Invalid code.".into(), "mfa_code_invalid"),
            ApiError::WebauthnInvalid(why) => ((*why).into(), "webauthn_invalid"),
            ApiError::PasskeyLoginFailed => ("Passkey authentication failed.".into(), "webauthn_invalid"),
            ApiError::Internal => ("A server error occurred.".into(), ""),
            ApiError::Misconfigured => ("Server misconfigured.".into(), ""),
            ApiError::Unavailable => ("Service temporarily unavailable, try again later.".into(), ""),
        };
        let mut body = Map::new();
        body.insert("detail".into(), detail.into());
        if !code.is_empty() {
            // RFC 6749 §5.2 names the client's error `error`; simplejwt names its own `code`.
            let name = if matches!(self, ApiError::InvalidClient) { "error" } else { "code" };
            body.insert(name.into(), code.into());
        }
        Value::Object(body)
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ApiError::NotAuthenticated
            | ApiError::BadAuthorizationHeader
            | ApiError::NoUserIdentification
            | ApiError::NoActiveAccount
            | ApiError::BadAccessToken(_)
            | ApiError::UserNotFound
            | ApiError::UserInactive
            | ApiError::LoginFailed
            | ApiError::MfaTokenInvalid
            | ApiError::MfaCodeInvalid
            | ApiError::PasskeyLoginFailed
            | ApiError::BadRefreshToken(_) => vec![("WWW-Authenticate", BEARER_CHALLENGE.to_owned())],
            ApiError::BadSignature(_) => vec![("WWW-Authenticate", SIGNATURE_CHALLENGE.to_owned())],
            ApiError::InvalidClient => vec![("WWW-Authenticate", BASIC_CHALLENGE.to_owned())],
            ApiError::MethodNotAllowed { allow, .. } => vec![("Allow", allow.clone())],
            ApiError::Throttled(secs) => vec![("Retry-After", secs.to_string())],
            _ => Vec::new(),
        }
    }

    pub fn into_reply(self) -> Reply {
        Reply { status: self.status(), body: self.body(), headers: self.headers(), user_id: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_collect_every_message_per_field() {
        let mut errors = FieldErrors::new();
        errors.add("password", "This password is too short. It must contain at least 8 characters.");
        errors.add("password", "This password is entirely numeric.");
        errors.add("email", "Enter a valid email address.");
        let reply = ApiError::Fields(errors).into_reply();
        assert_eq!(reply.status, 400);
        assert_eq!(
            reply.body,
            json!({
                "password": [
                    "This password is too short. It must contain at least 8 characters.",
                    "This password is entirely numeric."
                ],
                "email": ["Enter a valid email address."]
            })
        );
    }

    #[test]
    fn authentication_failures_carry_the_bearer_challenge() {
        for error in [
            ApiError::NotAuthenticated,
            ApiError::LoginFailed,
            ApiError::BadAccessToken(TokenError::Expired),
            ApiError::BadRefreshToken(TokenError::Blacklisted),
        ] {
            let reply = error.into_reply();
            assert_eq!(reply.status, 401);
            assert_eq!(reply.headers, vec![("WWW-Authenticate", "Bearer realm=\"api\"".to_owned())]);
        }
    }

    #[test]
    fn a_refused_introspection_client_is_challenged_for_basic_credentials() {
        let reply = ApiError::InvalidClient.into_reply();
        assert_eq!(reply.status, 401);
        assert_eq!(reply.body, json!({"error": "invalid_client", "detail": "Invalid client credentials."}));
        assert_eq!(reply.headers, vec![("WWW-Authenticate", "Basic realm=\"edge-auth\"".to_owned())]);
    }

    #[test]
    fn a_bad_access_token_names_simplejwt_s_token_class() {
        let body = ApiError::BadAccessToken(TokenError::WrongType).body();
        assert_eq!(
            body,
            json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token has wrong type"}]
            })
        );
    }

    #[test]
    fn logout_token_errors_are_400_but_refresh_token_errors_are_401() {
        assert_eq!(ApiError::BadLogoutToken(TokenError::Invalid).status(), 400);
        assert_eq!(ApiError::BadRefreshToken(TokenError::Invalid).status(), 401);
        assert_eq!(
            ApiError::BadLogoutToken(TokenError::Invalid).body(),
            json!({"detail": "Token is invalid", "code": "token_not_valid"})
        );
        assert!(ApiError::BadLogoutToken(TokenError::Invalid).into_reply().headers.is_empty());
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods() {
        let reply = ApiError::MethodNotAllowed { method: "GET".into(), allow: "POST, OPTIONS".into() }.into_reply();
        assert_eq!(reply.status, 405);
        assert_eq!(reply.body, json!({"detail": "Method \"GET\" not allowed."}));
        assert_eq!(reply.headers, vec![("Allow", "POST, OPTIONS".to_owned())]);
    }

    #[test]
    fn staff_only_refusals_and_pages_past_the_end_answer_in_drf_s_words() {
        let refused = ApiError::PermissionDenied.into_reply();
        assert_eq!(refused.status, 403);
        assert_eq!(refused.body, json!({"detail": "You do not have permission to perform this action."}));
        assert!(refused.headers.is_empty(), "no challenge: the caller is authenticated");
        let invalid = ApiError::InvalidPage.into_reply();
        assert_eq!((invalid.status, invalid.body), (404, json!({"detail": "Invalid page."})));
    }

    #[test]
    fn throttling_tells_when_to_come_back() {
        let reply = ApiError::Throttled(17).into_reply();
        assert_eq!(reply.status, 429);
        assert_eq!(reply.body, json!({"detail": "Request was throttled. Expected available in 17 seconds."}));
        assert_eq!(reply.headers, vec![("Retry-After", "17".to_owned())]);
    }

    #[test]
    fn server_side_failures_say_nothing_about_their_cause() {
        assert_eq!(ApiError::Internal.into_reply().body, json!({"detail": "A server error occurred."}));
        assert_eq!(ApiError::Misconfigured.into_reply().status, 503);
        assert_eq!(ApiError::Misconfigured.body(), json!({"detail": "Server misconfigured."}));
        assert_eq!(ApiError::Unavailable.into_reply().status, 503);
        assert_eq!(
            ApiError::Unavailable.body(),
            json!({"detail": "Service temporarily unavailable, try again later."})
        );
    }

    #[test]
    fn unreadable_bodies_answer_as_drf_does() {
        let reply = |error: BodyError| ApiError::from(error).into_reply();
        assert_eq!(reply(BodyError::NoData).status, 400);
        assert_eq!(reply(BodyError::NoData).body, json!({"non_field_errors": ["No data provided"]}));
        assert_eq!(
            reply(BodyError::NotAnObject("list")).body,
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        );
        assert_eq!(reply(BodyError::Malformed("Bad".into())).status, 400);
        assert_eq!(reply(BodyError::Malformed("Bad".into())).body, json!({"detail": "JSON parse error - Bad"}));
        assert_eq!(reply(BodyError::TooLarge).status, 413);
        assert_eq!(reply(BodyError::TooLarge).body, json!({"detail": "Request body too large."}));
        let unsupported = reply(BodyError::UnsupportedMediaType("text/plain".into()));
        assert_eq!(unsupported.status, 415);
        assert_eq!(unsupported.body, json!({"detail": "Unsupported media type \"text/plain\" in request."}));
        assert!(unsupported.headers.is_empty());
    }

    #[test]
    fn sync_event_refusals_say_why_in_the_protocol_s_words() {
        let invalid = ApiError::BadSignature(SignatureError::Invalid).into_reply();
        assert_eq!((invalid.status, invalid.body), (401, json!({"detail": "Invalid signature."})));
        assert_eq!(invalid.headers, vec![("WWW-Authenticate", "Edge-Auth-Signature realm=\"api\"".to_owned())]);
        let expired = ApiError::BadSignature(SignatureError::Expired).into_reply();
        assert_eq!((expired.status, expired.body), (401, json!({"detail": "Signature expired."})));
        let bad = ApiError::from(BadEvent("Unknown event type.".into())).into_reply();
        assert_eq!((bad.status, bad.body), (400, json!({"detail": "Unknown event type."})));
        let again = ApiError::EventAlreadyReceived.into_reply();
        assert_eq!((again.status, again.body), (409, json!({"detail": "Event already received."})));
    }

    #[test]
    fn token_replies_are_marked_no_store() {
        let reply = Reply::ok(json!({})).no_store();
        assert!(reply.headers.contains(&("Cache-Control", "no-store".to_owned())));
        assert!(reply.headers.contains(&("Pragma", "no-cache".to_owned())));
    }
}
