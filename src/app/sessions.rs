//! Sessions and refresh tokens in D1. Every state change is one statement or one D1 batch (a
//! transaction), so a session never exists without its first token, and a refresh token is
//! consumed at most once however many requests race for it.

use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement};

use crate::app::OrInternal;
use crate::domain::sessions::{Successor, TokenRecord};
use crate::domain::tokens::TokenClaims;
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

    /// Statements that open session `sid` for the user identified by `user_id_sql` (a scalar
    /// subquery or `?n` bound to the id) and record its first refresh token. Run them in the
    /// same batch as whatever makes the user (register) or logs them in.
    pub fn start(
        &self,
        user_id: UserRef<'_>,
        sid: &str,
        user_agent: Option<&str>,
        first: &TokenClaims,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let session = match user_id {
            UserRef::Id(id) => query!(
                self.db,
                "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent) VALUES (?1, ?2, ?3, ?3, ?4)",
                sid,
                id,
                first.issued_at,
                user_agent,
            ),
            UserRef::Email(email) => query!(
                self.db,
                "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent)
                 SELECT ?1, id, ?3, ?3, ?4 FROM users WHERE email = ?2",
                sid,
                email,
                first.issued_at,
                user_agent,
            ),
        }
        .or_internal("binding sessions.start")?;
        let token = query!(
            self.db,
            "INSERT INTO refresh_tokens (jti, session_id, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
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
    pub async fn rotate(&self, old: &TokenClaims, new: &TokenClaims, now: i64) -> Result<bool, ApiError> {
        let consume = query!(
            self.db,
            "UPDATE refresh_tokens
                SET used_at = ?2, successor_jti = ?3, successor_issued_at = ?4, successor_expires_at = ?5
              WHERE jti = ?1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2
                AND EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
                             WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL
                               AND u.is_active = 1 AND u.account_status = 'active')
             RETURNING jti",
            &old.jti,
            now,
            &new.jti,
            new.issued_at,
            new.expires_at,
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

    /// Records a refresh token minted elsewhere (simplejwt; no `sid`) as consumed, in a new
    /// session that its successor `new` continues. `false` when the token was recorded before.
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
               AND NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE jti = ?5)",
            sid,
            user_id,
            now,
            user_agent,
            &old.jti,
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

    /// What D1 knows of a refresh token: `None` if it was never recorded.
    pub async fn record(&self, jti: &str) -> Result<Option<Account>, ApiError> {
        let row = query!(
            self.db,
            "SELECT t.jti, t.session_id, s.user_id, t.used_at, t.successor_jti, t.successor_issued_at,
                    t.successor_expires_at,
                    (t.revoked_at IS NOT NULL OR s.revoked_at IS NOT NULL) AS revoked,
                    (u.is_active = 1 AND u.account_status = 'active') AS account_ok
               FROM refresh_tokens t
               JOIN sessions s ON s.id = t.session_id
               JOIN users u ON u.id = s.user_id
              WHERE t.jti = ?1",
            jti,
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
        let (sessions_sql, tokens_sql) = match scope {
            Scope::Session { .. } => (
                "UPDATE sessions SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL RETURNING id",
                "UPDATE refresh_tokens SET revoked_at = ?3
                  WHERE session_id = ?1 AND revoked_at IS NULL AND expires_at > ?3
                    AND session_id IN (SELECT id FROM sessions WHERE user_id = ?2)
                 RETURNING jti, expires_at",
            ),
            Scope::AllBut { .. } => (
                "UPDATE sessions SET revoked_at = ?3
                  WHERE user_id = ?2 AND revoked_at IS NULL AND id IS NOT ?1 RETURNING id",
                "UPDATE refresh_tokens SET revoked_at = ?3
                  WHERE revoked_at IS NULL AND expires_at > ?3
                    AND session_id IN (SELECT id FROM sessions WHERE user_id = ?2 AND id IS NOT ?1)
                 RETURNING jti, expires_at",
            ),
        };
        let (sid, user_id) = match scope {
            Scope::Session { sid, user_id } => (Some(sid), user_id),
            Scope::AllBut { keep, user_id } => (keep, user_id),
        };
        let sessions = query!(self.db, sessions_sql, sid, user_id, now).or_internal("binding sessions.revoke")?;
        let tokens = query!(self.db, tokens_sql, sid, user_id, now).or_internal("binding sessions.revoke tokens")?;
        let results = self.db.batch(vec![sessions, tokens]).await.or_internal("sessions.revoke")?;
        let revoked: Vec<serde_json::Value> = match results.first() {
            Some(result) => result.results().or_internal("sessions.revoke rows")?,
            None => Vec::new(),
        };
        let dead: Vec<DeadToken> = match results.get(1) {
            Some(result) => result.results().or_internal("sessions.revoke token rows")?,
            None => Vec::new(),
        };
        Ok((!revoked.is_empty(), dead))
    }

    /// The user's live sessions: not revoked, with a refresh token still usable.
    pub async fn live(&self, user_id: i64, now: i64) -> Result<Vec<SessionRow>, ApiError> {
        query!(
            self.db,
            "SELECT s.id, s.created_at, s.last_used_at, s.user_agent FROM sessions s
              WHERE s.user_id = ?1 AND s.revoked_at IS NULL
                AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id AND t.used_at IS NULL
                               AND t.revoked_at IS NULL AND t.expires_at > ?2)
              ORDER BY s.last_used_at DESC, s.created_at DESC",
            user_id,
            now,
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
    Id(i64),
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
