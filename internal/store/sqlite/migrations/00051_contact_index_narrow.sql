-- +goose Up
-- A contact's messages and sessions are found by the contact's ID alone:
-- contact IDs are unique across projects, so the project's ID in front of
-- messages_contact_idx only repeated, in every message's entry, what the
-- contact implies (queries still filter on it, as a check). A contact's
-- sessions are few, listed in ID order after reading them all, so
-- flow_sessions_contact_idx keeps the contact's ID only. Each message's
-- entry and each session's are one 36-character UUID shorter: about 40
-- bytes of index per message and per waiting session, and less to write
-- on every first message of a contact.
DROP INDEX messages_contact_idx;
CREATE INDEX messages_contact_idx ON messages (contact_id, id);
DROP INDEX flow_sessions_contact_idx;
CREATE INDEX flow_sessions_contact_idx ON flow_sessions (contact_id);

-- +goose Down
DROP INDEX flow_sessions_contact_idx;
CREATE INDEX flow_sessions_contact_idx ON flow_sessions (contact_id, id);
DROP INDEX messages_contact_idx;
CREATE INDEX messages_contact_idx ON messages (project_id, contact_id, id);
