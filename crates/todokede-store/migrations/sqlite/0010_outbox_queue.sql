-- The outbox as a queue: a worker claims a mail with a lease (claimed_until), so several
-- processes never send one mail twice; a failure schedules the next try (next_attempt_at,
-- exponential back-off with jitter); after the configured time a mail is marked failed
-- (failed_at) — shown to admins and counted, never dropped silently.
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN failed_at TEXT;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox(id) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_by_report ON outbox(report_id);
