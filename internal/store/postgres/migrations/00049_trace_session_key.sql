-- +goose Up
-- A trace belongs to its session: it is read through it (TraceList checks
-- the session's project), and deleted with it (before, a trace outlived
-- its session unless the whole project went). Its own project column
-- goes: a UUID in every sprint's row, and on PostgreSQL a foreign-key
-- check of the project's one row on every insert. The
-- rows of sessions deleted already go with it: nothing could read them.
DELETE FROM session_traces t WHERE NOT EXISTS (SELECT 1 FROM flow_sessions s WHERE s.id = t.session_id);
ALTER TABLE session_traces DROP COLUMN project_id;
ALTER TABLE session_traces ADD CONSTRAINT session_traces_session_id_fkey
    FOREIGN KEY (session_id) REFERENCES flow_sessions (id) ON DELETE CASCADE;

-- +goose Down
ALTER TABLE session_traces DROP CONSTRAINT session_traces_session_id_fkey;
ALTER TABLE session_traces ADD COLUMN project_id TEXT;
UPDATE session_traces t SET project_id = s.project_id FROM flow_sessions s WHERE s.id = t.session_id;
ALTER TABLE session_traces ALTER COLUMN project_id SET NOT NULL;
ALTER TABLE session_traces ADD CONSTRAINT session_traces_project_id_fkey
    FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE;
