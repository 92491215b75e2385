-- +goose Up
-- A session's first trace (the sprint that created it) is kept in its own
-- row instead of a row of session_traces: a session waiting after its
-- first sprint (most of a campaign's) then costs no second row, with its
-- session ID again and an index entry, and creating a session is one
-- statement less. Later sprints' traces are rows of session_traces as
-- before; TraceList reads the row's first.
ALTER TABLE flow_sessions ADD COLUMN trace BLOB;

-- +goose Down
-- The first traces become rows again (after the session's others in id
-- order: an older version lists them last).
INSERT INTO session_traces (session_id, events, created_at, packed)
    SELECT id, '[]', created_at, trace FROM flow_sessions WHERE trace IS NOT NULL;
ALTER TABLE flow_sessions DROP COLUMN trace;
