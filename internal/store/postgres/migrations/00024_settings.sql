-- +goose Up
-- Facts about the installation itself, one value per name. The first is
-- secret_key_fingerprint: an HMAC of a fixed label under the key that seals
-- this database's secrets, so a process started with another key refuses
-- to run instead of failing later on every sealed value.
CREATE TABLE parley_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- +goose Down
DROP TABLE parley_settings;
