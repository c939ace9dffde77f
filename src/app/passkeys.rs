//! Passkeys (WebAuthn): registering one for the signed-in user, listing, renaming and removing
//! them, logging in with one alone (discoverable, usernameless), and one as the login's second
//! factor (`app::mfa::login_second_step`). The ceremonies are checked by `domain::webauthn`;
//! here are the challenges (random, stored hashed, single-use, five minutes, bound to their
//! purpose and user) and the stored credentials.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{json, Map, Value};
use worker::{D1Database, Request};

use crate::app::caller::authenticate;
use crate::app::http::json_body;
use crate::app::second_factor::{factor_changed, mfa_token_user, Change};
use crate::app::signin::{sign_in, SignIn};
use crate::app::store::factors::{NewPasskey, PasskeyRow, SecondFactors};
use crate::app::store::users::Users;
use crate::app::throttle::{limit_ip, Limiter};
use crate::app::{database, first_row, now, random_bytes, Ctx, OrInternal, Outcome};
use crate::config::{Config, MfaConfig};
use crate::domain::audit::{AuditEvent, EventType, LoginFailure};
use crate::domain::mfa::{challenge_hash, mfa_token_hash, passkey_name};
use crate::domain::tokens::hex;
use crate::domain::user::{timestamp, User};
use crate::domain::webauthn::{self, RelyingParty, StoredCredential, WebauthnError};
use crate::error::{ApiError, Reply};

/// A request's JSON object.
type Body = Map<String, Value>;

const DEFAULT_NAME: &str = "Passkey";
const UNKNOWN_CHALLENGE: &str = "Unknown or expired challenge.";

/// What a challenge is for (`webauthn_challenges.purpose`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Register,
    Login,
    SecondFactor,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
            Purpose::SecondFactor => "mfa",
        }
    }
}

/// `POST passkeys/register/options/` → the options for `navigator.credentials.create()`.
pub async fn register_options(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let config = &ctx.data.state.config;
    let user = authenticate(req, ctx).await?.user;
    limit_ip(req, ctx, Limiter::General, "passkey-options", config.rate_limit_period_secs.unsigned_abs()).await?;
    let rp = relying_party(config)?;
    let db = database(ctx)?;
    let exclude: Vec<(Vec<u8>, Vec<String>)> =
        SecondFactors::new(&db).passkeys(user.id).await?.iter().map(descriptor).collect();
    let challenge = new_challenge(&db, Purpose::Register, Some(user.id), None).await?;
    let display_name = match user.profile()["full_name"].as_str() {
        Some(name) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => user.email.clone(),
    };
    let options =
        webauthn::creation_options(&rp, &user_handle(&user)?, &user.email, &display_name, &challenge, &exclude);
    Ok(Reply::ok(options).no_store().for_user(user.id))
}

/// `POST passkeys/register/verify/` (the credential, or `{"credential", "name"}`) → 201 the new
/// passkey; every other session ends.
pub async fn register_verify(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let config = &ctx.data.state.config;
    let caller = authenticate(req, ctx).await?;
    let user = &caller.user;
    limit_ip(req, ctx, Limiter::General, "passkey-register", config.rate_limit_period_secs.unsigned_abs()).await?;
    let data = json_body(req, config).await?;
    let (credential, form) = split(&data).ok_or(ApiError::WebauthnInvalid("Expected a WebAuthn credential object."))?;
    let name = match form {
        Some(form) => passkey_name(form, false)?,
        None => None,
    };
    let rp = relying_party(config)?;
    let db = database(ctx)?;
    let invalid = |error: WebauthnError| ApiError::WebauthnInvalid(error.reason());
    let challenge = webauthn::challenge_of(&credential).map_err(invalid)?;
    if !take_challenge(&db, &challenge, Purpose::Register, Some(user.id), None).await? {
        return Err(ApiError::WebauthnInvalid(UNKNOWN_CHALLENGE));
    }
    let new = webauthn::verify_registration(&rp, &credential, &challenge, false).map_err(invalid)?;
    let id = hex(&random_bytes::<16>()?);
    let transports = Value::from(new.transports.clone()).to_string();
    let passkey = NewPasskey {
        id: &id,
        user_id: user.id,
        credential_id: &Base64UrlUnpadded::encode_string(&new.credential_id),
        public_key: &Base64UrlUnpadded::encode_string(&new.public_key),
        algorithm: new.algorithm,
        sign_count: i64::from(new.sign_count),
        transports: &transports,
        backup_eligible: new.backup_eligible,
        backed_up: new.backed_up,
        name: name.as_deref().unwrap_or(DEFAULT_NAME),
    };
    let now = now().timestamp();
    if let Err(error) = SecondFactors::new(&db).insert_passkey(&passkey, now)?.run().await {
        if error.to_string().contains("UNIQUE constraint failed") {
            return Err(ApiError::WebauthnInvalid("This passkey is already registered."));
        }
        return Err(crate::app::support::internal("webauthn_credentials.insert", error));
    }
    factor_changed(req, ctx, &caller, Change::Added("a passkey"), EventType::PasskeyAdded).await?;
    let stored = SecondFactors::new(&db).passkeys(user.id).await?.into_iter().find(|row| row.id == id);
    let view = stored.as_ref().map(view).ok_or(ApiError::Internal)?;
    Ok(Reply::new(201, view).no_store().for_user(user.id))
}

