-- The analyst-confirmed classification of a report (what statistics are built from), and every
-- override of the automatic analysis, kept and countable.
CREATE TABLE classifications (
    report_id INTEGER PRIMARY KEY REFERENCES reports(id),
    confirmed_by INTEGER NOT NULL REFERENCES users(id),
    confirmed_at TEXT NOT NULL,
    causes TEXT NOT NULL,
    damages TEXT NOT NULL,
    attack_types TEXT NOT NULL,
    techniques TEXT NOT NULL,
    has_damage TEXT
);

CREATE TABLE classification_overrides (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    at TEXT NOT NULL,
    dimension TEXT NOT NULL,
    automatic TEXT NOT NULL,
    confirmed TEXT NOT NULL
);
CREATE INDEX classification_overrides_dimension ON classification_overrides(dimension);
