-- +goose Up
-- Message templates: the minimal shape the WhatsApp issue builds on. Flows
-- reference them (start_template, template nodes), so the linter can check
-- the references for real.
CREATE TABLE message_templates (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name              TEXT NOT NULL CHECK (length(trim(name)) > 0),
    language          TEXT NOT NULL CHECK (length(trim(language)) > 0),
    category          TEXT NOT NULL CHECK (category IN ('UTILITY', 'MARKETING', 'AUTHENTICATION')),
    components        TEXT NOT NULL DEFAULT '[]',
    status            TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'PAUSED', 'DISABLED')),
    meta_template_id  TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX message_templates_name_key ON message_templates (project_id, name, language);
CREATE INDEX message_templates_project_idx ON message_templates (project_id, id);

-- Chat flows: the working draft and its settings. version is the etag of
-- the row (every write bumps it); live_revision is the published revision
-- (0 until the first publish).
CREATE TABLE flows (
    id                    TEXT PRIMARY KEY,
    project_id            TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name                  TEXT NOT NULL CHECK (length(trim(name)) > 0),
    remark                TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL CHECK (status IN ('draft', 'published', 'unpublished')),
    draft                 TEXT NOT NULL,
    version               INTEGER NOT NULL DEFAULT 1,
    live_revision         INTEGER NOT NULL DEFAULT 0,
    start_trigger         TEXT NOT NULL DEFAULT '{}',
    channel_id            TEXT NOT NULL DEFAULT '',
    logging               BOOLEAN NOT NULL DEFAULT TRUE,
    expire_after_seconds  INTEGER NOT NULL DEFAULT 86400 CHECK (expire_after_seconds > 0),
    on_retrigger          TEXT NOT NULL DEFAULT 'ignore' CHECK (on_retrigger IN ('ignore', 'restart')),
    start_template        TEXT NOT NULL DEFAULT '',
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    created_by            TEXT NOT NULL DEFAULT '',
    updated_by            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX flows_project_idx ON flows (project_id, id);
CREATE INDEX flows_project_status_idx ON flows (project_id, status);

-- Published revisions are immutable snapshots of the graph and settings.
CREATE TABLE flow_revisions (
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    flow_id       TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    revision      INTEGER NOT NULL CHECK (revision > 0),
    graph         TEXT NOT NULL,
    settings      TEXT NOT NULL DEFAULT '{}',
    published_by  TEXT NOT NULL DEFAULT '',
    published_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (flow_id, revision)
);
CREATE INDEX flow_revisions_project_idx ON flow_revisions (project_id, flow_id);

-- Execution counters, incremented by the runner per hour bucket so that
-- analytics can be read for any time range without scanning sessions.
CREATE TABLE flow_session_stats (
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    flow_id     TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    revision    INTEGER NOT NULL,
    bucket      TIMESTAMP NOT NULL,
    started     BIGINT NOT NULL DEFAULT 0,
    completed   BIGINT NOT NULL DEFAULT 0,
    expired     BIGINT NOT NULL DEFAULT 0,
    failed      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (flow_id, revision, bucket)
);
CREATE INDEX flow_session_stats_project_idx ON flow_session_stats (project_id, bucket);

CREATE TABLE flow_node_stats (
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    flow_id     TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    revision    INTEGER NOT NULL,
    node_id     TEXT NOT NULL,
    bucket      TIMESTAMP NOT NULL,
    visits      BIGINT NOT NULL DEFAULT 0,
    drop_offs   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (flow_id, revision, node_id, bucket)
);

CREATE TABLE flow_edge_stats (
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    flow_id      TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    revision     INTEGER NOT NULL,
    edge_id      TEXT NOT NULL,
    bucket       TIMESTAMP NOT NULL,
    transitions  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (flow_id, revision, edge_id, bucket)
);

-- +goose Down
DROP TABLE flow_edge_stats;
DROP TABLE flow_node_stats;
DROP TABLE flow_session_stats;
DROP TABLE flow_revisions;
DROP TABLE flows;
DROP TABLE message_templates;
