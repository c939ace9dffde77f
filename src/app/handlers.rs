//! One named handler per endpoint and method. Each reads its input at the edge, hands it to the
//! pure core, touches storage through the adapters, and returns a `Reply` or an `ApiError`.

use std::rc::Rc;

use serde_json::{json, Map, Value};
use worker::{console_log, D1Database, Request, Response, Result, RouteContext};

use crate::app::blacklist::Blacklist;
use crate::app::http::{header, json_body, respond};
use crate::app::sessions::{Account, DeadToken, Rules, Scope, Sessions, UserRef};
use crate::app::state::State;
use crate::app::throttle::{device_of, limit_ip, Limiter, PasswordThrottle};
use crate::app::users::{InsertError, TokenUser, Users};
use crate::app::{now, random_bytes, OrInternal};
use crate::domain::device::Device;
use crate::domain::fields::{FieldErrors, Form, Text};
use crate::domain::health::{bearer_matches, wants_deep};
use crate::domain::password::{check_password, iterations_spent, make_password, new_salt, Verdict};
use crate::domain::sessions::{on_replay, Dead, Replay};
use crate::domain::tokens::{hex, TokenClaims, TokenError, TokenType};
use crate::domain::user::{
    timestamp, Credentials, PasswordChange, ProfileChanges, Registration, User, EMAIL_TAKEN, OLD_PASSWORD_INCORRECT,
};
use crate::error::{ApiError, Reply};
use crate::routes::{openapi_document, Endpoint};

type Ctx = RouteContext<Rc<State>>;
type Outcome = std::result::Result<Reply, ApiError>;

/// `POST register/` → 201 with a token pair and the new profile.
pub async fn register(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(register_user(&mut req, &ctx).await)
}

/// `POST login/` → 200 with a token pair and the profile; 401 whatever went wrong.
pub async fn login(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(log_in(&mut req, &ctx).await)
}

/// `POST logout/` → ends the session of the caller's refresh token.
pub async fn logout(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(log_out(&mut req, &ctx).await)
}

/// `POST logout-all/` → ends every session of the caller.
pub async fn logout_all(req: Request, ctx: Ctx) -> Result<Response> {
    respond(log_out_everywhere(&req, &ctx).await)
}

/// `POST token/refresh/` → rotates: a new pair, the old refresh token consumed.
pub async fn refresh(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(rotate(&mut req, &ctx).await)
}

/// `GET|HEAD me/` → the caller's profile.
pub async fn me(req: Request, ctx: Ctx) -> Result<Response> {
    respond(
        authenticate(&req, &ctx)
            .await
            .map(|caller| Reply::ok(caller.user.profile()).no_store().for_user(caller.user.id)),
    )
}

/// `PATCH me/` → changes names, phone number or time zone.
pub async fn update_me(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(update_profile(&mut req, &ctx).await)
}

/// `POST change-password/` → new password; every other session ends.
pub async fn change_password(mut req: Request, ctx: Ctx) -> Result<Response> {
    respond(replace_password(&mut req, &ctx).await)
}

/// `GET sessions/` → the caller's live sessions.
pub async fn sessions(req: Request, ctx: Ctx) -> Result<Response> {
    respond(list_sessions(&req, &ctx).await)
}

/// `DELETE sessions/<id>/` → 204; another user's (or an unknown) id is 404.
pub async fn delete_session(req: Request, ctx: Ctx) -> Result<Response> {
    respond(end_session(&req, &ctx).await)
}

/// `GET /healthz` → 200 with the version, touching no storage. `?deep=1` also reports whether D1
/// and KV answer: for a caller with `Authorization: Bearer <HEALTH_CHECK_TOKEN>`, or else within
/// the per-IP limit.
pub async fn health(req: Request, ctx: Ctx) -> Result<Response> {
    respond(check_health(&req, &ctx).await)
}

