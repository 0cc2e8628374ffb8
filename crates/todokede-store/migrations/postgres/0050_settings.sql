-- Operator settings the service reads at run time (the publication's contact points, for
-- one): one value per dotted key; every change is in the audit log.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by BIGINT REFERENCES users(id),
    updated_at TIMESTAMPTZ NOT NULL
);
