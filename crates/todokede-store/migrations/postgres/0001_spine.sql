-- The spine: reports, their raw input and attachments (content-addressed blobs), dedup keys,
-- timeline, users, audit log, analysis results and the analysis job queue.
CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('analyst', 'admin')),
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);

-- Content-addressed bytes: raw submissions and attachments. Never stored under a submitter's name.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    bytes BYTEA NOT NULL
);

CREATE TABLE reports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tracking_number TEXT NOT NULL UNIQUE,
    secret_hash BYTEA NOT NULL,
    form TEXT NOT NULL,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    reporter_kind TEXT,
    discovered_on DATE,
    damage_status TEXT NOT NULL,
    description TEXT NOT NULL,
    content_json TEXT NOT NULL,
    assignee BIGINT REFERENCES users(id),
    raw_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    raw_content_type TEXT NOT NULL
);
CREATE INDEX reports_state ON reports(state, received_at);
CREATE INDEX reports_received ON reports(received_at);

CREATE TABLE timeline (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id BIGINT NOT NULL REFERENCES reports(id),
    kind TEXT NOT NULL CHECK (kind IN ('state', 'follow_up', 'note', 'reply')),
    body TEXT,
    from_state TEXT,
    to_state TEXT,
    user_id BIGINT REFERENCES users(id),
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX timeline_report ON timeline(report_id, id);

CREATE TABLE attachments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id BIGINT NOT NULL REFERENCES reports(id),
    timeline_id BIGINT REFERENCES timeline(id),
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL
);
CREATE INDEX attachments_report ON attachments(report_id);

-- One row per delivery key (Idempotency-Key, Message-ID, content hash). Claimed first inside
-- the intake transaction, so a racing duplicate waits for, then finds, the winner.
CREATE TABLE dedup_keys (
    key TEXT PRIMARY KEY,
    report_id BIGINT REFERENCES reports(id),
    request_sha256 TEXT NOT NULL,
    response_secret TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE analyses (
    report_id BIGINT PRIMARY KEY REFERENCES reports(id),
    analysed_at TIMESTAMPTZ NOT NULL,
    analyser_version TEXT NOT NULL,
    result_json TEXT NOT NULL
);

CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    report_id BIGINT NOT NULL REFERENCES reports(id),
    created_at TIMESTAMPTZ NOT NULL,
    done_at TIMESTAMPTZ,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX jobs_pending ON jobs(done_at, id);

CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    user_id BIGINT REFERENCES users(id),
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