/// `GET|HEAD passkeys/` → the caller's passkeys, oldest first.
pub async fn list(req: Request, ctx: Ctx) -> Outcome {
    let user = authenticate(&req, &ctx).await?.user;
    let passkeys = SecondFactors::new(&database(&ctx)?).passkeys(user.id).await?;
    Ok(Reply::ok(Value::Array(passkeys.iter().map(view).collect())).no_store().for_user(user.id))
}

/// `PATCH passkeys/<id>/` `{"name"}` → the renamed passkey; another user's is 404.
pub async fn rename(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let caller = authenticate(req, ctx).await?;
    let name = passkey_name(&json_body(req, &ctx.data.state.config).await?, true)?.ok_or(ApiError::Internal)?;
    let id = ctx.path_id().unwrap_or_default();
    let renamed = SecondFactors::new(&database(ctx)?).rename_passkey(id, caller.user.id, &name).await?;
    let renamed = renamed.ok_or(ApiError::NotFound)?;
    ctx.record(
        req,
        AuditEvent::success(EventType::PasskeyRenamed, caller.user.id).session(caller.session_id.as_deref()),
    );
    Ok(Reply::ok(view(&renamed)).no_store().for_user(caller.user.id))
}

/// `DELETE passkeys/<id>/` → 204; every other session ends. The recovery codes go with the
/// last factor.
pub async fn remove(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let caller = authenticate(req, ctx).await?;
    let user_id = caller.user.id;
    let id = ctx.path_id().unwrap_or_default();
    let db = database(ctx)?;
    let factors = SecondFactors::new(&db);
    let writes = vec![factors.delete_passkey(id, user_id)?, factors.delete_recovery_codes_without_factor(user_id)?];
    let results = db.batch(writes).await.or_internal("passkey delete")?;
    if first_row::<Value>(&results, 0)?.is_none() {
        return Err(ApiError::NotFound);
    }
    factor_changed(req, ctx, &caller, Change::Removed("a passkey"), EventType::PasskeyRemoved).await?;
    Ok(Reply::new(204, Value::Null).for_user(user_id))
}

/// `POST passkeys/login/options/` (`{}`, or `{"mfa_token"}` for the login's second step) → the
/// options for `navigator.credentials.get()`.
pub async fn login_options(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let config = &ctx.data.state.config;
    limit_ip(req, ctx, Limiter::General, "passkey-options", config.rate_limit_period_secs.unsigned_abs()).await?;
    // An empty body reads as `{}` (DRF's parsing); `null` and other non-objects are 400s.
    let data = json_body(req, config).await?;
    let rp = relying_party(config)?;
    let db = database(ctx)?;
    let options = match data.get("mfa_token") {
        None => {
            let challenge = new_challenge(&db, Purpose::Login, None, None).await?;
            webauthn::request_options(&rp, &challenge, &[], "required")
        }
        Some(Value::String(token)) => {
            let user = mfa_token_user(ctx, &db, token, false).await?;
            let allow: Vec<(Vec<u8>, Vec<String>)> =
                SecondFactors::new(&db).passkeys(user.id).await?.iter().map(descriptor).collect();
            let challenge =
                new_challenge(&db, Purpose::SecondFactor, Some(user.id), Some(&mfa_token_hash(token))).await?;
            webauthn::request_options(&rp, &challenge, &allow, "preferred")
        }
        Some(_) => return Err(ApiError::MfaTokenInvalid),
    };
    Ok(Reply::ok(options).no_store())
}

