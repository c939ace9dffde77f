//! Recorded ceremonies of a real authenticator (Chromium's virtual CTAP2 authenticator, see
//! tests/fixtures/webauthn/record.mjs) for the three algorithms, and a software authenticator
//! that signs whatever a test needs, so that each check is attacked alone: every refusal
//! below would turn into an acceptance (or another error) if its check were removed.

use super::*;
use p256::ecdsa::signature::Signer as _;

// ---- Recorded fixtures ----------------------------------------------------------------------

const ES256_FIXTURE: &str = include_str!("../../../tests/fixtures/webauthn/es256.json");
const EDDSA_FIXTURE: &str = include_str!("../../../tests/fixtures/webauthn/eddsa.json");
const RS256_FIXTURE: &str = include_str!("../../../tests/fixtures/webauthn/rs256.json");

struct Recorded {
    rp: RelyingParty,
    algorithm: i64,
    user_handle: Vec<u8>,
    registration: Json,
    registration_challenge: Vec<u8>,
    assertion: Json,
    assertion_challenge: Vec<u8>,
}

fn recorded(text: &str) -> Recorded {
    let fixture: Json = serde_json::from_str(text).unwrap();
    let text_of = |pointer: &str| fixture.pointer(pointer).unwrap().as_str().unwrap().to_owned();
    Recorded {
        rp: RelyingParty {
            id: text_of("/rp_id"),
            name: "edge-auth".into(),
            origins: vec!["https://example.com".into(), text_of("/origin")],
        },
        algorithm: fixture["algorithm"].as_i64().unwrap(),
        user_handle: b64(&text_of("/user_handle")).unwrap(),
        registration: fixture["registration"]["credential"].clone(),
        registration_challenge: b64(&text_of("/registration/challenge")).unwrap(),
        assertion: fixture["assertion"]["credential"].clone(),
        assertion_challenge: b64(&text_of("/assertion/challenge")).unwrap(),
    }
}

fn all_recorded() -> [Recorded; 3] {
    [recorded(ES256_FIXTURE), recorded(EDDSA_FIXTURE), recorded(RS256_FIXTURE)]
}

impl Recorded {
    fn register(&self) -> Result<NewCredential, WebauthnError> {
        verify_registration(&self.rp, &self.registration, &self.registration_challenge, true)
    }

    fn assert_with(&self, assertion: &Json, sign_count: u32) -> Result<Assertion, WebauthnError> {
        let new = self.register().unwrap();
        let stored = StoredCredential { public_key: &new.public_key, sign_count };
        verify_assertion(&self.rp, assertion, &self.assertion_challenge, &stored, true)
    }
}

/// `json` with the string at `pointer` replaced.
fn with(json: &Json, pointer: &str, value: Json) -> Json {
    let mut json = json.clone();
    *json.pointer_mut(pointer).unwrap() = value;
    json
}

/// `json` with the base64url member at `pointer` decoded, changed by `change`, re-encoded.
fn with_bytes(json: &Json, pointer: &str, change: impl FnOnce(&mut Vec<u8>)) -> Json {
    let mut bytes = b64(json.pointer(pointer).unwrap().as_str().unwrap()).unwrap();
    change(&mut bytes);
    with(json, pointer, Json::String(Base64UrlUnpadded::encode_string(&bytes)))
}

#[test]
fn real_registrations_of_the_three_algorithms_verify() {
    for (fixture, expected) in all_recorded().iter().zip([-7, -8, -257]) {
        let new = fixture.register().unwrap();
        assert_eq!(new.algorithm, expected);
        assert_eq!(new.algorithm, fixture.algorithm);
        assert_eq!(new.credential_id, credential_id_of(&fixture.registration).unwrap());
        assert_eq!(new.transports, ["usb"]);
        assert_eq!(new.sign_count, 1);
        assert!(new.user_verified);
        assert!(!new.backup_eligible && !new.backed_up);
        assert_eq!(new.aaguid, [0; 16]);
    }
}

#[test]
fn real_assertions_of_the_three_algorithms_verify() {
    for fixture in all_recorded() {
        let assertion = fixture.assert_with(&fixture.assertion, 1).unwrap();
        assert_eq!(assertion.credential_id, fixture.register().unwrap().credential_id);
        assert_eq!(assertion.user_handle.as_deref(), Some(fixture.user_handle.as_slice()));
        assert_eq!(assertion.sign_count, 2);
        assert!(assertion.user_verified);
        assert!(!assertion.backed_up);
    }
}

#[test]
fn the_challenge_and_the_credential_id_are_read_before_verifying() {
    for fixture in all_recorded() {
        assert_eq!(challenge_of(&fixture.registration).unwrap(), fixture.registration_challenge);
        assert_eq!(challenge_of(&fixture.assertion).unwrap(), fixture.assertion_challenge);
        assert_eq!(credential_id_of(&fixture.assertion).unwrap(), credential_id_of(&fixture.registration).unwrap());
    }
}

#[test]
fn a_credential_id_is_taken_from_raw_id_else_id_and_both_must_agree() {
    assert_eq!(credential_id_of(&json!({"id": "AQI"})), Ok(vec![1, 2]));
    assert_eq!(credential_id_of(&json!({"rawId": "AQI", "id": "AQI"})), Ok(vec![1, 2]));
    for refused in [
        json!({"rawId": "AQI", "id": "AQM"}),
        json!({}),
        json!({"id": ""}),
        json!({"id": "*"}),
        json!({"id": 12}),
        json!({"id": Base64UrlUnpadded::encode_string(&[0; 1024])}),
    ] {
        assert!(matches!(credential_id_of(&refused), Err(WebauthnError::Malformed(_))), "{refused}");
    }
}

