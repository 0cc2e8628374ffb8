-- The TAXII 2.1 server's objects (issue 18): the STIX export of every report approved for
-- sharing (at most TLP:AMBER+STRICT), one row per object and collection (the collection is the
-- TLP level the object is marked with). Rebuilt from the approved data whenever its fingerprint
-- changes (`taxii_state`): an object whose content is unchanged keeps its date_added, a new or
-- changed one gets the time of that rebuild, an object no longer shared is deleted. Pages are
-- read in (date_added, object_id) order, so objects added at one time never repeat or vanish.
-- Times are STIX timestamps (UTC, milliseconds, `Z`): their byte order is time order.
CREATE TABLE taxii_objects (
    collection TEXT NOT NULL,
    object_id TEXT NOT NULL,
    object_type TEXT NOT NULL,
    -- `modified`, else `created`, else date_added (SCOs and marking definitions are not versioned).
    version TEXT NOT NULL,
    date_added TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    -- The object as JSON, exactly as the STIX export writes it.
    content TEXT NOT NULL,
    PRIMARY KEY (collection, object_id)
);
CREATE INDEX taxii_objects_page ON taxii_objects (collection, date_added, object_id);

-- The fingerprint of the approved data the rows were built from, and the date_added of the
-- last rebuild (each rebuild takes a later millisecond than the one before).
CREATE TABLE taxii_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    last_added TEXT
);
INSERT INTO taxii_state (id, fingerprint, last_added) VALUES (1, '', NULL);
