-- +goose Up
-- Invitations to a project: an owner invites an e-mail address with a role,
-- and the person holding the link accepts it (logged in as that address, or
-- creating the account). Only the SHA-256 of the link's token is stored.
CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    token_hash   TEXT NOT NULL UNIQUE,
    invited_by   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    accepted_at  TIMESTAMPTZ
);
CREATE INDEX invitations_project_idx ON invitations (project_id, id);

-- +goose Down
DROP TABLE invitations;