#[test]
fn a_real_registration_for_another_challenge_is_refused() {
    for fixture in all_recorded() {
        let result = verify_registration(&fixture.rp, &fixture.registration, &fixture.assertion_challenge, true);
        assert_eq!(result, Err(WebauthnError::Challenge));
        let result = verify_registration(&fixture.rp, &fixture.registration, &[], true);
        assert_eq!(result, Err(WebauthnError::Challenge));
    }
}

#[test]
fn a_real_registration_from_another_origin_is_refused() {
    for mut fixture in all_recorded() {
        let port = fixture.rp.origins.pop().unwrap();
        fixture.rp.origins.push(format!("{port}0"));
        assert_eq!(fixture.register(), Err(WebauthnError::Origin));
    }
}

#[test]
fn a_real_registration_for_another_rp_id_is_refused() {
    for mut fixture in all_recorded() {
        fixture.rp.id = "example.com".into();
        assert_eq!(fixture.register(), Err(WebauthnError::RpId));
    }
}

#[test]
fn a_real_assertion_is_not_a_registration_nor_the_other_way_round() {
    for fixture in all_recorded() {
        let as_registration = verify_registration(&fixture.rp, &fixture.assertion, &fixture.assertion_challenge, true);
        assert_eq!(as_registration, Err(WebauthnError::Type));
        let new = fixture.register().unwrap();
        let stored = StoredCredential { public_key: &new.public_key, sign_count: 0 };
        let as_assertion =
            verify_assertion(&fixture.rp, &fixture.registration, &fixture.registration_challenge, &stored, true);
        assert_eq!(as_assertion, Err(WebauthnError::Type));
    }
}

#[test]
fn a_credential_of_another_type_is_refused() {
    for fixture in all_recorded() {
        let registration = with(&fixture.registration, "/type", json!("password"));
        let result = verify_registration(&fixture.rp, &registration, &fixture.registration_challenge, true);
        assert_eq!(result, Err(WebauthnError::CredentialType));
        let assertion = with(&fixture.assertion, "/type", json!("password"));
        assert_eq!(fixture.assert_with(&assertion, 1), Err(WebauthnError::CredentialType));
    }
}

#[test]
fn a_real_registration_under_another_credential_id_is_refused() {
    for fixture in all_recorded() {
        let other = json!(Base64UrlUnpadded::encode_string(b"another credential"));
        let registration = with(&with(&fixture.registration, "/rawId", other.clone()), "/id", other);
        let result = verify_registration(&fixture.rp, &registration, &fixture.registration_challenge, true);
        assert_eq!(result, Err(WebauthnError::CredentialId));
    }
}

#[test]
fn an_assertion_signed_over_other_data_is_refused() {
    for fixture in all_recorded() {
        // The counter byte changed: the authenticator data still parses, the signature no
        // longer covers it.
        let assertion = with_bytes(&fixture.assertion, "/response/authenticatorData", |data| data[36] ^= 0x40);
        assert_eq!(fixture.assert_with(&assertion, 1), Err(WebauthnError::Signature));
    }
}

#[test]
fn an_assertion_with_a_damaged_signature_is_refused() {
    for fixture in all_recorded() {
        let assertion = with_bytes(&fixture.assertion, "/response/signature", |sig| {
            let last = sig.len() - 1;
            sig[last] ^= 1;
        });
        assert_eq!(fixture.assert_with(&assertion, 1), Err(WebauthnError::Signature));
    }
}

#[test]
fn an_assertion_checked_against_another_credentials_key_is_refused() {
    let [es256, eddsa, rs256] = all_recorded();
    for (signer, other) in [(&es256, &eddsa), (&eddsa, &rs256), (&rs256, &es256)] {
        let key = other.register().unwrap().public_key;
        let stored = StoredCredential { public_key: &key, sign_count: 0 };
        let result = verify_assertion(&signer.rp, &signer.assertion, &signer.assertion_challenge, &stored, true);
        assert_eq!(result, Err(WebauthnError::Signature));
    }
}

#[test]
fn a_replayed_real_assertion_is_refused_by_its_counter() {
    for fixture in all_recorded() {
        assert_eq!(fixture.assert_with(&fixture.assertion, 2), Err(WebauthnError::Counter));
        assert_eq!(fixture.assert_with(&fixture.assertion, 9), Err(WebauthnError::Counter));
    }
}

#[test]
fn an_es256_signature_must_be_der() {
    let fixture = recorded(ES256_FIXTURE);
    let assertion = with_bytes(&fixture.assertion, "/response/signature", |sig| {
        let raw = p256::ecdsa::Signature::from_der(sig).unwrap().to_bytes();
        *sig = raw.to_vec();
    });
    assert_eq!(fixture.assert_with(&assertion, 1), Err(WebauthnError::Signature));
}

// ---- A software authenticator ---------------------------------------------------------------

const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const CHALLENGE: [u8; 32] = [7; 32];
const CREDENTIAL_ID: &[u8] = b"soft credential";
const AAGUID: [u8; 16] = *b"edge-auth tests!";

fn rp() -> RelyingParty {
    RelyingParty { id: RP_ID.into(), name: "edge-auth".into(), origins: vec![ORIGIN.into()] }
}

