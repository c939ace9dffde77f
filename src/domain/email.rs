//! One mailbox, one spelling: the email normalisation every way in (register, login,
//! import-django) goes through, so that twins of an address cannot become second accounts.
//!
//! An address is read as follows, and is valid only if every step succeeds:
//! 1. mapped as a whole by UTS #46's mapping (NFKC with case folding, which the IDNA step below
//!    uses anyway): fullwidth `ｅｘａｍｐｌｅ` and `＠` become `example` and `@`, ligatures and
//!    compatibility forms their plain letters, and invisible characters (soft hyphen, joiners,
//!    variation selectors) are dropped. ICU4X's mapper is used rather than a separate NFKC crate:
//!    the same data serves both steps, and the wasm stays within its size budget;
//! 2. split at its last `@`; the local part must be a dot-atom of ASCII `atext` (Django's
//!    `EmailValidator` also accepts quoted local parts such as `"victim"@example.com`: edge-auth
//!    refuses them, as one mailbox can be spelt quoted and unquoted);
//! 3. the domain, unless an IP literal, is IDNA-encoded (UTS #46, punycode): `müller.de` and
//!    `xn--mller-kva.de` are the same domain, and so are `MÜLLER.de` and `müller.DE`;
//! 4. the result is checked as Django's `EmailValidator` checks an address, and lowercased as a
//!    whole (the contract stores emails lowercased, so the local part compares without regard to
//!    case); it is then plain ASCII.
//!
//! Its length limit (Django's `EmailField`, 254 characters) applies to that stored form.

use std::fmt;
use std::ops::Deref;

use icu_normalizer::uts46::Uts46Mapper;
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// Django's `EmailField` default.
pub const EMAIL_MAX: usize = 254;

/// An address in its one stored spelling; only `Email::parse` makes one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why an address was refused: too long, not an address, or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmailError {
    /// Longer than `EMAIL_MAX` characters once normalised.
    pub too_long: bool,
    /// Not a valid address (including a domain that cannot be IDNA-encoded).
    pub invalid: bool,
}

