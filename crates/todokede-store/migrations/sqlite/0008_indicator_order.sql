-- Reports mentioning a value, newest first, straight from the index (a busy scanner's IP is
-- in many reports; the first page must not sort them all).
CREATE INDEX report_indicators_value_report ON report_indicators(value, report_id);
