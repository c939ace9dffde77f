//! Account recovery and verified email, as pure rules: the forms of dj-rest-auth's password reset
//! and verification endpoints and of the email change, and the single-use keys mailed for them.
//! The reset *token* is Django's (`reset_token`); the verification key is ours: random, mailed
//! once, stored only as its SHA-256.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::fields::{FieldErrors, Form, Text};
use crate::domain::password_rules::{validate_password, PasswordPolicy, UserAttributes};
use crate::domain::reset_token::decode_uid;
use crate::domain::secrets::{Password, Token};
use crate::domain::tokens::hex;

/// dj-rest-auth's `PasswordResetConfirmSerializer` / Django's `SetPasswordForm` messages.
pub const INVALID_VALUE: &str = "Invalid value";
pub const PASSWORD_MISMATCH: &str = "The two password fields didn\u{2019}t match.";
pub const PASSWORD_INCORRECT: &str = "Password is incorrect.";

/// dj-rest-auth's `new_password1` / `new_password2`: `CharField(max_length=128)`.
const NEW_PASSWORD: Text = Text { max_length: Some(128), ..Text::REQUIRED };

/// `password/reset/` and `registration/resend-email/`: `{"email"}`, an `EmailField`.
pub fn parse_email_request(data: &Map<String, Value>) -> Result<String, FieldErrors> {
    let mut form = Form::new(data);
    let email = form.email("email");
    form.errors.into_result()?;
    email.ok_or_else(|| FieldErrors::single("email", crate::domain::fields::REQUIRED))
}

/// `password/reset/confirm/` as read, before the uid and token are checked against a user.
pub struct ResetConfirmation {
    /// The user id the `uid` names, `None` when it names none (`{"uid": ["Invalid value"]}`).
    pub user_id: Option<i64>,
    pub token: String,
    new_password1: Password,
    new_password2: Password,
}

impl ResetConfirmation {
    /// Every field is required (all missing ones reported at once, as DRF does).
    pub fn parse(data: &Map<String, Value>) -> Result<ResetConfirmation, FieldErrors> {
        let mut form = Form::new(data);
        let new_password1 = form.required("new_password1", NEW_PASSWORD);
        let new_password2 = form.required("new_password2", NEW_PASSWORD);
        let uid = form.required("uid", Text::REQUIRED);
        let token = form.required("token", Text::REQUIRED);
        match (uid, token, new_password1, new_password2) {
            (Some(uid), Some(token), Some(one), Some(two)) if form.errors.is_empty() => Ok(ResetConfirmation {
                user_id: decode_uid(&uid),
                token,
                new_password1: Password::new(one),
                new_password2: Password::new(two),
            }),
            _ => Err(form.errors),
        }
    }

    /// Django's `SetPasswordForm` once uid and token checked: a mismatch alone, else the password
    /// validators for this user, all under `new_password2`. The new password when it passes.
    pub fn new_password(&self, user: &UserAttributes<'_>, policy: &PasswordPolicy) -> Result<&Password, FieldErrors> {
        let (one, two) = (self.new_password1.expose(), self.new_password2.expose());
        if one != two {
            return Err(FieldErrors::single("new_password2", PASSWORD_MISMATCH));
        }
        let mut errors = FieldErrors::new();
        for message in validate_password(two, user, policy) {
            errors.add("new_password2", message);
        }
        errors.into_result()?;
        Ok(&self.new_password2)
    }

    /// The new password when both fields agree: the one the breach check screens, whether or
    /// not the validators passed (its verdict joins theirs under `new_password2`).
    pub fn agreed(&self) -> Option<&Password> {
        (self.new_password1.expose() == self.new_password2.expose()).then_some(&self.new_password2)
    }
}

/// `email/change/`: `{"new_email", "password"}`, before the password is checked.
pub struct EmailChange {
    pub new_email: String,
    pub password: Password,
}

impl EmailChange {
    pub fn parse(data: &Map<String, Value>) -> Result<EmailChange, FieldErrors> {
        let mut form = Form::new(data);
        let new_email = form.email("new_email");
        let password = form.required("password", Text::REQUIRED);
        match (new_email, password) {
            (Some(new_email), Some(password)) if form.errors.is_empty() => {
                Ok(EmailChange { new_email, password: Password::new(password) })
            }
            _ => Err(form.errors),
        }
    }
}

/// `registration/verify-email/`: `{"key"}`.
pub fn parse_key(data: &Map<String, Value>) -> Result<Token, FieldErrors> {
    let mut form = Form::new(data);
    let key = form.required("key", Text::REQUIRED);
    form.errors.into_result()?;
    key.map(Token::new).ok_or_else(|| FieldErrors::single("key", crate::domain::fields::REQUIRED))
}

/// What a mailed key does when confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Marks the address the key was mailed to as verified.
    Verify,
    /// Makes the address the key was mailed to the user's (verified).
    Change,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Verify => "verify",
            KeyPurpose::Change => "change",
        }
    }
}

/// A key to mail: 256 random bits in URL-safe base64 (43 characters), and the only form of it
/// that is stored.
pub struct MailedKey {
    pub key: Token,
    pub hash: String,
}

impl MailedKey {
    /// `random` must come from a CSPRNG.
    pub fn new(random: [u8; 32]) -> MailedKey {
        use base64ct::{Base64UrlUnpadded, Encoding};
        let key = Base64UrlUnpadded::encode_string(&random);
        let hash = key_hash(&key);
        MailedKey { key: Token::new(key), hash }
    }
}

