//! Anti-automation: per-IP limits through the Workers Rate Limiting bindings, and the back-off
//! after failed password checks, counted in D1 per account or per trusted device.

use worker::{query, D1Database, D1PreparedStatement, Request};

use crate::app::http::{client_ip, header};
use crate::app::support::{internal, OrInternal};
use crate::app::Ctx;
use crate::domain::client::rate_limit_key;
use crate::domain::device::{self, Device, DeviceKey};
use crate::domain::sessions::{Backoff, LoginFailures};
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

/// Refuses the request with 429 when this IP has used up its budget for `action`.
pub async fn limit_ip(
    req: &Request,
    ctx: &Ctx,
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

/// How often a reservation reads and decides again when concurrent attempts changed the row
/// first. Each retry means another attempt was counted, so past the threshold the row is blocked
/// and the loop ends; the bound only guards against a row that never settles.
const RESERVE_TRIES: usize = 32;

/// The back-off row of one account (its email) or one trusted device.
pub struct PasswordThrottle<'a> {
    db: &'a D1Database,
}

impl<'a> PasswordThrottle<'a> {
    pub fn new(db: &'a D1Database) -> PasswordThrottle<'a> {
        PasswordThrottle { db }
    }

    /// Reads `key`'s row (batch it with the user lookup; read it with `row`).
    pub fn read(&self, key: &str) -> Result<D1PreparedStatement, ApiError> {
        query!(self.db, "SELECT failures, last_failure_at, blocked_until FROM login_failures WHERE email = ?1", key)
            .or_internal("binding login_failures.read")
    }

    /// Reads `key`'s row on its own.
    pub async fn read_now(&self, key: &str) -> Result<Option<LoginFailures>, ApiError> {
        self.read(key)?.first(None).await.or_internal("login_failures.read")
    }

    /// Reserves one attempt for `key` before the password is checked, by the one rule
    /// (`LoginFailures::reserve`): computed here from the row as read (`seen`), written only if the
    /// row is still that one (compare-and-set), else read again and decided again. Concurrent
    /// attempts are thus serialised: exactly as many pass as the rule lets through, the rest see
    /// the block. 429 while blocked, and also if the row kept changing under this request.
    pub async fn reserve(
        &self,
        key: &str,
        seen: Option<LoginFailures>,
        now: i64,
        policy: &Backoff,
    ) -> Result<(), ApiError> {
        let mut seen = seen;
        for _ in 0..RESERVE_TRIES {
            let next = seen.unwrap_or_default().reserve(now, policy).map_err(ApiError::Throttled)?;
            if self.compare_and_set(key, seen.as_ref(), &next).await? {
                return Ok(());
            }
            seen = self.read_now(key).await?;
        }
        Err(ApiError::Throttled(1))
    }

    /// Reads `key`'s row and reserves one attempt on it (when the read cannot share a batch).
    pub async fn reserve_now(&self, key: &str, now: i64, policy: &Backoff) -> Result<(), ApiError> {
        let seen = self.read_now(key).await?;
        self.reserve(key, seen, now, policy).await
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&LoginFailures>,
        next: &LoginFailures,
    ) -> Result<bool, ApiError> {
        let statement = match expected {
            None => query!(
                self.db,
                "INSERT INTO login_failures (email, failures, last_failure_at, blocked_until) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (email) DO NOTHING RETURNING email",
                key,
                next.failures,
                next.last_failure_at,
                next.blocked_until,
            ),
            Some(old) => query!(
                self.db,
                "UPDATE login_failures SET failures = ?2, last_failure_at = ?3, blocked_until = ?4
                  WHERE email = ?1 AND failures = ?5 AND last_failure_at = ?6 AND blocked_until = ?7
                 RETURNING email",
                key,
                next.failures,
                next.last_failure_at,
                next.blocked_until,
                old.failures,
                old.last_failure_at,
                old.blocked_until,
            ),
        }
        .or_internal("binding login_failures.reserve")?;
        Ok(statement.first::<serde_json::Value>(None).await.or_internal("login_failures.reserve")?.is_some())
    }

    /// Forgets `key`'s failures after a right password (batch it with what the success writes).
    pub fn clear(&self, key: &str) -> Result<D1PreparedStatement, ApiError> {
        query!(self.db, "DELETE FROM login_failures WHERE email = ?1", key).or_internal("binding login_failures.clear")
    }

    /// `clear` on its own, when the success writes nothing else.
    pub async fn clear_now(&self, key: &str) -> Result<(), ApiError> {
        self.clear(key)?.run().await.or_internal("login_failures.clear")?;
        Ok(())
    }
}
