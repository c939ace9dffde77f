//! Django-compatible password hashes: every hasher Django ships for real use verifies here
//! (`pbkdf2_sha256` at any count, `pbkdf2_sha1`, `argon2` in its argon2id/argon2i/argon2d forms,
//! `bcrypt_sha256`, `bcrypt`, `scrypt`), bit-exact with Django, and new hashes are written at the
//! configured [`Target`]: `pbkdf2_sha256` (Django's default) or `argon2id`, both in the form
//! Django's own hashers read, so Django keeps verifying them while both systems run.
//!
//! This module is pure: no I/O, no clock and no randomness (the caller supplies the salt).

pub mod argon2;
mod bcrypt;
pub mod pbkdf2;
mod scrypt;

pub use self::pbkdf2::{make_password, MAX_ITERATIONS};

/// The most memory one hash may use, verified or written: a Workers isolate has 128 MB for
/// everything, of which this leaves 24 MB to the JS heap, the wasm module's own data and the
/// request. It admits Django's argon2 default (100 MiB) and refuses anything larger.
pub const MAX_HASH_MEMORY_BYTES: u64 = 104 * 1024 * 1024;

/// Django's `RANDOM_STRING_CHARS`, the alphabet of its salts.
const SALT_ALPHABET: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Length of a salt made by Django's `get_random_string(22)` and by [`new_salt`]: 128 bits of
/// entropy, what Django's `must_update_salt` asks for.
pub const SALT_LEN: usize = 22;

/// The salt of the dummy hash a failed login spends its work on.
const DUMMY_SALT: &str = "edge-auth-no-such-user";

/// The hash new passwords are stored with (`PASSWORD_HASHER`), and the bar an old hash is
/// upgraded to on a successful login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Django's `PBKDF2PasswordHasher` at this many iterations (Django 5.2: 1,000,000).
    Pbkdf2Sha256 { iterations: u32 },
    /// Django's `Argon2PasswordHasher` (argon2id, version 0x13) at this cost.
    Argon2id(argon2::Cost),
}

impl Target {
    /// Hashes `password` with `salt` (from [`new_salt`]).
    pub fn hash(&self, password: &str, salt: &str) -> String {
        match self {
            Target::Pbkdf2Sha256 { iterations } => make_password(password, salt, *iterations),
            Target::Argon2id(cost) => argon2::make_password(password, salt, cost),
        }
    }

    /// Django's `must_update`, with one deliberate difference: a hash is upgraded when its
    /// algorithm differs from the target's or its cost is *below* the target's in any parameter
    /// (or its salt is short), never when it is stronger, so a worker configured with a lower cost
    /// does not weaken hashes the Django side wrote.
    fn must_update(&self, stored: &Stored<'_>) -> bool {
        match (self, stored) {
            (Target::Pbkdf2Sha256 { iterations }, Stored::Pbkdf2(stored))
                if stored.digest == pbkdf2::Digest::Sha256 =>
            {
                stored.iterations < *iterations || stored.salt.chars().count() < SALT_LEN
            }
            (Target::Argon2id(cost), Stored::Argon2(stored)) => {
                stored.algorithm != ::argon2::Algorithm::Argon2id
                    || stored.version != ::argon2::Version::V0x13
                    || stored.cost.below(cost)
                    || stored.salt.len() < SALT_LEN
            }
            _ => true,
        }
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The password matches; `needs_rehash` says whether to store a fresh hash at the target
    /// while the plaintext is at hand (see [`Target::must_update`]).
    Valid { needs_rehash: bool },
    /// Wrong password, or a stored value that cannot match any password (malformed, unusable,
    /// beyond the cost a login may spend).
    Invalid,
    /// A well-formed hash of an algorithm this service does not implement (named as Django
    /// names it, e.g. `md5`, `unsalted_md5`); the password can neither be confirmed nor denied.
    UnsupportedAlgorithm(String),
}

/// What a failed check still owes so that it costs what a check at the target costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owed {
    /// The stored hash's own check ran, at the target's algorithm and cost or at another
    /// algorithm's (Django's rule: no padding across a change of hasher).
    Nothing,
    /// A `pbkdf2_sha256` hash below a `pbkdf2_sha256` target: the missing iterations.
    Pbkdf2Iterations(u32),
    /// No check ran (no such user, unusable, malformed, unsupported): a whole target hash.
    TargetHash,
}

