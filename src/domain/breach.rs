//! Breached passwords, as pure rules: Have I Been Pwned's Pwned Passwords range API asked with
//! k-anonymity. Only the first 5 hex digits of the password's SHA-1 leave the worker; the answer
//! lists the 35-digit suffixes of every known breached password under that prefix (with
//! `Add-Padding: true`, hundreds of decoys with count 0 besides), and the suffix is looked for
//! here, in constant time. The fetch and the cache are `app::breach`.

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use subtle::{Choice, ConstantTimeEq};

use crate::domain::fields::{FieldErrors, Form, Text};
use crate::domain::secrets::Password;

/// Appended to the password field's list, after Django's validators' messages.
pub const BREACHED: &str = "This password has appeared in a data breach and cannot be used.";

/// Hex digits of the SHA-1 sent to the range API, and kept.
pub const PREFIX_LEN: usize = 5;
pub const SUFFIX_LEN: usize = 35;

/// A password's SHA-1 (of its UTF-8 bytes, as Pwned Passwords hashes them) in upper-case hex,
/// split: `prefix` is what the range API is asked for, `suffix` never leaves the worker.
pub struct Hashed {
    pub prefix: String,
    suffix: [u8; SUFFIX_LEN],
}

impl Hashed {
    pub fn of(password: &str) -> Hashed {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        let digest = Sha1::digest(password.as_bytes());
        let mut hex = [0u8; 2 * 20];
        for (i, byte) in digest.iter().enumerate() {
            hex[2 * i] = DIGITS[usize::from(byte >> 4)];
            hex[2 * i + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
        let mut suffix = [0u8; SUFFIX_LEN];
        suffix.copy_from_slice(&hex[PREFIX_LEN..]);
        Hashed { prefix: String::from_utf8_lossy(&hex[..PREFIX_LEN]).into_owned(), suffix }
    }
}

/// One line of a range: a suffix (upper-cased) and how often it was seen (0: padding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    suffix: [u8; SUFFIX_LEN],
    count: u64,
}

/// A range answer that is not the protocol's: an error page, a truncated body, anything else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed;

/// Reads a range answer: `SUFFIX:COUNT` lines (35 hex digits, any case; a decimal count),
/// separated by CRLF or LF, blank lines ignored. Any other line makes the whole answer
/// malformed (so a garbled answer is never read as "not breached"), as does an answer without a
/// line: the real API has entries under every prefix, and padding adds hundreds.
pub fn parse_range(body: &str) -> Result<Vec<Entry>, Malformed> {
    let mut entries = Vec::new();
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line).trim();
        if line.is_empty() {
            continue;
        }
        let (suffix, count) = line.split_once(':').ok_or(Malformed)?;
        if suffix.len() != SUFFIX_LEN || !suffix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Malformed);
        }
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Malformed);
        }
        let mut entry = Entry { suffix: [0; SUFFIX_LEN], count: count.parse().unwrap_or(u64::MAX) };
        for (to, from) in entry.suffix.iter_mut().zip(suffix.bytes()) {
            *to = from.to_ascii_uppercase();
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(Malformed);
    }
    Ok(entries)
}

/// Whether `password` is in `range` with a count above 0. Every entry is compared, each in
/// constant time, and the verdicts are folded without branching: the time taken depends on the
/// range's length only, never on where (or whether) the suffix matched.
pub fn is_breached(range: &[Entry], password: &Hashed) -> bool {
    let mut found = Choice::from(0);
    for entry in range {
        let seen = Choice::from(u8::from(entry.count > 0));
        found |= entry.suffix.ct_eq(&password.suffix) & seen;
    }
    found.into()
}

