-- Account recovery and verified email (issue 12).

-- Whether the account's address was proven by a mailed link. Accounts that existed before start
-- unverified; with REQUIRE_VERIFIED_EMAIL on they verify through registration/resend-email/.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;

-- Keys mailed to verify an address or confirm a new one: only the SHA-256 of each key is stored.
-- `email` is the address the key was mailed to; `used_by` marks the request that consumed it.
CREATE TABLE email_keys (
    key_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify', 'change')),
    email TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_by TEXT
);
CREATE INDEX email_keys_user ON email_keys (user_id, purpose);
CREATE UNIQUE INDEX email_keys_used_by ON email_keys (used_by);

-- Link mails per recipient per hour (EMAIL_RATE_LIMIT_PER_HOUR), keyed by the SHA-256 of the
-- address: addresses typed into password/reset/ that belong to nobody are not kept in clear.
CREATE TABLE mail_quota (
    address_hash TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    sent INTEGER NOT NULL
);
