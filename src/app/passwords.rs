//! Password work shared by the rooms that check or set one: hashing at the configured cost,
//! checking against a stored hash, and a signed-in user's password check on the login back-off.

use serde_json::Value;
use worker::{D1Database, Request};

use crate::app::state::State;
use crate::app::store::email_keys::EmailKeys;
use crate::app::store::revocation::{Revoked, Scope};
use crate::app::store::sessions::Sessions;
use crate::app::store::users::Users;
use crate::app::throttle::{device_of, PasswordThrottle};
use crate::app::{first_row, now, random_bytes, Ctx, OrInternal};
use crate::domain::device::Device;
use crate::domain::password::{check_password, new_salt, Target, Verdict};
use crate::domain::user::User;
use crate::error::ApiError;

/// The back-off row a signed-in user's password check counts on: their trusted device's when the
/// cookie is theirs, else their account's.
pub fn password_check_key(req: &Request, state: &State, user: &User) -> String {
    let device = device_of(req, &state.devices).filter(|device| device.user_id == user.id);
    device.as_ref().map_or_else(|| user.email.clone(), Device::throttle_key)
}

/// A signed-in user's password check (the email change): reserved on the back-off before the
/// check as login's is, cleared when the password is right.
pub async fn check_password_attempt(
    req: &Request,
    ctx: &Ctx,
    db: &D1Database,
    user: &User,
    password: &str,
) -> Result<bool, ApiError> {
    let state = &ctx.data.state;
    let key = password_check_key(req, state, user);
    let throttle = PasswordThrottle::new(db);
    throttle.reserve_now(&key, now().timestamp(), &state.config.login_backoff).await?;
    let right = is_valid(password, &user.password, &state.config.password_hasher);
    if right {
        throttle.clear_now(&key).await?;
    }
    Ok(right)
}

/// A new password and what goes with it.
pub struct NewPassword<'a> {
    pub user_id: i64,
    /// The stored hash it replaces: nothing is written unless that is still the stored one.
    pub replaces: &'a str,
    pub hash: &'a str,
    /// The session that survives (change-password keeps the caller's); `None` ends them all.
    pub keep: Option<&'a str>,
    /// The back-off row to clear.
    pub throttle_key: &'a str,
    /// Whether the write also proves the address (a reset through a mailed link).
    pub verifies_email: bool,
}

/// Writes the new hash where the stored one is still `replaces`, and in the same transaction
/// (each write conditional on the new hash having been stored) moves the cut-off and revokes every
/// session but `keep`, clears the back-off, drops pending email changes (whoever asked with the old
/// password cannot finish) and, for a reset, marks the address verified. `None` when the stored
/// hash was no longer `replaces`; else the sessions and refresh tokens that died (`blacklist_all`).
pub async fn commit_password(db: &D1Database, new: NewPassword<'_>, now: i64) -> Result<Option<Revoked>, ApiError> {
    let users = Users::new(db);
    let mut writes = vec![users.replace_password(new.user_id, new.replaces, new.hash)?];
    let scope = Scope::AllBut { keep: new.keep, user_id: new.user_id };
    writes.extend(Sessions::new(db).revoke_statements(scope, now, Some(new.hash))?);
    writes.push(PasswordThrottle::new(db).clear(new.throttle_key)?);
    writes.push(EmailKeys::new(db).drop_pending_changes(new.user_id, new.hash)?);
    if new.verifies_email {
        writes.push(users.mark_verified(new.user_id, new.hash)?);
    }
    let results = db.batch(writes).await.or_internal("password writes")?;
    if first_row::<Value>(&results, 0)?.is_none() {
        return Ok(None);
    }
    Ok(Some(Sessions::revoked(&results, 1)?))
}

pub fn is_valid(password: &str, stored: &str, target: &Target) -> bool {
    matches!(check_password(password, stored, target), Verdict::Valid { .. })
}

/// A new hash of `password` at the configured target, with a fresh salt.
pub fn hash_password(password: &str, target: &Target) -> std::result::Result<String, ApiError> {
    Ok(target.hash(password, &new_salt(&random_bytes()?)))
}
