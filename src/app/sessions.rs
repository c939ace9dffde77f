//! Sessions: rotate a refresh token, log out of one session or all, list and end them.

use serde_json::{json, Map, Value};
use worker::{console_log, Request};

use crate::app::caller::authenticate;
use crate::app::http::{header, json_body};
use crate::app::issue::{successor_of, token_body};
use crate::app::outbound::{publish, syncing};
use crate::app::state::State;
use crate::app::store::revocation::{Revoked, Scope};
use crate::app::store::sessions::{Account, Rules, SessionRow, Sessions};
use crate::app::throttle::{limit_ip, Limiter};
use crate::app::{blacklist, database, now, random_bytes, Ctx, Outcome};
use crate::domain::audit::{AuditEvent, EventType};
use crate::domain::fields::required_text;
use crate::domain::sessions::{on_replay, Dead, Replay, TokenRecord};
use crate::domain::sync::{Outgoing, Reason};
use crate::domain::tokens::{hex, TokenClaims, TokenError, TokenType};
use crate::domain::user::timestamp;
use crate::error::{ApiError, Reply};

/// `POST token/refresh/` → rotates: a new pair, the old refresh token consumed.
pub async fn refresh(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
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
    let user_agent = header(req, "User-Agent");
    let record = match consume(ctx, &old, user_id, user_agent.as_deref(), now).await? {
        Consumed::Won(new) => {
            if syncing(ctx) {
                let sid = old.session_id.as_deref();
                let rotated = Outgoing::token_revoked(user_id, &old.jti, old.expires_at, sid, Reason::Rotated);
                publish(ctx, vec![rotated]).await;
            }
            blacklist.add(&old.jti, Dead::Rotated { at: now }, old.expires_at, now).await?;
            return Ok(Reply::ok(token_body(state, user_id, &new, None)?).no_store().for_user(user_id));
        }
        Consumed::Before(record) => record,
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
            revoke(ctx, scope, now, None, Vec::new()).await?;
            let reuse = AuditEvent::failure(EventType::TokenReuseDetected, Some(record.user_id));
            ctx.record(req, reuse.session(Some(&record.session_id)));
            Err(ApiError::BadRefreshToken(TokenError::Blacklisted))
        }
        Replay::Refuse => Err(ApiError::BadRefreshToken(TokenError::Blacklisted)),
    }
}

/// What became of a refresh token presented for rotation.
enum Consumed {
    /// This request consumed it: here is its successor.
    Won(TokenClaims),
    /// It was consumed or revoked before: its record decides (`on_replay`).
    Before(TokenRecord),
}

/// Consumes `old` in D1: rotated within its session, or adopted as a new session when it was
/// minted elsewhere. Errors when D1 refuses it for its user (gone, inactive) or as dead.
async fn consume(
    ctx: &Ctx,
    old: &TokenClaims,
    user_id: i64,
    user_agent: Option<&str>,
    now: i64,
) -> Result<Consumed, ApiError> {
    let state = &ctx.data.state;
    let db = database(ctx)?;
    let sessions = Sessions::new(&db);
    let rules = rules(state);
    let mut new = successor_of(state, old, user_id, now)?;
    let mut won = match &old.session_id {
        Some(_) => sessions.rotate(old, &new, now, &rules).await?,
        None => sessions.adopt(old, &new, user_id, user_agent, now).await?,
    };
    // Someone consumed this token before us, or it is dead: D1 decides which.
    let mut known = if won { None } else { sessions.record(&old.jti, now, &rules).await? };
    if !won && known.is_none() && old.session_id.is_some() {
        // A validly signed token with one of our session ids but a jti we never issued: simplejwt's
        // refresh view rotated it out of one of ours (it keeps extra claims). Adopted as a new
        // session only while the session it names lives.
        new = successor_of(state, &TokenClaims { session_id: None, ..old.clone() }, user_id, now)?;
        won = sessions.adopt(old, &new, user_id, user_agent, now).await?;
        if !won {
            known = sessions.record(&old.jti, now, &rules).await?;
        }
    }
    match known {
        _ if won => Ok(Consumed::Won(new)),
        // Not adopted and not recorded: its user cannot use it, or it is dead.
        None => Err(sessions.refusal(user_id).await?),
        Some(Account::Unusable) => Err(ApiError::NoActiveAccount),
        Some(Account::Usable(record)) => Ok(Consumed::Before(record)),
    }
}