/// The password a failed form still screens, so the breach verdict joins the validators' in the
/// same 400: when every failing field is one of `password_fields` (the password and its
/// confirmation, whose messages the range's verdict would sit beside) and `field` itself reads
/// as a password under `spec`. `None` when another field failed too: that request is refused
/// anyway, and the range API is not asked for it.
pub fn still_screened(
    data: &Map<String, Value>,
    errors: &FieldErrors,
    field: &str,
    password_fields: &[&str],
    spec: Text,
) -> Option<Password> {
    if !errors.iter().all(|(name, _)| password_fields.contains(&name)) {
        return None;
    }
    Form::new(data).required(field, spec).map(Password::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8, seen 10 million times.
    const PASSWORD_SUFFIX: &str = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";

    #[test]
    fn the_sha1_is_split_into_the_five_digits_sent_and_the_thirty_five_kept() {
        let hashed = Hashed::of("password");
        assert_eq!(hashed.prefix, "5BAA6");
        assert_eq!(&hashed.suffix, PASSWORD_SUFFIX.as_bytes());
        // Pwned Passwords hashes the UTF-8 bytes: SHA-1("pässwörd").
        let hashed = Hashed::of("p\u{e4}ssw\u{f6}rd");
        let expected = "F517DDF1D32A112FF1AD55C66D1B12CB38E7E8F7";
        assert_eq!((hashed.prefix.as_str(), &hashed.suffix[..]), (&expected[..5], &expected.as_bytes()[5..]));
    }

    #[test]
    fn a_range_is_read_with_crlf_or_lf_and_padding_lines_count_zero() {
        let crlf = format!("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{PASSWORD_SUFFIX}:10434004\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n");
        let lf = crlf.replace("\r\n", "\n");
        for body in [&crlf, &lf, &crlf.trim_end().to_owned()] {
            let range = parse_range(body).unwrap();
            assert_eq!(range.len(), 3);
            assert_eq!(range[1].count, 10_434_004);
            assert_eq!(range[2].count, 0);
            assert!(is_breached(&range, &Hashed::of("password")));
        }
    }

    #[test]
    fn lower_case_suffixes_are_read_as_upper_case() {
        let range = parse_range(&format!("{}:3", PASSWORD_SUFFIX.to_ascii_lowercase())).unwrap();
        assert!(is_breached(&range, &Hashed::of("password")));
    }

    #[test]
    fn a_padding_line_never_matches_even_with_the_passwords_own_suffix() {
        let range = parse_range(&format!("{PASSWORD_SUFFIX}:0\r\n")).unwrap();
        assert!(!is_breached(&range, &Hashed::of("password")));
    }

    #[test]
    fn a_suffix_that_is_not_listed_is_not_breached() {
        let range = parse_range("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n").unwrap();
        assert!(!is_breached(&range, &Hashed::of("password")));
        // One digit off, at either end, is another password.
        for near in ["0E4C9B93F3F0682250B6CF8331B7EE68FD8", "1E4C9B93F3F0682250B6CF8331B7EE68FD9"] {
            assert!(!is_breached(&parse_range(&format!("{near}:5")).unwrap(), &Hashed::of("password")));
        }
    }

    #[test]
    fn anything_but_the_protocol_is_malformed_never_an_empty_range() {
        for body in [
            "",
            "\r\n\r\n",
            "<html><body>502 Bad Gateway</body></html>",
            // The full 40-digit hash, a short suffix, no count, a signed, decimal or hex count.
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:1",
            "1E4C9B93F3F0682250B6CF8331B7EE68FD:1",
            "1E4C9B93F3F0682250B6CF8331B7EE68FD8",
            "1E4C9B93F3F0682250B6CF8331B7EE68FD8:",
            "1E4C9B93F3F0682250B6CF8331B7EE68FD8:-1",
            "1E4C9B93F3F0682250B6CF8331B7EE68FD8:1.5",
            "1E4C9B93F3F0682250B6CF8331B7EE68FD8:1F",
            "1E4C9B93F3F0682250B6CF8331B7EE68FDZ:1",
            // A good line then a truncated one: the whole answer is refused.
            "1E4C9B93F3F0682250B6CF8331B7EE68FD8:1\r\n1E4C9B93F3F06822",
        ] {
            assert_eq!(parse_range(body), Err(Malformed), "{body:?}");
        }
    }

    #[test]
    fn a_huge_count_is_still_a_count() {
        let range = parse_range(&format!("{PASSWORD_SUFFIX}:99999999999999999999999")).unwrap();
        assert!(is_breached(&range, &Hashed::of("password")));
    }

    #[test]
    fn a_failed_form_is_screened_only_when_its_password_fields_alone_failed() {
        let data = json!({"email": "x", "password": "hunter22", "password_confirm": "other"});
        let data = data.as_object().unwrap();
        let fields = ["password", "password_confirm"];
        let mut errors = FieldErrors::single("password", "This password is too common.");
        errors.add("password_confirm", "Passwords do not match.");
        assert_eq!(
            still_screened(data, &errors, "password", &fields, Text::REQUIRED).as_ref().map(Password::expose),
            Some("hunter22")
        );
        errors.add("email", "Enter a valid email address.");
        assert!(still_screened(data, &errors, "password", &fields, Text::REQUIRED).is_none());
        // A password that does not read as one (blank, null, a list, too long) is not screened.
        for bad in [json!(""), json!(null), json!(["hunter22"]), json!("x".repeat(129))] {
            let data = json!({ "password": bad });
            let errors = FieldErrors::single("password", "whatever the form said");
            let spec = Text { max_length: Some(128), ..Text::REQUIRED };
            assert!(still_screened(data.as_object().unwrap(), &errors, "password", &fields, spec).is_none());
        }
    }
}
