//! A WebAuthn Level 3 relying party: the checks of §7.1 "Registering a New Credential" and
//! §7.2 "Verifying an Authentication Assertion", and the JSON options the browser's
//! `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON` read.
//! Pure: the credential JSON, the expected challenge and the stored key come in; the caller
//! stores challenges (single use) and credentials.
//!
//! Checked, each with its own [`WebauthnError`]:
//! - the credential's `type` is `"public-key"`, its `rawId` (and `id`, if both) base64url;
//! - clientDataJSON: `type` (`webauthn.create` / `webauthn.get`), `challenge` equal to the
//!   expected one (constant time; an expected challenge under 16 bytes matches nothing), `origin` exactly one of [`RelyingParty::origins`], and
//!   `crossOrigin` not true (we are never embedded in another site's iframe);
//! - authenticator data: every length, rpIdHash = SHA-256(RP ID), UP always, UV when the caller
//!   requires it, BS never without BE, attested credential data and extensions (the ED flag)
//!   parsed and nothing after them;
//! - registration: attested credential data present, its credential id equal to `rawId`, its
//!   COSE key well formed and of ES256 (-7), EdDSA (-8) or RS256 (-257, modulus >= 2048 bits);
//!   attestation `none` (empty statement) or `packed` self attestation (no `x5c`, the
//!   statement's `alg` the key's, its signature over authData || SHA-256(clientDataJSON) by the
//!   credential key itself);
//! - assertion: the signature over authenticatorData || SHA-256(clientDataJSON) by the stored
//!   key, then the signature counter (when either count is non-zero, the new one must exceed the
//!   stored one: a clone of the authenticator is suspected otherwise).
//!
//! Not checked, on purpose:
//! - attestation trust: `packed` with a certificate chain (`x5c`), `tpm`, `android-key`,
//!   `android-safetynet`, `fido-u2f`, `apple` are refused rather than half-verified. We ask for
//!   `attestation: "none"` and do not restrict authenticator models, so a chain would prove
//!   nothing we use (browsers answer `none` to that request anyway);
//! - `topOrigin` (only meaningful with `crossOrigin`, which is refused), token binding (gone
//!   from L3), extension outputs (none requested: they are parsed, then ignored);
//! - the user handle of an assertion: it is returned; the caller must check that the credential
//!   it looked up by [`credential_id_of`] belongs to that user;
//! - the challenge's freshness and single use, and the credential's not being registered yet:
//!   storage questions for the caller.

mod cbor;
mod cose;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use cbor::Value;
use cose::PublicKey;

/// The algorithms offered, in the order offered (`pubKeyCredParams`): EdDSA, ES256, RS256.
pub const ALGORITHMS: [i64; 3] = [cose::EDDSA, cose::ES256, cose::RS256];

/// Milliseconds the browser is given for a ceremony (the challenges live 5 minutes too).
pub const TIMEOUT_MS: u64 = 300_000;

/// Transports kept from a registration: at most this many, each at most `MAX_TRANSPORT_LEN`
/// bytes of `[a-z0-9-]` (WebAuthn says to store unknown ones too, so no fixed list).
const MAX_TRANSPORTS: usize = 8;
const MAX_TRANSPORT_LEN: usize = 32;

/// The shortest challenge accepted: WebAuthn §13.4.3 asks for at least 16 random bytes.
pub const MIN_CHALLENGE_LEN: usize = 16;

/// The longest credential id WebAuthn allows (§6.5.1, `credentialIdLength`).
const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// Authenticator data flags (§6.1).
const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/// The relying party: its RP ID (a registrable domain suffix of the origins' hosts), the name
/// authenticators show, and the exact origins (`scheme://host[:port]`) pages may call from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub name: String,
    pub origins: Vec<String>,
}

