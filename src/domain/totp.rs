//! Time-based one-time passwords (RFC 6238) as every authenticator app reads them: HMAC-SHA1,
//! 6 digits, 30-second steps, the secret shown in RFC 4648 base32 and as a Google Authenticator
//! `otpauth://` key URI (with its QR code as SVG).
//!
//! `verify` accepts the code of the current step or of one step either side (clock drift, and a
//! code typed as it rolls over), and answers WHICH step matched: the caller stores it and passes
//! it back as `last_used_step`, so a code, once used, is refused until it has expired (RFC 6238
//! §5.2: "the verifier MUST NOT accept the second attempt of the OTP after the successful
//! validation has been issued for the first OTP"). Pure: the secret's bytes and the time come in.

use std::fmt;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// Digits of a code.
pub const DIGITS: usize = 6;
/// Seconds of a step.
pub const PERIOD: i64 = 30;
/// Bytes of a secret: 160 bits, the HMAC-SHA1 output size RFC 4226 §4 recommends.
pub const SECRET_LEN: usize = 20;
/// Steps accepted either side of the current one.
const DRIFT: i64 = 1;

/// A TOTP shared secret. Its `Debug` never shows it; it is read through `expose` (the HMAC key)
/// or `expose_base32` (what the user types or scans), each naming the moment it leaves.
#[derive(Clone)]
pub struct TotpSecret([u8; SECRET_LEN]);

impl TotpSecret {
    /// The secret from 20 random bytes the caller drew (`getrandom` in the worker).
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> TotpSecret {
        TotpSecret(bytes)
    }

    /// The secret back from its base32 form (as stored or shown); `None` unless it is exactly
    /// 20 bytes of canonical base32.
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        base32_decode(text)?.try_into().ok().map(TotpSecret)
    }

    pub fn expose(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    /// RFC 4648 base32 without padding (20 bytes are 32 characters, so there is none to drop):
    /// the `secret` of the key URI and what a user types when the camera fails.
    pub fn expose_base32(&self) -> String {
        base32_encode(&self.0)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// The step a Unix time falls in (floor division: times before 1970 fall in negative steps,
/// which no code is ever accepted for).
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(PERIOD)
}

/// The first Unix second after `step`: until then a code of `step` can still be accepted (the
/// drift window), so a replay guard kept elsewhere must live at least that long.
pub fn step_expires_at(step: i64) -> i64 {
    step.saturating_add(DRIFT + 1).saturating_mul(PERIOD)
}

/// RFC 4226's HOTP value before reduction to digits: HMAC-SHA1 of the big-endian counter,
/// dynamically truncated to 31 bits.
fn hotp_value(key: &[u8], counter: u64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    u32::from_be_bytes([hash[offset], hash[offset + 1], hash[offset + 2], hash[offset + 3]]) & 0x7fff_ffff
}

/// The 6-digit code of a step, zero-padded. `None` for a negative step.
pub fn code_at_step(secret: &TotpSecret, step: i64) -> Option<String> {
    let counter = u64::try_from(step).ok()?;
    Some(format!("{:06}", hotp_value(&secret.0, counter) % 1_000_000))
}

/// A code as sent, in the 6 ASCII digits compared: whitespace anywhere is dropped, because
/// authenticator apps show the code as `123 456` and a copy keeps the space (or a paste brings a
/// newline); nothing else is forgiven (no dashes, no Unicode digits). `None` for anything else.
fn normalise_code(code: &str) -> Option<[u8; DIGITS]> {
    let mut out = [0u8; DIGITS];
    let mut len = 0;
    for c in code.chars().filter(|c| !c.is_whitespace()) {
        if !c.is_ascii_digit() || len == DIGITS {
            return None;
        }
        out[len] = c as u8;
        len += 1;
    }
    (len == DIGITS).then_some(out)
}

/// Checks `code` against the steps around `now` (one either side) and answers the step it
/// matched, only if that step is later than `last_used_step`: the caller stores the answer as the
/// new `last_used_step`, which refuses that code (and every older one) from then on.
///
/// Every candidate step is computed and compared in constant time whatever matches; a malformed
/// code (wrong length, a non-digit) is refused before any of it, which tells nothing about the
/// secret. If two candidate steps both match (a one-in-a-million coincidence), the later is
/// answered, so the guard errs on refusing more.
pub fn verify(secret: &TotpSecret, code: &str, now_unix: i64, last_used_step: Option<i64>) -> Option<i64> {
    let sent = normalise_code(code)?;
    let current = step_at(now_unix);
    let mut found = Choice::from(0);
    let mut matched = -1i64;
    for step in current - DRIFT..=current + DRIFT {
        let Some(expected) = code_at_step(secret, step) else { continue };
        let fresh = last_used_step.is_none_or(|used| step > used);
        let hit = expected.as_bytes().ct_eq(&sent[..]) & Choice::from(u8::from(fresh));
        matched.conditional_assign(&step, hit);
        found |= hit;
    }
    bool::from(found).then_some(matched)
}

/// Characters kept as they are in a URI component (RFC 3986 `unreserved`).
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes every byte of UTF-8 but the unreserved ones: a space is `%20` (the key URI
/// format asks for it, not `+`), `@` is `%40`, a colon `%3A`.
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if is_unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0x0f)] as char);
        }
    }
    out
}