/// `POST logout/` → ends the session of the caller's refresh token.
pub async fn logout(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
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
    if !end_session_of(req, ctx, &claims, caller.user.id, now).await? {
        return Err(ApiError::BadLogoutToken(TokenError::Blacklisted));
    }
    blacklist.add(&claims.jti, Dead::Revoked, claims.expires_at, now).await?;
    let logged_out = AuditEvent::success(EventType::Logout, caller.user.id).session(claims.session_id.as_deref());
    ctx.record(req, logged_out);
    Ok(Reply::ok(json!({ "message": "Successfully logged out." })).for_user(caller.user.id))
}

/// Ends the session of a refresh token being logged out. `false` when the token was already
/// dead: revoked, or rotated and presented after the reuse interval (a replay: the session ends
/// all the same, and the answer is refresh/'s). Inside the interval a rotated token stands for its
/// successor, as on refresh/.
async fn end_session_of(
    req: &Request,
    ctx: &Ctx,
    claims: &TokenClaims,
    user_id: i64,
    now: i64,
) -> Result<bool, ApiError> {
    let state = &ctx.data.state;
    let db = database(ctx)?;
    let sessions = Sessions::new(&db);
    let record = match sessions.record(&claims.jti, now, &rules(state)).await? {
        Some(Account::Usable(record)) => Some(record),
        _ => None,
    };
    // A token of ours names its session; one minted by Django may have been adopted into one.
    let Some(sid) = claims.session_id.clone().or_else(|| record.as_ref().map(|record| record.session_id.clone()))
    else {
        // A Django token never seen here: recorded dead in D1 (KV is only the fast path).
        sessions.revoke_foreign(claims, user_id, &hex(&random_bytes::<16>()?), now).await?;
        let logged_out = Outgoing::token_revoked(user_id, &claims.jti, claims.expires_at, None, Reason::Logout);
        publish(ctx, vec![logged_out]).await;
        return Ok(true);
    };
    let replayed_late = record
        .as_ref()
        .is_some_and(|record| on_replay(record, now, state.config.reuse_interval_secs) == Replay::RevokeSession);
    // A late replay is reuse: its session's tokens die as revoked, none as logged out.
    let logged_out = (!replayed_late).then_some(claims.jti.as_str());
    let live = revoke(ctx, Scope::Session { sid: &sid, user_id }, now, logged_out, Vec::new()).await?;
    if replayed_late {
        console_log!("refresh token reuse at logout: revoked session {sid} of user {user_id}");
        let reuse = AuditEvent::failure(EventType::TokenReuseDetected, Some(user_id)).session(Some(&sid));
        ctx.record(req, reuse);
    }
    Ok(live && !replayed_late)
}

/// `POST logout-all/` → ends every session of the caller.
pub async fn logout_all(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let caller = authenticate(req, ctx).await?;
    let (user_id, now) = (caller.user.id, now().timestamp());
    let everything = vec![Outgoing::sessions_revoked(user_id, now, None)];
    revoke(ctx, Scope::AllBut { keep: None, user_id }, now, None, everything).await?;
    let ended = AuditEvent::success(EventType::LogoutAll, user_id).session(caller.session_id.as_deref());
    ctx.record(req, ended);
    Ok(Reply::ok(json!({ "message": "Successfully logged out of all sessions." })).for_user(caller.user.id))
}

/// `GET sessions/` → the caller's live sessions.
pub async fn list_sessions(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let caller = authenticate(req, ctx).await?;
    let db = database(ctx)?;
    let live = Sessions::new(&db).live(caller.user.id, now().timestamp(), &rules(&ctx.data.state)).await?;
    let listed: Vec<Value> = live
        .iter()
        .map(|session| {
            let mut view = session_view(session);
            view["current"] = Value::Bool(caller.session_id.as_deref() == Some(session.id.as_str()));
            view
        })
        .collect();
    Ok(Reply::ok(Value::Array(listed)).no_store().for_user(caller.user.id))
}

