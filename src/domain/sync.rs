//! Running beside Django (issue 14): the signed events both sides exchange and the user record
//! they carry, free of storage and of the clock. The wire contract is
//! `integrations/django/PROTOCOL.md`; this module is its worker half.
//!
//! Every request between the two carries `Edge-Auth-Signature: t=<unix>,v1=<hex>`, the
//! HMAC-SHA256 (keyed by the shared secret) of `"<t>." + body`. A receiver refuses a signature
//! that does not match (compared in constant time) or whose `t` is more than `TOLERANCE_SECS`
//! away from its clock, and answers an event id it has seen before with 409.

use std::fmt;

use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::domain::email::Email;
use crate::domain::user::User;

/// The header both sides sign their requests with.
pub const SIGNATURE_HEADER: &str = "Edge-Auth-Signature";

/// How far a signature's `t` may be from the receiver's clock, either way.
pub const TOLERANCE_SECS: i64 = 300;

/// How long a receiver remembers the ids of the events it applied (PROTOCOL.md: at least 7 days).
pub const REMEMBER_IDS_SECS: i64 = 30 * 86_400;

/// Shortest shared secret accepted (`DJANGO_SYNC_SECRET`, Django's `EDGE_AUTH_SHARED_SECRET`).
pub const MIN_SECRET_CHARS: usize = 32;

/// The shared secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncSecret(Vec<u8>);

impl fmt::Debug for SyncSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SyncSecret(<redacted>)")
    }
}

impl SyncSecret {
    /// The secret, if long enough.
    pub fn new(text: &str) -> Option<SyncSecret> {
        (text.chars().count() >= MIN_SECRET_CHARS).then(|| SyncSecret(text.as_bytes().to_vec()))
    }

    fn mac(&self, t: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `Edge-Auth-Signature` value for `body` sent at `t`.
    pub fn sign(&self, t: i64, body: &[u8]) -> String {
        let digest = self.mac(t, body).finalize().into_bytes();
        format!("t={t},v1={}", crate::domain::tokens::hex(&digest))
    }

    /// Checks a received `Edge-Auth-Signature` against `body` at `now`.
    pub fn verify(&self, header: Option<&str>, body: &[u8], now: i64) -> Result<(), SignatureError> {
        let (t, v1) = parse_header(header.ok_or(SignatureError::Invalid)?).ok_or(SignatureError::Invalid)?;
        // The MAC first, so a forged header learns nothing from the clock check.
        self.mac(t, body).verify_slice(&v1).map_err(|_| SignatureError::Invalid)?;
        if (now - t).abs() > TOLERANCE_SECS {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

/// Why a signed request was refused (both 401).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// Missing, malformed, or not made with the shared secret over this body.
    Invalid,
    /// Made with the secret, but too long ago (or too far ahead): a replay or a skewed clock.
    Expired,
}

impl SignatureError {
    pub fn detail(self) -> &'static str {
        match self {
            SignatureError::Invalid => "Invalid signature.",
            SignatureError::Expired => "Signature expired.",
        }
    }
}

/// `t=<unix>,v1=<64 hex>` → (t, the 32 MAC bytes). Exactly one of each, nothing else.
fn parse_header(header: &str) -> Option<(i64, Vec<u8>)> {
    let (mut t, mut v1) = (None, None);
    for part in header.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        let slot = match name {
            "t" => &mut t,
            "v1" => &mut v1,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    let t = t?;
    if t.is_empty() || t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v1 = v1?;
    if v1.len() != 64 {
        return None;
    }
    let mac = (0..64)
        .step_by(2)
        .map(|i| v1.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect::<Option<Vec<u8>>>()?;
    Some((t.parse().ok()?, mac))
}

/// What an event says happened (PROTOCOL.md, "Types").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    UserCreated,
    UserUpdated,
    PasswordChanged,
    Deactivated,
    SessionsRevoked,
    SessionRevoked,
    TokenRevoked,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::UserCreated,
        Kind::UserUpdated,
        Kind::PasswordChanged,
        Kind::Deactivated,
        Kind::SessionsRevoked,
        Kind::SessionRevoked,
        Kind::TokenRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::UserCreated => "user.created",
            Kind::UserUpdated => "user.updated",
            Kind::PasswordChanged => "user.password_changed",
            Kind::Deactivated => "user.deactivated",
            Kind::SessionsRevoked => "user.sessions_revoked",
            Kind::SessionRevoked => "session.revoked",
            Kind::TokenRevoked => "token.revoked",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// Why a refresh token died, as `token.revoked` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Consumed by a refresh: its successor lives on.
    Rotated,
    /// Logged out: its session ends with it.
    Logout,
    /// Died with its session (reuse, logout-all, a password change or reset).
    Revoked,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Rotated => "rotated",
            Reason::Logout => "logout",
            Reason::Revoked => "revoked",
        }
    }
}

/// One event, as applied by the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// `user.created` / `user.updated`: the user as the sender has it, and which of the optional
    /// keys (`OPTIONAL_USER_KEYS`) it sent: the others keep the receiver's value on an update.
    User {
        user: Box<User>,
        sent: Vec<&'static str>,
    },
    PasswordChanged {
        user_id: i64,
        password: String,
    },
    Deactivated {
        user_id: i64,
    },
    SessionsRevoked {
        user_id: i64,
        before: i64,
        except_sid: Option<String>,
    },
    SessionRevoked {
        user_id: i64,
        sid: String,
    },
    TokenRevoked {
        user_id: i64,
        jti: String,
        expires_at: i64,
        sid: Option<String>,
        reason: Reason,
    },
}

