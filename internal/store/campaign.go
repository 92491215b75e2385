package store

import (
	"context"
	"time"
)

// Datasets are the repository methods of uploaded CSV datasets and their
// rows.
type Datasets interface {
	DatasetCreate(ctx context.Context, d Dataset) (Dataset, error)
	DatasetGet(ctx context.Context, r Ref) (Dataset, error)
	DatasetList(ctx context.Context, p DatasetListParams) (List[Dataset], error)
	// DatasetUpdate writes status, error, encoding, delimiter, columns,
	// mapping, warnings, counts and updated_at.
	DatasetUpdate(ctx context.Context, d Dataset) (Dataset, error)
	// DatasetDelete removes the dataset and its rows. A dataset a campaign
	// execution uses is ErrConflict.
	DatasetDelete(ctx context.Context, r Ref) error
	// DatasetRowsInsert stores rows (a batch: one multi-row statement per
	// few hundred rows).
	DatasetRowsInsert(ctx context.Context, rows []DatasetRow) error
	// DatasetRowsUpdate rewrites the outcome (status, reason, duplicate_of,
	// phone, timezone) of rows already stored.
	DatasetRowsUpdate(ctx context.Context, rows []DatasetRow) error
	// DatasetRowList pages through a dataset's rows in row order, after
	// AfterRow, optionally only those with Status.
	DatasetRowList(ctx context.Context, p DatasetRowListParams) ([]DatasetRow, error)
	// ContactsOptedOut returns which of the E.164 phones belong to opted-out
	// contacts of the project (by their URN on Scheme).
	ContactsOptedOut(ctx context.Context, p ContactsOptedOutParams) (map[string]bool, error)
}

// Campaigns are the repository methods of campaigns, their executions and
// recipients.
type Campaigns interface {
	CampaignCreate(ctx context.Context, c Campaign) (Campaign, error)
	CampaignGet(ctx context.Context, r Ref) (Campaign, error)
	CampaignList(ctx context.Context, p CampaignListParams) (List[Campaign], error)
	// CampaignUpdate writes c if its Version is the stored one (else
	// ErrConflict) and returns it with Version+1.
	CampaignUpdate(ctx context.Context, c Campaign) (Campaign, error)
	CampaignDelete(ctx context.Context, r Ref) error

	// ExecutionCreate stores e with its Total counted: the dataset's valid
	// rows less those the campaign started or failed to start. Every one
	// of them is queued in it from then on, though it has taken no row yet
	// (ExecutionTake).
	ExecutionCreate(ctx context.Context, p ExecutionCreateParams) (Execution, error)
	// ExecutionTake makes the next Limit dataset rows after the execution's
	// take cursor recipients of the campaign, in the execution: valid rows
	// the campaign never took are added, rows queued or waiting under an
	// earlier execution are moved to it. It advances the cursor and sets
	// Taken once no row is left. Call it in a transaction.
	ExecutionTake(ctx context.Context, p ExecutionTakeParams) (Execution, error)
	ExecutionGet(ctx context.Context, r Ref) (Execution, error)
	// ExecutionLock is ExecutionGet inside a transaction that will write
	// the execution back: it locks the row until the transaction ends (on
	// PostgreSQL; SQLite's one writer serialises anyway), so a concurrent
	// pause, stop or batch schedule is not overwritten by a stale read and
	// a start counted by another transaction is committed before it reads.
	ExecutionLock(ctx context.Context, r Ref) (Execution, error)
	ExecutionList(ctx context.Context, p ExecutionListParams) (List[Execution], error)
	// ExecutionsDue lists running executions whose next batch is due.
	ExecutionsDue(ctx context.Context, now time.Time) ([]Execution, error)
	// ExecutionsEnded lists paused executions whose campaign's end date
	// is at or before now (they complete without being resumed).
	ExecutionsEnded(ctx context.Context, now time.Time) ([]Execution, error)
	// ExecutionUpdate writes status, status_reason, settings, stats,
	// next_batch_at, updated_at and finished_at.
	ExecutionUpdate(ctx context.Context, e Execution) (Execution, error)
	// ExecutionCountStarts adds to the started and start_failed counters of
	// a running execution; one no longer running (or absent) is a conflict,
	// so that the transaction starting rows rolls back.
	ExecutionCountStarts(ctx context.Context, p ExecutionCountParams) error

	// RecipientsDue lists up to Limit recipients of the execution that are
	// queued, or waiting with not_before <= Now, in row order.
	RecipientsDue(ctx context.Context, p RecipientsDueParams) ([]Recipient, error)
	// RecipientsWait marks recipients waiting for their window until
	// NotBefore.
	RecipientsWait(ctx context.Context, p RecipientsWaitParams) error
	// RecipientClaim moves one recipient from queued/waiting to started (or
	// failed), recording the contact, channel and session. It reports
	// false when the recipient was not queued or waiting any more: someone
	// started it already. Call it in the transaction that queues the start.
	RecipientClaim(ctx context.Context, p RecipientClaimParams) (bool, error)
	// RecipientList pages through an execution's (or, with no
	// ExecutionID, a campaign's) recipients in row order.
	RecipientList(ctx context.Context, p RecipientListParams) ([]Recipient, error)
	// RecipientCounts counts an execution's recipients by status.
	RecipientCounts(ctx context.Context, r Ref) (map[string]int64, error)
	// ExecutionMessageStats counts the outbound messages of the execution's
	// sessions by status and error code, and inbound replies, and the
	// statuses of its sessions.
	ExecutionMessageStats(ctx context.Context, r Ref) (ExecutionMessageStats, error)
	// ExecutionRecentSends returns the latest outbound messages of the
	// execution's sessions, newest first, at most Limit, among the sessions
	// of its Limit × RecentSendsRows most recently started rows: the cost
	// stays flat however many rows the execution has started.
	ExecutionRecentSends(ctx context.Context, p ExecutionRecentSendsParams) ([]RecentSend, error)
}

