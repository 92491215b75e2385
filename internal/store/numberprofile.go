package store

import (
	"context"
	"time"
)

// NumberProfiles are the repository methods of connecting a WhatsApp
// number through Meta's embedded signup and of its display-name requests.
type NumberProfiles interface {
	// WhatsAppSignupCreate stores a new signup.
	WhatsAppSignupCreate(ctx context.Context, s WhatsAppSignup) error
	WhatsAppSignupGet(ctx context.Context, r Ref) (WhatsAppSignup, error)
	// WhatsAppSignupUpdate writes token, steps, status, channel and updated_at.
	WhatsAppSignupUpdate(ctx context.Context, s WhatsAppSignup) error
	// DisplayNameRequestCreate stores a request, pending.
	DisplayNameRequestCreate(ctx context.Context, d DisplayNameRequest) error
	// DisplayNameRequestList lists a channel's requests, newest first.
	DisplayNameRequestList(ctx context.Context, r Ref) ([]DisplayNameRequest, error)
	// DisplayNameRequestDecide records the review of the channel's newest
	// pending request for Name; false when there is none.
	DisplayNameRequestDecide(ctx context.Context, p DisplayNameDecideParams) (bool, error)
}

// WhatsAppSignup is one embedded signup.
type WhatsAppSignup struct {
	ID            string
	ProjectID     string
	WABAID        string
	PhoneNumberID string
	Name          string
	TokenSealed   string
	// Steps is the JSON array of the steps and their outcomes.
	Steps     []byte
	Status    string
	ChannelID string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Display-name request statuses.
const (
	DisplayNamePending  = "pending"
	DisplayNameApproved = "approved"
	DisplayNameDeclined = "declined"
	// DisplayNameFailed is a request the provider refused outright (no
	// review); the reason says what it answered.
	DisplayNameFailed = "failed"
)

// DisplayNameRequest is a requested display name and its review.
type DisplayNameRequest struct {
	ID          string
	ProjectID   string
	ChannelID   string
	Name        string
	Status      string
	Reason      string
	RequestedAt time.Time
	DecidedAt   *time.Time
}

// DisplayNameDecideParams is a review to record.
type DisplayNameDecideParams struct {
	ProjectID, ChannelID, Name string
	Status, Reason             string
	At                         time.Time
}