/// Why a credential was refused: one variant per check. [`WebauthnError::reason`] is safe to
/// show; the variant is for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebauthnError {
    /// The JSON, base64url, CBOR or authenticator data is not what WebAuthn defines; the text
    /// names which part (for logs, never shown).
    Malformed(&'static str),
    /// The credential's `type` is not `"public-key"`.
    CredentialType,
    /// clientDataJSON's `type` is not the ceremony's (`webauthn.create` / `webauthn.get`).
    Type,
    /// clientDataJSON's challenge is not the expected one.
    Challenge,
    /// clientDataJSON's origin is not one of the relying party's.
    Origin,
    /// clientDataJSON says the call came from a cross-origin iframe.
    CrossOrigin,
    /// The authenticator data's rpIdHash is not SHA-256 of the RP ID.
    RpId,
    /// The user-present flag is not set.
    UserPresence,
    /// User verification was required and the user-verified flag is not set.
    UserVerification,
    /// The authenticator data of a registration carries no credential, or its id is not the
    /// credential's `rawId`.
    CredentialId,
    /// The credential's algorithm is not one of [`ALGORITHMS`].
    Algorithm,
    /// The COSE public key is malformed, inconsistent with its algorithm, or too weak.
    PublicKey,
    /// The attestation format is not supported, or its statement does not verify.
    Attestation,
    /// The assertion's signature does not verify with the stored key.
    Signature,
    /// The signature counter did not increase: the authenticator may have been cloned.
    Counter,
}

impl WebauthnError {
    /// Short human text, safe to send to the client (names the failed check, no internals).
    pub fn reason(&self) -> &'static str {
        match self {
            WebauthnError::Malformed(_) => "The credential is malformed.",
            WebauthnError::CredentialType => "The credential is not a public key credential.",
            WebauthnError::Type => "The credential was made for another ceremony.",
            WebauthnError::Challenge => "The challenge does not match.",
            WebauthnError::Origin => "The origin is not allowed.",
            WebauthnError::CrossOrigin => "Cross-origin requests are not allowed.",
            WebauthnError::RpId => "The credential is for another relying party.",
            WebauthnError::UserPresence => "User presence was not confirmed.",
            WebauthnError::UserVerification => "User verification is required.",
            WebauthnError::CredentialId => "The credential id does not match.",
            WebauthnError::Algorithm => "The credential's algorithm is not supported.",
            WebauthnError::PublicKey => "The credential's public key is invalid.",
            WebauthnError::Attestation => "The attestation is not supported or invalid.",
            WebauthnError::Signature => "The signature is invalid.",
            WebauthnError::Counter => "The signature counter did not increase.",
        }
    }
}

impl std::fmt::Display for WebauthnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for WebauthnError {}

/// A credential that passed registration, to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub credential_id: Vec<u8>,
    /// The COSE_Key bytes as the authenticator sent them (what [`StoredCredential`] takes).
    pub public_key: Vec<u8>,
    pub algorithm: i64,
    pub sign_count: u32,
    pub transports: Vec<String>,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub user_verified: bool,
    pub aaguid: [u8; 16],
}

/// What the caller stored of a credential, to verify an assertion by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredCredential<'a> {
    pub public_key: &'a [u8],
    pub sign_count: u32,
}

/// An assertion that passed: the caller stores `sign_count` and `backed_up`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub credential_id: Vec<u8>,
    /// The user handle the authenticator returned (`user.id` at registration); `None` when
    /// absent (non-discoverable credentials may omit it). The caller checks it is the owner's.
    pub user_handle: Option<Vec<u8>>,
    pub sign_count: u32,
    pub user_verified: bool,
    pub backed_up: bool,
}

/// The challenge (raw bytes) a credential's clientDataJSON names, for the caller to look up
/// the stored challenge before verifying. Says nothing about the credential's validity.
pub fn challenge_of(credential: &Json) -> Result<Vec<u8>, WebauthnError> {
    let client_data_json = b64_member(response(credential)?, "clientDataJSON")?;
    let client_data = ClientData::parse(&client_data_json)?;
    b64(&client_data.challenge).ok_or(WebauthnError::Malformed("challenge"))
}

