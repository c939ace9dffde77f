//! Credential public keys: COSE_Key (RFC 9052 §7, RFC 9053) for the three algorithms the
//! creation options offer, and signature verification with each.
//!
//! - ES256 (-7): kty EC2 (2), crv P-256 (1), 32-byte x and y; ECDSA with SHA-256 whose
//!   signature is ASN.1 DER (WebAuthn §6.5.6), not the raw r||s of JOSE.
//! - EdDSA (-8): kty OKP (1), crv Ed25519 (6), 32-byte x; a 64-byte Ed25519 signature.
//! - RS256 (-257): kty RSA (3), n (modulus, at least 2048 bits) and e; RSASSA-PKCS1-v1_5 with
//!   SHA-256.
//!
//! The key must name its algorithm (WebAuthn §6.5.1.1) and its kty/crv must be that
//! algorithm's; a key that lacks a parameter, or whose parameter has the wrong type or size,
//! is refused. Unknown extra labels are ignored (RFC 9052 allows them).

use p256::ecdsa::signature::Verifier as _;
use rsa::traits::PublicKeyParts as _;

use super::cbor::{self, Value};
use super::WebauthnError;

/// COSE algorithm identifiers (IANA "COSE Algorithms").
pub const ES256: i64 = -7;
pub const EDDSA: i64 = -8;
pub const RS256: i64 = -257;

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A; FIDO's metadata floor).
pub const RSA_MIN_BITS: usize = 2048;

const KTY: i64 = 1;
const ALG: i64 = 3;
const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;
const KTY_RSA: i64 = 3;
const CRV_P256: i64 = 1;
const CRV_ED25519: i64 = 6;

/// A parsed credential public key, ready to verify.
pub enum PublicKey {
    Es256(p256::ecdsa::VerifyingKey),
    EdDsa(ed25519_compact::PublicKey),
    Rs256(rsa::pkcs1v15::VerifyingKey<sha2::Sha256>),
}

impl PublicKey {
    /// Parses a COSE_Key (the whole input) and answers it with its algorithm. An algorithm
    /// outside [`super::ALGORITHMS`] is `Algorithm`; a malformed or inconsistent key is
    /// `PublicKey`.
    pub fn from_cose(bytes: &[u8]) -> Result<(PublicKey, i64), WebauthnError> {
        let key = cbor::decode(bytes).map_err(|_| WebauthnError::PublicKey)?;
        if !matches!(key, Value::Map(_)) {
            return Err(WebauthnError::PublicKey);
        }
        let alg = int(&key, ALG)?;
        let kty = int(&key, KTY)?;
        let parsed = match alg {
            ES256 => {
                expect(kty == KTY_EC2 && int(&key, -1)? == CRV_P256)?;
                let x = bytes_of(&key, -2, Some(32))?;
                let y = bytes_of(&key, -3, Some(32))?;
                let point = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
                let key =
                    p256::ecdsa::VerifyingKey::from_encoded_point(&point).map_err(|_| WebauthnError::PublicKey)?;
                PublicKey::Es256(key)
            }
            EDDSA => {
                expect(kty == KTY_OKP && int(&key, -1)? == CRV_ED25519)?;
                let x = bytes_of(&key, -2, Some(32))?;
                let key = ed25519_compact::PublicKey::from_slice(x).map_err(|_| WebauthnError::PublicKey)?;
                PublicKey::EdDsa(key)
            }
            RS256 => {
                expect(kty == KTY_RSA)?;
                let n = rsa::BigUint::from_bytes_be(bytes_of(&key, -1, None)?);
                let e = rsa::BigUint::from_bytes_be(bytes_of(&key, -2, None)?);
                // `new` refuses moduli over 4096 bits and exponents outside 2..2^33.
                let key = rsa::RsaPublicKey::new(n, e).map_err(|_| WebauthnError::PublicKey)?;
                expect(key.n().bits() >= RSA_MIN_BITS)?;
                PublicKey::Rs256(rsa::pkcs1v15::VerifyingKey::new(key))
            }
            _ => return Err(WebauthnError::Algorithm),
        };
        Ok((parsed, alg))
    }

    /// Verifies `signature` over `message` (the hash is the algorithm's own); any failure,
    /// a malformed signature included, is `Err(())`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), ()> {
        match self {
            PublicKey::Es256(key) => {
                let signature = p256::ecdsa::Signature::from_der(signature).map_err(|_| ())?;
                key.verify(message, &signature).map_err(|_| ())
            }
            PublicKey::EdDsa(key) => {
                let signature = ed25519_compact::Signature::from_slice(signature).map_err(|_| ())?;
                key.verify(message, &signature).map_err(|_| ())
            }
            PublicKey::Rs256(key) => {
                let signature = rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| ())?;
                key.verify(message, &signature).map_err(|_| ())
            }
        }
    }
}

fn expect(condition: bool) -> Result<(), WebauthnError> {
    if condition {
        Ok(())
    } else {
        Err(WebauthnError::PublicKey)
    }
}

fn int(key: &Value<'_>, label: i64) -> Result<i64, WebauthnError> {
    match key.get_int(label) {
        Some(Value::Int(n)) => Ok(*n),
        _ => Err(WebauthnError::PublicKey),
    }
}

fn bytes_of<'a>(key: &Value<'a>, label: i64, len: Option<usize>) -> Result<&'a [u8], WebauthnError> {
    match key.get_int(label) {
        Some(Value::Bytes(b)) if len.is_none_or(|len| b.len() == len) && !b.is_empty() => Ok(b),
        _ => Err(WebauthnError::PublicKey),
    }
}
