//! Django's bcrypt hashers: `bcrypt_sha256$$2b$12$<salt><hash>` (`BCryptSHA256PasswordHasher`:
//! bcrypt of the hex SHA-256 of the password, so no password is cut at bcrypt's 72 bytes) and
//! `bcrypt$$2b$12$…` (`BCryptPasswordHasher`: the password itself). Verified and upgraded only.
//!
//! EksBlowfish is Keats' `bcrypt` crate (`bcrypt::bcrypt`, on RustCrypto's `blowfish`); what is
//! here is the modular-crypt layout around it, as pyca/bcrypt (Django's backend) reads it.

use base64ct::{Base64Bcrypt, Encoding};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The highest cost verified: 2^15 key expansions, about 2 s of CPU here; Django's default is 12.
/// A stored hash above it matches nothing, so one hostile row cannot pin a Worker's CPU.
pub const MAX_COST: u32 = 15;

/// bcrypt reads at most this many bytes of the password (the NUL terminator included).
const MAX_KEY_LEN: usize = 72;

/// A stored bcrypt hash this worker can run.
#[derive(Debug, PartialEq, Eq)]
pub struct Stored {
    /// Whether the password is pre-hashed with SHA-256 (`bcrypt_sha256`).
    pub sha256: bool,
    cost: u32,
    salt: [u8; 16],
    hash: [u8; 23],
}

/// Parses `bcrypt_sha256$$2b$<cost>$<22 salt><31 hash>` (or `bcrypt$…`), or `None` when nothing
/// can match it: another layout, a cost outside 4..=MAX_COST, non-canonical base64.
pub fn parse(encoded: &str) -> Option<Stored> {
    let (sha256, data) = match encoded.split_once('$')? {
        ("bcrypt_sha256", data) => (true, data),
        ("bcrypt", data) => (false, data),
        _ => return None,
    };
    // `data` is pyca/bcrypt's 60-character `$2b$12$…`; Django stores it after `<algorithm>$`.
    let data = data.as_bytes();
    if data.len() != 60 || data[0] != b'$' || data[3] != b'$' || data[6] != b'$' {
        return None;
    }
    if !matches!(&data[1..3], b"2a" | b"2b" | b"2y") || !data[4..6].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let cost = u32::from(data[4] - b'0') * 10 + u32::from(data[5] - b'0');
    if !(4..=MAX_COST).contains(&cost) {
        return None;
    }
    let mut salt = [0u8; 16];
    let mut hash = [0u8; 23];
    Base64Bcrypt::decode(&data[7..29], &mut salt).ok()?;
    Base64Bcrypt::decode(&data[29..], &mut hash).ok()?;
    Some(Stored { sha256, cost, salt, hash })
}

impl Stored {
    pub fn verify(&self, password: &str) -> bool {
        let digest_hex;
        let key = if self.sha256 {
            // Django: `binascii.hexlify(hashlib.sha256(password).digest())`.
            digest_hex = hex(&Sha256::digest(password.as_bytes()));
            digest_hex.as_bytes()
        } else {
            password.as_bytes()
        };
        // NUL-terminated, then cut at 72 bytes (the terminator lost when the password fills them),
        // as OpenBSD's bcrypt and every library since have it.
        let mut buffer = [0u8; MAX_KEY_LEN];
        let len = key.len().min(MAX_KEY_LEN);
        buffer[..len].copy_from_slice(&key[..len]);
        let used = (len + 1).min(MAX_KEY_LEN);
        let output = bcrypt::bcrypt(self.cost, self.salt, &buffer[..used]);
        bool::from(output[..23].ct_eq(&self.hash))
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes.iter().flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]]).map(char::from).collect()
}

/// Hashes made here for the tests of the 72-byte rule (Django's vectors cover the format).
#[cfg(test)]
pub mod tests_support {
    use base64ct::{Base64Bcrypt, Encoding};
    use sha2::{Digest, Sha256};

    pub fn sha256_hex(password: &str) -> String {
        super::hex(&Sha256::digest(password.as_bytes()))
    }

    pub fn encode(sha256: bool, cost: u32, salt: [u8; 16], key: &[u8]) -> String {
        let mut buffer = [0u8; 72];
        let len = key.len().min(72);
        buffer[..len].copy_from_slice(&key[..len]);
        let output = bcrypt::bcrypt(cost, salt, &buffer[..(len + 1).min(72)]);
        let algorithm = if sha256 { "bcrypt_sha256" } else { "bcrypt" };
        format!(
            "{algorithm}$$2b${cost:02}${}{}",
            Base64Bcrypt::encode_string(&salt),
            Base64Bcrypt::encode_string(&output[..23])
        )
    }
}
