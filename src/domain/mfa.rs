//! The second factor's requests, read at the edge, and the one-time secrets it hands out: the
//! login's `mfa_token` and WebAuthn challenges are random, shown once, and stored only as hashes
//! (a copy of the database cannot answer a login's second step).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::fields::{FieldErrors, Form, Text, REQUIRED};
use crate::domain::tokens::hex;

/// `POST login/mfa/`'s body: the token from the first step and one proof.
#[derive(Debug)]
pub struct SecondStep {
    pub mfa_token: String,
    pub proof: Proof,
}

/// What proves the second factor.
#[derive(Debug)]
pub enum Proof {
    /// A TOTP code.
    Code(String),
    /// A recovery code.
    RecoveryCode(String),
    /// A WebAuthn assertion (the credential's JSON).
    Passkey(Value),
}

impl SecondStep {
    /// `{"mfa_token", "code"}`, `{"mfa_token", "recovery_code"}` or `{"mfa_token", "credential"}`
    /// (the first of these present is the proof).
    pub fn parse(data: &Map<String, Value>) -> Result<SecondStep, FieldErrors> {
        let mut form = Form::new(data);
        let mfa_token = form.required("mfa_token", Text::REQUIRED);
        let proof = if data.contains_key("code") {
            form.required("code", Text::REQUIRED).map(Proof::Code)
        } else if data.contains_key("recovery_code") {
            form.required("recovery_code", Text::REQUIRED).map(Proof::RecoveryCode)
        } else {
            match data.get("credential") {
                Some(credential @ Value::Object(_)) => Some(Proof::Passkey(credential.clone())),
                Some(_) => {
                    form.errors.add("credential", "Expected a WebAuthn credential object.");
                    None
                }
                None => {
                    form.errors.add("code", REQUIRED);
                    None
                }
            }
        };
        form.errors.clone().into_result()?;
        match (mfa_token, proof) {
            (Some(mfa_token), Some(proof)) => Ok(SecondStep { mfa_token, proof }),
            _ => Err(FieldErrors::single("code", REQUIRED)),
        }
    }
}

/// What proves the account holder wants a factor gone: the password, or a current code.
#[derive(Debug)]
pub enum Reauthentication {
    Password(String),
    Code(String),
}

impl Reauthentication {
    /// `{"password"}` or `{"code"}`; neither is a missing password.
    pub fn parse(data: &Map<String, Value>) -> Result<Reauthentication, FieldErrors> {
        let mut form = Form::new(data);
        let found = if !data.contains_key("password") && data.contains_key("code") {
            form.required("code", Text::REQUIRED).map(Reauthentication::Code)
        } else {
            form.required("password", Text::REQUIRED).map(Reauthentication::Password)
        };
        form.errors.clone().into_result()?;
        found.ok_or_else(|| FieldErrors::single("password", REQUIRED))
    }
}

/// The name a passkey is given or renamed to: 1 to 64 characters.
pub fn passkey_name(data: &Map<String, Value>, required: bool) -> Result<Option<String>, FieldErrors> {
    let mut form = Form::new(data);
    let spec = Text { max_length: Some(PASSKEY_NAME_MAX), ..Text::REQUIRED };
    let name = if required || data.contains_key("name") { form.required("name", spec) } else { None };
    form.errors.into_result()?;
    Ok(name)
}

pub const PASSKEY_NAME_MAX: usize = 64;

/// What a one-time secret is stored as: SHA-256 under a label of its kind, in hex. The secrets
/// are 256 random bits, so a plain hash is as good as a slow one here.
pub fn one_time_hash(kind: &str, secret: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"edge-auth ");
    hash.update(kind.as_bytes());
    hash.update(b"\0");
    hash.update(secret);
    hex(&hash.finalize())
}

/// The stored form of an `mfa_token`.
pub fn mfa_token_hash(token: &str) -> String {
    one_time_hash("mfa token v1", token.as_bytes())
}

/// The stored form of a WebAuthn challenge (its raw bytes).
pub fn challenge_hash(challenge: &[u8]) -> String {
    one_time_hash("webauthn challenge v1", challenge)
}

/// What an `mfa_token` remembers of the password hash it was earned with: a changed password
/// voids it, and the hash itself is not copied.
pub fn password_fingerprint(password_hash: &str) -> String {
    one_time_hash("password fingerprint v1", password_hash.as_bytes())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_second_step_takes_a_code_a_recovery_code_or_a_credential() {
        let step = SecondStep::parse(&body(json!({"mfa_token": "t", "code": " 123456 "}))).unwrap();
        assert!(matches!(step.proof, Proof::Code(ref code) if code == "123456"));
        assert_eq!(step.mfa_token, "t");
        let step = SecondStep::parse(&body(json!({"mfa_token": "t", "recovery_code": "abcd-efgh-jkmn"}))).unwrap();
        assert!(matches!(step.proof, Proof::RecoveryCode(_)));
        let step = SecondStep::parse(&body(json!({"mfa_token": "t", "credential": {"id": "x"}}))).unwrap();
        assert!(matches!(step.proof, Proof::Passkey(_)));
    }

    #[test]
    fn a_second_step_without_its_token_or_any_proof_names_the_missing_fields() {
        let missing = SecondStep::parse(&body(json!({}))).unwrap_err();
        assert_eq!(missing, {
            let mut errors = FieldErrors::single("mfa_token", REQUIRED);
            errors.add("code", REQUIRED);
            errors
        });
        let blank = SecondStep::parse(&body(json!({"mfa_token": "t", "code": ""}))).unwrap_err();
        assert_eq!(blank.iter().next().unwrap().0, "code");
        let not_an_object = SecondStep::parse(&body(json!({"mfa_token": "t", "credential": "x"}))).unwrap_err();
        assert_eq!(not_an_object.iter().next().unwrap().0, "credential");
    }

    #[test]
    fn removing_a_factor_takes_the_password_or_else_a_code() {
        let by_password = Reauthentication::parse(&body(json!({"password": "pw", "code": "1"}))).unwrap();
        assert!(matches!(by_password, Reauthentication::Password(ref p) if p == "pw"));
        assert!(matches!(Reauthentication::parse(&body(json!({"code": "1"}))).unwrap(), Reauthentication::Code(_)));
        assert_eq!(Reauthentication::parse(&body(json!({}))).unwrap_err(), FieldErrors::single("password", REQUIRED));
    }

    #[test]
    fn a_passkey_name_is_one_to_sixty_four_characters() {
        assert_eq!(passkey_name(&body(json!({"name": " Laptop "})), true).unwrap().as_deref(), Some("Laptop"));
        assert_eq!(passkey_name(&body(json!({})), false).unwrap(), None);
        assert!(passkey_name(&body(json!({})), true).is_err());
        assert!(passkey_name(&body(json!({"name": "x".repeat(65)})), true).is_err());
        assert!(passkey_name(&body(json!({"name": ""})), false).is_err());
    }

    #[test]
    fn one_time_secrets_are_stored_as_hashes_that_differ_by_kind() {
        let token = "q7XkP0";
        assert_eq!(mfa_token_hash(token), mfa_token_hash(token));
        assert_ne!(mfa_token_hash(token), challenge_hash(token.as_bytes()));
        assert_ne!(mfa_token_hash(token), password_fingerprint(token));
        assert!(!mfa_token_hash(token).contains(token));
        assert_eq!(mfa_token_hash(token).len(), 64);
    }
}
