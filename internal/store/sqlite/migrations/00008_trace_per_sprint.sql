-- +goose Up
-- A session's trace is written once per sprint, as one row holding the
-- sprint's events (a JSON array of {kind, node_id, data}), instead of one
-- row per event: a sprint of a simple flow traced seven rows, each with its
-- index entry, on every message. Events are numbered by their place in the
-- session's trace when read.
CREATE TABLE session_traces (
    id          INTEGER PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL,
    events      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX session_traces_session_idx ON session_traces (session_id, id);
INSERT INTO session_traces (project_id, session_id, events, created_at)
    SELECT project_id, session_id, json_array(json_object('kind', kind, 'node_id', node_id, 'data', json(data))), created_at
    FROM session_trace ORDER BY id;
DROP TABLE session_trace;

-- +goose Down
CREATE TABLE session_trace (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    node_id     TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX session_trace_session_idx ON session_trace (session_id, id);
INSERT INTO session_trace (project_id, session_id, kind, node_id, data, created_at)
    SELECT t.project_id, t.session_id, json_extract(e.value, '$.kind'), coalesce(json_extract(e.value, '$.node_id'), ''),
           coalesce(json(json_extract(e.value, '$.data')), '{}'), t.created_at
    FROM session_traces t, json_each(t.events) e ORDER BY t.id, e.key;
DROP TABLE session_traces;
