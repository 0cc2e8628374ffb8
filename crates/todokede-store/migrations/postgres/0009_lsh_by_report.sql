-- Re-indexing a report replaces its band keys: found by report, not by key (20 per text).
CREATE INDEX lsh_bands_report ON lsh_bands(report_id);
