-- +goose Up
-- The channel log: every call to a provider and every webhook, redacted,
-- purged after the retention period. No foreign keys: entries are written
-- in batches after the fact, and a channel deleted in between must not
-- make the whole batch fail; the purge removes orphans with the rest.
CREATE TABLE channel_logs (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL,
    channel_id       TEXT NOT NULL,
    message_id       TEXT NOT NULL DEFAULT '',
    kind             TEXT NOT NULL,
    method           TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL DEFAULT '',
    request_headers  TEXT NOT NULL DEFAULT '{}',
    request_body     TEXT NOT NULL DEFAULT '',
    status_code      INTEGER NOT NULL DEFAULT 0,
    response_headers TEXT NOT NULL DEFAULT '{}',
    response_body    TEXT NOT NULL DEFAULT '',
    duration_ms      BIGINT NOT NULL DEFAULT 0,
    error            TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX channel_logs_channel_idx ON channel_logs (channel_id, id);
CREATE INDEX channel_logs_message_idx ON channel_logs (message_id) WHERE message_id <> '';
CREATE INDEX channel_logs_created_idx ON channel_logs (created_at);

-- Authentic webhooks that could not be processed because of their content.
CREATE TABLE dead_letters (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    channel_id     TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    channel_type   TEXT NOT NULL,
    body           BYTEA NOT NULL,
    headers        TEXT NOT NULL DEFAULT '{}',
    reason         TEXT NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL,
    replayed_at    TIMESTAMPTZ,
    replay_outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX dead_letters_channel_idx ON dead_letters (channel_id, id);

-- +goose Down
DROP TABLE dead_letters;
DROP TABLE channel_logs;
