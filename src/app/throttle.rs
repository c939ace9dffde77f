//! Anti-automation: per-IP limits through the Workers Rate Limiting bindings, and the back-off
//! after failed password checks, counted in D1 per account or per trusted device.

use worker::{query, D1Database, D1PreparedStatement, D1Result, Request, RouteContext};

use crate::app::http::header;
use crate::app::{internal, OrInternal};
use crate::domain::client::rate_limit_key;
use crate::domain::device::{self, Device, DeviceKey};
use crate::domain::sessions::Backoff;
use crate::error::ApiError;

/// The per-IP rate limiting bindings (`[[ratelimits]]` in wrangler.toml). Each must exist: a
/// missing one is a misconfiguration (503), never a silent skip.
#[derive(Clone, Copy)]
pub enum Limiter {
    /// `register/` and deep health checks.
    General,
    /// Everything that checks a password: `login/`, `change-password/`.
    Password,
    /// `token/refresh/`.
    Refresh,
}

impl Limiter {
    fn binding(self) -> &'static str {
        match self {
            Limiter::General => "IP_RATE_LIMITER",
            Limiter::Password => "LOGIN_RATE_LIMITER",
            Limiter::Refresh => "REFRESH_RATE_LIMITER",
        }
    }
}

/// The client's address as Cloudflare saw it. `X-Forwarded-For` is client-controlled and ignored.
pub fn client_ip(req: &Request) -> String {
    header(req, "CF-Connecting-IP").unwrap_or_else(|| "unknown".to_owned())
}

/// Refuses the request with 429 when this IP has used up its budget for `action`.
pub async fn limit_ip<D>(
    req: &Request,
    ctx: &RouteContext<D>,
    limiter: Limiter,
    action: &str,
    retry_after_secs: u64,
) -> Result<(), ApiError> {
    let binding = ctx.env.rate_limiter(limiter.binding()).map_err(|_| {
        internal("edge-auth is misconfigured: rate limiting binding missing", limiter.binding());
        ApiError::Misconfigured
    })?;
    let outcome =
        binding.limit(format!("{action}:{}", rate_limit_key(&client_ip(req)))).await.or_internal("rate limiter")?;
    if outcome.success {
        Ok(())
    } else {
        Err(ApiError::Throttled(retry_after_secs))
    }
}

/// The trusted device a request's cookie names, if its signature holds.
pub fn device_of(req: &Request, key: &DeviceKey) -> Option<Device> {
    header(req, "Cookie").as_deref().and_then(device::from_cookie_header).and_then(|value| key.verify(value))
}

/// The back-off row of one account (its email) or one trusted device.
pub struct PasswordThrottle<'a> {
    db: &'a D1Database,
}

impl<'a> PasswordThrottle<'a> {
    pub fn new(db: &'a D1Database) -> PasswordThrottle<'a> {
        PasswordThrottle { db }
    }

    /// Reserves one attempt for `key` before the password is checked: the first statement counts
    /// it as a failure (decayed count + 1, with the back-off that count calls for) unless `key` is
    /// blocked, in which case it changes nothing; the second reads the row back. Run both in one
    /// batch and read them with `reserved`. The rule is `LoginFailures::reserve`'s. (D1 binds JS
    /// numbers as REAL: the decay's division is cast back to whole windows.)
    pub fn reserve(&self, key: &str, now: i64, policy: &Backoff) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let count = query!(
            self.db,
            "INSERT INTO login_failures (email, failures, last_failure_at, blocked_until)
             VALUES (?1, 1, ?2, CASE WHEN 1 >= ?4 THEN ?2 + MIN(?6, ?5) ELSE 0 END)
             ON CONFLICT (email) DO UPDATE SET
               failures = MAX(0, failures - CAST(MAX(0, ?2 - last_failure_at) / ?3 AS INTEGER)) + 1,
               last_failure_at = ?2,
               blocked_until = CASE
                 WHEN MAX(0, failures - CAST(MAX(0, ?2 - last_failure_at) / ?3 AS INTEGER)) + 1 >= ?4
                 THEN ?2 + MIN(?6, ?5 * (1 << MIN(MAX(0, failures - CAST(MAX(0, ?2 - last_failure_at) / ?3 AS INTEGER)) + 1 - ?4, 32)))
                 ELSE 0 END
             WHERE blocked_until <= ?2
             RETURNING failures",
            key,
            now,
            policy.window_secs,
            policy.threshold,
            policy.base_secs,
            policy.max_secs,
        )
        .or_internal("binding login_failures.reserve")?;
        let read = query!(self.db, "SELECT blocked_until FROM login_failures WHERE email = ?1", key)
            .or_internal("binding login_failures.read")?;
        Ok(vec![count, read])
    }

    /// The outcome of `reserve`'s two statements: `Err(Throttled)` when the key was blocked.
    pub fn reserved(count: &D1Result, read: &D1Result, now: i64) -> Result<(), ApiError> {
        let counted: Vec<serde_json::Value> = count.results().or_internal("login_failures.reserve rows")?;
        if !counted.is_empty() {
            return Ok(());
        }
        #[derive(serde::Deserialize)]
        struct Row {
            blocked_until: i64,
        }
        let rows: Vec<Row> = read.results().or_internal("login_failures.read rows")?;
        let wait = rows.first().map_or(1, |row| (row.blocked_until - now).max(1));
        Err(ApiError::Throttled(wait.unsigned_abs()))
    }

    /// Reserves one attempt on its own (one batch).
    pub async fn reserve_now(&self, key: &str, now: i64, policy: &Backoff) -> Result<(), ApiError> {
        let results = self.db.batch(self.reserve(key, now, policy)?).await.or_internal("login_failures.reserve")?;
        match (results.first(), results.get(1)) {
            (Some(count), Some(read)) => Self::reserved(count, read, now),
            _ => Err(ApiError::Internal),
        }
    }

    /// Forgets `key`'s failures after a right password (batch it with what the success writes).
    pub fn clear(&self, key: &str) -> Result<D1PreparedStatement, ApiError> {
        query!(self.db, "DELETE FROM login_failures WHERE email = ?1", key).or_internal("binding login_failures.clear")
    }
}
