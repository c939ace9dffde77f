//! The audit trail: recording what happened to an account (`auth_events`), and `events/`, where
//! its owner reads it. Staff read everyone's through the admin API.

use worker::{D1Database, D1PreparedStatement, Request};

use crate::app::caller::authenticate;
use crate::app::store::events::Events;
use crate::app::{database, source, Ctx, Outcome};
use crate::domain::audit::{render, AuditEvent, Source};
use crate::domain::pagination::{query_of, Page};
use crate::error::{ApiError, Reply};

/// The insert of `event` from `req` at `now`, to run in the batch that makes the change, so that
/// the trail holds an event exactly when the change happened.
pub fn statement(
    db: &D1Database,
    req: &Request,
    event: &AuditEvent,
    now: i64,
) -> Result<D1PreparedStatement, ApiError> {
    Events::new(db).insert(&source(req), event, now)
}

/// Records `event` on its own, with the database and the source at hand (work after the response
/// has no request; events from Django have no client).
pub async fn record_in(db: &D1Database, source: &Source, event: &AuditEvent, now: i64) {
    Events::new(db).write(source, std::slice::from_ref(event), now).await;
}

/// A page of the events of `user_id` (everyone's with `None`) as the API shows them, in DRF's
/// paginated body, for the request at `req`'s URL (`for_staff`: with whose and by whom).
pub async fn page_of_events(req: &Request, ctx: &Ctx, user_id: Option<i64>, for_staff: bool) -> Outcome {
    // The URL as the runtime has it: `Request::url` would link the `url` crate's parser and its
    // IDNA tables into the worker (26 KB of the gzipped upload) to split off the query.
    let url = req.inner().url();
    let page = Page::from_query(query_of(&url))?;
    let (count, rows) = Events::new(&database(ctx)?).page(user_id, &page).await?;
    let results = rows.iter().map(|row| render(row, for_staff)).collect();
    Ok(Reply::ok(page.body(&url, count, results)?).no_store())
}

/// `GET events/` → the caller's own events, newest first, paginated.
pub async fn list_events(req: Request, ctx: Ctx) -> Outcome {
    let caller = authenticate(&req, &ctx).await?;
    let reply = page_of_events(&req, &ctx, Some(caller.user.id), false).await?;
    Ok(reply.for_user(caller.user.id))
}