/// The Google Authenticator key URI:
/// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
///
/// Issuer and account are percent-encoded; a colon inside either becomes `%3A`, which apps that
/// split the label on an encoded colon would misread, so the `issuer` parameter (which apps
/// prefer to the label's prefix) is always given. The URI carries the secret: never log it.
pub fn otpauth_url(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        percent_encode(account),
        secret.expose_base32()
    )
}

/// Modules of white border around a QR code (ISO/IEC 18004's quiet zone).
pub const QR_QUIET_ZONE: i32 = 4;

/// `text` (an `otpauth://` URI) as a QR code in a small standalone SVG: a white background and
/// one `<path>` of dark modules, one unit per module, the quiet zone included in the `viewBox`,
/// no external reference, no fixed size (the page scales it; `shape-rendering="crispEdges"`
/// keeps the modules sharp). Error correction M (15 %). `None` if the text is too long for a QR
/// code (about 2 KB), which a key URI never is.
pub fn qr_svg(text: &str) -> Option<String> {
    // Byte mode, which any URI with a lower-case letter is in anyway: `encode_text` would only add
    // the code that picks numeric or alphanumeric mode (+5.8 KB of gzipped wasm, measured).
    let qr = qrcodegen::QrCode::encode_binary(text.as_bytes(), qrcodegen::QrCodeEcc::Medium).ok()?;
    let size = qr.size();
    let full = size + 2 * QR_QUIET_ZONE;
    let mut path = String::new();
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if !qr.get_module(x, y) {
                x += 1;
                continue;
            }
            // One rectangle per horizontal run of dark modules.
            let start = x;
            while x < size && qr.get_module(x, y) {
                x += 1;
            }
            let run = x - start;
            path.push_str(&format!("M{},{}h{run}v1h-{run}z", start + QR_QUIET_ZONE, y + QR_QUIET_ZONE));
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{full}\" height=\"{full}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

/// The base32 digit of a 5-bit value, without a table lookup indexed by secret bits (a
/// cache-timing channel, the reason base64ct exists): `A`–`Z` for 0–25, `2`–`7` for 26–31.
fn base32_digit(value: u8) -> u8 {
    let value = i16::from(value);
    // (25 - value) >> 8 is all ones exactly when value > 25: then shift from 'A'+v to '2'+(v-26).
    (value + i16::from(b'A') + (((25 - value) >> 8) & (i16::from(b'2') - 26 - i16::from(b'A')))) as u8
}

/// The 5-bit value of a base32 character, either case, or -1, branch-free like `base32_digit`.
fn base32_value(c: u8) -> i16 {
    let c = i16::from(c);
    let in_range = |lo: i16, hi: i16| ((lo - 1 - c) & (c - hi - 1)) >> 8;
    let mut value = -1;
    value += in_range(i16::from(b'A'), i16::from(b'Z')) & (c - i16::from(b'A') + 1);
    value += in_range(i16::from(b'a'), i16::from(b'z')) & (c - i16::from(b'a') + 1);
    value += in_range(i16::from(b'2'), i16::from(b'7')) & (c - i16::from(b'2') + 26 + 1);
    value
}

/// RFC 4648 base32, upper case, without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u16, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_digit(((buffer >> bits) & 0x1f) as u8) as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(base32_digit(((buffer << (5 - bits)) & 0x1f) as u8) as char);
    }
    out
}

