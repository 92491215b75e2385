-- +goose Up
-- A trace belongs to its session: it is read through it (TraceList checks
-- the session's project), and deleted with it (before, a trace outlived
-- its session unless the whole project went). Its own project column
-- (a UUID in every sprint's row) goes. The
-- rows of sessions deleted already go with it: nothing could read them.
CREATE TABLE session_traces_new (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES flow_sessions (id) ON DELETE CASCADE,
    events      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    packed      BLOB
);
INSERT INTO session_traces_new (id, session_id, events, created_at, packed)
    SELECT t.id, t.session_id, t.events, t.created_at, t.packed FROM session_traces t
    WHERE EXISTS (SELECT 1 FROM flow_sessions s WHERE s.id = t.session_id);
DROP TABLE session_traces;
ALTER TABLE session_traces_new RENAME TO session_traces;
CREATE INDEX session_traces_session_idx ON session_traces (session_id, id);

-- +goose Down
CREATE TABLE session_traces_old (
    id          INTEGER PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL,
    events      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    packed      BLOB
);
INSERT INTO session_traces_old (id, project_id, session_id, events, created_at, packed)
    SELECT t.id, s.project_id, t.session_id, t.events, t.created_at, t.packed FROM session_traces t JOIN flow_sessions s ON s.id = t.session_id;
DROP TABLE session_traces;
ALTER TABLE session_traces_old RENAME TO session_traces;
CREATE INDEX session_traces_session_idx ON session_traces (session_id, id);