/// The stored form of a key: its SHA-256 in hex. A key is 256 random bits, so a plain hash is
/// enough (nothing to brute-force), and a database leak yields no usable link.
pub fn key_hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// A link from a configured template: each `{name}` replaced by its value, percent-encoded
/// (the values are URL-safe already; this keeps a template's URL valid whatever they hold).
pub fn link(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |link, (name, value)| link.replace(&format!("{{{name}}}"), &encode(value)))
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::password_rules::testing::policy;
    use crate::domain::password_rules::MIN_LENGTH;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn attributes() -> UserAttributes<'static> {
        UserAttributes { email: "ada@example.com", first_name: "Ada", last_name: "Lovelace" }
    }

    #[test]
    fn a_reset_confirmation_needs_every_field_and_reports_all_missing_at_once() {
        let Err(errors) = ResetConfirmation::parse(&object(json!({"uid": "NDI"}))) else { panic!() };
        let fields: Vec<&str> = errors.iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["new_password1", "new_password2", "token"]);
        let Err(errors) = ResetConfirmation::parse(&object(json!({
            "uid": "NDI", "token": "t", "new_password1": "x".repeat(129), "new_password2": ""
        }))) else {
            panic!()
        };
        assert_eq!(
            errors,
            [
                ("new_password1", "Ensure this field has no more than 128 characters."),
                ("new_password2", "This field may not be blank.")
            ]
            .iter()
            .fold(FieldErrors::new(), |mut e, (f, m)| {
                e.add(f, *m);
                e
            })
        );
    }

    #[test]
    fn a_uid_that_names_no_id_reads_as_none_not_as_a_form_error() {
        let body = |uid: &str| object(json!({"uid": uid, "token": "t", "new_password1": "a", "new_password2": "a"}));
        assert_eq!(ResetConfirmation::parse(&body("NDI")).ok().unwrap().user_id, Some(42));
        assert_eq!(ResetConfirmation::parse(&body("not base64!")).ok().unwrap().user_id, None);
    }

    #[test]
    fn a_mismatch_is_reported_alone_under_new_password2_with_djangos_apostrophe() {
        let confirmation = ResetConfirmation::parse(&object(json!({
            "uid": "NDI", "token": "t", "new_password1": "123", "new_password2": "456"
        })))
        .ok()
        .unwrap();
        let errors = confirmation.new_password(&attributes(), &policy(MIN_LENGTH)).unwrap_err();
        assert_eq!(errors, FieldErrors::single("new_password2", "The two password fields didn’t match."));
    }

    #[test]
    fn the_breach_check_screens_the_new_password_only_when_both_fields_agree() {
        let body = |one: &str, two: &str| {
            ResetConfirmation::parse(&object(json!({
                "uid": "NDI", "token": "t", "new_password1": one, "new_password2": two
            })))
            .ok()
            .unwrap()
        };
        assert_eq!(body("p4ssw0rd!", "p4ssw0rd!").agreed().map(Password::expose), Some("p4ssw0rd!"));
        assert!(body("p4ssw0rd!", "p4ssw0rd?").agreed().is_none());
        // The configured minimum length speaks in the reset form too.
        let errors = body("quiet harbour", "quiet harbour").new_password(&attributes(), &policy(15)).unwrap_err();
        let expected = "This password is too short. It must contain at least 15 characters.";
        assert_eq!(errors, FieldErrors::single("new_password2", expected));
    }

    #[test]
    fn the_password_rules_apply_to_new_password2_for_this_user() {
        let weak = ResetConfirmation::parse(&object(json!({
            "uid": "NDI", "token": "t", "new_password1": "lovelace", "new_password2": "lovelace"
        })))
        .ok()
        .unwrap();
        let errors = weak.new_password(&attributes(), &policy(MIN_LENGTH)).unwrap_err();
        let messages: Vec<&str> = errors.iter().flat_map(|(_, m)| m.iter().map(String::as_str)).collect();
        assert!(messages.contains(&"The password is too similar to the last name."), "{messages:?}");
        assert!(errors.iter().all(|(field, _)| field == "new_password2"));
        let strong = ResetConfirmation::parse(&object(json!({
            "uid": "NDI", "token": "t", "new_password1": "a quiet harbour at dusk", "new_password2": "a quiet harbour at dusk"
        })))
        .ok()
        .unwrap();
        assert_eq!(
            strong.new_password(&attributes(), &policy(MIN_LENGTH)).unwrap().expose(),
            "a quiet harbour at dusk"
        );
    }

    #[test]
    fn an_email_change_reads_the_new_address_in_its_stored_spelling() {
        let change =
            EmailChange::parse(&object(json!({"new_email": "Ada@EXAMPLE.com", "password": "pw"}))).ok().unwrap();
        assert_eq!(change.new_email, "ada@example.com");
        let Err(errors) = EmailChange::parse(&object(json!({"new_email": "nope"}))) else { panic!() };
        let fields: Vec<&str> = errors.iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["new_email", "password"]);
    }

    #[test]
    fn keys_are_random_url_safe_and_stored_only_as_their_hash() {
        let a = MailedKey::new([7; 32]);
        let b = MailedKey::new([8; 32]);
        assert_eq!(a.key.expose().len(), 43);
        assert!(a.key.expose().bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a.key.expose(), b.key.expose());
        assert_eq!(a.hash, key_hash(a.key.expose()));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(a.key.expose()));
    }

    #[test]
    fn links_fill_the_template_and_encode_what_is_not_url_safe() {
        let template = "https://app.example.com/reset/{uid}/{token}/?again={uid}";
        assert_eq!(
            link(template, &[("uid", "NDI"), ("token", "dk7g1s-df74")]),
            "https://app.example.com/reset/NDI/dk7g1s-df74/?again=NDI"
        );
        assert_eq!(link("https://x/{key}", &[("key", "a/b c")]), "https://x/a%2Fb%20c");
    }
}
