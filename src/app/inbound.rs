//! Events from Django (issue 14): `POST <prefix>sync/events/`, the receiving side of
//! `integrations/django/PROTOCOL.md`. A signed event is applied once: its id is recorded with its
//! writes (or right after them), a repeated id is 409, and a failed application records nothing,
//! so the sender's retry applies it.

use serde_json::{json, Value};
use worker::{console_log, D1Database, D1PreparedStatement, Request};

use crate::app::audit;
use crate::app::http::{header, raw_body};
use crate::app::sessions::revoke;
use crate::app::store::received::Received;
use crate::app::store::revocation::{Recorded, Scope};
use crate::app::store::sessions::Sessions;
use crate::app::store::users::Users;
use crate::app::support::internal;
use crate::app::{blacklist, database, first_row, now, random_bytes, Ctx, Outcome};
use crate::domain::audit::{AuditEvent, EventType, Source};
use crate::domain::body::require_json;
use crate::domain::sessions::Dead;
use crate::domain::sync::{cut_off, normalize_user, Change, Event, Reason, SIGNATURE_HEADER};
use crate::domain::tokens::{hex, TokenClaims, TokenType};
use crate::error::{ApiError, Reply};

/// `POST sync/events/` → 200 `{"status": "applied"}`; 409 for an event applied before.
pub async fn receive_event(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let state = &ctx.data.state;
    // Without the shared secret nothing can be signed: the endpoint does not exist.
    let secret = state.sync_secret.as_ref().ok_or(ApiError::NotFound)?;
    let body = raw_body(req, &state.config).await?;
    let now = now().timestamp();
    // The signature first: nothing of an unsigned body is read.
    secret.verify(header(req, SIGNATURE_HEADER).as_deref(), &body, now).map_err(ApiError::BadSignature)?;
    require_json(header(req, "Content-Type").as_deref(), &body)?;
    let event = Event::parse(&body)?;
    let user_id = event.change.user_id();
    let recorded = audit_event(&event.change);
    apply(ctx, event, now).await?;
    if let Some(recorded) = recorded {
        // Made on Django: no client address or user agent of ours to keep.
        audit::record_in(&database(ctx)?, &Source::default(), &recorded, now).await;
    }
    Ok(Reply::ok(json!({ "status": "applied" })).for_user(user_id))
}

/// What the audit trail keeps of an event from Django: the changes its owner would want to see
/// (a password changed, the account disabled, every session ended), marked as Django's.
fn audit_event(change: &Change) -> Option<AuditEvent> {
    let (kind, user_id) = match change {
        Change::PasswordChanged { user_id, .. } => (EventType::PasswordChanged, *user_id),
        Change::Deactivated { user_id } => (EventType::AccountDisabled, *user_id),
        Change::SessionsRevoked { user_id, .. } => (EventType::LogoutAll, *user_id),
        _ => return None,
    };
    Some(AuditEvent::success(kind, user_id).detail(json!({ "source": "django" })))
}

/// What an event does, in this order: D1 writes, a refresh token revoked, sessions ended (at an
/// instant), the token blacklisted in KV.
struct Steps {
    writes: Vec<D1PreparedStatement>,
    token: Option<(String, i64)>,
    end: End,
    at: i64,
}

/// Which sessions an event ends.
enum End {
    None,
    /// Every session of the user but `keep`, and the tokens without one issued before `at`.
    AllBut(Option<String>),
    One(String),
    /// The session the revoked refresh token is recorded in (a logout without `sid`).
    OfToken,
}

