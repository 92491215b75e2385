-- +goose Up
-- A contact's verified phone number is an address of scheme "tel" (path:
-- E.164): a new address on another channel reporting the same verified
-- number joins that contact (store.ContactEnsureParams.PhoneVerified).
-- WhatsApp contacts' numbers are the ones they write from: verified.
INSERT INTO contact_urns (project_id, scheme, path, contact_id, channel_id)
SELECT c.project_id, 'tel', c.phone, c.id, ''
FROM contacts c
WHERE c.phone <> '' AND NOT c.simulated
  AND EXISTS (SELECT 1 FROM contact_urns u WHERE u.contact_id = c.id AND u.scheme = 'whatsapp')
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM contact_urns WHERE scheme = 'tel';