/// `DELETE sessions/<id>/` → 204; another user's (or an unknown) id is 404.
pub async fn end_session(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let caller = authenticate(req, ctx).await?;
    let sid = ctx.path_id().unwrap_or_default().to_owned();
    let scope = Scope::Session { sid: &sid, user_id: caller.user.id };
    if revoke(ctx, scope, now().timestamp(), None, Vec::new()).await? {
        let ended = AuditEvent::success(EventType::SessionRevoked, caller.user.id).session(Some(&sid));
        ctx.record(req, ended);
        Ok(Reply::new(204, Value::Null).for_user(caller.user.id))
    } else {
        Err(ApiError::NotFound)
    }
}

/// Revokes sessions in D1 (the source of truth), then blacklists their refresh tokens in KV and
/// tells Django (`blacklist_all`). Returns whether any session was live.
pub(crate) async fn revoke(
    ctx: &Ctx,
    scope: Scope<'_>,
    now: i64,
    logged_out: Option<&str>,
    events: Vec<Outgoing>,
) -> std::result::Result<bool, ApiError> {
    let db = database(ctx)?;
    let revoked = Sessions::new(&db).revoke(scope, now).await?;
    let ended = !revoked.sessions.is_empty();
    blacklist_all(ctx, scope.user_id(), revoked, now, logged_out, events).await?;
    Ok(ended)
}

/// After D1 has revoked sessions of `user_id`, whatever the path: tells Django `events` (the
/// change that revoked them), `session.revoked` for each session ended and `token.revoked` for
/// each refresh token that died (`logout` for the one a logout presented, `revoked` for the
/// rest), then copies the dead tokens into the KV fast path.
pub async fn blacklist_all(
    ctx: &Ctx,
    user_id: i64,
    revoked: Revoked,
    now: i64,
    logged_out: Option<&str>,
    mut events: Vec<Outgoing>,
) -> std::result::Result<(), ApiError> {
    if syncing(ctx) {
        events.extend(revoked.sessions.iter().map(|sid| Outgoing::session_revoked(user_id, sid)));
        // A token rotated before was reported then (`rotated`): a long session would otherwise
        // send one event per refresh it ever made.
        events.extend(revoked.tokens.iter().filter(|token| token.used_at.is_none()).map(|token| {
            let reason = if logged_out == Some(token.jti.as_str()) { Reason::Logout } else { Reason::Revoked };
            Outgoing::token_revoked(user_id, &token.jti, token.expires_at, Some(&token.session_id), reason)
        }));
        publish(ctx, events).await;
    }
    let blacklist = blacklist(ctx)?;
    for token in revoked.tokens {
        blacklist.add(&token.jti, Dead::Revoked, token.expires_at, now).await?;
    }
    Ok(())
}

pub fn rules(state: &State) -> Rules {
    Rules { max_lifetime_secs: state.config.session_max_lifetime_secs }
}

/// The refresh token in a body: `refresh_token`, or simplejwt's own name `refresh`.
fn refresh_token_field(data: &Map<String, Value>) -> std::result::Result<String, ApiError> {
    let name =
        if !data.contains_key("refresh_token") && data.contains_key("refresh") { "refresh" } else { "refresh_token" };
    Ok(required_text(data, name)?)
}

/// A live session as `GET sessions/` shows it, but for `current` (which the admin API has not).
pub(crate) fn session_view(session: &SessionRow) -> Value {
    json!({
        "id": session.id,
        "created_at": unix_timestamp(session.created_at),
        "last_used_at": unix_timestamp(session.last_used_at),
        "user_agent": session.user_agent,
    })
}

fn unix_timestamp(secs: i64) -> Value {
    chrono::DateTime::from_timestamp(secs, 0).map_or(Value::Null, |at| Value::String(timestamp(at)))
}
