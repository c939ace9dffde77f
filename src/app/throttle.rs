//! Anti-automation: per-IP limits through the Workers Rate Limiting binding, and the per-account
//! failed-login back-off counted in D1.

use worker::{query, D1Database, D1PreparedStatement, Request, RouteContext};

use crate::app::http::header;
use crate::app::OrInternal;
use crate::config::Backoff;
use crate::domain::client::rate_limit_key;
use crate::domain::sessions::{block_secs, LoginFailures};
use crate::error::ApiError;

/// The rate limiting binding; requests pass when it is not configured.
pub const IP_LIMITER: &str = "IP_RATE_LIMITER";

/// The client's address as Cloudflare saw it. `X-Forwarded-For` is client-controlled and ignored.
pub fn client_ip(req: &Request) -> String {
    header(req, "CF-Connecting-IP").unwrap_or_else(|| "unknown".to_owned())
}

/// Refuses the request with 429 when this IP has used up its budget for `action`.
pub async fn limit_ip<D>(
    req: &Request,
    ctx: &RouteContext<D>,
    action: &str,
    retry_after_secs: u64,
) -> Result<(), ApiError> {
    let Ok(limiter) = ctx.env.rate_limiter(IP_LIMITER) else {
        return Ok(());
    };
    let outcome =
        limiter.limit(format!("{action}:{}", rate_limit_key(&client_ip(req)))).await.or_internal("rate limiter")?;
    if outcome.success {
        Ok(())
    } else {
        Err(ApiError::Throttled(retry_after_secs))
    }
}

pub struct LoginThrottle<'a> {
    db: &'a D1Database,
}

impl<'a> LoginThrottle<'a> {
    pub fn new(db: &'a D1Database) -> LoginThrottle<'a> {
        LoginThrottle { db }
    }

    /// Reads the failures recorded for `email` (batch it with the user lookup).
    pub fn read(&self, email: &str) -> Result<D1PreparedStatement, ApiError> {
        query!(self.db, "SELECT failures, last_failure_at, blocked_until FROM login_failures WHERE email = ?1", email)
            .or_internal("binding login_failures.read")
    }

    /// Forgets the failures after a successful login (batch it with the login's writes).
    pub fn clear(&self, email: &str) -> Result<D1PreparedStatement, ApiError> {
        query!(self.db, "DELETE FROM login_failures WHERE email = ?1", email)
            .or_internal("binding login_failures.clear")
    }

    /// Counts one more failure atomically (concurrent failures are all counted; a quiet window
    /// resets the count), then sets the back-off the new count calls for.
    pub async fn record_failure(&self, email: &str, now: i64, policy: &Backoff) -> Result<(), ApiError> {
        let counted = query!(
            self.db,
            "INSERT INTO login_failures (email, failures, last_failure_at) VALUES (?1, 1, ?2)
             ON CONFLICT (email) DO UPDATE SET
               failures = CASE WHEN ?2 - last_failure_at > ?3 THEN 1 ELSE failures + 1 END,
               last_failure_at = ?2
             RETURNING failures, last_failure_at, blocked_until",
            email,
            now,
            policy.window_secs,
        )
        .or_internal("binding login_failures.count")?
        .first::<LoginFailures>(None)
        .await
        .or_internal("login_failures.count")?;
        let Some(delay) = counted.and_then(|row| block_secs(row.failures, policy)) else {
            return Ok(());
        };
        query!(
            self.db,
            "UPDATE login_failures SET blocked_until = MAX(blocked_until, ?2) WHERE email = ?1",
            email,
            now + delay
        )
        .or_internal("binding login_failures.block")?
        .run()
        .await
        .or_internal("login_failures.block")?;
        Ok(())
    }
}
