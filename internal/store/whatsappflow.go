package store

import (
	"context"
	"encoding/json"
	"time"
)

// WhatsAppFlows are the repository methods of a project's WhatsApp Flows
// (forms), not to be confused with chat flows (Flows).
type WhatsAppFlows interface {
	// WhatsAppFlowCreate stores a new WhatsApp Flow; the name is unique
	// per project (ErrConflict otherwise), as Meta wants it unique per
	// business account.
	WhatsAppFlowCreate(ctx context.Context, f WhatsAppFlow) (WhatsAppFlow, error)
	WhatsAppFlowGet(ctx context.Context, r Ref) (WhatsAppFlow, error)
	// WhatsAppFlowGetByMetaID finds a flow by the ID Meta gave it (the
	// flows webhook names flows by Meta's ID only).
	WhatsAppFlowGetByMetaID(ctx context.Context, p WhatsAppFlowGetByMetaIDParams) (WhatsAppFlow, error)
	// WhatsAppFlowUpdate writes every mutable field. With f.Version set it
	// is a precondition: a row at another version is ErrConflict. The
	// returned row has Version bumped.
	WhatsAppFlowUpdate(ctx context.Context, f WhatsAppFlow) (WhatsAppFlow, error)
	WhatsAppFlowDelete(ctx context.Context, r Ref) error
	// WhatsAppFlowList lists a project's WhatsApp Flows, newest first,
	// optionally by status or channel.
	WhatsAppFlowList(ctx context.Context, p WhatsAppFlowListParams) (List[WhatsAppFlow], error)
	// WhatsAppFlowLookup finds a flow by its ID alone: the data-exchange
	// endpoint is called by Meta, outside any project, at a URL naming
	// the flow.
	WhatsAppFlowLookup(ctx context.Context, id string) (WhatsAppFlow, error)
	// WhatsAppFlowKeyPut stores (or replaces) a channel's endpoint key pair.
	WhatsAppFlowKeyPut(ctx context.Context, k WhatsAppFlowKey) error
	// WhatsAppFlowKeyGet returns a channel's endpoint key pair (r.ID is
	// the channel ID).
	WhatsAppFlowKeyGet(ctx context.Context, r Ref) (WhatsAppFlowKey, error)
}

// WhatsAppFlowKey is the endpoint key pair of a WhatsApp channel's number.
type WhatsAppFlowKey struct {
	ProjectID string
	ChannelID string
	// PublicKey is the PEM Meta was given.
	PublicKey string
	// PrivateKeySealed is the private key sealed with the server's key.
	PrivateKeySealed string
	CreatedAt        time.Time
}

// WhatsApp Flow statuses, as Meta names them: DRAFT → PUBLISHED →
// DEPRECATED, and THROTTLED or BLOCKED when Meta's health monitoring says so.
const (
	WhatsAppFlowDraft      = "DRAFT"
	WhatsAppFlowPublished  = "PUBLISHED"
	WhatsAppFlowDeprecated = "DEPRECATED"
	WhatsAppFlowThrottled  = "THROTTLED"
	WhatsAppFlowBlocked    = "BLOCKED"
)

// WhatsAppFlow is a WhatsApp Flow (a form of screens) of a project.
type WhatsAppFlow struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	// ChannelID is the WhatsApp channel (and so the business account) the
	// flow lives in at Meta; empty until one is chosen.
	ChannelID  string   `json:"channel_id"`
	Name       string   `json:"name"`
	Categories []string `json:"categories"`
	// JSON is the Flow JSON exactly as the author wrote it, so validation
	// errors can point at lines and columns.
	JSON   string `json:"flow_json"`
	Status string `json:"status"`
	// MetaFlowID is Meta's ID once the flow was created there; it stays
	// when a published flow returns to draft.
	MetaFlowID string `json:"meta_flow_id"`
	// ValidationErrors are the last verdict (ours or Meta's), as a JSON
	// array; [] when valid.
	ValidationErrors json.RawMessage `json:"validation_errors"`
	// Endpoint holds the data-exchange endpoint settings as a JSON object.
	Endpoint   json.RawMessage `json:"endpoint"`
	PreviewURL string          `json:"preview_url"`
	// SyncedAt is when Meta's state was last read or written (nil: never).
	SyncedAt *time.Time `json:"synced_at"`
	// Version is the row's etag: every write bumps it.
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// WhatsAppFlowGetByMetaIDParams find a WhatsApp Flow by Meta's ID.
type WhatsAppFlowGetByMetaIDParams struct {
	ProjectID string
	MetaID    string
}

// WhatsAppFlowListParams lists a project's WhatsApp Flows.
type WhatsAppFlowListParams struct {
	ProjectID string
	Status    string
	ChannelID string
	Page      Page
}
