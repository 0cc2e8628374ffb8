-- Jobs are claimed with a lease, so several workers (and processes) never run one job at once,
-- and a worker that died mid-job releases it when the lease runs out.
ALTER TABLE jobs ADD COLUMN claimed_until TIMESTAMPTZ;
