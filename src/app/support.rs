//! What every adapter needs from the platform: failures logged and turned into a bare 500, the
//! CSPRNG, the clock, the rows a batch returned, and requests to other services. A leaf: it
//! imports no other room of the worker.

use worker::{console_error, web_sys, AbortSignal, Fetch, Headers, Method, Request, RequestInit};

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

/// POSTs `body` (JSON) to `url` with `headers`, aborted after `timeout_ms` (reading the answer
/// included). Returns the status and the answer's body; `Err` says what failed, never the body.
pub async fn post_json(
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout_ms: u32,
) -> Result<(u16, String), &'static str> {
    send(Method::Post, url, headers, Some(("application/json", body)), timeout_ms).await
}

/// One request to another service: `method` to `url` with `headers` and, when given, a body of
/// its content type, the whole answer within `timeout_ms`. The status and the answer's body; `Err`
/// says what failed (for the log), never what was sent or received.
pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
    timeout_ms: u32,
) -> Result<(u16, String), &'static str> {
    let all = Headers::new();
    let refused = |_| "a header was refused";
    for (name, value) in headers {
        all.set(name, value).map_err(refused)?;
    }
    let mut init = RequestInit::new();
    init.with_method(method);
    if let Some((content_type, body)) = body {
        all.set("Content-Type", content_type).map_err(refused)?;
        init.with_body(Some(body.into()));
    }
    init.with_headers(all);
    let request = Request::new_with_init(url, &init).map_err(|_| "not a URL")?;
    let deadline = AbortSignal::from(web_sys::AbortSignal::timeout_with_u32(timeout_ms));
    let unanswered = "no answer (unreachable, or not in time)";
    let mut response = Fetch::Request(request).send_with_signal(&deadline).await.map_err(|_| unanswered)?;
    let answer = response.text().await.map_err(|_| unanswered)?;
    Ok((response.status_code(), answer))
}