/// `POST passkeys/login/verify/` (the assertion, or `{"credential"}`) → the token pair and
/// profile: a passkey alone (user verification required) logs its user in.
pub async fn login_verify(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    let config = &state.config;
    limit_ip(req, ctx, Limiter::Password, "passkey-login", config.rate_limit_period_secs.unsigned_abs()).await?;
    let data = json_body(req, config).await?;
    // Any failure of a passkey login is the one 401, a misshapen body included.
    let (credential, _) = split(&data).ok_or(ApiError::PasskeyLoginFailed)?;
    let rp = relying_party(config)?;
    let db = database(ctx)?;
    let Some(user) = assert_passkey(&db, &rp, &credential, Purpose::Login, None, None).await? else {
        ctx.record(req, AuditEvent::login_failed(None, LoginFailure::InvalidSecondFactor));
        return Err(ApiError::PasskeyLoginFailed);
    };
    if !user.can_log_in() || (config.mail.require_verified_email && !user.email_verified) {
        ctx.record(req, AuditEvent::login_failed(Some(user.id), LoginFailure::AccountDisabled));
        return Err(ApiError::PasskeyLoginFailed);
    }
    let signed_in = SignIn { throttle_key: None, device: None, new_hash: None, method: Some("passkey") };
    sign_in(req, ctx, &db, user, signed_in).await
}

/// A passkey assertion as the login's second factor for `user_id`, with a challenge issued for
/// the `mfa_token` hashed as `token_hash`: whether it holds (its counter then recorded).
pub(crate) async fn verify_second_factor(
    ctx: &Ctx,
    db: &D1Database,
    user_id: i64,
    token_hash: &str,
    credential: &Value,
) -> Result<bool, ApiError> {
    let rp = relying_party(&ctx.data.state.config)?;
    let asserted = assert_passkey(db, &rp, credential, Purpose::SecondFactor, Some(user_id), Some(token_hash)).await?;
    Ok(asserted.is_some_and(|owner| owner.id == user_id))
}

/// Checks an assertion end to end: its challenge taken (issued for `purpose`, `user_id` and
/// `token_hash`), its credential known (and `user_id`'s when given), its signature, flags and
/// counter; the counter then recorded. The passkey's owner, or `None` for any failure.
async fn assert_passkey(
    db: &D1Database,
    rp: &RelyingParty,
    credential: &Value,
    purpose: Purpose,
    user_id: Option<i64>,
    token_hash: Option<&str>,
) -> Result<Option<User>, ApiError> {
    let Ok(challenge) = webauthn::challenge_of(credential) else { return Ok(None) };
    if !take_challenge(db, &challenge, purpose, user_id, token_hash).await? {
        return Ok(None);
    }
    let Ok(credential_id) = webauthn::credential_id_of(credential) else { return Ok(None) };
    let factors = SecondFactors::new(db);
    let found = factors.passkey_by_credential_id(&Base64UrlUnpadded::encode_string(&credential_id)).await?;
    let Some(stored) = found.filter(|row| user_id.is_none_or(|id| row.user_id == id)) else { return Ok(None) };
    let Ok(public_key) = Base64UrlUnpadded::decode_vec(&stored.public_key) else { return Ok(None) };
    let sign_count = u32::try_from(stored.sign_count).unwrap_or(u32::MAX);
    let key = StoredCredential { public_key: &public_key, sign_count };
    let require_uv = purpose == Purpose::Login;
    let Ok(assertion) = webauthn::verify_assertion(rp, credential, &challenge, &key, require_uv) else {
        return Ok(None);
    };
    let Some(owner) = Users::new(db).by_id(stored.user_id).await? else { return Ok(None) };
    // A discoverable credential names its user: it must be the passkey's.
    match &assertion.user_handle {
        Some(handle) if *handle != user_handle(&owner)? => return Ok(None),
        None if purpose == Purpose::Login => return Ok(None),
        _ => {}
    }
    let counter = i64::from(assertion.sign_count);
    if !factors.use_passkey(&stored.id, stored.sign_count, counter, assertion.backed_up, now().timestamp()).await? {
        return Ok(None);
    }
    Ok(Some(owner))
}

