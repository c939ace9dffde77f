-- Sessions (token families) and the refresh tokens issued in them, the source of truth for
-- rotation, reuse detection and revocation (KV holds a fast-path copy of dead jtis only).
-- Times are Unix seconds.
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,                 -- opaque, 32 hex; the tokens' `sid` claim
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    user_agent   TEXT,
    revoked_at   INTEGER                              -- NULL while the session lives
);
CREATE INDEX sessions_by_user ON sessions (user_id, revoked_at);

CREATE TABLE refresh_tokens (
    jti                   TEXT    PRIMARY KEY,
    session_id            TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    parent_jti            TEXT,                       -- the token this one replaced
    issued_at             INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER,                    -- set once, by the refresh that consumed it
    successor_jti         TEXT,                       -- what that refresh minted
    successor_issued_at   INTEGER,
    successor_expires_at  INTEGER,
    revoked_at            INTEGER
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Failed logins per email address (known or not, so the answer reveals nothing), for the
-- per-account back-off. A row is forgotten on success or after a quiet window.
CREATE TABLE login_failures (
    email           TEXT    PRIMARY KEY COLLATE NOCASE,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    blocked_until   INTEGER NOT NULL DEFAULT 0
);
