-- +goose Up
-- A waiting session's timeout is its own row's timeout_at: the runner takes
-- the due ones in order, a batch per transaction, through this index, and
-- clears timeout_at in the transaction that queues the timer event in the
-- contact's inbox (one row per waiting session instead of a job row each).
CREATE INDEX flow_sessions_timeout_idx ON flow_sessions (timeout_at) WHERE status = 'waiting' AND timeout_at IS NOT NULL AND NOT simulated;

-- +goose Down
DROP INDEX flow_sessions_timeout_idx;
