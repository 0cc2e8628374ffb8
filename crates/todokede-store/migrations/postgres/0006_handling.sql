-- Analysts' handling: report links (both directions), TOTP second factor, the primary cause of
-- the latest analysis (for the queue's category filter).
CREATE TABLE report_links (
    report_a BIGINT NOT NULL REFERENCES reports(id),
    report_b BIGINT NOT NULL REFERENCES reports(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (report_a, report_b)
);
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE analyses ADD COLUMN primary_cause TEXT;
