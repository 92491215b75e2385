-- +goose Up
-- Inboxes and sends are worked by the runner's dispatchers over their rows
-- (00006); the job kinds that used to do it, contact_process and
-- message_send, have no workers any more. Jobs of those kinds left in
-- River's table by older versions would only ever be retried and discarded
-- as unknown kinds, so they go. River's tables exist by now: Migrate applies
-- River's migrations before these.
DELETE FROM river_job WHERE kind IN ('contact_process', 'message_send');

-- +goose Down
-- The deleted jobs had no effect left to have; there is nothing to restore.
SELECT 1;
