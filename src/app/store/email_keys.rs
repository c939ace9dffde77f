//! The `email_keys` table in D1: keys mailed to verify an address or confirm a new one, stored
//! as hashes, each consumed at most once.

use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement};

use crate::app::support::{first_row, internal, OrInternal};
use crate::domain::recovery::KeyPurpose;
use crate::domain::user::User;
use crate::error::ApiError;

pub struct EmailKeys<'a> {
    db: &'a D1Database,
}

/// A key that was just consumed, and what it did.
#[derive(Deserialize)]
pub struct Confirmed {
    pub user_id: i64,
    pub purpose: String,
    /// The address the key was mailed to, now the user's verified address.
    pub email: String,
}

/// What a confirmed key did: the key, the address it replaced, and the user as it is now.
pub struct Applied {
    pub confirmed: Confirmed,
    pub old_email: String,
    pub user: User,
}

/// Why a consumed key changed nothing.
pub enum ConfirmError {
    /// Its address became another account's meanwhile.
    EmailTaken,
    Failed(ApiError),
}

impl<'a> EmailKeys<'a> {
    pub fn new(db: &'a D1Database) -> EmailKeys<'a> {
        EmailKeys { db }
    }

    /// Stores a new key (its hash) for `email`, replacing the user's earlier keys of the same
    /// purpose: only the latest link works.
    pub async fn issue(
        &self,
        user_id: i64,
        purpose: KeyPurpose,
        email: &str,
        key_hash: &str,
        expires_at: i64,
    ) -> Result<(), ApiError> {
        let statements = vec![
            query!(
                self.db,
                "DELETE FROM email_keys WHERE user_id = ?1 AND purpose = ?2 AND used_by IS NULL",
                user_id,
                purpose.as_str()
            )
            .or_internal("binding email_keys.replace")?,
            query!(
                self.db,
                "INSERT INTO email_keys (key_hash, user_id, purpose, email, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                key_hash,
                user_id,
                purpose.as_str(),
                email,
                expires_at,
            )
            .or_internal("binding email_keys.insert")?,
        ];
        self.db.batch(statements).await.or_internal("email_keys.issue")?;
        Ok(())
    }

    /// `registration/resend-email/`'s writes, for any address: a new verification key (its hash)
    /// replaces the earlier ones only where `email` is an active, unverified account's and the
    /// address's budget (counted just before, in the same batch) allows it. The second statement
    /// returns a row when the key was stored.
    pub fn reissue_verification(
        &self,
        email: &str,
        key_hash: &str,
        expires_at: i64,
        budget: i64,
    ) -> Result<Vec<D1PreparedStatement>, ApiError> {
        const ELIGIBLE: &str = "SELECT id FROM users WHERE email = ?1 AND is_active = 1 AND account_status = 'active'
                                  AND email_verified = 0
                                  AND (SELECT sent FROM mail_quota WHERE address_hash = ?2) <= ?3";
        let budget_key = crate::domain::recovery::key_hash(email);
        Ok(vec![
            query!(
                self.db,
                &format!(
                    "DELETE FROM email_keys WHERE purpose = 'verify' AND used_by IS NULL AND user_id IN ({ELIGIBLE})"
                ),
                email,
                &budget_key,
                budget,
            )
            .or_internal("binding email_keys.reissue replace")?,
            query!(
                self.db,
                &format!(
                    "INSERT INTO email_keys (key_hash, user_id, purpose, email, expires_at)
                     SELECT ?4, id, 'verify', ?1, ?5 FROM ({ELIGIBLE}) RETURNING user_id"
                ),
                email,
                &budget_key,
                budget,
                key_hash,
                expires_at,
            )
            .or_internal("binding email_keys.reissue insert")?,
        ])
    }

    /// Forgets the user's pending email changes where the stored hash is `password` (batch it
    /// after the password write it depends on): whoever asked for a change with the old password
    /// cannot complete it after the password was changed or reset.
    pub fn drop_pending_changes(&self, user_id: i64, password: &str) -> Result<D1PreparedStatement, ApiError> {
        query!(
            self.db,
            "DELETE FROM email_keys WHERE user_id = ?1 AND purpose = 'change' AND used_by IS NULL
               AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password = ?2)",
            user_id,
            password,
        )
        .or_internal("binding email_keys.drop_pending_changes")
    }

    /// Consumes the key with this hash, if it still works (unused, unexpired, its user active and,
    /// for a verification, the address still the user's), and applies it, in one transaction:
    /// the address becomes the user's and verified. Also returns the address it replaced and the
    /// user as updated. `marker` (random) names this consumption, so the update reads this key
    /// and no other.
    pub async fn confirm(&self, key_hash: &str, now: i64, marker: &str) -> Result<Option<Applied>, ConfirmError> {
        #[derive(Deserialize)]
        struct Before {
            email: String,
        }
        let statements = || -> Result<Vec<D1PreparedStatement>, ApiError> {
            Ok(vec![
                query!(
                    self.db,
                    "SELECT u.email FROM email_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?1",
                    key_hash
                )
                .or_internal("binding email_keys.before")?,
                query!(
                    self.db,
                    "UPDATE email_keys SET used_by = ?3
                      WHERE key_hash = ?1 AND used_by IS NULL AND expires_at > ?2
                        AND EXISTS (SELECT 1 FROM users u WHERE u.id = email_keys.user_id AND u.is_active = 1
                                      AND (email_keys.purpose = 'change' OR u.email = email_keys.email))
                     RETURNING user_id, purpose, email",
                    key_hash,
                    now,
                    marker,
                )
                .or_internal("binding email_keys.consume")?,
                query!(
                    self.db,
                    "UPDATE users SET email = (SELECT email FROM email_keys WHERE used_by = ?1), email_verified = 1
                      WHERE id = (SELECT user_id FROM email_keys WHERE used_by = ?1)
                     RETURNING *",
                    marker,
                )
                .or_internal("binding users.verify_email")?,
            ])
        };
        let results = match self.db.batch(statements().map_err(ConfirmError::Failed)?).await {
            Ok(results) => results,
            Err(e) if e.to_string().contains("UNIQUE constraint failed: users.email") => {
                return Err(ConfirmError::EmailTaken)
            }
            Err(e) => return Err(ConfirmError::Failed(internal("email_keys.confirm", e))),
        };
        let before = first_row::<Before>(&results, 0).map_err(ConfirmError::Failed)?;
        let confirmed = first_row::<Confirmed>(&results, 1).map_err(ConfirmError::Failed)?;
        let user = first_row::<User>(&results, 2).map_err(ConfirmError::Failed)?;
        Ok(match (confirmed, before, user) {
            (Some(confirmed), Some(before), Some(user)) => Some(Applied { confirmed, old_email: before.email, user }),
            _ => None,
        })
    }
}
