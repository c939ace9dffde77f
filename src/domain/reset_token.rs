//! Django's password-reset links: `PasswordResetTokenGenerator` tokens and the `uid` of
//! `urlsafe_base64_encode(force_bytes(pk))`, bit for bit, so that a link minted by Django during
//! a migration works here and the reverse (the reset flow of `app::recovery`).
//!
//! A token is `<timestamp in base 36>-<every other hex digit of an HMAC-SHA256>`, where the
//! timestamp counts seconds since 2001-01-01 and the HMAC (Django's `salted_hmac` with the key
//! salt below) covers the user's id, password hash, last login (to the second), that timestamp
//! and the email. It dies when any of those change (a new password, a login) or when it is older
//! than the timeout. Pure: the secret, the user's fields and the time come in.

use base64ct::{Base64UrlUnpadded, Encoding};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::tokens::hex;

/// Django's `PasswordResetTokenGenerator.key_salt`.
const KEY_SALT: &str = "django.contrib.auth.tokens.PasswordResetTokenGenerator";
/// Django refuses base 36 input longer than this (`base36_to_int`).
const MAX_BASE36_LEN: usize = 13;

/// The key reset tokens are made with: Django's `SECRET_KEY` when given (secret
/// `DJANGO_SECRET_KEY`: links minted by either side then work on the other), else a key of its
/// own derived from the signing key (never the signing key itself).
pub struct ResetSecret(Vec<u8>);

impl ResetSecret {
    pub fn new(django_secret_key: Option<String>, signing_key: &[u8]) -> ResetSecret {
        match django_secret_key {
            Some(key) => ResetSecret(key.into_bytes()),
            None => {
                let mut hash = Sha256::new();
                hash.update(b"edge-auth password reset v1\0");
                hash.update(signing_key);
                ResetSecret(hex(&hash.finalize()).into_bytes())
            }
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ResetSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetSecret(<redacted>)")
    }
}

/// What a reset token is bound to: the user's row as stored.
#[derive(Clone, Copy)]
pub struct ResetSubject<'a> {
    pub id: i64,
    pub password_hash: &'a str,
    /// `last_login` as stored (ISO 8601 UTC, `…Z`), `None` before the first login.
    pub last_login: Option<&'a str>,
    pub email: &'a str,
}

/// Seconds since 2001-01-01T00:00:00 UTC, Django's token clock (`_num_seconds(_now())`).
pub fn token_clock(now: DateTime<Utc>) -> i64 {
    let epoch = NaiveDate::from_ymd_opt(2001, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
    epoch.map_or(0, |epoch| (now - epoch).num_seconds())
}

/// The token Django's `_make_token_with_timestamp(user, timestamp, secret)` makes.
pub fn make_token(secret: &[u8], subject: &ResetSubject<'_>, timestamp: i64) -> String {
    let digest = salted_hmac(secret, hash_value(subject, timestamp).as_bytes());
    let every_other: String = hex(&digest).chars().step_by(2).collect();
    format!("{}-{every_other}", to_base36(timestamp))
}

/// Django's `check_token`: the token was made for this subject with one of `secrets` (the current
/// one first, then fallbacks), compared in constant time, and is at most `timeout_secs` old at
/// `now` (token clock seconds).
pub fn check_token(secrets: &[&[u8]], subject: &ResetSubject<'_>, token: &str, now: i64, timeout_secs: i64) -> bool {
    let mut parts = token.split('-');
    let (Some(ts_b36), Some(_), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some(timestamp) = from_base36(ts_b36) else {
        return false;
    };
    let made_with_one = secrets
        .iter()
        .any(|secret| bool::from(make_token(secret, subject, timestamp).as_bytes().ct_eq(token.as_bytes())));
    made_with_one && now - timestamp <= timeout_secs
}

/// The `uid` of a reset link: `urlsafe_base64_encode(force_bytes(pk))` (no padding).
pub fn encode_uid(id: i64) -> String {
    Base64UrlUnpadded::encode_string(id.to_string().as_bytes())
}

/// The user id a `uid` names, as Django's `urlsafe_base64_decode` + `int` read it (padding optional).
pub fn decode_uid(uid: &str) -> Option<i64> {
    let bytes = Base64UrlUnpadded::decode_vec(uid.trim_end_matches('=')).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let canonical = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if canonical {
        text.parse().ok()
    } else {
        None
    }
}

/// `f"{user.pk}{user.password}{login_timestamp}{timestamp}{email}"`, the last login truncated to
/// the second and written as Python writes a naive datetime (`2026-12-01 10:20:30`).
fn hash_value(subject: &ResetSubject<'_>, timestamp: i64) -> String {
    let login = subject
        .last_login
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| {
            // Written out rather than through chrono's `format`, whose strftime machinery would
            // add ~4 KB of gzipped wasm for this one line.
            let at = at.with_timezone(&Utc);
            let (date, time) = (at.date_naive(), at.time());
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                date.year(),
                date.month(),
                date.day(),
                time.hour(),
                time.minute(),
                time.second()
            )
        })
        .unwrap_or_default();
    format!("{}{}{login}{timestamp}{}", subject.id, subject.password_hash, subject.email)
}

