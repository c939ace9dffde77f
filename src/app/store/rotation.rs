//! Rotating refresh tokens in D1: consume a token and record its successor in one transaction
//! whose first statement is a compare-and-set, or adopt a token minted elsewhere.

use serde::Deserialize;
use worker::{query, D1PreparedStatement};

use crate::app::store::sessions::{Rules, Sessions};
use crate::app::support::{first_row, OrInternal};
use crate::domain::tokens::{TokenClaims, TokenError};
use crate::error::ApiError;

impl Sessions<'_> {
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
        Ok(first_row::<serde_json::Value>(&results, 0)?.is_some())
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
        Ok(first_row::<serde_json::Value>(&results, 1)?.is_some())
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
}
