//! DRF field semantics for reading a JSON object: required/blank/null/type/length rules and
//! their exact messages, collecting every failing field into one `FieldErrors`.

use serde_json::{Map, Value};

use crate::domain::password_rules::py_isspace;
use crate::error::FieldErrors;

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
/// Django's `EmailField` default.
pub const EMAIL_MAX: usize = 254;
/// `phone_number` column width.
pub const PHONE_MAX: usize = 20;

/// A field a client may leave out, send as `null`, or set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Optional<T> {
    Absent,
    Null,
    Set(T),
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

/// Reads fields from one request object; errors accumulate until `finish`.
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

    /// A required `EmailField`, lowercased (emails are unique without regard to case).
    pub fn email(&mut self, name: &str) -> Option<String> {
        let value = self.required(name, Text { max_length: None, ..Text::REQUIRED })?;
        let mut messages = Vec::new();
        if value.chars().count() > EMAIL_MAX {
            messages.push(format!("Ensure this field has no more than {EMAIL_MAX} characters."));
        }
        if !is_valid_email(&value) {
            messages.push(INVALID_EMAIL.to_owned());
        }
        if messages.is_empty() {
            Some(value.to_lowercase())
        } else {
            messages.into_iter().for_each(|m| self.errors.add(name, m));
            None
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
pub fn python_float(value: f64) -> String {
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..16).contains(&exponent) {
        let fixed = value.to_string();
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

/// Python's `str.strip()`: Python's whitespace (Unicode's plus U+001C..U+001F) at both ends.
pub fn python_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// Django 5.2's `EmailValidator`: dot-atom or quoted local part, a domain of LDH labels with a
/// TLD of 2–63 characters (IDN labels accepted as their punycode would be), an IP literal, or
/// `localhost`.
pub fn is_valid_email(value: &str) -> bool {
    if value.is_empty() || value.len() > 320 {
        return false;
    }
    let Some((user, domain)) = value.rsplit_once('@') else {
        return false;
    };
    is_valid_local_part(user) && (domain == "localhost" || is_valid_domain(domain) || is_ip_literal(domain))
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{}|~-".contains(c)
}

fn is_valid_local_part(user: &str) -> bool {
    if let Some(inner) = user.strip_prefix('"').and_then(|u| u.strip_suffix('"')) {
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            let ok = match c {
                '\\' => matches!(chars.next(), Some(e) if matches!(e as u32, 1..=9 | 11 | 12 | 14..=127)),
                '"' => false,
                c => matches!(c as u32, 1..=8 | 11 | 12 | 14..=31 | 33..=127),
            };
            if !ok {
                return false;
            }
        }
        return user.len() >= 2;
    }
    !user.is_empty() && user.split('.').all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let Some((tld, rest)) = labels.split_last() else {
        return false;
    };
    if rest.is_empty() {
        return false;
    }
    let label_ok = |label: &str| {
        let ascii = label.is_ascii();
        let len = if ascii { label.len() } else { label.chars().count() + 4 };
        (1..=63).contains(&len)
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric()))
    };
    // The TLD may hold hyphens inside and must be 2+ characters (`xn--` TLDs included).
    let tld_ok = {
        let len = if tld.is_ascii() { tld.len() } else { tld.chars().count() + 4 };
        (2..=63).contains(&len)
            && !tld.ends_with('-')
            && tld.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric()))
    };
    tld_ok && rest.iter().all(|label| label_ok(label))
}

fn is_ip_literal(domain: &str) -> bool {
    let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) else {
        return false;
    };
    if let Some(v6) = inner.strip_prefix("IPv6:").or_else(|| inner.strip_prefix("ipv6:")) {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    inner.parse::<std::net::Ipv4Addr>().is_ok() || inner.parse::<std::net::Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn errors_of(form: Form) -> Value {
        match form.errors.into_result() {
            Ok(()) => json!({}),
            Err(e) => e.body(),
        }
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
    fn emails_are_validated_like_django_and_lowercased() {
        let data = object(json!({"email": " Ada.Lovelace+X@Example.COM "}));
        let mut form = Form::new(&data);
        assert_eq!(form.email("email").as_deref(), Some("ada.lovelace+x@example.com"));
        for valid in [
            "a@b.co",
            "x@localhost",
            "\"john..doe\"@example.com",
            "u@[127.0.0.1]",
            "u@müller.de",
            "a@xn--p1ai.xn--p1ai",
        ] {
            assert!(is_valid_email(valid), "{valid}");
        }
        for invalid in [
            "plain",
            "a@",
            "@b.com",
            "a@b",
            "a@b.c",
            "a..b@c.com",
            ".a@c.com",
            "a@-b.com",
            "a@b-.com",
            "a@b.com-",
            "a b@c.com",
            "ü@b.com",
            "a@b..com",
            "a@[1.2.3]",
            "a@b.c0m-",
        ] {
            assert!(!is_valid_email(invalid), "{invalid}");
        }
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
}
