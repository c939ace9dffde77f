//! Secrets the server must read back to use, sealed for storage: a TOTP secret cannot be hashed
//! (each check recomputes the HMAC with it), so a copy of the database must not be enough to
//! mint a user's codes. AES-256-GCM under a key derived from a configured secret that lives
//! outside the database (a Worker secret), with the row's owner as associated data: a sealed
//! value copied into another user's row, or sealed for another purpose, does not open.
//!
//! Stored as `v1.<base64url: 12-byte nonce | ciphertext | 16-byte tag>`; the version names the
//! key derivation and cipher, so either can change later while old rows still open. AES-GCM
//! rather than ChaCha20-Poly1305 (2.5 KB less gzipped wasm) because it is what WebCrypto offers:
//! the worker could move to `crypto.subtle` without re-sealing anything. Pure: the master secret
//! and the nonce's random bytes come in.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the random nonce the caller supplies for each seal (a fresh one every time: GCM's
/// security rests on never reusing a nonce under one key; 96 random bits are safe for far more
/// seals than this service will ever make).
pub const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const PREFIX: &str = "v1.";
/// What the master secret is turned into a sealing key with, so the same configured secret can
/// serve other purposes without the keys ever meeting.
const KEY_LABEL: &[u8] = b"edge-auth sealed secrets v1";

/// The AES-256 key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl SealKey {
    /// HMAC-SHA256(master, label): a PRF of a high-entropy master secret (HKDF-Expand's single
    /// block, without the extract step a low-entropy input would need). The master is meant to
    /// be a random Worker secret of its own, never a user's.
    pub fn derive(master: &[u8]) -> SealKey {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).expect("HMAC takes a key of any length");
        mac.update(KEY_LABEL);
        SealKey(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

/// `plaintext` sealed under `key` for `context` (what it is and whose: e.g. `totp:<user id>`),
/// with a fresh random `nonce`.
pub fn seal(key: &SealKey, nonce: [u8; NONCE_LEN], context: &[u8], plaintext: &[u8]) -> String {
    let cipher = Aes256Gcm::new(&key.0.into());
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context })
        .expect("AES-GCM encrypts any message shorter than 64 GB");
    let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&sealed);
    format!("{PREFIX}{}", Base64UrlUnpadded::encode_string(&bytes))
}

/// The plaintext of a value `seal` made with the same key and context; `None` for anything else
/// (another key, another context, a changed byte, an unknown version, not base64).
pub fn open(key: &SealKey, context: &[u8], sealed: &str) -> Option<Vec<u8>> {
    let bytes = Base64UrlUnpadded::decode_vec(sealed.strip_prefix(PREFIX)?).ok()?;
    if bytes.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    Aes256Gcm::new(&key.0.into()).decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: context }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SealKey {
        SealKey::derive(b"a random worker secret of 32+ bytes, base64 or not")
    }

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_context() {
        let secret = *b"12345678901234567890";
        let sealed = seal(&key(), [9; NONCE_LEN], b"totp:42", &secret);
        assert!(sealed.starts_with("v1."), "{sealed}");
        assert_eq!(open(&key(), b"totp:42", &sealed).as_deref(), Some(&secret[..]));
        // 12 + 20 + 16 bytes in unpadded base64url.
        assert_eq!(sealed.len(), 3 + 64);
        assert!(!sealed.contains("MTIzNDU2Nzg5"), "the plaintext's base64 is not in it");
    }

    #[test]
    fn aes_256_gcm_as_nist_defines_it() {
        // NIST's GCM test case 14 (AES-256, zero key, zero IV, one zero block): the cipher under
        // the envelope is the standard one, so WebCrypto would open these rows too.
        let key = SealKey([0; 32]);
        let sealed = seal(&key, [0; NONCE_LEN], b"", &[0; 16]);
        let bytes = Base64UrlUnpadded::decode_vec(&sealed[3..]).unwrap();
        assert_eq!(crate::domain::tokens::hex(&bytes[NONCE_LEN..NONCE_LEN + 16]), "cea7403d4d606b6e074ec5d3baf39d18");
        assert_eq!(crate::domain::tokens::hex(&bytes[NONCE_LEN + 16..]), "d0d1c8a799996bf0265b98b5d48ab919");
    }

    #[test]
    fn another_key_another_user_or_another_purpose_does_not_open_it() {
        let sealed = seal(&key(), [1; NONCE_LEN], b"totp:42", b"12345678901234567890");
        assert_eq!(open(&SealKey::derive(b"another worker secret"), b"totp:42", &sealed), None);
        assert_eq!(open(&key(), b"totp:43", &sealed), None, "copied into another user's row");
        assert_eq!(open(&key(), b"webauthn:42", &sealed), None);
    }

    #[test]
    fn any_changed_byte_or_malformed_value_is_refused_without_panic() {
        let sealed = seal(&key(), [2; NONCE_LEN], b"totp:42", b"12345678901234567890");
        let mut bytes = Base64UrlUnpadded::decode_vec(&sealed[3..]).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            let tampered = format!("v1.{}", Base64UrlUnpadded::encode_string(&bytes));
            assert_eq!(open(&key(), b"totp:42", &tampered), None, "byte {i}");
            bytes[i] ^= 1;
        }
        let short = format!("v1.{}", Base64UrlUnpadded::encode_string(&bytes[..NONCE_LEN + TAG_LEN - 1]));
        let other_version = format!("v2.{}", &sealed[3..]);
        for bad in ["", "v1.", &other_version, &sealed[3..], "v1.***", &short, &sealed[..40]] {
            assert_eq!(open(&key(), b"totp:42", bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_same_secret_sealed_twice_looks_different() {
        let a = seal(&key(), [3; NONCE_LEN], b"totp:42", b"12345678901234567890");
        let b = seal(&key(), [4; NONCE_LEN], b"totp:42", b"12345678901234567890");
        assert_ne!(a, b);
    }

    #[test]
    fn debug_never_shows_the_key() {
        assert_eq!(format!("{:?}", key()), "SealKey(<redacted>)");
    }
}
