//! The `users` table in D1. SQL lives here, beside the code that runs it.

use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement};

use crate::app::{internal, OrInternal};
use crate::domain::user::{Registration, User};
use crate::error::ApiError;

pub struct Users<'a> {
    db: &'a D1Database,
}

/// Why an insert did not happen.
pub enum InsertError {
    EmailTaken,
    Failed(ApiError),
}

impl<'a> Users<'a> {
    pub fn new(db: &'a D1Database) -> Users<'a> {
        Users { db }
    }

    /// The user lookup by email, to batch with other reads.
    pub fn by_email_statement(&self, email: &str) -> Result<D1PreparedStatement, ApiError> {
        query!(self.db, "SELECT * FROM users WHERE email = ?1", email).or_internal("binding users.by_email")
    }

    /// The user an access token names, and in the same read whether its session still lives
    /// (`None` for tokens without a session, e.g. minted by simplejwt).
    pub async fn by_id_in_session(&self, id: i64, sid: Option<&str>) -> Result<Option<(User, Option<bool>)>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            #[serde(flatten)]
            user: User,
            session_live: Option<i64>,
        }
        let row = query!(
            self.db,
            "SELECT u.*,
                    CASE WHEN ?2 IS NULL THEN NULL
                         ELSE EXISTS (SELECT 1 FROM sessions s WHERE s.id = ?2 AND s.user_id = u.id AND s.revoked_at IS NULL)
                    END AS session_live
               FROM users u WHERE u.id = ?1",
            id,
            sid,
        )
        .or_internal("binding users.by_id_in_session")?
        .first::<Row>(None)
        .await
        .or_internal("users.by_id_in_session")?;
        Ok(row.map(|row| (row.user, row.session_live.map(|live| live != 0))))
    }

    pub async fn by_email(&self, email: &str) -> Result<Option<User>, ApiError> {
        query!(self.db, "SELECT * FROM users WHERE email = ?1", email)
            .or_internal("binding users.by_email")?
            .first::<User>(None)
            .await
            .or_internal("users.by_email")
    }

    /// Creates the user and runs `then` (its first session) in one transaction: afterwards the
    /// user exists whole, with its session, or nothing was written at all.
    pub async fn insert(
        &self,
        registration: &Registration,
        uuid: &str,
        password_hash: &str,
        date_joined: &str,
        then: Vec<D1PreparedStatement>,
    ) -> Result<User, InsertError> {
        let insert = query!(
            self.db,
            "INSERT INTO users (uuid, email, password, first_name, last_name, phone_number, timezone, date_joined)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             RETURNING *",
            uuid,
            &registration.email,
            password_hash,
            &registration.first_name,
            &registration.last_name,
            &registration.phone_number,
            &registration.timezone,
            date_joined,
        )
        .or_internal("binding users.insert")
        .map_err(InsertError::Failed)?;
        let mut statements = vec![insert];
        statements.extend(then);
        let results = match self.db.batch(statements).await {
            Ok(results) => results,
            Err(e) if e.to_string().contains("UNIQUE constraint failed: users.email") => {
                return Err(InsertError::EmailTaken)
            }
            Err(e) => return Err(InsertError::Failed(internal("users.insert", e))),
        };
        let created: Vec<User> = match results.first() {
            Some(result) => result.results().or_internal("users.insert rows").map_err(InsertError::Failed)?,
            None => Vec::new(),
        };
        created.into_iter().next().ok_or(InsertError::Failed(ApiError::Internal))
    }

    /// Records a successful login, and the re-hashed password when the work factor has grown
    /// (batch it with the session it starts).
    pub fn record_login(&self, id: i64, at: &str, new_hash: Option<&str>) -> Result<D1PreparedStatement, ApiError> {
        query!(
            self.db,
            "UPDATE users SET last_login = ?2, password = COALESCE(?3, password) WHERE id = ?1",
            id,
            at,
            new_hash,
        )
        .or_internal("binding users.record_login")
    }

    pub async fn save_profile(&self, user: &User) -> Result<(), ApiError> {
        query!(
            self.db,
            "UPDATE users SET first_name = ?2, last_name = ?3, phone_number = ?4, timezone = ?5 WHERE id = ?1",
            user.id,
            &user.first_name,
            &user.last_name,
            &user.phone_number,
            &user.timezone,
        )
        .or_internal("binding users.save_profile")?
        .run()
        .await
        .or_internal("users.save_profile")?;
        Ok(())
    }

    pub async fn set_password(&self, id: i64, hash: &str) -> Result<(), ApiError> {
        query!(self.db, "UPDATE users SET password = ?2 WHERE id = ?1", id, hash)
            .or_internal("binding users.set_password")?
            .run()
            .await
            .or_internal("users.set_password")?;
        Ok(())
    }
}