/// Minimal CBOR writing for the software authenticator.
mod write {
    pub fn head(major: u8, n: u64) -> Vec<u8> {
        let m = major << 5;
        match n {
            0..=23 => vec![m | n as u8],
            24..=0xff => vec![m | 24, n as u8],
            0x100..=0xffff => [vec![m | 25], (n as u16).to_be_bytes().to_vec()].concat(),
            _ => [vec![m | 26], (n as u32).to_be_bytes().to_vec()].concat(),
        }
    }
    pub fn int(i: i64) -> Vec<u8> {
        if i >= 0 {
            head(0, i as u64)
        } else {
            head(1, (-1 - i) as u64)
        }
    }
    pub fn bytes(b: &[u8]) -> Vec<u8> {
        [head(2, b.len() as u64), b.to_vec()].concat()
    }
    pub fn text(t: &str) -> Vec<u8> {
        [head(3, t.len() as u64), t.as_bytes().to_vec()].concat()
    }
    pub fn map(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut out = head(5, entries.len() as u64);
        for (k, v) in entries {
            out.extend_from_slice(k);
            out.extend_from_slice(v);
        }
        out
    }
}

#[derive(Clone)]
enum Key {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_compact::KeyPair),
}

impl Key {
    fn es256(seed: u8) -> Key {
        Key::Es256(p256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).unwrap())
    }

    fn eddsa(seed: u8) -> Key {
        Key::EdDsa(ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([seed; 32])))
    }

    fn alg(&self) -> i64 {
        match self {
            Key::Es256(_) => -7,
            Key::EdDsa(_) => -8,
        }
    }

    fn cose(&self) -> Vec<u8> {
        use write::{bytes, int, map};
        match self {
            Key::Es256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                map(&[
                    (int(1), int(2)),
                    (int(3), int(-7)),
                    (int(-1), int(1)),
                    (int(-2), bytes(point.x().unwrap())),
                    (int(-3), bytes(point.y().unwrap())),
                ])
            }
            Key::EdDsa(pair) => {
                map(&[(int(1), int(1)), (int(3), int(-8)), (int(-1), int(6)), (int(-2), bytes(pair.pk.as_ref()))])
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Key::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            Key::EdDsa(pair) => pair.sk.sign(message, None).to_vec(),
        }
    }
}

