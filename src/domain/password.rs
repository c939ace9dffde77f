//! Django-compatible password hashes (`pbkdf2_sha256$<iterations>$<salt>$<b64 hash>`).
//!
//! Users migrated from the Django stack keep their stored hashes, and hashes written here must
//! verify there, so the format is byte-for-byte Django's `PBKDF2PasswordHasher`. This module is
//! pure: no I/O, no clock and no randomness (the caller supplies the salt bytes).

use base64ct::{Base64, Encoding};
use subtle::ConstantTimeEq;

/// The only algorithm this service can verify and the one it writes.
pub const ALGORITHM: &str = "pbkdf2_sha256";

/// Stored hashes claiming more iterations than this are refused outright, so one corrupt or
/// hostile row cannot pin a Worker's CPU (Django's own default is 1,000,000).
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// Django's `RANDOM_STRING_CHARS`, the alphabet of its salts.
const SALT_ALPHABET: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Length of a salt made by Django's `get_random_string(22)` and by [`new_salt`].
pub const SALT_LEN: usize = 22;

/// Output length of SHA-256, which is Django's `dklen` when none is given.
const KEY_LEN: usize = 32;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The password matches. `needs_rehash` follows Django's `must_update` (see
    /// [`check_password`] for the one deliberate difference), so the caller can
    /// store a fresh hash while it still holds the plaintext.
    Valid { needs_rehash: bool },
    /// Wrong password, or a stored value that cannot match any password (malformed, unusable).
    Invalid,
    /// A well-formed hash of an algorithm this service does not implement (named as Django
    /// names it, e.g. `argon2`, `unsalted_md5`); the password can neither be confirmed nor denied.
    UnsupportedAlgorithm(String),
}

/// Hashes `password` exactly as Django's `PBKDF2PasswordHasher().encode(password, salt,
/// iterations)` does, so the result can be stored in Django's `password` column.
///
/// `salt` should come from [`new_salt`]; it must not contain `$` (Django refuses such salts,
/// and the result would not parse back).
pub fn make_password(password: &str, salt: &str, iterations: u32) -> String {
    format!("{ALGORITHM}${iterations}${salt}${}", derive_b64(password, salt, iterations))
}

/// Turns 16 random bytes (from `getrandom`) into a 22-character salt over Django's alphabet
/// (a-z, A-Z, 0-9), the shape of Django's `get_random_string(22)`.
///
/// The bytes are read as one 128-bit integer and written out in base 62, least significant
/// digit first. Since 62^22 > 2^128 this is injective: every input gives a different salt, so
/// the salt carries the full 128 bits of the input with no modulo bias at all (Django draws 22
/// uniform characters, about 131 bits; Django's `must_update_salt` only asks for 128).
pub fn new_salt(random: &[u8; 16]) -> String {
    let mut n = u128::from_le_bytes(*random);
    let mut salt = String::with_capacity(SALT_LEN);
    for _ in 0..SALT_LEN {
        // `n % 62` is always < 62, so the index is in bounds.
        salt.push(char::from(SALT_ALPHABET[(n % 62) as usize]));
        n /= 62;
    }
    salt
}

/// Checks `password` against a stored Django hash, never panicking on a malformed value.
///
/// Like Django, the stored value is accepted only if re-encoding the password with its salt and
/// iteration count reproduces it exactly, so non-canonical variants (`01000`, `+1000`, missing
/// padding) are `Invalid` there and here. `needs_rehash` is set when the stored iteration count
/// is below `target_iterations`, or when the salt has under 128 bits of entropy (fewer than 22
/// characters: Django's `must_update_salt`). Unlike Django's `must_update` (`iterations !=
/// target`), a hash *above* the target is kept: a Worker configured with a lower cost must not
/// weaken hashes the Django stack wrote.
pub fn check_password(password: &str, encoded: &str, target_iterations: u32) -> Verdict {
    let Some(algorithm) = identify_algorithm(encoded) else {
        return Verdict::Invalid;
    };
    if algorithm != ALGORITHM {
        return Verdict::UnsupportedAlgorithm(algorithm.to_owned());
    }

    let Some((iterations, salt, stored_hash)) = checkable(encoded) else {
        return Verdict::Invalid;
    };
    let expected = derive_b64(password, salt, iterations);
    if bool::from(expected.as_bytes().ct_eq(stored_hash.as_bytes())) {
        Verdict::Valid { needs_rehash: iterations < target_iterations || salt.chars().count() < SALT_LEN }
    } else {
        Verdict::Invalid
    }
}

