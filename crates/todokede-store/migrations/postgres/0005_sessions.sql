-- Server-side sessions: analysts after login, reporters after presenting a report's secret.
-- Only the SHA-256 of the cookie token is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('analyst', 'reporter')),
    user_id BIGINT REFERENCES users(id),
    report_id BIGINT REFERENCES reports(id),
    csrf TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