#[derive(Clone)]
enum Attest {
    None,
    /// fmt "packed", self attestation by `key` naming `alg`, plus extra statement members.
    Packed {
        key: Key,
        alg: i64,
        extra: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// Another fmt with an empty statement.
    Fmt(&'static str),
    /// fmt "none" with a non-empty statement.
    NoneWithStatement,
}

/// One ceremony of the software authenticator; each field is something a test may spoil.
#[derive(Clone)]
struct Soft {
    key: Key,
    kind: &'static str,
    challenge: Vec<u8>,
    origin: &'static str,
    cross_origin: Option<bool>,
    rp_id: &'static str,
    flags: u8,
    sign_count: u32,
    credential_id: Vec<u8>,
    raw_id: Vec<u8>,
    cose: Option<Vec<u8>>,
    extensions: Option<Vec<u8>>,
    attest: Attest,
    user_handle: Option<Vec<u8>>,
}

impl Soft {
    fn registration(key: Key) -> Soft {
        Soft {
            key,
            kind: "webauthn.create",
            challenge: CHALLENGE.to_vec(),
            origin: ORIGIN,
            cross_origin: Some(false),
            rp_id: RP_ID,
            flags: FLAG_UP | FLAG_UV | FLAG_AT,
            sign_count: 0,
            credential_id: CREDENTIAL_ID.to_vec(),
            raw_id: CREDENTIAL_ID.to_vec(),
            cose: None,
            extensions: None,
            attest: Attest::None,
            user_handle: None,
        }
    }

    fn assertion(key: Key) -> Soft {
        Soft {
            kind: "webauthn.get",
            flags: FLAG_UP | FLAG_UV,
            sign_count: 0,
            user_handle: Some(b"user".to_vec()),
            ..Soft::registration(key)
        }
    }

    fn cose(&self) -> Vec<u8> {
        self.cose.clone().unwrap_or_else(|| self.key.cose())
    }

    fn client_data_json(&self) -> Vec<u8> {
        let mut data = json!({
            "type": self.kind,
            "challenge": Base64UrlUnpadded::encode_string(&self.challenge),
            "origin": self.origin,
        });
        if let Some(cross_origin) = self.cross_origin {
            data["crossOrigin"] = json!(cross_origin);
        }
        serde_json::to_vec(&data).unwrap()
    }

    fn auth_data(&self) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(self.flags);
        data.extend_from_slice(&self.sign_count.to_be_bytes());
        if self.flags & FLAG_AT != 0 {
            data.extend_from_slice(&AAGUID);
            data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
            data.extend_from_slice(&self.credential_id);
            data.extend_from_slice(&self.cose());
        }
        if let Some(extensions) = &self.extensions {
            data.extend_from_slice(extensions);
        }
        data
    }

    fn credential(&self, response: Json) -> Json {
        let raw_id = Base64UrlUnpadded::encode_string(&self.raw_id);
        json!({"id": raw_id, "rawId": raw_id, "type": "public-key", "response": response})
    }

    fn registration_json(&self) -> Json {
        let client_data_json = self.client_data_json();
        let auth_data = self.auth_data();
        let (fmt, statement) = match &self.attest {
            Attest::None => ("none", write::map(&[])),
            Attest::NoneWithStatement => ("none", write::map(&[(write::text("alg"), write::int(-7))])),
            Attest::Fmt(fmt) => (*fmt, write::map(&[])),
            Attest::Packed { key, alg, extra } => {
                let signature = key.sign(&signed_data(&auth_data, &client_data_json));
                let mut members =
                    vec![(write::text("alg"), write::int(*alg)), (write::text("sig"), write::bytes(&signature))];
                members.extend(extra.iter().cloned());
                ("packed", write::map(&members))
            }
        };
        let attestation_object = write::map(&[
            (write::text("fmt"), write::text(fmt)),
            (write::text("attStmt"), statement),
            (write::text("authData"), write::bytes(&auth_data)),
        ]);
        self.credential(json!({
            "clientDataJSON": Base64UrlUnpadded::encode_string(&client_data_json),
            "attestationObject": Base64UrlUnpadded::encode_string(&attestation_object),
            "transports": ["internal", "hybrid"],
        }))
    }

    fn assertion_json(&self) -> Json {
        let client_data_json = self.client_data_json();
        let auth_data = self.auth_data();
        let signature = self.key.sign(&signed_data(&auth_data, &client_data_json));
        let user_handle = self.user_handle.as_deref().map(Base64UrlUnpadded::encode_string);
        self.credential(json!({
            "clientDataJSON": Base64UrlUnpadded::encode_string(&client_data_json),
            "authenticatorData": Base64UrlUnpadded::encode_string(&auth_data),
            "signature": Base64UrlUnpadded::encode_string(&signature),
            "userHandle": user_handle,
        }))
    }

    fn register(&self) -> Result<NewCredential, WebauthnError> {
        verify_registration(&rp(), &self.registration_json(), &CHALLENGE, true)
    }

    fn register_without_requiring_uv(&self) -> Result<NewCredential, WebauthnError> {
        verify_registration(&rp(), &self.registration_json(), &CHALLENGE, false)
    }

    /// Verified against the registered key of `self.key` and a stored count.
    fn assert(&self, stored_count: u32, require_uv: bool) -> Result<Assertion, WebauthnError> {
        let public_key = self.key.cose();
        let stored = StoredCredential { public_key: &public_key, sign_count: stored_count };
        verify_assertion(&rp(), &self.assertion_json(), &CHALLENGE, &stored, require_uv)
    }
}

fn soft_keys() -> [Key; 2] {
    [Key::es256(1), Key::eddsa(1)]
}

#[test]
fn the_software_authenticator_registers_and_asserts() {
    for key in soft_keys() {
        let new = Soft::registration(key.clone()).register().unwrap();
        assert_eq!(new.credential_id, CREDENTIAL_ID);
        assert_eq!(new.public_key, key.cose());
        assert_eq!(new.algorithm, key.alg());
        assert_eq!(new.aaguid, AAGUID);
        assert_eq!(new.transports, ["internal", "hybrid"]);
        let assertion = Soft::assertion(key).assert(0, true).unwrap();
        assert_eq!(assertion.user_handle.as_deref(), Some(&b"user"[..]));
        assert_eq!(assertion.credential_id, CREDENTIAL_ID);
    }
}

#[test]
fn a_packed_self_attestation_by_the_credential_key_is_accepted() {
    for key in soft_keys() {
        let attest = Attest::Packed { key: key.clone(), alg: key.alg(), extra: vec![] };
        let new = Soft { attest, ..Soft::registration(key.clone()) }.register().unwrap();
        assert_eq!(new.algorithm, key.alg());
    }
}

#[test]
fn a_packed_self_attestation_signed_by_another_key_is_refused() {
    for key in soft_keys() {
        let attest = Attest::Packed { key: Key::es256(9), alg: key.alg(), extra: vec![] };
        let soft = Soft { attest, ..Soft::registration(key.clone()) };
        assert_eq!(soft.register(), Err(WebauthnError::Attestation));
        let attest = Attest::Packed { key: Key::eddsa(9), alg: key.alg(), extra: vec![] };
        let soft = Soft { attest, ..Soft::registration(key) };
        assert_eq!(soft.register(), Err(WebauthnError::Attestation));
    }
}

#[test]
fn a_packed_attestation_naming_another_algorithm_is_refused() {
    let key = Key::es256(1);
    let attest = Attest::Packed { key: key.clone(), alg: -8, extra: vec![] };
    assert_eq!(Soft { attest, ..Soft::registration(key) }.register(), Err(WebauthnError::Attestation));
}

#[test]
fn a_packed_attestation_with_a_certificate_chain_is_refused() {
    let key = Key::es256(1);
    // Signed by the credential key itself, so only the x5c member makes it wrong.
    let x5c = (write::text("x5c"), [write::head(4, 1), write::bytes(b"a certificate")].concat());
    let attest = Attest::Packed { key: key.clone(), alg: -7, extra: vec![x5c] };
    assert_eq!(Soft { attest, ..Soft::registration(key) }.register(), Err(WebauthnError::Attestation));
}

#[test]
fn attestation_formats_other_than_none_and_packed_are_refused() {
    for fmt in ["tpm", "android-key", "android-safetynet", "fido-u2f", "apple", "compound", ""] {
        let soft = Soft { attest: Attest::Fmt(fmt), ..Soft::registration(Key::es256(1)) };
        assert_eq!(soft.register(), Err(WebauthnError::Attestation), "{fmt}");
    }
}

#[test]
fn a_none_attestation_with_a_statement_is_refused() {
    let soft = Soft { attest: Attest::NoneWithStatement, ..Soft::registration(Key::es256(1)) };
    assert_eq!(soft.register(), Err(WebauthnError::Attestation));
}

#[test]
fn client_data_of_another_ceremony_is_refused() {
    for kind in ["webauthn.get", "payment.get", "WEBAUTHN.CREATE", ""] {
        let soft = Soft { kind, ..Soft::registration(Key::es256(1)) };
        assert_eq!(soft.register(), Err(WebauthnError::Type), "{kind}");
    }
    let soft = Soft { kind: "webauthn.create", ..Soft::assertion(Key::es256(1)) };
    assert_eq!(soft.assert(0, true), Err(WebauthnError::Type));
}

#[test]
fn a_challenge_other_than_the_expected_one_is_refused() {
    for challenge in [vec![8; 32], CHALLENGE[..31].to_vec(), [&CHALLENGE[..], &[0]].concat(), vec![]] {
        let soft = Soft { challenge: challenge.clone(), ..Soft::registration(Key::es256(1)) };
        assert_eq!(soft.register(), Err(WebauthnError::Challenge));
        let soft = Soft { challenge, ..Soft::assertion(Key::es256(1)) };
        assert_eq!(soft.assert(0, true), Err(WebauthnError::Challenge));
    }
}

#[test]
fn a_short_expected_challenge_matches_nothing_not_even_itself() {
    for challenge in [vec![], vec![7; MIN_CHALLENGE_LEN - 1]] {
        let soft = Soft { challenge: challenge.clone(), ..Soft::registration(Key::es256(1)) };
        let result = verify_registration(&rp(), &soft.registration_json(), &challenge, true);
        assert_eq!(result, Err(WebauthnError::Challenge));
    }
    let challenge = vec![7; MIN_CHALLENGE_LEN];
    let soft = Soft { challenge: challenge.clone(), ..Soft::registration(Key::es256(1)) };
    assert!(verify_registration(&rp(), &soft.registration_json(), &challenge, true).is_ok());
}

#[test]
fn an_origin_must_be_one_of_the_relying_partys_exactly() {
    for origin in [
        "https://evil.example",
        "https://example.com.evil.example",
        "https://example.com/",
        "https://EXAMPLE.com",
        "http://example.com",
        "https://example.com:443",
        "https://sub.example.com",
    ] {
        let soft = Soft { origin, ..Soft::registration(Key::es256(1)) };
        assert_eq!(soft.register(), Err(WebauthnError::Origin), "{origin}");
        let soft = Soft { origin, ..Soft::assertion(Key::es256(1)) };
        assert_eq!(soft.assert(0, true), Err(WebauthnError::Origin), "{origin}");
    }
}

#[test]
fn a_cross_origin_call_is_refused_and_an_absent_cross_origin_is_same_origin() {
    let soft = Soft { cross_origin: Some(true), ..Soft::registration(Key::es256(1)) };
    assert_eq!(soft.register(), Err(WebauthnError::CrossOrigin));
    let soft = Soft { cross_origin: Some(true), ..Soft::assertion(Key::es256(1)) };
    assert_eq!(soft.assert(0, true), Err(WebauthnError::CrossOrigin));
    let soft = Soft { cross_origin: None, ..Soft::assertion(Key::es256(1)) };
    assert!(soft.assert(0, true).is_ok());
}

#[test]
fn authenticator_data_for_another_rp_id_is_refused() {
    for rp_id in ["evil.example", "sub.example.com", "EXAMPLE.COM"] {
        let soft = Soft { rp_id, ..Soft::registration(Key::es256(1)) };
        assert_eq!(soft.register(), Err(WebauthnError::RpId));
        let soft = Soft { rp_id, ..Soft::assertion(Key::es256(1)) };
        assert_eq!(soft.assert(0, true), Err(WebauthnError::RpId));
    }
}

#[test]
fn a_ceremony_without_user_presence_is_refused_even_when_verification_is_not_required() {
    let soft = Soft { flags: FLAG_UV | FLAG_AT, ..Soft::registration(Key::es256(1)) };
    assert_eq!(soft.register_without_requiring_uv(), Err(WebauthnError::UserPresence));
    let soft = Soft { flags: FLAG_UV, ..Soft::assertion(Key::es256(1)) };
    assert_eq!(soft.assert(0, false), Err(WebauthnError::UserPresence));
}

#[test]
fn user_verification_is_refused_only_when_required() {
    let soft = Soft { flags: FLAG_UP | FLAG_AT, ..Soft::registration(Key::es256(1)) };
    assert_eq!(soft.register(), Err(WebauthnError::UserVerification));
    assert!(!soft.register_without_requiring_uv().unwrap().user_verified);
    let soft = Soft { flags: FLAG_UP, ..Soft::assertion(Key::es256(1)) };
    assert_eq!(soft.assert(0, true), Err(WebauthnError::UserVerification));
    assert!(!soft.assert(0, false).unwrap().user_verified);
}

#[test]
fn backup_flags_are_reported_and_backed_up_without_eligibility_is_refused() {
    let flags = FLAG_UP | FLAG_UV | FLAG_AT | FLAG_BE | FLAG_BS;
    let new = Soft { flags, ..Soft::registration(Key::es256(1)) }.register().unwrap();
    assert!(new.backup_eligible && new.backed_up);
    let assertion = Soft { flags: flags & !FLAG_AT, ..Soft::assertion(Key::es256(1)) };
    assert!(assertion.assert(0, true).unwrap().backed_up);

    let soft = Soft { flags: FLAG_UP | FLAG_UV | FLAG_AT | FLAG_BS, ..Soft::registration(Key::es256(1)) };
    assert!(matches!(soft.register(), Err(WebauthnError::Malformed(_))));
    let soft = Soft { flags: FLAG_UP | FLAG_UV | FLAG_BS, ..Soft::assertion(Key::es256(1)) };
    assert!(matches!(soft.assert(0, true), Err(WebauthnError::Malformed(_))));
}

#[test]
fn a_registration_without_attested_credential_data_is_refused() {
    let soft = Soft { flags: FLAG_UP | FLAG_UV, ..Soft::registration(Key::es256(1)) };
    assert_eq!(soft.register(), Err(WebauthnError::CredentialId));
}

#[test]
fn a_registration_whose_attested_id_is_not_its_raw_id_is_refused() {
    let soft = Soft { raw_id: b"another id".to_vec(), ..Soft::registration(Key::es256(1)) };
    assert_eq!(soft.register(), Err(WebauthnError::CredentialId));
}

#[test]
fn an_attested_credential_id_must_be_1_to_1023_bytes() {
    for (len, accepted) in [(0, false), (1, true), (1023, true), (1024, false)] {
        let soft = Soft { credential_id: vec![1; len], ..Soft::registration(Key::es256(1)) };
        assert_eq!(AuthenticatorData::parse(&soft.auth_data()).is_ok(), accepted, "{len}");
    }
}

#[test]
fn extension_outputs_are_parsed_then_ignored_and_bad_ones_are_refused() {
    let extensions = write::map(&[(write::text("credProtect"), write::int(2))]);
    for mut soft in [Soft::registration(Key::es256(1)), Soft::assertion(Key::es256(1))] {
        soft.flags |= FLAG_ED;
        soft.extensions = Some(extensions.clone());
        let accepted =
            if soft.kind == "webauthn.create" { soft.register().map(drop) } else { soft.assert(0, true).map(drop) };
        assert_eq!(accepted, Ok(()));
        for bad in [vec![], write::int(2), [extensions.clone(), vec![0]].concat(), vec![0xa1]] {
            soft.extensions = Some(bad);
            let refused =
                if soft.kind == "webauthn.create" { soft.register().map(drop) } else { soft.assert(0, true).map(drop) };
            assert!(matches!(refused, Err(WebauthnError::Malformed(_))));
        }
        // Bytes after the data with no ED flag to account for them.
        soft.flags &= !FLAG_ED;
        soft.extensions = Some(extensions.clone());
        let refused =
            if soft.kind == "webauthn.create" { soft.register().map(drop) } else { soft.assert(0, true).map(drop) };
        assert!(matches!(refused, Err(WebauthnError::Malformed(_))));
    }
}

#[test]
fn the_signature_counter_must_grow_unless_both_counts_are_zero() {
    for (stored, new, accepted) in [
        (0, 0, true),
        (0, 1, true),
        (5, 6, true),
        (5, u32::MAX, true),
        (5, 5, false),
        (5, 4, false),
        (5, 0, false),
        (u32::MAX, u32::MAX, false),
    ] {
        let soft = Soft { sign_count: new, ..Soft::assertion(Key::eddsa(1)) };
        let result = soft.assert(stored, true);
        if accepted {
            assert_eq!(result.unwrap().sign_count, new);
        } else {
            assert_eq!(result, Err(WebauthnError::Counter), "stored {stored}, new {new}");
        }
    }
}

#[test]
fn an_assertion_without_a_user_handle_has_none() {
    for user_handle in [None, Some(Vec::new())] {
        let soft = Soft { user_handle, ..Soft::assertion(Key::es256(1)) };
        assert_eq!(soft.assert(0, true).unwrap().user_handle, None);
    }
}

// ---- Public keys ------------------------------------------------------------------------------

fn ec2(alg: i64, kty: i64, crv: i64, x: &[u8], y: &[u8]) -> Vec<u8> {
    use write::{bytes, int, map};
    map(&[(int(1), int(kty)), (int(3), int(alg)), (int(-1), int(crv)), (int(-2), bytes(x)), (int(-3), bytes(y))])
}

fn rsa_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    rsa_key_of_kty(3, n, e)
}

