-- Account lifecycle (issue 15 items 10 and 11): a one-time password is valid until
-- users.one_time_until and must be changed at the first login (NULL: a password the user
-- chose); recovery codes (SHA-256 only, each used once); settings admins change at run time
-- (the one-time password's lifetime, the four-eyes rule of publication approval).
ALTER TABLE users ADD COLUMN one_time_until TIMESTAMPTZ;
CREATE TABLE recovery_codes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    UNIQUE (user_id, code_hash)
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by BIGINT REFERENCES users(id),
    updated_at TIMESTAMPTZ NOT NULL
);
