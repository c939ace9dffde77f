//! Signing in a user who has proved who they are (a password, a second factor, a passkey): one
//! transaction starts the session, records the login and clears the back-off, and the answer is
//! the token pair and profile `login/` gives, with the trusted-device cookie.

use serde_json::{json, Value};
use worker::{D1Database, Request};

use crate::app::audit;
use crate::app::http::header;
use crate::app::issue::{token_body, NewSession};
use crate::app::store::sessions::{Sessions, UserRef};
use crate::app::store::users::Users;
use crate::app::throttle::PasswordThrottle;
use crate::app::{first_row, now, random_bytes, Ctx, OrInternal, Outcome};
use crate::domain::audit::{AuditEvent, EventType};
use crate::domain::device::Device;
use crate::domain::user::{timestamp, User};
use crate::error::{ApiError, Reply};

/// How a user proved who they are, for `sign_in`.
pub struct SignIn<'a> {
    /// The back-off row the successful check clears (none for a passkey alone: nothing counted).
    pub throttle_key: Option<&'a str>,
    /// The trusted device the request's cookie names, if it is this user's: kept; else one is
    /// issued with the answer.
    pub device: Option<Device>,
    /// The password's new hash, when it is re-hashed at this login.
    pub new_hash: Option<&'a str>,
    /// The second factor or passkey that completed the login (the trail's `detail.method`).
    pub method: Option<&'static str>,
}

/// Starts a session for `user`, who has proved who they are: the session, `last_login`, the
/// re-hash, the cleared back-off and the trail's `login` in one transaction, conditional on the
/// password hash `user` was read with. The token pair and profile.
pub async fn sign_in(req: &Request, ctx: &Ctx, db: &D1Database, mut user: User, how: SignIn<'_>) -> Outcome {
    let state = &ctx.data.state;
    let now = now();
    user.last_login = Some(timestamp(now));
    let session = NewSession::begin(state, now.timestamp())?;
    let user_agent = header(req, "User-Agent");
    let mut logged_in = AuditEvent::success(EventType::Login, user.id).session(Some(&session.id));
    if let Some(method) = how.method {
        logged_in = logged_in.detail(json!({ "method": method }));
    }
    let login = Login {
        user: &user,
        new_hash: how.new_hash,
        session: &session,
        user_agent: user_agent.as_deref(),
        event: audit::statement(db, req, &logged_in, now.timestamp())?,
    };
    record_login(db, login, how.throttle_key).await?;
    let device = match how.device {
        Some(device) => device,
        None => state.devices.issue(user.id, random_bytes()?),
    };
    Ok(Reply::ok(token_body(state, user.id, &session.refresh, Some(&user))?)
        .no_store()
        .with_header("Set-Cookie", device.set_cookie())
        .for_user(user.id))
}

/// What a successful login writes.
struct Login<'a> {
    user: &'a User,
    new_hash: Option<&'a str>,
    session: &'a NewSession,
    user_agent: Option<&'a str>,
    /// The audit trail's `login` event, written with the session.
    event: worker::D1PreparedStatement,
}

/// Starts the session, records the login (and the re-hash) and clears the back-off, in one
/// transaction conditional on the hash just verified: a password changed meanwhile starts no
/// session and is never overwritten by the re-hash (the login then fails).
async fn record_login(db: &D1Database, login: Login<'_>, throttle_key: Option<&str>) -> Result<(), ApiError> {
    let user = login.user;
    let verified = UserRef::Verified { id: user.id, password_hash: &user.password };
    let session = login.session;
    let mut writes = Sessions::new(db).start(verified, &session.id, login.user_agent, &session.refresh)?;
    let last_login = user.last_login.as_deref().unwrap_or_default();
    writes.push(Users::new(db).record_login(user.id, last_login, &user.password, login.new_hash)?);
    if let Some(key) = throttle_key {
        writes.push(PasswordThrottle::new(db).clear(key)?);
    }
    writes.push(login.event);
    let results = db.batch(writes).await.or_internal("login writes")?;
    // The session's insert returns its id only where the verified hash was still stored.
    match first_row::<Value>(&results, 0)? {
        Some(_) => Ok(()),
        None => Err(ApiError::LoginFailed),
    }
}
