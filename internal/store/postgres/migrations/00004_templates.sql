-- +goose Up
-- Templates belong to a WhatsApp Business Account, reached through a
-- channel; Meta's verdicts come with a reason and a quality score.
ALTER TABLE message_templates ADD COLUMN channel_id TEXT NOT NULL DEFAULT '';
ALTER TABLE message_templates ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE message_templates ADD COLUMN quality TEXT NOT NULL DEFAULT '';
CREATE INDEX message_templates_meta_idx ON message_templates (project_id, meta_template_id);

-- +goose Down
DROP INDEX message_templates_meta_idx;
ALTER TABLE message_templates DROP COLUMN quality;
ALTER TABLE message_templates DROP COLUMN reason;
ALTER TABLE message_templates DROP COLUMN channel_id;
