-- +goose Up
-- A session's expiry fires from its own row, as its wait timeouts do (00037):
-- the runner's timer loop takes the live sessions whose expires_at has
-- passed, through this index, and marks each expire_queued in the
-- transaction that queues its expire event in the contact's inbox, so it is
-- queued once (the session stays live until that event's sprint ends it).
-- The River job each new session had for its expiry is no longer written;
-- the timer jobs still queued are dropped: their sessions' rows hold the
-- same timeouts and expiries, which the loop fires.
ALTER TABLE flow_sessions ADD COLUMN expire_queued BOOLEAN NOT NULL DEFAULT FALSE;
DROP INDEX flow_sessions_expiry_idx;
CREATE INDEX flow_sessions_expiry_idx ON flow_sessions (expires_at) WHERE status IN ('active', 'waiting') AND NOT simulated AND NOT expire_queued;
DELETE FROM river_job WHERE kind = 'session_timer' AND state IN ('available', 'scheduled', 'retryable');

-- +goose Down
DROP INDEX flow_sessions_expiry_idx;
CREATE INDEX flow_sessions_expiry_idx ON flow_sessions (expires_at) WHERE status IN ('active', 'waiting');
ALTER TABLE flow_sessions DROP COLUMN expire_queued;
