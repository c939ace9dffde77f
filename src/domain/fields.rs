//! DRF field semantics for reading a JSON object: required/blank/null/type/length rules and
//! their exact messages, collecting every failing field into one `FieldErrors`.

use serde_json::{Map, Value};

use crate::domain::email::{Email, EMAIL_MAX};
use crate::domain::password_rules::py_isspace;

pub const REQUIRED: &str = "This field is required.";
pub const BLANK: &str = "This field may not be blank.";
pub const NULL: &str = "This field may not be null.";
pub const NOT_A_STRING: &str = "Not a valid string.";
pub const INVALID_EMAIL: &str = "Enter a valid email address.";
pub const INVALID_TIMEZONE: &str = "Invalid timezone.";
/// DRF's `ProhibitNullCharactersValidator` (Postgres, on the Django side, cannot store NUL).
pub const NULL_CHARACTERS: &str = "Null characters are not allowed.";

/// Longest names Django's `AbstractUser` stores.
pub const NAME_MAX: usize = 150;
/// `phone_number` column width.
pub const PHONE_MAX: usize = 20;

/// A field a client may leave out, send as `null`, or set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Optional<T> {
    Absent,
    Null,
    Set(T),
}

impl<T> Optional<T> {
    /// The value when one was set; absent and `null` alike leave the stored one as it is.
    pub fn set(self) -> Option<T> {
        match self {
            Optional::Set(value) => Some(value),
            Optional::Absent | Optional::Null => None,
        }
    }
}

/// How a DRF `CharField` is declared.
#[derive(Clone, Copy, Debug)]
pub struct Text {
    pub allow_blank: bool,
    pub allow_null: bool,
    pub max_length: Option<usize>,
}

impl Text {
    pub const REQUIRED: Text = Text { allow_blank: false, allow_null: false, max_length: None };
}

/// One field as read: absent, null, a value, or a failure already recorded.
enum Read {
    Absent,
    Null,
    Set(String),
    Failed,
}

/// Every failing field of one request with its messages, in the order met (DRF's serializer
/// errors, `{"field": ["message", …]}`); `crate::error` turns them into the 400 body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

impl FieldErrors {
    pub fn new() -> FieldErrors {
        FieldErrors::default()
    }

    /// One failing field: for a rule checked after the form (an e-mail already taken).
    pub fn single(field: &str, message: impl Into<String>) -> FieldErrors {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        match self.0.iter_mut().find(|(name, _)| name == field) {
            Some((_, messages)) => messages.push(message),
            None => self.0.push((field.to_owned(), vec![message])),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each failing field with its messages, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(field, messages)| (field.as_str(), messages.as_slice()))
    }

    /// `Ok(())` when nothing failed, else every failure at once.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// A form of one required `CharField` (a code, a password, a token): its value, or its errors.
pub fn required_text(data: &Map<String, Value>, name: &str) -> Result<String, FieldErrors> {
    let mut form = Form::new(data);
    match form.required(name, Text::REQUIRED) {
        Some(value) if form.errors.is_empty() => Ok(value),
        _ => Err(form.errors),
    }
}

/// Reads fields from one request object; errors accumulate in `errors` for the caller to return.
pub struct Form<'a> {
    data: &'a Map<String, Value>,
    pub errors: FieldErrors,
}