impl Change {
    /// The user the event is about.
    pub fn user_id(&self) -> i64 {
        match self {
            Change::User { user, .. } => user.id,
            Change::PasswordChanged { user_id, .. }
            | Change::Deactivated { user_id }
            | Change::SessionsRevoked { user_id, .. }
            | Change::SessionRevoked { user_id, .. }
            | Change::TokenRevoked { user_id, .. } => *user_id,
        }
    }
}

/// A received event: its id (for the duplicate check) and what it says.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: String,
    pub kind: Kind,
    pub change: Change,
}

/// Why an event cannot be applied (400 `{"detail": …}`, never retried by the sender).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadEvent(pub String);

fn bad(what: impl Into<String>) -> BadEvent {
    BadEvent(what.into())
}

/// `<prefix><name><rest>`: a message naming a field (no `format!`: a share of wasm per message).
fn bad_field(prefix: &str, name: &str, rest: &str) -> BadEvent {
    BadEvent([prefix, name, rest].concat())
}

/// An event id: 32 lowercase hex, like a `jti`.
fn is_event_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Event {
    /// Reads a received event's body (after its signature was checked).
    pub fn parse(body: &[u8]) -> Result<Event, BadEvent> {
        let value: Value = serde_json::from_slice(body).map_err(|_| bad("The body is not JSON."))?;
        let object = value.as_object().ok_or_else(|| bad("An event is a JSON object."))?;
        let id = object.get("id").and_then(Value::as_str).filter(|id| is_event_id(id));
        let id = id.ok_or_else(|| bad("An event needs an id of 32 lowercase hex digits."))?.to_owned();
        let name = object.get("type").and_then(Value::as_str).unwrap_or_default();
        let kind = Kind::parse(name).ok_or_else(|| bad("Unknown event type."))?;
        let data = object.get("data").and_then(Value::as_object).ok_or_else(|| bad("An event needs a data object."))?;
        let fields = Fields(data);
        let change = match kind {
            Kind::UserCreated | Kind::UserUpdated => {
                let record = fields.object("user")?;
                Change::User { user: Box::new(user_from_record(record)?), sent: sent_keys(record) }
            }
            Kind::PasswordChanged => {
                Change::PasswordChanged { user_id: fields.id("user_id")?, password: fields.text("password")? }
            }
            Kind::Deactivated => Change::Deactivated { user_id: fields.id("user_id")? },
            Kind::SessionsRevoked => Change::SessionsRevoked {
                user_id: fields.id("user_id")?,
                before: fields.int("before")?,
                except_sid: fields.optional_text("except_sid")?,
            },
            Kind::SessionRevoked => Change::SessionRevoked { user_id: fields.id("user_id")?, sid: fields.text("sid")? },
            Kind::TokenRevoked => Change::TokenRevoked {
                user_id: fields.id("user_id")?,
                jti: fields.text("jti")?,
                expires_at: fields.int("exp")?,
                sid: fields.optional_text("sid")?,
                reason: match fields.text("reason")?.as_str() {
                    "rotated" => Reason::Rotated,
                    "logout" => Reason::Logout,
                    "revoked" => Reason::Revoked,
                    _ => return Err(bad("Unknown reason in data.reason.")),
                },
            },
        };
        Ok(Event { id, kind, change })
    }
}