impl Email {
    /// Normalises and checks an address (already trimmed, as DRF's fields do).
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let mapped: String = Uts46Mapper::new().map_normalize(input.chars()).collect();
        match normalize(&mapped) {
            Some(email) if email.chars().count() > EMAIL_MAX => Err(EmailError { too_long: true, invalid: false }),
            Some(email) => Ok(Email(email)),
            None => Err(EmailError { too_long: mapped.chars().count() > EMAIL_MAX, invalid: true }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl Deref for Email {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Steps 2–4 on a mapped address; `None` when it is not a valid one.
fn normalize(mapped: &str) -> Option<String> {
    // Bounds the IDNA work; anything longer is refused whatever it would encode to.
    if mapped.is_empty() || mapped.len() > 4 * EMAIL_MAX {
        return None;
    }
    let (local, domain) = mapped.rsplit_once('@')?;
    if !is_dot_atom(local) {
        return None;
    }
    let domain = if is_ip_literal(domain) { domain.to_owned() } else { domain_to_ascii(domain)? };
    let email = format!("{local}@{domain}").to_ascii_lowercase();
    let domain = &email[local.len() + 1..];
    (domain == "localhost" || is_valid_domain(domain) || is_ip_literal(domain)).then_some(email)
}

/// The domain as DNS carries it: UTS #46 mapping (which also lowercases) and punycode, with the
/// STD3 rules (letters, digits, hyphens) and DNS lengths. Hyphens in the third and fourth
/// positions are allowed (real hosts have them); leading and trailing ones are not.
fn domain_to_ascii(domain: &str) -> Option<String> {
    Uts46::new()
        .to_ascii(domain.as_bytes(), AsciiDenyList::STD3, Hyphens::CheckFirstLast, DnsLength::Verify)
        .ok()
        .map(|ascii| ascii.into_owned())
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{}|~-".contains(c)
}

/// RFC 5322's dot-atom: what Django's `EmailValidator` accepts unquoted.
fn is_dot_atom(local: &str) -> bool {
    !local.is_empty() && local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// Django's domain rule on an ASCII domain: LDH labels of 1–63 characters, not starting or
/// ending with a hyphen, and a TLD of 2–63 characters that does not end with one.
fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let Some((tld, rest)) = labels.split_last() else {
        return false;
    };
    let ldh = |label: &str| label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let label_ok =
        |label: &str| (1..=63).contains(&label.len()) && !label.starts_with('-') && !label.ends_with('-') && ldh(label);
    let tld_ok = (2..=63).contains(&tld.len()) && !tld.ends_with('-') && ldh(tld);
    !rest.is_empty() && tld_ok && rest.iter().all(|label| label_ok(label))
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

    fn parsed(input: &str) -> Result<String, EmailError> {
        Email::parse(input).map(Email::into_string)
    }

    const INVALID: EmailError = EmailError { too_long: false, invalid: true };

    #[test]
    fn an_address_is_stored_lowercased() {
        assert_eq!(parsed("Ada.Lovelace+X@Example.COM").as_deref(), Ok("ada.lovelace+x@example.com"));
    }

    #[test]
    fn fullwidth_and_compatibility_forms_are_their_plain_letters() {
        for twin in [
            "victim@ｅｘａｍｐｌｅ.com",
            "ｖｉｃｔｉｍ＠ｅｘａｍｐｌｅ．ｃｏｍ",
            "VICTIM@EXAMPLE.COM",
            "victim@example。com",
            "victim@ＥＸＡＭＰＬＥ.com",
        ] {
            assert_eq!(parsed(twin).as_deref(), Ok("victim@example.com"), "{twin}");
        }
        // U+FB01 LATIN SMALL LIGATURE FI, U+212A KELVIN SIGN, U+2460 CIRCLED DIGIT ONE.
        assert_eq!(parsed("\u{fb01}le@\u{212a}iwi.nz").as_deref(), Ok("file@kiwi.nz"));
        assert_eq!(parsed("a\u{2460}@example.com").as_deref(), Ok("a1@example.com"));
    }

    #[test]
    fn an_idn_domain_and_its_punycode_are_one_domain() {
        for twin in ["u@müller.de", "u@xn--mller-kva.de", "U@MÜLLER.DE", "u@XN--MLLER-KVA.DE", "u@mu\u{308}ller.de"] {
            assert_eq!(parsed(twin).as_deref(), Ok("u@xn--mller-kva.de"), "{twin}");
        }
        assert_eq!(parsed("a@пример.рф").as_deref(), Ok("a@xn--e1afmkfd.xn--p1ai"));
        assert_eq!(parsed("a@xn--p1ai.xn--p1ai").as_deref(), Ok("a@xn--p1ai.xn--p1ai"));
        // Nontransitional UTS #46: ß is its own letter, not "ss".
        assert_eq!(parsed("a@straße.de").as_deref(), Ok("a@xn--strae-oqa.de"));
    }

    #[test]
    fn quoted_local_parts_are_refused() {
        for quoted in ["\"victim\"@example.com", "\"john..doe\"@example.com", "\"a b\"@example.com", "\"\"@example.com"]
        {
            assert_eq!(parsed(quoted), Err(INVALID), "{quoted}");
        }
    }

    #[test]
    fn domains_that_cannot_be_idna_encoded_are_invalid() {
        for bad in [
            "a@xn--zz.com",     // not punycode
            "a@xn--a.com",      // decodes to nothing IDNA allows
            "a@a\u{200d}b.com", // a joiner outside its context
            "a@\u{5d0}a.com",   // a right-to-left label holding a left-to-right letter
            "a@exa_mple.com",   // not a letter, digit or hyphen
            "a@ex ample.com",
            "a@\u{e000}.com", // a private-use character
            "a@-example.com",
            "a@example-.com",
        ] {
            assert_eq!(parsed(bad), Err(INVALID), "{bad:?}");
        }
    }

    #[test]
    fn addresses_are_validated_like_django() {
        for valid in ["a@b.co", "x@localhost", "u@[127.0.0.1]", "u@[IPv6:::1]", "r3---sn-x@r3---sn-abc.googlevideo.com"]
        {
            assert!(Email::parse(valid).is_ok(), "{valid}");
        }
        for invalid in [
            "",
            "plain",
            "a@",
            "@b.com",
            "a@b",
            "a@b.c",
            "a..b@c.com",
            ".a@c.com",
            "a.@c.com",
            "a@b.com-",
            "a b@c.com",
            "ü@b.com",
            "a@b..com",
            "a@[1.2.3]",
            "a@b.c0m-",
            "a@b.com.",
            "a@@b.com",
            "a\u{0}@b.com",
            "a\n@b.com",
            "a@b.com\n",
        ] {
            assert_eq!(Email::parse(invalid), Err(INVALID), "{invalid:?}");
        }
    }

    #[test]
    fn the_length_limit_applies_to_the_stored_form() {
        let at_limit = format!("{}@example.com", "a".repeat(EMAIL_MAX - 12));
        assert_eq!(parsed(&at_limit).map(|e| e.len()), Ok(EMAIL_MAX));
        let over = format!("a{at_limit}");
        assert_eq!(parsed(&over), Err(EmailError { too_long: true, invalid: false }));
        // Fullwidth letters are one character each in and out: 254 of them stay 254.
        let fullwidth = format!("{}@example.com", "ａ".repeat(EMAIL_MAX - 12));
        assert!(parsed(&fullwidth).is_ok());
        // Punycode makes a domain longer than it was typed: the stored form counts.
        let label = cjk(20);
        let typed = format!("{}@{label}.{label}.de", "a".repeat(EMAIL_MAX - 2 * 20 - 5));
        assert_eq!(typed.chars().count(), EMAIL_MAX);
        assert_eq!(parsed(&typed), Err(EmailError { too_long: true, invalid: false }));
        // Malformed and too long: both reported.
        let both = format!("{}@", "a".repeat(300));
        assert_eq!(parsed(&both), Err(EmailError { too_long: true, invalid: true }));
    }

    #[test]
    fn a_label_longer_than_dns_allows_is_invalid() {
        assert!(parsed(&format!("a@{}.com", "b".repeat(63))).is_ok());
        assert_eq!(parsed(&format!("a@{}.com", "b".repeat(64))), Err(INVALID));
        // 22 characters typed are 63 once encoded, 23 are 66.
        assert_eq!(parsed(&format!("a@{}.de", cjk(22))).map(|e| e.len()), Ok("a@.de".len() + 63));
        assert_eq!(parsed(&format!("a@{}.de", cjk(23))), Err(INVALID));
    }

    /// `n` distinct CJK ideographs: each takes about three characters of punycode.
    fn cjk(n: u32) -> String {
        (0..n).map(|i| char::from_u32(0x4e00 + i * 97).unwrap()).collect()
    }

    #[test]
    fn invisible_characters_do_not_make_a_twin() {
        // U+00AD SOFT HYPHEN, U+200B ZERO WIDTH SPACE, U+FE0F a variation selector: all ignored.
        assert_eq!(parsed("vic\u{ad}tim@exam\u{ad}ple.com").as_deref(), Ok("victim@example.com"));
        assert_eq!(parsed("victim\u{fe0f}@example.com").as_deref(), Ok("victim@example.com"));
        assert_eq!(parsed("vic\u{200b}tim@example.com").as_deref(), Ok("victim@example.com"));
    }

    #[test]
    fn a_stored_email_parses_to_itself() {
        for input in ["victim@ｅｘａｍｐｌｅ.com", "u@müller.de", "a@пример.рф", "x@localhost", "u@[IPv6:::1]"]
        {
            let once = parsed(input).unwrap();
            assert_eq!(parsed(&once).as_deref(), Ok(once.as_str()), "{input}");
            assert!(once.is_ascii(), "{once}");
        }
    }
}
