-- +goose Up
-- Datasets: an uploaded CSV, one row per data line with its raw cells (so a
-- new mapping re-processes without the file) and its outcome under the
-- current mapping. Campaigns run a flow over datasets; an execution takes
-- the valid rows as campaign recipients. The recipients' primary key
-- (campaign_id, dataset_id, row_num) is what makes a row start once per
-- campaign: the start is the recipient's move from queued/waiting to
-- started, in the same transaction as the flow start's contact event.
CREATE TABLE datasets (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    filename      TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
    error         TEXT NOT NULL DEFAULT '',
    encoding      TEXT NOT NULL DEFAULT '',
    delimiter     TEXT NOT NULL DEFAULT '',
    columns       TEXT NOT NULL DEFAULT '[]',
    mapping       TEXT NOT NULL DEFAULT '{}',
    warnings      TEXT NOT NULL DEFAULT '[]',
    counts        TEXT NOT NULL DEFAULT '{}',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX datasets_project_idx ON datasets (project_id, id);

CREATE TABLE dataset_rows (
    dataset_id    TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    row_num       BIGINT NOT NULL,
    line          INTEGER NOT NULL,
    cells         TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    duplicate_of  INTEGER NOT NULL DEFAULT 0,
    phone         TEXT NOT NULL DEFAULT '',
    timezone      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (dataset_id, row_num)
);
CREATE INDEX dataset_rows_status_idx ON dataset_rows (dataset_id, status, row_num);

CREATE TABLE campaigns (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'stopped', 'completed')),
    status_reason TEXT NOT NULL DEFAULT '',
    flow_id       TEXT NOT NULL DEFAULT '',
    channel_ids   TEXT NOT NULL DEFAULT '[]',
    dataset_ids   TEXT NOT NULL DEFAULT '[]',
    start_at      TIMESTAMPTZ,
    end_at        TIMESTAMPTZ,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX campaigns_project_idx ON campaigns (project_id, id);

CREATE TABLE campaign_executions (
    id                  TEXT PRIMARY KEY,
    project_id          TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    campaign_id         TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    dataset_id          TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('running', 'paused', 'stopped', 'completed')),
    status_reason       TEXT NOT NULL DEFAULT '',
    settings            TEXT NOT NULL DEFAULT '{}',
    total               INTEGER NOT NULL DEFAULT 0,
    started             INTEGER NOT NULL DEFAULT 0,
    start_failed        INTEGER NOT NULL DEFAULT 0,
    stats               TEXT NOT NULL DEFAULT '{}',
    next_batch_at       TIMESTAMPTZ NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    finished_at         TIMESTAMPTZ
);
CREATE INDEX campaign_executions_campaign_idx ON campaign_executions (campaign_id, id);
CREATE INDEX campaign_executions_running_idx ON campaign_executions (status, next_batch_at);

CREATE TABLE campaign_recipients (
    campaign_id    TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    dataset_id     TEXT NOT NULL,
    row_num        INTEGER NOT NULL,
    project_id     TEXT NOT NULL,
    execution_id   TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'waiting', 'started', 'failed')),
    phone          TEXT NOT NULL,
    timezone       TEXT NOT NULL DEFAULT '',
    not_before     TIMESTAMPTZ,
    channel_id     TEXT NOT NULL DEFAULT '',
    contact_id     TEXT NOT NULL DEFAULT '',
    session_id     TEXT NOT NULL DEFAULT '',
    error          TEXT NOT NULL DEFAULT '',
    started_at     TIMESTAMPTZ,
    PRIMARY KEY (campaign_id, dataset_id, row_num)
);
CREATE INDEX campaign_recipients_due_idx ON campaign_recipients (execution_id, status, row_num);
CREATE INDEX campaign_recipients_session_idx ON campaign_recipients (session_id) WHERE session_id <> '';

-- +goose Down
DROP TABLE campaign_recipients;
DROP TABLE campaign_executions;
DROP TABLE campaigns;
DROP TABLE dataset_rows;
DROP TABLE datasets;