/// An event's `data`, read field by field with a message naming the field.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn int(&self, name: &str) -> Result<i64, BadEvent> {
        self.0.get(name).and_then(Value::as_i64).ok_or_else(|| bad_field("data.", name, " must be an integer."))
    }

    fn id(&self, name: &str) -> Result<i64, BadEvent> {
        Some(self.int(name)?)
            .filter(|id| *id > 0)
            .ok_or_else(|| bad_field("data.", name, " must be a positive integer."))
    }

    fn text(&self, name: &str) -> Result<String, BadEvent> {
        self.0
            .get(name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| bad_field("data.", name, " must be a non-empty string."))
    }

    fn optional_text(&self, name: &str) -> Result<Option<String>, BadEvent> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.text(name).map(Some),
        }
    }

    fn object(&self, name: &str) -> Result<&Map<String, Value>, BadEvent> {
        self.0.get(name).and_then(Value::as_object).ok_or_else(|| bad_field("data.", name, " must be an object."))
    }
}

/// A new event of ours, as sent: `{"id", "type", "occurred_at", "source": "edge-auth", "data"}`,
/// written out (the request body, as signed).
pub fn envelope(id: &str, kind: Kind, occurred_at: i64, data: &str) -> String {
    let (id, kind) = (Value::from(id), kind.as_str());
    format!(r#"{{"id":{id},"type":"{kind}","occurred_at":{occurred_at},"source":"edge-auth","data":{data}}}"#)
}

/// The user record of PROTOCOL.md: every field the worker has.
pub fn user_record(user: &User) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "password": user.password,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "uuid": user.uuid,
        "phone_number": user.phone_number,
        "phone_number_verified": user.phone_number_verified,
        "timezone": user.timezone,
        "is_practitioner": user.is_practitioner,
        "account_status": user.account_status,
        "email_verified": user.email_verified,
    })
}

/// A user record from Django (a lookup's answer or a user event). The eleven required keys must be
/// there; the spec's profile fields a Django model may lack take the worker's defaults (a missing
/// `uuid` is left empty: the caller generates one). The email is taken as sent: the caller folds it.
pub fn user_from_record(record: &Map<String, Value>) -> Result<User, BadEvent> {
    let fields = Fields(record);
    let flag = |name: &str, default: bool| -> Result<bool, BadEvent> {
        match record.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(value)) => Ok(*value),
            Some(_) => Err(bad_field("user.", name, " must be a boolean.")),
        }
    };
    let required_flag = |name: &str| -> Result<bool, BadEvent> {
        record.get(name).and_then(Value::as_bool).ok_or_else(|| bad_field("user.", name, " must be a boolean."))
    };
    let text = |name: &str| -> Result<String, BadEvent> {
        record
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad_field("user.", name, " must be a string."))
    };
    let optional = |name: &str| -> Result<Option<String>, BadEvent> {
        match record.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(bad_field("user.", name, " must be a string or null.")),
        }
    };
    let or_default = |name: &str, default: &str| -> Result<String, BadEvent> {
        Ok(optional(name)?.filter(|text| !text.is_empty()).unwrap_or_else(|| default.to_owned()))
    };
    let user = User {
        id: fields.id("id").map_err(|_| bad("user.id must be a positive integer."))?,
        uuid: optional("uuid")?.unwrap_or_default(),
        email: text("email")?,
        password: text("password")?,
        first_name: text("first_name")?,
        last_name: text("last_name")?,
        phone_number: optional("phone_number")?,
        phone_number_verified: flag("phone_number_verified", false)?,
        timezone: or_default("timezone", "UTC")?,
        is_practitioner: flag("is_practitioner", false)?,
        account_status: or_default("account_status", "active")?,
        last_login: optional("last_login")?,
        date_joined: text("date_joined")?,
        is_active: required_flag("is_active")?,
        is_staff: required_flag("is_staff")?,
        is_superuser: required_flag("is_superuser")?,
        email_verified: flag("email_verified", false)?,
    };
    if user.email.is_empty() || user.password.is_empty() {
        return Err(bad("user.email and user.password must not be empty."));
    }
    Ok(user)
}

/// The keys of a user record a sender's model may lack (PROTOCOL.md: "The rest"), each the
/// `users` column of the same name.
pub const OPTIONAL_USER_KEYS: [&str; 7] = [
    "uuid",
    "phone_number",
    "phone_number_verified",
    "timezone",
    "is_practitioner",
    "account_status",
    "email_verified",
];

/// The optional keys a record carries with a value (`phone_number` may be `null`: no phone).
fn sent_keys(record: &Map<String, Value>) -> Vec<&'static str> {
    OPTIONAL_USER_KEYS
        .into_iter()
        .filter(|key| match record.get(*key) {
            None => false,
            Some(Value::Null) => *key == "phone_number",
            Some(Value::String(text)) => !text.is_empty() || *key == "phone_number",
            Some(_) => true,
        })
        .collect()
}

