-- Users, with the columns of the DRF user model (the contract's profile fields), so that one
-- table can serve Django and edge-auth during a migration.
--
-- `email` is stored lowercased by the application and is unique without regard to case.
-- `password` holds Django's `pbkdf2_sha256$<iterations>$<salt>$<hash>`.
-- Timestamps are ISO 8601 UTC text ending in `Z`, as the API renders them.
CREATE TABLE users (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                  TEXT    NOT NULL UNIQUE,
    email                 TEXT    NOT NULL COLLATE NOCASE,
    password              TEXT    NOT NULL,
    first_name            TEXT    NOT NULL DEFAULT '',
    last_name             TEXT    NOT NULL DEFAULT '',
    phone_number          TEXT,
    phone_number_verified INTEGER NOT NULL DEFAULT 0 CHECK (phone_number_verified IN (0, 1)),
    timezone              TEXT    NOT NULL DEFAULT 'UTC',
    is_practitioner       INTEGER NOT NULL DEFAULT 0 CHECK (is_practitioner IN (0, 1)),
    account_status        TEXT    NOT NULL DEFAULT 'active',
    last_login            TEXT,
    date_joined           TEXT    NOT NULL,
    is_active             INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    is_staff              INTEGER NOT NULL DEFAULT 0 CHECK (is_staff IN (0, 1)),
    is_superuser          INTEGER NOT NULL DEFAULT 0 CHECK (is_superuser IN (0, 1))
);

-- Named so that a violation reads "UNIQUE constraint failed: users.email".
CREATE UNIQUE INDEX users_email_key ON users (email COLLATE NOCASE);
