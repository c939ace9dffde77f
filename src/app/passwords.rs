//! Password work shared by the rooms that check or set one: hashing at the configured cost,
//! checking against a stored hash, and a signed-in user's password check on the login back-off.

use worker::{D1Database, Request};

use crate::app::state::State;
use crate::app::throttle::{device_of, PasswordThrottle};
use crate::app::{now, random_bytes, Ctx, OrInternal};
use crate::domain::device::Device;
use crate::domain::password::{check_password, make_password, new_salt, Verdict};
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
    let seen = throttle.read_now(&key).await?;
    throttle.reserve(&key, seen, now().timestamp(), &state.config.login_backoff).await?;
    let right = is_valid(password, &user.password, state.config.pbkdf2_iterations);
    if right {
        db.batch(vec![throttle.clear(&key)?]).await.or_internal("login_failures.clear")?;
    }
    Ok(right)
}

pub fn is_valid(password: &str, stored: &str, target_iterations: u32) -> bool {
    matches!(check_password(password, stored, target_iterations), Verdict::Valid { .. })
}

pub fn hash_password(password: &str, iterations: u32) -> std::result::Result<String, ApiError> {
    Ok(make_password(password, &new_salt(&random_bytes()?), iterations))
}