/// A received user in the worker's spellings: the email folded as every way in folds it
/// (`Email::parse`), the uuid hyphenated in lower case (left empty when none was sent: the caller
/// makes one for a new user).
pub fn normalize_user(user: &mut User) -> Result<(), BadEvent> {
    user.email =
        Email::parse(user.email.trim()).map_err(|_| bad("user.email is not a valid email address."))?.into_string();
    if !user.uuid.is_empty() {
        // Django's `str(uuid)`: 8-4-4-4-12 hex digits (checked here: the uuid crate's parser costs
        // 1.3 KB of wasm).
        let hyphen = |i: usize| matches!(i, 8 | 13 | 18 | 23);
        let valid = user.uuid.len() == 36
            && user.uuid.bytes().enumerate().all(|(i, b)| if hyphen(i) { b == b'-' } else { b.is_ascii_hexdigit() });
        if !valid {
            return Err(bad("user.uuid is not a UUID."));
        }
        user.uuid.make_ascii_lowercase();
    }
    Ok(())
}

/// The cut-off `user.sessions_revoked` moves the user's to: `before`, never past the receiver's
/// clock, nor further back than the longest token lifetime (older tokens are expired anyway).
pub fn cut_off(before: i64, now: i64, longest_lifetime_secs: i64) -> i64 {
    before.min(now).max(now.saturating_sub(longest_lifetime_secs))
}

/// An event of ours before it is sent: its type and its data, written out (`envelope` adds id,
/// time and source). Written with `format!`, not built as a `Value`: less wasm.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub kind: Kind,
    pub data: String,
}

