-- Plaintext reporter secrets kept for retries are forgotten after the retention: the sweep
-- finds them by age.
CREATE INDEX dedup_keys_secret_age ON dedup_keys(created_at) WHERE response_secret IS NOT NULL;
