//! Second factors in D1 (`migrations/0007_second_factors.sql`): the TOTP authenticator, recovery
//! codes, the login's `mfa_token`s, passkeys and WebAuthn challenges. Every one-time thing is
//! spent by one conditional statement (`… WHERE <still unspent> RETURNING`), so two concurrent
//! requests can never both spend it.

use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use crate::app::store::{int, statement, text};
use crate::app::OrInternal;
use crate::error::ApiError;

/// How many expired rows an insert sweeps along (the tables clean themselves; indexed by expiry).
const SWEEP: i64 = 20;

/// A user's TOTP row.
#[derive(Deserialize)]
pub struct TotpRow {
    pub secret_sealed: String,
    pub confirmed_at: Option<i64>,
    pub last_used_step: i64,
}

/// What second factors a user has.
#[derive(Deserialize, Default, Clone, Copy)]
pub struct Factors {
    /// TOTP confirmed.
    pub totp: i64,
    pub passkeys: i64,
    /// Unused recovery codes.
    pub recovery_codes: i64,
}

impl Factors {
    /// Whether a login needs a second step.
    pub fn any(&self) -> bool {
        self.totp > 0 || self.passkeys > 0
    }

    /// The `methods` a login's second step takes, in the contract's order.
    pub fn methods(&self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.totp > 0 {
            methods.push("totp");
        }
        if self.recovery_codes > 0 {
            methods.push("recovery_code");
        }
        if self.passkeys > 0 {
            methods.push("webauthn");
        }
        methods
    }
}

/// An `mfa_token` that took an attempt.
#[derive(Deserialize)]
pub struct MfaTokenRow {
    pub user_id: i64,
    pub password_fingerprint: String,
}

/// A passkey row.
#[derive(Deserialize, Clone)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: i64,
    pub credential_id: String,
    pub public_key: String,
    pub sign_count: i64,
    pub transports: String,
    pub backed_up: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A WebAuthn challenge, taken (deleted) to be checked.
#[derive(Deserialize)]
pub struct ChallengeRow {
    pub purpose: String,
    pub user_id: Option<i64>,
    pub mfa_token_hash: Option<String>,
    pub expires_at: i64,
}

/// A passkey about to be stored.
pub struct NewPasskey<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub credential_id: &'a str,
    pub public_key: &'a str,
    pub algorithm: i64,
    pub sign_count: i64,
    pub transports: &'a str,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub name: &'a str,
}

pub struct SecondFactors<'a> {
    db: &'a D1Database,
}

