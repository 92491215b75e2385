// Package store defines the persistence seam: the repository interfaces
// every database implements (store/sqlite, store/postgres), their parameter
// structs and their errors. Behaviour is pinned by the one conformance suite
// in store/storetest, which every implementation passes.
//
// The repository is cut per aggregate, so a consumer asks for the part it
// uses and nothing more:
//
//   - Accounts: projects, users, memberships, API tokens, web sessions,
//     the audit log and API idempotency keys.
//   - Templates: a project's message templates.
//   - Flows: chat flows, their published revisions and execution counters.
//   - WhatsAppFlows: a project's WhatsApp Flows (forms) and their state at Meta.
//   - Channels: a project's channels and how a webhook finds one.
//   - Runtime: contacts and their URNs, messages, the contact events that
//     feed a contact's inbox, flow sessions and their traces.
//   - ChannelLogs and DeadLetters: what was said to and heard from each
//     provider, and the webhooks that could not be processed (outside
//     Queries: they are written beside transactions, never inside one).
//   - Queue: the work side of the runtime: finding due contact events and
//     queued messages, claiming, retrying and releasing them, and enqueueing
//     durable jobs.
//
// Queries composes all of them (with AfterCommit); a Store is Queries plus
// transactions and lifecycle. A service that needs one aggregate and
// transactions takes that interface and Transactor: inside InTx it still
// gets the whole of Queries, for the writes that cross aggregates. A new
// aggregate (campaigns, channel logs) is one more interface embedded in
// Queries, one more file and Run function in storetest, and one more line
// in each dialect's TestConformance.
//
// Method convention: NounVerb(ctx, arg) with at most one argument besides
// ctx. Where a method needs more, the argument is a struct: a shared key
// where several methods take the same key (Ref for an ID within a project,
// MembershipKey, IdempotencyKey, DueParams, ClaimParams), otherwise
// <Method>Params (TemplateGetByNameParams). Methods that take a whole
// record (ChannelCreate, SessionUpdate) take the domain type itself.
package store

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/domain"
)

// Errors returned by every implementation; test with errors.Is.
var (
	// ErrNotFound: no such row in the given project. Never returned as nil, nil.
	ErrNotFound = domain.ErrNotFound
	// ErrConflict: a unique constraint or a stale precondition.
	ErrConflict = domain.ErrConflict
)

// Store is an open database: the queries, transactions, the job client and
// lifecycle.
type Store interface {
	Queries
	Transactor
	ChannelLogs
	DeadLetters
	// Jobs is the durable job client bound to this database.
	Jobs() JobClient
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// StatisticsRefresh brings the planner's statistics up to date where
	// they have fallen behind the tables, and returns the tables it
	// refreshed. Call it now and then: a plan chosen while a table was
	// nearly empty can stay in use long after it is not.
	StatisticsRefresh(ctx context.Context) ([]string, error)
	// Dialect is "sqlite" or "postgres".
	Dialect() string
	// Close releases connections. Stop the job client first.
	Close() error
}

// JobClient is the part of a River client the rest of Parley drives. Both
// *river.Client[*sql.Tx] and *river.Client[pgx.Tx] satisfy it.
type JobClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// Page asks for one page of a list ordered newest first.
type Page struct {
	// Limit is the page size; implementations clamp it to 1..MaxPageSize.
	Limit int
	// After is the cursor returned with the previous page (the last ID seen).
	After string
}

// MaxPageSize bounds every list query.
const MaxPageSize = 500

// DefaultPageSize is used when a caller asks for no particular size.
const DefaultPageSize = 50

// Clamp returns p with Limit within bounds.
func (p Page) Clamp() Page {
	switch {
	case p.Limit <= 0:
		p.Limit = DefaultPageSize
	case p.Limit > MaxPageSize:
		p.Limit = MaxPageSize
	}
	return p
}

// List is one page of results and the cursor for the next, empty at the end.
type List[T any] struct {
	Items []T
	Next  string
}

// Ref names a row by its ID within a project: the key of every Get and
// Delete that is scoped to a project. A lookup in another project than the
// row's is ErrNotFound.
type Ref struct {
	ProjectID string
	ID        string
}

// Transactor opens transactions. Services that need one aggregate and
// transactions take that aggregate's interface and this one.
type Transactor interface {
	// InTx runs fn in one transaction. Everything fn does through q,
	// including JobInsert, commits together or not at all. fn must not use
	// the outer Store: with SQLite's single write connection that would
	// deadlock.
	InTx(ctx context.Context, fn func(q Queries) error) error
}

// replayKey marks a context with Replayable.
type replayKey struct{}

// Replayable marks ctx for InTx: fn may run more than once, and only the
// work of its last run commits. A store may then run fn without a
// savepoint of its own inside a shared transaction and, should anything
// in that transaction fail, roll it back and run fn again (PostgreSQL's
// group commit: six of an exchange's statements were savepoints). Mark
// only an fn whose effects outside q are re-done by running it again:
// results it sets are set again, counters it keeps are reset at its top,
// and what it hands on goes through AfterCommit (a rolled-back run's hooks
// are dropped). An fn that reads a stream, or sends anything anywhere, is
// not replayable.
func Replayable(ctx context.Context) context.Context {
	return context.WithValue(ctx, replayKey{}, true)
}

// IsReplayable reports whether ctx was marked by Replayable.
func IsReplayable(ctx context.Context) bool {
	v, _ := ctx.Value(replayKey{}).(bool)
	return v
}

// Queries are every repository method, usable on a Store or inside InTx.
type Queries interface {
	Accounts
	Templates
	Flows
	WhatsAppFlows
	AIProviders
	Calls
	CallRecordings
	ProjectDatabases
	EventHooks
	NumberProfiles
	Channels
	Runtime
	Queue
	Datasets
	Campaigns
	CampaignReports
	// AfterCommit runs fn once the transaction these Queries belong to has
	// committed (never when it rolls back), or at once outside a
	// transaction. Work that must see the transaction's rows — waking a
	// worker for them — goes here.
	AfterCommit(fn func())
}
