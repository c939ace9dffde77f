-- Security operations (issue 15): the audit trail, and the indexes the scheduled prune walks.

-- Every authentication event: who (user_id; NULL for a login with an unknown address), who acted
-- when it was not the user (actor_id: a staff member through the admin API), what (type), how it
-- ended (outcome), from where (ip, user_agent) and in which session. `detail` is a JSON object of
-- non-secret facts (a reason, the fields an admin changed); never a password, token or key.
-- `occurred_at` is Unix seconds. Rows go after EVENT_RETENTION_DAYS (the scheduled prune).
CREATE TABLE auth_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at INTEGER NOT NULL,
    user_id     INTEGER,
    actor_id    INTEGER,
    type        TEXT    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('success', 'failure')),
    session_id  TEXT,
    ip          TEXT,
    user_agent  TEXT,
    detail      TEXT
);
-- A user's events newest first (events/, admin/events/?user=), and the prune by age.
CREATE INDEX auth_events_by_user ON auth_events (user_id, id);
CREATE INDEX auth_events_by_age ON auth_events (occurred_at);

-- The prune deletes by age: each table's expiry, indexed, so a bounded batch never scans.
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE INDEX sessions_by_last_use ON sessions (last_used_at);
CREATE INDEX login_failures_by_age ON login_failures (last_failure_at);
CREATE INDEX email_keys_by_expiry ON email_keys (expires_at);
CREATE INDEX mail_quota_by_window ON mail_quota (window_start);
