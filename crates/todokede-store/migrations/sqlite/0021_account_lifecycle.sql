-- Account lifecycle (issue 15 items 10 and 11): a one-time password is valid until
-- users.one_time_until and must be changed at the first login (NULL: a password the user
-- chose); recovery codes (SHA-256 only, each used once); settings admins change at run time
-- (the one-time password's lifetime, the four-eyes rule of publication approval).
ALTER TABLE users ADD COLUMN one_time_until TEXT;
CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT,
    UNIQUE (user_id, code_hash)
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL
);