async fn check_health(req: &Request, ctx: &Ctx) -> Outcome {
    let version = env!("CARGO_PKG_VERSION");
    let deep = wants_deep(&req.inner().url());
    if !deep {
        return Ok(Reply::ok(json!({ "status": "ok", "version": version })).no_store());
    }
    let token = ctx.env.secret("HEALTH_CHECK_TOKEN").ok().map(|s| s.to_string());
    if !bearer_matches(header(req, "Authorization").as_deref(), token.as_deref()) {
        limit_ip(req, ctx, Limiter::General, "health", ctx.data.config.rate_limit_period_secs.unsigned_abs()).await?;
    }
    let d1 = match database(ctx) {
        Ok(db) => db.prepare("SELECT 1").first::<Value>(None).await.is_ok(),
        Err(_) => false,
    };
    let kv = match blacklist(ctx) {
        Ok(blacklist) => blacklist.lookup("healthz").await.is_ok(),
        Err(_) => false,
    };
    let body = json!({
        "status": if d1 && kv { "ok" } else { "degraded" },
        "version": version,
        "d1": d1,
        "kv": kv,
    });
    Ok(Reply::ok(body).no_store())
}

/// `GET <prefix>openapi.json` → the OpenAPI document, its `servers` naming the prefix asked.
pub async fn openapi(req: Request, _ctx: Ctx) -> Result<Response> {
    let path = req.path();
    let prefix = path.strip_suffix(Endpoint::OpenApi.path()).unwrap_or("/");
    respond(Ok(Reply::ok(openapi_document(prefix))))
}

/// `GET /.well-known/jwks.json` → the Ed25519 public keys (`{"keys": []}` with HS256 only).
pub async fn jwks(_req: Request, ctx: Ctx) -> Result<Response> {
    respond(Ok(Reply::ok(ctx.data.tokens.jwks()).with_header("Cache-Control", "public, max-age=300")))
}

/// Who is calling: the access token's user and session, both checked live.
struct Caller {
    user: User,
    session_id: Option<String>,
}

async fn register_user(req: &mut Request, ctx: &Ctx) -> Outcome {
    let state = &ctx.data;
    limit_ip(req, ctx, Limiter::General, "register", state.config.rate_limit_period_secs.unsigned_abs()).await?;
    let registration = Registration::parse(&json_body(req, &state.config).await?)?;
    let db = database(ctx)?;
    let users = Users::new(&db);
    if users.by_email(&registration.email).await?.is_some() {
        return Err(FieldErrors::single("email", EMAIL_TAKEN).into());
    }
    let hash = hash_password(registration.password.expose(), state.config.pbkdf2_iterations)?;
    let uuid = uuid::Builder::from_random_bytes(random_bytes()?).into_uuid().to_string();
    let now = now();
    let session = NewSession::begin(state, now.timestamp())?;
    let start = Sessions::new(&db).start(
        UserRef::Email(&registration.email),
        &session.id,
        header(req, "User-Agent").as_deref(),
        &session.refresh,
    )?;
    let id_start = state.config.user_id_start;
    let user = match users.insert(&registration, &uuid, &hash, &timestamp(now), id_start, start).await {
        Ok(user) => user,
        // Lost a race with a concurrent registration of the same email.
        Err(InsertError::EmailTaken) => return Err(FieldErrors::single("email", EMAIL_TAKEN).into()),
        Err(InsertError::Failed(e)) => return Err(e),
    };
    Ok(Reply::new(201, token_body(state, user.id, &session.refresh, Some(&user))?).no_store().for_user(user.id))
}

