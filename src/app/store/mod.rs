//! Storage adapters: the SQL and KV calls, beside the code that runs them.

pub mod blacklist;
pub mod email_keys;
pub mod events;
pub mod factors;
pub mod prune;
pub mod received;
pub mod revocation;
pub mod rotation;
pub mod sessions;
pub mod users;

use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use crate::app::support::OrInternal;
use crate::error::ApiError;

/// A statement bound with plain JS values (`text`, `int`, `JsValue::NULL`), as the sync adapters
/// bind theirs: `query!` serialises each argument through serde, a share of wasm per argument
/// (1.1 KB for those statements).
pub fn statement(db: &D1Database, sql: &str, values: &[JsValue]) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(sql).bind(values).or_internal("binding a statement")
}

pub fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

/// A JS number (D1 takes no BigInt); ids and Unix seconds are far below 2^53.
pub fn int(value: i64) -> JsValue {
    JsValue::from_f64(value as f64)
}
