//! The scheduled prune's deletes: one bounded statement per table, each `DELETE ... WHERE rowid
//! IN (SELECT rowid ... LIMIT ?)` over the table's age index (migration 0006), each applying
//! exactly its rule in `domain::prune::Cutoffs`.

use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::app::store::{int, statement};
use crate::app::support::OrInternal;
use crate::domain::prune::{Cutoffs, Table};
use crate::error::ApiError;

/// One batch of `table`'s prunable rows, at most `limit` of them.
pub fn delete_batch(db: &D1Database, table: Table, cut: &Cutoffs, limit: i64) -> Result<D1PreparedStatement, ApiError> {
    let (sql, values) = match table {
        Table::RefreshTokens => (
            "DELETE FROM refresh_tokens WHERE rowid IN
               (SELECT rowid FROM refresh_tokens WHERE expires_at < ?1 LIMIT ?2)",
            vec![int(cut.tokens_expired_before)],
        ),
        // Only sessions without token rows left: nothing cascades (ON DELETE CASCADE), so one
        // statement deletes at most `limit` rows.
        Table::Sessions => (
            "DELETE FROM sessions WHERE rowid IN
               (SELECT s.rowid FROM sessions s
                 WHERE s.last_used_at < ?1 AND (s.revoked_at IS NOT NULL OR s.created_at <= ?3)
                   AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id)
                 LIMIT ?2)",
            vec![int(cut.sessions_idle_before), int(cut.sessions_born_by)],
        ),
        Table::LoginFailures => (
            "DELETE FROM login_failures WHERE rowid IN
               (SELECT rowid FROM login_failures
                 WHERE last_failure_at <= ?1 AND blocked_until <= ?3 AND last_failure_at + failures * ?4 <= ?3
                 LIMIT ?2)",
            vec![int(cut.failures_quiet_since), int(cut.now), int(cut.failure_window_secs)],
        ),
        Table::EmailKeys => (
            "DELETE FROM email_keys WHERE rowid IN
               (SELECT rowid FROM email_keys WHERE expires_at <= ?1 OR used_by IS NOT NULL LIMIT ?2)",
            vec![int(cut.now)],
        ),
        Table::MailQuota => (
            "DELETE FROM mail_quota WHERE rowid IN
               (SELECT rowid FROM mail_quota WHERE window_start <= ?1 LIMIT ?2)",
            vec![int(cut.mail_windows_started_by)],
        ),
        Table::SyncReceivedEvents => (
            "DELETE FROM sync_received_events WHERE rowid IN
               (SELECT rowid FROM sync_received_events WHERE received_at < ?1 LIMIT ?2)",
            vec![int(cut.received_before)],
        ),
        Table::AuthEvents => (
            "DELETE FROM auth_events WHERE rowid IN
               (SELECT rowid FROM auth_events WHERE occurred_at < ?1 LIMIT ?2)",
            vec![int(cut.events_before)],
        ),
    };
    let mut values = values;
    values.insert(1, int(limit));
    statement(db, sql, &values)
}

/// The rows one batch's statement deleted.
pub fn deleted(result: &D1Result) -> Result<i64, ApiError> {
    let meta = result.meta().or_internal("prune: reading a delete's meta")?;
    Ok(meta.and_then(|meta| meta.changes).map_or(0, |changes| changes as i64))
}
