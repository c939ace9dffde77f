//! The breached-password check's I/O: the range of a password's SHA-1 prefix from the Cache API
//! or from `PWNED_PASSWORDS_URL` (then cached for a day), and what a flow does with the verdict.
//! Only the 5-digit prefix leaves the worker or reaches a log; the rules are `domain::breach`.

use serde_json::{Map, Value};
use worker::{console_warn, Cache, Method, Response};

use crate::app::support::send;
use crate::config::{BreachCheck, BreachConfig};
use crate::domain::breach::{is_breached, parse_range, still_screened, Hashed, BREACHED};
use crate::domain::fields::{FieldErrors, Text};
use crate::domain::secrets::Password;
use crate::error::ApiError;

/// How long a range is kept in the colo's cache. Pwned Passwords changes slowly (its own CDN
/// caches ranges too), and a day bounds how stale a verdict can be.
const CACHE_CONTROL: &str = "public, max-age=86400";

/// Whether a password is known breached.
enum Verdict {
    Clean,
    Breached,
    /// No usable answer: the range API was down, slow or spoke something else.
    Unknown,
}

/// Screens a flow's new password after its form was read. `parsed` is the form's result and
/// `candidate` the password when it is screened (see `domain::breach::still_screened`): a
/// breached one adds `BREACHED` to `field`'s list, after the validators' messages, in the same
/// 400. Without an answer, `fail-open` goes on and `fail-closed` refuses with 503, unless the
/// request is a 400 anyway (it is answered as one, and screened again when resent).
pub async fn screen<T>(
    config: &BreachConfig,
    parsed: Result<T, FieldErrors>,
    candidate: Option<Password>,
    field: &str,
) -> Result<T, ApiError> {
    let Some(password) = candidate.filter(|_| config.check != BreachCheck::Off) else {
        return Ok(parsed?);
    };
    match (lookup(config, password.expose()).await, parsed) {
        (Verdict::Breached, Ok(_)) => Err(FieldErrors::single(field, BREACHED).into()),
        (Verdict::Breached, Err(mut errors)) => {
            errors.add(field, BREACHED);
            Err(errors.into())
        }
        (Verdict::Unknown, Ok(_)) if config.check == BreachCheck::FailClosed => Err(ApiError::Unavailable),
        (_, parsed) => Ok(parsed?),
    }
}

/// `screen` for a form read from `data` whose new password is `fields[0]` and its confirmation
/// `fields[1]`: the password the form parsed, or, when the form failed on those two fields
/// alone, the one sent (`still_screened`).
pub async fn screen_form<T>(
    config: &BreachConfig,
    data: &Map<String, Value>,
    parsed: Result<T, FieldErrors>,
    fields: [&str; 2],
    password_of: fn(&T) -> &Password,
) -> Result<T, ApiError> {
    let candidate = match &parsed {
        Ok(form) => Some(password_of(form).clone()),
        Err(errors) => still_screened(data, errors, fields[0], &fields, Text::REQUIRED),
    };
    screen(config, parsed, candidate, fields[0]).await
}

async fn lookup(config: &BreachConfig, password: &str) -> Verdict {
    let hashed = Hashed::of(password);
    let url = format!("{}{}", config.url, hashed.prefix);
    let cache = Cache::default();
    let (body, fetched) = match cached(&cache, &url).await {
        Some(body) => (body, false),
        None => match fetch_range(&url, config.timeout_ms).await {
            Ok(body) => (body, true),
            Err(why) => return unknown(&hashed.prefix, why, config.check),
        },
    };
    let Ok(range) = parse_range(&body) else {
        return unknown(&hashed.prefix, "the answer is not a range", config.check);
    };
    // Only a range that parsed is kept; a failed put costs the next check a fetch, nothing more.
    if fetched {
        keep(&cache, &url, body, &hashed.prefix).await;
    }
    if is_breached(&range, &hashed) {
        Verdict::Breached
    } else {
        Verdict::Clean
    }
}

fn unknown(prefix: &str, why: &str, check: BreachCheck) -> Verdict {
    let then = if check == BreachCheck::FailClosed { "refusing (fail-closed)" } else { "accepting (fail-open)" };
    console_warn!("breached-password check: range {prefix}: {why}; {then}");
    Verdict::Unknown
}

async fn keep(cache: &Cache, url: &str, body: String, prefix: &str) {
    let put = async {
        let mut response = Response::ok(body)?;
        response.headers_mut().set("Cache-Control", CACHE_CONTROL)?;
        cache.put(url, response).await
    };
    if let Err(error) = put.await {
        console_warn!("breached-password check: range {prefix} not cached: {error}");
    }
}

/// The cached range, if the colo has it.
async fn cached(cache: &Cache, url: &str) -> Option<String> {
    let mut response = cache.get(url, false).await.ok()??;
    response.text().await.ok()
}

/// GETs a range with `Add-Padding: true`, the whole answer within `timeout_ms`.
async fn fetch_range(url: &str, timeout_ms: u32) -> Result<String, &'static str> {
    match send(Method::Get, url, &[("Add-Padding", "true")], None, timeout_ms).await? {
        (200, body) => Ok(body),
        _ => Err("the range API answered with an error status"),
    }
}
