-- The spine: reports, their raw input and attachments (content-addressed blobs), dedup keys,
-- timeline, users, audit log, analysis results and the analysis job queue.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('analyst', 'admin')),
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

-- Content-addressed bytes: raw submissions and attachments. Never stored under a submitter's name.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    bytes BLOB NOT NULL
);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    tracking_number TEXT NOT NULL UNIQUE,
    secret_hash BLOB NOT NULL,
    form TEXT NOT NULL,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at TEXT NOT NULL,
    reporter_kind TEXT,
    discovered_on TEXT,
    damage_status TEXT NOT NULL,
    description TEXT NOT NULL,
    content_json TEXT NOT NULL,
    assignee INTEGER REFERENCES users(id),
    raw_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    raw_content_type TEXT NOT NULL
);
CREATE INDEX reports_state ON reports(state, received_at);
CREATE INDEX reports_received ON reports(received_at);

CREATE TABLE timeline (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    kind TEXT NOT NULL CHECK (kind IN ('state', 'follow_up', 'note', 'reply')),
    body TEXT,
    from_state TEXT,
    to_state TEXT,
    user_id INTEGER REFERENCES users(id),
    at TEXT NOT NULL
);
CREATE INDEX timeline_report ON timeline(report_id, id);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    timeline_id INTEGER REFERENCES timeline(id),
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX attachments_report ON attachments(report_id);

-- One row per delivery key (Idempotency-Key, Message-ID, content hash). Claimed first inside
-- the intake transaction, so a racing duplicate waits for, then finds, the winner.
CREATE TABLE dedup_keys (
    key TEXT PRIMARY KEY,
    report_id INTEGER REFERENCES reports(id),
    request_sha256 TEXT NOT NULL,
    response_secret TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE analyses (
    report_id INTEGER PRIMARY KEY REFERENCES reports(id),
    analysed_at TEXT NOT NULL,
    analyser_version TEXT NOT NULL,
    result_json TEXT NOT NULL
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    created_at TEXT NOT NULL,
    done_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX jobs_pending ON jobs(done_at, id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id),
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
