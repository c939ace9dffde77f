//! Django's PBKDF2 hashers: `pbkdf2_sha256$<iterations>$<salt>$<b64 hash>` (the default target)
//! and `pbkdf2_sha1$…` (Django's `PBKDF2SHA1PasswordHasher`, verified and upgraded only).

use base64ct::{Base64, Encoding};
use subtle::ConstantTimeEq;

/// Stored hashes claiming more iterations than this are refused outright, so one corrupt or
/// hostile row cannot pin a Worker's CPU (Django's own default is 1,000,000).
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// The digest of a PBKDF2 hash, with Django's name for the hasher that uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digest {
    Sha256,
    Sha1,
}

impl Digest {
    pub fn algorithm(self) -> &'static str {
        match self {
            Digest::Sha256 => "pbkdf2_sha256",
            Digest::Sha1 => "pbkdf2_sha1",
        }
    }

    /// Django's `dklen` when none is given: the digest's size.
    fn key_len(self) -> usize {
        match self {
            Digest::Sha256 => 32,
            Digest::Sha1 => 20,
        }
    }
}

/// A stored PBKDF2 hash worth running: nothing in it rules out every password.
#[derive(Debug, PartialEq, Eq)]
pub struct Stored<'a> {
    pub digest: Digest,
    pub iterations: u32,
    pub salt: &'a str,
    hash: &'a str,
}

/// Hashes `password` exactly as Django's `PBKDF2PasswordHasher().encode(password, salt,
/// iterations)` does. `salt` must not contain `$` (Django refuses such salts).
pub fn make_password(password: &str, salt: &str, iterations: u32) -> String {
    format!("pbkdf2_sha256${iterations}${salt}${}", derive_b64(Digest::Sha256, password, salt, iterations))
}

/// Parses `<algorithm>$<iterations>$<salt>$<hash>`, or `None` when no password can match it (so
/// no work is spent): a non-canonical count, an empty salt, a hash field of the wrong length.
pub fn parse(encoded: &str, digest: Digest) -> Option<Stored<'_>> {
    // Django: `algorithm, iterations, salt, hash = encoded.split("$", 3)`.
    let mut fields = encoded.splitn(4, '$');
    let (Some(_), Some(iterations), Some(salt), Some(hash)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    let iterations = parse_iterations(iterations)?;
    if salt.is_empty() || hash.len() != base64_len(digest.key_len()) {
        return None;
    }
    Some(Stored { digest, iterations, salt, hash })
}

impl Stored<'_> {
    /// Like Django, the password matches only if re-encoding it reproduces the stored field
    /// exactly, so non-canonical base64 (missing padding, stray bits) matches nothing.
    pub fn verify(&self, password: &str) -> bool {
        let expected = derive_b64(self.digest, password, self.salt, self.iterations);
        bool::from(expected.as_bytes().ct_eq(self.hash.as_bytes()))
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

/// PBKDF2-HMAC of the UTF-8 password and salt, base64 with padding, like Django's
/// `base64.b64encode(pbkdf2(...)).decode("ascii").strip()`.
///
/// SHA-256 runs on the workspace crate `pbkdf2-fast`: non-generic (so the release profile
/// compiles it at opt-level 3 whatever the rest is compiled for) and built on a word-level
/// SHA-256 that beats two `sha2::compress256` calls per iteration (`make bench` measures both).
/// SHA-1, only ever verified once before the upgrade, runs on RustCrypto's `pbkdf2`.
fn derive_b64(digest: Digest, password: &str, salt: &str, iterations: u32) -> String {
    match digest {
        Digest::Sha256 => {
            let key: [u8; 32] = pbkdf2_fast::pbkdf2_hmac_sha256(password.as_bytes(), salt.as_bytes(), iterations);
            Base64::encode_string(&key)
        }
        Digest::Sha1 => {
            let mut key = [0u8; 20];
            pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password.as_bytes(), salt.as_bytes(), iterations, &mut key);
            Base64::encode_string(&key)
        }
    }
}

/// Length of padded base64 for `n` bytes.
const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}