/// A parsed stored value whose check costs real work.
enum Stored<'a> {
    Pbkdf2(pbkdf2::Stored<'a>),
    Argon2(argon2::Stored),
    Bcrypt(bcrypt::Stored),
    Scrypt(scrypt::Stored<'a>),
}

impl Stored<'_> {
    fn verify(&self, password: &str) -> bool {
        match self {
            Stored::Pbkdf2(stored) => stored.verify(password),
            Stored::Argon2(stored) => stored.verify(password),
            Stored::Bcrypt(stored) => stored.verify(password),
            Stored::Scrypt(stored) => stored.verify(password),
        }
    }
}

/// Why a stored value is not run.
enum NotRun {
    /// Unusable (`!…`), empty, malformed, or beyond the cost a login may spend.
    Unmatchable,
    /// Django would recognise it, but this service does not implement it.
    Unsupported(String),
}

fn parse(encoded: &str) -> Result<Stored<'_>, NotRun> {
    let algorithm = identify_algorithm(encoded).ok_or(NotRun::Unmatchable)?;
    let stored = match algorithm {
        "pbkdf2_sha256" => pbkdf2::parse(encoded, pbkdf2::Digest::Sha256).map(Stored::Pbkdf2),
        "pbkdf2_sha1" => pbkdf2::parse(encoded, pbkdf2::Digest::Sha1).map(Stored::Pbkdf2),
        "argon2" => argon2::parse(encoded).map(Stored::Argon2),
        "bcrypt_sha256" | "bcrypt" => bcrypt::parse(encoded).map(Stored::Bcrypt),
        "scrypt" => scrypt::parse(encoded).map(Stored::Scrypt),
        other => return Err(NotRun::Unsupported(other.to_owned())),
    };
    stored.ok_or(NotRun::Unmatchable)
}

/// Checks `password` against a stored Django hash, never panicking on a malformed value.
pub fn check_password(password: &str, encoded: &str, target: &Target) -> Verdict {
    match parse(encoded) {
        Ok(stored) if stored.verify(password) => Verdict::Valid { needs_rehash: target.must_update(&stored) },
        Ok(_) | Err(NotRun::Unmatchable) => Verdict::Invalid,
        Err(NotRun::Unsupported(algorithm)) => Verdict::UnsupportedAlgorithm(algorithm),
    }
}

/// Why no password can ever match `encoded`, if none can (for `import-django`'s notes): an
/// unusable password, an algorithm not implemented here, a malformed value or one that asks for
/// more memory or work than a login may spend.
pub fn unverifiable(encoded: &str) -> Option<String> {
    match parse(encoded) {
        Ok(_) => None,
        Err(NotRun::Unsupported(algorithm)) => {
            Some(format!("the password hash algorithm {algorithm:?} is not one edge-auth verifies"))
        }
        Err(NotRun::Unmatchable) => Some(match identify_algorithm(encoded) {
            None => "the password is unusable (Django's set_unusable_password)".to_owned(),
            Some(algorithm) => format!("the {algorithm:?} hash is malformed or costs more than a login may spend"),
        }),
    }
}

/// What a failed check of `encoded` owes (see [`Owed`]); `None` for an unknown user.
pub fn owed_on_failure(encoded: Option<&str>, target: &Target) -> Owed {
    let stored = encoded.map(parse);
    match (stored, target) {
        (Some(Ok(Stored::Pbkdf2(stored))), Target::Pbkdf2Sha256 { iterations })
            if stored.digest == pbkdf2::Digest::Sha256 =>
        {
            match iterations.saturating_sub(stored.iterations) {
                0 => Owed::Nothing,
                missing => Owed::Pbkdf2Iterations(missing),
            }
        }
        (Some(Ok(_)), _) => Owed::Nothing,
        (Some(Err(_)) | None, _) => Owed::TargetHash,
    }
}

