//! The `users` table in D1. SQL lives here, beside the code that runs it.

use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::{query, D1Database, D1PreparedStatement};

use crate::app::store::{int, statement, text};
use crate::app::support::{first_row, internal, OrInternal};
use crate::domain::admin::AdminChanges;
use crate::domain::pagination::Page;
use crate::domain::sync::OPTIONAL_USER_KEYS;
use crate::domain::user::{Registration, User};
use crate::error::ApiError;

/// The columns `Users::upsert` writes, in the order of its bound values.
const UPSERT_COLUMNS: [&str; 17] = [
    "id",
    "uuid",
    "email",
    "password",
    "first_name",
    "last_name",
    "phone_number",
    "phone_number_verified",
    "timezone",
    "is_practitioner",
    "account_status",
    "last_login",
    "date_joined",
    "is_active",
    "is_staff",
    "is_superuser",
    "email_verified",
];

pub struct Users<'a> {
    db: &'a D1Database,
}

/// The user a token names, and whether the token was revoked (its session ended, or it was
/// issued before the user's last cut-off).
pub struct TokenUser {
    pub user: User,
    pub revoked: bool,
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

    /// The user an access token names, and in the same read whether the token still stands:
    /// its session lives (`None` for tokens without a session of ours, e.g. minted by simplejwt),
    /// and it was issued after the user's last cut-off. Tokens without a session die when issued
    /// in the cut-off's own second too (they may predate it); a session's tokens of that second
    /// are its own (sessions the cut-off ended are revoked anyway), and those of the session that
    /// survived it stay valid.
    pub async fn by_id_for_token(
        &self,
        id: i64,
        sid: Option<&str>,
        issued_at: i64,
    ) -> Result<Option<TokenUser>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            #[serde(flatten)]
            user: User,
            session_live: Option<i64>,
            fresh: i64,
        }
        let row = query!(
            self.db,
            "SELECT u.*,
                    CASE WHEN ?2 IS NULL THEN NULL ELSE s.id IS NOT NULL AND s.revoked_at IS NULL END AS session_live,
                    CASE WHEN ?2 IS NULL THEN u.tokens_valid_after = 0 OR ?3 > u.tokens_valid_after
                         ELSE ?3 >= u.tokens_valid_after OR s.survived_cutoff IS u.tokens_valid_after
                    END AS fresh
               FROM users u LEFT JOIN sessions s ON s.id = ?2 AND s.user_id = u.id
              WHERE u.id = ?1",
            id,
            sid,
            issued_at,
        )
        .or_internal("binding users.by_id_for_token")?
        .first::<Row>(None)
        .await
        .or_internal("users.by_id_for_token")?;
        Ok(row.map(|row| TokenUser { user: row.user, revoked: row.session_live == Some(0) || row.fresh == 0 }))
    }

    pub async fn by_id(&self, id: i64) -> Result<Option<User>, ApiError> {
        query!(self.db, "SELECT * FROM users WHERE id = ?1", id)
            .or_internal("binding users.by_id")?
            .first::<User>(None)
            .await
            .or_internal("users.by_id")
    }

    /// Marks the address verified where the stored hash is `password` (batch it after the
    /// password write it depends on: a reset link proves the mailbox).
    pub fn mark_verified(&self, id: i64, password: &str) -> Result<D1PreparedStatement, ApiError> {
        query!(self.db, "UPDATE users SET email_verified = 1 WHERE id = ?1 AND password = ?2", id, password)
            .or_internal("binding users.mark_verified")
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
    /// The new user's id is the next one from `id_start` up (`USER_ID_START`): ids below it belong
    /// to Django, so users created on both sides while both run never share an id.
    pub async fn insert(
        &self,
        registration: &Registration,
        uuid: &str,
        password_hash: &str,
        date_joined: &str,
        id_start: i64,
        then: Vec<D1PreparedStatement>,
    ) -> Result<User, InsertError> {
        let insert = query!(
            self.db,
            "INSERT INTO users (id, uuid, email, password, first_name, last_name, phone_number, timezone, date_joined)
             VALUES ((SELECT MAX(COALESCE(MAX(id), 0) + 1, ?9) FROM users), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             RETURNING *",
            uuid,
            &registration.email,
            password_hash,
            &registration.first_name,
            &registration.last_name,
            &registration.phone_number,
            &registration.timezone,
            date_joined,
            id_start,
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

    /// Inserts a user Django has (lazy migration), given as its PROTOCOL.md record (`record`, JSON,
    /// one bind), with its id, hash and profile, unless that id or that address exists meanwhile;
    /// then reads the user stored for the address, in the same transaction: whichever row won is
    /// the one to log in.
    pub async fn import(&self, record: &str, email: &str) -> Result<Option<User>, ApiError> {
        let insert = query!(
            self.db,
            "INSERT INTO users (id, uuid, email, password, first_name, last_name, phone_number,
                                phone_number_verified, timezone, is_practitioner, account_status, last_login,
                                date_joined, is_active, is_staff, is_superuser, email_verified)
             SELECT u->>'id', u->>'uuid', u->>'email', u->>'password', u->>'first_name', u->>'last_name',
                    u->>'phone_number', u->>'phone_number_verified', u->>'timezone', u->>'is_practitioner',
                    u->>'account_status', u->>'last_login', u->>'date_joined', u->>'is_active', u->>'is_staff',
                    u->>'is_superuser', u->>'email_verified'
               FROM (SELECT json(?1) AS u)
             WHERE true ON CONFLICT DO NOTHING",
            record,
        )
        .or_internal("binding users.import")?;
        let results = self.db.batch(vec![insert, self.by_email_statement(email)?]).await.or_internal("users.import")?;
        first_row(&results, 1)
    }

    /// Records a successful login, and the re-hashed password when the work factor has grown,
    /// only where the stored hash is still `verified` (the one the password was checked against):
    /// a password changed meanwhile is never overwritten. Batch it with the session it starts.
    pub fn record_login(
        &self,
        id: i64,
        at: &str,
        verified: &str,
        new_hash: Option<&str>,
    ) -> Result<D1PreparedStatement, ApiError> {
        query!(
            self.db,
            "UPDATE users SET last_login = ?2, password = COALESCE(?4, password) WHERE id = ?1 AND password = ?3",
            id,
            at,
            verified,
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

    /// The stored password hash, read fresh.
    pub async fn password_of(&self, id: i64) -> Result<Option<String>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            password: String,
        }
        let row = query!(self.db, "SELECT password FROM users WHERE id = ?1", id)
            .or_internal("binding users.password_of")?
            .first::<Row>(None)
            .await
            .or_internal("users.password_of")?;
        Ok(row.map(|row| row.password))
    }

    /// Creates or updates a user as Django has it (`user.created` / `user.updated`), with its id.
    /// An update writes the profile, the hash, the flags, `last_login` and `date_joined`, and of
    /// the optional keys (`OPTIONAL_USER_KEYS`) only those `sent`: the others keep this side's
    /// values. Whether the address is verified is taken when sent; else it stays while the address
    /// does, and a changed address starts unverified. The cut-off is never touched. Fails with
    /// "UNIQUE constraint failed: users.email" (or `.uuid`) when another id has that email (or uuid).
    pub fn upsert(&self, user: &User, sent: &[&str]) -> Result<D1PreparedStatement, ApiError> {
        let mut sql = format!(
            "INSERT INTO users ({}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)
             ON CONFLICT (id) DO UPDATE SET ",
            UPSERT_COLUMNS.join(",")
        );
        // `email_verified` is the last column, and always assigned: every other assignment ends with a comma.
        for column in &UPSERT_COLUMNS[1..16] {
            if sent.contains(column) || !OPTIONAL_USER_KEYS.contains(column) {
                sql.push_str(&format!("{column}=excluded.{column},"));
            }
        }
        sql.push_str(if sent.contains(&"email_verified") {
            "email_verified=excluded.email_verified"
        } else {
            "email_verified=CASE WHEN users.email=excluded.email THEN users.email_verified ELSE 0 END"
        });
        let optional = |value: &Option<String>| value.as_deref().map_or(JsValue::NULL, text);
        let flag = |value: bool| int(i64::from(value));
        let values = [
            int(user.id),
            text(&user.uuid),
            text(&user.email),
            text(&user.password),
            text(&user.first_name),
            text(&user.last_name),
            optional(&user.phone_number),
            flag(user.phone_number_verified),
            text(&user.timezone),
            flag(user.is_practitioner),
            text(&user.account_status),
            optional(&user.last_login),
            text(&user.date_joined),
            flag(user.is_active),
            flag(user.is_staff),
            flag(user.is_superuser),
            flag(user.email_verified),
        ];
        statement(self.db, &sql, &values)
    }

    /// One page of users by id whose email, first name or last name matches each of `patterns`
    /// (`LIKE … ESCAPE '\'` patterns, `admin::contains_pattern`), and how many match in all:
    /// one round trip.
    pub async fn search(&self, patterns: &[String], page: &Page) -> Result<(i64, Vec<User>), ApiError> {
        let mut filter = String::from("1");
        for n in 1..=patterns.len() {
            filter.push_str(&format!(
                " AND (email LIKE ?{n} ESCAPE '\\' OR first_name LIKE ?{n} ESCAPE '\\' OR last_name LIKE ?{n} ESCAPE '\\')"
            ));
        }
        let mut values: Vec<JsValue> = patterns.iter().map(|pattern| text(pattern)).collect();
        let count = statement(self.db, &format!("SELECT COUNT(*) AS n FROM users WHERE {filter}"), &values)?;
        let (limit, offset) = (patterns.len() + 1, patterns.len() + 2);
        values.extend([int(page.limit()), int(page.offset())]);
        let sql = format!("SELECT * FROM users WHERE {filter} ORDER BY id LIMIT ?{limit} OFFSET ?{offset}");
        let results =
            self.db.batch(vec![count, statement(self.db, &sql, &values)?]).await.or_internal("users.search")?;
        // Read as a JSON value: a struct of its own costs wasm in deserialisers.
        let count = first_row::<serde_json::Value>(&results, 0)?.and_then(|row| row["n"].as_i64()).unwrap_or(0);
        let users = match results.get(1) {
            Some(result) => result.results::<User>().or_internal("users.search rows")?,
            None => Vec::new(),
        };
        Ok((count, users))
    }

    /// Writes the fields a staff member changed (only those sent: a concurrent `PATCH me/` of
    /// another field stands) and returns the row as it is then; nothing when the user is gone.
    pub fn admin_update(&self, id: i64, changes: &AdminChanges) -> Result<D1PreparedStatement, ApiError> {
        let flag = |value: Option<bool>| value.map_or(JsValue::NULL, |value| int(i64::from(value)));
        let optional = |value: &Option<String>| value.as_deref().map_or(JsValue::NULL, text);
        statement(
            self.db,
            "UPDATE users SET is_active = COALESCE(?2, is_active), account_status = COALESCE(?3, account_status),
                              first_name = COALESCE(?4, first_name), last_name = COALESCE(?5, last_name),
                              is_staff = COALESCE(?6, is_staff)
              WHERE id = ?1 RETURNING *",
            &[
                int(id),
                flag(changes.is_active),
                optional(&changes.account_status),
                optional(&changes.first_name),
                optional(&changes.last_name),
                flag(changes.is_staff),
            ],
        )
    }

    /// Sets the hash, whatever it was (`user.password_changed` from Django).
    pub fn set_password(&self, id: i64, hash: &str) -> Result<D1PreparedStatement, ApiError> {
        statement(self.db, "UPDATE users SET password = ?2 WHERE id = ?1", &[int(id), text(hash)])
    }

    /// Marks the account inactive (`user.deactivated` from Django).
    pub fn deactivate(&self, id: i64) -> Result<D1PreparedStatement, ApiError> {
        statement(self.db, "UPDATE users SET is_active = 0 WHERE id = ?1", &[int(id)])
    }

    /// Replaces the password, only where the stored hash is still `old` (compare-and-set: of two
    /// racing changes one wins). Returns the user's id when it did; batch it with the revocations,
    /// which are conditional on `new` (see `Sessions::revoke_statements`).
    pub fn replace_password(&self, id: i64, old: &str, new: &str) -> Result<D1PreparedStatement, ApiError> {
        query!(self.db, "UPDATE users SET password = ?3 WHERE id = ?1 AND password = ?2 RETURNING id", id, old, new)
            .or_internal("binding users.replace_password")
    }
}
