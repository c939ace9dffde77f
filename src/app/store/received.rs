//! The `sync_received_events` table in D1: the ids of the events applied from Django, so that a
//! repeated one is answered 409 and applied no second time (PROTOCOL.md, "Answers").

use worker::{D1Database, D1PreparedStatement};

use crate::app::store::{int, statement, text};
use crate::domain::sync::REMEMBER_IDS_SECS;
use crate::error::ApiError;

pub struct Received<'a> {
    db: &'a D1Database,
}

impl<'a> Received<'a> {
    pub fn new(db: &'a D1Database) -> Received<'a> {
        Received { db }
    }

    /// A row when the event `id` was applied before.
    pub fn lookup(&self, id: &str) -> Result<D1PreparedStatement, ApiError> {
        statement(self.db, "SELECT 1 AS seen FROM sync_received_events WHERE id = ?1", &[text(id)])
    }

    /// Statements that record `id` as applied at `now` and forget the ids older than
    /// `REMEMBER_IDS_SECS`. Put first in the batch of the event's own writes: an id recorded before
    /// fails the insert and so the whole batch (`is_repeat` tells that failure apart).
    pub fn record(&self, id: &str, now: i64) -> Result<Vec<D1PreparedStatement>, ApiError> {
        self.statements("INSERT INTO sync_received_events (id, received_at) VALUES (?1, ?2)", id, now)
    }

    /// `record` for an event applied by other means than one batch (KV, revocations), after it
    /// was: a concurrent delivery of the same event may have recorded it meanwhile, no failure.
    pub fn record_applied(&self, id: &str, now: i64) -> Result<Vec<D1PreparedStatement>, ApiError> {
        self.statements(
            "INSERT INTO sync_received_events (id, received_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
            id,
            now,
        )
    }

    fn statements(&self, insert: &str, id: &str, now: i64) -> Result<Vec<D1PreparedStatement>, ApiError> {
        Ok(vec![
            statement(self.db, insert, &[text(id), int(now)])?,
            statement(
                self.db,
                "DELETE FROM sync_received_events WHERE received_at < ?1",
                &[int(now - REMEMBER_IDS_SECS)],
            )?,
        ])
    }

    /// Whether a failed batch that began with `record` failed because the id was recorded before.
    pub fn is_repeat(error: &worker::Error) -> bool {
        error.to_string().contains("UNIQUE constraint failed: sync_received_events.id")
    }
}
