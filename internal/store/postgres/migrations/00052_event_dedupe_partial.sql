-- +goose Up
-- Only timers and starts carry a dedupe key; a message's event has none.
-- The UNIQUE constraint indexed those NULLs all the same, twice per message
-- (the event's insert, and its handled mark, which is not a HOT update),
-- every one at the index's right edge, where all concurrent inserts of a
-- NULL meet. A partial unique index keeps the guarantee for the keys there
-- are (ON CONFLICT names its predicate to infer it).
ALTER TABLE contact_events DROP CONSTRAINT contact_events_dedupe_key_key;
CREATE UNIQUE INDEX contact_events_dedupe_idx ON contact_events (dedupe_key) WHERE dedupe_key IS NOT NULL;

-- +goose Down
DROP INDEX contact_events_dedupe_idx;
ALTER TABLE contact_events ADD CONSTRAINT contact_events_dedupe_key_key UNIQUE (dedupe_key);
