//! The audit trail: what happened to an account, when, from where and how it ended (ASVS 16.3.1),
//! stored in D1 (`auth_events`) and shown to the account's owner (`events/`, ASVS 6.3.5) and to
//! staff (`admin/events/`). An event carries facts, never a secret: no password, token, key or
//! hash is ever a field of it.

use serde_json::{json, Value};

use crate::domain::user::timestamp;

/// What happened. Stored and shown as its snake_case name (`as_str`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    UserRegistered,
    Login,
    Logout,
    LogoutAll,
    /// A rotated refresh token came back after the reuse interval: its session was revoked.
    TokenReuseDetected,
    /// One session ended by its owner (`DELETE sessions/<id>/`).
    SessionRevoked,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    EmailVerified,
    EmailChangeRequested,
    EmailChanged,
    AccountDisabled,
    AccountEnabled,
    UserUpdatedByAdmin,
    SessionsRevokedByAdmin,
    /// TOTP confirmed with a code: the account has a second factor.
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesGenerated,
    RecoveryCodeUsed,
    PasskeyAdded,
    PasskeyRenamed,
    PasskeyRemoved,
    /// The right password for an account with a second factor: the second step was asked for.
    MfaChallenge,
}

impl EventType {
    pub const ALL: [EventType; 24] = [
        EventType::UserRegistered,
        EventType::Login,
        EventType::Logout,
        EventType::LogoutAll,
        EventType::TokenReuseDetected,
        EventType::SessionRevoked,
        EventType::PasswordChanged,
        EventType::PasswordResetRequested,
        EventType::PasswordReset,
        EventType::EmailVerified,
        EventType::EmailChangeRequested,
        EventType::EmailChanged,
        EventType::AccountDisabled,
        EventType::AccountEnabled,
        EventType::UserUpdatedByAdmin,
        EventType::SessionsRevokedByAdmin,
        EventType::TotpEnabled,
        EventType::TotpDisabled,
        EventType::RecoveryCodesGenerated,
        EventType::RecoveryCodeUsed,
        EventType::PasskeyAdded,
        EventType::PasskeyRenamed,
        EventType::PasskeyRemoved,
        EventType::MfaChallenge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::UserRegistered => "user_registered",
            EventType::Login => "login",
            EventType::Logout => "logout",
            EventType::LogoutAll => "logout_all",
            EventType::TokenReuseDetected => "token_reuse_detected",
            EventType::SessionRevoked => "session_revoked",
            EventType::PasswordChanged => "password_changed",
            EventType::PasswordResetRequested => "password_reset_requested",
            EventType::PasswordReset => "password_reset",
            EventType::EmailVerified => "email_verified",
            EventType::EmailChangeRequested => "email_change_requested",
            EventType::EmailChanged => "email_changed",
            EventType::AccountDisabled => "account_disabled",
            EventType::AccountEnabled => "account_enabled",
            EventType::UserUpdatedByAdmin => "user_updated_by_admin",
            EventType::SessionsRevokedByAdmin => "sessions_revoked_by_admin",
            EventType::TotpEnabled => "totp_enabled",
            EventType::TotpDisabled => "totp_disabled",
            EventType::RecoveryCodesGenerated => "recovery_codes_generated",
            EventType::RecoveryCodeUsed => "recovery_code_used",
            EventType::PasskeyAdded => "passkey_added",
            EventType::PasskeyRenamed => "passkey_renamed",
            EventType::PasskeyRemoved => "passkey_removed",
            EventType::MfaChallenge => "mfa_challenge",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// Why a login failed, as the trail records it (the client is told only "Invalid email or
/// password.").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    /// No account has this address (the event has no user).
    UnknownAccount,
    InvalidPassword,
    /// The right password for an account that may not log in (inactive or not `active`).
    AccountDisabled,
    /// The right password for an unverified address while `REQUIRE_VERIFIED_EMAIL` is on.
    EmailNotVerified,
    /// A wrong, replayed or spent second factor (TOTP code, recovery code or passkey).
    InvalidSecondFactor,
}

impl LoginFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginFailure::UnknownAccount => "unknown_account",
            LoginFailure::InvalidPassword => "invalid_password",
            LoginFailure::AccountDisabled => "account_disabled",
            LoginFailure::EmailNotVerified => "email_not_verified",
            LoginFailure::InvalidSecondFactor => "invalid_second_factor",
        }
    }
}

/// One event, before the request's address and user agent are added to it.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    pub kind: EventType,
    pub outcome: Outcome,
    /// Whose account it concerns; `None` for a login with an unknown address.
    pub user_id: Option<i64>,
    /// Who acted, when it was not the user: a staff member through the admin API.
    pub actor_id: Option<i64>,
    pub session_id: Option<String>,
    /// Non-secret facts: a reason, the fields changed.
    pub detail: Option<Value>,
}

impl AuditEvent {
    pub fn success(kind: EventType, user_id: i64) -> AuditEvent {
        AuditEvent {
            kind,
            outcome: Outcome::Success,
            user_id: Some(user_id),
            actor_id: None,
            session_id: None,
            detail: None,
        }
    }

    pub fn failure(kind: EventType, user_id: Option<i64>) -> AuditEvent {
        AuditEvent { kind, outcome: Outcome::Failure, user_id, actor_id: None, session_id: None, detail: None }
    }

    /// A failed login, and why.
    pub fn login_failed(user_id: Option<i64>, why: LoginFailure) -> AuditEvent {
        AuditEvent::failure(EventType::Login, user_id).detail(json!({ "reason": why.as_str() }))
    }

