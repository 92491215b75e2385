-- +goose Up
-- The failure check reads an execution's most recently started rows
-- (newest first, a bounded number) instead of every started row: the
-- check's cost stays flat as a million-row execution grows.
CREATE INDEX campaign_recipients_started_idx ON campaign_recipients (execution_id, started_at) WHERE status = 'started';

-- +goose Down
DROP INDEX campaign_recipients_started_idx;
