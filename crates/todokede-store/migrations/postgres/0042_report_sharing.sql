-- An analyst's approval to share a report's anonymised content outside (STIX, MISP), with the
-- TLP 2.0 level it is shared under (clear, green, amber, amber+strict, red). Only approved
-- reports are exported; approving again replaces the level (and the time, which the exports
-- use as the objects' modified time).
CREATE TABLE report_sharing (
    report_id BIGINT PRIMARY KEY REFERENCES reports(id),
    tlp TEXT NOT NULL CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    approved_by BIGINT NOT NULL REFERENCES users(id),
    approved_at TIMESTAMPTZ NOT NULL
);
