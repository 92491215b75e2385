package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/tracepack"
)

const channelCols = `id, project_id, type, name, address, config, secrets, status, created_at, updated_at`

func scanChannel(r Row) (domain.Channel, error) {
	var c domain.Channel
	var cfg string
	err := r.Scan(&c.ID, &c.ProjectID, &c.Type, &c.Name, &c.Address, &cfg, &c.Secrets, &c.Status, &c.CreatedAt, &c.UpdatedAt)
	c.Config = json.RawMessage(cfg)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

// ChannelCreate implements store.Queries.
func (q *Queries) ChannelCreate(ctx context.Context, c domain.Channel) (domain.Channel, error) {
	out, err := scanChannel(q.w.QueryRow(ctx, `INSERT INTO channels (`+channelCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+channelCols,
		c.ID, c.ProjectID, c.Type, c.Name, c.Address, jsonOrEmpty(c.Config), c.Secrets, c.Status, c.CreatedAt, c.UpdatedAt))
	if err != nil && q.d.IsUniqueViolation(err) {
		return out, domain.Errorf(domain.CodeConflict, "another %s channel already uses the address %q", c.Type, c.Address)
	}
	return out, q.translate(err, "creating channel")
}

// ChannelGet implements store.Queries.
func (q *Queries) ChannelGet(ctx context.Context, r store.Ref) (domain.Channel, error) {
	projectID, id := r.ProjectID, r.ID
	c, err := scanChannel(q.r.QueryRow(ctx, `SELECT `+channelCols+` FROM channels WHERE project_id = ? AND id = ?`, projectID, id))
	if err == ErrNoRows {
		return c, notFound("channel", id)
	}
	return c, q.translate(err, "getting channel")
}

// ChannelGetAny implements store.Queries.
func (q *Queries) ChannelGetAny(ctx context.Context, id string) (domain.Channel, error) {
	c, err := scanChannel(q.r.QueryRow(ctx, `SELECT `+channelCols+` FROM channels WHERE id = ?`, id))
	if err == ErrNoRows {
		return c, notFound("channel", id)
	}
	return c, q.translate(err, "getting channel")
}

// ChannelGetByAddress implements store.Queries.
func (q *Queries) ChannelGetByAddress(ctx context.Context, p store.ChannelGetByAddressParams) (domain.Channel, error) {
	typ, address := p.Type, p.Address
	c, err := scanChannel(q.r.QueryRow(ctx, `SELECT `+channelCols+` FROM channels WHERE type = ? AND address = ?`, typ, address))
	if err == ErrNoRows {
		return c, notFound(typ+" channel", address)
	}
	return c, q.translate(err, "getting channel by address")
}

// ChannelList implements store.Queries.
func (q *Queries) ChannelList(ctx context.Context, projectID string) ([]domain.Channel, error) {
	rows, err := q.r.Query(ctx, `SELECT `+channelCols+` FROM channels WHERE project_id = ? ORDER BY id`, projectID)
	out, err := collect(rows, err, func(r Rows) (domain.Channel, error) { return scanChannel(r) })
	if out == nil {
		out = []domain.Channel{}
	}
	return out, q.translate(err, "listing channels")
}

// ChannelListByType implements store.Queries.
func (q *Queries) ChannelListByType(ctx context.Context, typ string) ([]domain.Channel, error) {
	rows, err := q.r.Query(ctx, `SELECT `+channelCols+` FROM channels WHERE type = ? ORDER BY id`, typ)
	out, err := collect(rows, err, func(r Rows) (domain.Channel, error) { return scanChannel(r) })
	return out, q.translate(err, "listing channels by type")
}

// ChannelUpdate implements store.Queries.
func (q *Queries) ChannelUpdate(ctx context.Context, c domain.Channel) (domain.Channel, error) {
	out, err := scanChannel(q.w.QueryRow(ctx, `UPDATE channels SET name = ?, address = ?, config = ?, secrets = ?, status = ?, updated_at = ?
		WHERE project_id = ? AND id = ? RETURNING `+channelCols,
		c.Name, c.Address, jsonOrEmpty(c.Config), c.Secrets, c.Status, c.UpdatedAt, c.ProjectID, c.ID))
	switch {
	case err == ErrNoRows:
		return out, notFound("channel", c.ID)
	case err != nil && q.d.IsUniqueViolation(err):
		return out, domain.Errorf(domain.CodeConflict, "another %s channel already uses the address %q", c.Type, c.Address)
	}
	return out, q.translate(err, "updating channel")
}

// ChannelDelete implements store.Queries.
func (q *Queries) ChannelDelete(ctx context.Context, r store.Ref) error {
	projectID, id := r.ProjectID, r.ID
	n, err := q.w.Exec(ctx, `DELETE FROM channels WHERE project_id = ? AND id = ?`, projectID, id)
	if err == nil && n == 0 {
		return notFound("channel", id)
	}
	return q.translate(err, "deleting channel")
}

const contactCols = `id, project_id, name, phone, language, fields, tags, opted_out, opted_out_at, assignee, last_inbound_at, created_at, updated_at`

func scanContact(r Row) (domain.Contact, error) {
	var c domain.Contact
	dest, finish := contactDest(&c)
	if err := r.Scan(dest...); err != nil {
		return c, err
	}
	finish()
	return c, nil
}

// contactDest is where a row of contactCols scans into c, and what to do
// after a scan that succeeded.
func contactDest(c *domain.Contact) ([]any, func()) {
	var fields, tags string
	return []any{&c.ID, &c.ProjectID, &c.Name, &c.Phone, &c.Language, &fields, &tags, &c.OptedOut, &c.OptedOutAt, &c.Assignee, &c.LastInboundAt, &c.CreatedAt, &c.UpdatedAt}, func() {
		// Most contacts have neither fields nor tags: no decoding for those.
		if fields == "{}" || json.Unmarshal([]byte(fields), &c.Fields) != nil || c.Fields == nil {
			c.Fields = map[string]any{}
		}
		if tags == "[]" || json.Unmarshal([]byte(tags), &c.Tags) != nil || c.Tags == nil {
			c.Tags = []string{}
		}
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		c.OptedOutAt, c.LastInboundAt = utcPtr(c.OptedOutAt), utcPtr(c.LastInboundAt)
	}
}

func marshalJSON(v any, empty string) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return empty
	}
	return string(b)
}

// ContactEnsure implements store.Queries.
func (q *Queries) ContactEnsure(ctx context.Context, p store.ContactEnsureParams) (domain.Contact, bool, error) {
	if q.d.EnsureInOneStatement {
		return q.contactEnsureUpsert(ctx, p)
	}
	if q.d.LockKey != "" {
		// Two first messages from one address at once must make one
		// contact. Held back: it goes with the lookup below, in order.
		if err := q.execLater(ctx, "locking contact address", "SELECT "+q.d.LockKey, "contact:"+p.ProjectID+":"+p.Scheme+":"+p.Path); err != nil {
			return domain.Contact{}, false, err
		}
	}
	var contactID string
	var err error
	if p.Inbound {
		// A known address (the usual case) is found and its inbound time
		// recorded in one statement.
		err = q.w.QueryRow(ctx, `UPDATE contact_urns SET last_inbound_at = ?, channel_id = CASE WHEN ? <> '' THEN ? ELSE channel_id END
			WHERE project_id = ? AND scheme = ? AND path = ? RETURNING contact_id`, p.Now, p.ChannelID, p.ChannelID, p.ProjectID, p.Scheme, p.Path).Scan(&contactID)
	} else {
		contactID, err = q.urnOwner(ctx, p.ProjectID, p.Scheme, p.Path)
	}
	if err == ErrNoRows && p.PhoneVerified && p.Phone != "" {
		// A new address whose verified phone a contact already has: the
		// same person on another channel.
		var owner string
		owner, err = q.urnOwner(ctx, p.ProjectID, domain.SchemeTel, p.Phone)
		if err == nil {
			return q.joinContact(ctx, p, owner)
		}
		if err != ErrNoRows {
			return domain.Contact{}, false, q.translate(err, "finding contact by verified phone")
		}
	}
	if err == ErrNoRows {
		// A new contact: written whole, with its inbound time, and not read
		// back (this is on every first message, on the single writer). Its
		// rows are held back for the caller's next statement: under the
		// address's lock nobody else inserts them, so their errors are
		// failures, never a path to choose.
		c := domain.Contact{ID: p.NewID, ProjectID: p.ProjectID, Name: p.Name, Phone: p.Phone, Fields: map[string]any{}, Tags: []string{},
			CreatedAt: p.Now.UTC(), UpdatedAt: p.Now.UTC()}
		var inbound *time.Time
		if p.Inbound {
			t := p.Now.UTC()
			inbound, c.LastInboundAt = &t, &t
		}
		if err := q.execLater(ctx, "creating contact", `INSERT INTO contacts (id, project_id, name, phone, simulated, last_inbound_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, p.ProjectID, p.Name, p.Phone, p.Simulated, inbound, p.Now, p.Now); err != nil {
			return domain.Contact{}, false, err
		}
		if err := q.execLater(ctx, "creating contact address", `INSERT INTO contact_urns (project_id, scheme, path, contact_id, channel_id, last_inbound_at) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ProjectID, p.Scheme, p.Path, c.ID, p.ChannelID, inbound); err != nil {
			return domain.Contact{}, false, err
		}
		if p.PhoneVerified && p.Phone != "" && p.Scheme != domain.SchemeTel {
			if err := q.execLater(ctx, "recording verified phone", `INSERT INTO contact_urns (project_id, scheme, path, contact_id, channel_id) VALUES (?, ?, ?, ?, '')`,
				p.ProjectID, domain.SchemeTel, p.Phone, c.ID); err != nil {
				return domain.Contact{}, false, err
			}
		}
		return c, true, nil
	}
	if err != nil {
		return domain.Contact{}, false, q.translate(err, "finding contact")
	}
	return q.contactFound(ctx, p, contactID)
}