/// The credential id (raw bytes) of a credential JSON: `rawId`, else `id` (base64url). When
/// both are present they must name the same bytes.
pub fn credential_id_of(credential: &Json) -> Result<Vec<u8>, WebauthnError> {
    let decode = |name| match credential.get(name) {
        None => Ok(None),
        Some(Json::String(s)) => b64(s).map(Some).ok_or(WebauthnError::Malformed("credential id")),
        Some(_) => Err(WebauthnError::Malformed("credential id")),
    };
    match (decode("rawId")?, decode("id")?) {
        (Some(raw), Some(id)) if raw != id => Err(WebauthnError::Malformed("id and rawId differ")),
        (Some(raw), _) | (None, Some(raw)) if !raw.is_empty() && raw.len() <= MAX_CREDENTIAL_ID_LEN => Ok(raw),
        _ => Err(WebauthnError::Malformed("credential id")),
    }
}

/// Verifies a registration (`navigator.credentials.create()`'s credential, as `toJSON()`
/// writes it) made for `expected_challenge`; answers the credential to store.
pub fn verify_registration(
    rp: &RelyingParty,
    credential: &Json,
    expected_challenge: &[u8],
    require_user_verification: bool,
) -> Result<NewCredential, WebauthnError> {
    let credential_id = public_key_credential(credential)?;
    let response = response(credential)?;
    let client_data_json = b64_member(response, "clientDataJSON")?;
    check_client_data(rp, &client_data_json, "webauthn.create", expected_challenge)?;

    let attestation_object = b64_member(response, "attestationObject")?;
    let attestation = cbor::decode(&attestation_object).map_err(|_| WebauthnError::Malformed("attestationObject"))?;
    let (fmt, att_stmt, auth_data_bytes) =
        match (attestation.get_text("fmt"), attestation.get_text("attStmt"), attestation.get_text("authData")) {
            (Some(Value::Text(fmt)), Some(stmt @ Value::Map(_)), Some(Value::Bytes(data))) => (*fmt, stmt, *data),
            _ => return Err(WebauthnError::Malformed("attestationObject")),
        };

    let auth_data = AuthenticatorData::parse(auth_data_bytes)?;
    check_authenticator_data(rp, &auth_data, require_user_verification)?;
    let attested = auth_data.attested.as_ref().ok_or(WebauthnError::CredentialId)?;
    if attested.credential_id != credential_id.as_slice() {
        return Err(WebauthnError::CredentialId);
    }
    let (key, algorithm) = PublicKey::from_cose(attested.public_key)?;

    match fmt {
        "none" if *att_stmt == Value::Map(Vec::new()) => {}
        "packed" => {
            // Self attestation only (§8.2 step 3): a statement with a certificate chain
            // (x5c) is another trust model, refused; so is anything but alg and sig.
            let (Value::Map(members), Some(Value::Int(alg)), Some(Value::Bytes(sig))) =
                (att_stmt, att_stmt.get_text("alg"), att_stmt.get_text("sig"))
            else {
                return Err(WebauthnError::Attestation);
            };
            if members.len() != 2 || *alg != algorithm {
                return Err(WebauthnError::Attestation);
            }
            key.verify(&signed_data(auth_data_bytes, &client_data_json), sig)
                .map_err(|()| WebauthnError::Attestation)?;
        }
        _ => return Err(WebauthnError::Attestation),
    }

    Ok(NewCredential {
        credential_id,
        public_key: attested.public_key.to_vec(),
        algorithm,
        sign_count: auth_data.sign_count,
        transports: transports(response),
        backup_eligible: auth_data.flags & FLAG_BE != 0,
        backed_up: auth_data.flags & FLAG_BS != 0,
        user_verified: auth_data.flags & FLAG_UV != 0,
        aaguid: attested.aaguid,
    })
}

