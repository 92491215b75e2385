-- +goose Up
-- Receipts (delivered, read, failed) that arrived before the send they
-- are about had its answer stored: kept until the provider's ID is
-- recorded (applied in that transaction), expired after a bounded time.
-- provider_id is '' for a watermark receipt (Messenger: read up to a
-- time), which names its recipient instead.
CREATE TABLE pending_receipts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    provider_id  TEXT NOT NULL DEFAULT '',
    recipient    TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    up_to        TIMESTAMPTZ,
    error_code   TEXT NOT NULL DEFAULT '',
    error_reason TEXT NOT NULL DEFAULT '',
    received_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX pending_receipts_provider_idx ON pending_receipts (channel_id, provider_id);
CREATE INDEX pending_receipts_recipient_idx ON pending_receipts (channel_id, recipient) WHERE provider_id = '';
CREATE INDEX pending_receipts_received_idx ON pending_receipts (received_at);

-- +goose Down
DROP TABLE pending_receipts;