async fn log_in(req: &mut Request, ctx: &Ctx) -> Outcome {
    let state = &ctx.data;
    let config = &state.config;
    limit_ip(req, ctx, Limiter::Password, "login", config.rate_limit_period_secs.unsigned_abs()).await?;
    let credentials = Credentials::parse(&json_body(req, config).await?)?;
    let device = device_of(req, &state.devices);
    let db = database(ctx)?;
    let users = Users::new(&db);
    let throttle = PasswordThrottle::new(&db);
    let now = now();
    // The attempt is reserved (counted as a failure) before the password is checked, in the same
    // batch as the lookup: on the trusted device's own row when the cookie is this account's.
    let mut throttle_key = device.as_ref().map_or_else(|| credentials.email.clone(), Device::throttle_key);
    let mut reads = vec![users.by_email_statement(&credentials.email)?];
    reads.extend(throttle.reserve(&throttle_key, now.timestamp(), &config.login_backoff)?);
    let results = db.batch(reads).await.or_internal("login lookup")?;
    let user: Option<User> = first_row(&results, 0)?;
    let device = device.filter(|device| user.as_ref().is_some_and(|user| user.id == device.user_id));
    match (&device, results.get(1), results.get(2)) {
        (None, _, _) if throttle_key != credentials.email => {
            // Another account's device cookie counts as none.
            throttle_key = credentials.email.clone();
            throttle.reserve_now(&throttle_key, now.timestamp(), &config.login_backoff).await?;
        }
        (_, Some(count), Some(read)) => PasswordThrottle::reserved(count, read, now.timestamp())?,
        _ => return Err(ApiError::Internal),
    }
    let verdict = match &user {
        Some(user) => check_password(credentials.password.expose(), &user.password, config.pbkdf2_iterations),
        None => Verdict::Invalid,
    };
    let accepted = match (&user, verdict) {
        (Some(user), Verdict::Valid { needs_rehash }) if user.can_log_in() => Some(needs_rehash),
        (Some(user), Verdict::UnsupportedAlgorithm(algorithm)) => {
            console_log!("login refused for user {}: password hash algorithm {algorithm} is not supported", user.id);
            None
        }
        _ => None,
    };
    let (Some(mut user), Some(needs_rehash)) = (user.clone(), accepted) else {
        // Every failure costs the work of the target hash, whatever was checked (no user, a hash
        // of another algorithm, a weaker hash): timing tells nobody which emails exist or how
        // strong their hashes are. black_box: the result is unused and must not be optimised away.
        let spent = user.as_ref().map_or(0, |user| iterations_spent(&user.password));
        let missing = config.pbkdf2_iterations.saturating_sub(spent);
        if missing > 0 {
            std::hint::black_box(make_password(credentials.password.expose(), "edge-auth-no-such-user", missing));
        }
        // The reserved attempt stays counted: that was the failure.
        return Err(ApiError::LoginFailed);
    };
    let new_hash =
        if needs_rehash { Some(hash_password(credentials.password.expose(), config.pbkdf2_iterations)?) } else { None };
    user.last_login = Some(timestamp(now));
    let session = NewSession::begin(state, now.timestamp())?;
    // One transaction, conditional on the hash just verified: a password changed meanwhile
    // starts no session and is never overwritten by the re-hash.
    let verified = UserRef::Verified { id: user.id, password_hash: &user.password };
    let mut writes =
        Sessions::new(&db).start(verified, &session.id, header(req, "User-Agent").as_deref(), &session.refresh)?;
    let last_login = user.last_login.as_deref().unwrap_or_default();
    writes.push(users.record_login(user.id, last_login, &user.password, new_hash.as_deref())?);
    writes.push(throttle.clear(&throttle_key)?);
    let results = db.batch(writes).await.or_internal("login writes")?;
    let started: Vec<Value> = match results.first() {
        Some(result) => result.results().or_internal("login session rows")?,
        None => Vec::new(),
    };
    if started.is_empty() {
        return Err(ApiError::LoginFailed);
    }
    let device = match device {
        Some(device) => device,
        None => state.devices.issue(user.id, random_bytes()?),
    };
    Ok(Reply::ok(token_body(state, user.id, &session.refresh, Some(&user))?)
        .no_store()
        .with_header("Set-Cookie", device.set_cookie())
        .for_user(user.id))
}

