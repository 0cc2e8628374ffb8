-- SQLite compares times as text. sqlx wrote RFC 3339 with the fraction's trailing zeros dropped
-- and the caller's offset kept, so "…:05Z" sorted after "…:05.5Z" and a report received at
-- 08:00+09:00 after one received at 00:00Z of the same day. Every time is now written as
-- fixed-width UTC with microseconds ("2019-07-01T03:00:00.123456Z", `dialect::ts`); this
-- rewrites the stored ones the same way (SQLite's date functions read both forms; they keep
-- milliseconds, which is all the old order could tell apart within a second anyway).
UPDATE users SET created_at = strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z';
UPDATE reports SET received_at = strftime('%Y-%m-%dT%H:%M:%f', received_at) || '000Z';
UPDATE timeline SET at = strftime('%Y-%m-%dT%H:%M:%f', at) || '000Z';
UPDATE dedup_keys SET created_at = strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z';
UPDATE analyses SET analysed_at = strftime('%Y-%m-%dT%H:%M:%f', analysed_at) || '000Z';
UPDATE jobs SET created_at = strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z',
    done_at = strftime('%Y-%m-%dT%H:%M:%f', done_at) || '000Z',
    claimed_until = strftime('%Y-%m-%dT%H:%M:%f', claimed_until) || '000Z';
UPDATE audit_log SET at = strftime('%Y-%m-%dT%H:%M:%f', at) || '000Z';
UPDATE outbox SET created_at = strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z',
    sent_at = strftime('%Y-%m-%dT%H:%M:%f', sent_at) || '000Z',
    claimed_until = strftime('%Y-%m-%dT%H:%M:%f', claimed_until) || '000Z',
    next_attempt_at = strftime('%Y-%m-%dT%H:%M:%f', next_attempt_at) || '000Z',
    failed_at = strftime('%Y-%m-%dT%H:%M:%f', failed_at) || '000Z';
UPDATE classifications SET confirmed_at = strftime('%Y-%m-%dT%H:%M:%f', confirmed_at) || '000Z';
UPDATE classification_overrides SET at = strftime('%Y-%m-%dT%H:%M:%f', at) || '000Z';
UPDATE sessions SET created_at = strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z',
    expires_at = strftime('%Y-%m-%dT%H:%M:%f', expires_at) || '000Z';
UPDATE report_links SET at = strftime('%Y-%m-%dT%H:%M:%f', at) || '000Z';
UPDATE publications SET created_at = strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z',
    approved_at = strftime('%Y-%m-%dT%H:%M:%f', approved_at) || '000Z';
UPDATE rate_limits SET expires_at = strftime('%Y-%m-%dT%H:%M:%f', expires_at) || '000Z';
