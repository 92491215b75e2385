-- +goose Up
-- WhatsApp Flows (forms): the Flow JSON as written (validation errors point
-- at its lines), the state Meta reported, and the endpoint settings.
-- meta_flow_id stays when a published flow returns to DRAFT on an edit.
CREATE TABLE whatsapp_flows (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    channel_id         TEXT NOT NULL DEFAULT '',
    name               TEXT NOT NULL CHECK (length(trim(name)) > 0),
    categories         TEXT NOT NULL DEFAULT '[]',
    flow_json          TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('DRAFT', 'PUBLISHED', 'DEPRECATED', 'THROTTLED', 'BLOCKED')),
    meta_flow_id       TEXT NOT NULL DEFAULT '',
    validation_errors  TEXT NOT NULL DEFAULT '[]',
    endpoint           TEXT NOT NULL DEFAULT '{}',
    preview_url        TEXT NOT NULL DEFAULT '',
    synced_at          TIMESTAMP,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX whatsapp_flows_name_key ON whatsapp_flows (project_id, name);
CREATE INDEX whatsapp_flows_meta_idx ON whatsapp_flows (project_id, meta_flow_id);

-- +goose Down
DROP TABLE whatsapp_flows;