async fn rotate(req: &mut Request, ctx: &Ctx) -> Outcome {
    let state = &ctx.data;
    let config = &state.config;
    limit_ip(req, ctx, Limiter::Refresh, "refresh", config.rate_limit_period_secs.unsigned_abs()).await?;
    let token = refresh_token_field(&json_body(req, config).await?)?;
    let now = now().timestamp();
    let old = state.tokens.verify(&token, TokenType::Refresh, now).map_err(ApiError::BadRefreshToken)?;
    let user_id = old.user_id.ok_or(ApiError::NoActiveAccount)?;
    let blacklist = blacklist(ctx)?;
    // Fast path: a token KV already knows to be dead costs no D1 read.
    if blacklist.lookup(&old.jti).await?.is_some_and(Dead::settles) {
        return Err(ApiError::BadRefreshToken(TokenError::Blacklisted));
    }
    let db = database(ctx)?;
    let sessions = Sessions::new(&db);
    let rules = rules(state);
    let user_agent = header(req, "User-Agent");
    let mut new = successor_of(state, &old, user_id, now)?;
    let mut won = match &old.session_id {
        Some(_) => sessions.rotate(&old, &new, now, &rules).await?,
        None => sessions.adopt(&old, &new, user_id, user_agent.as_deref(), now).await?,
    };
    // Someone consumed this token before us, or it is dead: D1 decides which.
    let mut known = if won { None } else { sessions.record(&old.jti, now, &rules).await? };
    if !won && known.is_none() && old.session_id.is_some() {
        // A validly signed token with one of our session ids but a jti we never issued: simplejwt's
        // refresh view rotated it out of one of ours (it keeps extra claims). Adopted as a new
        // session only while the session it names lives.
        new = successor_of(state, &TokenClaims { session_id: None, ..old.clone() }, user_id, now)?;
        won = sessions.adopt(&old, &new, user_id, user_agent.as_deref(), now).await?;
        if !won {
            known = sessions.record(&old.jti, now, &rules).await?;
        }
    }
    if won {
        blacklist.add(&old.jti, Dead::Rotated { at: now }, old.expires_at, now).await?;
        return Ok(Reply::ok(token_body(state, user_id, &new, None)?).no_store().for_user(user_id));
    }
    let record = match known {
        // Not adopted and not recorded: its user cannot use it, or it is dead.
        None => return Err(sessions.refusal(user_id).await?),
        Some(Account::Unusable) => return Err(ApiError::NoActiveAccount),
        Some(Account::Usable(record)) => record,
    };
    match on_replay(&record, now, config.reuse_interval_secs) {
        Replay::SameSuccessor(successor) => {
            Ok(Reply::ok(token_body(state, record.user_id, &successor, None)?).no_store().for_user(record.user_id))
        }
        Replay::RevokeSession => {
            console_log!(
                "refresh token reuse detected: revoking session {} of user {}",
                record.session_id,
                record.user_id
            );
            let scope = Scope::Session { sid: &record.session_id, user_id: record.user_id };
            revoke(ctx, scope, now).await?;
            Err(ApiError::BadRefreshToken(TokenError::Blacklisted))
        }
        Replay::Refuse => Err(ApiError::BadRefreshToken(TokenError::Blacklisted)),
    }
}

async fn log_out(req: &mut Request, ctx: &Ctx) -> Outcome {
    let state = &ctx.data;
    let caller = authenticate(req, ctx).await?;
    let token = refresh_token_field(&json_body(req, &state.config).await?)?;
    let now = now().timestamp();
    let claims = state.tokens.verify(&token, TokenType::Refresh, now).map_err(ApiError::BadLogoutToken)?;
    let blacklist = blacklist(ctx)?;
    if blacklist.lookup(&claims.jti).await?.is_some_and(Dead::settles) {
        return Err(ApiError::BadLogoutToken(TokenError::Blacklisted));
    }
    if claims.user_id != Some(caller.user.id) {
        return Err(ApiError::TokenNotOwned);
    }
    let db = database(ctx)?;
    let sessions = Sessions::new(&db);
    let record = match sessions.record(&claims.jti, now, &rules(state)).await? {
        Some(Account::Usable(record)) => Some(record),
        _ => None,
    };
    // A token of ours names its session; one minted by Django may have been adopted into one.
    let sid = claims.session_id.clone().or_else(|| record.as_ref().map(|record| record.session_id.clone()));
    let ended = match sid {
        Some(sid) => {
            // A rotated token is dead (simplejwt answers 'blacklisted'). Inside the reuse interval
            // it stands for its successor, as on refresh/; after it, it is a replay: the session
            // ends all the same, and the answer is refresh/'s.
            let replayed_late = record.as_ref().is_some_and(|record| {
                on_replay(record, now, state.config.reuse_interval_secs) == Replay::RevokeSession
            });
            let live = revoke(ctx, Scope::Session { sid: &sid, user_id: caller.user.id }, now).await?;
            if replayed_late {
                console_log!("refresh token reuse at logout: revoked session {sid} of user {}", caller.user.id);
            }
            live && !replayed_late
        }
        // A Django token never seen here: recorded dead in D1 (KV is only the fast path).
        None => {
            sessions.revoke_foreign(&claims, caller.user.id, &hex(&random_bytes::<16>()?), now).await?;
            true
        }
    };
    if !ended {
        return Err(ApiError::BadLogoutToken(TokenError::Blacklisted));
    }
    blacklist.add(&claims.jti, Dead::Revoked, claims.expires_at, now).await?;
    Ok(Reply::ok(json!({ "message": "Successfully logged out." })).for_user(caller.user.id))
}

