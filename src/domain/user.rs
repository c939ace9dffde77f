//! The user as stored and as the contract shows it, and the forms that create or change one.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::domain::fields::{FieldErrors, Form, Optional, Text, NAME_MAX, PHONE_MAX};
use crate::domain::password_rules::{validate_password, PasswordPolicy, UserAttributes};
use crate::domain::secrets::Password;

pub const PASSWORDS_DO_NOT_MATCH: &str = "Passwords do not match.";
pub const OLD_PASSWORD_INCORRECT: &str = "Old password is incorrect.";
pub const EMAIL_TAKEN: &str = "A user with this email already exists.";

/// A `users` row. Field names are the column names.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct User {
    pub id: i64,
    pub uuid: String,
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    #[serde(deserialize_with = "sqlite_bool")]
    pub phone_number_verified: bool,
    pub timezone: String,
    #[serde(deserialize_with = "sqlite_bool")]
    pub is_practitioner: bool,
    pub account_status: String,
    pub last_login: Option<String>,
    pub date_joined: String,
    #[serde(deserialize_with = "sqlite_bool")]
    pub is_active: bool,
    #[serde(deserialize_with = "sqlite_bool")]
    pub is_staff: bool,
    #[serde(deserialize_with = "sqlite_bool")]
    pub is_superuser: bool,
    /// Whether the address was proven by a mailed link (`GET email/`; not part of the profile).
    #[serde(default, deserialize_with = "sqlite_bool")]
    pub email_verified: bool,
}

/// SQLite has no boolean: D1 hands back 0/1 (or `true`/`false` if a row was written by JSON).
fn sqlite_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|v| v != 0.0)),
        other => Err(serde::de::Error::custom(format!("expected 0/1, got {other}"))),
    }
}

impl User {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_owned()
    }

    /// The contract's profile: all 17 keys, always.
    pub fn profile(&self) -> Value {
        let full_name = self.full_name();
        let display_name = if full_name.is_empty() { self.email.clone() } else { full_name.clone() };
        json!({
            "id": self.id,
            "uuid": self.uuid,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "full_name": full_name,
            "display_name": display_name,
            "phone_number": self.phone_number,
            "phone_number_verified": self.phone_number_verified,
            "timezone": self.timezone,
            "is_practitioner": self.is_practitioner,
            "account_status": self.account_status,
            "last_login": self.last_login,
            "date_joined": self.date_joined,
            "is_active": self.is_active,
            "is_staff": self.is_staff,
            "is_superuser": self.is_superuser,
        })
    }

    /// Whether this account may log in, refresh, or use an access token.
    pub fn can_log_in(&self) -> bool {
        self.is_active && self.account_status == "active"
    }

    pub fn attributes(&self) -> UserAttributes<'_> {
        UserAttributes { first_name: &self.first_name, last_name: &self.last_name, email: &self.email }
    }
}

/// A timestamp as DRF renders one: ISO 8601 in UTC with `Z`, microseconds only when non-zero.
pub fn timestamp(at: DateTime<Utc>) -> String {
    if at.timestamp_subsec_micros() == 0 {
        at.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

/// A name field (`first_name`, `last_name`): blank allowed, Django's 150 characters.
pub(crate) const NAME: Text = Text { allow_blank: true, allow_null: false, max_length: Some(NAME_MAX) };
const PHONE: Text = Text { allow_blank: true, allow_null: true, max_length: Some(PHONE_MAX) };

/// What `register/` needs to create a user, every rule checked.
#[derive(Clone, Debug)]
pub struct Registration {
    pub email: String,
    pub password: Password,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    pub timezone: String,
}

impl Registration {
    /// Reads and checks a registration; every failing field is reported at once, the password
    /// against `policy`.
    pub fn parse(data: &Map<String, Value>, policy: &PasswordPolicy) -> Result<Registration, FieldErrors> {
        let mut form = Form::new(data);
        let email = form.email("email");
        let password = form.required("password", Text::REQUIRED);
        let password_confirm = form.required("password_confirm", Text::REQUIRED);
        let first_name = form.required("first_name", NAME);
        let last_name = form.required("last_name", NAME);
        let phone_number = form.optional("phone_number", PHONE);
        let timezone = form.timezone("timezone");
        let mut errors = form.errors;

        if let Some(password) = &password {
            let attributes = UserAttributes {
                first_name: first_name.as_deref().unwrap_or(""),
                last_name: last_name.as_deref().unwrap_or(""),
                email: email.as_deref().unwrap_or(""),
            };
            for message in validate_password(password, &attributes, policy) {
                errors.add("password", message);
            }
            if password_confirm.as_ref().is_some_and(|confirm| confirm != password) {
                errors.add("password_confirm", PASSWORDS_DO_NOT_MATCH);
            }
        }
        // A field reads as `None` only when its error was recorded, so `errors` is never empty
        // in the fallback arm.
        match (email, password, first_name, last_name) {
            (Some(email), Some(password), Some(first_name), Some(last_name)) if errors.is_empty() => Ok(Registration {
                email,
                password: Password::new(password),
                first_name,
                last_name,
                phone_number: match phone_number {
                    Optional::Set(phone) => Some(phone),
                    Optional::Absent | Optional::Null => None,
                },
                timezone: match timezone {
                    Optional::Set(zone) => zone,
                    Optional::Absent | Optional::Null => "UTC".to_owned(),
                },
            }),
            _ => Err(errors),
        }
    }
}

/// `login/`'s credentials.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub email: String,
    pub password: Password,
}

impl Credentials {
    pub fn parse(data: &Map<String, Value>) -> Result<Credentials, FieldErrors> {
        let mut form = Form::new(data);
        let email = form.email("email");
        let password = form.required("password", Text::REQUIRED);
        match (email, password) {
            (Some(email), Some(password)) if form.errors.is_empty() => {
                Ok(Credentials { email, password: Password::new(password) })
            }
            _ => Err(form.errors),
        }
    }
}

/// A `PATCH me/`: only these four fields may change; anything else in the body is ignored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `Some(None)` clears the phone number.
    pub phone_number: Option<Option<String>>,
    pub timezone: Option<String>,
}

