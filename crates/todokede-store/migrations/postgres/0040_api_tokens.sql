-- API tokens of analysts' scripts (`Authorization: Bearer tdk_…`): only the SHA-256 of the
-- token is stored (the token has 256 random bits, so a fast hash is enough); `prefix` is its
-- first characters, shown in lists so an owner can tell tokens apart. Scopes: read, write,
-- export (comma-separated keys). A token works until `expires_at` or until revoked.
CREATE TABLE api_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens(user_id, id);
