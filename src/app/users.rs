//! The `users` table in D1. SQL lives here, beside the code that runs it.

use worker::{query, D1Database};

use crate::app::OrInternal;
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

    pub async fn by_email(&self, email: &str) -> Result<Option<User>, ApiError> {
        query!(self.db, "SELECT * FROM users WHERE email = ?1", email)
            .or_internal("binding users.by_email")?
            .first::<User>(None)
            .await
            .or_internal("users.by_email")
    }

    pub async fn by_id(&self, id: i64) -> Result<Option<User>, ApiError> {
        query!(self.db, "SELECT * FROM users WHERE id = ?1", id)
            .or_internal("binding users.by_id")?
            .first::<User>(None)
            .await
            .or_internal("users.by_id")
    }

    /// Creates the user in one statement: it either exists whole afterwards or not at all.
    pub async fn insert(
        &self,
        registration: &Registration,
        uuid: &str,
        password_hash: &str,
        date_joined: &str,
    ) -> Result<User, InsertError> {
        let statement = query!(
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
        match statement.first::<User>(None).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(InsertError::Failed(ApiError::Internal)),
            Err(e) if e.to_string().contains("UNIQUE constraint failed: users.email") => Err(InsertError::EmailTaken),
            Err(e) => Err(InsertError::Failed(Err::<(), _>(e).or_internal("users.insert").unwrap_err())),
        }
    }

    /// Records a successful login, and the re-hashed password when the work factor has grown.
    pub async fn record_login(&self, id: i64, at: &str, new_hash: Option<&str>) -> Result<(), ApiError> {
        query!(
            self.db,
            "UPDATE users SET last_login = ?2, password = COALESCE(?3, password) WHERE id = ?1",
            id,
            at,
            new_hash,
        )
        .or_internal("binding users.record_login")?
        .run()
        .await
        .or_internal("users.record_login")?;
        Ok(())
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
