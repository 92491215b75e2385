-- +goose NO TRANSACTION
-- +goose Up
-- Delivered and read statuses are most webhooks, and each rewrote its
-- message with new entries in all three of its indexes: status sat in the
-- outbox index's predicate (WHERE status = 'queued'), so no status change
-- could be a HOT update. The outbox index now names due_at alone, which
-- only a queued message has (the update that takes a message out of the
-- queue clears it), so a status that moves a sent message on touches no
-- indexed column, and stays on its page (fillfactor leaves it room).
--
-- Messages sent before this migration still have their due_at: cleared in
-- batches of 5,000, each its own transaction, so that a large table is
-- never locked whole while processes of the previous version keep running.
-- Those processes send without clearing due_at; the outbox's poller clears
-- what they leave (MessagesSettle). Their own queries still find the
-- queue through the new index: "due_at <= $1" implies "due_at IS NOT NULL".
ALTER TABLE messages SET (fillfactor = 90);

-- +goose StatementBegin
DO $$
DECLARE
    last_id TEXT := '';
    ids TEXT[];
BEGIN
    LOOP
        SELECT array_agg(id ORDER BY id) INTO ids
            FROM (SELECT id FROM messages WHERE id > last_id ORDER BY id LIMIT 5000) batch;
        EXIT WHEN ids IS NULL;
        UPDATE messages SET due_at = NULL
            WHERE id = ANY (ids) AND due_at IS NOT NULL AND status <> 'queued';
        last_id := ids[array_length(ids, 1)];
        COMMIT;
    END LOOP;
END $$;
-- +goose StatementEnd

-- Built without blocking writes. A build that failed (a migration
-- interrupted) leaves an invalid index of this name behind: it is dropped
-- first, since this migration has not been recorded as applied.
DROP INDEX CONCURRENTLY IF EXISTS messages_outbox_idx;
CREATE INDEX CONCURRENTLY messages_outbox_idx ON messages (due_at) WHERE due_at IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS messages_due_idx;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS messages_due_idx;
CREATE INDEX CONCURRENTLY messages_due_idx ON messages (due_at) WHERE status = 'queued';
DROP INDEX CONCURRENTLY IF EXISTS messages_outbox_idx;
ALTER TABLE messages RESET (fillfactor);
