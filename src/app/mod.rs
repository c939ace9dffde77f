//! Adapters to the Workers platform: HTTP in and out, D1, KV, and the handlers that join them
//! to the pure core. Built for wasm32 only.

pub mod blacklist;
pub mod handlers;
pub mod http;
pub mod sessions;
pub mod state;
pub mod throttle;
pub mod users;

use worker::console_error;

use crate::error::ApiError;

/// Turns a platform failure into a bare 500, logging what failed (never request secrets).
pub trait OrInternal<T> {
    fn or_internal(self, what: &str) -> Result<T, ApiError>;
}

impl<T, E: std::fmt::Display> OrInternal<T> for Result<T, E> {
    fn or_internal(self, what: &str) -> Result<T, ApiError> {
        self.map_err(|e| internal(what, e))
    }
}

/// Logs a platform failure and gives the bare 500 the client sees.
pub fn internal(what: &str, error: impl std::fmt::Display) -> ApiError {
    console_error!("{what}: {error}");
    ApiError::Internal
}

/// Bytes from the JS-backed CSPRNG (`crypto.getRandomValues`).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).or_internal("getrandom")?;
    Ok(bytes)
}

/// The request's wall-clock time, read once at the edge and handed to the pure core.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
