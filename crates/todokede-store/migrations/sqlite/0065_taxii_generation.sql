-- The TAXII objects are now kept up to date incrementally (issue 18): each write of
-- `taxii_objects` raises the generation, so a process whose picture of the stored objects is
-- of an older generation (another process wrote meanwhile) reads them again before it writes.
ALTER TABLE taxii_state ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
