-- Analysts' handling: report links (both directions), TOTP second factor, the primary cause of
-- the latest analysis (for the queue's category filter).
CREATE TABLE report_links (
    report_a INTEGER NOT NULL REFERENCES reports(id),
    report_b INTEGER NOT NULL REFERENCES reports(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    at TEXT NOT NULL,
    PRIMARY KEY (report_a, report_b)
);
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE analyses ADD COLUMN primary_cause TEXT;