async fn log_out_everywhere(req: &Request, ctx: &Ctx) -> Outcome {
    let caller = authenticate(req, ctx).await?;
    revoke(ctx, Scope::AllBut { keep: None, user_id: caller.user.id }, now().timestamp()).await?;
    Ok(Reply::ok(json!({ "message": "Successfully logged out of all sessions." })).for_user(caller.user.id))
}

async fn update_profile(req: &mut Request, ctx: &Ctx) -> Outcome {
    let mut user = authenticate(req, ctx).await?.user;
    let changes = ProfileChanges::parse(&json_body(req, &ctx.data.config).await?)?;
    changes.apply(&mut user);
    Users::new(&database(ctx)?).save_profile(&user).await?;
    Ok(Reply::ok(user.profile()).no_store().for_user(user.id))
}

async fn replace_password(req: &mut Request, ctx: &Ctx) -> Outcome {
    let state = &ctx.data;
    let config = &state.config;
    let iterations = config.pbkdf2_iterations;
    let caller = authenticate(req, ctx).await?;
    let user = &caller.user;
    // The old password is a password check like login's: the same per-IP budget and back-off.
    limit_ip(req, ctx, Limiter::Password, "change-password", config.rate_limit_period_secs.unsigned_abs()).await?;
    let data = json_body(req, config).await?;
    let db = database(ctx)?;
    let throttle = PasswordThrottle::new(&db);
    let now = now().timestamp();
    let device = device_of(req, &state.devices).filter(|device| device.user_id == user.id);
    let throttle_key = device.as_ref().map_or_else(|| user.email.clone(), Device::throttle_key);
    throttle.reserve_now(&throttle_key, now, &config.login_backoff).await?;
    let old_password_ok = std::cell::Cell::new(false);
    let change = PasswordChange::parse(&data, user, |old| {
        let ok = matches!(check_password(old, &user.password, iterations), Verdict::Valid { .. });
        old_password_ok.set(ok);
        ok
    });
    let change = match change {
        Ok(change) => change,
        Err(error) => {
            if old_password_ok.get() {
                db.batch(vec![throttle.clear(&throttle_key)?]).await.or_internal("login_failures.clear")?;
            }
            return Err(error.into());
        }
    };
    let hash = hash_password(change.new_password.expose(), iterations)?;
    let keep = caller.session_id.as_deref();
    let mut verified = user.password.clone();
    for _ in 0..3 {
        if let Some(dead) = commit_password(&db, user.id, &verified, &hash, keep, &throttle_key, now).await? {
            blacklist_all(ctx, dead, now).await?;
            return Ok(Reply::ok(json!({ "message": "Password changed successfully." })).for_user(user.id));
        }
        // The stored hash changed since it was read. A login's re-hash of the same password is no
        // change of password: go on if the old password still verifies against what is stored.
        match Users::new(&db).password_of(user.id).await? {
            Some(stored)
                if matches!(
                    check_password(change.old_password.expose(), &stored, iterations),
                    Verdict::Valid { .. }
                ) =>
            {
                verified = stored;
            }
            _ => break,
        }
    }
    Err(FieldErrors::single("old_password", OLD_PASSWORD_INCORRECT).into())
}