impl ProfileChanges {
    pub fn parse(data: &Map<String, Value>) -> Result<ProfileChanges, FieldErrors> {
        let mut form = Form::new(data);
        let first_name = form.optional("first_name", NAME).set();
        let last_name = form.optional("last_name", NAME).set();
        let phone_number = match form.optional("phone_number", PHONE) {
            Optional::Absent => None,
            Optional::Null => Some(None),
            Optional::Set(phone) => Some(Some(phone)),
        };
        let timezone = form.timezone("timezone").set();
        form.errors.into_result()?;
        Ok(ProfileChanges { first_name, last_name, phone_number, timezone })
    }

    pub fn apply(&self, user: &mut User) {
        if let Some(first_name) = &self.first_name {
            user.first_name.clone_from(first_name);
        }
        if let Some(last_name) = &self.last_name {
            user.last_name.clone_from(last_name);
        }
        if let Some(phone_number) = &self.phone_number {
            user.phone_number.clone_from(phone_number);
        }
        if let Some(timezone) = &self.timezone {
            user.timezone.clone_from(timezone);
        }
    }
}

/// A `change-password/` request, before the old password is checked against the stored hash.
#[derive(Clone, Debug)]
pub struct PasswordChange {
    pub old_password: Password,
    pub new_password: Password,
}

