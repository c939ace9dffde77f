//! Revoking sessions in D1, and what died with them (for the KV blacklist and for Django).

use serde::Deserialize;
use worker::{query, D1PreparedStatement, D1Result};

use crate::app::store::sessions::Sessions;
use crate::app::store::{int, statement, text};
use crate::app::support::{first_row, OrInternal};
use crate::domain::tokens::TokenClaims;
use crate::error::ApiError;

/// A refresh token that died: its KV blacklist entry must live until `expires_at`.
#[derive(Deserialize)]
pub struct DeadToken {
    pub jti: String,
    pub expires_at: i64,
    pub session_id: String,
    /// When a refresh consumed it (Django was told then, as `rotated`).
    pub used_at: Option<i64>,
}

/// What a revocation ended: the sessions that were live, and every refresh token that died
/// with them.
#[derive(Default)]
pub struct Revoked {
    pub sessions: Vec<String>,
    pub tokens: Vec<DeadToken>,
}

/// Where a refresh token named by Django was recorded here.
pub enum Recorded {
    /// In this session of its user.
    In(String),
    /// Nowhere: minted by Django and never presented here.
    Never,
    /// Nowhere, and its user does not exist here (yet).
    NoSuchUser,
}

/// Which sessions `revoke` ends.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    /// One session, if it is the user's.
    Session { sid: &'a str, user_id: i64 },
    /// Every session of the user except `keep` (all when `None`).
    AllBut { keep: Option<&'a str>, user_id: i64 },
}

impl Scope<'_> {
    pub fn user_id(&self) -> i64 {
        match *self {
            Scope::Session { user_id, .. } | Scope::AllBut { user_id, .. } => user_id,
        }
    }
}

impl Sessions<'_> {
    /// Revokes the sessions `scope` selects. Returns those that were live, and every refresh
    /// token that died with them.
    pub async fn revoke(&self, scope: Scope<'_>, now: i64) -> Result<Revoked, ApiError> {
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
                     RETURNING jti, expires_at, session_id, used_at"
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
                     RETURNING jti, expires_at, session_id, used_at"
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
    pub fn revoked(results: &[D1Result], first: usize) -> Result<Revoked, ApiError> {
        let sessions: Vec<serde_json::Value> = rows(results, first)?;
        Ok(Revoked {
            sessions: sessions.iter().filter_map(|row| Some(row.get("id")?.as_str()?.to_owned())).collect(),
            tokens: rows(results, first + 1)?,
        })
    }

    /// Statements that mark one refresh token of `user_id` revoked (`token.revoked` from Django)
    /// and say where it was recorded and whether the user exists here (read them with
    /// `token_revoked`).
    pub fn revoke_token(&self, jti: &str, user_id: i64, now: i64) -> Result<Vec<D1PreparedStatement>, ApiError> {
        const OF_USER: &str = "session_id IN (SELECT id FROM sessions WHERE user_id = ?2)";
        Ok(vec![
            statement(
                self.db,
                &format!(
                    "UPDATE refresh_tokens SET revoked_at = ?3 WHERE jti = ?1 AND revoked_at IS NULL AND {OF_USER}"
                ),
                &[text(jti), int(user_id), int(now)],
            )?,
            statement(
                self.db,
                &format!("SELECT session_id FROM refresh_tokens WHERE jti = ?1 AND {OF_USER}"),
                &[text(jti), int(user_id)],
            )?,
            statement(self.db, "SELECT id FROM users WHERE id = ?1", &[int(user_id)])?,
        ])
    }

    /// Reads `revoke_token`'s results, starting at `first` in a batch's results.
    pub fn token_revoked(results: &[D1Result], first: usize) -> Result<Recorded, ApiError> {
        // Rows read as JSON values: a struct of its own costs 1 KB of wasm in deserialisers.
        let session = first_row::<serde_json::Value>(results, first + 1)?;
        Ok(match session.as_ref().and_then(|row| row["session_id"].as_str()) {
            Some(session) => Recorded::In(session.to_owned()),
            None if first_row::<serde_json::Value>(results, first + 2)?.is_some() => Recorded::Never,
            None => Recorded::NoSuchUser,
        })
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
}

/// The rows of the `index`-th result of a batch (none if the batch was shorter).
fn rows<T: serde::de::DeserializeOwned>(results: &[D1Result], index: usize) -> Result<Vec<T>, ApiError> {
    match results.get(index) {
        Some(result) => result.results().or_internal("sessions.revoke rows"),
        None => Ok(Vec::new()),
    }
}