/// Writes `new` where the stored hash is still `verified`, and in the same transaction moves the
/// cut-off and revokes every session but `keep` (only if that write happened). `None` when the
/// stored hash was no longer `verified`; else the refresh tokens that died, for KV.
async fn commit_password(
    db: &D1Database,
    user_id: i64,
    verified: &str,
    new: &str,
    keep: Option<&str>,
    throttle_key: &str,
    now: i64,
) -> std::result::Result<Option<Vec<DeadToken>>, ApiError> {
    let mut writes = vec![Users::new(db).replace_password(user_id, verified, new)?];
    writes.extend(Sessions::new(db).revoke_statements(Scope::AllBut { keep, user_id }, now, Some(new))?);
    writes.push(PasswordThrottle::new(db).clear(throttle_key)?);
    let results = db.batch(writes).await.or_internal("change-password writes")?;
    let replaced: Vec<Value> = match results.first() {
        Some(result) => result.results().or_internal("change-password rows")?,
        None => Vec::new(),
    };
    if replaced.is_empty() {
        return Ok(None);
    }
    Ok(Some(Sessions::revoked(&results, 1)?.1))
}

async fn list_sessions(req: &Request, ctx: &Ctx) -> Outcome {
    let caller = authenticate(req, ctx).await?;
    let db = database(ctx)?;
    let live = Sessions::new(&db).live(caller.user.id, now().timestamp(), &rules(&ctx.data)).await?;
    let listed: Vec<Value> = live
        .into_iter()
        .map(|session| {
            json!({
                "id": session.id,
                "created_at": unix_timestamp(session.created_at),
                "last_used_at": unix_timestamp(session.last_used_at),
                "user_agent": session.user_agent,
                "current": caller.session_id.as_deref() == Some(session.id.as_str()),
            })
        })
        .collect();
    Ok(Reply::ok(Value::Array(listed)).no_store().for_user(caller.user.id))
}

async fn end_session(req: &Request, ctx: &Ctx) -> Outcome {
    let caller = authenticate(req, ctx).await?;
    let sid = ctx.param("id").cloned().unwrap_or_default();
    let scope = Scope::Session { sid: &sid, user_id: caller.user.id };
    if revoke(ctx, scope, now().timestamp()).await? {
        Ok(Reply::new(204, Value::Null).for_user(caller.user.id))
    } else {
        Err(ApiError::NotFound)
    }
}

/// Revokes sessions in D1 (the source of truth), then blacklists their refresh tokens in KV.
/// Returns whether any session was live.
async fn revoke(ctx: &Ctx, scope: Scope<'_>, now: i64) -> std::result::Result<bool, ApiError> {
    let db = database(ctx)?;
    let (ended, dead) = Sessions::new(&db).revoke(scope, now).await?;
    blacklist_all(ctx, dead, now).await?;
    Ok(ended)
}

/// Copies refresh tokens D1 has just revoked into the KV fast path.
async fn blacklist_all(ctx: &Ctx, dead: Vec<DeadToken>, now: i64) -> std::result::Result<(), ApiError> {
    let blacklist = blacklist(ctx)?;
    for token in dead {
        blacklist.add(&token.jti, Dead::Revoked, token.expires_at, now).await?;
    }
    Ok(())
}

fn rules(state: &State) -> Rules {
    Rules { max_lifetime_secs: state.config.session_max_lifetime_secs }
}

/// The Bearer access token's user, checked as simplejwt's `JWTAuthentication` checks it, plus
/// its session: revoked sessions' access tokens stop working at once. One D1 read.
async fn authenticate(req: &Request, ctx: &Ctx) -> std::result::Result<Caller, ApiError> {
    let Some(authorization) = header(req, "Authorization") else {
        return Err(ApiError::NotAuthenticated);
    };
    let parts: Vec<&str> = authorization.split_whitespace().collect();
    let token = match parts.as_slice() {
        ["Bearer", token] => *token,
        ["Bearer", ..] => return Err(ApiError::BadAuthorizationHeader),
        _ => return Err(ApiError::NotAuthenticated),
    };
    let claims =
        ctx.data.tokens.verify(token, TokenType::Access, now().timestamp()).map_err(ApiError::BadAccessToken)?;
    let id = claims.user_id.ok_or(ApiError::NoUserIdentification)?;
    let db = database(ctx)?;
    let found = Users::new(&db).by_id_for_token(id, claims.session_id.as_deref(), claims.issued_at).await?;
    let TokenUser { user, revoked } = found.ok_or(ApiError::UserNotFound)?;
    if revoked {
        return Err(ApiError::BadAccessToken(TokenError::Blacklisted));
    }
    if !user.can_log_in() {
        return Err(ApiError::UserInactive);
    }
    Ok(Caller { user, session_id: claims.session_id })
}

