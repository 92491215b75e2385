-- +goose Up
CREATE TABLE channels (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    name        TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    config      TEXT NOT NULL DEFAULT '{}',
    secrets     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'active',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX channels_project_idx ON channels (project_id, id);
CREATE UNIQUE INDEX channels_address_key ON channels (type, address) WHERE address <> '';

CREATE TABLE contacts (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name             TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    language         TEXT NOT NULL DEFAULT '',
    fields           TEXT NOT NULL DEFAULT '{}',
    tags             TEXT NOT NULL DEFAULT '[]',
    opted_out        BOOLEAN NOT NULL DEFAULT FALSE,
    opted_out_at     TIMESTAMP,
    assignee         TEXT NOT NULL DEFAULT '',
    simulated        BOOLEAN NOT NULL DEFAULT FALSE,
    last_inbound_at  TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX contacts_project_idx ON contacts (project_id, id);
CREATE INDEX contacts_phone_idx ON contacts (project_id, phone);

CREATE TABLE contact_urns (
    project_id       TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    scheme           TEXT NOT NULL,
    path             TEXT NOT NULL,
    contact_id       TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    channel_id       TEXT NOT NULL DEFAULT '',
    last_inbound_at  TIMESTAMP,
    PRIMARY KEY (project_id, scheme, path)
);
CREATE INDEX contact_urns_contact_idx ON contact_urns (contact_id);

CREATE TABLE messages (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    contact_id    TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    channel_id    TEXT NOT NULL DEFAULT '',
    session_id    TEXT NOT NULL DEFAULT '',
    direction     TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    type          TEXT NOT NULL,
    content       TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL,
    status_rank   INTEGER NOT NULL,
    provider_id   TEXT,
    error_code    TEXT NOT NULL DEFAULT '',
    error_reason  TEXT NOT NULL DEFAULT '',
    priority      TEXT NOT NULL DEFAULT 'reply',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    sent_at       TIMESTAMP
);
CREATE INDEX messages_contact_idx ON messages (project_id, contact_id, id);
CREATE UNIQUE INDEX messages_provider_key ON messages (channel_id, direction, provider_id) WHERE provider_id IS NOT NULL;

CREATE TABLE contact_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    contact_id  TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    message_id  TEXT NOT NULL DEFAULT '',
    payload     TEXT NOT NULL DEFAULT '{}',
    dedupe_key  TEXT UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    handled_at  TIMESTAMP,
    result      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX contact_events_pending_idx ON contact_events (contact_id, seq) WHERE handled_at IS NULL;

CREATE TABLE flow_sessions (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    contact_id   TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    flow_id      TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    channel_id   TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    state        BLOB,
    wait_seq     INTEGER NOT NULL DEFAULT 0,
    waiting_for  TEXT NOT NULL DEFAULT '',
    node_id      TEXT NOT NULL DEFAULT '',
    timeout_at   TIMESTAMP,
    expires_at   TIMESTAMP NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    simulated    BOOLEAN NOT NULL DEFAULT FALSE,
    draft        BOOLEAN NOT NULL DEFAULT FALSE,
    end_reason   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    ended_at     TIMESTAMP
);
CREATE INDEX flow_sessions_project_idx ON flow_sessions (project_id, id);
CREATE INDEX flow_sessions_contact_idx ON flow_sessions (contact_id, id);
CREATE UNIQUE INDEX flow_sessions_live_key ON flow_sessions (contact_id) WHERE status IN ('active', 'waiting') AND NOT simulated;
CREATE INDEX flow_sessions_expiry_idx ON flow_sessions (expires_at) WHERE status IN ('active', 'waiting');

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

CREATE TABLE idempotency_keys (
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE session_trace;
DROP TABLE flow_sessions;
DROP TABLE contact_events;
DROP TABLE messages;
DROP TABLE contact_urns;
DROP TABLE contacts;
DROP TABLE channels;
