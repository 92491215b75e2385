-- +goose Up
-- A sprint's trace is stored packed (internal/store/tracepack: its JSON
-- deflated with a preset dictionary, about a seventh of its size); such a
-- row's events is an empty array. Rows written before keep their JSON in
-- events, packed NULL; both are read.
ALTER TABLE session_traces ADD COLUMN packed BYTEA;

-- +goose Down
-- Packed traces cannot be unpacked in SQL: after going down they read as
-- empty.
ALTER TABLE session_traces DROP COLUMN packed;
