package store

import (
	"context"
	"time"
)

// CampaignReports reads what a campaign's report is computed from: the
// messages, sessions and traces of the sessions its recipients started, and
// the dataset rows with their outcome. Every method streams its rows to the
// Each callback in a stable order, so a report over a million recipients
// never holds them all; an error from Each stops the scan and is returned.
type CampaignReports interface {
	// CampaignMessagesScan streams the outbound messages of the campaign's
	// sessions, by session then creation.
	CampaignMessagesScan(ctx context.Context, p CampaignMessagesScanParams) error
	// CampaignRepliesScan streams the inbound messages of the campaign's
	// contacts received after their recipient row started, by session then
	// time.
	CampaignRepliesScan(ctx context.Context, p CampaignRepliesScanParams) error
	// CampaignSessionsScan streams the flow sessions the campaign started.
	CampaignSessionsScan(ctx context.Context, p CampaignSessionsScanParams) error
	// CampaignTracesScan streams the trace rows of the campaign's sessions,
	// by session then trace row.
	CampaignTracesScan(ctx context.Context, p CampaignTracesScanParams) error
	// CampaignRowsScan streams every row of the given datasets with the
	// campaign's recipient state, session and message outcome for it, by
	// dataset then row number.
	CampaignRowsScan(ctx context.Context, p CampaignRowsScanParams) error
	// CampaignCallsScan streams the voice calls the campaign's sessions
	// placed, by session then creation.
	CampaignCallsScan(ctx context.Context, p CampaignCallsScanParams) error
}

// CampaignCall is one voice call of a campaign session: its stored status
// (queued, dialing, or a voice.Status) and, once it ended, its result (a
// voice.Result, JSON).
type CampaignCall struct {
	SessionID string
	ChannelID string
	CallID    string
	// Direction is outbound, inbound, or transfer (a voice_transfer
	// step's request on a held call, not a call of its own).
	Direction string
	Status    string
	Result    []byte
	CreatedAt time.Time
	EndedAt   *time.Time
}

// CampaignCallsScanParams selects a campaign's voice calls.
type CampaignCallsScanParams struct {
	ProjectID  string
	CampaignID string
	Each       func(CampaignCall) error
}

// CampaignMessage is one outbound message of a campaign session.
type CampaignMessage struct {
	SessionID   string
	ChannelID   string
	Type        string
	Status      string
	ErrorCode   string
	ErrorReason string
	// TemplateID and TemplateName name the template of a template
	// message (a flow names it by one or the other).
	TemplateID   string
	TemplateName string
	CreatedAt    time.Time
	SentAt       *time.Time
}

// CampaignMessagesScanParams selects a campaign's outbound messages.
type CampaignMessagesScanParams struct {
	ProjectID  string
	CampaignID string
	Each       func(CampaignMessage) error
}

// CampaignReply is one inbound message of a campaign contact.
type CampaignReply struct {
	SessionID string
	ChannelID string
	// Type is the stored message type: text, button_reply, quick_reply…
	Type      string
	CreatedAt time.Time
}

// CampaignRepliesScanParams selects a campaign's replies.
type CampaignRepliesScanParams struct {
	ProjectID  string
	CampaignID string
	Each       func(CampaignReply) error
}

// CampaignSession is the outcome of one session a campaign started.
type CampaignSession struct {
	SessionID string
	ChannelID string
	Status    string
	EndReason string
	// NodeID is the node the session is at, or ended on.
	NodeID string
}

// CampaignSessionsScanParams selects a campaign's sessions.
type CampaignSessionsScanParams struct {
	ProjectID  string
	CampaignID string
	Each       func(CampaignSession) error
}

// CampaignTrace is one stored trace row (one sprint's events, a JSON array
// of {kind, node_id, data}) of a campaign session.
type CampaignTrace struct {
	SessionID string
	Events    []byte
}

// CampaignTracesScanParams selects a campaign's trace rows.
type CampaignTracesScanParams struct {
	ProjectID  string
	CampaignID string
	Each       func(CampaignTrace) error
}

// CampaignRow is a dataset row with what the campaign did with it. The
// recipient, session and message fields are empty when the row was never
// queued (invalid, duplicate, or no execution took it yet).
type CampaignRow struct {
	DatasetID string
	RowNum    int64
	Line      int64
	Phone     string
	// RowStatus and RowReason are the dataset's verdict on the row.
	RowStatus string
	RowReason string
	// Recipient is queued, waiting, started or failed ("queued" too for a
	// valid row the dataset's latest execution has yet to take), "" when
	// no execution runs it; RecipientError why the start failed.
	Recipient      string
	RecipientError string
	ContactID      string
	SessionID      string
	StartedAt      *time.Time
	SessionStatus  string
	EndReason      string
	NodeID         string
	// Messages is how many messages the session sent; BestStatus the
	// furthest status any reached (read > failed > delivered > sent >
	// queued), ErrorReason a failure's reason.
	Messages    int64
	BestStatus  string
	ErrorReason string
	// Replies counts the contact's messages after the start.
	Replies int64
}

// CampaignRowsScanParams selects the rows of a campaign's datasets.
type CampaignRowsScanParams struct {
	ProjectID  string
	CampaignID string
	DatasetIDs []string
	Each       func(CampaignRow) error
}
