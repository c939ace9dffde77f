//! Sessions and refresh tokens in D1. Every state change is one statement or one D1 batch (a
//! transaction), so a session never exists without its first token, and a refresh token is
//! consumed at most once however many requests race for it.

use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement, D1Result};

use crate::app::support::OrInternal;
use crate::domain::sessions::{Successor, TokenRecord};
use crate::domain::tokens::{TokenClaims, TokenError};
use crate::error::ApiError;

pub struct Sessions<'a> {
    db: &'a D1Database,
}

/// A refresh token that died: its KV blacklist entry must live until `expires_at`.
#[derive(Deserialize)]
pub struct DeadToken {
    pub jti: String,
    pub expires_at: i64,
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

    /// Consumes `old` and records `new` as its successor, in one transaction whose first
    /// statement is a compare-and-set: it only matches a live, unused token of a live session of
    /// an active user. `true` when this request won; `false` when the token was already used,
    /// revoked or unknown (ask `record`).
    pub async fn rotate(
        &self,
        old: &TokenClaims,
        new: &TokenClaims,
        now: i64,
        rules: &Rules,
    ) -> Result<bool, ApiError> {
        let consume = query!(
            self.db,
            "UPDATE refresh_tokens
                SET used_at = ?2, successor_jti = ?3, successor_issued_at = ?4, successor_expires_at = ?5
              WHERE jti = ?1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2
                AND EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
                             WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL
                               AND s.created_at > ?7
                               AND (?6 >= u.tokens_valid_after OR s.survived_cutoff = u.tokens_valid_after)
                               AND u.is_active = 1 AND u.account_status = 'active')
             RETURNING jti",
            &old.jti,
            now,
            &new.jti,
            new.issued_at,
            new.expires_at,
            old.issued_at,
            rules.sessions_born_after(now),
        )
        .or_internal("binding sessions.rotate")?;
        let successor = self.record_successor(old, new)?;
        let touch = query!(
            self.db,
            "UPDATE sessions SET last_used_at = ?3
              WHERE id = (SELECT session_id FROM refresh_tokens WHERE jti = ?1 AND successor_jti = ?2)",
            &old.jti,
            &new.jti,
            now,
        )
        .or_internal("binding sessions.rotate touch")?;
        let results = self.db.batch(vec![consume, successor, touch]).await.or_internal("sessions.rotate")?;
        let consumed: Vec<serde_json::Value> = match results.first() {
            Some(result) => result.results().or_internal("sessions.rotate rows")?,
            None => Vec::new(),
        };
        Ok(!consumed.is_empty())
    }

    /// Records a refresh token minted elsewhere (simplejwt; no `sid` of ours) as consumed, in a
    /// new session that its successor `new` continues. `false` when the token was recorded before,
    /// was issued before the user's last cut-off, names a session of ours that is not live, or
    /// its user cannot log in (ask `refusal` which).
    pub async fn adopt(
        &self,
        old: &TokenClaims,
        new: &TokenClaims,
        user_id: i64,
        user_agent: Option<&str>,
        now: i64,
    ) -> Result<bool, ApiError> {
        let sid = new.session_id.as_deref().unwrap_or_default();
        let session = query!(
            self.db,
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent)
             SELECT ?1, id, ?3, ?3, ?4 FROM users WHERE id = ?2 AND is_active = 1 AND account_status = 'active'
               AND (tokens_valid_after = 0 OR ?6 > tokens_valid_after)
               AND (?7 IS NULL OR EXISTS (SELECT 1 FROM sessions s WHERE s.id = ?7 AND s.user_id = ?2
                                            AND s.revoked_at IS NULL))
               AND NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE jti = ?5)",
            sid,
            user_id,
            now,
            user_agent,
            &old.jti,
            old.issued_at,
            old.session_id.as_deref(),
        )
        .or_internal("binding sessions.adopt")?;
        let consumed = query!(
            self.db,
            "INSERT INTO refresh_tokens (jti, session_id, issued_at, expires_at, used_at, successor_jti, successor_issued_at, successor_expires_at)
             SELECT ?1, id, ?2, ?3, ?4, ?5, ?6, ?7 FROM sessions WHERE id = ?8
             ON CONFLICT (jti) DO NOTHING
             RETURNING jti",
            &old.jti,
            old.issued_at,
            old.expires_at,
            now,
            &new.jti,
            new.issued_at,
            new.expires_at,
            sid,
        )
        .or_internal("binding sessions.adopt token")?;
        let successor = self.record_successor(old, new)?;
        let results = self.db.batch(vec![session, consumed, successor]).await.or_internal("sessions.adopt")?;
        let adopted: Vec<serde_json::Value> = match results.get(1) {
            Some(result) => result.results().or_internal("sessions.adopt rows")?,
            None => Vec::new(),
        };
        Ok(!adopted.is_empty())
    }

    /// Records `new` as a live token of `old`'s session, only if `old` was just consumed in its
    /// favour (the same batch's compare-and-set matched): a loser of the race records nothing.
    fn record_successor(&self, old: &TokenClaims, new: &TokenClaims) -> Result<D1PreparedStatement, ApiError> {
        query!(
            self.db,
            "INSERT INTO refresh_tokens (jti, session_id, parent_jti, issued_at, expires_at)
             SELECT successor_jti, session_id, jti, successor_issued_at, successor_expires_at
               FROM refresh_tokens WHERE jti = ?1 AND successor_jti = ?2",
            &old.jti,
            &new.jti,
        )
        .or_internal("binding sessions.record_successor")
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

    /// Revokes the sessions `scope` selects. Returns whether any was live, and every refresh
    /// token that died with them (for the KV blacklist).
    pub async fn revoke(&self, scope: Scope<'_>, now: i64) -> Result<(bool, Vec<DeadToken>), ApiError> {
        let results = self.db.batch(self.revoke_statements(scope, now, None)?).await.or_internal("sessions.revoke")?;
        Self::revoked(&results, 0)
    }

    /// The statements of `revoke`, to run in a caller's batch (first the sessions, then their
    /// tokens; read them with `revoked`). `Scope::AllBut` also moves the user's cut-off to `now`,
    /// so tokens without a session of ours (Django's) die too, and marks the kept session as
    /// having survived it. With `only_if_password`, nothing happens unless the user's stored
    /// hash is that one (the batch's own password write took effect).
    pub fn revoke_statements(
        &self,
        scope: Scope<'_>,
        now: i64,
        only_if_password: Option<&str>,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        const IF_PASSWORD: &str = "(?4 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?2 AND password = ?4))";
        let (sessions_sql, tokens_sql) = match scope {
            Scope::Session { .. } => (
                format!(
                    "UPDATE sessions SET revoked_at = ?3
                      WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL AND {IF_PASSWORD} RETURNING id"
                ),
                format!(
                    "UPDATE refresh_tokens SET revoked_at = ?3
                      WHERE session_id = ?1 AND revoked_at IS NULL AND expires_at > ?3 AND {IF_PASSWORD}
                        AND session_id IN (SELECT id FROM sessions WHERE user_id = ?2)
                     RETURNING jti, expires_at"
                ),
            ),
            Scope::AllBut { .. } => (
                format!(
                    "UPDATE sessions SET revoked_at = ?3
                      WHERE user_id = ?2 AND revoked_at IS NULL AND id IS NOT ?1 AND {IF_PASSWORD} RETURNING id"
                ),
                format!(
                    "UPDATE refresh_tokens SET revoked_at = ?3
                      WHERE revoked_at IS NULL AND expires_at > ?3 AND {IF_PASSWORD}
                        AND session_id IN (SELECT id FROM sessions WHERE user_id = ?2 AND id IS NOT ?1)
                     RETURNING jti, expires_at"
                ),
            ),
        };
        let (sid, user_id) = match scope {
            Scope::Session { sid, user_id } => (Some(sid), user_id),
            Scope::AllBut { keep, user_id } => (keep, user_id),
        };
        let bind = |sql: &str, what: &str| {
            query!(self.db, sql, sid, user_id, now, only_if_password).or_internal(&format!("binding sessions.{what}"))
        };
        let mut statements = vec![bind(&sessions_sql, "revoke")?, bind(&tokens_sql, "revoke tokens")?];
        if let Scope::AllBut { .. } = scope {
            statements.push(bind(
                &format!(
                    "UPDATE users SET tokens_valid_after = MAX(tokens_valid_after, ?3) WHERE id = ?2 AND {IF_PASSWORD}"
                ),
                "cut-off",
            )?);
            statements.push(bind(
                &format!(
                    "UPDATE sessions SET survived_cutoff = (SELECT tokens_valid_after FROM users WHERE id = ?2)
                      WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL AND {IF_PASSWORD}"
                ),
                "keep",
            )?);
        }
        Ok(statements)
    }

    /// Reads `revoke_statements`' results, starting at `first` in a batch's results.
    pub fn revoked(results: &[D1Result], first: usize) -> Result<(bool, Vec<DeadToken>), ApiError> {
        let revoked: Vec<serde_json::Value> = match results.get(first) {
            Some(result) => result.results().or_internal("sessions.revoke rows")?,
            None => Vec::new(),
        };
        let dead: Vec<DeadToken> = match results.get(first + 1) {
            Some(result) => result.results().or_internal("sessions.revoke token rows")?,
            None => Vec::new(),
        };
        Ok((!revoked.is_empty(), dead))
    }

    /// Records a refresh token minted elsewhere (no session of ours, never seen) as revoked, so
    /// that it stays dead when its KV entry is gone: in a session that is born revoked.
    pub async fn revoke_foreign(&self, token: &TokenClaims, user_id: i64, sid: &str, now: i64) -> Result<(), ApiError> {
        let session = query!(
            self.db,
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, revoked_at)
             SELECT ?1, ?2, ?3, ?3, ?3 WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE jti = ?4)",
            sid,
            user_id,
            now,
            &token.jti,
        )
        .or_internal("binding sessions.revoke_foreign")?;
        let record = query!(
            self.db,
            "INSERT INTO refresh_tokens (jti, session_id, issued_at, expires_at, revoked_at)
             SELECT ?1, id, ?3, ?4, ?5 FROM sessions WHERE id = ?2",
            &token.jti,
            sid,
            token.issued_at,
            token.expires_at,
            now,
        )
        .or_internal("binding sessions.revoke_foreign token")?;
        self.db.batch(vec![session, record]).await.or_internal("sessions.revoke_foreign")?;
        Ok(())
    }

    /// Why `adopt` refused a token for `user_id`: the user cannot use it (gone or inactive:
    /// simplejwt's `no_active_account`), or the token is dead (blacklisted).
    pub async fn refusal(&self, user_id: i64) -> Result<ApiError, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            account_ok: i64,
        }
        let row = query!(
            self.db,
            "SELECT (is_active = 1 AND account_status = 'active') AS account_ok FROM users WHERE id = ?1",
            user_id,
        )
        .or_internal("binding sessions.refusal")?
        .first::<Row>(None)
        .await
        .or_internal("sessions.refusal")?;
        Ok(match row {
            Some(row) if row.account_ok != 0 => ApiError::BadRefreshToken(TokenError::Blacklisted),
            _ => ApiError::NoActiveAccount,
        })
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

/// Which sessions `revoke` ends.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    /// One session, if it is the user's.
    Session { sid: &'a str, user_id: i64 },
    /// Every session of the user except `keep` (all when `None`).
    AllBut { keep: Option<&'a str>, user_id: i64 },
}

/// The configured session rules the SQL applies.
pub struct Rules {
    /// Absolute session lifetime (`REFRESH_SESSION_MAX_LIFETIME_SECS`).
    pub max_lifetime_secs: i64,
}

impl Rules {
    /// Sessions created at or before this instant have outlived their absolute lifetime.
    fn sessions_born_after(&self, now: i64) -> i64 {
        now.saturating_sub(self.max_lifetime_secs)
    }
}
