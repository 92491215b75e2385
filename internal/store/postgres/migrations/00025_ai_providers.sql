-- +goose Up
-- A project's LLM providers (OpenAI chat-completions compatible: OpenAI,
-- Ollama, llama.cpp server, vLLM). The API key is sealed with the
-- server's secret key and never returned.
CREATE TABLE ai_providers (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    base_url          TEXT NOT NULL,
    model             TEXT NOT NULL,
    api_key_sealed    TEXT NOT NULL DEFAULT '',
    json_mode         TEXT NOT NULL DEFAULT 'json_schema',
    timeout_seconds   INTEGER NOT NULL,
    max_tokens        INTEGER NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX ai_providers_name ON ai_providers (project_id, name);

-- +goose Down
DROP TABLE ai_providers;
