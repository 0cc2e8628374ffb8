-- Rate limits and lockouts shared by every process on the database: one fixed-window counter
-- per key (e.g. `login:{account}|{address}`, `submit:{address}`), counted in one atomic upsert.
-- Expired windows are deleted by the housekeeping sweep, so the table stays small.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    hits INTEGER NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX rate_limits_expiry ON rate_limits(expires_at);
