//! Second factors: TOTP enrolment, recovery codes, and the login's second step
//! (`login/mfa/`). Passkeys, which are also a second factor, are `app::passkeys`; the `mfa_token`
//! and what follows a change of factors, `app::second_factor`.
//!
//! Every one-time thing is spent by one conditional write (`store::factors`), so a code, a
//! recovery code or an `mfa_token` works once however many requests race for it. Wrong second
//! factors are counted twice: per `mfa_token` (`MFA_TOKEN_MAX_ATTEMPTS`), and per account on the
//! login back-off (`LOGIN_BACKOFF_*`), so new tokens from the password do not buy new guesses.

use serde_json::{json, Value};
use worker::{D1Database, Request};

use crate::app::caller::authenticate;
use crate::app::http::json_body;
use crate::app::passkeys;
use crate::app::passwords::check_password_attempt;
use crate::app::second_factor::{factor_changed, mfa_token_user, Change};
use crate::app::signin::{sign_in, SignIn};
use crate::app::store::factors::{SecondFactors, TotpRow};
use crate::app::throttle::{limit_ip, Limiter, PasswordThrottle};
use crate::app::{database, now, random_bytes, Ctx, OrInternal, Outcome};
use crate::domain::audit::{AuditEvent, EventType, LoginFailure};
use crate::domain::fields::{required_text, FieldErrors};
use crate::domain::mfa::{mfa_token_hash, Proof, Reauthentication, SecondStep};
use crate::domain::recovery_codes;
use crate::domain::sealed::{open, seal, SealKey};
use crate::domain::totp::{self, TotpSecret};
use crate::error::{ApiError, Reply};

const INVALID_CODE: &str = "Invalid code.";
const PASSWORD_INCORRECT: &str = "Password is incorrect.";
const ALREADY_ENABLED: &str = "TOTP is already enabled.";

/// `GET|HEAD mfa/` → which second factors the caller has (never a secret).
pub async fn status(req: Request, ctx: Ctx) -> Outcome {
    let caller = authenticate(&req, &ctx).await?;
    let factors = SecondFactors::new(&database(&ctx)?).of(caller.user.id).await?;
    let body = json!({
        "totp": factors.totp > 0,
        "passkeys": factors.passkeys,
        "recovery_codes_left": factors.recovery_codes,
        "methods": factors.methods(),
    });
    Ok(Reply::ok(body).no_store().for_user(caller.user.id))
}

/// `POST mfa/totp/setup/` → a new secret, pending until confirmed with a code.
pub async fn totp_setup(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let state = &ctx.data.state;
    let user = authenticate(req, ctx).await?.user;
    limit_ip(req, ctx, Limiter::General, "mfa-setup", state.config.rate_limit_period_secs.unsigned_abs()).await?;
    let secret = TotpSecret::from_bytes(random_bytes()?);
    let sealed = seal(&state.mfa_key, random_bytes()?, &sealed_for(user.id), secret.expose());
    let db = database(ctx)?;
    if !SecondFactors::new(&db).begin_totp(user.id, &sealed, now().timestamp()).await? {
        return Err(ApiError::Refused(ALREADY_ENABLED));
    }
    let otpauth_url = totp::otpauth_url(&secret, &state.config.mfa.issuer, &user.email);
    let qr_svg = totp::qr_svg(&otpauth_url).ok_or(ApiError::Internal)?;
    let body = json!({ "secret": secret.expose_base32(), "otpauth_url": otpauth_url, "qr_svg": qr_svg });
    Ok(Reply::ok(body).no_store().for_user(user.id))
}

/// `POST mfa/totp/confirm/` `{"code"}` → TOTP on, ten recovery codes (shown this once), every
/// other session ended.
pub async fn totp_confirm(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    let caller = authenticate(req, ctx).await?;
    let user_id = caller.user.id;
    limit_ip(req, ctx, Limiter::Password, "mfa-confirm", state.config.rate_limit_period_secs.unsigned_abs()).await?;
    let data = json_body(req, &state.config).await?;
    let code = required_text(&data, "code")?;
    let db = database(ctx)?;
    let factors = SecondFactors::new(&db);
    let pending = match factors.totp(user_id).await? {
        None => return Err(ApiError::Refused("No TOTP setup in progress.")),
        Some(row) if row.confirmed_at.is_some() => return Err(ApiError::Refused(ALREADY_ENABLED)),
        Some(row) => row,
    };
    let now = now().timestamp();
    let Some(step) = matching_step(&state.mfa_key, user_id, &pending, &code, now)? else {
        return Err(FieldErrors::single("code", INVALID_CODE).into());
    };
    let confirmed = factors.confirm_totp(user_id, &pending.secret_sealed, step, now)?.first::<Value>(None).await;
    if confirmed.or_internal("mfa_totp.confirm")?.is_none() {
        // Another request confirmed it (or set up anew) meanwhile.
        return Err(FieldErrors::single("code", INVALID_CODE).into());
    }
    let codes = new_recovery_codes(&db, user_id, now).await?;
    factor_changed(req, ctx, &caller, Change::Added("an authenticator app"), EventType::TotpEnabled).await?;
    let methods = factors.of(user_id).await?.methods();
    Ok(Reply::ok(json!({ "recovery_codes": codes, "methods": methods })).no_store().for_user(user_id))
}

