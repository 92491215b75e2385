-- +goose Up
-- Voice calls: queued by a session's sprint in its transaction, claimed by
-- one process (owner + lease), placed once, their result recorded once and
-- fed back to the session as an inbound "call" message. A call whose
-- process died (lease run out while dialing, ringing or in progress) is
-- never placed again: it ends as failed, reason interrupted.
CREATE TABLE voice_calls (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    channel_id   TEXT NOT NULL,
    contact_id   TEXT NOT NULL,
    session_id   TEXT NOT NULL DEFAULT '',
    token        TEXT NOT NULL DEFAULT '',
    direction    TEXT NOT NULL,
    from_number  TEXT NOT NULL,
    to_number    TEXT NOT NULL,
    request      TEXT NOT NULL DEFAULT '{}',
    status       TEXT NOT NULL,
    provider_id  TEXT NOT NULL DEFAULT '',
    owner        TEXT NOT NULL DEFAULT '',
    lease_until  TIMESTAMPTZ,
    result       TEXT NOT NULL DEFAULT '',
    simulated    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ
);
CREATE INDEX voice_calls_queued ON voice_calls (status, created_at);
CREATE INDEX voice_calls_project ON voice_calls (project_id, created_at);
CREATE INDEX voice_calls_contact ON voice_calls (contact_id, created_at);

-- +goose Down
DROP TABLE voice_calls;