/// The PBKDF2 iterations `check_password` spends on `encoded` (0 when it runs none: another
/// algorithm, unusable or malformed). A failed login tops this up to the target with a dummy
/// hash, so a wrong password costs the same whatever the stored hash's work factor.
pub fn iterations_spent(encoded: &str) -> u32 {
    match identify_algorithm(encoded) {
        Some(ALGORITHM) => checkable(encoded).map_or(0, |(iterations, _, _)| iterations),
        _ => 0,
    }
}

/// The parts of a `pbkdf2_sha256` value worth hashing a password for: iterations, salt and the
/// stored hash field, or `None` when no password can match it (so no work is spent).
fn checkable(encoded: &str) -> Option<(u32, &str, &str)> {
    // Django: `algorithm, iterations, salt, hash = encoded.split("$", 3)`.
    let mut fields = encoded.splitn(4, '$');
    let (Some(_), Some(iterations), Some(salt), Some(stored_hash)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    let iterations = parse_iterations(iterations)?;
    // Django raises on an empty salt; a salt with `$` cannot occur after `splitn`.
    // A correct hash field is always 44 characters; anything else cannot match, so skip the work.
    if salt.is_empty() || stored_hash.len() != base64_len(KEY_LEN) {
        return None;
    }
    Some((iterations, salt, stored_hash))
}

/// Names the algorithm of a stored value the way Django's `identify_hasher` does, or `None`
/// when Django would not recognise any algorithm (empty, unusable `!…`, no `$`).
fn identify_algorithm(encoded: &str) -> Option<&str> {
    if encoded.starts_with('!') {
        // `make_password(None)`: an unusable password, which no input may match.
        return None;
    }
    let has_dollar = encoded.contains('$');
    let len = encoded.chars().count(); // Python's len()
    if (len == 32 && !has_dollar) || (len == 37 && encoded.starts_with("md5$$")) {
        return Some("unsalted_md5");
    }
    if len == 40 && !has_dollar {
        return Some("unsalted_sha1");
    }
    match encoded.split_once('$') {
        Some((algorithm, _)) if !algorithm.is_empty() => Some(algorithm),
        _ => None,
    }
}

/// Accepts only the canonical decimal form Django writes (`str(int)`), in `1..=MAX_ITERATIONS`.
fn parse_iterations(field: &str) -> Option<u32> {
    let canonical = !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit()) && !field.starts_with('0');
    if !canonical || field.len() > 10 {
        return None;
    }
    let iterations: u32 = field.parse().ok()?;
    (iterations <= MAX_ITERATIONS).then_some(iterations)
}

/// PBKDF2-HMAC-SHA256 of the UTF-8 password and salt, base64 with padding, like Django's
/// `base64.b64encode(pbkdf2(...)).decode("ascii").strip()`.
///
/// The key derivation is the workspace crate `pbkdf2-fast`: non-generic (so the release profile
/// compiles it at opt-level 3 whatever the rest is compiled for) and built on a word-level
/// SHA-256 that beats two `sha2::compress256` calls per iteration (`make bench` measures both).
fn derive_b64(password: &str, salt: &str, iterations: u32) -> String {
    let key: [u8; KEY_LEN] = pbkdf2_fast::pbkdf2_hmac_sha256(password.as_bytes(), salt.as_bytes(), iterations);
    Base64::encode_string(&key)
}