/// Applies an event once. When its effect is D1 writes only, the id is recorded in their batch:
/// a repeated id fails it whole. Otherwise a repeated id is refused up front and the id recorded
/// once everything succeeded (revocations and KV writes can be applied twice to no harm).
async fn apply(ctx: &Ctx, event: Event, now: i64) -> Result<(), ApiError> {
    let db = database(ctx)?;
    let received = Received::new(&db);
    let user_id = event.change.user_id();
    let id = &event.id;
    let steps = steps(ctx, &db, event.change, now)?;
    let in_one_batch = steps.token.is_none() && matches!(steps.end, End::None);
    if !in_one_batch && first_row::<Value>(&run(&db, vec![received.lookup(id)?], id).await?, 0)?.is_some() {
        return Err(ApiError::EventAlreadyReceived);
    }
    let mut writes = if in_one_batch { received.record(id, now)? } else { Vec::new() };
    let first = writes.len();
    writes.extend(steps.writes);
    let results = if writes.is_empty() { Vec::new() } else { run(&db, writes, id).await? };
    let mut recorded_in = None;
    if let Some((jti, expires_at)) = &steps.token {
        match Sessions::token_revoked(&results, first)? {
            Recorded::In(session) => recorded_in = Some(session),
            // Dead here for good, beyond its KV entry.
            Recorded::Never => {
                let token = TokenClaims {
                    token_type: TokenType::Refresh,
                    jti: jti.clone(),
                    user_id: Some(user_id),
                    session_id: None,
                    issued_at: now,
                    expires_at: *expires_at,
                };
                Sessions::new(&db).revoke_foreign(&token, user_id, &hex(&random_bytes::<16>()?), now).await?;
            }
            // KV alone: its entry lasts as long as the token would.
            Recorded::NoSuchUser => {}
        }
    }
    let scope = match &steps.end {
        End::None => None,
        End::AllBut(keep) => Some(Scope::AllBut { keep: keep.as_deref(), user_id }),
        End::One(sid) => Some(Scope::Session { sid, user_id }),
        End::OfToken => recorded_in.as_deref().map(|sid| Scope::Session { sid, user_id }),
    };
    if let Some(scope) = scope {
        revoke(ctx, scope, steps.at, None, Vec::new()).await?;
    }
    if let Some((jti, expires_at)) = &steps.token {
        blacklist(ctx)?.add(jti, Dead::Revoked, *expires_at, now).await?;
    }
    if !in_one_batch {
        run(&db, received.record_applied(id, now)?, id).await?;
    }
    Ok(())
}

/// PROTOCOL.md's worker column, event by event. A user unknown here has nothing to revoke.
fn steps(ctx: &Ctx, db: &D1Database, change: Change, now: i64) -> Result<Steps, ApiError> {
    let users = Users::new(db);
    let mut steps = Steps { writes: Vec::new(), token: None, end: End::None, at: now };
    match change {
        Change::User { mut user, sent } => {
            normalize_user(&mut user)?;
            if user.uuid.is_empty() {
                user.uuid = uuid::Builder::from_random_bytes(random_bytes()?).into_uuid().to_string();
            }
            // An account that may no longer log in loses its sessions, as on `user.deactivated`.
            if !user.can_log_in() {
                steps.end = End::AllBut(None);
            }
            steps.writes.push(users.upsert(&user, &sent)?);
        }
        // The hash only: Django sends the revocations that go with it as their own events.
        Change::PasswordChanged { user_id, password } => steps.writes.push(users.set_password(user_id, &password)?),
        Change::Deactivated { user_id } => {
            steps.writes.push(users.deactivate(user_id)?);
            steps.end = End::AllBut(None);
        }
        Change::SessionsRevoked { before, except_sid, .. } => {
            let config = &ctx.data.state.config;
            steps.at = cut_off(before, now, config.refresh_ttl_secs.max(config.access_ttl_secs));
            steps.end = End::AllBut(except_sid);
        }
        Change::SessionRevoked { sid, .. } => steps.end = End::One(sid),
        Change::TokenRevoked { user_id, jti, expires_at, sid, reason } => {
            steps.writes = Sessions::new(db).revoke_token(&jti, user_id, now)?;
            steps.token = Some((jti, expires_at));
            if reason == Reason::Logout {
                steps.end = sid.map_or(End::OfToken, End::One);
            }
        }
    }
    Ok(steps)
}

/// Runs one batch of an event's statements (one transaction), telling a repeated event id and a
/// user that conflicts apart from a storage failure. The one place D1 is awaited here: every
/// `await` of an async function costs its own share of the wasm.
async fn run(
    db: &D1Database,
    statements: Vec<D1PreparedStatement>,
    id: &str,
) -> Result<Vec<worker::D1Result>, ApiError> {
    let error = match db.batch(statements).await {
        Ok(results) => return Ok(results),
        Err(error) => error,
    };
    if Received::is_repeat(&error) {
        return Err(ApiError::EventAlreadyReceived);
    }
    let message = error.to_string();
    let Some(field) = ["email", "uuid"].into_iter().find(|field| message.contains(&format!("failed: users.{field}")))
    else {
        return Err(internal("sync event writes", error));
    };
    // The two user bases disagree: a person must decide. The address itself is never logged.
    console_log!("sync event {id} not applied: its user's {field} belongs to another user here");
    Err(ApiError::BadEvent(format!("user.{field} conflicts with another user's.")))
}