// contactFound reads contact id, found by the address p names, and records
// an inbound message's time and name on it.
func (q *Queries) contactFound(ctx context.Context, p store.ContactEnsureParams, contactID string) (domain.Contact, bool, error) {
	if !p.Inbound {
		c, err := scanContact(q.w.QueryRow(ctx, `SELECT `+contactCols+` FROM contacts WHERE id = ?`, contactID))
		return c, false, q.translate(err, "reading contact")
	}
	// A profile name from the channel fills an empty name, never
	// overwrites one someone set.
	c, err := scanContact(q.w.QueryRow(ctx, `UPDATE contacts SET last_inbound_at = ?, updated_at = ?, name = CASE WHEN name = '' THEN ? ELSE name END
		WHERE id = ? RETURNING `+contactCols, p.Now, p.Now, p.Name, contactID))
	if err != nil {
		return c, false, q.translate(err, "recording inbound time")
	}
	if p.PhoneVerified && p.Phone != "" && p.Scheme != domain.SchemeTel && c.Phone != p.Phone {
		// A known address now reports a verified phone the contact does
		// not have (checked on the row just read, so the usual message
		// costs nothing more): one indexed lookup finds who has it.
		c, err = q.adoptVerifiedPhone(ctx, p, c)
	}
	return c, false, err
}

// adoptVerifiedPhone handles a verified phone reported later by a known
// address of contact c: when another contact already has that verified
// phone, c is merged into it (the same person on two channels, as on a
// first message); when nobody has it, it becomes c's verified phone. Two
// contacts that both have a flow session in progress are left apart (the
// merge would have to drop one), to be merged by hand.
func (q *Queries) adoptVerifiedPhone(ctx context.Context, p store.ContactEnsureParams, c domain.Contact) (domain.Contact, error) {
	owner, err := q.urnOwner(ctx, p.ProjectID, domain.SchemeTel, p.Phone)
	switch {
	case err == ErrNoRows:
		if _, err := q.w.Exec(ctx, `INSERT INTO contact_urns (project_id, scheme, path, contact_id, channel_id) VALUES (?, ?, ?, ?, '')`,
			p.ProjectID, domain.SchemeTel, p.Phone, c.ID); err != nil {
			return c, q.translate(err, "recording verified phone")
		}
		out, err := scanContact(q.w.QueryRow(ctx, `UPDATE contacts SET phone = ? WHERE id = ? RETURNING `+contactCols, p.Phone, c.ID))
		return out, q.translate(err, "recording verified phone on contact")
	case err != nil:
		return c, q.translate(err, "finding contact by verified phone")
	case owner == c.ID:
		return c, nil
	}
	var live int
	if err := q.w.QueryRow(ctx, `SELECT COUNT(DISTINCT contact_id) FROM flow_sessions WHERE contact_id IN (?, ?) AND status IN ('active', 'waiting') AND NOT simulated`,
		owner, c.ID).Scan(&live); err != nil {
		return c, q.translate(err, "checking sessions of contacts to merge")
	}
	if live > 1 {
		return c, nil
	}
	return q.ContactMerge(ctx, store.ContactMergeParams{ProjectID: p.ProjectID, IntoID: owner, FromID: c.ID, Now: p.Now})
}

