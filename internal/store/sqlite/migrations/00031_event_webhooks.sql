-- +goose Up
-- Event webhooks (docs/webhooks.md): a project's subscriptions to Parley's
-- events, and the outbox of their deliveries. A delivery row is written in
-- the same transaction as the change that caused its event, one per
-- matching active subscription, so an event that happened is never lost;
-- the delivery worker sends them in order per order_key (the contact, or
-- the campaign execution).
CREATE TABLE webhook_subscriptions (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url            TEXT NOT NULL,
    -- events: ',message.received,session.started,' (commas around every
    -- name, so one LIKE finds a name) or '*' for every event.
    events         TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    secret_sealed  TEXT NOT NULL,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX webhook_subscriptions_project ON webhook_subscriptions (project_id, active);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    order_key        TEXT NOT NULL DEFAULT '',
    payload          TEXT NOT NULL,
    -- state: pending (to send or retry), delivered, failed (gave up).
    state            TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (subscription_id, event_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, order_key, state, event_id);
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (project_id, subscription_id, id);

CREATE TABLE webhook_attempts (
    id                TEXT PRIMARY KEY,
    delivery_id       TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    project_id        TEXT NOT NULL,
    manual            BOOLEAN NOT NULL DEFAULT FALSE,
    url               TEXT NOT NULL,
    signature         TEXT NOT NULL,
    status_code       INTEGER NOT NULL DEFAULT 0,
    response_excerpt  TEXT NOT NULL DEFAULT '',
    error             TEXT NOT NULL DEFAULT '',
    duration_ms       INTEGER NOT NULL DEFAULT 0,
    started_at        TIMESTAMP NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, started_at);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