impl<'a> Form<'a> {
    pub fn new(data: &'a Map<String, Value>) -> Form<'a> {
        Form { data, errors: FieldErrors::new() }
    }

    /// A required `CharField`: `None` when it failed (and the error is recorded).
    pub fn required(&mut self, name: &str, spec: Text) -> Option<String> {
        match self.read(name, spec) {
            Read::Set(value) => Some(value),
            Read::Absent => {
                self.errors.add(name, REQUIRED);
                None
            }
            Read::Null | Read::Failed => None,
        }
    }

    /// An optional `CharField`. A failing value is recorded and reads as `Absent`.
    pub fn optional(&mut self, name: &str, spec: Text) -> Optional<String> {
        match self.read(name, spec) {
            Read::Set(value) => Optional::Set(value),
            Read::Null => Optional::Null,
            Read::Absent | Read::Failed => Optional::Absent,
        }
    }

    fn read(&mut self, name: &str, spec: Text) -> Read {
        let Some(raw) = self.data.get(name) else {
            return Read::Absent;
        };
        let text = match raw {
            Value::Null if spec.allow_null => return Read::Null,
            Value::Null => return self.fail(name, NULL),
            Value::String(s) => s.clone(),
            // DRF's CharField takes numbers and writes them as Python's `str()` would.
            Value::Number(n) => match n.as_f64() {
                Some(float) if n.is_f64() => python_float(float),
                _ => n.to_string(),
            },
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => return self.fail(name, NOT_A_STRING),
        };
        let trimmed = python_strip(&text);
        if trimmed.is_empty() {
            return if spec.allow_blank { Read::Set(String::new()) } else { self.fail(name, BLANK) };
        }
        // DRF runs every validator and reports all that fail.
        let mut failed = false;
        if let Some(max) = spec.max_length {
            if trimmed.chars().count() > max {
                self.errors.add(name, format!("Ensure this field has no more than {max} characters."));
                failed = true;
            }
        }
        if trimmed.contains('\0') {
            self.errors.add(name, NULL_CHARACTERS);
            failed = true;
        }
        if failed {
            Read::Failed
        } else {
            Read::Set(trimmed.to_owned())
        }
    }

    /// A required `EmailField` in its one stored spelling (`Email::parse`: UTS #46 mapping (NFKC, case folding), punycode
    /// domain, no quoted local part, lowercased), so every twin of an address reads the same.
    pub fn email(&mut self, name: &str) -> Option<String> {
        let value = self.required(name, Text { max_length: None, ..Text::REQUIRED })?;
        match Email::parse(&value) {
            Ok(email) => Some(email.into_string()),
            Err(error) => {
                if error.too_long {
                    self.errors.add(name, format!("Ensure this field has no more than {EMAIL_MAX} characters."));
                }
                if error.invalid {
                    self.errors.add(name, INVALID_EMAIL);
                }
                None
            }
        }
    }

    /// An optional IANA time zone name.
    pub fn timezone(&mut self, name: &str) -> Optional<String> {
        match self.optional(name, Text { max_length: None, ..Text::REQUIRED }) {
            Optional::Set(zone) if zone.parse::<chrono_tz::Tz>().is_err() => {
                self.fail(name, INVALID_TIMEZONE);
                Optional::Absent
            }
            other => other,
        }
    }

    fn fail(&mut self, name: &str, message: impl Into<String>) -> Read {
        self.errors.add(name, message);
        Read::Failed
    }
}

/// Python's `str(float)`: the shortest round-trip digits, in fixed notation for exponents from
/// -4 to 15 (always with a fraction, `1.0`), else scientific with a signed two-digit exponent.
///
/// The digits are serde_json's (ryu, already in the worker for JSON), laid out again here: Rust's
/// own float formatting (`{}`, `{:e}`) would link core's Grisu and Dragon into the wasm for this
/// alone (~19 KB, 5.6 KB gzipped).
pub fn python_float(value: f64) -> String {
    // JSON has no NaN or infinity: a non-finite value never gets here (it would read `null`).
    let written = Value::from(value).to_string();
    let (sign, unsigned) = written.strip_prefix('-').map_or(("", written.as_str()), |rest| ("-", rest));
    let (mantissa, exponent) = unsigned.split_once('e').unwrap_or((unsigned, "0"));
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{whole}{fraction}");
    let leading_zeros = all.bytes().take_while(|digit| *digit == b'0').count();
    let digits = all[leading_zeros..].trim_end_matches('0');
    if digits.is_empty() {
        return format!("{sign}0.0");
    }
    // The value is 0.<digits> × 10^point.
    let point = whole.len() as i64 + exponent.parse::<i64>().unwrap_or(0) - leading_zeros as i64;
    if !(-3..=16).contains(&point) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exponent_sign = if point > 0 { '+' } else { '-' };
        return format!("{sign}{first}{dot}{rest}e{exponent_sign}{:02}", (point - 1).unsigned_abs());
    }
    // Zeros by padding: `str::repeat` would be more code in the wasm.
    match usize::try_from(point) {
        Err(_) | Ok(0) => format!("{sign}0.{digits:0>width$}", width = digits.len() + point.unsigned_abs() as usize),
        Ok(point) if point >= digits.len() => format!("{sign}{digits:0<point$}.0"),
        Ok(point) => format!("{sign}{}.{}", &digits[..point], &digits[point..]),
    }
}

