-- +goose Up
-- An execution takes its dataset's rows in chunks (the campaign runner,
-- one transaction per chunk) instead of all at once in the request that
-- creates it: a million-row take held the single writer for a minute.
-- take_cursor is the last dataset row taken; taken is set once every row is.
ALTER TABLE campaign_executions ADD COLUMN take_cursor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaign_executions ADD COLUMN taken BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE campaign_executions DROP COLUMN taken;
ALTER TABLE campaign_executions DROP COLUMN take_cursor;
