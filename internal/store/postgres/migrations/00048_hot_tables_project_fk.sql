-- +goose Up
-- The tables every message writes (messages, contact_events,
-- flow_sessions, contact_urns) no longer reference projects: each of their
-- rows references its contact, which references its project, and a deleted
-- project's contacts take these rows with them (ON DELETE CASCADE) as
-- before. The direct key cost a check on every insert — an index read and
-- a FOR KEY SHARE lock of the project's one row, taken by every concurrent
-- transaction of the project, so PostgreSQL made a new MultiXact for nearly
-- each of them (five checks per exchange in bench/whatsapp).
ALTER TABLE messages DROP CONSTRAINT messages_project_id_fkey;
ALTER TABLE contact_events DROP CONSTRAINT contact_events_project_id_fkey;
ALTER TABLE flow_sessions DROP CONSTRAINT flow_sessions_project_id_fkey;
ALTER TABLE contact_urns DROP CONSTRAINT contact_urns_project_id_fkey;

-- +goose Down
ALTER TABLE messages ADD CONSTRAINT messages_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE;
ALTER TABLE contact_events ADD CONSTRAINT contact_events_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE;
ALTER TABLE flow_sessions ADD CONSTRAINT flow_sessions_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE;
ALTER TABLE contact_urns ADD CONSTRAINT contact_urns_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE;