/// A fresh 32-byte challenge, stored hashed for `purpose` (and its user or `mfa_token`).
async fn new_challenge(
    db: &D1Database,
    purpose: Purpose,
    user_id: Option<i64>,
    token_hash: Option<&str>,
) -> Result<[u8; 32], ApiError> {
    let challenge = random_bytes::<32>()?;
    let now = now().timestamp();
    let expires_at = now + MfaConfig::CHALLENGE_TTL_SECS;
    SecondFactors::new(db)
        .issue_challenge(&challenge_hash(&challenge), purpose.as_str(), user_id, token_hash, expires_at, now)
        .await?;
    Ok(challenge)
}

/// Takes (spends) the challenge: whether it was issued for this purpose, user and `mfa_token`,
/// and has not expired.
async fn take_challenge(
    db: &D1Database,
    challenge: &[u8],
    purpose: Purpose,
    user_id: Option<i64>,
    token_hash: Option<&str>,
) -> Result<bool, ApiError> {
    let Some(row) = SecondFactors::new(db).take_challenge(&challenge_hash(challenge)).await? else { return Ok(false) };
    Ok(row.purpose == purpose.as_str()
        && row.expires_at > now().timestamp()
        && (user_id.is_none() || row.user_id == user_id)
        && row.mfa_token_hash.as_deref() == token_hash)
}

/// The relying party, or 400 when no origin is configured.
fn relying_party(config: &Config) -> Result<RelyingParty, ApiError> {
    let rp = config.mfa.webauthn.as_ref().ok_or(ApiError::Refused("Passkeys are not configured."))?;
    Ok(RelyingParty { id: rp.rp_id.clone(), name: rp.rp_name.clone(), origins: rp.origins.clone() })
}

/// The credential of a body: `{"credential": …}` (with the rest of the body as a form), or the
/// body itself; `None` when `credential` is there but not an object.
fn split(data: &Body) -> Option<(Value, Option<&Body>)> {
    match data.get("credential") {
        Some(credential @ Value::Object(_)) => Some((credential.clone(), Some(data))),
        Some(_) => None,
        None => Some((Value::Object(data.clone()), None)),
    }
}

/// The WebAuthn user handle of `user`: the 16 bytes of its uuid (random, no personal data).
fn user_handle(user: &User) -> Result<Vec<u8>, ApiError> {
    let uuid = uuid::Uuid::parse_str(&user.uuid).map_err(|_| ApiError::Internal)?;
    Ok(uuid.as_bytes().to_vec())
}

/// A stored passkey as a credential descriptor: its id and transports.
fn descriptor(row: &PasskeyRow) -> (Vec<u8>, Vec<String>) {
    let id = Base64UrlUnpadded::decode_vec(&row.credential_id).unwrap_or_default();
    (id, transports(row))
}

fn transports(row: &PasskeyRow) -> Vec<String> {
    serde_json::from_str(&row.transports).unwrap_or_default()
}

/// A passkey as the API shows it.
fn view(row: &PasskeyRow) -> Value {
    json!({
        "id": row.id,
        "name": row.name,
        "created_at": unix_timestamp(row.created_at),
        "last_used_at": row.last_used_at.map_or(Value::Null, unix_timestamp),
        "backed_up": row.backed_up != 0,
        "transports": transports(row),
    })
}

fn unix_timestamp(secs: i64) -> Value {
    chrono::DateTime::from_timestamp(secs, 0).map_or(Value::Null, |at| Value::String(timestamp(at)))
}