// joinContact adds the address p names to contact id (found by its
// verified phone) and records the inbound time.
func (q *Queries) joinContact(ctx context.Context, p store.ContactEnsureParams, id string) (domain.Contact, bool, error) {
	var inbound *time.Time
	if p.Inbound {
		t := p.Now.UTC()
		inbound = &t
	}
	// Held back: the read below sends it.
	if err := q.execLater(ctx, "adding address to contact", `INSERT INTO contact_urns (project_id, scheme, path, contact_id, channel_id, last_inbound_at) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ProjectID, p.Scheme, p.Path, id, p.ChannelID, inbound); err != nil {
		return domain.Contact{}, false, err
	}
	if !p.Inbound {
		c, err := scanContact(q.w.QueryRow(ctx, `SELECT `+contactCols+` FROM contacts WHERE id = ?`, id))
		return c, false, q.translate(err, "reading contact")
	}
	c, err := scanContact(q.w.QueryRow(ctx, `UPDATE contacts SET last_inbound_at = ?, updated_at = ?, name = CASE WHEN name = '' THEN ? ELSE name END
		WHERE id = ? RETURNING `+contactCols, p.Now, p.Now, p.Name, id))
	return c, false, q.translate(err, "recording inbound time")
}

// ContactGet implements store.Queries.
func (q *Queries) ContactGet(ctx context.Context, r store.Ref) (domain.Contact, error) {
	projectID, id := r.ProjectID, r.ID
	c, err := scanContact(q.r.QueryRow(ctx, `SELECT `+contactCols+` FROM contacts WHERE project_id = ? AND id = ?`, projectID, id))
	if err == ErrNoRows {
		return c, notFound("contact", id)
	}
	return c, q.translate(err, "getting contact")
}

// ContactGetByURN implements store.Queries.
func (q *Queries) ContactGetByURN(ctx context.Context, p store.ContactGetByURNParams) (domain.Contact, error) {
	c, err := scanContact(q.r.QueryRow(ctx, `SELECT `+prefixed("c.", contactCols)+` FROM contact_urns u JOIN contacts c ON c.id = u.contact_id
		WHERE u.project_id = ? AND u.scheme = ? AND u.path = ?`, p.ProjectID, p.Scheme, p.Path))
	if err == ErrNoRows {
		return c, notFound("contact with address", p.Scheme+":"+p.Path)
	}
	return c, q.translate(err, "getting contact by address")
}

// prefixed qualifies every column of a column list with a table alias
// (the list may break lines after its commas).
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i := range parts {
		parts[i] = alias + strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, ", ")
}

// ContactMerge implements store.Queries.
func (q *Queries) ContactMerge(ctx context.Context, p store.ContactMergeParams) (domain.Contact, error) {
	if p.IntoID == p.FromID {
		return domain.Contact{}, domain.Errorf(domain.CodeUnprocessable, "a contact cannot be merged into itself")
	}
	into, err := scanContact(q.w.QueryRow(ctx, `SELECT `+contactCols+` FROM contacts WHERE project_id = ? AND id = ?`+q.d.ForUpdate, p.ProjectID, p.IntoID))
	if err == ErrNoRows {
		return into, notFound("contact", p.IntoID)
	}
	if err != nil {
		return into, q.translate(err, "reading contact to merge into")
	}
	from, err := scanContact(q.w.QueryRow(ctx, `SELECT `+contactCols+` FROM contacts WHERE project_id = ? AND id = ?`+q.d.ForUpdate, p.ProjectID, p.FromID))
	if err == ErrNoRows {
		return into, notFound("contact", p.FromID)
	}
	if err != nil {
		return into, q.translate(err, "reading contact to merge")
	}
	var live int
	if err := q.w.QueryRow(ctx, `SELECT COUNT(DISTINCT contact_id) FROM flow_sessions WHERE contact_id IN (?, ?) AND status IN ('active', 'waiting') AND NOT simulated`,
		p.IntoID, p.FromID).Scan(&live); err != nil {
		return into, q.translate(err, "checking sessions of contacts to merge")
	}
	if live > 1 {
		return into, domain.Errorf(domain.CodeConflict, "both contacts have a flow session in progress; interrupt one first")
	}
	for _, table := range []string{"contact_urns", "messages", "contact_events", "flow_sessions"} {
		if _, err := q.w.Exec(ctx, `UPDATE `+table+` SET contact_id = ? WHERE project_id = ? AND contact_id = ?`, p.IntoID, p.ProjectID, p.FromID); err != nil {
			return into, q.translate(err, "moving the "+table+" of a merged contact")
		}
	}
	if into.Name == "" {
		into.Name = from.Name
	}
	if into.Phone == "" {
		into.Phone = from.Phone
	}
	if into.Language == "" {
		into.Language = from.Language
	}
	for k, v := range from.Fields {
		if _, set := into.Fields[k]; !set {
			into.Fields[k] = v
		}
	}
	seen := map[string]bool{}
	for _, t := range into.Tags {
		seen[t] = true
	}
	for _, t := range from.Tags {
		if !seen[t] {
			into.Tags, seen[t] = append(into.Tags, t), true
		}
	}
	if from.OptedOut && !into.OptedOut {
		into.OptedOut, into.OptedOutAt = true, from.OptedOutAt
	}
	if into.Assignee == "" {
		into.Assignee = from.Assignee
	}
	if from.LastInboundAt != nil && (into.LastInboundAt == nil || from.LastInboundAt.After(*into.LastInboundAt)) {
		into.LastInboundAt = from.LastInboundAt
	}
	if _, err := q.w.Exec(ctx, `DELETE FROM contacts WHERE project_id = ? AND id = ?`, p.ProjectID, p.FromID); err != nil {
		return into, q.translate(err, "deleting a merged contact")
	}
	out, err := scanContact(q.w.QueryRow(ctx, `UPDATE contacts SET name = ?, phone = ?, language = ?, fields = ?, tags = ?, opted_out = ?, opted_out_at = ?, assignee = ?,
			last_inbound_at = ?, updated_at = ? WHERE project_id = ? AND id = ? RETURNING `+contactCols,
		into.Name, into.Phone, into.Language, marshalJSON(into.Fields, "{}"), marshalJSON(into.Tags, "[]"), into.OptedOut, into.OptedOutAt, into.Assignee,
		into.LastInboundAt, p.Now, p.ProjectID, p.IntoID))
	return out, q.translate(err, "saving a merged contact")
}

// ContactList implements store.Queries.
func (q *Queries) ContactList(ctx context.Context, p store.ContactListParams) (store.List[domain.Contact], error) {
	sql := `SELECT ` + contactCols + `, ` + waitingForHuman + ` FROM contacts WHERE project_id = ? AND NOT simulated`
	args := []any{p.ProjectID}
	if p.WaitingForHuman {
		sql += ` AND ` + waitingForHuman
	}
	if p.Search != "" {
		sql += ` AND (lower(name) LIKE ? OR phone LIKE ?)`
		like := "%" + escapeLike(p.Search) + "%"
		args = append(args, lowerASCII(like), like)
	}
	if p.Tag != "" {
		sql += ` AND CAST(tags AS TEXT) LIKE ?`
		args = append(args, "%"+escapeLike(marshalJSON(p.Tag, `""`))+"%")
	}
	where, limit, pargs := pageClause(p.Page, "id")
	rows, err := q.r.Query(ctx, sql+where+limit, append(args, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (domain.Contact, error) {
		var waiting bool
		c, err := scanContact(withExtra{r, []any{&waiting}})
		c.WaitingForHuman = waiting
		return c, err
	})
	if err != nil {
		return store.List[domain.Contact]{}, q.translate(err, "listing contacts")
	}
	return finishPage(items, p.Page, func(c domain.Contact) string { return c.ID }), nil
}

// waitingForHuman is true for a contact whose live (not simulated)
// session waits at a handoff; it uses the live-session index.
const waitingForHuman = `EXISTS (SELECT 1 FROM flow_sessions s WHERE s.contact_id = contacts.id AND s.status IN ('active', 'waiting') AND NOT s.simulated AND s.waiting_for = 'handoff')`

// withExtra scans a row's trailing columns into extra after the ones a
// scan function asks for.
type withExtra struct {
	Row
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.Row.Scan(append(dest, w.extra...)...) }

// escapeLike drops LIKE's wildcards from user text: both databases treat
// % and _ specially and we do not declare an ESCAPE character.
func escapeLike(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' && s[i] != '_' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// ContactUpdate implements store.Queries: it saves the editable fields.
func (q *Queries) ContactUpdate(ctx context.Context, c domain.Contact) (domain.Contact, error) {
	out, err := scanContact(q.w.QueryRow(ctx, `UPDATE contacts SET name = ?, phone = ?, language = ?, fields = ?, tags = ?, opted_out = ?, opted_out_at = ?, assignee = ?, updated_at = ?
		WHERE project_id = ? AND id = ? RETURNING `+contactCols,
		c.Name, c.Phone, c.Language, marshalJSON(c.Fields, "{}"), marshalJSON(c.Tags, "[]"), c.OptedOut, c.OptedOutAt, c.Assignee, c.UpdatedAt, c.ProjectID, c.ID))
	if err == ErrNoRows {
		return out, notFound("contact", c.ID)
	}
	return out, q.translate(err, "updating contact")
}

// ContactURNs implements store.Queries.
func (q *Queries) ContactURNs(ctx context.Context, r store.Ref) ([]domain.URN, error) {
	projectID, contactID := r.ProjectID, r.ID
	rows, err := q.r.Query(ctx, `SELECT project_id, scheme, path, contact_id, channel_id, last_inbound_at FROM contact_urns
		WHERE project_id = ? AND contact_id = ? ORDER BY scheme, path`, projectID, contactID)
	out, err := collect(rows, err, func(r Rows) (domain.URN, error) {
		var u domain.URN
		err := r.Scan(&u.ProjectID, &u.Scheme, &u.Path, &u.ContactID, &u.ChannelID, &u.LastInboundAt)
		u.LastInboundAt = utcPtr(u.LastInboundAt)
		return u, err
	})
	if out == nil {
		out = []domain.URN{}
	}
	return out, q.translate(err, "listing contact addresses")
}

// ContactLock implements store.Queries.
func (q *Queries) ContactLock(ctx context.Context, r store.Ref) error {
	projectID, contactID := r.ProjectID, r.ID
	if d, ok := q.w.(Deferrer); ok && q.d.Name == "postgres" {
		// Held back: the lock is taken, in order, before the statements
		// sent with it; a contact that is gone divides one by zero rows.
		return d.ExecDeferred(ctx, func(err error) error {
			if sqlState(err) == sqlStateDivisionByZero {
				return notFound("contact", contactID)
			}
			return q.translate(err, "locking contact")
		}, `SELECT 1 / COUNT(*) FROM (SELECT id FROM contacts WHERE project_id = ? AND id = ?`+q.d.ForUpdate+`) locked`, projectID, contactID)
	}
	var id string
	err := q.w.QueryRow(ctx, `SELECT id FROM contacts WHERE project_id = ? AND id = ?`+q.d.ForUpdate, projectID, contactID).Scan(&id)
	if err == ErrNoRows {
		return notFound("contact", contactID)
	}
	return q.translate(err, "locking contact")
}

const messageCols = `id, project_id, contact_id, channel_id, session_id, direction, type, content, status, provider_id, error_code, error_reason, priority, created_at, updated_at, sent_at, due_at, attempts`

func scanMessage(r Row) (domain.Message, error) {
	var m domain.Message
	var content string
	var provider *string
	err := r.Scan(&m.ID, &m.ProjectID, &m.ContactID, &m.ChannelID, &m.SessionID, &m.Direction, &m.Type, &content, &m.Status, &provider,
		&m.ErrorCode, &m.ErrorReason, &m.Priority, &m.CreatedAt, &m.UpdatedAt, &m.SentAt, &m.DueAt, &m.Attempts)
	m.Content = json.RawMessage(content)
	if provider != nil {
		m.ProviderID = *provider
	}
	m.CreatedAt, m.UpdatedAt, m.SentAt, m.DueAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC(), utcPtr(m.SentAt), utcPtr(m.DueAt)
	return m, err
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// MessageCreate implements store.Queries.
func (q *Queries) MessageCreate(ctx context.Context, m domain.Message) (domain.Message, error) {
	insert, args, out := messageInsert(m)
	if m.ProviderID == "" {
		// Without a provider ID (every message Parley creates) there is
		// no re-delivery to detect: the insert is held back for the next
		// statement, and any error of it is a failure.
		if err := q.execLater(ctx, "storing message", insert, args...); err != nil {
			return m, err
		}
		return out, nil
	}
	n, err := q.w.Exec(ctx, insert, args...)
	if err != nil {
		return m, q.translate(err, "storing message")
	}
	if n == 0 {
		return m, alreadyReceived(m)
	}
	return out, nil
}

// alreadyReceived is the conflict of a message the channel delivered before.
func alreadyReceived(m domain.Message) error {
	return &domain.Error{Code: domain.CodeConflict, Message: "message " + m.ProviderID + " was already received"}
}

// messageInsertSQL stores a message.
const messageInsertSQL = `INSERT INTO messages (id, project_id, contact_id, channel_id, session_id, direction, type, content, status, status_rank,
			provider_id, error_code, error_reason, priority, created_at, updated_at, sent_at, due_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// messageReceiveSQL stores a message with a provider ID unless the channel
// delivered it before.
const messageReceiveSQL = messageInsertSQL + `
		ON CONFLICT (channel_id, direction, provider_id) WHERE provider_id IS NOT NULL DO NOTHING`

// messageInsert is the statement storing m, its arguments, and m as a read
// would give it back.
func messageInsert(m domain.Message) (string, []any, domain.Message) {
	if m.Priority == "" {
		m.Priority = "reply"
	}
	// A queued outbound message is the sender's work item: due_at says when
	// a sender other than the one its creator notifies may take it.
	var due *time.Time
	if m.Status == domain.MessageQueued && m.Direction == domain.DirectionOut {
		due = m.DueAt
		if due == nil {
			due = &m.CreatedAt
		}
	}
	// A channel's re-delivery of a message is not an error of the
	// statement (which on PostgreSQL would abort the transaction): nothing
	// is inserted. Without a provider ID there is nothing to re-deliver,
	// and no conflict clause (PostgreSQL's speculative insertion writes a
	// second WAL record for every row it inserts).
	insert := messageInsertSQL
	if m.ProviderID != "" {
		insert = messageReceiveSQL
	}
	args := []any{m.ID, m.ProjectID, m.ContactID, m.ChannelID, m.SessionID, m.Direction, m.Type, jsonOrEmpty(m.Content), m.Status, domain.StatusRank(m.Status),
		nullIfEmpty(m.ProviderID), m.ErrorCode, m.ErrorReason, m.Priority, m.CreatedAt, m.CreatedAt, m.SentAt, due}
	out := m
	if len(out.Content) == 0 {
		out.Content = json.RawMessage("{}")
	}
	out.CreatedAt, out.UpdatedAt, out.SentAt, out.DueAt = m.CreatedAt.UTC(), m.CreatedAt.UTC(), utcPtr(m.SentAt), utcPtr(due)
	return insert, args, out
}

// MessageReceive implements store.Queries: the event is queued only if
// the message's insert made its row (a re-delivered message's insert does
// nothing, so its event inserts no row either, and that answers
// "duplicate"). On PostgreSQL the two are one statement, the insert in a
// WITH; elsewhere the message's insert is held back and goes with its
// event's, which finds the row, without waiting for the insert's answer.
func (q *Queries) MessageReceive(ctx context.Context, p store.MessageReceiveParams) (store.Received, error) {
	insert, args, m := messageInsert(p.Message)
	e := p.Event
	e.MessageID = m.ID
	if e.DueAt.IsZero() {
		e.DueAt = e.CreatedAt
	}
	queue := `INSERT INTO contact_events (project_id, contact_id, kind, message_id, payload, dedupe_key, created_at, due_at)
		SELECT ?, ?, ?, m.id, ?, ?, ?, ? FROM messages m WHERE m.id = ?`
	eargs := []any{e.ProjectID, e.ContactID, e.Kind, jsonOrEmpty(e.Payload), nullIfEmpty(e.DedupeKey), e.CreatedAt, e.DueAt, m.ID}
	what := "queueing the received message's event"
	if q.d.UpdateInWith {
		// One statement for both: the event is made from the row the
		// insert returns, and a re-delivery's insert returns none.
		queue = `WITH m AS (` + insert + ` RETURNING id)
			INSERT INTO contact_events (project_id, contact_id, kind, message_id, payload, dedupe_key, created_at, due_at)
			SELECT ?, ?, ?, m.id, ?, ?, ?, ? FROM m`
		eargs = append(append(make([]any, 0, len(args)+len(eargs)), args...), eargs[:len(eargs)-1]...)
		what = "storing the received message and queueing its event"
	} else if err := q.execLater(ctx, "storing message", insert, args...); err != nil {
		return store.Received{}, err
	}
	queueReturning := queue + ` RETURNING seq`
	taken := func(err error) error {
		// Only an event with a dedupe key can collide with one queued
		// before; any other unique violation (on PostgreSQL, the
		// message's own, in the same statement) is not "already queued".
		if e.DedupeKey != "" && q.d.IsUniqueViolation(err) {
			return &domain.Error{Code: domain.CodeConflict, Message: "event " + e.DedupeKey + " was already queued", Err: err}
		}
		return q.translate(err, what)
	}
	if _, ok := q.w.(Deferrer); ok && p.ReadInbox > 0 {
		// The event's insert is held back too, and the inbox read after
		// it answers for both: the new event is among the contact's
		// pending ones, or the message was a re-delivery.
		if err := q.execLaterWrap(ctx, taken, queue, eargs...); err != nil {
			return store.Received{}, err
		}
		in, err := q.ContactEventsNextWithContact(ctx, store.ContactEventsNextParams{ContactID: e.ContactID, Limit: p.ReadInbox})
		if err != nil {
			return store.Received{}, err
		}
		for _, pending := range in.Events {
			if pending.MessageID == m.ID {
				return store.Received{Message: m, Event: pending, Inbox: &in}, nil
			}
		}
		if len(in.Events) < p.ReadInbox {
			return store.Received{}, alreadyReceived(m)
		}
		// More pending than read: the event's own row says.
		var seq int64
		err = q.w.QueryRow(ctx, `SELECT seq FROM contact_events WHERE contact_id = ? AND handled_at IS NULL AND message_id = ?`, e.ContactID, m.ID).Scan(&seq)
		switch {
		case err == ErrNoRows:
			return store.Received{}, alreadyReceived(m)
		case err != nil:
			return store.Received{}, q.translate(err, "reading the received message's event")
		}
		return store.Received{Message: m, Event: appended(e, seq)}, nil
	}
	var seq int64
	err := q.w.QueryRow(ctx, queueReturning, eargs...).Scan(&seq)
	switch {
	case err == ErrNoRows:
		return store.Received{}, alreadyReceived(m)
	case err != nil:
		return store.Received{}, taken(err)
	}
	return store.Received{Message: m, Event: appended(e, seq)}, nil
}

// MessageGet implements store.Queries.
func (q *Queries) MessageGet(ctx context.Context, r store.Ref) (domain.Message, error) {
	projectID, id := r.ProjectID, r.ID
	m, err := scanMessage(q.r.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE project_id = ? AND id = ?`, projectID, id))
	if err == ErrNoRows {
		return m, notFound("message", id)
	}
	return m, q.translate(err, "getting message")
}

// MessageGetByProviderID implements store.Queries.
func (q *Queries) MessageGetByProviderID(ctx context.Context, p store.MessageGetByProviderIDParams) (domain.Message, error) {
	channelID, direction, providerID := p.ChannelID, p.Direction, p.ProviderID
	m, err := scanMessage(q.r.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE channel_id = ? AND direction = ? AND provider_id = ?`, channelID, direction, providerID))
	if err == ErrNoRows {
		return m, notFound("message", providerID)
	}
	return m, q.translate(err, "getting message by provider ID")
}

// MessageList implements store.Queries.
func (q *Queries) MessageList(ctx context.Context, p store.MessageListParams) (store.List[domain.Message], error) {
	where, limit, pargs := pageClause(p.Page, "id")
	sql, args := `SELECT `+messageCols+` FROM messages WHERE project_id = ? AND contact_id = ?`, []any{p.ProjectID, p.ContactID}
	if p.ChannelID != "" {
		sql += ` AND channel_id = ?`
		args = append(args, p.ChannelID)
	}
	rows, err := q.r.Query(ctx, sql+where+limit, append(args, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (domain.Message, error) { return scanMessage(r) })
	if err != nil {
		return store.List[domain.Message]{}, q.translate(err, "listing messages")
	}
	return finishPage(items, p.Page, func(m domain.Message) string { return m.ID }), nil
}

// MessageSetStatus implements store.Queries.
func (q *Queries) MessageSetStatus(ctx context.Context, p store.MessageStatusParams) (bool, error) {
	sql, args := messageStatusUpdate(p)
	n, err := q.w.Exec(ctx, sql, args...)
	if err != nil {
		return false, q.translate(err, "updating message status")
	}
	return n > 0, nil
}

// MessageStatusMove implements store.Queries: where the database allows,
// the update and the look for the message it did not move are one
// statement (whose look sees the rows as they were before the update).
func (q *Queries) MessageStatusMove(ctx context.Context, p store.MessageStatusParams) (store.StatusMove, error) {
	sql, args := messageStatusUpdate(p)
	var out store.StatusMove
	if q.d.UpdateInWith {
		err := q.w.QueryRow(ctx, `WITH moved AS (`+sql+` RETURNING 1)
			SELECT EXISTS (SELECT 1 FROM moved), EXISTS (SELECT 1 FROM messages WHERE id = ? AND (? = '' OR project_id = ?))`,
			append(args, p.ID, p.ProjectID, p.ProjectID)...).Scan(&out.Moved, &out.Found)
		return out, q.translate(err, "updating message status")
	}
	n, err := q.w.Exec(ctx, sql, args...)
	if err != nil {
		return out, q.translate(err, "updating message status")
	}
	if out.Moved = n > 0; out.Moved {
		out.Found = true
		return out, nil
	}
	err = q.w.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE id = ? AND (? = '' OR project_id = ?))`, p.ID, p.ProjectID, p.ProjectID).Scan(&out.Found)
	return out, q.translate(err, "looking for the message a status did not move")
}

// MessageRecordStatus implements store.Queries.
func (q *Queries) MessageRecordStatus(ctx context.Context, p store.MessageStatusParams) error {
	sql, args := messageStatusUpdate(p)
	return q.execLater(ctx, "updating message status", sql, args...)
}

// messageStatusUpdate is the statement that moves a message's status
// forward.
func messageStatusUpdate(p store.MessageStatusParams) (string, []any) {
	rank := domain.StatusRank(p.Status)
	sentAt := p.Now
	if !p.SentAt.IsZero() {
		sentAt = p.SentAt
	}
	// due_at, the send lease, is cleared as the message leaves the queue:
	// on PostgreSQL the outbox index holds a message while it has one, and
	// no later status then touches an indexed column (a HOT update).
	return `UPDATE messages SET status = ?, status_rank = ?, due_at = NULL,
			provider_id = COALESCE(provider_id, ?),
			error_code = CASE WHEN ? <> '' THEN ? ELSE error_code END,
			error_reason = CASE WHEN ? <> '' THEN ? ELSE error_reason END,
			sent_at = CASE WHEN sent_at IS NULL AND ? >= 2 AND ? <> 4 THEN ? ELSE sent_at END,
			updated_at = ?
		WHERE id = ? AND (? = '' OR project_id = ?) AND status_rank < ?
			AND NOT (status = 'failed' AND provider_id IS NULL)`,
		[]any{p.Status, rank, nullIfEmpty(p.ProviderID), p.ErrorCode, p.ErrorCode, p.ErrorReason, p.ErrorReason, rank, rank, sentAt, p.Now, p.ID, p.ProjectID, p.ProjectID, rank}
}

const contactEventCols = `seq, project_id, contact_id, kind, message_id, payload, dedupe_key, created_at, handled_at, result, due_at, attempts`

func scanContactEvent(r Row) (domain.ContactEvent, error) {
	var e domain.ContactEvent
	dest, finish := contactEventDest(&e)
	err := r.Scan(dest...)
	finish()
	return e, err
}

// contactEventDest is where a row of contactEventCols scans into e, and
// what to do after.
func contactEventDest(e *domain.ContactEvent) ([]any, func()) {
	var payload string
	var dedupe *string
	var due *time.Time
	return []any{&e.Seq, &e.ProjectID, &e.ContactID, &e.Kind, &e.MessageID, &payload, &dedupe, &e.CreatedAt, &e.HandledAt, &e.Result, &due, &e.Attempts}, func() {
		e.Payload = json.RawMessage(payload)
		if dedupe != nil {
			e.DedupeKey = *dedupe
		}
		if due != nil {
			e.DueAt = due.UTC()
		}
		e.CreatedAt, e.HandledAt = e.CreatedAt.UTC(), utcPtr(e.HandledAt)
	}
}

// ContactEventAppend implements store.Queries.
func (q *Queries) ContactEventAppend(ctx context.Context, e domain.ContactEvent) (domain.ContactEvent, error) {
	if e.DueAt.IsZero() {
		e.DueAt = e.CreatedAt
	}
	var seq int64
	err := q.w.QueryRow(ctx, `INSERT INTO contact_events (project_id, contact_id, kind, message_id, payload, dedupe_key, created_at, due_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		e.ProjectID, e.ContactID, e.Kind, e.MessageID, jsonOrEmpty(e.Payload), nullIfEmpty(e.DedupeKey), e.CreatedAt, e.DueAt).Scan(&seq)
	if err != nil && q.d.IsUniqueViolation(err) {
		return domain.ContactEvent{}, &domain.Error{Code: domain.CodeConflict, Message: "event " + e.DedupeKey + " was already queued", Err: err}
	}
	if err != nil {
		return domain.ContactEvent{}, q.translate(err, "queueing contact event")
	}
	return appended(e, seq), nil
}

// appended is e as stored at seq, as a read would give it back.
func appended(e domain.ContactEvent, seq int64) domain.ContactEvent {
	if len(e.Payload) == 0 {
		e.Payload = json.RawMessage("{}")
	}
	if e.DueAt.IsZero() {
		e.DueAt = e.CreatedAt
	}
	e.Seq, e.CreatedAt, e.DueAt, e.HandledAt, e.Result, e.Attempts = seq, e.CreatedAt.UTC(), e.DueAt.UTC(), nil, "", 0
	return e
}

// ContactEventsAppendNew implements store.Queries, in one statement: the
// dedupe key's unique index decides which are new.
func (q *Queries) ContactEventsAppendNew(ctx context.Context, events []domain.ContactEvent) ([]domain.ContactEvent, error) {
	if len(events) == 0 {
		return nil, nil
	}
	var sql strings.Builder
	sql.WriteString(`INSERT INTO contact_events (project_id, contact_id, kind, message_id, payload, dedupe_key, created_at, due_at) VALUES `)
	args := make([]any, 0, 8*len(events))
	byKey := make(map[string]int, len(events))
	for i, e := range events {
		if e.DedupeKey == "" {
			return nil, &domain.Error{Code: domain.CodeInvalid, Message: fmt.Sprintf("event %d of %d has no dedupe key: nothing could tell whether it is new", i+1, len(events))}
		}
		if _, dup := byKey[e.DedupeKey]; dup {
			return nil, &domain.Error{Code: domain.CodeInvalid, Message: "dedupe key " + e.DedupeKey + " is given twice"}
		}
		byKey[e.DedupeKey] = i
		if e.DueAt.IsZero() {
			e.DueAt = e.CreatedAt
		}
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, e.ProjectID, e.ContactID, e.Kind, e.MessageID, jsonOrEmpty(e.Payload), e.DedupeKey, e.CreatedAt, e.DueAt)
	}
	// The predicate infers PostgreSQL's partial unique index on the key
	// (NULLs, a message's event, are not indexed); SQLite's key is a
	// plain UNIQUE constraint, which a conflict target matches whatever
	// its WHERE.
	sql.WriteString(` ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING RETURNING seq, dedupe_key`)
	rows, err := q.w.Query(ctx, sql.String(), args...)
	type added struct {
		seq int64
		key string
	}
	got, err := collect(rows, err, func(r Rows) (added, error) {
		var a added
		err := r.Scan(&a.seq, &a.key)
		return a, err
	})
	if err != nil {
		return nil, q.translate(err, "queueing contact events")
	}
	// RETURNING's order is not the VALUES' order: put them back in it.
	slices.SortFunc(got, func(x, y added) int { return byKey[x.key] - byKey[y.key] })
	out := make([]domain.ContactEvent, len(got))
	for i, a := range got {
		out[i] = appended(events[byKey[a.key]], a.seq)
	}
	return out, nil
}

// ContactEventsNext implements store.Queries.
func (q *Queries) ContactEventsNext(ctx context.Context, p store.ContactEventsNextParams) ([]domain.ContactEvent, error) {
	contactID, limit := p.ContactID, p.Limit
	// The read pool sees every committed event: workers are told of an
	// event only after its transaction committed, and the sprint's commit
	// re-checks the event is unhandled. The limit is part of the text, not a
	// bound value: SQLite re-prepares a
	// statement on every call when a bound LIMIT changes (the planner uses
	// it), which was most of this read's cost.
	rows, err := q.r.Query(ctx, `SELECT `+contactEventCols+` FROM contact_events WHERE contact_id = ? AND handled_at IS NULL ORDER BY seq LIMIT `+strconv.Itoa(max(1, min(limit, 1000))), contactID)
	out, err := collect(rows, err, func(r Rows) (domain.ContactEvent, error) { return scanContactEvent(r) })
	return out, q.translate(err, "getting next contact events")
}

// contactWithEventCols are contactCols of contacts c and contactEventCols
// of contact_events e (built once: the inbox reads them on every pass).
var contactWithEventCols = prefixed("c.", contactCols) + ", " + prefixed("e.", contactEventCols)

// liveSessionCols are sessionFlowCols of a session s left-joined with its
// flow f: one that is not there reads with an empty ID.
var liveSessionCols = sessionOrEmpty("s.") + ", " + flowHeadOrEmpty("f.")

// ContactEventsNextWithContact implements store.Queries.
func (q *Queries) ContactEventsNextWithContact(ctx context.Context, p store.ContactEventsNextParams) (store.ContactInbox, error) {
	// As ContactEventsNext, with the contact's columns and its live
	// session's on every row (at most a batch of them): one statement for
	// what a message's sprint reads before it runs, not two.
	rows, err := q.r.Query(ctx, inboxReadSQL(p.Limit), p.ContactID)
	var out store.ContactInbox
	events, err := collect(rows, err, func(r Rows) (domain.ContactEvent, error) {
		var c domain.Contact
		var e domain.ContactEvent
		cd, cFinish := contactDest(&c)
		ed, eFinish := contactEventDest(&e)
		sd, live, sFinish := sessionFlowDest(true)
		if err := r.Scan(append(append(cd, ed...), sd...)...); err != nil {
			return e, err
		}
		if out.Contact.ID == "" {
			cFinish()
			out.Contact = c
			if sFinish(); live.Session.ID != "" {
				out.Live = live
			}
		}
		eFinish()
		return e, nil
	})
	out.Events = events
	return out, q.translate(err, "getting next contact events and their contact")
}

// inboxReads are ContactEventsNextWithContact's statements by limit: every
// message reads its contact's inbox, and building the text each time was
// most of what the read allocated.
var inboxReads sync.Map

// inboxReadSQL is ContactEventsNextWithContact's statement for limit. The
// limit is in the text, not a parameter, so that the plan is made for it.
func inboxReadSQL(limit int) string {
	limit = max(1, min(limit, 1000))
	if s, ok := inboxReads.Load(limit); ok {
		return s.(string)
	}
	s := `SELECT ` + contactWithEventCols + `, ` + liveSessionCols + `
		FROM contact_events e JOIN contacts c ON c.id = e.contact_id
		LEFT JOIN flow_sessions s ON s.contact_id = c.id AND s.status IN ('active', 'waiting') AND NOT s.simulated
		LEFT JOIN flows f ON f.project_id = s.project_id AND f.id = s.flow_id
		WHERE e.contact_id = ? AND e.handled_at IS NULL ORDER BY e.seq LIMIT ` + strconv.Itoa(limit)
	inboxReads.Store(limit, s)
	return s
}

// ContactEventGet implements store.Queries.
func (q *Queries) ContactEventGet(ctx context.Context, p store.ContactEventGetParams) (domain.ContactEvent, error) {
	projectID, seq := p.ProjectID, p.Seq
	e, err := scanContactEvent(q.r.QueryRow(ctx, `SELECT `+contactEventCols+` FROM contact_events WHERE project_id = ? AND seq = ?`, projectID, seq))
	if err == ErrNoRows {
		return e, notFound("contact event", "")
	}
	return e, q.translate(err, "getting contact event")
}

// ContactEventDone implements store.Queries.
func (q *Queries) ContactEventDone(ctx context.Context, p store.ContactEventDoneParams) error {
	seq, result, now := p.Seq, p.Result, p.Now
	// Held back where it can be: its caller (a sprint's commit) fails the
	// whole transaction on the conflict, wherever it shows.
	return q.execOneLater(ctx, func() error { return domain.Errorf(domain.CodeConflict, "contact event %d was already handled", seq) },
		"marking contact event handled", `UPDATE contact_events SET handled_at = ?, result = ? WHERE seq = ? AND handled_at IS NULL`, now, result, seq)
}

const sessionCols = `id, project_id, contact_id, flow_id, revision, channel_id, status, state, wait_seq, waiting_for, node_id, timeout_at, expires_at, version, simulated, draft, end_reason, created_at, updated_at, ended_at`

func scanSession(r Row) (domain.FlowSession, error) {
	var s domain.FlowSession
	dest, finish := sessionDest(&s)
	err := r.Scan(dest...)
	finish()
	return s, err
}

// sessionDest is where a row of sessionCols scans into s, and what to do
// after.
func sessionDest(s *domain.FlowSession) ([]any, func()) {
	return []any{&s.ID, &s.ProjectID, &s.ContactID, &s.FlowID, &s.Revision, &s.ChannelID, &s.Status, &s.State, &s.WaitSeq, &s.WaitingFor, &s.NodeID,
			&s.TimeoutAt, &s.ExpiresAt, &s.Version, &s.Simulated, &s.Draft, &s.EndReason, &s.CreatedAt, &s.UpdatedAt, &s.EndedAt}, func() {
			s.TimeoutAt, s.EndedAt = utcPtr(s.TimeoutAt), utcPtr(s.EndedAt)
			s.ExpiresAt, s.CreatedAt, s.UpdatedAt = s.ExpiresAt.UTC(), s.CreatedAt.UTC(), s.UpdatedAt.UTC()
		}
}

// sessionFlowCols are sessionCols of flow_sessions s and the flow head's
// columns of flows f, left-joined: a session whose flow is gone reads as
// the same row with empty flow columns (an empty f.id among them), so one
// statement answers "no session", "a session without its flow" and "a
// session and its flow".
var sessionFlowCols = prefixed("s.", sessionCols) + ", " + flowHeadOrEmpty("f.")

// flowHeadOrEmpty is flowHeadCols of alias, each column coalesced to a
// value of its type for a missing row, but the timestamps: SQLite types a
// value by its column's declared type, which COALESCE loses, so they stay
// columns and are read as nullable.
func flowHeadOrEmpty(alias string) string {
	return orEmpty(alias, flowCols, map[string]string{"version": "0", "live_revision": "0", "start_trigger": "'{}'", "logging": "FALSE",
		"expire_after_seconds": "0", "created_at": "", "updated_at": "", "draft": "''"}, "draft")
}

// sessionOrEmpty is sessionCols of alias as flowHeadOrEmpty has the flow's:
// a session left-joined that is not there reads as one with an empty ID.
func sessionOrEmpty(alias string) string {
	return orEmpty(alias, sessionCols, map[string]string{"revision": "0", "wait_seq": "0", "version": "0", "simulated": "FALSE", "draft": "FALSE",
		"state": "", "timeout_at": "", "expires_at": "", "created_at": "", "updated_at": "", "ended_at": ""}, "")
}

// orEmpty is cols of alias, each coalesced to its value in empty (the
// empty string when empty has none; left as it is where that value is "":
// the column is read as nullable); the column literal, if named, is its
// value in empty instead.
func orEmpty(alias, cols string, empty map[string]string, literal string) string {
	var out []string
	for _, c := range strings.Split(cols, ",") {
		c = strings.TrimSpace(c)
		switch e, ok := empty[c]; {
		case c == literal:
			out = append(out, e+" AS "+c)
		case !ok:
			out = append(out, "COALESCE("+alias+c+", '')")
		case e == "":
			out = append(out, alias+c)
		default:
			out = append(out, "COALESCE("+alias+c+", "+e+")")
		}
	}
	return strings.Join(out, ", ")
}

// sessionWithFlow reads one row of sessionFlowCols from
// `flow_sessions s LEFT JOIN flows f` where where holds; when no session
// matches, the error is notFound(noun, key), built only then (this runs
// for every message).
func (q *Queries) sessionWithFlow(ctx context.Context, noun, key, where string, args ...any) (store.SessionFlow, error) {
	out, err := scanSessionFlow(q.r.QueryRow(ctx, `SELECT `+sessionFlowCols+` FROM flow_sessions s LEFT JOIN flows f ON f.project_id = s.project_id AND f.id = s.flow_id WHERE `+where,
		args...).Scan)
	if err == ErrNoRows {
		return store.SessionFlow{}, notFound(noun, key)
	} else if err != nil {
		return store.SessionFlow{}, q.translate(err, "getting session and its flow")
	}
	return out, nil
}

// scanSessionFlow scans a row of sessionFlowCols (with scan, a row's Scan).
func scanSessionFlow(scan func(dest ...any) error) (store.SessionFlow, error) {
	sd, sf, finish := sessionFlowDest(false)
	if err := scan(sd...); err != nil {
		return store.SessionFlow{}, err
	}
	finish()
	return *sf, nil
}

// sessionFlowDest is where a row of sessionFlowCols scans, or of
// liveSessionCols when orEmpty (the session's timestamps then read as
// nullable, the session left empty without them), and what to do after.
func sessionFlowDest(orEmpty bool) ([]any, *store.SessionFlow, func()) {
	out := &store.SessionFlow{}
	sd, sFinish := sessionDest(&out.Session)
	sTimes := func() {}
	if orEmpty {
		sTimes = nullableTimes(sd, &out.Session.ExpiresAt, &out.Session.CreatedAt, &out.Session.UpdatedAt)
	}
	fd, fFinish := flowDest(&out.Flow)
	fTimes := nullableTimes(fd, &out.Flow.CreatedAt, &out.Flow.UpdatedAt)
	return append(sd, fd...), out, func() {
		sTimes()
		fTimes()
		sFinish()
		fFinish()
		if out.Flow.ID == "" {
			out.Flow = store.Flow{} // the flow is gone
		}
		out.Flow.Draft = nil
	}
}

// nullableTimes points dest's entries for fields at nullable stand-ins (a
// left join's missing row reads as NULL) and returns what copies a
// stand-in that was not NULL back to its field, after the scan.
func nullableTimes(dest []any, fields ...*time.Time) func() {
	held := make([]*time.Time, len(fields))
	for i, d := range dest {
		for j, f := range fields {
			if d == f {
				dest[i] = &held[j]
			}
		}
	}
	return func() {
		for j, f := range fields {
			if held[j] != nil {
				*f = *held[j]
			}
		}
	}
}

// SessionWithFlow implements store.Queries.
func (q *Queries) SessionWithFlow(ctx context.Context, r store.Ref) (store.SessionFlow, error) {
	return q.sessionWithFlow(ctx, "session", r.ID, `s.project_id = ? AND s.id = ?`, r.ProjectID, r.ID)
}

// SessionLiveWithFlow implements store.Queries.
func (q *Queries) SessionLiveWithFlow(ctx context.Context, contactID string) (store.SessionFlow, error) {
	return q.sessionWithFlow(ctx, "live session of contact", contactID, `s.contact_id = ? AND s.status IN ('active', 'waiting') AND NOT s.simulated`, contactID)
}

// SessionCreate implements store.Queries.
func (q *Queries) SessionCreate(ctx context.Context, p store.SessionCreateParams) error {
	s := p.Session
	insert := `INSERT INTO flow_sessions (` + sessionCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	args := []any{s.ID, s.ProjectID, s.ContactID, s.FlowID, s.Revision, s.ChannelID, s.Status, s.State, s.WaitSeq, s.WaitingFor, s.NodeID,
		s.TimeoutAt, s.ExpiresAt, s.Version, s.Simulated, s.Draft, s.EndReason, s.CreatedAt, s.UpdatedAt, s.EndedAt}
	if p.Trace != nil {
		insert = `INSERT INTO flow_sessions (` + sessionCols + `, trace) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
		args = append(args, p.Trace)
	}
	// Held back for the next statement: its callers treat a conflict
	// (another live session) as the whole transaction's race, which a
	// held-back write's failure still is.
	return q.execLaterWrap(ctx, func(err error) error {
		if q.d.IsUniqueViolation(err) {
			return &domain.Error{Code: domain.CodeConflict, Message: "the contact is already in a flow", Err: err}
		}
		return q.translate(err, "creating session")
	}, insert, args...)
}

// SessionGet implements store.Queries.
func (q *Queries) SessionGet(ctx context.Context, r store.Ref) (domain.FlowSession, error) {
	projectID, id := r.ProjectID, r.ID
	s, err := scanSession(q.r.QueryRow(ctx, `SELECT `+sessionCols+` FROM flow_sessions WHERE project_id = ? AND id = ?`, projectID, id))
	if err == ErrNoRows {
		return s, notFound("session", id)
	}
	return s, q.translate(err, "getting session")
}

// SessionLive implements store.Queries.
func (q *Queries) SessionLive(ctx context.Context, contactID string) (domain.FlowSession, error) {
	// The read pool is enough: a session saved from a stale read fails its
	// version check at commit.
	s, err := scanSession(q.r.QueryRow(ctx, `SELECT `+sessionCols+` FROM flow_sessions WHERE contact_id = ? AND status IN ('active', 'waiting') AND NOT simulated`, contactID))
	if err == ErrNoRows {
		return s, notFound("live session of contact", contactID)
	}
	return s, q.translate(err, "getting live session")
}

// SessionUpdate implements store.Queries.
func (q *Queries) SessionUpdate(ctx context.Context, s domain.FlowSession) error {
	// Held back where it can be, like ContactEventDone.
	return q.execOneLater(ctx, func() error { return domain.Errorf(domain.CodeConflict, "session %s changed since it was read", s.ID) },
		"saving session", `UPDATE flow_sessions SET status = ?, state = ?, wait_seq = ?, waiting_for = ?, node_id = ?, timeout_at = ?, expires_at = ?,
			version = ?, end_reason = ?, updated_at = ?, ended_at = ?
		WHERE id = ? AND version = ?`,
		s.Status, s.State, s.WaitSeq, s.WaitingFor, s.NodeID, s.TimeoutAt, s.ExpiresAt, s.Version, s.EndReason, s.UpdatedAt, s.EndedAt, s.ID, s.Version-1)
}

// SessionList implements store.Queries.
func (q *Queries) SessionList(ctx context.Context, p store.SessionListParams) (store.List[domain.FlowSession], error) {
	sql := `SELECT ` + sessionCols + ` FROM flow_sessions WHERE project_id = ? AND simulated = ?`
	args := []any{p.ProjectID, p.Simulated}
	if p.ContactID != "" {
		sql += ` AND contact_id = ?`
		args = append(args, p.ContactID)
	}
	if p.FlowID != "" {
		sql += ` AND flow_id = ?`
		args = append(args, p.FlowID)
	}
	if p.Status != "" {
		sql += ` AND status = ?`
		args = append(args, p.Status)
	}
	where, limit, pargs := pageClause(p.Page, "id")
	rows, err := q.r.Query(ctx, sql+where+limit, append(args, pargs...)...)
	items, err := collect(rows, err, func(r Rows) (domain.FlowSession, error) { return scanSession(r) })
	if err != nil {
		return store.List[domain.FlowSession]{}, q.translate(err, "listing sessions")
	}
	return finishPage(items, p.Page, func(s domain.FlowSession) string { return s.ID }), nil
}

// SessionExpiring implements store.Queries.
func (q *Queries) SessionExpiring(ctx context.Context, p store.DueParams) ([]domain.FlowSession, error) {
	now, limit := p.Now, p.Limit
	rows, err := q.r.Query(ctx, `SELECT `+sessionCols+` FROM flow_sessions WHERE status IN ('active', 'waiting') AND expires_at < ? ORDER BY expires_at LIMIT ?`, now, limit)
	out, err := collect(rows, err, func(r Rows) (domain.FlowSession, error) { return scanSession(r) })
	return out, q.translate(err, "listing expiring sessions")
}

// TraceAppend implements store.Queries.
func (q *Queries) TraceAppend(ctx context.Context, events []domain.TraceEvent) error {
	return q.TraceAppendPacked(ctx, store.PackTrace(events))
}

// TraceAppendPacked implements store.Queries. A packed row's events
// column holds an empty array: the trace is in packed
// (internal/store/tracepack); rows written before it hold their JSON in
// events, packed NULL.
func (q *Queries) TraceAppendPacked(ctx context.Context, rows []store.PackedTrace) error {
	for _, r := range rows {
		if err := q.execLater(ctx, "appending trace", `INSERT INTO session_traces (session_id, events, created_at, packed) VALUES (?, '[]', ?, ?)`,
			r.SessionID, r.CreatedAt, r.Packed); err != nil {
			return err
		}
	}
	return nil
}

// traceEvents is the JSON array a trace row holds: packed, or in events
// for rows from before packing.
func traceEvents(events *string, packed []byte) ([]byte, error) {
	switch {
	case packed != nil:
		return tracepack.Unpack(packed)
	case events == nil:
		return nil, fmt.Errorf("a trace with neither packed nor plain events")
	}
	return []byte(*events), nil
}

// tracedEvent is an event in a trace row.
type tracedEvent struct {
	Kind   string          `json:"kind"`
	NodeID string          `json:"node_id"`
	Data   json.RawMessage `json:"data"`
}

// TraceList implements store.Queries.
func (q *Queries) TraceList(ctx context.Context, r store.Ref) ([]domain.TraceEvent, error) {
	projectID, sessionID := r.ProjectID, r.ID
	// A trace's project is its session's.
	// The first is the session row's own (SessionCreate), then its rows.
	rows, err := q.r.Query(ctx, `SELECT NULL AS events, s.trace AS packed, s.created_at, 0 AS seq FROM flow_sessions s
		WHERE s.project_id = ? AND s.id = ? AND s.trace IS NOT NULL
		UNION ALL
		SELECT t.events, t.packed, t.created_at, t.id FROM session_traces t JOIN flow_sessions s ON s.id = t.session_id
		WHERE s.project_id = ? AND t.session_id = ?
		ORDER BY 4`, projectID, sessionID, projectID, sessionID)
	batches, err := collect(rows, err, func(r Rows) ([]domain.TraceEvent, error) {
		var events *string
		var packed []byte
		var at time.Time
		var seq int64
		if err := r.Scan(&events, &packed, &at, &seq); err != nil {
			return nil, err
		}
		raw, err := traceEvents(events, packed)
		if err != nil {
			return nil, fmt.Errorf("reading a trace of session %s: %w", sessionID, err)
		}
		var evs []tracedEvent
		if err := json.Unmarshal(raw, &evs); err != nil {
			return nil, fmt.Errorf("reading a trace of session %s: %w", sessionID, err)
		}
		out := make([]domain.TraceEvent, len(evs))
		for i, e := range evs {
			out[i] = domain.TraceEvent{SessionID: sessionID, Kind: e.Kind, NodeID: e.NodeID, Data: e.Data, CreatedAt: at.UTC()}
		}
		return out, nil
	})
	if err != nil {
		return nil, q.translate(err, "listing trace")
	}
	out := []domain.TraceEvent{}
	for _, b := range batches {
		for _, e := range b {
			e.ID = int64(len(out) + 1) // its place in the session's trace
			out = append(out, e)
		}
	}
	return out, nil
}

// IdempotencyGet implements store.Queries.
func (q *Queries) IdempotencyGet(ctx context.Context, k store.IdempotencyKey) ([]byte, error) {
	projectID, key := k.ProjectID, k.Key
	var resp string
	err := q.r.QueryRow(ctx, `SELECT response FROM idempotency_keys WHERE project_id = ? AND key = ?`, projectID, key).Scan(&resp)
	if err == ErrNoRows {
		return nil, notFound("idempotency key", key)
	}
	return []byte(resp), q.translate(err, "getting idempotency key")
}

// IdempotencyPut implements store.Queries.
func (q *Queries) IdempotencyPut(ctx context.Context, p store.IdempotencyPutParams) error {
	projectID, key, response, now := p.ProjectID, p.Key, p.Response, p.Now
	_, err := q.w.Exec(ctx, `INSERT INTO idempotency_keys (project_id, key, response, created_at) VALUES (?, ?, ?, ?)`, projectID, key, string(response), now)
	return q.translate(err, "storing idempotency key")
}

// ContactEventsDue implements store.Queries.
func (q *Queries) ContactEventsDue(ctx context.Context, p store.DueParams) ([]store.DueRef, error) {
	now, limit := p.Now, max(p.Limit, 1)
	// The due index's first rows, not a GROUP BY contact: grouping read
	// every due event before the LIMIT, so a poll under a backlog of
	// 570,000 events took 1.1 s on SQLite (the million-session bench's
	// parking ran at the poller's ~450 contacts/s); this reads a few
	// pages. A contact with several events due shows up once, at its
	// longest-due event; reading four events per contact asked for leaves
	// a page short only when contacts have more than that many due, and
	// the poller then polls again at its next tick.
	rows, err := q.r.Query(ctx, `SELECT project_id, contact_id FROM contact_events WHERE handled_at IS NULL AND due_at <= ?
		ORDER BY due_at LIMIT `+strconv.Itoa(limit*dueReadsPerContact), now)
	refs, err := collect(rows, err, func(r Rows) (store.DueRef, error) {
		var d store.DueRef
		return d, r.Scan(&d.ProjectID, &d.ID)
	})
	if err != nil {
		return nil, q.translate(err, "listing contacts with events due")
	}
	seen := make(map[store.DueRef]bool, len(refs))
	out := refs[:0]
	for _, d := range refs {
		if !seen[d] && len(out) < limit {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out, nil
}

// dueReadsPerContact is how many due events ContactEventsDue reads per
// contact it may return.
const dueReadsPerContact = 4

// ContactEventsClaim implements store.Queries.
func (q *Queries) ContactEventsClaim(ctx context.Context, p store.ClaimParams) (bool, error) {
	contactID, now, until := p.ID, p.Now, p.Until
	sql := `UPDATE contact_events SET due_at = ? WHERE contact_id = ? AND handled_at IS NULL AND due_at <= ?`
	if q.d.Name == "postgres" {
		// Rows another transaction holds are being handled (or claimed)
		// right now: skip them rather than wait, since a claim waiting
		// inside a poll's transaction of many claims could close a
		// deadlock with a commit holding several contacts' rows.
		sql = `UPDATE contact_events SET due_at = ? WHERE seq IN (SELECT seq FROM contact_events
			WHERE contact_id = ? AND handled_at IS NULL AND due_at <= ? ORDER BY seq FOR UPDATE SKIP LOCKED)`
	}
	n, err := q.w.Exec(ctx, sql, until, contactID, now)
	return n > 0, q.translate(err, "claiming contact events")
}

// ContactEventRetry implements store.Queries.
func (q *Queries) ContactEventRetry(ctx context.Context, p store.ContactEventRetryParams) (int, error) {
	seq, dueAt := p.Seq, p.DueAt
	var attempts int
	err := q.w.QueryRow(ctx, `UPDATE contact_events SET attempts = attempts + 1, due_at = ? WHERE seq = ? AND handled_at IS NULL RETURNING attempts`, dueAt, seq).Scan(&attempts)
	if err == ErrNoRows {
		return 0, domain.Errorf(domain.CodeConflict, "contact event %d was already handled", seq)
	}
	return attempts, q.translate(err, "recording a failed contact event")
}

// ContactEventsRelease implements store.Queries.
func (q *Queries) ContactEventsRelease(ctx context.Context, now time.Time) (int, error) {
	n, err := q.w.Exec(ctx, `UPDATE contact_events SET due_at = ? WHERE handled_at IS NULL AND due_at > ?`, now, now)
	return int(n), q.translate(err, "releasing contact events")
}

// MessagesDue implements store.Queries.
func (q *Queries) MessagesDue(ctx context.Context, p store.DueParams) ([]store.DueRef, error) {
	now, limit := p.Now, p.Limit
	rows, err := q.r.Query(ctx, `SELECT project_id, id, priority FROM messages WHERE status = 'queued' AND due_at <= ? ORDER BY due_at LIMIT ?`, now, limit)
	out, err := collect(rows, err, func(r Rows) (store.DueRef, error) {
		var d store.DueRef
		var priority string
		err := r.Scan(&d.ProjectID, &d.ID, &priority)
		d.Reply = priority == "reply"
		return d, err
	})
	return out, q.translate(err, "listing messages due to send")
}

// MessageClaim implements store.Queries.
func (q *Queries) MessageClaim(ctx context.Context, p store.ClaimParams) (bool, error) {
	id, now, until := p.ID, p.Now, p.Until
	sql := `UPDATE messages SET due_at = ? WHERE id = ? AND status = 'queued' AND due_at <= ?`
	if q.d.Name == "postgres" {
		// A message another transaction holds is being sent or settled:
		// skip it rather than wait (see ContactEventsClaim).
		sql = `UPDATE messages SET due_at = ? WHERE id IN (SELECT id FROM messages
			WHERE id = ? AND status = 'queued' AND due_at <= ? FOR UPDATE SKIP LOCKED)`
	}
	n, err := q.w.Exec(ctx, sql, until, id, now)
	return n > 0, q.translate(err, "claiming a message to send")
}

// MessageRetry implements store.Queries.
func (q *Queries) MessageRetry(ctx context.Context, p store.MessageRetryParams) (int, error) {
	id, dueAt, failed := p.ID, p.DueAt, p.Failed
	var attempts int
	inc := 0
	if failed {
		inc = 1
	}
	err := q.w.QueryRow(ctx, `UPDATE messages SET attempts = attempts + ?, due_at = ? WHERE id = ? AND status = 'queued' RETURNING attempts`, inc, dueAt, id).Scan(&attempts)
	if err == ErrNoRows {
		return 0, domain.Errorf(domain.CodeConflict, "message %s is no longer queued", id)
	}
	return attempts, q.translate(err, "rescheduling a message")
}

// MessagesSettle implements store.Queries.
func (q *Queries) MessagesSettle(ctx context.Context) (int, error) {
	if q.d.Name != "postgres" {
		// SQLite's outbox index is on status, and nothing runs beside
		// this process: the leases left on sent messages are in no index
		// and nobody's way, and clearing them would scan the table.
		return 0, nil
	}
	n, err := q.w.Exec(ctx, `UPDATE messages SET due_at = NULL WHERE due_at IS NOT NULL AND status <> 'queued'`)
	return int(n), q.translate(err, "clearing the send leases of messages no longer queued")
}

// MessagesRelease implements store.Queries.
func (q *Queries) MessagesRelease(ctx context.Context, now time.Time) (int, error) {
	n, err := q.w.Exec(ctx, `UPDATE messages SET due_at = ? WHERE status = 'queued' AND due_at > ?`, now, now)
	return int(n), q.translate(err, "releasing queued messages")
}

// MessagesSetStatusUpTo implements store.Queries.
func (q *Queries) MessagesSetStatusUpTo(ctx context.Context, p store.MessagesStatusUpToParams) (store.UpToResult, error) {
	rank := domain.StatusRank(p.Status)
	// Only messages the provider took (sent, delivered: they have a sent
	// time) move; failed and read ones stay as they are.
	n, err := q.w.Exec(ctx, `UPDATE messages SET status = ?, status_rank = ?, updated_at = ?
		WHERE project_id = ? AND contact_id = ? AND channel_id = ? AND direction = 'out'
			AND status IN ('sent', 'delivered') AND status_rank < ? AND sent_at IS NOT NULL AND sent_at <= ?`,
		p.Status, rank, p.Now, p.ProjectID, p.ContactID, p.ChannelID, rank, p.UpTo)
	if err != nil {
		return store.UpToResult{}, q.translate(err, "updating messages up to a watermark")
	}
	res := store.UpToResult{Moved: int(n)}
	err = q.w.QueryRow(ctx, `SELECT COUNT(*) FROM messages
		WHERE project_id = ? AND contact_id = ? AND channel_id = ? AND direction = 'out' AND status = 'queued'`,
		p.ProjectID, p.ContactID, p.ChannelID).Scan(&res.Queued)
	return res, q.translate(err, "counting queued messages")
}

// ReceiptLock implements store.Queries.
func (q *Queries) ReceiptLock(ctx context.Context, p store.ReceiptLockParams) error {
	if q.d.LockKey == "" {
		return nil
	}
	var keys []any
	if p.ProviderID != "" {
		keys = append(keys, "receipt:"+p.ChannelID+":id:"+p.ProviderID)
	}
	if p.Recipient != "" {
		keys = append(keys, "receipt:"+p.ChannelID+":to:"+p.Recipient)
	}
	if len(keys) == 0 {
		return errors.New("locking a receipt's key: the lock names neither a provider ID nor a recipient")
	}
	stmt := "SELECT " + q.d.LockKey
	if len(keys) == 2 {
		// The provider ID's first, as every other taker of both.
		stmt += ", " + q.d.LockKey
	}
	// Held back: the lock goes with the statement it protects, in order.
	return q.execLater(ctx, "locking a receipt's keys", stmt, keys...)
}

// ReceiptHold implements store.Queries.
func (q *Queries) ReceiptHold(ctx context.Context, r domain.Receipt) error {
	var upTo any
	if r.UpTo != nil {
		upTo = r.UpTo.UTC()
	}
	_, err := q.w.Exec(ctx, `INSERT INTO pending_receipts (project_id, channel_id, provider_id, recipient, status, up_to, error_code, error_reason, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ProjectID, r.ChannelID, r.ProviderID, r.Recipient, r.Status, upTo, r.ErrorCode, r.ErrorReason, r.ReceivedAt)
	return q.translate(err, "keeping a receipt")
}

// ReceiptsTake implements store.Queries.
func (q *Queries) ReceiptsTake(ctx context.Context, p store.ReceiptsTakeParams) ([]domain.Receipt, error) {
	if p.ProviderID == "" && p.Recipient == "" {
		return nil, nil
	}
	// The provider ID is compared as CAST(? AS TEXT), not as a bare
	// parameter: SQLite matches a bare parameter against the partial
	// index's "provider_id = ''" and then re-prepares the statement
	// whenever the bound value changes — every call, 7 % of the CPU at
	// 1,000 sends a second. The watermarks are a second index range, not
	// an OR, which read every kept receipt of the channel.
	where, args := `channel_id = ? AND provider_id = CAST(? AS TEXT) AND provider_id <> ''`, []any{p.ChannelID, p.ProviderID}
	if p.Recipient != "" {
		where = `id IN (SELECT id FROM pending_receipts WHERE channel_id = ? AND provider_id = CAST(? AS TEXT) AND provider_id <> ''
			UNION ALL SELECT id FROM pending_receipts WHERE channel_id = ? AND provider_id = '' AND recipient = ?)`
		args = append(args, p.ChannelID, p.Recipient)
	}
	take := `DELETE FROM pending_receipts WHERE ` + where + `
		RETURNING id, project_id, channel_id, provider_id, recipient, status, up_to, error_code, error_reason, received_at`
	if p.Answer != nil {
		update, uargs := messageStatusUpdate(*p.Answer)
		if q.d.UpdateInWith {
			// Both run on one snapshot, taken after the caller's receipt
			// locks, as the take alone would be.
			take, args = `WITH answer AS (`+update+`) `+take, append(uargs, args...)
		} else if err := q.execLater(ctx, "updating message status", update, uargs...); err != nil {
			return nil, err
		}
	}
	rows, err := q.w.Query(ctx, take, args...)
	out, err := collect(rows, err, func(r Rows) (domain.Receipt, error) {
		var rc domain.Receipt
		err := r.Scan(&rc.ID, &rc.ProjectID, &rc.ChannelID, &rc.ProviderID, &rc.Recipient, &rc.Status, &rc.UpTo, &rc.ErrorCode, &rc.ErrorReason, &rc.ReceivedAt)
		rc.UpTo, rc.ReceivedAt = utcPtr(rc.UpTo), rc.ReceivedAt.UTC()
		return rc, err
	})
	if err != nil {
		return nil, q.translate(err, "taking kept receipts")
	}
	slices.SortFunc(out, func(a, b domain.Receipt) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// ReceiptsExpire implements store.Queries.
func (q *Queries) ReceiptsExpire(ctx context.Context, p store.ReceiptsExpireParams) (int, error) {
	n, err := q.w.Exec(ctx, `DELETE FROM pending_receipts WHERE received_at < ?`, p.Before)
	return int(n), q.translate(err, "expiring kept receipts")
}

// urnOwner is the contact that has the address (scheme, path) in the
// project; ErrNoRows, unwrapped, when nobody has it, so that callers can
// go on to make it.
func (q *Queries) urnOwner(ctx context.Context, projectID, scheme, path string) (string, error) {
	var contactID string
	err := q.w.QueryRow(ctx, `SELECT contact_id FROM contact_urns WHERE project_id = ? AND scheme = ? AND path = ?`, projectID, scheme, path).Scan(&contactID)
	return contactID, err
}
