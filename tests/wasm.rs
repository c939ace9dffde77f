//! The crypto, randomness and clock paths compiled to wasm32 and run under node, where the
//! worker runs them: a native pass proves nothing about the JS-backed getrandom or `Utc::now`.
#![cfg(target_arch = "wasm32")]

use edge_auth::config::SigningKey;
use edge_auth::domain::password::{argon2, check_password, make_password, new_salt, Target, Verdict};
use edge_auth::domain::tokens::{TokenType, Tokens};
use wasm_bindgen_test::wasm_bindgen_test;

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the JS crypto backend answers");
    bytes
}

#[wasm_bindgen_test]
fn getrandom_gives_different_bytes_each_call() {
    let (a, b) = (random::<32>(), random::<32>());
    assert_ne!(a, b);
    assert_ne!(a, [0u8; 32]);
}

#[wasm_bindgen_test]
fn salts_from_the_js_csprng_differ() {
    assert_ne!(new_salt(&random()), new_salt(&random()));
}

#[wasm_bindgen_test]
fn pbkdf2_on_wasm_reproduces_a_django_hash() {
    // Made by Django 5.2: PBKDF2PasswordHasher().encode("securepass123!", "r4nd0mS4ltW1thTw3ntyTw", 20000)
    let django = "pbkdf2_sha256$20000$r4nd0mS4ltW1thTw3ntyTw$R5ksSqcIDqQYD9bCb3tJmdDCNjV6e4i/YpQT3ryCW8g=";
    assert_eq!(make_password("securepass123!", "r4nd0mS4ltW1thTw3ntyTw", 20000), django);
    let target = Target::Pbkdf2Sha256 { iterations: 20000 };
    assert_eq!(check_password("securepass123!", django, &target), Verdict::Valid { needs_rehash: false });
    assert_eq!(check_password("securepass123?", django, &target), Verdict::Invalid);
}

#[wasm_bindgen_test]
fn djangos_other_hashers_verify_on_wasm() {
    // Made by Django 5.2 (argon2-cffi 25.1.0, bcrypt 5.0.0): see src/domain/password/mod.rs.
    let target = Target::Argon2id(argon2::Cost::OWASP);
    for (password, django) in [
        (
            "securepass123!",
            "argon2$argon2id$v=19$m=19456,t=2,p=1$cjRuZDBtUzRsdFcxdGhUdzNudHlUdw$wdpnLng0CyNKyz3hpWR3lUEL+8y2PASIo22u7Ywck8U",
        ),
        ("correct horse battery staple", "bcrypt_sha256$$2b$04$hPuPv205DQIvEG6c1ZTxluu12BDdIxUTmaYnut6fnsDR7x42FwkZi"),
        (
            "pässwörd✓",
            "scrypt$1024$seasalt$4$2$+ndp2MkG2xyP9X0jSBGaOLcJyggSBUkrJ4692jC2ggCDlGDJG9fH/IYtuwuUAer9RL8n3RSNRVEHiQjwUgEgwA==",
        ),
        ("password", "pbkdf2_sha1$1000$seasalt$C8KvRfPW529R7JpDHEDOP35Xr0g="),
    ] {
        assert!(matches!(check_password(password, django, &target), Verdict::Valid { .. }), "{django}");
        assert_eq!(check_password("wrong", django, &target), Verdict::Invalid, "{django}");
    }
    let ours = target.hash("securepass123!", "r4nd0mS4ltW1thTw3ntyTw");
    assert_eq!(ours, "argon2$argon2id$v=19$m=19456,t=2,p=1$cjRuZDBtUzRsdFcxdGhUdzNudHlUdw$wdpnLng0CyNKyz3hpWR3lUEL+8y2PASIo22u7Ywck8U");
}

#[wasm_bindgen_test]
fn the_clock_reads_the_real_time() {
    let now = chrono::Utc::now().timestamp();
    // 2025-01-01 .. 2100-01-01: a clock stuck at the epoch (no JS Date binding) fails here.
    assert!((1_735_689_600..4_102_444_800).contains(&now), "{now}");
}

