-- +goose Up
-- The state of each project's own database (internal/projectdb): a file
-- beside Parley's on SQLite, a schema and a role on PostgreSQL. The data
-- lives there, never here; this row says whether it is ready, and why not.
CREATE TABLE project_databases (
    project_id  TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    location    TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE project_databases;