// Dataset statuses.
const (
	DatasetProcessing = "processing"
	DatasetReady      = "ready"
	DatasetFailed     = "failed"
)

// Dataset row outcomes.
const (
	RowValid        = "valid"
	RowInvalidPhone = "invalid_phone"
	RowDuplicate    = "duplicate"
	RowWrongColumns = "wrong_columns"
	RowOptedOut     = "opted_out"
)

// Dataset is an uploaded CSV: how it was read, how its columns are mapped
// and the count of rows per outcome.
type Dataset struct {
	ID        string
	ProjectID string
	Name      string
	Filename  string
	Status    string
	Error     string
	Encoding  string
	Delimiter string
	// Columns are the header's names as written.
	Columns  []string
	Mapping  DatasetMapping
	Warnings []string
	// Counts are rows per outcome, plus "total".
	Counts    map[string]int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DatasetMapping says which columns hold what.
type DatasetMapping struct {
	PhoneColumn      string `json:"phone_column"`
	IdentifierColumn string `json:"identifier_column,omitempty"`
	NameColumn       string `json:"name_column,omitempty"`
	EmailColumn      string `json:"email_column,omitempty"`
	TimezoneColumn   string `json:"timezone_column,omitempty"`
	// DefaultCountry (ISO 3166 alpha-2) reads numbers written without a
	// country code.
	DefaultCountry string `json:"default_country,omitempty"`
	// Variables maps each column (as written) to the variable name the
	// flow reads it as.
	Variables map[string]string `json:"variables"`
}

// DatasetRow is one data line of a dataset and its outcome.
type DatasetRow struct {
	DatasetID string
	// RowNum counts data rows from 1; Line is the CSV line it started on.
	RowNum int64
	Line   int64
	Cells  []string
	Status string
	Reason string
	// DuplicateOf is the row number this one repeats the phone of.
	DuplicateOf int64
	Phone       string
	Timezone    string
}

// DatasetListParams list a project's datasets.
type DatasetListParams struct {
	ProjectID string
	Page
}

// DatasetRowListParams page through a dataset's rows.
type DatasetRowListParams struct {
	DatasetID string
	Status    string
	AfterRow  int64
	Limit     int
}

// ContactsOptedOutParams look up opted-out contacts by phone.
type ContactsOptedOutParams struct {
	ProjectID string
	Scheme    string
	Phones    []string
}

// Campaign statuses.
const (
	CampaignDraft     = "draft"
	CampaignActive    = "active"
	CampaignPaused    = "paused"
	CampaignStopped   = "stopped"
	CampaignCompleted = "completed"
)

// Campaign runs a flow over datasets on channels.
type Campaign struct {
	ID           string
	ProjectID    string
	Name         string
	Description  string
	Status       string
	StatusReason string
	FlowID       string
	ChannelIDs   []string
	DatasetIDs   []string
	StartAt      *time.Time
	EndAt        *time.Time
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CampaignListParams list a project's campaigns.
type CampaignListParams struct {
	ProjectID string
	Page
}

// Execution statuses.
const (
	ExecutionRunning   = "running"
	ExecutionPaused    = "paused"
	ExecutionStopped   = "stopped"
	ExecutionCompleted = "completed"
)

// Execution is one run of a campaign over a dataset.
type Execution struct {
	ID           string
	ProjectID    string
	CampaignID   string
	DatasetID    string
	Status       string
	StatusReason string
	Settings     ExecutionSettings
	// Total is the rows the execution runs, counted when it was created;
	// Started and StartFailed count starts as they commit.
	Total       int64
	Started     int64
	StartFailed int64
	// TakeCursor is the last dataset row taken (made a recipient row);
	// Taken is set once every row of the dataset was. Rows are taken just
	// ahead of their starts, so a row not taken yet is queued all the same.
	TakeCursor int64
	Taken      bool
	// Stats is the latest snapshot of the execution's numbers, refreshed by
	// the campaign runner (cheap to read).
	Stats       ExecutionStats
	NextBatchAt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  *time.Time
}

// ExecutionSettings are how an execution paces itself.
type ExecutionSettings struct {
	BatchSize         int        `json:"batch_size"`
	BatchDelaySeconds float64    `json:"batch_delay_seconds"`
	SendWindow        SendWindow `json:"send_window"`
	// MaxFailureRate (0..1) over the last 100 sends pauses the execution.
	MaxFailureRate float64 `json:"max_failure_rate"`
}

// SendWindow is when, in each contact's local time, starts may happen.
type SendWindow struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	// Days are ISO weekdays 1 (Monday) … 7 (Sunday); all when empty.
	Days []int `json:"days,omitempty"`
}

// ExecutionStats are an execution's numbers at UpdatedAt.
type ExecutionStats struct {
	Queued           int64            `json:"queued"`
	WaitingForWindow int64            `json:"waiting_for_window"`
	Started          int64            `json:"started"`
	StartFailed      int64            `json:"start_failed"`
	Sent             int64            `json:"sent"`
	Delivered        int64            `json:"delivered"`
	Read             int64            `json:"read"`
	Replied          int64            `json:"replied"`
	Completed        int64            `json:"completed"`
	Failed           int64            `json:"failed"`
	FailedByReason   map[string]int64 `json:"failed_by_reason"`
	// Rate is starts per second over the last refresh interval.
	Rate float64 `json:"rate"`
	// ETASeconds is the time left at Rate; 0 when unknown or done.
	ETASeconds float64   `json:"eta_seconds"`
	UpdatedAt  time.Time `json:"updated_at"`
	// ChecksSince is when the failure-rate check starts counting (the
	// execution's start or last resume).
	ChecksSince time.Time `json:"checks_since"`
}

// ExecutionCreateParams create an execution and take its recipients.
type ExecutionCreateParams struct {
	Execution Execution
}

// ExecutionTakeParams take the next rows of an execution's dataset.
type ExecutionTakeParams struct {
	ProjectID string
	ID        string
	Limit     int64
}

// ExecutionListParams list a campaign's executions.
type ExecutionListParams struct {
	ProjectID  string
	CampaignID string
	Page
}

// ExecutionCountParams add to an execution's start counters.
type ExecutionCountParams struct {
	ProjectID   string
	ID          string
	Started     int64
	StartFailed int64
	Now         time.Time
}

// Recipient statuses.
const (
	RecipientQueued  = "queued"
	RecipientWaiting = "waiting"
	RecipientStarted = "started"
	RecipientFailed  = "failed"
)

// Recipient is a dataset row taken by a campaign.
type Recipient struct {
	CampaignID  string
	DatasetID   string
	RowNum      int64
	ProjectID   string
	ExecutionID string
	Status      string
	Phone       string
	Timezone    string
	NotBefore   *time.Time
	ChannelID   string
	ContactID   string
	SessionID   string
	Error       string
	StartedAt   *time.Time
}

// RecipientsDueParams find recipients to start.
type RecipientsDueParams struct {
	ProjectID   string
	ExecutionID string
	Now         time.Time
	Limit       int
}

// RecipientsWaitParams park recipients until their window opens.
type RecipientsWaitParams struct {
	CampaignID string
	DatasetID  string
	Rows       []int64
	NotBefore  time.Time
}

// RecipientClaimParams start (or fail) one recipient.
type RecipientClaimParams struct {
	CampaignID string
	DatasetID  string
	RowNum     int64
	// Status is RecipientStarted or RecipientFailed.
	Status    string
	ChannelID string
	ContactID string
	SessionID string
	Error     string
	Now       time.Time
}

// RecipientListParams page through recipients.
type RecipientListParams struct {
	ProjectID   string
	CampaignID  string
	ExecutionID string
	Status      string
	AfterRow    int64
	Limit       int
}

// ExecutionMessageStats count an execution's messages and sessions.
type ExecutionMessageStats struct {
	// Outbound counts outbound messages by status.
	Outbound map[string]int64
	// FailedByReason counts failed outbound messages by error code.
	FailedByReason map[string]int64
	// RepliedContacts counts recipients who wrote back after their start.
	RepliedContacts int64
	// Sessions counts the execution's sessions by status.
	Sessions map[string]int64
}

// RecentSendsRows bounds the rows ExecutionRecentSends looks at, per send
// asked for. At Limit 100 that is the last 2,000 rows started: at 1,000
// rows a second their last 2 s, time enough for most of Meta's
// asynchronous failures (they come within a second or two of the send;
// the send's own answer carries the rest), and at slower rates far longer.
const RecentSendsRows = 20

// ExecutionRecentSendsParams ask for an execution's latest sends.
type ExecutionRecentSendsParams struct {
	ProjectID   string
	ExecutionID string
	// Since ignores messages last changed before it (a resume starts the
	// count afresh).
	Since time.Time
	Limit int
}

// RecentSend is one outbound message's outcome.
type RecentSend struct {
	Status    string
	ErrorCode string
}
