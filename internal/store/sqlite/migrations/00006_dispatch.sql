-- +goose Up
-- The contact inbox and the outbound messages are worked by in-process
-- dispatchers instead of one job per row: due_at is when a row may next be
-- picked up by a poller (a process that queued it holds it until then; a
-- failure pushes it back), attempts counts failures.
ALTER TABLE contact_events ADD COLUMN due_at TIMESTAMP;
ALTER TABLE contact_events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
UPDATE contact_events SET due_at = created_at WHERE handled_at IS NULL;
CREATE INDEX contact_events_due_idx ON contact_events (due_at) WHERE handled_at IS NULL;

ALTER TABLE messages ADD COLUMN due_at TIMESTAMP;
ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET due_at = created_at WHERE status = 'queued';
CREATE INDEX messages_due_idx ON messages (due_at) WHERE status = 'queued';

-- +goose Down
DROP INDEX messages_due_idx;
ALTER TABLE messages DROP COLUMN attempts;
ALTER TABLE messages DROP COLUMN due_at;
DROP INDEX contact_events_due_idx;
ALTER TABLE contact_events DROP COLUMN attempts;
ALTER TABLE contact_events DROP COLUMN due_at;
