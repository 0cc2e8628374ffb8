-- Publication: every version of a period's half-year report document (edits never overwrite),
-- and which version an analyst approved.
CREATE TABLE publications (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    version INTEGER NOT NULL,
    document_json TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    change_note TEXT NOT NULL,
    approved_by INTEGER REFERENCES users(id),
    approved_at TEXT,
    UNIQUE (period, version)
);

-- Across reports: the indicators of each report's latest analysis (for correlation and
-- indicator search). `common` marks warning-listed values that are never correlated;
-- `ipv4` is the address as a number (CIDR search), `rev_domain` the reversed labels with a
-- trailing dot (a domain and its subdomains are one prefix).
CREATE TABLE report_indicators (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    common INTEGER NOT NULL DEFAULT 0,
    ipv4 INTEGER,
    rev_domain TEXT,
    PRIMARY KEY (report_id, kind, value)
);
CREATE INDEX report_indicators_value ON report_indicators(value, kind);
CREATE INDEX report_indicators_ipv4 ON report_indicators(ipv4) WHERE ipv4 IS NOT NULL;
CREATE INDEX report_indicators_domain ON report_indicators(rev_domain) WHERE rev_domain IS NOT NULL;

-- Near-duplicate clustering: MinHash LSH band keys of each text of a report (description,
-- follow-ups, text attachments), the signatures, and the cluster each report joined.
CREATE TABLE text_signatures (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    part INTEGER NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (report_id, part)
);
CREATE TABLE lsh_bands (
    band_key INTEGER NOT NULL,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    part INTEGER NOT NULL,
    PRIMARY KEY (band_key, report_id, part)
);
CREATE TABLE report_clusters (
    report_id INTEGER PRIMARY KEY REFERENCES reports(id),
    cluster_id INTEGER NOT NULL,
    similarity REAL NOT NULL
);
CREATE INDEX report_clusters_cluster ON report_clusters(cluster_id);

-- Full-text search over a report's texts (description, narratives, follow-ups, text
-- attachments), one row per report with rowid = the report's id: trigram tokens find Japanese
-- substrings of 3+ characters with MATCH; shorter terms use LIKE on the same table.
CREATE VIRTUAL TABLE search_fts USING fts5(body, tokenize = 'trigram');

-- Trend facets of each report (cause.KEY, damage.KEY, technique.ID, indicator.TYPE): the
-- confirmed classification when there is one, else the automatic analysis. Counted per period
-- for surge alerts.
CREATE TABLE report_facets (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    facet TEXT NOT NULL,
    PRIMARY KEY (report_id, facet)
);
CREATE INDEX report_facets_facet ON report_facets(facet, report_id);
