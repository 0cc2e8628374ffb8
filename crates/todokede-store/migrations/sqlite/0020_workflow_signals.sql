-- no-transaction
-- Workflow signals (issue 15 item 9): the timeline records assignments, classifications and
-- links too (kinds 'assign', 'classify', 'link'; the assignee in target_user_id, the other
-- report in other_report_id), and a report remembers when the reporter answered last without
-- an analyst having acted since (reports.answered_at; NULL: nothing waits for an analyst).
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt as SQLite's manual
-- prescribes (foreign keys off outside a transaction, new table, copy, drop, rename, indexes,
-- check), so attachments.timeline_id keeps pointing at "timeline". Hence no-transaction.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE timeline_new (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    kind TEXT NOT NULL CHECK (kind IN ('state', 'follow_up', 'note', 'reply', 'assign', 'classify', 'link')),
    body TEXT,
    from_state TEXT,
    to_state TEXT,
    user_id INTEGER REFERENCES users(id),
    target_user_id INTEGER REFERENCES users(id),
    other_report_id INTEGER REFERENCES reports(id),
    at TEXT NOT NULL
);
INSERT INTO timeline_new (id, report_id, kind, body, from_state, to_state, user_id, at)
    SELECT id, report_id, kind, body, from_state, to_state, user_id, at FROM timeline;
DROP TABLE timeline;
ALTER TABLE timeline_new RENAME TO timeline;
CREATE INDEX timeline_report ON timeline(report_id, id);
ALTER TABLE reports ADD COLUMN answered_at TEXT;
CREATE INDEX reports_answered ON reports(answered_at) WHERE answered_at IS NOT NULL;
COMMIT;
PRAGMA foreign_keys = ON;
