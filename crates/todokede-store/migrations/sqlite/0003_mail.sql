-- What intake noticed about a submission (for analysts), and the outbound mail queue.
ALTER TABLE reports ADD COLUMN intake_notes TEXT NOT NULL DEFAULT '[]';

-- Mail to reporters is queued in the same database and sent by a worker, so an SMTP outage
-- delays mail but never loses it. message_id (without <>) threads replies back to the report.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    message_id TEXT NOT NULL UNIQUE,
    from_addr TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    raw BLOB NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(sent_at, id);