/// The refresh token that replaces `old`: in the same session, or in a new one for a token minted
/// elsewhere (no session of ours).
fn successor_of(
    state: &State,
    old: &TokenClaims,
    user_id: i64,
    now: i64,
) -> std::result::Result<TokenClaims, ApiError> {
    let sid = match &old.session_id {
        Some(sid) => sid.clone(),
        None => hex(&random_bytes::<16>()?),
    };
    Ok(state.tokens.mint(TokenType::Refresh, user_id, Some(&sid), random_bytes()?, now).claims)
}

/// A session about to start: its id and first refresh token.
struct NewSession {
    id: String,
    refresh: TokenClaims,
}

impl NewSession {
    fn begin(state: &State, now: i64) -> std::result::Result<NewSession, ApiError> {
        let id = hex(&random_bytes::<16>()?);
        // The user id is not known yet at register: the claims are re-signed with it in `token_body`.
        let refresh = state.tokens.mint(TokenType::Refresh, 0, Some(&id), random_bytes()?, now).claims;
        Ok(NewSession { id, refresh })
    }
}

/// The token response: the given refresh token (signed for `user_id`), a fresh access token in
/// the same session, and the profile when `profile` is given.
fn token_body(
    state: &State,
    user_id: i64,
    refresh: &TokenClaims,
    profile: Option<&User>,
) -> std::result::Result<Value, ApiError> {
    let refresh = TokenClaims { user_id: Some(user_id), ..refresh.clone() };
    let access = state.tokens.mint(
        TokenType::Access,
        user_id,
        refresh.session_id.as_deref(),
        random_bytes()?,
        refresh.issued_at.max(now().timestamp()),
    );
    let mut body = json!({
        "access_token": access.token.expose(),
        "refresh_token": state.tokens.sign(&refresh),
        "token_type": "bearer",
        "expires_in": state.tokens.ttl(TokenType::Access),
    });
    if let (Some(user), Value::Object(map)) = (profile, &mut body) {
        map.insert("user".into(), user.profile());
    }
    Ok(body)
}

/// The refresh token in a body: `refresh_token`, or simplejwt's own name `refresh`.
fn refresh_token_field(data: &Map<String, Value>) -> std::result::Result<String, ApiError> {
    let name =
        if !data.contains_key("refresh_token") && data.contains_key("refresh") { "refresh" } else { "refresh_token" };
    let mut form = Form::new(data);
    let token = form.required(name, Text::REQUIRED);
    form.errors.into_result()?;
    token.ok_or(ApiError::Internal)
}

fn first_row<T: serde::de::DeserializeOwned>(
    results: &[worker::D1Result],
    index: usize,
) -> std::result::Result<Option<T>, ApiError> {
    match results.get(index) {
        Some(result) => Ok(result.results::<T>().or_internal("reading batch rows")?.into_iter().next()),
        None => Ok(None),
    }
}

fn unix_timestamp(secs: i64) -> Value {
    chrono::DateTime::from_timestamp(secs, 0).map_or(Value::Null, |at| Value::String(timestamp(at)))
}

fn hash_password(password: &str, iterations: u32) -> std::result::Result<String, ApiError> {
    Ok(make_password(password, &new_salt(&random_bytes()?), iterations))
}

fn database(ctx: &Ctx) -> std::result::Result<D1Database, ApiError> {
    ctx.d1("DB").or_internal("binding DB")
}

fn blacklist(ctx: &Ctx) -> std::result::Result<Blacklist, ApiError> {
    Ok(Blacklist::new(ctx.kv("TOKEN_BLACKLIST").or_internal("binding TOKEN_BLACKLIST")?))
}
