-- +goose Up
-- A contact's addresses are read on every send; the old index on
-- contact_id alone let SQLite prefer the primary key (and scan the whole
-- project) to satisfy ORDER BY scheme, path.
DROP INDEX contact_urns_contact_idx;
CREATE INDEX contact_urns_contact_idx ON contact_urns (contact_id, scheme, path);

-- +goose Down
DROP INDEX contact_urns_contact_idx;
CREATE INDEX contact_urns_contact_idx ON contact_urns (contact_id);
