//! Trusted devices for the login back-off (OWASP's device-cookie pattern): a client that logged
//! in to an account before carries a signed cookie naming that account and a random nonce. Its
//! failed attempts are counted per device, apart from everyone else's, so an attacker's failures
//! on the account cannot lock the real user out, and a stolen cookie is throttled on its own.
//!
//! Pure: the key, the nonce and the cookie header come in; nothing is stored but the back-off row.

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::domain::secrets::Token;
use crate::domain::tokens::hex;

/// The cookie's name.
pub const COOKIE: &str = "edge_auth_device";
/// How long a device stays trusted: a year, renewed at every login.
pub const MAX_AGE_SECS: i64 = 365 * 24 * 60 * 60;
const VERSION: &str = "v1";

/// The HMAC key for device cookies, derived from the token signing key so that no further secret
/// has to be configured (and a key rotation distrusts every device, as it should).
pub struct DeviceKey([u8; 32]);

/// A device cookie that verified: the account it was issued for and its nonce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub user_id: i64,
    nonce: String,
    /// The signed cookie value: a bearer credential for the back-off, so `Debug` hides it.
    value: Token,
}

impl DeviceKey {
    pub fn derive(signing_key: &[u8]) -> DeviceKey {
        let mut hash = Sha256::new();
        hash.update(b"edge-auth device cookie v1\0");
        hash.update(signing_key);
        DeviceKey(hash.finalize().into())
    }

    /// A new cookie value for `user_id`; `nonce` must come from a CSPRNG.
    pub fn issue(&self, user_id: i64, nonce: [u8; 16]) -> Device {
        let nonce = hex(&nonce);
        let body = format!("{VERSION}.{user_id}.{nonce}");
        let tag = Base64UrlUnpadded::encode_string(&self.mac(&body).finalize().into_bytes());
        Device { user_id, nonce, value: Token::new(format!("{body}.{tag}")) }
    }

    /// The device a cookie value stands for, if this key signed it (compared in constant time).
    pub fn verify(&self, value: &str) -> Option<Device> {
        let (body, tag) = value.rsplit_once('.')?;
        let tag = Base64UrlUnpadded::decode_vec(tag).ok()?;
        self.mac(body).verify_slice(&tag).ok()?;
        let mut parts = body.split('.');
        let (Some(VERSION), Some(user_id), Some(nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Device { user_id: user_id.parse().ok()?, nonce: nonce.to_owned(), value: Token::new(value.to_owned()) })
    }

    fn mac(&self, body: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(body.as_bytes());
        mac
    }
}

impl Device {
    /// The back-off row this device's failures are counted in.
    pub fn throttle_key(&self) -> String {
        format!("device:{}", self.nonce)
    }

    /// The `Set-Cookie` value that (re)issues this device: HttpOnly and Secure, sent cross-site
    /// (`SameSite=None`) because frontends call the API from their own origin.
    pub fn set_cookie(&self) -> String {
        format!("{COOKIE}={}; Path=/; Max-Age={MAX_AGE_SECS}; HttpOnly; Secure; SameSite=None", self.value.expose())
    }
}

/// The device cookie's value in a `Cookie` request header, if there is one.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(name, _)| *name == COOKIE).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: [u8; 16] = [7; 16];

    fn key() -> DeviceKey {
        DeviceKey::derive(b"test-signing-key-0123456789abcdef")
    }

    #[test]
    fn an_issued_cookie_verifies_for_its_user_and_device() {
        let device = key().issue(42, NONCE);
        let verified = key().verify(device.value.expose()).unwrap();
        assert_eq!(verified, device);
        assert_eq!(verified.user_id, 42);
        assert_eq!(verified.throttle_key(), format!("device:{}", hex(&NONCE)));
        assert_ne!(key().issue(42, [8; 16]).throttle_key(), verified.throttle_key());
    }

    #[test]
    fn debug_hides_the_cookie_value() {
        let device = key().issue(42, NONCE);
        let tag = device.value.expose().rsplit_once('.').unwrap().1.to_owned();
        assert!(!format!("{device:?}").contains(&tag));
        assert!(device.set_cookie().contains(device.value.expose()));
    }

    #[test]
    fn a_tampered_or_foreign_cookie_is_no_device() {
        let value = key().issue(42, NONCE).value.expose().to_owned();
        let other_user = value.replacen(".42.", ".43.", 1);
        let other_key =
            DeviceKey::derive(b"another-signing-key-0123456789abcdef").issue(42, NONCE).value.expose().to_owned();
        let mut flipped = value.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        for forged in [
            other_user,
            other_key,
            String::from_utf8(flipped).unwrap(),
            value.rsplit_once('.').unwrap().0.to_owned(),
            format!("{value}.x"),
            String::new(),
            "v1.42.abc.".to_owned(),
        ] {
            assert_eq!(key().verify(&forged), None, "{forged}");
        }
    }

    #[test]
    fn the_cookie_is_http_only_secure_and_sent_cross_site() {
        let cookie = key().issue(1, NONCE).set_cookie();
        assert!(cookie.starts_with("edge_auth_device=v1.1."));
        for attribute in ["Path=/", "HttpOnly", "Secure", "SameSite=None", "Max-Age=31536000"] {
            assert!(cookie.contains(attribute), "{attribute}");
        }
    }

    #[test]
    fn the_device_cookie_is_found_among_others() {
        assert_eq!(from_cookie_header("a=1; edge_auth_device=v1.2.x.y; b=2"), Some("v1.2.x.y"));
        assert_eq!(from_cookie_header("edge_auth_device_old=1"), None);
        assert_eq!(from_cookie_header(""), None);
    }
}