#[wasm_bindgen_test]
fn tokens_round_trip_on_wasm() {
    let key = SigningKey::from_secret(Some("wasm-test-signing-key-0123456789abcdef".into())).unwrap();
    let tokens = Tokens::new(key.as_bytes(), 1800, 604_800);
    let now = chrono::Utc::now().timestamp();
    let minted = tokens.mint(TokenType::Refresh, 5, Some("wasm-session"), random(), now);
    assert_eq!(tokens.verify(minted.token.expose(), TokenType::Refresh, now), Ok(minted.claims));
}

/// A recorded ceremony (tests/fixtures/webauthn/): its registration, then its assertion with the
/// key the registration gave, verified by the RustCrypto code the worker runs on wasm32.
fn recorded_ceremony_verifies(fixture: &str) {
    use base64ct::{Base64UrlUnpadded, Encoding};
    use edge_auth::domain::webauthn::{verify_assertion, verify_registration, RelyingParty, StoredCredential};
    let fixture: serde_json::Value = serde_json::from_str(fixture).unwrap();
    let text = |pointer: &str| fixture.pointer(pointer).unwrap().as_str().unwrap().to_owned();
    let bytes = |pointer: &str| Base64UrlUnpadded::decode_vec(&text(pointer)).unwrap();
    let rp = RelyingParty { id: text("/rp_id"), name: "edge-auth".into(), origins: vec![text("/origin")] };
    let registration = &fixture["registration"]["credential"];
    let new = verify_registration(&rp, registration, &bytes("/registration/challenge"), true).unwrap();
    assert_eq!(new.algorithm, fixture["algorithm"].as_i64().unwrap());
    let stored = StoredCredential { public_key: &new.public_key, sign_count: new.sign_count };
    let assertion = &fixture["assertion"]["credential"];
    let challenge = bytes("/assertion/challenge");
    let asserted = verify_assertion(&rp, assertion, &challenge, &stored, true).unwrap();
    assert_eq!(asserted.user_handle.unwrap(), bytes("/user_handle"));
    // The same assertion over another challenge is refused: the signature is really checked.
    let mut other = challenge.clone();
    other[0] ^= 1;
    assert!(verify_assertion(&rp, assertion, &other, &stored, true).is_err());
}

#[wasm_bindgen_test]
fn passkey_signatures_verify_on_wasm_es256() {
    recorded_ceremony_verifies(include_str!("fixtures/webauthn/es256.json"));
}

#[wasm_bindgen_test]
fn passkey_signatures_verify_on_wasm_eddsa() {
    recorded_ceremony_verifies(include_str!("fixtures/webauthn/eddsa.json"));
}

#[wasm_bindgen_test]
fn passkey_signatures_verify_on_wasm_rs256() {
    recorded_ceremony_verifies(include_str!("fixtures/webauthn/rs256.json"));
}

#[wasm_bindgen_test]
fn totp_secrets_seal_and_codes_verify_on_wasm() {
    use edge_auth::domain::sealed::{open, seal, SealKey};
    use edge_auth::domain::totp::{code_at_step, step_at, verify, TotpSecret};
    let key = SealKey::derive(b"wasm-test-mfa-encryption-key-0123456789");
    let secret = TotpSecret::from_bytes(random());
    let sealed = seal(&key, random(), b"totp:7", secret.expose());
    assert_eq!(open(&key, b"totp:7", &sealed).as_deref(), Some(&secret.expose()[..]));
    assert_eq!(open(&key, b"totp:8", &sealed), None, "another owner's row does not open it");
    let now = chrono::Utc::now().timestamp();
    let code = code_at_step(&secret, step_at(now)).unwrap();
    assert_eq!(verify(&secret, &code, now, None), Some(step_at(now)));
    assert_eq!(verify(&secret, &code, now, Some(step_at(now))), None, "a used step is refused");
}
