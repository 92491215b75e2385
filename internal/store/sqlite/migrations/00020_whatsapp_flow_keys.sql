-- +goose Up
-- The business encryption key pair of a WhatsApp number, for its Flows'
-- data-exchange endpoint: Meta holds the public key (uploaded through
-- whatsapp_business_encryption); the private key is sealed with the
-- server's secret key.
CREATE TABLE whatsapp_flow_keys (
    project_id          TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    channel_id          TEXT NOT NULL,
    public_key          TEXT NOT NULL,
    private_key_sealed  TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, channel_id)
);

-- +goose Down
DROP TABLE whatsapp_flow_keys;
