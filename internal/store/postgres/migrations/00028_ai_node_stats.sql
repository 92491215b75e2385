-- +goose Up
-- ai_agent nodes' calls to the project's AI provider, per node and hour:
-- calls, failed calls, tokens (prompt and completion) and the summed
-- latency (the average is latency_ms / llm_calls).
ALTER TABLE flow_node_stats ADD COLUMN llm_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE flow_node_stats ADD COLUMN llm_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE flow_node_stats ADD COLUMN llm_prompt_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE flow_node_stats ADD COLUMN llm_completion_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE flow_node_stats ADD COLUMN llm_latency_ms BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE flow_node_stats DROP COLUMN llm_latency_ms;
ALTER TABLE flow_node_stats DROP COLUMN llm_completion_tokens;
ALTER TABLE flow_node_stats DROP COLUMN llm_prompt_tokens;
ALTER TABLE flow_node_stats DROP COLUMN llm_failures;
ALTER TABLE flow_node_stats DROP COLUMN llm_calls;