impl Outgoing {
    /// `user.created`: a user registered here.
    pub fn user_created(user: &User) -> Outgoing {
        Outgoing { kind: Kind::UserCreated, data: format!(r#"{{"user":{}}}"#, user_record(user)) }
    }

    /// `user.updated`: a user's profile, verified or changed address.
    pub fn user_updated(user: &User) -> Outgoing {
        Outgoing { kind: Kind::UserUpdated, data: format!(r#"{{"user":{}}}"#, user_record(user)) }
    }

    /// `user.password_changed`: the new hash (changed or reset here).
    pub fn password_changed(user_id: i64, password: &str) -> Outgoing {
        let password = Value::from(password);
        Outgoing { kind: Kind::PasswordChanged, data: format!(r#"{{"user_id":{user_id},"password":{password}}}"#) }
    }

    /// `user.sessions_revoked`: every token of the user issued before `before` is dead, except
    /// those of session `except_sid`.
    pub fn sessions_revoked(user_id: i64, before: i64, except_sid: Option<&str>) -> Outgoing {
        let except = Value::from(except_sid);
        let data = format!(r#"{{"user_id":{user_id},"before":{before},"except_sid":{except}}}"#);
        Outgoing { kind: Kind::SessionsRevoked, data }
    }

    /// `session.revoked`: a session of the worker ended.
    pub fn session_revoked(user_id: i64, sid: &str) -> Outgoing {
        let sid = Value::from(sid);
        Outgoing { kind: Kind::SessionRevoked, data: format!(r#"{{"user_id":{user_id},"sid":{sid}}}"#) }
    }

    /// `token.revoked`: a refresh token died here.
    pub fn token_revoked(user_id: i64, jti: &str, expires_at: i64, sid: Option<&str>, reason: Reason) -> Outgoing {
        let (jti, sid, reason) = (Value::from(jti), Value::from(sid), reason.as_str());
        let data = format!(r#"{{"user_id":{user_id},"jti":{jti},"exp":{expires_at},"sid":{sid},"reason":"{reason}"}}"#);
        Outgoing { kind: Kind::TokenRevoked, data }
    }
}

/// The user a lookup's `200 {"user": <user>}` carries, as the worker would store it: its address
/// read by the worker's email rules (`domain::email`). Refused when the record is not one, or its
/// address is not one the worker accepts or not the address looked up (`looked_up`, already in
/// the worker's spelling): the account would be another person's. The reasons name no address.
pub fn looked_up_user(body: &[u8], looked_up: &str) -> Result<User, BadEvent> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| bad("The answer is not JSON."))?;
    let record = answer.get("user").and_then(Value::as_object).ok_or_else(|| bad("The answer has no user."))?;
    let mut user = user_from_record(record)?;
    let email = Email::parse(user.email.trim()).map_err(|_| bad("Its address is not one the worker accepts."))?;
    if email.as_str() != looked_up {
        return Err(bad("Its address is not the one looked up."));
    }
    user.email = email.into_string();
    Ok(user)
}

/// The longest delay the Queues platform accepts for a retry (12 hours).
pub const MAX_RETRY_DELAY_SECS: i64 = 43_200;

/// What the Queue consumer does with an event after one delivery to the companion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Applied, or received before (200, 409; any 2xx): acknowledged.
    Delivered,
    /// 400: not an event the companion can apply. Retrying cannot help: logged, acknowledged.
    Refused,
    /// Anything else, after this many seconds: no answer or 5xx (Django down), and 401, 403,
    /// 404 (a secret or URL an operator must fix: the event waits for it, then dead-letters).
    RetryIn(u32),
}

impl Delivery {
    /// `status` is the companion's answer (`None`: none, unreachable or timed out); `attempts`
    /// counts this delivery (1 for the first); `max_delay_secs` is `SYNC_RETRY_MAX_DELAY_SECS`.
    pub fn after(status: Option<u16>, attempts: u32, max_delay_secs: i64) -> Delivery {
        match status {
            Some(200..=299 | 409) => Delivery::Delivered,
            Some(400) => Delivery::Refused,
            _ => Delivery::RetryIn(retry_delay_secs(attempts, max_delay_secs)),
        }
    }
}

/// 2^attempts seconds, at most `max_delay_secs` (and the platform's limit).
pub fn retry_delay_secs(attempts: u32, max_delay_secs: i64) -> u32 {
    let doubled = if attempts < 31 { 1i64 << attempts } else { i64::MAX };
    doubled.min(max_delay_secs.clamp(0, MAX_RETRY_DELAY_SECS)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-shared-secret-of-at-least-32-characters";
    const BODY: &[u8] = br#"{"id":"0123456789abcdef0123456789abcdef"}"#;

    fn secret() -> SyncSecret {
        SyncSecret::new(SECRET).unwrap()
    }

    #[test]
    fn a_secret_shorter_than_32_characters_is_refused() {
        assert!(SyncSecret::new(&"x".repeat(31)).is_none());
        assert!(SyncSecret::new(&"x".repeat(32)).is_some());
        assert_eq!(format!("{:?}", secret()), "SyncSecret(<redacted>)");
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body() {
        // Python: hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
        let header = secret().sign(1_700_000_000, BODY);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(b"1700000000.");
        mac.update(BODY);
        let expected = crate::domain::tokens::hex(&mac.finalize().into_bytes());
        assert_eq!(header, format!("t=1700000000,v1={expected}"));
        assert_eq!(secret().verify(Some(&header), BODY, 1_700_000_000), Ok(()));
    }

    #[test]
    fn a_signature_is_refused_when_anything_was_tampered_with() {
        let now = 1_700_000_000;
        let header = secret().sign(now, BODY);
        let other = SyncSecret::new("another-shared-secret-of-32-characters!").unwrap();
        let invalid = Err(SignatureError::Invalid);
        // Another body, another secret, another timestamp under the same MAC.
        assert_eq!(secret().verify(Some(&header), br#"{"id":"0123456789abcdef0123456789abcdee"}"#, now), invalid);
        assert_eq!(other.verify(Some(&header), BODY, now), invalid);
        assert_eq!(secret().verify(Some(&header.replace("t=1700000000", "t=1700000001")), BODY, now), invalid);
        // A flipped MAC digit, upper-case hex, a truncated MAC.
        let flipped = format!("{}{}", &header[..header.len() - 1], if header.ends_with('0') { '1' } else { '0' });
        assert_eq!(secret().verify(Some(&flipped), BODY, now), invalid);
        assert_eq!(secret().verify(Some(&header[..header.len() - 2]), BODY, now), invalid);
        // Missing, empty, malformed headers.
        for header in [None, Some(""), Some("v1=00"), Some("t=1700000000"), Some("t=abc,v1=00"), Some("garbage")] {
            assert_eq!(secret().verify(header, BODY, now), invalid, "{header:?}");
        }
        // Repeated or unknown parts.
        let twice = format!("{header},t={now}");
        assert_eq!(secret().verify(Some(&twice), BODY, now), invalid);
        let extra = format!("{header},v0=00");
        assert_eq!(secret().verify(Some(&extra), BODY, now), invalid);
        let negative = secret().sign(-5, BODY);
        assert_eq!(secret().verify(Some(&negative), BODY, -5), invalid);
    }

    #[test]
    fn a_signature_older_or_newer_than_the_tolerance_is_expired() {
        let t = 1_700_000_000;
        let header = secret().sign(t, BODY);
        assert_eq!(secret().verify(Some(&header), BODY, t + TOLERANCE_SECS), Ok(()));
        assert_eq!(secret().verify(Some(&header), BODY, t - TOLERANCE_SECS), Ok(()));
        assert_eq!(secret().verify(Some(&header), BODY, t + TOLERANCE_SECS + 1), Err(SignatureError::Expired));
        assert_eq!(secret().verify(Some(&header), BODY, t - TOLERANCE_SECS - 1), Err(SignatureError::Expired));
    }

    fn record() -> Value {
        json!({
            "id": 42, "email": "Ann@Example.com", "password": "pbkdf2_sha256$1000000$salt$hash",
            "first_name": "Ann", "last_name": "Lee", "is_active": true, "is_staff": false,
            "is_superuser": false, "date_joined": "2024-01-01T10:00:00Z", "last_login": null
        })
    }

    fn event(kind: &str, data: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": "0123456789abcdef0123456789abcdef", "type": kind, "occurred_at": 1_700_000_000,
            "source": "django", "data": data
        }))
        .unwrap()
    }

    #[test]
    fn a_django_user_record_takes_defaults_for_the_fields_its_model_lacks() {
        let user = user_from_record(record().as_object().unwrap()).unwrap();
        assert_eq!((user.id, user.email.as_str(), user.timezone.as_str()), (42, "Ann@Example.com", "UTC"));
        assert_eq!((user.account_status.as_str(), user.uuid.as_str()), ("active", ""));
        assert!(user.is_active && !user.is_practitioner && !user.email_verified);
        assert_eq!(user_from_record(user_record(&user).as_object().unwrap()), Ok(user));
    }

    #[test]
    fn a_user_record_reads_back_whatever_its_fields_hold() {
        let mut user = user_from_record(record().as_object().unwrap()).unwrap();
        user.first_name = "Ann \"Nan\" \\ Lee\n</script>".into();
        user.last_name = "Lé ✓".into();
        user.last_login = Some("2024-01-02T03:04:05Z".into());
        user.phone_number = Some("+15550100".into());
        user.is_staff = true;
        let record: Value = serde_json::from_str(&Outgoing::user_updated(&user).data).unwrap();
        assert_eq!(record["user"].as_object().unwrap().len(), 17);
        assert_eq!(user_from_record(record["user"].as_object().unwrap()), Ok(user));
    }

    #[test]
    fn a_user_record_missing_or_mistyping_a_required_field_is_a_bad_event() {
        for (key, value) in [
            ("id", json!(0)),
            ("id", json!("42")),
            ("email", Value::Null),
            ("password", json!("")),
            ("is_active", json!(1)),
            ("date_joined", json!(null)),
            ("phone_number", json!(5)),
        ] {
            let mut record = record();
            record[key] = value.clone();
            assert!(user_from_record(record.as_object().unwrap()).is_err(), "{key} = {value}");
        }
    }

    #[test]
    fn every_event_type_parses_and_anything_else_is_a_bad_event() {
        let parsed = |kind: &str, data: Value| Event::parse(&event(kind, data));
        assert!(matches!(parsed("user.created", json!({ "user": record() })).unwrap().change, Change::User { .. }));
        assert_eq!(parsed("user.updated", json!({ "user": record() })).unwrap().kind, Kind::UserUpdated);
        assert_eq!(
            parsed("user.password_changed", json!({ "user_id": 42, "password": "argon2$x" })).unwrap().change,
            Change::PasswordChanged { user_id: 42, password: "argon2$x".into() }
        );
        assert_eq!(
            parsed("user.deactivated", json!({ "user_id": 42 })).unwrap().change,
            Change::Deactivated { user_id: 42 }
        );
        assert_eq!(
            parsed("user.sessions_revoked", json!({ "user_id": 42, "before": 1_700_000_000, "except_sid": null }))
                .unwrap()
                .change,
            Change::SessionsRevoked { user_id: 42, before: 1_700_000_000, except_sid: None }
        );
        assert_eq!(
            parsed("session.revoked", json!({ "user_id": 42, "sid": "ab" })).unwrap().change,
            Change::SessionRevoked { user_id: 42, sid: "ab".into() }
        );
        assert_eq!(
            parsed("token.revoked", json!({ "user_id": 42, "jti": "j", "exp": 9, "sid": "s", "reason": "logout" }))
                .unwrap()
                .change,
            Change::TokenRevoked {
                user_id: 42,
                jti: "j".into(),
                expires_at: 9,
                sid: Some("s".into()),
                reason: Reason::Logout
            }
        );
        for (kind, data) in [
            ("user.exploded", json!({ "user_id": 42 })),
            ("user.deactivated", json!({ "user_id": "42" })),
            ("user.deactivated", json!({})),
            ("token.revoked", json!({ "user_id": 42, "jti": "j", "exp": 9, "reason": "lost" })),
            ("user.password_changed", json!({ "user_id": 42, "password": "" })),
            ("user.created", json!({ "user": "nope" })),
        ] {
            assert!(parsed(kind, data.clone()).is_err(), "{kind} {data}");
        }
        assert!(Event::parse(b"not json").is_err());
        assert!(Event::parse(b"[]").is_err());
        let bad_id = serde_json::to_vec(&json!({ "id": "ABC", "type": "user.deactivated", "data": { "user_id": 1 } }));
        assert!(Event::parse(&bad_id.unwrap()).is_err());
    }

    #[test]
    fn a_user_event_says_which_optional_keys_it_carried() {
        let sent = |extra: Value| {
            let mut record = record();
            record.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            match Event::parse(&event("user.updated", json!({ "user": record }))).unwrap().change {
                Change::User { sent, .. } => sent,
                other => panic!("{other:?}"),
            }
        };
        // A Django model with none of the spec's fields: an update keeps the worker's values.
        assert!(sent(json!({})).is_empty());
        // A phone number sent as null is a value (no phone); a null flag or an empty uuid is not.
        assert_eq!(sent(json!({ "phone_number": null, "email_verified": null, "uuid": "" })), vec!["phone_number"]);
        assert_eq!(
            sent(json!({ "timezone": "Europe/Paris", "email_verified": false, "is_practitioner": true })),
            vec!["timezone", "is_practitioner", "email_verified"]
        );
        assert_eq!(sent(user_record(&user_from_record(record().as_object().unwrap()).unwrap())).len(), 6);
    }

    #[test]
    fn a_received_user_is_spelt_as_the_worker_spells_users() {
        let mut user = user_from_record(record().as_object().unwrap()).unwrap();
        user.email = " Ann@ＥＸＡＭＰＬＥ.com ".into();
        user.uuid = "550E8400-E29B-41D4-A716-446655440000".into();
        normalize_user(&mut user).unwrap();
        assert_eq!(user.email, "ann@example.com");
        assert_eq!(user.uuid, "550e8400-e29b-41d4-a716-446655440000");
        // No uuid sent: left for the caller to make.
        let mut user = user_from_record(record().as_object().unwrap()).unwrap();
        normalize_user(&mut user).unwrap();
        assert_eq!(user.uuid, "");
        for (email, uuid) in [
            ("\"ann\"@example.com", ""),
            ("not-an-address", ""),
            ("a@example.com", "42"),
            ("a@example.com", "550e8400e29b41d4a716446655440000"),
            ("a@example.com", "550e8400-e29b-41d4-a716-44665544000g"),
            ("a@example.com", "550e8400-e29b-41d4-a716+446655440000"),
        ] {
            let mut user = user_from_record(record().as_object().unwrap()).unwrap();
            (user.email, user.uuid) = (email.into(), uuid.into());
            assert!(normalize_user(&mut user).is_err(), "{email} {uuid}");
        }
    }

    #[test]
    fn the_cut_off_is_before_but_never_in_the_future_nor_older_than_any_token() {
        let now = 1_700_000_000;
        assert_eq!(cut_off(now - 5, now, 604_800), now - 5);
        assert_eq!(cut_off(now + 3_600, now, 604_800), now);
        assert_eq!(cut_off(0, now, 604_800), now - 604_800);
    }

    #[test]
    fn every_change_names_its_user() {
        let user = user_from_record(record().as_object().unwrap()).unwrap();
        assert_eq!(Change::User { user: Box::new(user), sent: Vec::new() }.user_id(), 42);
        assert_eq!(Change::SessionRevoked { user_id: 7, sid: "s".into() }.user_id(), 7);
    }

    #[test]
    fn an_event_of_ours_names_its_source_and_type() {
        let sent = envelope("0123456789abcdef0123456789abcdef", Kind::SessionRevoked, 5, r#"{"sid":"s\""}"#);
        let sent: Value = serde_json::from_str(&sent).unwrap();
        assert_eq!(sent["id"], "0123456789abcdef0123456789abcdef");
        assert_eq!(sent["data"], json!({ "sid": "s\"" }));
        assert_eq!(sent["type"], "session.revoked");
        assert_eq!(sent["source"], "edge-auth");
        assert_eq!(sent["occurred_at"], 5);
    }

    #[test]
    fn our_events_carry_the_data_protocol_md_names() {
        let data = |event: &Outgoing| serde_json::from_str::<Value>(&event.data).unwrap();
        let user = user_from_record(record().as_object().unwrap()).unwrap();
        let created = Outgoing::user_created(&user);
        assert_eq!((created.kind, &data(&created)["user"]), (Kind::UserCreated, &user_record(&user)));
        assert_eq!(data(&created)["user"]["password"], "pbkdf2_sha256$1000000$salt$hash");
        assert_eq!(Outgoing::user_updated(&user).kind, Kind::UserUpdated);
        let changed = Outgoing::password_changed(42, "argon2$new\"quoted\"");
        assert_eq!(data(&changed), json!({ "user_id": 42, "password": "argon2$new\"quoted\"" }));
        let all = Outgoing::sessions_revoked(42, 1_700_000_000, None);
        assert_eq!(data(&all), json!({ "user_id": 42, "before": 1_700_000_000, "except_sid": null }));
        let but_one = Outgoing::sessions_revoked(42, 1_700_000_000, Some("kept"));
        assert_eq!(data(&but_one)["except_sid"], "kept");
        assert_eq!(data(&Outgoing::session_revoked(42, "s1")), json!({ "user_id": 42, "sid": "s1" }));
        let token = Outgoing::token_revoked(42, "j1", 9, Some("s1"), Reason::Logout);
        assert_eq!(data(&token), json!({ "user_id": 42, "jti": "j1", "exp": 9, "sid": "s1", "reason": "logout" }));
        assert_eq!(data(&Outgoing::token_revoked(42, "j1", 9, None, Reason::Rotated))["sid"], Value::Null);
    }

    #[test]
    fn every_event_we_send_is_one_the_receiving_half_of_the_protocol_reads_back() {
        let user = user_from_record(record().as_object().unwrap()).unwrap();
        let sent = [
            Outgoing::user_created(&user),
            Outgoing::user_updated(&user),
            Outgoing::password_changed(42, "argon2$new"),
            Outgoing::sessions_revoked(42, 5, Some("kept")),
            Outgoing::session_revoked(42, "s1"),
            Outgoing::token_revoked(42, "j1", 9, None, Reason::Revoked),
        ];
        for event in sent {
            let body = envelope("0123456789abcdef0123456789abcdef", event.kind, 5, &event.data);
            assert_eq!(Event::parse(body.as_bytes()).map(|parsed| parsed.kind), Ok(event.kind));
        }
    }

    #[test]
    fn a_looked_up_user_is_imported_with_its_address_in_the_worker_s_spelling() {
        let answer = json!({ "user": record() }).to_string();
        let user = looked_up_user(answer.as_bytes(), "ann@example.com").unwrap();
        assert_eq!((user.id, user.email.as_str()), (42, "ann@example.com"));
        assert_eq!(user.password, "pbkdf2_sha256$1000000$salt$hash");
    }

    #[test]
    fn a_looked_up_user_is_refused_when_its_address_is_unusable_or_another_one() {
        let answer = |email: &str| {
            let mut record = record();
            record["email"] = json!(email);
            json!({ "user": record }).to_string()
        };
        for (email, looked_up) in [
            ("not an address", "ann@example.com"),
            ("\"ann\"@example.com", "ann@example.com"),
            ("bob@example.com", "ann@example.com"),
            ("ann@example.com.evil.test", "ann@example.com"),
        ] {
            let refused = looked_up_user(answer(email).as_bytes(), looked_up).unwrap_err();
            // The reason is logged: it never names the address.
            assert!(!refused.0.contains('@'), "{email}: {}", refused.0);
        }
        for body in ["", "[]", "{}", r#"{"user": null}"#, r#"{"user": {"id": 42}}"#] {
            assert!(looked_up_user(body.as_bytes(), "ann@example.com").is_err(), "{body}");
        }
    }

    #[test]
    fn a_delivery_is_done_on_200_or_409_dropped_on_400_and_retried_otherwise() {
        assert_eq!(Delivery::after(Some(200), 1, 300), Delivery::Delivered);
        assert_eq!(Delivery::after(Some(409), 7, 300), Delivery::Delivered);
        assert_eq!(Delivery::after(Some(400), 1, 300), Delivery::Refused);
        // A secret or URL to fix, Django down or overloaded, no answer at all: retried.
        for status in [Some(401), Some(403), Some(404), Some(429), Some(500), Some(502), Some(503), None] {
            assert_eq!(Delivery::after(status, 1, 300), Delivery::RetryIn(2), "{status:?}");
        }
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_configured_maximum() {
        let delays: Vec<u32> = (1..=10).map(|attempts| retry_delay_secs(attempts, 300)).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(retry_delay_secs(100, 300), 300);
        assert_eq!(retry_delay_secs(u32::MAX, i64::MAX), MAX_RETRY_DELAY_SECS as u32);
        assert_eq!(retry_delay_secs(3, 0), 0);
        assert_eq!(retry_delay_secs(0, 300), 1);
    }
}