impl PasswordChange {
    /// Checks every rule that needs no hashing. `old_password_ok` is asked only when the old
    /// password was given, so a request that fails on shape alone costs no PBKDF2.
    pub fn parse(
        data: &Map<String, Value>,
        user: &User,
        policy: &PasswordPolicy,
        old_password_ok: impl FnOnce(&str) -> bool,
    ) -> Result<PasswordChange, FieldErrors> {
        let mut form = Form::new(data);
        let old_password = form.required("old_password", Text::REQUIRED);
        let new_password = form.required("new_password", Text::REQUIRED);
        let confirm = form.required("new_password_confirm", Text::REQUIRED);
        let mut errors: FieldErrors = form.errors;
        if let Some(new_password) = &new_password {
            for message in validate_password(new_password, &user.attributes(), policy) {
                errors.add("new_password", message);
            }
            if confirm.as_ref().is_some_and(|confirm| confirm != new_password) {
                errors.add("new_password_confirm", PASSWORDS_DO_NOT_MATCH);
            }
        }
        if errors.is_empty() {
            if let Some(old) = &old_password {
                if !old_password_ok(old) {
                    errors.add("old_password", OLD_PASSWORD_INCORRECT);
                }
            }
        }
        match (old_password, new_password) {
            (Some(old_password), Some(new_password)) if errors.is_empty() => Ok(PasswordChange {
                old_password: Password::new(old_password),
                new_password: Password::new(new_password),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::password_rules::testing::policy;
    use crate::domain::password_rules::MIN_LENGTH;
    use chrono::TimeZone;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn ada() -> User {
        User {
            id: 1,
            uuid: "0b0e6a0c-8c4b-4f1e-9d7a-2f1b3c4d5e6f".into(),
            email: "ada@example.com".into(),
            password: "pbkdf2_sha256$1$salt$hash".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            phone_number: None,
            phone_number_verified: false,
            timezone: "UTC".into(),
            is_practitioner: false,
            account_status: "active".into(),
            last_login: None,
            date_joined: "2024-01-01T10:00:00Z".into(),
            is_active: true,
            is_staff: false,
            is_superuser: false,
            email_verified: false,
        }
    }

    fn field_errors(result: Result<impl std::fmt::Debug, FieldErrors>) -> Value {
        match result {
            Err(errors) => errors.iter().map(|(field, messages)| (field.to_owned(), json!(messages))).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn the_profile_has_all_seventeen_keys() {
        let profile = ada().profile();
        assert_eq!(profile.as_object().unwrap().len(), 17);
        assert_eq!(profile["full_name"], "Ada Lovelace");
        assert_eq!(profile["display_name"], "Ada Lovelace");
        assert_eq!(profile["phone_number"], Value::Null);
        assert_eq!(profile["last_login"], Value::Null);
        assert_eq!(profile["id"], 1);
    }

    #[test]
    fn display_name_falls_back_to_the_email_when_there_is_no_name() {
        let mut user = ada();
        user.first_name = String::new();
        user.last_name = String::new();
        assert_eq!(user.profile()["full_name"], "");
        assert_eq!(user.profile()["display_name"], "ada@example.com");
        user.last_name = "Lovelace".into();
        assert_eq!(user.profile()["full_name"], "Lovelace");
    }

    #[test]
    fn timestamps_render_like_drf() {
        let at = Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap();
        assert_eq!(timestamp(at), "2024-01-01T12:00:00Z");
        let at = at + chrono::Duration::milliseconds(123);
        assert_eq!(timestamp(at), "2024-01-01T12:00:00.123000Z");
    }

    #[test]
    fn rows_from_d1_read_integers_as_booleans() {
        let row = json!({
            "id": 3, "uuid": "u", "email": "e@x.io", "password": "p", "first_name": "", "last_name": "",
            "phone_number": null, "phone_number_verified": 0, "timezone": "UTC", "is_practitioner": 1,
            "account_status": "active", "last_login": null, "date_joined": "d", "is_active": 1,
            "is_staff": 0, "is_superuser": false
        });
        let user: User = serde_json::from_value(row).unwrap();
        assert!(user.is_practitioner && user.is_active && !user.is_staff && !user.is_superuser);
    }

    #[test]
    fn a_valid_registration_is_normalized() {
        let data = object(json!({
            "email": "Ada@Example.com", "password": "correct-horse-battery", "password_confirm": "correct-horse-battery",
            "first_name": "Ada", "last_name": "Lovelace"
        }));
        let registration = Registration::parse(&data, &policy(MIN_LENGTH)).unwrap();
        assert_eq!(registration.email, "ada@example.com");
        assert_eq!(registration.timezone, "UTC");
        assert_eq!(registration.phone_number, None);
    }

    #[test]
    fn parsed_forms_never_print_their_passwords() {
        let data = object(json!({
            "email": "ada@example.com", "password": "correct-horse-battery", "password_confirm": "correct-horse-battery",
            "first_name": "Ada", "last_name": "Lovelace"
        }));
        let registration = Registration::parse(&data, &policy(MIN_LENGTH)).unwrap();
        assert_eq!(registration.password.expose(), "correct-horse-battery");
        let printed = format!("{registration:?} {registration:#?}");
        assert!(!printed.contains("correct-horse"), "{printed}");
        assert!(printed.contains("ada@example.com"), "{printed}");

        let credentials = Credentials::parse(&data).unwrap();
        assert_eq!(credentials.password.expose(), "correct-horse-battery");
        assert!(!format!("{credentials:?}").contains("correct-horse"));

        let data = object(json!({
            "old_password": "old-secret-123", "new_password": "correct-horse-battery",
            "new_password_confirm": "correct-horse-battery"
        }));
        let change = PasswordChange::parse(&data, &ada(), &policy(MIN_LENGTH), |_| true).unwrap();
        assert_eq!(change.old_password.expose(), "old-secret-123");
        let printed = format!("{change:?}");
        assert!(!printed.contains("old-secret") && !printed.contains("correct-horse"), "{printed}");
    }

    #[test]
    fn an_empty_registration_lists_every_required_field() {
        let errors = field_errors(Registration::parse(&Map::new(), &policy(MIN_LENGTH)));
        for field in ["email", "password", "password_confirm", "first_name", "last_name"] {
            assert_eq!(errors[field], json!(["This field is required."]), "{field}");
        }
        assert_eq!(errors.as_object().unwrap().len(), 5);
    }

    #[test]
    fn mismatched_confirmation_is_reported_on_the_confirmation_field() {
        let data = object(json!({
            "email": "ada@example.com", "password": "correct-horse-battery", "password_confirm": "correct-horse-batterx",
            "first_name": "Ada", "last_name": "Lovelace"
        }));
        assert_eq!(
            field_errors(Registration::parse(&data, &policy(MIN_LENGTH))),
            json!({"password_confirm": ["Passwords do not match."]})
        );
    }

    #[test]
    fn weak_passwords_list_every_broken_rule_in_order() {
        let data = object(json!({
            "email": "ada@example.com", "password": "1234567", "password_confirm": "1234567",
            "first_name": "Ada", "last_name": "Lovelace"
        }));
        assert_eq!(
            field_errors(Registration::parse(&data, &policy(MIN_LENGTH))),
            json!({"password": [
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
                "This password is entirely numeric."
            ]})
        );
    }

    #[test]
    fn a_password_like_the_email_is_too_similar() {
        let data = object(json!({
            "email": "lovelace1815@example.com", "password": "lovelace1815", "password_confirm": "lovelace1815",
            "first_name": "Ada", "last_name": "Byron"
        }));
        assert_eq!(
            field_errors(Registration::parse(&data, &policy(MIN_LENGTH))),
            json!({"password": ["The password is too similar to the email."]})
        );
    }

    #[test]
    fn a_bad_timezone_and_long_name_are_reported_together() {
        let data = object(json!({
            "email": "ada@example.com", "password": "correct-horse-battery", "password_confirm": "correct-horse-battery",
            "first_name": "A".repeat(151), "last_name": "Lovelace", "timezone": "Nowhere/Land"
        }));
        assert_eq!(
            field_errors(Registration::parse(&data, &policy(MIN_LENGTH))),
            json!({
                "first_name": ["Ensure this field has no more than 150 characters."],
                "timezone": ["Invalid timezone."]
            })
        );
    }

    #[test]
    fn patch_changes_only_the_four_editable_fields() {
        let data = object(json!({
            "first_name": "Augusta", "phone_number": "+441234", "email": "evil@example.com",
            "is_staff": true, "id": 99, "account_status": "banned"
        }));
        let changes = ProfileChanges::parse(&data).unwrap();
        let mut user = ada();
        changes.apply(&mut user);
        assert_eq!(user.first_name, "Augusta");
        assert_eq!(user.phone_number.as_deref(), Some("+441234"));
        assert_eq!((user.email.as_str(), user.is_staff, user.id), ("ada@example.com", false, 1));
        assert_eq!(user.account_status, "active");
    }

    #[test]
    fn patch_with_null_phone_clears_it_and_bad_values_are_refused() {
        let mut user = ada();
        user.phone_number = Some("+1".into());
        ProfileChanges::parse(&object(json!({"phone_number": null}))).unwrap().apply(&mut user);
        assert_eq!(user.phone_number, None);
        assert_eq!(
            field_errors(ProfileChanges::parse(&object(json!({"timezone": "Mars/Base", "last_name": []})))),
            json!({"timezone": ["Invalid timezone."], "last_name": ["Not a valid string."]})
        );
    }

    #[test]
    fn password_change_checks_the_old_password_only_when_the_rest_is_valid() {
        let user = ada();
        let data = object(json!({"old_password": "x", "new_password": "short", "new_password_confirm": "short"}));
        let mut asked = false;
        let errors = field_errors(PasswordChange::parse(&data, &user, &policy(MIN_LENGTH), |_| {
            asked = true;
            false
        }));
        assert!(!asked);
        assert!(errors.get("old_password").is_none());
        assert!(errors["new_password"][0].as_str().unwrap().starts_with("This password is too short"));
    }

    #[test]
    fn a_wrong_old_password_is_incorrect() {
        let data = object(json!({
            "old_password": "wrong", "new_password": "correct-horse-battery", "new_password_confirm": "correct-horse-battery"
        }));
        assert_eq!(
            field_errors(PasswordChange::parse(&data, &ada(), &policy(MIN_LENGTH), |old| old == "right")),
            json!({"old_password": ["Old password is incorrect."]})
        );
        let ok = PasswordChange::parse(&data, &ada(), &policy(MIN_LENGTH), |old| old == "wrong").unwrap();
        assert_eq!(ok.new_password.expose(), "correct-horse-battery");
    }

    #[test]
    fn the_new_password_is_compared_with_the_user_s_own_names() {
        let data = object(json!({"old_password": "x", "new_password": "lovelace", "new_password_confirm": "lovelace"}));
        let errors = field_errors(PasswordChange::parse(&data, &ada(), &policy(MIN_LENGTH), |_| true));
        assert_eq!(errors["new_password"], json!(["The password is too similar to the last name."]));
    }
}
