-- +goose Up
-- Meta's embedded signup, step by step (docs/whatsapp.md): what the
-- signup window returned, the business token once exchanged (sealed), and
-- each step's outcome, so a failed signup is retried from the failed step.
CREATE TABLE whatsapp_signups (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    waba_id        TEXT NOT NULL,
    phone_number_id TEXT NOT NULL,
    name           TEXT NOT NULL,
    token_sealed   TEXT NOT NULL DEFAULT '',
    -- steps: JSON array of {name, status, detail, at}.
    steps          TEXT NOT NULL,
    status         TEXT NOT NULL,
    channel_id     TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX whatsapp_signups_project ON whatsapp_signups (project_id, created_at);

-- A number's display-name change requests and Meta's review of each
-- (the phone_number_name_update webhook).
CREATE TABLE display_name_requests (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    channel_id   TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- status: pending, approved, declined.
    status       TEXT NOT NULL DEFAULT 'pending',
    reason       TEXT NOT NULL DEFAULT '',
    requested_at TIMESTAMPTZ NOT NULL,
    decided_at   TIMESTAMPTZ
);
CREATE INDEX display_name_requests_channel ON display_name_requests (channel_id, requested_at);

-- +goose Down
DROP TABLE display_name_requests;
DROP TABLE whatsapp_signups;
