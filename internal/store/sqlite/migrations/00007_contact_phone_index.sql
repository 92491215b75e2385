-- +goose Up
-- No query looks contacts up by phone (addresses are found through
-- contact_urns, and the contact search's LIKE '%…%' cannot use an index);
-- the index cost a random-key insert on every new contact.
DROP INDEX contacts_phone_idx;

-- +goose Down
CREATE INDEX contacts_phone_idx ON contacts (project_id, phone);