impl<'a> SecondFactors<'a> {
    pub fn new(db: &'a D1Database) -> SecondFactors<'a> {
        SecondFactors { db }
    }

    /// Runs `insert` into `table` with a sweep of its expired rows, in one batch.
    async fn insert_sweeping(
        &self,
        insert: D1PreparedStatement,
        table: &str,
        now: i64,
        what: &str,
    ) -> Result<(), ApiError> {
        self.db.batch(vec![insert, sweep(self.db, table, now)?]).await.or_internal(what)?;
        Ok(())
    }

    /// Runs a conditional write that returns a row where it changed one: whether it did.
    async fn changed(&self, sql: &str, values: &[JsValue], what: &str) -> Result<bool, ApiError> {
        Ok(self.one::<serde_json::Value>(sql, values).get(what).await?.is_some())
    }

    fn one<T: for<'de> Deserialize<'de>>(&self, sql: &str, values: &[JsValue]) -> OneRow<T> {
        OneRow { statement: statement(self.db, sql, values), _row: std::marker::PhantomData }
    }

    /// What factors `user_id` has: one query.
    pub async fn of(&self, user_id: i64) -> Result<Factors, ApiError> {
        let sql = Self::factors_of("?1");
        Ok(self.one::<Factors>(&sql, &[int(user_id)]).get("factors.of").await?.unwrap_or_default())
    }

    /// What factors the user with `email` has (a login's lookup batch; all zero for nobody).
    pub fn of_email_statement(&self, email: &str) -> Result<D1PreparedStatement, ApiError> {
        statement(self.db, &Self::factors_of("(SELECT id FROM users WHERE email = ?1)"), &[text(email)])
    }

    fn factors_of(user: &str) -> String {
        format!(
            "SELECT (SELECT COUNT(*) FROM mfa_totp WHERE user_id = {user} AND confirmed_at IS NOT NULL) AS totp, \
             (SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = {user}) AS passkeys, \
             (SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = {user} AND used_at IS NULL) AS recovery_codes"
        )
    }

    // TOTP.

    pub async fn totp(&self, user_id: i64) -> Result<Option<TotpRow>, ApiError> {
        self.one("SELECT secret_sealed, confirmed_at, last_used_step FROM mfa_totp WHERE user_id = ?1", &[int(user_id)])
            .get("mfa_totp.get")
            .await
    }

    /// Stores a pending secret, replacing a pending one; never a confirmed one. Whether it was stored.
    pub async fn begin_totp(&self, user_id: i64, sealed: &str, now: i64) -> Result<bool, ApiError> {
        self.changed(
            "INSERT INTO mfa_totp (user_id, secret_sealed, confirmed_at, last_used_step, created_at) \
                 VALUES (?1, ?2, NULL, -1, ?3) \
                 ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, \
                 last_used_step = -1, created_at = excluded.created_at WHERE mfa_totp.confirmed_at IS NULL \
                 RETURNING user_id",
            &[int(user_id), text(sealed), int(now)],
            "mfa_totp.begin",
        )
        .await
    }

    /// Confirms the pending secret `sealed` with the code of `step`: a statement returning a row
    /// only where it was still pending with that secret (batch it first with the codes).
    pub fn confirm_totp(
        &self,
        user_id: i64,
        sealed: &str,
        step: i64,
        now: i64,
    ) -> Result<D1PreparedStatement, ApiError> {
        statement(
            self.db,
            "UPDATE mfa_totp SET confirmed_at = ?4, last_used_step = ?3 \
             WHERE user_id = ?1 AND secret_sealed = ?2 AND confirmed_at IS NULL AND last_used_step < ?3 \
             RETURNING user_id",
            &[int(user_id), text(sealed), int(step), int(now)],
        )
    }

    /// Spends the time step of a code just verified: true only for the first request to spend
    /// it (a step at or before the last one used is refused).
    pub async fn spend_totp_step(&self, user_id: i64, step: i64) -> Result<bool, ApiError> {
        self.changed(
            "UPDATE mfa_totp SET last_used_step = ?2 \
                 WHERE user_id = ?1 AND confirmed_at IS NOT NULL AND last_used_step < ?2 RETURNING user_id",
            &[int(user_id), int(step)],
            "mfa_totp.spend",
        )
        .await
    }

    pub fn delete_totp(&self, user_id: i64) -> Result<D1PreparedStatement, ApiError> {
        statement(self.db, "DELETE FROM mfa_totp WHERE user_id = ?1 RETURNING user_id", &[int(user_id)])
    }

    // Recovery codes.

    /// Statements replacing every recovery code of `user_id` with `hashes`.
    pub fn replace_recovery_codes(
        &self,
        user_id: i64,
        hashes: &[String],
        now: i64,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let mut writes = vec![self.delete_recovery_codes(user_id)?];
        for hash in hashes {
            writes.push(statement(
                self.db,
                "INSERT INTO mfa_recovery_codes (user_id, code_hash, used_at, created_at) VALUES (?1, ?2, NULL, ?3)",
                &[int(user_id), text(hash), int(now)],
            )?);
        }
        Ok(writes)
    }

    /// Deletes the recovery codes of `user_id` once no factor is left (batch it after the
    /// factor's delete): they go with the last factor, decided in the same transaction.
    pub fn delete_recovery_codes_without_factor(&self, user_id: i64) -> Result<D1PreparedStatement, ApiError> {
        statement(
            self.db,
            "DELETE FROM mfa_recovery_codes WHERE user_id = ?1 \
             AND NOT EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = ?1) \
             AND NOT EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = ?1 AND confirmed_at IS NOT NULL)",
            &[int(user_id)],
        )
    }

    fn delete_recovery_codes(&self, user_id: i64) -> Result<D1PreparedStatement, ApiError> {
        statement(self.db, "DELETE FROM mfa_recovery_codes WHERE user_id = ?1", &[int(user_id)])
    }

    /// The hashes of the unused codes of `user_id`.
    pub async fn unused_recovery_codes(&self, user_id: i64) -> Result<Vec<String>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            code_hash: String,
        }
        let rows = statement(
            self.db,
            "SELECT code_hash FROM mfa_recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
            &[int(user_id)],
        )?
        .all()
        .await
        .or_internal("mfa_recovery_codes.unused")?
        .results::<Row>()
        .or_internal("reading mfa_recovery_codes")?;
        Ok(rows.into_iter().map(|row| row.code_hash).collect())
    }

    /// Spends one code: true only for the first request to spend it.
    pub async fn spend_recovery_code(&self, user_id: i64, hash: &str, now: i64) -> Result<bool, ApiError> {
        self.changed(
            "UPDATE mfa_recovery_codes SET used_at = ?3 \
                 WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL RETURNING user_id",
            &[int(user_id), text(hash), int(now)],
            "mfa_recovery_codes.spend",
        )
        .await
    }

    // The login's mfa_tokens.

    /// Stores a new `mfa_token` (by hash), sweeping expired ones along, with `also` (the
    /// login's cleared back-off) in the same batch.
    pub async fn issue_mfa_token(
        &self,
        hash: &str,
        user_id: i64,
        fingerprint: &str,
        expires_at: i64,
        now: i64,
        also: D1PreparedStatement,
    ) -> Result<(), ApiError> {
        let insert = statement(
            self.db,
            "INSERT INTO mfa_tokens (token_hash, user_id, password_fingerprint, attempts, expires_at, created_at) \
             VALUES (?1, ?2, ?3, 0, ?4, ?5)",
            &[text(hash), int(user_id), text(fingerprint), int(expires_at), int(now)],
        )?;
        let writes = vec![insert, sweep(self.db, "mfa_tokens", now)?, also];
        self.db.batch(writes).await.or_internal("mfa_tokens.issue")?;
        Ok(())
    }

    /// Counts an attempt on a live token with attempts left: its row, or `None` (unknown,
    /// expired, spent or out of attempts).
    pub async fn attempt_mfa_token(&self, hash: &str, now: i64, max: i64) -> Result<Option<MfaTokenRow>, ApiError> {
        self.one(
            "UPDATE mfa_tokens SET attempts = attempts + 1 \
             WHERE token_hash = ?1 AND expires_at > ?2 AND attempts < ?3 \
             RETURNING user_id, password_fingerprint",
            &[text(hash), int(now), int(max)],
        )
        .get("mfa_tokens.attempt")
        .await
    }

    /// A live token with attempts left, without counting one (WebAuthn options for it).
    pub async fn peek_mfa_token(&self, hash: &str, now: i64, max: i64) -> Result<Option<MfaTokenRow>, ApiError> {
        self.one(
            "SELECT user_id, password_fingerprint FROM mfa_tokens \
             WHERE token_hash = ?1 AND expires_at > ?2 AND attempts < ?3",
            &[text(hash), int(now), int(max)],
        )
        .get("mfa_tokens.peek")
        .await
    }

    /// Spends the token: true only for the first request to spend it.
    pub async fn spend_mfa_token(&self, hash: &str) -> Result<bool, ApiError> {
        self.changed(
            "DELETE FROM mfa_tokens WHERE token_hash = ?1 RETURNING user_id",
            &[text(hash)],
            "mfa_tokens.spend",
        )
        .await
    }

    // Passkeys.

    pub fn insert_passkey(&self, new: &NewPasskey<'_>, now: i64) -> Result<D1PreparedStatement, ApiError> {
        statement(
            self.db,
            "INSERT INTO webauthn_credentials (id, user_id, credential_id, public_key, algorithm, sign_count, \
             transports, backup_eligible, backed_up, name, created_at, last_used_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL) RETURNING id",
            &[
                text(new.id),
                int(new.user_id),
                text(new.credential_id),
                text(new.public_key),
                int(new.algorithm),
                int(new.sign_count),
                text(new.transports),
                int(i64::from(new.backup_eligible)),
                int(i64::from(new.backed_up)),
                text(new.name),
                int(now),
            ],
        )
    }

    const PASSKEY_COLUMNS: &'static str =
        "id, user_id, credential_id, public_key, sign_count, transports, backed_up, name, created_at, last_used_at";

    pub async fn passkeys(&self, user_id: i64) -> Result<Vec<PasskeyRow>, ApiError> {
        let sql = format!(
            "SELECT {} FROM webauthn_credentials WHERE user_id = ?1 ORDER BY created_at, rowid",
            Self::PASSKEY_COLUMNS
        );
        statement(self.db, &sql, &[int(user_id)])?
            .all()
            .await
            .or_internal("webauthn_credentials.list")?
            .results::<PasskeyRow>()
            .or_internal("reading webauthn_credentials")
    }

    pub async fn passkey_by_credential_id(&self, credential_id: &str) -> Result<Option<PasskeyRow>, ApiError> {
        let sql = format!("SELECT {} FROM webauthn_credentials WHERE credential_id = ?1", Self::PASSKEY_COLUMNS);
        self.one(&sql, &[text(credential_id)]).get("webauthn_credentials.by_credential_id").await
    }

    pub async fn rename_passkey(&self, id: &str, user_id: i64, name: &str) -> Result<Option<PasskeyRow>, ApiError> {
        let sql = format!(
            "UPDATE webauthn_credentials SET name = ?3 WHERE id = ?1 AND user_id = ?2 RETURNING {}",
            Self::PASSKEY_COLUMNS
        );
        self.one(&sql, &[text(id), int(user_id), text(name)]).get("webauthn_credentials.rename").await
    }

    pub fn delete_passkey(&self, id: &str, user_id: i64) -> Result<D1PreparedStatement, ApiError> {
        statement(
            self.db,
            "DELETE FROM webauthn_credentials WHERE id = ?1 AND user_id = ?2 RETURNING id",
            &[text(id), int(user_id)],
        )
    }

    /// Records a use: the new counter where the stored one is still `seen` (two concurrent
    /// assertions with one counter value: one wins). Whether it was recorded.
    pub async fn use_passkey(
        &self,
        id: &str,
        seen: i64,
        counter: i64,
        backed_up: bool,
        now: i64,
    ) -> Result<bool, ApiError> {
        self.changed(
            "UPDATE webauthn_credentials SET sign_count = ?3, backed_up = ?4, last_used_at = ?5 \
                 WHERE id = ?1 AND sign_count = ?2 RETURNING id",
            &[text(id), int(seen), int(counter), int(i64::from(backed_up)), int(now)],
            "webauthn_credentials.use",
        )
        .await
    }

    // WebAuthn challenges.

    pub async fn issue_challenge(
        &self,
        hash: &str,
        purpose: &str,
        user_id: Option<i64>,
        mfa_token_hash: Option<&str>,
        expires_at: i64,
        now: i64,
    ) -> Result<(), ApiError> {
        let insert = statement(
            self.db,
            "INSERT INTO webauthn_challenges (challenge_hash, purpose, user_id, mfa_token_hash, expires_at, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                text(hash),
                text(purpose),
                user_id.map_or(JsValue::NULL, int),
                mfa_token_hash.map_or(JsValue::NULL, text),
                int(expires_at),
                int(now),
            ],
        )?;
        self.insert_sweeping(insert, "webauthn_challenges", now, "webauthn_challenges.issue").await
    }

    /// Takes (deletes) a challenge: what it was issued for, if it existed. Expiry is the
    /// caller's to check: an expired challenge is spent all the same.
    pub async fn take_challenge(&self, hash: &str) -> Result<Option<ChallengeRow>, ApiError> {
        self.one(
            "DELETE FROM webauthn_challenges WHERE challenge_hash = ?1 \
             RETURNING purpose, user_id, mfa_token_hash, expires_at",
            &[text(hash)],
        )
        .get("webauthn_challenges.take")
        .await
    }
}

/// Deletes up to `SWEEP` expired rows of `table` (which has an `expires_at` index).
fn sweep(db: &D1Database, table: &str, now: i64) -> Result<D1PreparedStatement, ApiError> {
    let sql =
        format!("DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE expires_at <= ?1 LIMIT {SWEEP})");
    statement(db, &sql, &[int(now)])
}

/// A statement whose first row is wanted.
struct OneRow<T> {
    statement: Result<D1PreparedStatement, ApiError>,
    _row: std::marker::PhantomData<T>,
}

impl<T: for<'de> Deserialize<'de>> OneRow<T> {
    async fn get(self, what: &str) -> Result<Option<T>, ApiError> {
        self.statement?.first::<T>(None).await.or_internal(what)
    }
}