/// Spends what a failed check owes on a dummy hash. black_box: the result is unused and must not
/// be optimised away.
pub fn pay(password: &str, owed: Owed, target: &Target) {
    match owed {
        Owed::Nothing => {}
        Owed::Pbkdf2Iterations(missing) => {
            std::hint::black_box(make_password(password, DUMMY_SALT, missing));
        }
        Owed::TargetHash => {
            std::hint::black_box(target.hash(password, DUMMY_SALT));
        }
    }
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

/// Names the algorithm of a stored value the way Django's `identify_hasher` does, or `None`
/// when Django would not recognise any algorithm (empty, unusable `!…`, no `$`).
pub fn identify_algorithm(encoded: &str) -> Option<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pbkdf2(iterations: u32) -> Target {
        Target::Pbkdf2Sha256 { iterations }
    }

    #[test]
    fn a_failed_check_owes_the_rest_of_the_target_or_a_whole_dummy_hash() {
        let target = pbkdf2(100_000);
        assert_eq!(
            owed_on_failure(Some(&make_password("pw", "seasalt", 1000)), &target),
            Owed::Pbkdf2Iterations(99_000)
        );
        assert_eq!(owed_on_failure(Some(&make_password("pw", "seasalt", 100_000)), &target), Owed::Nothing);
        assert_eq!(owed_on_failure(Some(&make_password("pw", "seasalt", 200_000)), &target), Owed::Nothing);
        assert_eq!(owed_on_failure(None, &target), Owed::TargetHash);
        for nothing_run in [
            "md5$salt$5f4dcc3b5aa765d61d8327deb882cf99",
            "!unusable",
            "",
            "pbkdf2_sha256$1000$seasalt$short",
            "pbkdf2_sha256$01000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
        ] {
            assert_eq!(owed_on_failure(Some(nothing_run), &target), Owed::TargetHash, "{nothing_run}");
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

    // Real Django output for every other hasher it ships for real use, made with Django 5.2.19,
    // argon2-cffi 25.1.0 and bcrypt 5.0.0 on CPython 3.11 (`Argon2PasswordHasher`,
    // `BCryptSHA256PasswordHasher`, `BCryptPasswordHasher`, `ScryptPasswordHasher`,
    // `PBKDF2SHA1PasswordHasher`, at their defaults or the costs the names say; the argon2i one is
    // argon2-cffi's `hash_secret(type=Type.I, hash_len=16)` as Django before 3.2 wrote it).
    // `make interop` makes fresh ones with the same Django and logs in with them.
    const DJANGO_OTHER_HASHERS: &[(&str, &str, &str)] = &[
        ("argon2id, Django's default cost", "correct horse battery staple",
         "argon2$argon2id$v=19$m=102400,t=2,p=8$WGszdlE5bVpwMkxyN1R3MVliNU5jRA$6r4jgGhsfzvjVSvkkqiTEUVFoWm6C1xXkVerHN4IgLA"),
        ("argon2id, small", "pässwörd✓",
         "argon2$argon2id$v=19$m=64,t=1,p=2$QWJDZEVmR2hJaktsTW5PcFFyU3RVdg$BjNLe4xmbtXN/f7jV3M5/MTjJTUFXSyG2Hupj/5qTwI"),
        ("argon2id, OWASP's cost", "securepass123!",
         "argon2$argon2id$v=19$m=19456,t=2,p=1$cjRuZDBtUzRsdFcxdGhUdzNudHlUdw$wdpnLng0CyNKyz3hpWR3lUEL+8y2PASIo22u7Ywck8U"),
        ("argon2i, 16-byte hash", "legacy password",
         "argon2$argon2i$v=19$m=512,t=2,p=2$cXdlcnR5dWlvcGFzZGZnaGprbHp4Yw$b1rZcaKlYxPGlSWu95yf4g"),
        ("bcrypt_sha256, cost 4", "correct horse battery staple",
         "bcrypt_sha256$$2b$04$hPuPv205DQIvEG6c1ZTxluu12BDdIxUTmaYnut6fnsDR7x42FwkZi"),
        ("bcrypt_sha256, Django's default cost", "日本語のパスワード",
         "bcrypt_sha256$$2b$12$.gfUEqV9Drty4EaFcm7Es.9F6spYTYQhQYS4LueSP1THA/XASdk1i"),
        ("bcrypt, cost 5", "password", "bcrypt$$2b$05$kxUOfRKhiJb1t0OiWJDms./SqFxWQtvUn3wHinQ5EPWqs9LT2/wrG"),
        ("bcrypt, empty password", "", "bcrypt$$2b$04$S124meU0aTkedkqSQdEvvODKNYGEN7OXGnRzkhfKvS6HUTfdgiv2q"),
        ("scrypt, Django's default cost", "correct horse battery staple",
         "scrypt$16384$Xk3vQ9mZp2Lr7Tw1Yb5NcD$8$5$gDI0sqAsbJb/X3Qs+GTXzJbtu/4+39wYtfELTNw1uVm+D1KTLLp9SfoKoBJvh5y3nd8YmVLZ/eLAJeIYybx1qQ=="),
        ("scrypt, small", "pässwörd✓",
         "scrypt$1024$seasalt$4$2$+ndp2MkG2xyP9X0jSBGaOLcJyggSBUkrJ4692jC2ggCDlGDJG9fH/IYtuwuUAer9RL8n3RSNRVEHiQjwUgEgwA=="),
        ("pbkdf2_sha1, 1000", "password", "pbkdf2_sha1$1000$seasalt$C8KvRfPW529R7JpDHEDOP35Xr0g="),
        ("pbkdf2_sha1, Django's default cost", "securepass123!",
         "pbkdf2_sha1$1000000$r4nd0mS4ltW1thTw3ntyTw$zZeJH+qJwc45XF7GIIUUwU1yvpw="),
    ];

    fn owasp() -> Target {
        Target::Argon2id(argon2::Cost::OWASP)
    }

    #[test]
    fn a_unicode_password_is_hashed_as_its_utf8_bytes_unnormalised_as_django_does() {
        // Django 5.2.19: make_password(nfc, salt="edgeauthunicode1"), PBKDF2 at its default cost.
        let django = "pbkdf2_sha256$1000000$edgeauthunicode1$IacTwNprQxENm9NObZyFIL3dK5jFSVH4ykgSuIVu8eE=";
        let nfc = "P\u{e4}ssw\u{f6}rd \u{fc}n\u{ef}c\u{f8}d\u{e9} \u{2713} \u{5bc6}\u{7801}";
        let nfd = "Pa\u{308}sswo\u{308}rd u\u{308}ni\u{308}c\u{f8}de\u{301} \u{2713} \u{5bc6}\u{7801}";
        // (Valid, and due for a re-hash only because this salt is shorter than Django's own.)
        assert!(matches!(check_password(nfc, django, &pbkdf2(1_000_000)), Verdict::Valid { .. }));
        assert_eq!(pbkdf2(1_000_000).hash(nfc, "edgeauthunicode1"), django);
        // The same text in another normal form is other bytes, so another password (Django's
        // check_password(nfd, hash) is False too).
        assert_eq!(check_password(nfd, django, &pbkdf2(1_000_000)), Verdict::Invalid);
    }

    #[test]
    fn every_django_hasher_verifies_its_own_hashes_and_nothing_else() {
        for (name, password, django) in DJANGO_OTHER_HASHERS {
            let verdict = check_password(password, django, &pbkdf2(1_000_000));
            assert_eq!(verdict, Verdict::Valid { needs_rehash: true }, "{name}");
            assert_eq!(check_password(&format!("{password}x"), django, &pbkdf2(1)), Verdict::Invalid, "{name}");
        }
    }

    #[test]
    fn against_an_argon2id_target_only_weaker_or_other_hashes_are_upgraded() {
        let upgrade = |index: usize| {
            let (_, password, django) = DJANGO_OTHER_HASHERS[index];
            check_password(password, django, &owasp())
        };
        // Django's default (100 MiB, 2 passes, 8 lanes) is stronger than OWASP's in every parameter.
        assert_eq!(upgrade(0), Verdict::Valid { needs_rehash: false });
        assert_eq!(upgrade(1), Verdict::Valid { needs_rehash: true }, "64 KiB, 1 pass");
        assert_eq!(upgrade(2), Verdict::Valid { needs_rehash: false }, "exactly the target");
        assert_eq!(upgrade(3), Verdict::Valid { needs_rehash: true }, "argon2i");
        for (other, (name, ..)) in DJANGO_OTHER_HASHERS.iter().enumerate().skip(4) {
            assert_eq!(upgrade(other), Verdict::Valid { needs_rehash: true }, "{name}");
        }
        let (password, _, _, django) = DJANGO_VECTORS[4];
        assert_eq!(check_password(password, django, &owasp()), Verdict::Valid { needs_rehash: true }, "pbkdf2_sha256");
    }

    #[test]
    fn an_argon2id_target_writes_djangos_format_and_verifies_it() {
        let target = Target::Argon2id(argon2::Cost::new(64, 1, 2).unwrap());
        let encoded = target.hash("pässwörd✓", "AbCdEfGhIjKlMnOpQrStUv");
        // The same bytes argon2-cffi wrote for Django with the same inputs.
        assert_eq!(encoded, DJANGO_OTHER_HASHERS[1].2);
        let salt = new_salt(&[9; 16]);
        let encoded = owasp().hash("hunter2 ünïcødé", &salt);
        assert!(encoded.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"), "{encoded}");
        assert_eq!(check_password("hunter2 ünïcødé", &encoded, &owasp()), Verdict::Valid { needs_rehash: false });
        assert_eq!(check_password("hunter2", &encoded, &owasp()), Verdict::Invalid);
    }

    #[test]
    fn a_stronger_argon2_target_upgrades_what_was_at_the_old_one() {
        let (_, password, django) = DJANGO_OTHER_HASHERS[2]; // OWASP's cost
        for stronger in [(19 * 1024 + 1, 2, 1), (19 * 1024, 3, 1), (19 * 1024, 2, 2)] {
            let target = Target::Argon2id(argon2::Cost::new(stronger.0, stronger.1, stronger.2).unwrap());
            assert_eq!(
                check_password(password, django, &target),
                Verdict::Valid { needs_rehash: true },
                "{stronger:?}"
            );
        }
    }

    #[test]
    fn tampered_hashes_of_every_hasher_match_nothing() {
        for (name, password, django) in DJANGO_OTHER_HASHERS.iter().filter(|(name, ..)| !name.contains("default")) {
            let last = django.len() - 1;
            let flipped =
                format!("{}{}", &django[..last - 3], if &django[last - 3..last - 2] == "A" { "B" } else { "A" })
                    + &django[last - 2..];
            let tampered = [
                flipped,
                format!("{django}A"),
                django.replacen("$", "$$", 2),
                django.replace("argon2id", "argon2d").replace("$argon2i$", "$argon2d$"),
                django.replace("$2b$04$", "$2b$05$").replace("$2b$05$kx", "$2b$06$kx"),
                django.replace("$1024$", "$2048$").replace("$1000$", "$1001$"),
                django.replace("m=64,", "m=72,").replace("m=512,", "m=520,"),
                format!("!{django}"),
            ];
            for t in tampered.iter().filter(|t| t.as_str() != *django) {
                assert_eq!(check_password(password, t, &pbkdf2(1)), Verdict::Invalid, "{name}: {t}");
            }
        }
    }

    #[test]
    fn stored_costs_beyond_what_a_login_may_spend_are_refused_without_running() {
        for too_costly in [
            // 200 MiB of memory, or 100 MiB over 5 passes.
            "argon2$argon2id$v=19$m=204800,t=2,p=8$WGszdlE5bVpwMkxyN1R3MVliNU5jRA$6r4jgGhsfzvjVSvkkqiTEUVFoWm6C1xXkVerHN4IgLA",
            "argon2$argon2id$v=19$m=102400,t=5,p=8$WGszdlE5bVpwMkxyN1R3MVliNU5jRA$6r4jgGhsfzvjVSvkkqiTEUVFoWm6C1xXkVerHN4IgLA",
            "argon2$argon2id$v=19$m=4294967295,t=4294967295,p=255$WGszdlE5bVpwMkxyN1R3MVliNU5jRA$6r4jgGhsfzvjVSvkkqiTEUVFoWm6C1xXkVerHN4IgLA",
            // bcrypt at 2^31 and 2^16 rounds.
            "bcrypt$$2b$31$kxUOfRKhiJb1t0OiWJDms./SqFxWQtvUn3wHinQ5EPWqs9LT2/wrG",
            "bcrypt$$2b$16$kxUOfRKhiJb1t0OiWJDms./SqFxWQtvUn3wHinQ5EPWqs9LT2/wrG",
            // scrypt at 1 GiB (n = 2^20, r = 8), and 16 MiB × 100 lanes.
            "scrypt$1048576$seasalt$8$1$+ndp2MkG2xyP9X0jSBGaOLcJyggSBUkrJ4692jC2ggCDlGDJG9fH/IYtuwuUAer9RL8n3RSNRVEHiQjwUgEgwA==",
            "scrypt$16384$seasalt$8$100$+ndp2MkG2xyP9X0jSBGaOLcJyggSBUkrJ4692jC2ggCDlGDJG9fH/IYtuwuUAer9RL8n3RSNRVEHiQjwUgEgwA==",
            "pbkdf2_sha1$10000001$seasalt$C8KvRfPW529R7JpDHEDOP35Xr0g=",
        ] {
            assert_eq!(check_password("password", too_costly, &pbkdf2(1)), Verdict::Invalid, "{too_costly}");
            assert_eq!(owed_on_failure(Some(too_costly), &pbkdf2(1)), Owed::TargetHash, "{too_costly}");
        }
    }

    #[test]
    fn malformed_values_of_every_hasher_never_panic() {
        let garbage = [
            "argon2",
            "argon2$",
            "argon2$argon2id",
            "argon2$argon2id$v=19$m=64,t=1,p=2$$",
            "argon2$argon2id$v=19$m=64,t=1$QWJDZEVmR2hJaktsTW5PcFFyU3RVdg$BjNL",
            "argon2$argon2id$v=19$m=64,t=1,p=0$QWJDZEVmR2hJaktsTW5PcFFyU3RVdg$BjNLe4xmbtXN",
            "argon2$argon2id$v=19$m=64,t=0,p=2$QWJDZEVmR2hJaktsTW5PcFFyU3RVdg$BjNLe4xmbtXN",
            "argon2$argon2id$v=19$m=8,t=1,p=2$QWJDZEVmR2hJaktsTW5PcFFyU3RVdg$BjNLe4xmbtXN",
            "argon2$argon2id$v=19$m=064,t=1,p=2$QWJDZEVmR2hJaktsTW5PcFFyU3RVdg$BjNLe4xmbtXN",
            "argon2$argon2id$v=20$m=64,t=1,p=2$QWJDZEVmR2hJaktsTW5PcFFyU3RVdg$BjNLe4xmbtXN",
            "argon2$argon2id$v=19$m=64,t=1,p=2$c2FsdA$BjNLe4xmbtXN",
            "argon2$argon2id$v=19$m=64,t=1,p=2$QWJDZEVmR2hJaktsTW5PcFFyU3RVdg$QQ",
            "argon2$argon2id$v=19$m=64,t=1,p=2,k=1$QWJDZEVmR2hJaktsTW5PcFFyU3RVdg$BjNLe4xmbtXN",
            "bcrypt$$2b$04$",
            "bcrypt$2b$04$S124meU0aTkedkqSQdEvvODKNYGEN7OXGnRzkhfKvS6HUTfdgiv2q",
            "bcrypt$$2c$04$S124meU0aTkedkqSQdEvvODKNYGEN7OXGnRzkhfKvS6HUTfdgiv2q",
            "bcrypt$$2b$ 4$S124meU0aTkedkqSQdEvvODKNYGEN7OXGnRzkhfKvS6HUTfdgiv2q",
            "bcrypt$$2b$03$S124meU0aTkedkqSQdEvvODKNYGEN7OXGnRzkhfKvS6HUTfdgiv2q",
            "bcrypt$$2b$04$S124meU0aTkedkqSQdEvvODKNYGEN7OXGnRzkhfKvS6HUTfdgiv2é",
            "bcrypt_sha256$$2b$04$hPuPv205DQIvEG6c1ZTxluu12BDdIxUTmaYnut6fnsDR7x42Fwk",
            "scrypt$16384$salt$8$1",
            "scrypt$16383$salt$8$1$aGFzaA==",
            "scrypt$0$salt$8$1$aGFzaA==",
            "scrypt$1$salt$8$1$aGFzaA==",
            "scrypt$1024$$4$2$aGFzaA==",
            "scrypt$1024$salt$0$2$aGFzaA==",
            "scrypt$1024$salt$4$2$aGFzaA==",
            "scrypt$01024$salt$4$2$aGFzaA==",
            "pbkdf2_sha1$1000$seasalt$C8KvRfPW529R7JpDHEDOP35Xr0g",
            "pbkdf2_sha1$1000$$C8KvRfPW529R7JpDHEDOP35Xr0g=",
        ];
        for encoded in garbage {
            assert_eq!(check_password("password", encoded, &pbkdf2(1)), Verdict::Invalid, "{encoded:?}");
        }
    }

    #[test]
    fn a_bcrypt_password_is_read_to_72_bytes_and_bcrypt_sha256_reads_all_of_it() {
        // bcrypt, as every library before pyca/bcrypt 5 did, ignores bytes past the 72nd;
        // bcrypt_sha256 exists so that Django never does.
        let salt = [7u8; 16];
        let long = "x".repeat(72);
        let stored = |sha256: bool, password: &str| {
            let key = if sha256 { self::bcrypt::tests_support::sha256_hex(password) } else { password.to_owned() };
            self::bcrypt::tests_support::encode(sha256, 4, salt, key.as_bytes())
        };
        assert!(matches!(
            check_password(&format!("{long}y"), &stored(false, &long), &pbkdf2(1)),
            Verdict::Valid { .. }
        ));
        assert_eq!(check_password(&format!("{long}y"), &stored(true, &long), &pbkdf2(1)), Verdict::Invalid);
        assert!(matches!(check_password(&long, &stored(true, &long), &pbkdf2(1)), Verdict::Valid { .. }));
    }

    #[test]
    fn argon2_costs_are_refused_when_they_cannot_fit_an_isolate() {
        assert_eq!(argon2::Cost::new(19 * 1024, 2, 1), Ok(argon2::Cost::OWASP));
        assert!(argon2::Cost::new(102_400, 2, 8).is_ok(), "Django's default fits");
        assert!(argon2::Cost::new(106_497, 1, 1).is_err(), "over 104 MiB");
        assert!(argon2::Cost::new(131_072, 1, 1).is_err(), "128 MiB");
        assert!(argon2::Cost::new(19 * 1024, 0, 1).is_err());
        assert!(argon2::Cost::new(19 * 1024, 2, 0).is_err());
        assert!(argon2::Cost::new(15, 1, 2).is_err(), "under 8 KiB per lane");
        assert!(argon2::Cost::new(102_400, 5, 1).is_err(), "more work than a login may spend");
    }

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
                check_password(password, django, &pbkdf2(*iterations)),
                Verdict::Valid { needs_rehash: !salt_is_long },
                "{password:?}"
            );
        }
    }

    #[test]
    fn django_hashes_reject_the_wrong_password() {
        for (password, _, iterations, django) in DJANGO_VECTORS {
            let wrong = format!("{password}x");
            assert_eq!(check_password(&wrong, django, &pbkdf2(*iterations)), Verdict::Invalid);
        }
        let (_, _, iterations, django) = DJANGO_VECTORS[1];
        // Same letters without the diacritics: UTF-8 bytes matter.
        assert_eq!(check_password("password✓", django, &pbkdf2(iterations)), Verdict::Invalid);
    }

    #[test]
    #[cfg_attr(
        debug_assertions,
        ignore = "a million PBKDF2 rounds takes ~8 s unoptimised; runs under `cargo test --release`"
    )]
    fn django_default_cost_hash_verifies() {
        assert_eq!(
            check_password("securepass123!", DJANGO_DEFAULT_COST, &pbkdf2(1_000_000)),
            Verdict::Valid { needs_rehash: false }
        );
    }

    #[test]
    fn make_password_round_trips_through_check_password() {
        let salt = new_salt(&[7; 16]);
        let encoded = make_password("hunter2 ünïcødé", &salt, 1200);
        assert_eq!(check_password("hunter2 ünïcødé", &encoded, &pbkdf2(1200)), Verdict::Valid { needs_rehash: false });
        assert_eq!(check_password("hunter2", &encoded, &pbkdf2(1200)), Verdict::Invalid);
    }

    #[test]
    fn a_hash_below_the_target_cost_needs_rehash() {
        let (password, _, _, django) = DJANGO_VECTORS[2]; // 1 iteration, 22-char salt
        assert_eq!(check_password(password, django, &pbkdf2(2)), Verdict::Valid { needs_rehash: true });
    }

    #[test]
    fn a_hash_above_the_target_cost_does_not_need_rehash() {
        let (password, _, _, django) = DJANGO_VECTORS[4]; // 20000 iterations
        assert_eq!(check_password(password, django, &pbkdf2(1000)), Verdict::Valid { needs_rehash: false });
    }

    #[test]
    fn a_short_salt_needs_rehash_even_at_the_target_cost() {
        let (password, _, iterations, django) = DJANGO_VECTORS[0]; // salt "seasalt"
        assert_eq!(check_password(password, django, &pbkdf2(iterations)), Verdict::Valid { needs_rehash: true });
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
            assert_eq!(check_password(password, &t, &pbkdf2(iterations)), Verdict::Invalid, "{t}");
        }
    }

    #[test]
    fn django_algorithms_not_implemented_are_reported_as_unsupported() {
        let cases = [
            ("md5$salt$5f4dcc3b5aa765d61d8327deb882cf99", "md5"),
            ("5f4dcc3b5aa765d61d8327deb882cf99", "unsalted_md5"),
            ("md5$$5f4dcc3b5aa765d61d8327deb882cf99", "unsalted_md5"),
            ("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "unsalted_sha1"),
        ];
        for (encoded, name) in cases {
            assert_eq!(
                check_password("password", encoded, &pbkdf2(1000)),
                Verdict::UnsupportedAlgorithm(name.to_owned()),
                "{encoded}"
            );
        }
    }

    #[test]
    fn only_hashes_a_login_can_match_are_verifiable() {
        for (_, _, django) in DJANGO_OTHER_HASHERS {
            assert_eq!(unverifiable(django), None, "{django}");
        }
        assert_eq!(unverifiable(DJANGO_VECTORS[0].3), None);
        let note = |encoded: &str| unverifiable(encoded).unwrap_or_default();
        assert!(note("md5$salt$5f4dcc3b5aa765d61d8327deb882cf99").contains("algorithm \"md5\""));
        assert!(note("5f4dcc3b5aa765d61d8327deb882cf99").contains("algorithm \"unsalted_md5\""));
        assert!(note("!XyZ").contains("unusable"));
        assert!(note("").contains("unusable"));
        assert!(note("bcrypt$$2b$31$kxUOfRKhiJb1t0OiWJDms./SqFxWQtvUn3wHinQ5EPWqs9LT2/wrG")
            .contains("\"bcrypt\" hash is malformed"));
    }

    #[test]
    fn unusable_and_empty_passwords_are_invalid() {
        for encoded in ["!", "!XyZ123unusable", "", "$", "pbkdf2_sha256"] {
            assert_eq!(check_password("", encoded, &pbkdf2(1000)), Verdict::Invalid, "{encoded:?}");
        }
    }

    #[test]
    fn absurd_iteration_counts_are_refused_without_hashing() {
        let b64 = "YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=";
        for iterations in ["0", "10000001", "4294967295", "4294967296", "99999999999999999999"] {
            let encoded = format!("pbkdf2_sha256${iterations}$seasalt${b64}");
            assert_eq!(check_password("password", &encoded, &pbkdf2(1000)), Verdict::Invalid);
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
            assert_eq!(check_password("password", encoded, &pbkdf2(1)), Verdict::Invalid, "{encoded:?}");
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
