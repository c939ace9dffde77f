//! What TOTP and passkeys share as second factors: the login's `mfa_token` (asked for by
//! `login/`, redeemed by `login/mfa/` or passkey options for it), and what follows adding or
//! removing a factor.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::json;
use subtle::ConstantTimeEq;
use worker::{D1Database, Request};

use crate::app::caller::Caller;
use crate::app::mail::notify;
use crate::app::sessions::revoke;
use crate::app::store::factors::{Factors, SecondFactors};
use crate::app::store::revocation::Scope;
use crate::app::store::users::Users;
use crate::app::throttle::PasswordThrottle;
use crate::app::{now, random_bytes, Ctx, Outcome};
use crate::config::MfaConfig;
use crate::domain::audit::{AuditEvent, EventType};
use crate::domain::mail::Template;
use crate::domain::mfa::{mfa_token_hash, password_fingerprint};
use crate::domain::sync::Outgoing;
use crate::domain::user::User;
use crate::error::{ApiError, Reply};

/// `login/`'s answer to the right password of a user with a second factor: 401
/// `mfa_required` with a fresh `mfa_token` (stored hashed, five minutes, single-use) and the
/// methods that may complete the login.
pub async fn ask_second_factor(
    req: &Request,
    ctx: &Ctx,
    db: &D1Database,
    user: &User,
    factors: &Factors,
    throttle_key: &str,
    now: i64,
) -> Outcome {
    let token = Base64UrlUnpadded::encode_string(&random_bytes::<32>()?);
    let expires_at = now + MfaConfig::CHALLENGE_TTL_SECS;
    let fingerprint = password_fingerprint(&user.password);
    // The right password: no failure to count on its back-off, but no tokens before the second factor.
    let cleared = PasswordThrottle::new(db).clear(throttle_key)?;
    let hash = mfa_token_hash(&token);
    SecondFactors::new(db).issue_mfa_token(&hash, user.id, &fingerprint, expires_at, now, cleared).await?;
    ctx.record(req, AuditEvent::success(EventType::MfaChallenge, user.id));
    let body = json!({
        "detail": "Second factor required.",
        "code": "mfa_required",
        "mfa_token": token,
        "methods": factors.methods(),
    });
    Ok(Reply::new(401, body).with_header("WWW-Authenticate", "Bearer realm=\"api\"").no_store().for_user(user.id))
}

/// The user an `mfa_token` was issued to, counting one attempt on it; `MfaTokenInvalid` for a
/// token unknown, expired, spent or out of attempts, or whose user changed password or may no
/// longer log in. `count` false only looks (WebAuthn options for the second step).
pub async fn mfa_token_user(ctx: &Ctx, db: &D1Database, token: &str, count: bool) -> Result<User, ApiError> {
    let config = &ctx.data.state.config;
    let factors = SecondFactors::new(db);
    let (hash, now, max) = (mfa_token_hash(token), now().timestamp(), config.mfa.token_max_attempts);
    let row = if count {
        factors.attempt_mfa_token(&hash, now, max).await?
    } else {
        factors.peek_mfa_token(&hash, now, max).await?
    };
    let row = row.ok_or(ApiError::MfaTokenInvalid)?;
    let user = Users::new(db).by_id(row.user_id).await?.ok_or(ApiError::MfaTokenInvalid)?;
    let same_password: bool =
        password_fingerprint(&user.password).as_bytes().ct_eq(row.password_fingerprint.as_bytes()).into();
    if !same_password || !user.can_log_in() || (config.mail.require_verified_email && !user.email_verified) {
        return Err(ApiError::MfaTokenInvalid);
    }
    Ok(user)
}

/// A factor added or removed.
pub enum Change {
    Added(&'static str),
    Removed(&'static str),
}

/// After a factor is added or removed: every other session ends, the account holder is told by
/// mail, and the trail records `event`.
pub async fn factor_changed(
    req: &Request,
    ctx: &Ctx,
    caller: &Caller,
    change: Change,
    event: EventType,
) -> Result<(), ApiError> {
    let (user_id, now) = (caller.user.id, now().timestamp());
    let keep = caller.session_id.as_deref();
    revoke(ctx, Scope::AllBut { keep, user_id }, now, None, vec![Outgoing::sessions_revoked(user_id, now, keep)])
        .await?;
    let mail = match change {
        Change::Added(what) => Template::SecondFactorAdded { what },
        Change::Removed(what) => Template::SecondFactorRemoved { what },
    };
    notify(ctx, mail.to(&caller.user.email));
    ctx.record(req, AuditEvent::success(event, user_id).session(keep));
    Ok(())
}