/// Verifies an assertion (`navigator.credentials.get()`'s credential, as `toJSON()` writes
/// it) made for `expected_challenge` by the credential `stored` (which the caller found by
/// [`credential_id_of`]); answers what to update.
pub fn verify_assertion(
    rp: &RelyingParty,
    credential: &Json,
    expected_challenge: &[u8],
    stored: &StoredCredential,
    require_user_verification: bool,
) -> Result<Assertion, WebauthnError> {
    let credential_id = public_key_credential(credential)?;
    let response = response(credential)?;
    let client_data_json = b64_member(response, "clientDataJSON")?;
    check_client_data(rp, &client_data_json, "webauthn.get", expected_challenge)?;

    let auth_data_bytes = b64_member(response, "authenticatorData")?;
    let auth_data = AuthenticatorData::parse(&auth_data_bytes)?;
    check_authenticator_data(rp, &auth_data, require_user_verification)?;

    let signature = b64_member(response, "signature")?;
    let (key, _) = PublicKey::from_cose(stored.public_key)?;
    key.verify(&signed_data(&auth_data_bytes, &client_data_json), &signature).map_err(|()| WebauthnError::Signature)?;

    // §7.2 step 22: counters that do not move are allowed only when both are zero
    // (authenticators without a counter, such as synced passkeys).
    if (stored.sign_count != 0 || auth_data.sign_count != 0) && auth_data.sign_count <= stored.sign_count {
        return Err(WebauthnError::Counter);
    }

    let user_handle = match response.get("userHandle") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) if s.is_empty() => None,
        Some(Json::String(s)) => Some(b64(s).ok_or(WebauthnError::Malformed("userHandle"))?),
        Some(_) => return Err(WebauthnError::Malformed("userHandle")),
    };

    Ok(Assertion {
        credential_id,
        user_handle,
        sign_count: auth_data.sign_count,
        user_verified: auth_data.flags & FLAG_UV != 0,
        backed_up: auth_data.flags & FLAG_BS != 0,
    })
}

/// PublicKeyCredentialCreationOptionsJSON for a registration (a discoverable credential,
/// user verification preferred, no attestation); `exclude` lists the user's credentials
/// (id, transports) so an authenticator is not registered twice.
pub fn creation_options(
    rp: &RelyingParty,
    user_handle: &[u8],
    user_name: &str,
    display_name: &str,
    challenge: &[u8],
    exclude: &[(Vec<u8>, Vec<String>)],
) -> Json {
    json!({
        "rp": {"id": rp.id, "name": rp.name},
        "user": {
            "id": Base64UrlUnpadded::encode_string(user_handle),
            "name": user_name,
            "displayName": display_name,
        },
        "challenge": Base64UrlUnpadded::encode_string(challenge),
        "pubKeyCredParams": ALGORITHMS
            .iter()
            .map(|alg| json!({"type": "public-key", "alg": alg}))
            .collect::<Vec<_>>(),
        "timeout": TIMEOUT_MS,
        "excludeCredentials": descriptors(exclude),
        "authenticatorSelection": {
            "residentKey": "required",
            "requireResidentKey": true,
            "userVerification": "preferred",
        },
        "attestation": "none",
    })
}

/// PublicKeyCredentialRequestOptionsJSON for an authentication: `allow` empty for a
/// usernameless login (discoverable credentials), else the user's credentials.
pub fn request_options(
    rp: &RelyingParty,
    challenge: &[u8],
    allow: &[(Vec<u8>, Vec<String>)],
    user_verification: &str,
) -> Json {
    json!({
        "challenge": Base64UrlUnpadded::encode_string(challenge),
        "timeout": TIMEOUT_MS,
        "rpId": rp.id,
        "allowCredentials": descriptors(allow),
        "userVerification": user_verification,
    })
}

