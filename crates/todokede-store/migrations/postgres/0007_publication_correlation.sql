-- Publication: every version of a period's half-year report document (edits never overwrite),
-- and which version an analyst approved.
CREATE TABLE publications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period TEXT NOT NULL,
    version BIGINT NOT NULL,
    document_json TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    change_note TEXT NOT NULL,
    approved_by BIGINT REFERENCES users(id),
    approved_at TIMESTAMPTZ,
    UNIQUE (period, version)
);

-- Across reports: see the SQLite migration for the meaning of the columns.
CREATE TABLE report_indicators (
    report_id BIGINT NOT NULL REFERENCES reports(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    common BIGINT NOT NULL DEFAULT 0,
    ipv4 BIGINT,
    rev_domain TEXT COLLATE "C",
    PRIMARY KEY (report_id, kind, value)
);
CREATE INDEX report_indicators_value ON report_indicators(value, kind);
CREATE INDEX report_indicators_ipv4 ON report_indicators(ipv4) WHERE ipv4 IS NOT NULL;
CREATE INDEX report_indicators_domain ON report_indicators(rev_domain) WHERE rev_domain IS NOT NULL;

CREATE TABLE text_signatures (
    report_id BIGINT NOT NULL REFERENCES reports(id),
    part BIGINT NOT NULL,
    signature BYTEA NOT NULL,
    PRIMARY KEY (report_id, part)
);
CREATE TABLE lsh_bands (
    band_key BIGINT NOT NULL,
    report_id BIGINT NOT NULL REFERENCES reports(id),
    part BIGINT NOT NULL,
    PRIMARY KEY (band_key, report_id, part)
);
CREATE TABLE report_clusters (
    report_id BIGINT PRIMARY KEY REFERENCES reports(id),
    cluster_id BIGINT NOT NULL,
    similarity DOUBLE PRECISION NOT NULL
);
CREATE INDEX report_clusters_cluster ON report_clusters(cluster_id);

-- Full-text search: pg_trgm's GIN index serves LIKE '%term%' for Japanese substrings (terms
-- under 3 characters are still answered, by the same LIKE, without the index's help).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE search_docs (
    report_id BIGINT PRIMARY KEY REFERENCES reports(id),
    body TEXT NOT NULL
);
CREATE INDEX search_docs_trgm ON search_docs USING gin (body gin_trgm_ops);

-- Trend facets of each report (cause.KEY, damage.KEY, technique.ID, indicator.TYPE): the
-- confirmed classification when there is one, else the automatic analysis. Counted per period
-- for surge alerts.
CREATE TABLE report_facets (
    report_id BIGINT NOT NULL REFERENCES reports(id),
    facet TEXT NOT NULL,
    PRIMARY KEY (report_id, facet)
);
CREATE INDEX report_facets_facet ON report_facets(facet, report_id);
