-- An analyst's day (issue 15): the reply templates admins keep (Japanese or English, with
-- placeholders such as {tracking_number} filled when an analyst picks one) and each analyst's
-- saved queue filters (a name and the queue's query string, only the queue's own keys).
CREATE TABLE reply_templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    language TEXT NOT NULL CHECK (language IN ('ja', 'en')),
    body TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL
);
CREATE TABLE saved_filters (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, name)
);
-- The two templates every installation starts with (the texts the reply form used to offer).
INSERT INTO reply_templates (name, language, body, updated_at) VALUES
    ('お礼と追加情報のお願い', 'ja', '{reporter_name} 様

このたびは届出（受付番号 {tracking_number}）をいただきありがとうございます。
差し支えなければ、〜についてお教えいただけますでしょうか。

届出窓口 {analyst_name}', '2026-12-04T00:00:00.000000Z'),
    ('Thanks and a question', 'en', 'Dear {reporter_name},

Thank you for your report (tracking number {tracking_number}). Could you tell us more about …?

{analyst_name}, the todokede team', '2026-12-04T00:00:00.000000Z');
