//! Django's `ScryptPasswordHasher`: `scrypt$<n>$<salt>$<r>$<p>$<b64 hash>`, a 64-byte key from
//! `hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=64)`. Verified and upgraded only.

use base64ct::{Base64, Encoding};
use subtle::ConstantTimeEq;

use super::MAX_HASH_MEMORY_BYTES;

/// Django's `dklen`.
const KEY_LEN: usize = 64;

/// Most total work a stored hash may ask for, as memory × parallelism in bytes: four rounds over
/// the largest memory (Django's default is 16 MiB × 1).
const MAX_WORK_BYTES: u64 = 4 * MAX_HASH_MEMORY_BYTES;

/// A stored scrypt hash this worker can run.
#[derive(Debug)]
pub struct Stored<'a> {
    params: scrypt::Params,
    salt: &'a str,
    hash: [u8; KEY_LEN],
}

/// Parses Django's scrypt value, or `None` when no password can match it (n not a power of two,
/// non-canonical numbers or base64) or it needs more memory or work than a login may spend.
pub fn parse(encoded: &str) -> Option<Stored<'_>> {
    // Django: `algorithm, work_factor, salt, block_size, parallelism, hash_ = encoded.split("$", 6)`.
    let fields: Vec<&str> = encoded.split('$').collect();
    let ["scrypt", n, salt, r, p, hash] = fields[..] else {
        return None;
    };
    let (n, r, p) = (number::<u64>(n)?, number::<u32>(r)?, number::<u32>(p)?);
    if salt.is_empty() || !n.is_power_of_two() || n < 2 || r == 0 || p == 0 {
        return None;
    }
    // scrypt's working memory: 128 · r · n bytes (plus 128 · r · p for the blocks it mixes).
    let memory = 128 * u64::from(r) * n + 128 * u64::from(r) * u64::from(p);
    if memory > MAX_HASH_MEMORY_BYTES || memory.saturating_mul(u64::from(p)) > MAX_WORK_BYTES {
        return None;
    }
    let params = scrypt::Params::new(n.trailing_zeros() as u8, r, p, KEY_LEN).ok()?;
    let mut decoded = [0u8; KEY_LEN];
    let written = Base64::decode(hash, &mut decoded).ok()?;
    (written.len() == KEY_LEN).then_some(Stored { params, salt, hash: decoded })
}

impl Stored<'_> {
    pub fn verify(&self, password: &str) -> bool {
        let mut derived = [0u8; KEY_LEN];
        if scrypt::scrypt(password.as_bytes(), self.salt.as_bytes(), &self.params, &mut derived).is_err() {
            return false;
        }
        bool::from(derived.ct_eq(&self.hash))
    }
}

/// A canonical positive decimal (`str(int)`), as Django writes it.
fn number<T: std::str::FromStr>(field: &str) -> Option<T> {
    let canonical =
        !field.is_empty() && field.len() <= 12 && field.bytes().all(|b| b.is_ascii_digit()) && !field.starts_with('0');
    if canonical {
        field.parse().ok()
    } else {
        None
    }
}