fn rsa_key_of_kty(kty: i64, n: &[u8], e: &[u8]) -> Vec<u8> {
    use write::{bytes, int, map};
    map(&[(int(1), int(kty)), (int(3), int(-257)), (int(-1), bytes(n)), (int(-2), bytes(e))])
}

/// Registers `cose` (attestation none, so no signature by it is needed).
fn register_key(cose: Vec<u8>) -> Result<NewCredential, WebauthnError> {
    Soft { cose: Some(cose), ..Soft::registration(Key::es256(1)) }.register()
}

#[test]
fn a_key_of_an_algorithm_not_offered_is_refused() {
    let Key::Es256(key) = Key::es256(1) else { unreachable!() };
    let point = key.verifying_key().to_encoded_point(false);
    let (x, y) = (point.x().unwrap(), point.y().unwrap());
    // ES384, ES512, PS256, RS1, and no algorithm at all.
    for alg in [-35, -36, -37, -65535, 0] {
        assert_eq!(register_key(ec2(alg, 2, 1, x, y)), Err(WebauthnError::Algorithm), "{alg}");
    }
}

#[test]
fn a_key_inconsistent_with_its_algorithm_is_refused() {
    let Key::Es256(key) = Key::es256(1) else { unreachable!() };
    let point = key.verifying_key().to_encoded_point(false);
    let (x, y) = (point.x().unwrap().to_vec(), point.y().unwrap().to_vec());
    assert!(register_key(ec2(-7, 2, 1, &x, &y)).is_ok());
    let mut off_curve = y.clone();
    off_curve[31] ^= 1;
    let Key::EdDsa(pair) = Key::eddsa(1) else { unreachable!() };
    let ed = pair.pk.as_ref();
    for cose in [
        ec2(-7, 1, 1, &x, &y),                          // kty OKP
        ec2(-7, 3, 1, &x, &y),                          // kty RSA
        ec2(-7, 2, 2, &x, &y),                          // P-384
        ec2(-7, 2, 1, &x[1..], &y),                     // short x
        ec2(-7, 2, 1, &x, &[&y[..], &[0]].concat()),    // long y
        ec2(-7, 2, 1, &x, &off_curve),                  // not on the curve
        ec2(-7, 2, 1, &[0; 32], &[0; 32]),              // the identity, not a point
        ec2(-8, 2, 6, ed, ed),                          // EdDSA as EC2
        ec2(-8, 1, 4, ed, ed),                          // X25519
        ec2(-8, 1, 6, &ed[1..], ed),                    // short Ed25519 key
        write::map(&[(write::int(3), write::int(-7))]), // nothing but alg
        write::int(-7),                                 // not a map
    ] {
        assert_eq!(register_key(cose.clone()), Err(WebauthnError::PublicKey), "{cose:02x?}");
    }
}