/// RFC 4648 base32 in either case, padding (`=`) allowed at the end only; `None` for any other
/// character, an impossible length, or leftover bits that are not zero (non-canonical input).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u16, 0u32);
    let mut invalid = 0i16;
    for &c in text.as_bytes() {
        let value = base32_value(c);
        invalid |= value;
        buffer = (buffer << 5) | (value as u16 & 0x1f);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    (invalid >= 0 && buffer == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    /// RFC 6238 Appendix B's SHA-1 seed: the 20 ASCII bytes "12345678901234567890".
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(*b"12345678901234567890")
    }

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let vectors: [(i64, u32); 6] = [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ];
        for (time, eight_digits) in vectors {
            let step = step_at(time);
            assert_eq!(hotp_value(b"12345678901234567890", step as u64) % 100_000_000, eight_digits, "at {time}");
            // The 6-digit code is the same truncation reduced mod 10^6: the RFC value's last six digits.
            let six = format!("{:06}", eight_digits % 1_000_000);
            assert_eq!(code_at_step(&rfc_secret(), step).as_deref(), Some(six.as_str()), "at {time}");
            assert_eq!(verify(&rfc_secret(), &six, time, None), Some(step), "at {time}");
        }
    }

    #[test]
    fn rfc_4226_appendix_d_hotp_values() {
        // The same seed as HOTP counters 0..9 (RFC 4226 Appendix D, 6 digits).
        let codes =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (counter, code) in codes.iter().enumerate() {
            assert_eq!(code_at_step(&rfc_secret(), counter as i64).as_deref(), Some(*code));
        }
    }

    #[test]
    fn a_code_one_step_early_or_late_is_accepted_two_steps_are_not() {
        let now = 1_234_567_890;
        let step = step_at(now);
        for drift in [-1, 0, 1] {
            let code = code_at_step(&rfc_secret(), step + drift).unwrap();
            assert_eq!(verify(&rfc_secret(), &code, now, None), Some(step + drift), "drift {drift}");
        }
        for drift in [-2, 2, 3, -10] {
            let code = code_at_step(&rfc_secret(), step + drift).unwrap();
            assert_eq!(verify(&rfc_secret(), &code, now, None), None, "drift {drift}");
        }
    }

    #[test]
    fn a_used_code_is_refused_until_it_expires_and_a_later_one_is_accepted() {
        let now = 1_111_111_111;
        let step = step_at(now);
        let code = code_at_step(&rfc_secret(), step).unwrap();
        let used = verify(&rfc_secret(), &code, now, None).unwrap();
        // The same code again, now or at any time it would otherwise still be accepted.
        assert_eq!(verify(&rfc_secret(), &code, now, Some(used)), None);
        assert_eq!(verify(&rfc_secret(), &code, now + PERIOD, Some(used)), None);
        // An older code still inside the drift window is refused too: its step is not after the used one.
        let previous = code_at_step(&rfc_secret(), step - 1).unwrap();
        assert_eq!(verify(&rfc_secret(), &previous, now, Some(used)), None);
        // The next step's code is accepted, early (drift) or on time.
        let next = code_at_step(&rfc_secret(), step + 1).unwrap();
        assert_eq!(verify(&rfc_secret(), &next, now, Some(used)), Some(step + 1));
        assert_eq!(verify(&rfc_secret(), &next, now + PERIOD, Some(used)), Some(step + 1));
        // Past its window the used code is refused as expired, guard or not.
        assert_eq!(verify(&rfc_secret(), &code, step_expires_at(used), None), None);
        assert_eq!(verify(&rfc_secret(), &code, step_expires_at(used) - 1, None), Some(used));
    }

    #[test]
    fn another_secret_or_a_wrong_code_is_refused() {
        let now = 1_234_567_890;
        let code = code_at_step(&rfc_secret(), step_at(now)).unwrap();
        let other = TotpSecret::from_bytes([7; SECRET_LEN]);
        assert_eq!(verify(&other, &code, now, None), None);
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert_eq!(verify(&rfc_secret(), &wrong, now, None), None);
    }

    #[test]
    fn spaces_are_forgiven_anything_else_malformed_is_refused_without_panic() {
        let now = 59;
        let step = step_at(now);
        assert_eq!(verify(&rfc_secret(), "287 082", now, None), Some(step));
        assert_eq!(verify(&rfc_secret(), " 287082\n", now, None), Some(step));
        assert_eq!(verify(&rfc_secret(), "2 8 7\t0 8 2", now, None), Some(step));
        for bad in [
            "",
            "      ",
            "28708",
            "2870820",
            "94287082",
            "287-082",
            "28708a",
            "+87082",
            "-87082",
            "２８７０８２",
            "287082\0",
            "٢٨٧٠٨٢",
        ] {
            assert_eq!(verify(&rfc_secret(), bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn times_before_1970_and_at_the_extremes_do_not_panic() {
        assert_eq!(step_at(-1), -1);
        assert_eq!(code_at_step(&rfc_secret(), -1), None);
        // At time 0 only steps 0 and 1 are candidates.
        let code = code_at_step(&rfc_secret(), 0).unwrap();
        assert_eq!(verify(&rfc_secret(), &code, 0, None), Some(0));
        assert_eq!(verify(&rfc_secret(), &code, -PERIOD, None), Some(0));
        assert_eq!(verify(&rfc_secret(), "000000", i64::MIN, None), None);
        assert_eq!(verify(&rfc_secret(), "000000", i64::MAX - PERIOD * 2, Some(i64::MAX)), None);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = rfc_secret();
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(TotpSecret(<redacted>))");
    }

    #[test]
    fn base32_follows_rfc_4648_test_vectors_without_padding() {
        let vectors = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).as_deref(), Some(plain.as_bytes()));
            assert_eq!(base32_decode(&encoded.to_lowercase()).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(base32_decode("MZXW6YQ=").as_deref(), Some(&b"foob"[..]));
        assert_eq!(base32_decode("MZXW6YTBOI======").as_deref(), Some(&b"foobar"[..]));
    }

    #[test]
    fn base32_covers_every_digit_both_ways() {
        let all: Vec<u8> = (0..=255).collect();
        let encoded = base32_encode(&all);
        assert!(encoded.bytes().all(|c| BASE32_ALPHABET.contains(&c)));
        assert_eq!(base32_decode(&encoded), Some(all));
        for (value, &c) in BASE32_ALPHABET.iter().enumerate() {
            assert_eq!(base32_digit(value as u8), c);
            assert_eq!(base32_value(c), value as i16);
            assert_eq!(base32_value(c.to_ascii_lowercase()), value as i16);
        }
        for c in (0..=255u8).filter(|c| !c.is_ascii_alphabetic() && !(b'2'..=b'7').contains(c)) {
            assert_eq!(base32_value(c), -1, "{c}");
        }
    }

    #[test]
    fn base32_refuses_foreign_characters_bad_lengths_and_non_canonical_bits() {
        for bad in ["MZXW6YT1", "MZXW6YT8", "MZ XW6YTB", "MZXW6Y=B", "M", "MZX", "MZXW6Y", "MZXR", "é"] {
            assert_eq!(base32_decode(bad), None, "{bad:?}");
        }
        // "MZ" is "f"; "MZ" with a set low bit ("M2") carries bits no byte has.
        assert_eq!(base32_decode("M2"), None);
    }

    #[test]
    fn a_secret_round_trips_through_base32_as_32_characters() {
        let secret = TotpSecret::from_bytes(*b"12345678901234567890");
        assert_eq!(secret.expose_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let back = TotpSecret::from_base32("gezdgnbvgy3tqojqgezdgnbvgy3tqojq").unwrap();
        assert_eq!(back.expose(), secret.expose());
        assert!(TotpSecret::from_base32("GEZDGNBVGY3TQOJQ").is_none(), "10 bytes is not a secret");
    }

    #[test]
    fn the_key_uri_is_google_authenticators_format_with_issuer_and_account_encoded() {
        let secret = rfc_secret();
        assert_eq!(
            otpauth_url(&secret, "Example", "alice@google.com"),
            "otpauth://totp/Example:alice%40google.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example\
             &algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            otpauth_url(&secret, "ACME Co: Staging", "zoë+1 &x=y?#"),
            "otpauth://totp/ACME%20Co%3A%20Staging:zo%C3%AB%2B1%20%26x%3Dy%3F%23\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co%3A%20Staging&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn the_qr_code_is_one_small_standalone_svg_with_a_quiet_zone() {
        let svg = qr_svg(&otpauth_url(&rfc_secret(), "edge-auth", "alice@example.com")).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "), "{svg}");
        assert!(svg.ends_with("\"/></svg>"));
        assert_eq!(svg.matches("<path").count(), 1);
        assert_eq!(svg.matches('<').count(), 4, "svg, rect, path and the closing tag only");
        for external in ["href", "url(", "<script", "<image", "http://", "https://"] {
            let outside_namespace = svg.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            assert!(!outside_namespace.contains(external), "{external}");
        }
        // A square viewBox of the symbol's modules plus 4 modules of quiet zone each side, and a
        // symbol size QR codes have (21 + 4 per version).
        let view_box = svg.split("viewBox=\"0 0 ").nth(1).unwrap().split('"').next().unwrap();
        let sides: Vec<i32> = view_box.split(' ').map(|n| n.parse().unwrap()).collect();
        assert_eq!(sides[0], sides[1]);
        let modules = sides[0] - 2 * QR_QUIET_ZONE;
        assert!(modules >= 21 && (modules - 21) % 4 == 0, "{modules}");
        // Every dark run starts inside the symbol, never in the quiet zone.
        let d = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
        for run in d.split('M').filter(|r| !r.is_empty()) {
            let (x, rest) = run.split_once(',').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let len: i32 = rest.split_once('v').unwrap().0.parse().unwrap();
            let (x, y): (i32, i32) = (x.parse().unwrap(), y.parse().unwrap());
            assert!(x >= QR_QUIET_ZONE && y >= QR_QUIET_ZONE && y < QR_QUIET_ZONE + modules, "{run}");
            assert!(len >= 1 && x + len <= QR_QUIET_ZONE + modules, "{run}");
        }
        // The three finder patterns: the top-left one's first row is a run of 7 dark modules.
        assert!(d.starts_with(&format!("M{QR_QUIET_ZONE},{QR_QUIET_ZONE}h7v1h-7z")), "{d}");
        assert!(svg.len() < 12_000, "{}", svg.len());
    }

    #[test]
    fn text_too_long_for_a_qr_code_is_refused_not_panicked() {
        assert_eq!(qr_svg(&"x".repeat(4000)), None);
    }
}