fn descriptors(credentials: &[(Vec<u8>, Vec<String>)]) -> Vec<Json> {
    credentials
        .iter()
        .map(|(id, transports)| {
            json!({"type": "public-key", "id": Base64UrlUnpadded::encode_string(id), "transports": transports})
        })
        .collect()
}

/// base64url without padding, as WebAuthn's JSON forms write it (padding tolerated).
fn b64(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text.trim_end_matches('=')).ok()
}

/// The credential's `type` and id: the common first step of both ceremonies.
fn public_key_credential(credential: &Json) -> Result<Vec<u8>, WebauthnError> {
    match credential.get("type") {
        Some(Json::String(t)) if t == "public-key" => credential_id_of(credential),
        Some(Json::String(_)) => Err(WebauthnError::CredentialType),
        _ => Err(WebauthnError::Malformed("type")),
    }
}

fn response(credential: &Json) -> Result<&Json, WebauthnError> {
    match credential.get("response") {
        Some(r @ Json::Object(_)) => Ok(r),
        _ => Err(WebauthnError::Malformed("response")),
    }
}

fn b64_member(response: &Json, name: &'static str) -> Result<Vec<u8>, WebauthnError> {
    response.get(name).and_then(Json::as_str).and_then(b64).ok_or(WebauthnError::Malformed(name))
}

/// The transports a registration reported (`response.transports`), bounded for storage.
fn transports(response: &Json) -> Vec<String> {
    let Some(Json::Array(items)) = response.get("transports") else {
        return Vec::new();
    };
    let mut kept: Vec<String> = Vec::new();
    for item in items.iter().filter_map(Json::as_str) {
        let plausible = !item.is_empty()
            && item.len() <= MAX_TRANSPORT_LEN
            && item.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if plausible && kept.len() < MAX_TRANSPORTS && !kept.iter().any(|k| k == item) {
            kept.push(item.to_owned());
        }
    }
    kept
}

/// What both signatures cover: authenticator data || SHA-256(clientDataJSON) (§6.3.3).
fn signed_data(auth_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(auth_data.len() + 32);
    data.extend_from_slice(auth_data);
    data.extend_from_slice(&Sha256::digest(client_data_json));
    data
}

/// CollectedClientData (§5.8.1); other members (topOrigin, tokenBinding, future ones) ignored.
/// Read through `serde_json::Value`, which the worker links anyway, rather than a derived
/// `Deserialize` (a few KB of wasm more).
struct ClientData {
    kind: String,
    challenge: String,
    origin: String,
    cross_origin: Option<bool>,
}

impl ClientData {
    fn parse(json: &[u8]) -> Result<ClientData, WebauthnError> {
        const MALFORMED: WebauthnError = WebauthnError::Malformed("clientDataJSON");
        let Ok(Json::Object(mut members)) = serde_json::from_slice::<Json>(json) else {
            return Err(MALFORMED);
        };
        let mut text = |name| match members.remove(name) {
            Some(Json::String(s)) => Ok(s),
            _ => Err(MALFORMED),
        };
        let (kind, challenge, origin) = (text("type")?, text("challenge")?, text("origin")?);
        let cross_origin = match members.remove("crossOrigin") {
            None | Some(Json::Null) => None,
            Some(Json::Bool(b)) => Some(b),
            Some(_) => return Err(MALFORMED),
        };
        Ok(ClientData { kind, challenge, origin, cross_origin })
    }
}

fn check_client_data(
    rp: &RelyingParty,
    client_data_json: &[u8],
    ceremony: &str,
    expected_challenge: &[u8],
) -> Result<(), WebauthnError> {
    let client_data = ClientData::parse(client_data_json)?;
    if client_data.kind != ceremony {
        return Err(WebauthnError::Type);
    }
    let challenge = b64(&client_data.challenge).ok_or(WebauthnError::Challenge)?;
    // A short expected challenge is the caller's bug (say, an empty one for "not found"),
    // which an empty challenge in the client data would otherwise match.
    if expected_challenge.len() < MIN_CHALLENGE_LEN || !bool::from(challenge.ct_eq(expected_challenge)) {
        return Err(WebauthnError::Challenge);
    }
    if !rp.origins.contains(&client_data.origin) {
        return Err(WebauthnError::Origin);
    }
    if client_data.cross_origin == Some(true) {
        return Err(WebauthnError::CrossOrigin);
    }
    Ok(())
}