#[test]
fn an_rsa_key_under_2048_bits_is_refused() {
    let fixture = recorded(RS256_FIXTURE);
    let key = fixture.register().unwrap().public_key;
    let Ok(cose) = cbor::decode(&key) else { panic!() };
    let (Some(Value::Bytes(n)), Some(Value::Bytes(e))) = (cose.get_int(-1), cose.get_int(-2)) else { panic!() };
    assert_eq!(n.len(), 256);
    assert!(register_key(rsa_key(n, e)).is_ok());
    // 2047 bits: the same modulus shifted right by one.
    let mut short = vec![0u8; 256];
    for i in 0..256 {
        short[i] = (n[i] >> 1) | if i > 0 { n[i - 1] << 7 } else { 0 };
    }
    assert_eq!(register_key(rsa_key(&short, e)), Err(WebauthnError::PublicKey));
    assert_eq!(register_key(rsa_key(&n[..128], e)), Err(WebauthnError::PublicKey));
    assert_eq!(register_key(rsa_key(n, &[1])), Err(WebauthnError::PublicKey));
}

#[test]
fn an_rsa_key_must_say_it_is_rsa() {
    let fixture = recorded(RS256_FIXTURE);
    let key = fixture.register().unwrap().public_key;
    let Ok(cose) = cbor::decode(&key) else { panic!() };
    let (Some(Value::Bytes(n)), Some(Value::Bytes(e))) = (cose.get_int(-1), cose.get_int(-2)) else { panic!() };
    for kty in [1, 2, 4] {
        assert_eq!(register_key(rsa_key_of_kty(kty, n, e)), Err(WebauthnError::PublicKey), "{kty}");
    }
}