/// `POST mfa/recovery-codes/` `{"password"}` → a fresh set; the old one stops working.
pub async fn regenerate_recovery_codes(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    let caller = authenticate(req, ctx).await?;
    let user = &caller.user;
    limit_ip(req, ctx, Limiter::Password, "recovery-codes", state.config.rate_limit_period_secs.unsigned_abs()).await?;
    let data = json_body(req, &state.config).await?;
    let password = required_text(&data, "password")?;
    let db = database(ctx)?;
    if !check_password_attempt(req, ctx, &db, user, &password).await? {
        return Err(FieldErrors::single("password", PASSWORD_INCORRECT).into());
    }
    if !SecondFactors::new(&db).of(user.id).await?.any() {
        return Err(ApiError::Refused("No second factor is enabled."));
    }
    let codes = new_recovery_codes(&db, user.id, now().timestamp()).await?;
    let event = AuditEvent::success(EventType::RecoveryCodesGenerated, user.id).session(caller.session_id.as_deref());
    ctx.record(req, event);
    Ok(Reply::ok(json!({ "recovery_codes": codes })).no_store().for_user(user.id))
}

/// `DELETE mfa/totp/` `{"password"}` or `{"code"}` → 204: TOTP off (and the recovery codes,
/// unless a passkey remains), every other session ended.
pub async fn totp_disable(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    let caller = authenticate(req, ctx).await?;
    let user = &caller.user;
    limit_ip(req, ctx, Limiter::Password, "mfa-disable", state.config.rate_limit_period_secs.unsigned_abs()).await?;
    let proof = Reauthentication::parse(&json_body(req, &state.config).await?)?;
    let db = database(ctx)?;
    let factors = SecondFactors::new(&db);
    let enabled = match factors.totp(user.id).await? {
        Some(row) if row.confirmed_at.is_some() => row,
        _ => return Err(ApiError::NotFound),
    };
    match proof {
        Reauthentication::Password(password) => {
            if !check_password_attempt(req, ctx, &db, user, &password).await? {
                return Err(FieldErrors::single("password", PASSWORD_INCORRECT).into());
            }
        }
        Reauthentication::Code(code) => {
            let throttle_key = second_factor_key(user.id);
            let throttle = PasswordThrottle::new(&db);
            throttle.reserve_now(&throttle_key, now().timestamp(), &state.config.login_backoff).await?;
            match matching_step(&state.mfa_key, user.id, &enabled, &code, now().timestamp())? {
                Some(step) if factors.spend_totp_step(user.id, step).await? => {
                    throttle.clear_now(&throttle_key).await?
                }
                _ => return Err(FieldErrors::single("code", INVALID_CODE).into()),
            }
        }
    }
    let writes = vec![factors.delete_totp(user.id)?, factors.delete_recovery_codes_without_factor(user.id)?];
    db.batch(writes).await.or_internal("mfa_totp.delete")?;
    factor_changed(req, ctx, &caller, Change::Removed("the authenticator app"), EventType::TotpDisabled).await?;
    Ok(Reply::new(204, Value::Null).for_user(user.id))
}

