-- A report's version: raised by every change an analyst or the reporter makes (state,
-- assignment, classification, links, timeline entries). The analysts' API shows it as the ETag
-- and takes it back in If-Match, so two clients cannot overwrite each other's change unseen:
-- the check and the raise are one UPDATE inside the writing transaction.
ALTER TABLE reports ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
