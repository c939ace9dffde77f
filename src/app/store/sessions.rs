//! Sessions and refresh tokens in D1: starting, reading and listing them here; rotation in
//! `rotation.rs`, revocation in `revocation.rs` (more `impl Sessions` blocks). Every state change is one statement or one D1 batch (a
//! transaction), so a session never exists without its first token, and a refresh token is
//! consumed at most once however many requests race for it.

use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement};

use crate::app::support::OrInternal;
use crate::domain::sessions::{Successor, TokenRecord};
use crate::domain::tokens::TokenClaims;
use crate::error::ApiError;

pub struct Sessions<'a> {
    pub(super) db: &'a D1Database,
}

/// A live session, as `GET sessions/` lists it.
#[derive(Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub user_agent: Option<String>,
}

#[derive(Deserialize)]
struct RecordRow {
    jti: String,
    session_id: String,
    user_id: i64,
    used_at: Option<i64>,
    successor_jti: Option<String>,
    successor_issued_at: Option<i64>,
    successor_expires_at: Option<i64>,
    revoked: i64,
    account_ok: i64,
}

/// Whether the user behind a token may still use it.
pub enum Account {
    Usable(TokenRecord),
    Unusable,
}

impl<'a> Sessions<'a> {
    pub fn new(db: &'a D1Database) -> Sessions<'a> {
        Sessions { db }
    }

    /// Statements that open session `sid` for `user` and record its first refresh token. Run them
    /// in the same batch as whatever makes the user (register) or logs them in; the session's
    /// insert returns its id, and nothing is recorded when `user` does not match.
    pub fn start(
        &self,
        user: UserRef<'_>,
        sid: &str,
        user_agent: Option<&str>,
        first: &TokenClaims,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let session = match user {
            UserRef::Verified { id, password_hash } => query!(
                self.db,
                "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent)
                 SELECT ?1, id, ?3, ?3, ?4 FROM users WHERE id = ?2 AND password = ?5
                 RETURNING id",
                sid,
                id,
                first.issued_at,
                user_agent,
                password_hash,
            ),
            UserRef::Email(email) => query!(
                self.db,
                "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent)
                 SELECT ?1, id, ?3, ?3, ?4 FROM users WHERE email = ?2
                 RETURNING id",
                sid,
                email,
                first.issued_at,
                user_agent,
            ),
        }
        .or_internal("binding sessions.start")?;
        let token = query!(
            self.db,
            "INSERT INTO refresh_tokens (jti, session_id, issued_at, expires_at)
             SELECT ?1, id, ?3, ?4 FROM sessions WHERE id = ?2",
            &first.jti,
            sid,
            first.issued_at,
            first.expires_at,
        )
        .or_internal("binding sessions.start token")?;
        Ok(vec![session, token])
    }

    /// What D1 knows of a refresh token: `None` if it was never recorded. A token issued before
    /// its user's last cut-off, or of a session past its absolute lifetime, counts as revoked.
    pub async fn record(&self, jti: &str, now: i64, rules: &Rules) -> Result<Option<Account>, ApiError> {
        let row = query!(
            self.db,
            "SELECT t.jti, t.session_id, s.user_id, t.used_at, t.successor_jti, t.successor_issued_at,
                    t.successor_expires_at,
                    (t.revoked_at IS NOT NULL OR s.revoked_at IS NOT NULL OR s.created_at <= ?2
                     OR (t.issued_at < u.tokens_valid_after AND s.survived_cutoff IS NOT u.tokens_valid_after))
                      AS revoked,
                    (u.is_active = 1 AND u.account_status = 'active') AS account_ok
               FROM refresh_tokens t
               JOIN sessions s ON s.id = t.session_id
               JOIN users u ON u.id = s.user_id
              WHERE t.jti = ?1",
            jti,
            rules.sessions_born_after(now),
        )
        .or_internal("binding sessions.record")?
        .first::<RecordRow>(None)
        .await
        .or_internal("sessions.record")?;
        Ok(row.map(|row| {
            if row.account_ok == 0 {
                return Account::Unusable;
            }
            let successor = match (row.successor_jti, row.successor_issued_at, row.successor_expires_at) {
                (Some(jti), Some(issued_at), Some(expires_at)) => Some(Successor { jti, issued_at, expires_at }),
                _ => None,
            };
            Account::Usable(TokenRecord {
                jti: row.jti,
                session_id: row.session_id,
                user_id: row.user_id,
                used_at: row.used_at,
                successor,
                revoked: row.revoked != 0,
            })
        }))
    }

    /// The user's live sessions: not revoked, with a refresh token still usable.
    pub async fn live(&self, user_id: i64, now: i64, rules: &Rules) -> Result<Vec<SessionRow>, ApiError> {
        query!(
            self.db,
            "SELECT s.id, s.created_at, s.last_used_at, s.user_agent FROM sessions s
              WHERE s.user_id = ?1 AND s.revoked_at IS NULL AND s.created_at > ?3
                AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id AND t.used_at IS NULL
                               AND t.revoked_at IS NULL AND t.expires_at > ?2)
              ORDER BY s.last_used_at DESC, s.created_at DESC",
            user_id,
            now,
            rules.sessions_born_after(now),
        )
        .or_internal("binding sessions.live")?
        .all()
        .await
        .or_internal("sessions.live")?
        .results()
        .or_internal("sessions.live rows")
    }
}

/// How `start` finds the session's user.
pub enum UserRef<'a> {
    /// A user whose password was just verified against `password_hash`: the session starts only
    /// if that is still the stored hash (a concurrent password change wins).
    Verified { id: i64, password_hash: &'a str },
    /// The user being inserted in the same batch (register), by its unique email.
    Email(&'a str),
}

/// The configured session rules the SQL applies.
pub struct Rules {
    /// Absolute session lifetime (`REFRESH_SESSION_MAX_LIFETIME_SECS`).
    pub max_lifetime_secs: i64,
}

impl Rules {
    /// Sessions created at or before this instant have outlived their absolute lifetime.
    pub(super) fn sessions_born_after(&self, now: i64) -> i64 {
        now.saturating_sub(self.max_lifetime_secs)
    }
}