/// `POST login/mfa/` `{"mfa_token", "code" | "recovery_code" | "credential"}` → the token pair
/// and profile, as `login/` gives a user without a second factor.
pub async fn login_second_step(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    let config = &state.config;
    limit_ip(req, ctx, Limiter::Password, "login-mfa", config.rate_limit_period_secs.unsigned_abs()).await?;
    let step = SecondStep::parse(&json_body(req, config).await?)?;
    let db = database(ctx)?;
    let user = mfa_token_user(ctx, &db, &step.mfa_token, true).await?;
    let throttle_key = second_factor_key(user.id);
    let throttle = PasswordThrottle::new(&db);
    throttle.reserve_now(&throttle_key, now().timestamp(), &config.login_backoff).await?;
    let factors = SecondFactors::new(&db);
    let token_hash = mfa_token_hash(&step.mfa_token);
    // Checked, then spent: the token first (single-use), then the factor itself.
    let method = match &step.proof {
        Proof::Code(code) => {
            let found = match factors.totp(user.id).await? {
                Some(row) if row.confirmed_at.is_some() => {
                    matching_step(&state.mfa_key, user.id, &row, code, now().timestamp())?
                }
                _ => None,
            };
            let Some(step) = found else { return second_factor_failed(req, ctx, user.id) };
            spend_token(&factors, &token_hash).await?;
            if !factors.spend_totp_step(user.id, step).await? {
                return second_factor_failed(req, ctx, user.id);
            }
            "totp"
        }
        Proof::RecoveryCode(code) => {
            let unused = factors.unused_recovery_codes(user.id).await?;
            let stored: Vec<&str> = unused.iter().map(String::as_str).collect();
            let Some(index) = recovery_codes::find(user.id, code, &stored) else {
                return second_factor_failed(req, ctx, user.id);
            };
            spend_token(&factors, &token_hash).await?;
            if !factors.spend_recovery_code(user.id, stored[index], now().timestamp()).await? {
                return second_factor_failed(req, ctx, user.id);
            }
            ctx.record(req, AuditEvent::success(EventType::RecoveryCodeUsed, user.id));
            "recovery_code"
        }
        Proof::Passkey(credential) => {
            if !passkeys::verify_second_factor(ctx, &db, user.id, &token_hash, credential).await? {
                return second_factor_failed(req, ctx, user.id);
            }
            spend_token(&factors, &token_hash).await?;
            "webauthn"
        }
    };
    let signed_in = SignIn { throttle_key: Some(&throttle_key), device: None, new_hash: None, method: Some(method) };
    sign_in(req, ctx, &db, user, signed_in).await
}

/// Spends the `mfa_token`: `MfaTokenInvalid` when another request spent it first.
async fn spend_token(factors: &SecondFactors<'_>, token_hash: &str) -> Result<(), ApiError> {
    if factors.spend_mfa_token(token_hash).await? {
        Ok(())
    } else {
        Err(ApiError::MfaTokenInvalid)
    }
}

/// A wrong, replayed or spent second factor: on the trail, and 401 `mfa_code_invalid` (the
/// attempt stays counted on the token and on the account's back-off).
fn second_factor_failed(req: &Request, ctx: &Ctx, user_id: i64) -> Outcome {
    ctx.record(req, AuditEvent::login_failed(Some(user_id), LoginFailure::InvalidSecondFactor));
    Err(ApiError::MfaCodeInvalid)
}

/// The back-off row of an account's second-factor checks.
fn second_factor_key(user_id: i64) -> String {
    format!("mfa:{user_id}")
}

/// What a TOTP secret is sealed for: its owner, so a sealed value moved to another row opens not.
fn sealed_for(user_id: i64) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

/// The time step `code` matches for `row`'s secret (unsealed here), if it is later than the last
/// one used: the one check of a code, at confirmation, at login and to turn TOTP off.
fn matching_step(key: &SealKey, user_id: i64, row: &TotpRow, code: &str, now: i64) -> Result<Option<i64>, ApiError> {
    let secret = unseal(key, user_id, &row.secret_sealed)?;
    Ok(totp::verify(&secret, code, now, Some(row.last_used_step)))
}

fn unseal(key: &SealKey, user_id: i64, sealed: &str) -> Result<TotpSecret, ApiError> {
    let bytes = open(key, &sealed_for(user_id), sealed).ok_or_else(|| {
        // The key changed (MFA_ENCRYPTION_KEY, or the signing key it falls back to) or the row did.
        crate::app::support::internal("a TOTP secret does not open", user_id)
    })?;
    let bytes: [u8; totp::SECRET_LEN] = bytes.try_into().map_err(|_| ApiError::Internal)?;
    Ok(TotpSecret::from_bytes(bytes))
}

/// Replaces the user's recovery codes with ten new ones: the codes, to show once.
async fn new_recovery_codes(db: &D1Database, user_id: i64, now: i64) -> Result<Vec<String>, ApiError> {
    let codes = recovery_codes::generate(&random_bytes()?);
    let hashes: Vec<String> = codes
        .iter()
        .map(|code| recovery_codes::hash(user_id, code.expose()).ok_or(ApiError::Internal))
        .collect::<Result<_, _>>()?;
    db.batch(SecondFactors::new(db).replace_recovery_codes(user_id, &hashes, now)?)
        .await
        .or_internal("mfa_recovery_codes.replace")?;
    Ok(codes.iter().map(|code| code.expose().to_owned()).collect())
}
