//! The scheduled prune's deletes: one bounded statement per table, each `DELETE ... WHERE rowid
//! IN (SELECT rowid ... LIMIT ?)` over the table's age index (migration 0006), each condition
//! exactly its rule in `domain::prune::Cutoffs`.

use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, D1Database, D1PreparedStatement};

use crate::app::store::{int, statement};
use crate::app::support::internal;
use crate::domain::prune::{Cutoffs, Table};
use crate::error::ApiError;

/// One batch of `table`'s prunable rows, at most `limit` of them (bound as ?2).
pub fn delete_batch(db: &D1Database, table: Table, cut: &Cutoffs, limit: i64) -> Result<D1PreparedStatement, ApiError> {
    let (prunable, values) = match table {
        Table::RefreshTokens => ("expires_at < ?1", vec![int(cut.tokens_expired_before)]),
        // Only sessions without token rows left: nothing cascades (ON DELETE CASCADE), so one
        // statement deletes at most `limit` rows.
        Table::Sessions => (
            "last_used_at < ?1 AND (revoked_at IS NOT NULL OR created_at <= ?3)
             AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = sessions.id)",
            vec![int(cut.sessions_idle_before), int(cut.sessions_born_by)],
        ),
        Table::LoginFailures => (
            "last_failure_at <= ?1 AND blocked_until <= ?3 AND last_failure_at + failures * ?4 <= ?3",
            vec![int(cut.failures_quiet_since), int(cut.now), int(cut.failure_window_secs)],
        ),
        Table::EmailKeys => ("expires_at <= ?1 OR used_by IS NOT NULL", vec![int(cut.now)]),
        Table::MailQuota => ("window_start <= ?1", vec![int(cut.mail_windows_started_by)]),
        Table::SyncReceivedEvents => ("received_at < ?1", vec![int(cut.received_before)]),
        Table::AuthEvents => ("occurred_at < ?1", vec![int(cut.events_before)]),
    };
    let name = table.name();
    let mut values = values;
    values.insert(1, int(limit));
    statement(
        db,
        &format!("DELETE FROM {name} WHERE rowid IN (SELECT rowid FROM {name} WHERE {prunable} LIMIT ?2)"),
        &values,
    )
}

/// Runs `statements` as one D1 batch (one transaction) and returns the rows each deleted
/// (`meta.changes`). Read through `Reflect`, not `D1Result::meta`: its deserialiser costs 1.3 KB
/// of wasm.
pub async fn run_batch(db: &D1Database, statements: &[D1PreparedStatement]) -> Result<Vec<i64>, ApiError> {
    let array: js_sys::Array = statements.iter().map(|statement| JsValue::from(statement.inner())).collect();
    let failed = |error: JsValue| {
        let message = error.dyn_into::<js_sys::Error>().map_or_else(|_| "refused".to_owned(), |e| e.message().into());
        internal("prune: a round", message)
    };
    let batch: js_sys::Function =
        js_sys::Reflect::get(db.as_ref(), &JsValue::from("batch")).map_err(failed)?.unchecked_into();
    let promise = batch.call1(db.as_ref(), &array).map_err(failed)?;
    let results = JsFuture::from(js_sys::Promise::from(promise)).await.map_err(failed)?;
    let changes = |result: JsValue| -> Option<f64> {
        let meta = js_sys::Reflect::get(&result, &JsValue::from("meta")).ok()?;
        js_sys::Reflect::get(&meta, &JsValue::from("changes")).ok()?.as_f64()
    };
    Ok(js_sys::Array::from(&results).iter().map(|result| changes(result).map_or(0, |n| n as i64)).collect())
}
