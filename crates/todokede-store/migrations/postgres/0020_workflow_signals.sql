-- Workflow signals (issue 15 item 9): the timeline records assignments, classifications and
-- links too (kinds 'assign', 'classify', 'link'; the assignee in target_user_id, the other
-- report in other_report_id), and a report remembers when the reporter answered last without
-- an analyst having acted since (reports.answered_at; NULL: nothing waits for an analyst).
ALTER TABLE timeline DROP CONSTRAINT timeline_kind_check;
ALTER TABLE timeline ADD CONSTRAINT timeline_kind_check
    CHECK (kind IN ('state', 'follow_up', 'note', 'reply', 'assign', 'classify', 'link'));
ALTER TABLE timeline ADD COLUMN target_user_id BIGINT REFERENCES users(id);
ALTER TABLE timeline ADD COLUMN other_report_id BIGINT REFERENCES reports(id);
ALTER TABLE reports ADD COLUMN answered_at TIMESTAMPTZ;
CREATE INDEX reports_answered ON reports(answered_at) WHERE answered_at IS NOT NULL;