/// Django's `salted_hmac(key_salt, value, secret, algorithm="sha256")`.
fn salted_hmac(secret: &[u8], value: &[u8]) -> [u8; 32] {
    let mut key = Sha256::new();
    key.update(KEY_SALT.as_bytes());
    key.update(secret);
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.finalize()).expect("HMAC accepts any key length");
    mac.update(value);
    mac.finalize().into_bytes().into()
}

fn to_base36(mut n: i64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n <= 0 {
        return "0".to_owned();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn from_base36(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > MAX_BASE36_LEN || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    i64::from_str_radix(text, 36).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"django-insecure-test-secret-key-0123456789";
    const HASH: &str = "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=";
    const THREE_DAYS: i64 = 259_200;

    fn ada() -> ResetSubject<'static> {
        ResetSubject {
            id: 1_000_000_007,
            password_hash: HASH,
            last_login: Some("2026-12-01T10:20:30.123456Z"),
            email: "ada@example.com",
        }
    }

    // Made by real Django 5.2.19 (tests/interop/.venv): PasswordResetTokenGenerator()
    // ._make_token_with_timestamp(user, timestamp, SECRET) and urlsafe_base64_encode(force_bytes(pk)).
    #[test]
    fn tokens_and_uids_are_the_ones_django_makes() {
        assert_eq!(make_token(SECRET, &ada(), 820_000_000), "dk7g1s-df741466014af0a54084ad3f4fc08aae");
        let grace = ResetSubject { id: 42, password_hash: HASH, last_login: None, email: "grace@example.com" };
        assert_eq!(make_token(SECRET, &grace, 819_000_000), "djm0g0-02b721e359f9a9620bc653196d0a6482");
        let blank =
            ResetSubject { id: 7, password_hash: "!unusable", last_login: Some("2025-01-02T03:04:05Z"), email: "" };
        assert_eq!(make_token(SECRET, &blank, 1), "1-cc0979ee779191261f5ca201f51e8994");
        assert_eq!(
            (encode_uid(1_000_000_007), encode_uid(42), encode_uid(7)),
            ("MTAwMDAwMDAwNw".into(), "NDI".into(), "Nw".into())
        );
        let midnight = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
        assert_eq!(token_clock(midnight), 817_862_400);
    }

    #[test]
    fn a_token_checks_until_it_expires_then_never_again() {
        let token = make_token(SECRET, &ada(), 820_000_000);
        assert!(check_token(&[SECRET], &ada(), &token, 820_000_000, THREE_DAYS));
        assert!(check_token(&[SECRET], &ada(), &token, 820_000_000 + THREE_DAYS, THREE_DAYS));
        assert!(!check_token(&[SECRET], &ada(), &token, 820_000_000 + THREE_DAYS + 1, THREE_DAYS));
    }

    #[test]
    fn a_new_password_a_login_or_a_new_email_kills_the_token() {
        let token = make_token(SECRET, &ada(), 820_000_000);
        let check = |subject: ResetSubject<'_>| check_token(&[SECRET], &subject, &token, 820_000_000, THREE_DAYS);
        assert!(!check(ResetSubject { password_hash: "pbkdf2_sha256$1000$other$x", ..ada() }));
        assert!(!check(ResetSubject { last_login: Some("2026-12-02T08:00:00Z"), ..ada() }));
        assert!(!check(ResetSubject { email: "eve@example.com", ..ada() }));
        assert!(!check(ResetSubject { id: 1_000_000_008, ..ada() }));
        // Microseconds are not part of it, as in Django.
        assert!(check(ResetSubject { last_login: Some("2026-12-01T10:20:30Z"), ..ada() }));
    }

    #[test]
    fn forged_or_malformed_tokens_are_refused() {
        let token = make_token(SECRET, &ada(), 820_000_000);
        let (ts, digest) = token.split_once('-').unwrap();
        let mut flipped = digest.to_owned().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let later_stamp = format!("{}-{digest}", to_base36(820_000_100));
        for forged in [
            format!("{ts}-{}", String::from_utf8(flipped).unwrap()),
            later_stamp,
            make_token(b"another-secret-key-0123456789abcdef", &ada(), 820_000_000),
            format!("{token}-x"),
            digest.to_owned(),
            format!("{}-{digest}", ts.to_uppercase()),
            format!("{}-{digest}", "z".repeat(14)),
            String::new(),
            "-".to_owned(),
        ] {
            assert!(!check_token(&[SECRET], &ada(), &forged, 820_000_000, THREE_DAYS), "{forged}");
        }
    }

    #[test]
    fn fallback_secrets_still_check_during_a_key_rotation() {
        let old = b"the-previous-secret-key-0123456789abcd";
        let token = make_token(old, &ada(), 820_000_000);
        assert!(!check_token(&[SECRET], &ada(), &token, 820_000_000, THREE_DAYS));
        assert!(check_token(&[SECRET, old.as_slice()], &ada(), &token, 820_000_000, THREE_DAYS));
    }

    #[test]
    fn the_reset_key_is_djangos_secret_key_when_given_else_one_of_its_own() {
        let signing = b"blackbox-signing-key-0123456789abcdefghij";
        let django = ResetSecret::new(Some("django-insecure-test-secret-key-0123456789".into()), signing);
        assert_eq!(django.as_bytes(), SECRET);
        let own = ResetSecret::new(None, signing);
        assert_ne!(own.as_bytes(), signing.as_slice());
        assert_eq!(own.as_bytes(), ResetSecret::new(None, signing).as_bytes());
        assert_ne!(own.as_bytes(), ResetSecret::new(None, b"another-signing-key-0123456789abcdef").as_bytes());
        assert!(!make_token(own.as_bytes(), &ada(), 820_000_000).is_empty());
        assert_eq!(format!("{django:?} {own:#?}"), "ResetSecret(<redacted>) ResetSecret(<redacted>)");
    }

    #[test]
    fn uids_decode_only_to_the_ids_django_would_read() {
        assert_eq!(decode_uid("MTAwMDAwMDAwNw"), Some(1_000_000_007));
        assert_eq!(decode_uid("NDI="), Some(42));
        for bad in [
            "",
            "!!!",
            &encode_uid(-1),
            &Base64UrlUnpadded::encode_string(b"4 2"),
            &Base64UrlUnpadded::encode_string(b"x"),
        ] {
            assert_eq!(decode_uid(bad), None, "{bad}");
        }
    }
}
