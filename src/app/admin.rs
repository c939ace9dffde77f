//! The admin API, for staff (`is_staff` of the caller's live row): users, their sessions, the
//! audit trail. The rules (who may change what, what a change does) are `domain::admin`'s.

use serde_json::{json, Value};
use worker::{D1Database, Request};

use crate::app::audit::{self, page_of_events};
use crate::app::caller::authenticate;
use crate::app::http::json_body;
use crate::app::outbound::publish;
use crate::app::sessions::{blacklist_all, revoke, rules, session_view};
use crate::app::store::revocation::Scope;
use crate::app::store::sessions::Sessions;
use crate::app::store::users::Users;
use crate::app::{database, first_row, now, Ctx, OrInternal, Outcome};
use crate::domain::admin::{
    admin_view, contains_pattern, may_act_on, may_administer, may_change, search_terms, user_id, AdminChanges, Denied,
    Effect,
};
use crate::domain::audit::{AuditEvent, EventType};
use crate::domain::fields::FieldErrors;
use crate::domain::pagination::{query_of, query_param, Page};
use crate::domain::sync::Outgoing;
use crate::domain::user::User;
use crate::error::{ApiError, Reply};

/// DRF's `IntegerField` message, for `admin/events/?user=`.
const NOT_AN_INTEGER: &str = "A valid integer is required.";

/// `GET admin/users/?search=&page=&page_size=` → a page of users, by id.
pub async fn list_users(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let staff = staff(req, ctx).await?;
    // The runtime's URL string, as `events/` reads it (`Request::url` links the `url` crate).
    let url = req.inner().url();
    let query = query_of(&url);
    let page = Page::from_query(query)?;
    let patterns: Vec<String> = search_terms(&query_param(query, "search").unwrap_or_default())
        .iter()
        .map(|term| contains_pattern(term))
        .collect();
    let (count, users) = Users::new(&database(ctx)?).search(&patterns, &page).await?;
    let body = page.body(&url, count, users.iter().map(admin_view).collect())?;
    Ok(Reply::ok(body).no_store().for_user(staff.id))
}

/// `GET admin/users/<id>/` → the user.
pub async fn show_user(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let staff = staff(req, ctx).await?;
    let user = target(ctx, &database(ctx)?).await?;
    Ok(Reply::ok(admin_view(&user)).no_store().for_user(staff.id))
}

/// `PATCH admin/users/<id>/` → the user as changed. A change that leaves the account unable to
/// log in ends all its sessions in the same transaction (and moves its cut-off, so its access
/// tokens die too); the change's event is written in it as well.
pub async fn update_user(mut req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&mut req, &ctx);
    let staff = staff(req, ctx).await?;
    let db = database(ctx)?;
    let before = target(ctx, &db).await?;
    may_act_on(&staff, &before).map_err(refused)?;
    let changes = AdminChanges::parse(&json_body(req, &ctx.data.state.config).await?)?;
    may_change(&staff, &before, &changes).map_err(refused)?;
    let effect = Effect::of(&before, &changes);
    let (user_id, now) = (before.id, now().timestamp());
    let mut statements = vec![Users::new(&db).admin_update(user_id, &changes)?];
    let everything = Scope::AllBut { keep: None, user_id };
    if effect.end_sessions {
        statements.extend(Sessions::new(&db).revoke_statements(everything, now, None)?);
    }
    if let Some(event) = event_of(&effect, user_id) {
        statements.push(audit::statement(&db, req, &event.actor(staff.id), now)?);
    }
    let results = db.batch(statements).await.or_internal("admin: users.update")?;
    let after: User = first_row(&results, 0)?.ok_or(ApiError::NotFound)?;
    let mut events = Vec::new();
    if !effect.fields.is_empty() {
        events.push(Outgoing::user_updated(&after));
    }
    if effect.end_sessions {
        events.push(Outgoing::sessions_revoked(user_id, now, None));
        blacklist_all(ctx, user_id, Sessions::revoked(&results, 1)?, now, None, events).await?;
    } else {
        publish(ctx, events).await;
    }
    Ok(Reply::ok(admin_view(&after)).no_store().for_user(staff.id))
}

/// The event of an admin change: disabled or enabled when the account's ability to log in
/// changed, else an update; none when nothing changed.
fn event_of(effect: &Effect, user_id: i64) -> Option<AuditEvent> {
    let kind = match effect {
        Effect { disabled: true, .. } => EventType::AccountDisabled,
        Effect { enabled: true, .. } => EventType::AccountEnabled,
        Effect { fields, .. } if fields.is_empty() => return None,
        _ => EventType::UserUpdatedByAdmin,
    };
    Some(AuditEvent::success(kind, user_id).detail(json!({ "fields": effect.fields })))
}

/// `GET admin/users/<id>/sessions/` → the user's live sessions (as `GET sessions/`, without
/// `current`).
pub async fn list_sessions(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let staff = staff(req, ctx).await?;
    let db = database(ctx)?;
    let user = target(ctx, &db).await?;
    let live = Sessions::new(&db).live(user.id, now().timestamp(), &rules(&ctx.data.state)).await?;
    let listed: Vec<Value> = live.iter().map(session_view).collect();
    Ok(Reply::ok(Value::Array(listed)).no_store().for_user(staff.id))
}

/// `POST admin/users/<id>/logout-all/` → every session of the user ends, as its own
/// `logout-all/` would end them (and the event is recorded as that one is).
pub async fn logout_all(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let staff = staff(req, ctx).await?;
    let db = database(ctx)?;
    let user = target(ctx, &db).await?;
    may_act_on(&staff, &user).map_err(refused)?;
    let (user_id, now) = (user.id, now().timestamp());
    let everything = vec![Outgoing::sessions_revoked(user_id, now, None)];
    revoke(ctx, Scope::AllBut { keep: None, user_id }, now, None, everything).await?;
    ctx.record(req, AuditEvent::success(EventType::SessionsRevokedByAdmin, user_id).actor(staff.id));
    Ok(Reply::ok(json!({ "message": "Successfully logged out of all sessions." })).for_user(staff.id))
}

/// `GET admin/events/?user=<id>&page=` → a page of the audit trail (one user's with `user`),
/// newest first, with whose each event is and who acted.
pub async fn list_events(req: Request, ctx: Ctx) -> Outcome {
    let (req, ctx) = (&req, &ctx);
    let staff = staff(req, ctx).await?;
    let user = match query_param(query_of(&req.inner().url()), "user") {
        Some(text) if !text.trim().is_empty() => {
            Some(text.trim().parse::<i64>().map_err(|_| FieldErrors::single("user", NOT_AN_INTEGER))?)
        }
        _ => None,
    };
    Ok(page_of_events(req, ctx, user, true).await?.for_user(staff.id))
}

/// The caller, if staff by its live row: 401 as every Bearer endpoint, then 403.
async fn staff(req: &Request, ctx: &Ctx) -> Result<User, ApiError> {
    let caller = authenticate(req, ctx).await?;
    may_administer(&caller.user).map_err(refused)?;
    Ok(caller.user)
}

/// The user the path's `<id>` names: 404 when there is none, or the id is not an integer.
async fn target(ctx: &Ctx, db: &D1Database) -> Result<User, ApiError> {
    let id = ctx.path_id().and_then(user_id).ok_or(ApiError::NotFound)?;
    Users::new(db).by_id(id).await?.ok_or(ApiError::NotFound)
}

/// Every refusal is DRF's one 403; which rule refused is not said.
fn refused(_: Denied) -> ApiError {
    ApiError::PermissionDenied
}