    pub fn session(self, session_id: Option<&str>) -> AuditEvent {
        AuditEvent { session_id: session_id.map(str::to_owned), ..self }
    }

    pub fn actor(self, actor_id: i64) -> AuditEvent {
        AuditEvent { actor_id: Some(actor_id), ..self }
    }

    pub fn detail(self, detail: Value) -> AuditEvent {
        AuditEvent { detail: Some(detail), ..self }
    }
}

/// The longest user agent kept (a header can be kilobytes; the trail needs to recognise it).
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// Where a request came from, as the trail keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Source {
    /// From the `CF-Connecting-IP` and `User-Agent` headers; the user agent cut to
    /// `MAX_USER_AGENT_CHARS` characters.
    pub fn new(ip: Option<String>, user_agent: Option<String>) -> Source {
        let user_agent = user_agent.map(|agent| match agent.char_indices().nth(MAX_USER_AGENT_CHARS) {
            Some((end, _)) => agent[..end].to_owned(),
            None => agent,
        });
        Source { ip, user_agent }
    }
}

/// A stored event (a row of `auth_events`, read as JSON: a struct of its own would cost the worker
/// a deserialiser) as the API shows it. Its owner sees what happened, when, from where and in which
/// session; staff also see whose account it was and who acted (`for_staff`).
pub fn render(row: &Value, for_staff: bool) -> Value {
    let occurred_at = row["occurred_at"].as_i64().and_then(|secs| chrono::DateTime::from_timestamp(secs, 0));
    // From bytes, as every other JSON the worker reads: `from_str` would be a second copy of the
    // parser in the wasm.
    let detail = row["detail"].as_str().and_then(|text| serde_json::from_slice::<Value>(text.as_bytes()).ok());
    let mut event = json!({
        "id": row["id"],
        "type": row["type"],
        "outcome": row["outcome"],
        "occurred_at": occurred_at.map(timestamp),
        "ip": row["ip"],
        "user_agent": row["user_agent"],
        "session_id": row["session_id"],
        "detail": detail.unwrap_or_else(|| json!({})),
    });
    if for_staff {
        event["user_id"] = row["user_id"].clone();
        event["actor_id"] = row["actor_id"].clone();
    } else {
        // The owner learns that staff acted, not who.
        event["by_staff"] = json!(!row["actor_id"].is_null());
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Value {
        json!({
            "id": 7,
            "occurred_at": 1_767_225_600,
            "user_id": 42,
            "actor_id": 1,
            "type": "account_disabled",
            "outcome": "success",
            "session_id": null,
            "ip": "203.0.113.9",
            "user_agent": "curl/8",
            "detail": r#"{"fields":["is_active"]}"#,
        })
    }

    fn with(key: &str, value: Value) -> Value {
        let mut row = row();
        row[key] = value;
        row
    }

    #[test]
    fn every_event_type_has_its_own_snake_case_name() {
        let names: Vec<&str> = EventType::ALL.iter().map(|kind| kind.as_str()).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name}");
            assert!(!names[..i].contains(name), "{name} twice");
        }
    }

    #[test]
    fn the_openapi_document_names_every_event_type_and_no_other() {
        let document: Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
        let documented = &document["components"]["schemas"]["AuditEvent"]["properties"]["type"]["enum"];
        let documented: Vec<&str> = documented.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let served: Vec<&str> = EventType::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(documented, served);
    }

    #[test]
    fn a_failed_login_says_why_in_its_detail_and_may_have_no_user() {
        let event = AuditEvent::login_failed(None, LoginFailure::UnknownAccount);
        assert_eq!((event.kind, event.outcome, event.user_id), (EventType::Login, Outcome::Failure, None));
        assert_eq!(event.detail, Some(json!({"reason": "unknown_account"})));
    }

    #[test]
    fn the_owner_sees_that_staff_acted_but_not_who() {
        let shown = render(&row(), false);
        assert_eq!(shown["by_staff"], true);
        assert!(shown.get("actor_id").is_none() && shown.get("user_id").is_none());
        assert_eq!(shown["occurred_at"], "2026-01-01T00:00:00Z");
        assert_eq!(shown["detail"], json!({"fields": ["is_active"]}));
    }

    #[test]
    fn staff_see_whose_account_it_was_and_who_acted() {
        let shown = render(&row(), true);
        assert_eq!((shown["user_id"].clone(), shown["actor_id"].clone()), (json!(42), json!(1)));
        assert!(shown.get("by_staff").is_none());
    }

    #[test]
    fn a_missing_or_unreadable_detail_is_shown_as_an_empty_object() {
        let shown = render(&with("detail", json!("not json")), true);
        assert_eq!(shown["detail"], json!({}));
        assert_eq!(render(&with("detail", Value::Null), false)["detail"], json!({}));
        let by_the_owner = render(&with("actor_id", Value::Null), false);
        assert_eq!(by_the_owner["by_staff"], false);
        assert_eq!(by_the_owner["id"], 7);
        assert_eq!(by_the_owner["type"], "account_disabled");
    }

    #[test]
    fn long_user_agents_are_cut_on_a_character_boundary() {
        let source = Source::new(None, Some("é".repeat(300)));
        assert_eq!(source.user_agent.unwrap().chars().count(), MAX_USER_AGENT_CHARS);
        assert_eq!(Source::new(None, Some("ua".into())).user_agent.as_deref(), Some("ua"));
    }
}
