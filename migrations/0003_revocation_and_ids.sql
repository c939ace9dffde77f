-- Revocation that covers every token, sid or not (tokens minted by Django carry none): a token
-- whose `iat` is before `tokens_valid_after` (Unix seconds) is dead. Logout-all, change-password
-- and every later "end all sessions" move it to the current second.
ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER NOT NULL DEFAULT 0;

-- A session kept alive across such a cut-off (change-password keeps the caller's own session):
-- it holds the cut-off it survived, so its older tokens stay valid until the next cut-off.
ALTER TABLE sessions ADD COLUMN survived_cutoff INTEGER;

-- Ids that cannot collide with Django's while both systems create users: edge-auth assigns ids
-- from USER_ID_START (default 1,000,000,000) up, and AUTOINCREMENT continues after this sequence
-- value for any row inserted without an id. `import-django` keeps Django's ids below it.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'users', 999999999 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users');
UPDATE sqlite_sequence SET seq = 999999999 WHERE name = 'users' AND seq < 999999999;

-- `login_failures` now keys the back-off by account (`email`) or by trusted device
-- (`device:<nonce>`, OWASP's device-cookie pattern); the column keeps its name.
