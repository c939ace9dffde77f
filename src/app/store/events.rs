//! The `auth_events` table in D1: the audit trail's rows, written beside the change they record
//! and read a page at a time, newest first.

use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::{console_error, D1Database, D1PreparedStatement};

use crate::app::store::{int, statement, text};
use crate::app::support::{first_row, OrInternal};
use crate::domain::audit::{AuditEvent, Source};
use crate::domain::pagination::Page;
use crate::error::ApiError;

pub struct Events<'a> {
    db: &'a D1Database,
}

impl<'a> Events<'a> {
    pub fn new(db: &'a D1Database) -> Events<'a> {
        Events { db }
    }

    /// The insert of `event`, which happened at `now` (Unix seconds) for a request from `source`.
    pub fn insert(&self, source: &Source, event: &AuditEvent, now: i64) -> Result<D1PreparedStatement, ApiError> {
        let optional_int = |value: Option<i64>| value.map_or(JsValue::NULL, int);
        let optional_text = |value: Option<&str>| value.map_or(JsValue::NULL, text);
        let detail = event.detail.as_ref().map(|detail| detail.to_string());
        statement(
            self.db,
            "INSERT INTO auth_events (occurred_at, user_id, actor_id, type, outcome, session_id, ip, user_agent, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &[
                int(now),
                optional_int(event.user_id),
                optional_int(event.actor_id),
                text(event.kind.as_str()),
                text(event.outcome.as_str()),
                optional_text(event.session_id.as_deref()),
                optional_text(source.ip.as_deref()),
                optional_text(source.user_agent.as_deref()),
                optional_text(detail.as_deref()),
            ],
        )
    }

    /// Writes `events`, which happened at `now` for a request from `source`, in one batch. A trail
    /// that cannot be written is logged, event by event, never the request's failure: the change
    /// it tells of stands.
    pub async fn write(&self, source: &Source, events: &[AuditEvent], now: i64) {
        let inserts = events.iter().map(|event| self.insert(source, event, now)).collect::<Result<Vec<_>, _>>();
        let written = match inserts {
            Ok(inserts) => self.db.batch(inserts).await.or_internal("auth_events.insert").map(|_| ()),
            Err(e) => Err(e),
        };
        if written.is_err() {
            for event in events {
                let user = event.user_id.unwrap_or_default();
                console_error!("audit trail: {} of user {user} not recorded", event.kind.as_str());
            }
        }
    }

    /// One page of the events of `user_id` (of everyone with `None`), newest first, and how many
    /// there are in all: one round trip.
    pub async fn page(&self, user_id: Option<i64>, page: &Page) -> Result<(i64, Vec<Value>), ApiError> {
        let (window, limits) = (int(page.limit()), int(page.offset()));
        let (count, rows) = match user_id {
            Some(id) => (
                statement(self.db, "SELECT COUNT(*) AS n FROM auth_events WHERE user_id = ?1", &[int(id)])?,
                statement(
                    self.db,
                    "SELECT * FROM auth_events WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3",
                    &[int(id), window, limits],
                )?,
            ),
            None => (
                statement(self.db, "SELECT COUNT(*) AS n FROM auth_events", &[])?,
                statement(self.db, "SELECT * FROM auth_events ORDER BY id DESC LIMIT ?1 OFFSET ?2", &[window, limits])?,
            ),
        };
        let results = self.db.batch(vec![count, rows]).await.or_internal("auth_events.page")?;
        let count = first_row::<Value>(&results, 0)?.and_then(|row| row["n"].as_i64()).unwrap_or(0);
        let rows = match results.get(1) {
            Some(result) => result.results::<Value>().or_internal("reading auth_events rows")?,
            None => Vec::new(),
        };
        Ok((count, rows))
    }
}