// ---- No input panics ----------------------------------------------------------------------------

/// Every way of spoiling the base64url member at `pointer` of `json`: each truncation, each
/// single byte flipped (a sample), garbage; the verifier must answer an error, never panic.
fn spoiled(json: &Json, pointer: &str) -> Vec<Json> {
    let bytes = b64(json.pointer(pointer).unwrap().as_str().unwrap()).unwrap();
    let mut variants = Vec::new();
    let encode = |b: &[u8]| Json::String(Base64UrlUnpadded::encode_string(b));
    for len in 0..bytes.len() {
        variants.push(with(json, pointer, encode(&bytes[..len])));
    }
    for i in (0..bytes.len()).step_by(3) {
        for bit in [0x01, 0x80, 0xff] {
            let mut flipped = bytes.clone();
            flipped[i] ^= bit;
            variants.push(with(json, pointer, encode(&flipped)));
        }
    }
    for garbage in [json!("*"), json!(""), json!(null), json!(7), json!([]), json!({})] {
        variants.push(with(json, pointer, garbage));
    }
    variants
}

#[test]
fn truncated_or_garbled_registrations_are_refused_without_panicking() {
    for fixture in all_recorded() {
        for pointer in ["/response/attestationObject", "/response/clientDataJSON"] {
            for variant in spoiled(&fixture.registration, pointer) {
                // With attestation "none" nothing signs the registration, so a flip in, say,
                // the counter still verifies: the point is that no input panics.
                let _ = verify_registration(&fixture.rp, &variant, &fixture.registration_challenge, true);
            }
            // Every truncation is refused.
            let bytes = b64(fixture.registration.pointer(pointer).unwrap().as_str().unwrap()).unwrap();
            for len in 0..bytes.len() {
                let truncated =
                    with(&fixture.registration, pointer, json!(Base64UrlUnpadded::encode_string(&bytes[..len])));
                assert!(verify_registration(&fixture.rp, &truncated, &fixture.registration_challenge, true).is_err());
            }
        }
    }
}