/// Length of padded base64 for `n` bytes.
const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_spent_on_a_check_is_the_stored_iteration_count_or_nothing() {
        assert_eq!(iterations_spent(&make_password("pw", "seasalt", 1000)), 1000);
        assert_eq!(iterations_spent(&make_password("pw", "seasalt", 100_000)), 100_000);
        for nothing_run in [
            "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA",
            "!unusable",
            "",
            "pbkdf2_sha256$1000$seasalt$short",
            "pbkdf2_sha256$01000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        ] {
            assert_eq!(iterations_spent(nothing_run), 0, "{nothing_run}");
        }
    }

    // Real Django output. Produced with Django 5.2.19 on CPython 3.13.0:
    //
    //   from django.conf import settings; settings.configure()
    //   from django.contrib.auth.hashers import PBKDF2PasswordHasher
    //   PBKDF2PasswordHasher().encode(password, salt, iterations)
    //
    // for each (password, salt, iterations) below.
    const DJANGO_VECTORS: &[(&str, &str, u32, &str)] = &[
        ("password", "seasalt", 1000, "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c="),
        (
            "pässwörd✓",
            "Xk3vQ9mZp2Lr7Tw1Yb5NcD",
            1000,
            "pbkdf2_sha256$1000$Xk3vQ9mZp2Lr7Tw1Yb5NcD$zXM2uwaCd+oAhtyvX//ffcLhZ5BcnkmFAfaMTz3YBvc=",
        ),
        (
            "correct horse battery staple",
            "AbCdEfGhIjKlMnOpQrStUv",
            1,
            "pbkdf2_sha256$1$AbCdEfGhIjKlMnOpQrStUv$f30eat1q8bmFSuw4HogvXXq8zbNZaOoB9krpINnl7ZQ=",
        ),
        (
            "",
            "qwertyuiopasdfghjklzxc",
            1000,
            "pbkdf2_sha256$1000$qwertyuiopasdfghjklzxc$ew5ghVSnpnw86nIK4ZN8u508tXHtmkx5UMpNPj2h33k=",
        ),
        (
            "securepass123!",
            "r4nd0mS4ltW1thTw3ntyTw",
            20000,
            "pbkdf2_sha256$20000$r4nd0mS4ltW1thTw3ntyTw$R5ksSqcIDqQYD9bCb3tJmdDCNjV6e4i/YpQT3ryCW8g=",
        ),
        (
            "日本語のパスワード",
            "ZZZZZZZZZZZZZZZZZZZZZZ",
            10,
            "pbkdf2_sha256$10$ZZZZZZZZZZZZZZZZZZZZZZ$pL6XMAHO80WSA/bJTvUlvHPhhXlWVA9NzB+3J79aZ8g=",
        ),
    ];

    // Same generator, at Django 5.2's default work factor (1,000,000 iterations). Verifying it
    // takes ~8 s in a debug build and ~0.1 s in release, so its test runs only in release.
    const DJANGO_DEFAULT_COST: &str =
        "pbkdf2_sha256$1000000$r4nd0mS4ltW1thTw3ntyTw$fY7S763SIUq/TUqJdbHznXZm1yzUtz4PhRq8i3yAngA=";

    #[test]
    fn make_password_reproduces_django_byte_for_byte() {
        for (password, salt, iterations, django) in DJANGO_VECTORS {
            assert_eq!(make_password(password, salt, *iterations), *django, "{password:?}");
        }
    }

    #[test]
    fn django_hashes_verify_with_the_right_password() {
        for (password, _, iterations, django) in DJANGO_VECTORS {
            let salt_is_long = !django.contains("$seasalt$");
            assert_eq!(
                check_password(password, django, *iterations),
                Verdict::Valid { needs_rehash: !salt_is_long },
                "{password:?}"
            );
        }
    }

    #[test]
    fn django_hashes_reject_the_wrong_password() {
        for (password, _, iterations, django) in DJANGO_VECTORS {
            let wrong = format!("{password}x");
            assert_eq!(check_password(&wrong, django, *iterations), Verdict::Invalid);
        }
        let (_, _, iterations, django) = DJANGO_VECTORS[1];
        // Same letters without the diacritics: UTF-8 bytes matter.
        assert_eq!(check_password("password✓", django, iterations), Verdict::Invalid);
    }

    #[test]
    #[cfg_attr(
        debug_assertions,
        ignore = "a million PBKDF2 rounds takes ~8 s unoptimised; runs under `cargo test --release`"
    )]
    fn django_default_cost_hash_verifies() {
        assert_eq!(
            check_password("securepass123!", DJANGO_DEFAULT_COST, 1_000_000),
            Verdict::Valid { needs_rehash: false }
        );
    }

    #[test]
    fn make_password_round_trips_through_check_password() {
        let salt = new_salt(&[7; 16]);
        let encoded = make_password("hunter2 ünïcødé", &salt, 1200);
        assert_eq!(check_password("hunter2 ünïcødé", &encoded, 1200), Verdict::Valid { needs_rehash: false });
        assert_eq!(check_password("hunter2", &encoded, 1200), Verdict::Invalid);
    }

    #[test]
    fn a_hash_below_the_target_cost_needs_rehash() {
        let (password, _, _, django) = DJANGO_VECTORS[2]; // 1 iteration, 22-char salt
        assert_eq!(check_password(password, django, 2), Verdict::Valid { needs_rehash: true });
    }

    #[test]
    fn a_hash_above_the_target_cost_does_not_need_rehash() {
        let (password, _, _, django) = DJANGO_VECTORS[4]; // 20000 iterations
        assert_eq!(check_password(password, django, 1000), Verdict::Valid { needs_rehash: false });
    }

    #[test]
    fn a_short_salt_needs_rehash_even_at_the_target_cost() {
        let (password, _, iterations, django) = DJANGO_VECTORS[0]; // salt "seasalt"
        assert_eq!(check_password(password, django, iterations), Verdict::Valid { needs_rehash: true });
    }

    #[test]
    fn tampered_hash_salt_or_iterations_are_invalid() {
        let (password, _, iterations, django) = DJANGO_VECTORS[1];
        let tampered = [
            django.replace("zXM2uw", "zXM2uW"),
            django.replace("$Xk3vQ9", "$Xk3vQ8"),
            django.replace("$1000$", "$1001$"),
            django.replace("$1000$", "$01000$"),
            django.replace("$1000$", "$+1000$"),
            django.replace("pbkdf2_sha256$", "pbkdf2_sha256$1000$"),
            format!("{django}$"),
            django.trim_end_matches('=').to_owned(),
            format!("{django}="),
            format!("!{django}"),
        ];
        for t in tampered {
            assert_eq!(check_password(password, &t, iterations), Verdict::Invalid, "{t}");
        }
    }

    #[test]
    fn other_django_algorithms_are_reported_as_unsupported() {
        let cases = [
            ("argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$aGFzaA", "argon2"),
            ("bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuu", "bcrypt_sha256"),
            ("scrypt$16384$salt$8$1$aGFzaA==", "scrypt"),
            ("pbkdf2_sha1$1000$salt$aGFzaA==", "pbkdf2_sha1"),
            ("md5$salt$5f4dcc3b5aa765d61d8327deb882cf99", "md5"),
            ("5f4dcc3b5aa765d61d8327deb882cf99", "unsalted_md5"),
            ("md5$$5f4dcc3b5aa765d61d8327deb882cf99", "unsalted_md5"),
            ("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "unsalted_sha1"),
        ];
        for (encoded, name) in cases {
            assert_eq!(
                check_password("password", encoded, 1000),
                Verdict::UnsupportedAlgorithm(name.to_owned()),
                "{encoded}"
            );
        }
    }

    #[test]
    fn unusable_and_empty_passwords_are_invalid() {
        for encoded in ["!", "!XyZ123unusable", "", "$", "pbkdf2_sha256"] {
            assert_eq!(check_password("", encoded, 1000), Verdict::Invalid, "{encoded:?}");
        }
    }

    #[test]
    fn absurd_iteration_counts_are_refused_without_hashing() {
        let b64 = "YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=";
        for iterations in ["0", "10000001", "4294967295", "4294967296", "99999999999999999999"] {
            let encoded = format!("pbkdf2_sha256${iterations}$seasalt${b64}");
            assert_eq!(check_password("password", &encoded, 1000), Verdict::Invalid);
        }
    }

    #[test]
    fn garbage_stored_values_never_panic() {
        let garbage = [
            "pbkdf2_sha256$",
            "pbkdf2_sha256$$$",
            "pbkdf2_sha256$$$$$$",
            "pbkdf2_sha256$1000",
            "pbkdf2_sha256$1000$salt",
            "pbkdf2_sha256$1000$$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
            "pbkdf2_sha256$abc$salt$hash",
            "pbkdf2_sha256$-1$salt$hash",
            "pbkdf2_sha256$1e3$salt$hash",
            "pbkdf2_sha256$١٠٠٠$salt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
            "pbkdf2_sha256$1$salt$not base64 at all, but forty-four chars long!",
            "pbkdf2_sha256$1$salt$ééééééééééééééééééééééé",
            "pbkdf2_sha256$1$✓$\u{0}",
            "\u{0}\u{0}\u{0}",
            "$$$$",
            "$pbkdf2_sha256$1$a$b",
        ];
        for encoded in garbage {
            assert_eq!(check_password("password", encoded, 1), Verdict::Invalid, "{encoded:?}");
        }
    }

    #[test]
    fn new_salt_has_djangos_length_and_alphabet() {
        for bytes in [[0u8; 16], [0xff; 16], [0x5a; 16], *b"0123456789abcdef"] {
            let salt = new_salt(&bytes);
            assert_eq!(salt.len(), SALT_LEN);
            assert!(salt.bytes().all(|b| b.is_ascii_alphanumeric()), "{salt}");
        }
    }

    #[test]
    fn new_salt_gives_distinct_salts_for_distinct_bytes() {
        let mut a = [0u8; 16];
        let mut b = [0u8; 16];
        b[15] = 1; // differs only in the most significant byte
        assert_ne!(new_salt(&a), new_salt(&b));
        a[0] = 1; // differs only in the least significant byte
        assert_ne!(new_salt(&a), new_salt(&[0u8; 16]));
        assert_eq!(new_salt(&[0u8; 16]), "a".repeat(SALT_LEN));
    }
}
