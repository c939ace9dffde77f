-- Second factors (issue 16): TOTP, recovery codes, the login's second step, and passkeys.
-- Times are Unix seconds. Nothing here is readable as a credential: the TOTP secret is sealed
-- (AES-256-GCM under a Worker secret), recovery codes, MFA tokens and challenges are SHA-256
-- hashes, and a passkey's public key is public.

-- A user's TOTP authenticator: pending until confirmed with a code (confirmed_at NULL). A code's
-- time step is consumed by moving last_used_step forward in one conditional UPDATE, so a code is
-- accepted once, even by two concurrent requests.
CREATE TABLE mfa_totp (
    user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed  TEXT    NOT NULL,
    confirmed_at   INTEGER,
    last_used_step INTEGER NOT NULL DEFAULT -1,
    created_at     INTEGER NOT NULL
);

-- Recovery codes, one row each, hashed with the user id; used_at set when spent (single-use).
CREATE TABLE mfa_recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- The login's second step: a right password for a user with a factor gives an opaque mfa_token;
-- its hash is kept here for five minutes, with the wrong tries it has had. The fingerprint of the
-- password hash it was earned with: a password changed meanwhile voids it.
CREATE TABLE mfa_tokens (
    token_hash           TEXT    PRIMARY KEY,
    user_id              INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_fingerprint TEXT    NOT NULL,
    attempts             INTEGER NOT NULL DEFAULT 0,
    expires_at           INTEGER NOT NULL,
    created_at           INTEGER NOT NULL
);
CREATE INDEX mfa_tokens_by_expiry ON mfa_tokens (expires_at);

-- Passkeys (WebAuthn credentials). credential_id and public_key are base64url; public_key is the
-- COSE_Key the authenticator gave. sign_count is the last signature counter seen.
CREATE TABLE webauthn_credentials (
    id             TEXT    PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id  TEXT    NOT NULL UNIQUE,
    public_key     TEXT    NOT NULL,
    algorithm      INTEGER NOT NULL,
    sign_count     INTEGER NOT NULL DEFAULT 0,
    transports     TEXT    NOT NULL DEFAULT '[]',
    backup_eligible INTEGER NOT NULL DEFAULT 0,
    backed_up      INTEGER NOT NULL DEFAULT 0,
    name           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER
);
CREATE INDEX webauthn_credentials_by_user ON webauthn_credentials (user_id, created_at);

-- WebAuthn challenges, by the SHA-256 of their bytes: single-use (deleted when verified) and
-- short-lived; bound to a purpose, and to a user (register, second factor) or to an mfa_token.
CREATE TABLE webauthn_challenges (
    challenge_hash TEXT    PRIMARY KEY,
    purpose        TEXT    NOT NULL CHECK (purpose IN ('register', 'login', 'mfa')),
    user_id        INTEGER,
    mfa_token_hash TEXT,
    expires_at     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX webauthn_challenges_by_expiry ON webauthn_challenges (expires_at);