#[test]
fn truncated_or_garbled_assertions_are_refused_without_panicking() {
    for fixture in all_recorded() {
        for pointer in ["/response/authenticatorData", "/response/clientDataJSON", "/response/signature"] {
            for variant in spoiled(&fixture.assertion, pointer) {
                assert!(fixture.assert_with(&variant, 0).is_err(), "{pointer}");
            }
        }
        // The user handle is not signed (the caller checks it names the credential's owner),
        // but one that is not base64url is refused.
        for garbage in [json!("*"), json!(7), json!([]), json!({})] {
            let variant = with(&fixture.assertion, "/response/userHandle", garbage);
            assert_eq!(fixture.assert_with(&variant, 0), Err(WebauthnError::Malformed("userHandle")));
        }
        // The stored key itself truncated or garbled.
        let key = fixture.register().unwrap().public_key;
        for len in 0..key.len() {
            let stored = StoredCredential { public_key: &key[..len], sign_count: 0 };
            let result = verify_assertion(&fixture.rp, &fixture.assertion, &fixture.assertion_challenge, &stored, true);
            assert!(result.is_err());
        }
    }
}

#[test]
fn credentials_that_are_not_credentials_are_refused_without_panicking() {
    let fixture = recorded(ES256_FIXTURE);
    let key = fixture.register().unwrap().public_key;
    let stored = StoredCredential { public_key: &key, sign_count: 0 };
    for credential in [
        json!(null),
        json!([]),
        json!("public-key"),
        json!({}),
        json!({"type": "public-key"}),
        json!({"type": "public-key", "id": "AQI"}),
        json!({"type": "public-key", "id": "AQI", "response": null}),
        json!({"type": "public-key", "id": "AQI", "response": {}}),
        json!({"type": "public-key", "id": "AQI", "response": {"clientDataJSON": "e30"}}),
        json!({"type": "public-key", "id": "AQI", "response": {"clientDataJSON": "bnVsbA"}}),
        json!({"type": 1, "id": "AQI", "response": {}}),
    ] {
        assert!(challenge_of(&credential).is_err(), "{credential}");
        assert!(verify_registration(&fixture.rp, &credential, &[], true).is_err());
        assert!(verify_assertion(&fixture.rp, &credential, &[], &stored, true).is_err());
    }
}

// ---- Options and errors ---------------------------------------------------------------------------

#[test]
fn creation_options_are_the_contracts_json() {
    let options = creation_options(
        &rp(),
        &[1; 16],
        "ada@example.com",
        "Ada Lovelace",
        &CHALLENGE,
        &[(b"key".to_vec(), vec!["usb".to_owned()])],
    );
    assert_eq!(
        options,
        json!({
            "rp": {"id": "example.com", "name": "edge-auth"},
            "user": {"id": "AQEBAQEBAQEBAQEBAQEBAQ", "name": "ada@example.com", "displayName": "Ada Lovelace"},
            "challenge": Base64UrlUnpadded::encode_string(&CHALLENGE),
            "pubKeyCredParams": [
                {"type": "public-key", "alg": -8},
                {"type": "public-key", "alg": -7},
                {"type": "public-key", "alg": -257},
            ],
            "timeout": 300000,
            "excludeCredentials": [{"type": "public-key", "id": "a2V5", "transports": ["usb"]}],
            "authenticatorSelection": {"residentKey": "required", "requireResidentKey": true, "userVerification": "preferred"},
            "attestation": "none",
        })
    );
}

#[test]
fn request_options_are_the_contracts_json() {
    assert_eq!(
        request_options(&rp(), &CHALLENGE, &[], "required"),
        json!({
            "challenge": Base64UrlUnpadded::encode_string(&CHALLENGE),
            "timeout": 300000,
            "rpId": "example.com",
            "allowCredentials": [],
            "userVerification": "required",
        })
    );
    let allow = [(b"key".to_vec(), vec!["internal".to_owned(), "hybrid".to_owned()])];
    assert_eq!(
        request_options(&rp(), &CHALLENGE, &allow, "preferred")["allowCredentials"],
        json!([{"type": "public-key", "id": "a2V5", "transports": ["internal", "hybrid"]}])
    );
}

#[test]
fn transports_are_kept_bounded_and_plausible() {
    let response =
        json!({"transports": ["usb", "usb", "NFC", "", 7, "x".repeat(33), "a", "b", "c", "d", "e", "f", "g", "h"]});
    assert_eq!(transports(&response), ["usb", "a", "b", "c", "d", "e", "f", "g"]);
    assert!(transports(&json!({"transports": "usb"})).is_empty());
}

#[test]
fn reasons_are_short_and_name_no_internals() {
    let all = [
        WebauthnError::Malformed("authenticatorData"),
        WebauthnError::CredentialType,
        WebauthnError::Type,
        WebauthnError::Challenge,
        WebauthnError::Origin,
        WebauthnError::CrossOrigin,
        WebauthnError::RpId,
        WebauthnError::UserPresence,
        WebauthnError::UserVerification,
        WebauthnError::CredentialId,
        WebauthnError::Algorithm,
        WebauthnError::PublicKey,
        WebauthnError::Attestation,
        WebauthnError::Signature,
        WebauthnError::Counter,
    ];
    for error in all {
        let reason = error.reason();
        assert!(reason.len() < 64 && reason.ends_with('.'), "{reason}");
        assert!(!reason.contains("authenticatorData"));
        assert_eq!(error.to_string(), reason);
    }
}
