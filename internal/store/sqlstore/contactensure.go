package sqlstore

import (
	"context"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// contactEnsureUpsert is ContactEnsure where the dialect finds or makes an
// address in one statement (Dialect.EnsureInOneStatement): the address row
// is inserted, with the new contact and its verified phone's row in the
// same statement, ON CONFLICT of its primary key. A concurrent first
// message from the same address inserts the same key, so one of the two
// statements waits for the other's transaction and then takes the row it
// made: one contact, one address, and no advisory lock. A new contact costs
// one statement instead of six (lock, address update, verified-phone
// lookup, three inserts) and one round trip instead of two.
func (q *Queries) contactEnsureUpsert(ctx context.Context, p store.ContactEnsureParams) (domain.Contact, bool, error) {
	if !p.Inbound {
		// Not a message from the contact: a known address is only read,
		// never written.
		contactID, err := q.urnOwner(ctx, p.ProjectID, p.Scheme, p.Path)
		if err == nil {
			return q.contactFound(ctx, p, contactID)
		}
		if err != ErrNoRows {
			return domain.Contact{}, false, q.translate(err, "finding contact")
		}
	}
	contactID, err := q.contactAddressUpsert(ctx, p)
	if err == ErrNoRows {
		// Not inbound, and another transaction made the address between
		// the read above and the insert (which waited for it to commit): a
		// new statement sees its row.
		contactID, err = q.urnOwner(ctx, p.ProjectID, p.Scheme, p.Path)
	}
	if err != nil {
		return domain.Contact{}, false, q.translate(err, "finding or making contact address")
	}
	if contactID != p.NewID {
		// A known address, or a new one that joined the contact with its
		// verified phone.
		return q.contactFound(ctx, p, contactID)
	}
	// Made by this statement, whole, as on the other dialects; not read back.
	c := domain.Contact{ID: p.NewID, ProjectID: p.ProjectID, Name: p.Name, Phone: p.Phone, Fields: map[string]any{}, Tags: []string{},
		CreatedAt: p.Now.UTC(), UpdatedAt: p.Now.UTC()}
	if p.Inbound {
		t := p.Now.UTC()
		c.LastInboundAt = &t
	}
	return c, true, nil
}

// contactAddressUpsert inserts the address p names for a new contact
// p.NewID (or for the contact that already has p's verified phone), with
// that new contact's row and its verified phone's row, and returns the
// contact the address belongs to: p.NewID when this statement made it. An
// inbound message's known address has its inbound time and channel
// recorded instead; otherwise a known address is left alone and its
// conflict answers ErrNoRows.
func (q *Queries) contactAddressUpsert(ctx context.Context, p store.ContactEnsureParams) (string, error) {
	var inbound *time.Time
	if p.Inbound {
		t := p.Now.UTC()
		inbound = &t
	}
	verified := p.PhoneVerified && p.Phone != ""
	// The arguments of contactUpsertStatement's placeholders, in the
	// order of its text: the address (with its owner lookup when
	// verified), the contact, then the phone's own address row.
	args := append(make([]any, 0, 25), p.ProjectID, p.Scheme, p.Path)
	if verified {
		args = append(args, p.ProjectID, domain.SchemeTel, p.Phone)
	}
	args = append(args, p.NewID, p.ChannelID, inbound)
	args = append(args, p.NewID, p.ProjectID, p.Name, p.Phone, p.Simulated, inbound, p.Now, p.Now, p.NewID)
	phoneRow := verified && p.Scheme != domain.SchemeTel
	if phoneRow {
		args = append(args, p.ProjectID, domain.SchemeTel, p.Phone, p.NewID, p.NewID)
	}
	query := contactUpsertSQL[b2i(verified)][b2i(p.Inbound)][b2i(phoneRow)]
	var contactID string
	err := q.w.QueryRow(ctx, query, args...).Scan(&contactID)
	return contactID, err
}

// contactUpsertSQL is contactAddressUpsert's statement for each case
// [verified phone][inbound][the phone's own address row], built once: the
// statement is sent for every first message, and building it then cost
// more allocation than the rest of the call.
var contactUpsertSQL = func() (out [2][2][2]string) {
	for verified := range 2 {
		for inbound := range 2 {
			for phoneRow := range 2 {
				out[verified][inbound][phoneRow] = contactUpsertStatement(verified == 1, inbound == 1, phoneRow == 1)
			}
		}
	}
	return out
}()

func contactUpsertStatement(verified, inbound, phoneRow bool) string {
	owner := `?`
	if verified {
		// A new address whose verified phone a contact already has: the
		// same person on another channel, so the address is theirs.
		owner = `COALESCE((SELECT contact_id FROM contact_urns WHERE project_id = ? AND scheme = ? AND path = ?), ?)`
	}
	conflict := `DO NOTHING`
	if inbound {
		conflict = `DO UPDATE SET last_inbound_at = EXCLUDED.last_inbound_at,
			channel_id = CASE WHEN EXCLUDED.channel_id <> '' THEN EXCLUDED.channel_id ELSE contact_urns.channel_id END`
	}
	// The rows that reference the new contact come first in the text: the
	// foreign keys are checked at the end of the statement, when the
	// contact's row is there.
	query := `WITH u AS (INSERT INTO contact_urns (project_id, scheme, path, contact_id, channel_id, last_inbound_at)
		VALUES (?, ?, ?, ` + owner + `, ?, CAST(? AS TIMESTAMPTZ))
		ON CONFLICT (project_id, scheme, path) ` + conflict + `
		RETURNING contact_id),
	c AS (INSERT INTO contacts (id, project_id, name, phone, simulated, last_inbound_at, created_at, updated_at)
		SELECT ?, ?, ?, ?, CAST(? AS BOOLEAN), CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ) FROM u WHERE u.contact_id = ?)`
	if phoneRow {
		// The new contact's verified phone as an address of its own. No
		// ON CONFLICT: a contact made at the same moment from another
		// address with this phone fails the call, as it did under the lock.
		query += `,
	t AS (INSERT INTO contact_urns (project_id, scheme, path, contact_id, channel_id) SELECT ?, ?, ?, ?, '' FROM u WHERE u.contact_id = ?)`
	}
	return query + `
	SELECT contact_id FROM u`
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
