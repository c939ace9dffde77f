//! What every adapter needs from the platform: failures logged and turned into a bare 500, the
//! CSPRNG, the clock, and the rows a batch returned. A leaf: it imports no other room of the worker.

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

/// The first row of the `index`-th result of a batch, if any.
pub fn first_row<T: serde::de::DeserializeOwned>(
    results: &[worker::D1Result],
    index: usize,
) -> Result<Option<T>, ApiError> {
    match results.get(index) {
        Some(result) => Ok(result.results::<T>().or_internal("reading batch rows")?.into_iter().next()),
        None => Ok(None),
    }
}
