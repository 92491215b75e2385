-- +goose Up
-- Call recordings: the audio of a recorded voice call, downloaded from the
-- provider (Twilio's recording) or made by the simulated provider, kept in
-- the database beside its call so that both databases serve it the same
-- way and a project's deletion takes its recordings with it. One per call;
-- the size is bounded by the calls service (voice.MaxRecordingBytes).
CREATE TABLE call_recordings (
    call_id       TEXT PRIMARY KEY REFERENCES voice_calls (id) ON DELETE CASCADE,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    provider_id   TEXT NOT NULL DEFAULT '',
    content_type  TEXT NOT NULL,
    duration_ms   BIGINT NOT NULL DEFAULT 0,
    size_bytes    BIGINT NOT NULL,
    data          BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX call_recordings_project ON call_recordings (project_id, created_at);

-- +goose Down
DROP TABLE call_recordings;