/// Python's `str.strip()`: Python's whitespace (Unicode's plus U+001C..U+001F) at both ends.
pub fn python_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn errors_of(form: Form) -> Value {
        form.errors.iter().map(|(field, messages)| (field.to_owned(), json!(messages))).collect()
    }

    #[test]
    fn field_errors_keep_every_message_per_field_in_order() {
        let mut errors = FieldErrors::new();
        errors.add("password", "too short");
        errors.add("email", "invalid");
        errors.add("password", "entirely numeric");
        let fields: Vec<_> = errors.iter().collect();
        assert_eq!(
            fields,
            vec![
                ("password", &["too short".to_owned(), "entirely numeric".to_owned()][..]),
                ("email", &["invalid".to_owned()][..]),
            ]
        );
        assert_eq!(errors.clone().into_result(), Err(errors));
        assert_eq!(FieldErrors::new().into_result(), Ok(()));
    }

    #[test]
    fn a_missing_required_field_is_required() {
        let data = object(json!({}));
        let mut form = Form::new(&data);
        assert_eq!(form.required("email", Text::REQUIRED), None);
        assert_eq!(errors_of(form), json!({"email": [REQUIRED]}));
    }

    #[test]
    fn blank_null_and_wrong_types_have_drf_s_messages() {
        let data = object(json!({"a": "   ", "b": null, "c": true, "d": [1], "e": {"x": 1}}));
        let mut form = Form::new(&data);
        for name in ["a", "b", "c", "d", "e"] {
            form.required(name, Text::REQUIRED);
        }
        assert_eq!(
            errors_of(form),
            json!({"a": [BLANK], "b": [NULL], "c": [NOT_A_STRING], "d": [NOT_A_STRING], "e": [NOT_A_STRING]})
        );
    }

    #[test]
    fn strings_are_trimmed_and_numbers_become_strings() {
        let data = object(json!({"name": "  Ada  ", "n": 12, "f": 1.5}));
        let mut form = Form::new(&data);
        assert_eq!(form.required("name", Text::REQUIRED).as_deref(), Some("Ada"));
        assert_eq!(form.required("n", Text::REQUIRED).as_deref(), Some("12"));
        assert_eq!(form.required("f", Text::REQUIRED).as_deref(), Some("1.5"));
        assert!(form.errors.is_empty());
    }

    #[test]
    fn null_characters_are_refused_like_drf_does() {
        let spec = Text { allow_blank: true, allow_null: false, max_length: Some(3) };
        let data = object(json!({"a": "x\u{0}y", "b": "\u{0}", "c": "toolong\u{0}"}));
        let mut form = Form::new(&data);
        for name in ["a", "b", "c"] {
            assert_eq!(form.optional(name, spec), Optional::Absent, "{name}");
        }
        assert_eq!(
            errors_of(form),
            json!({
                "a": [NULL_CHARACTERS],
                "b": [NULL_CHARACTERS],
                "c": ["Ensure this field has no more than 3 characters.", NULL_CHARACTERS]
            })
        );
    }

    #[test]
    fn trimming_strips_what_python_strips() {
        let data = object(json!({"name": "\u{1c}Ada\u{1f}\u{a0}"}));
        assert_eq!(Form::new(&data).required("name", Text::REQUIRED).as_deref(), Some("Ada"));
    }

    #[test]
    fn floats_become_strings_as_python_writes_them() {
        for (value, python) in [
            (1e-5, "1e-05"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1.5, "1.5"),
            (1.0, "1.0"),
            (0.0001, "0.0001"),
            (-2.5e-7, "-2.5e-07"),
            (123456789012345.6, "123456789012345.6"),
            (1e300, "1e+300"),
            (1e15, "1000000000000000.0"),
            (9.999999999999998e15, "9999999999999998.0"),
            (0.001, "0.001"),
            (0.00012345, "0.00012345"),
            (1.2345e-5, "1.2345e-05"),
            (100.5, "100.5"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(python_float(value), python, "{value}");
        }
        let data = object(json!({"f": 1e-5, "i": 42}));
        let mut form = Form::new(&data);
        assert_eq!(form.required("f", Text::REQUIRED).as_deref(), Some("1e-05"));
        assert_eq!(form.required("i", Text::REQUIRED).as_deref(), Some("42"));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let spec = Text { allow_blank: true, allow_null: false, max_length: Some(NAME_MAX) };
        let data = object(json!({"ok": "é".repeat(150), "long": "a".repeat(151)}));
        let mut form = Form::new(&data);
        assert_eq!(form.optional("ok", spec), Optional::Set("é".repeat(150)));
        assert_eq!(form.optional("long", spec), Optional::Absent);
        assert_eq!(errors_of(form), json!({"long": ["Ensure this field has no more than 150 characters."]}));
    }

    #[test]
    fn optional_fields_distinguish_absent_null_blank_and_set() {
        let spec = Text { allow_blank: true, allow_null: true, max_length: Some(PHONE_MAX) };
        let data = object(json!({"null": null, "blank": "", "set": "+15551234567"}));
        let mut form = Form::new(&data);
        assert_eq!(form.optional("absent", spec), Optional::Absent);
        assert_eq!(form.optional("null", spec), Optional::Null);
        assert_eq!(form.optional("blank", spec), Optional::Set(String::new()));
        assert_eq!(form.optional("set", spec), Optional::Set("+15551234567".into()));
        assert!(form.errors.is_empty());
    }

    #[test]
    fn emails_are_read_in_their_stored_spelling() {
        let data =
            object(json!({"a": " Ada.Lovelace+X@Example.COM ", "b": "victim@ｅｘａｍｐｌｅ.com", "c": "u@müller.de"}));
        let mut form = Form::new(&data);
        assert_eq!(form.email("a").as_deref(), Some("ada.lovelace+x@example.com"));
        assert_eq!(form.email("b").as_deref(), Some("victim@example.com"));
        assert_eq!(form.email("c").as_deref(), Some("u@xn--mller-kva.de"));
        assert!(form.errors.is_empty());
    }

    #[test]
    fn quoted_and_unencodable_emails_are_invalid() {
        let data = object(json!({"quoted": "\"victim\"@example.com", "idna": "a@xn--zz.com"}));
        let mut form = Form::new(&data);
        assert_eq!(form.email("quoted"), None);
        assert_eq!(form.email("idna"), None);
        assert_eq!(errors_of(form), json!({"quoted": [INVALID_EMAIL], "idna": [INVALID_EMAIL]}));
    }

    #[test]
    fn an_email_too_long_and_malformed_reports_both() {
        let email = format!("{}@", "a".repeat(300));
        let data = object(json!({"email": email}));
        let mut form = Form::new(&data);
        assert_eq!(form.email("email"), None);
        assert_eq!(
            errors_of(form),
            json!({"email": ["Ensure this field has no more than 254 characters.", INVALID_EMAIL]})
        );
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        let data = object(json!({"ok": "Europe/Paris", "utc": "UTC", "bad": "Mars/Olympus", "off": "+02:00"}));
        let mut form = Form::new(&data);
        assert_eq!(form.timezone("ok"), Optional::Set("Europe/Paris".into()));
        assert_eq!(form.timezone("utc"), Optional::Set("UTC".into()));
        assert_eq!(form.timezone("bad"), Optional::Absent);
        assert_eq!(form.timezone("off"), Optional::Absent);
        assert_eq!(errors_of(form), json!({"bad": [INVALID_TIMEZONE], "off": [INVALID_TIMEZONE]}));
    }

    #[test]
    fn a_form_of_one_required_field_gives_its_value_or_drfs_errors() {
        let data = |value: Value| value.as_object().unwrap().clone();
        assert_eq!(required_text(&data(serde_json::json!({"code": " 123456 "})), "code"), Ok("123456".into()));
        assert_eq!(required_text(&data(serde_json::json!({})), "code"), Err(FieldErrors::single("code", REQUIRED)));
        assert_eq!(
            required_text(&data(serde_json::json!({"code": ""})), "code"),
            Err(FieldErrors::single("code", BLANK))
        );
        assert_eq!(
            required_text(&data(serde_json::json!({"code": null})), "code"),
            Err(FieldErrors::single("code", NULL))
        );
    }
}