fn check_authenticator_data(
    rp: &RelyingParty,
    auth_data: &AuthenticatorData<'_>,
    require_user_verification: bool,
) -> Result<(), WebauthnError> {
    if !bool::from(auth_data.rp_id_hash.ct_eq(Sha256::digest(rp.id.as_bytes()).as_slice())) {
        return Err(WebauthnError::RpId);
    }
    if auth_data.flags & FLAG_UP == 0 {
        return Err(WebauthnError::UserPresence);
    }
    if require_user_verification && auth_data.flags & FLAG_UV == 0 {
        return Err(WebauthnError::UserVerification);
    }
    if auth_data.flags & FLAG_BS != 0 && auth_data.flags & FLAG_BE == 0 {
        return Err(WebauthnError::Malformed("backup state without backup eligibility"));
    }
    Ok(())
}

/// Authenticator data (§6.1): rpIdHash (32) | flags (1) | signCount (4, big-endian) |
/// attested credential data (if AT) | extensions CBOR map (if ED), and nothing more.
struct AuthenticatorData<'a> {
    rp_id_hash: &'a [u8],
    flags: u8,
    sign_count: u32,
    attested: Option<AttestedCredential<'a>>,
}

/// Attested credential data (§6.5.1): aaguid (16) | credentialIdLength (2) | credentialId |
/// credentialPublicKey (one COSE_Key, its length known only by decoding it).
struct AttestedCredential<'a> {
    aaguid: [u8; 16],
    credential_id: &'a [u8],
    public_key: &'a [u8],
}

impl<'a> AuthenticatorData<'a> {
    fn parse(bytes: &'a [u8]) -> Result<AuthenticatorData<'a>, WebauthnError> {
        const MALFORMED: WebauthnError = WebauthnError::Malformed("authenticatorData");
        let (rp_id_hash, rest) = split(bytes, 32).ok_or(MALFORMED)?;
        let (flags, rest) = split(rest, 1).ok_or(MALFORMED)?;
        let (count, mut rest) = split(rest, 4).ok_or(MALFORMED)?;
        let flags = flags[0];
        let sign_count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]);

        let attested = if flags & FLAG_AT != 0 {
            let (aaguid, after) = split(rest, 16).ok_or(MALFORMED)?;
            let (len, after) = split(after, 2).ok_or(MALFORMED)?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            if len == 0 || len > MAX_CREDENTIAL_ID_LEN {
                return Err(MALFORMED);
            }
            let (credential_id, after) = split(after, len).ok_or(MALFORMED)?;
            let (_, key_len) = cbor::decode_prefix(after).map_err(|_| MALFORMED)?;
            let (public_key, after) = split(after, key_len).ok_or(MALFORMED)?;
            rest = after;
            let mut guid = [0; 16];
            guid.copy_from_slice(aaguid);
            Some(AttestedCredential { aaguid: guid, credential_id, public_key })
        } else {
            None
        };
        if flags & FLAG_ED != 0 {
            // Extension outputs: a CBOR map, parsed so a bad one is refused, then ignored.
            match cbor::decode_prefix(rest) {
                Ok((Value::Map(_), used)) => rest = &rest[used..],
                _ => return Err(MALFORMED),
            }
        }
        if !rest.is_empty() {
            return Err(MALFORMED);
        }
        Ok(AuthenticatorData { rp_id_hash, flags, sign_count, attested })
    }
}

/// `bytes` cut after `n`, or `None` when shorter.
fn split(bytes: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (bytes.len() >= n).then(|| bytes.split_at(n))
}

#[cfg(test)]
mod tests;
