-- Analysts' indicator lists (issue 18, item 5), imported from STIX 2.1 bundles and MISP events or
-- feeds. A `warning` list holds known-benign or known-noisy values: a report's indicator matching
-- one is context and links no reports. A `watch` list holds known-bad values or values of
-- interest: a report whose indicator matches one gets a visible hit.
CREATE TABLE watchlists (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('watch', 'warning')),
    description TEXT NOT NULL DEFAULT '',
    tlp TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id)
);
-- One value of a list, from one imported file (`source_file`; re-importing it replaces its
-- rows). `kind` is the indicator type the extractor produces (ipv4, ipv6, domain, url, email,
-- md5, sha1, sha256) or cidr; `ipv4_lo`/`ipv4_hi` are an IPv4 address or range as numbers,
-- `rev_domain` the reversed labels with a trailing dot and `rev_domain_end` that plus U+FFFF
-- (a domain and its subdomains are the range between them, as in report_indicators).
CREATE TABLE watchlist_entries (
    id INTEGER PRIMARY KEY,
    list_id INTEGER NOT NULL REFERENCES watchlists(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    ipv4_lo INTEGER,
    ipv4_hi INTEGER,
    rev_domain TEXT,
    rev_domain_end TEXT,
    source_file TEXT NOT NULL,
    source_id TEXT NOT NULL DEFAULT '',
    imported_at TEXT NOT NULL,
    imported_by INTEGER REFERENCES users(id),
    valid_until TEXT,
    UNIQUE (list_id, source_file, kind, value)
);
CREATE INDEX watchlist_entries_value ON watchlist_entries(value, kind);
CREATE INDEX watchlist_entries_ipv4 ON watchlist_entries(ipv4_lo, ipv4_hi) WHERE ipv4_lo IS NOT NULL;
CREATE INDEX watchlist_entries_domain ON watchlist_entries(rev_domain) WHERE rev_domain IS NOT NULL;
-- Which indexed indicator of which report matches which entry: written with the report's index
-- and again for every report when a list is imported; an entry past its valid_until is dropped
-- from here by the housekeeping.
CREATE TABLE watchlist_hits (
    report_id INTEGER NOT NULL REFERENCES reports(id),
    entry_id INTEGER NOT NULL REFERENCES watchlist_entries(id),
    list_id INTEGER NOT NULL REFERENCES watchlists(id),
    indicator_kind TEXT NOT NULL,
    indicator_value TEXT NOT NULL,
    PRIMARY KEY (report_id, entry_id, indicator_kind, indicator_value)
);
CREATE INDEX watchlist_hits_list ON watchlist_hits(list_id);
CREATE INDEX watchlist_hits_entry ON watchlist_hits(entry_id);
CREATE INDEX watchlist_hits_value ON watchlist_hits(indicator_value, indicator_kind);
