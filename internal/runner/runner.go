// Package runner is the host side of the engine: it turns inbound messages,
// timers, API starts and agent actions into engine sprints, one contact at a
// time and in arrival order, and commits each sprint's effects — session
// state, queued outbound messages, timer jobs, trace and counters — in one
// transaction.
//
// Every event that may move a contact's session is first queued in the
// contact's inbox (contact_events) in the transaction that records it; the
// inbox dispatcher is woken for it after commit, and any process's poller
// finds it when due. Processing takes the oldest unhandled event,
// runs the engine outside any transaction (http_request nodes may take
// seconds), then commits the outcome together with marking the event
// handled; a concurrent worker that handled it first makes the commit fail
// and the work is discarded. So each event has exactly one effect, in order,
// whatever the number of workers and processes.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/dispatch"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// Senders gives the adapter that sends for a channel.
type Senders interface {
	Adapter(ctx context.Context, ch domain.Channel) (channel.Adapter, error)
}

// Deps are what a Runner needs besides the store.
type Deps struct {
	Flows   *chatflow.Service
	HTTP    engine.HTTPDoer
	LLM     engine.LLM
	Senders Senders
	Clock   domain.Clock
	IDs     domain.IDGen
	Logger  *slog.Logger
	// SendAttempts bounds retries of a retryable send failure (default 8).
	SendAttempts int
	// Lease is how long the process that queued an inbox event or a message
	// holds it before any process's poller may take it (DefaultLease).
	Lease time.Duration
	// InboxWorkers and SendWorkers are how many contacts are processed and
	// messages sent at once (DefaultInboxWorkers, DefaultSendWorkers).
	InboxWorkers, SendWorkers int
	// PollEvery is how often the pollers look for rows whose holder died
	// or whose retry is due (DefaultPollEvery).
	PollEvery time.Duration
}

// Runner hosts the engine.
type Runner struct {
	d   Deps
	st  store.Store
	eng *engine.Engine
	// drafts pins the compiled draft a simulator session started on, so
	// saving the draft mid-simulation does not move the ground under it.
	drafts sync.Map // session ID → *flow.Program
	inbox  *dispatch.Dispatcher[contactKey]
	outbox *dispatch.Dispatcher[messageKey]
	// sending holds the messages this process queued and handed to its
	// senders, so a send need not read back what it just wrote.
	sending      sync.Map // message ID → queuedSend
	channels     channelCache
	projectWords shortCache[keywordSettings] // by project ID
	// stats adds up committed sprints' flow counters (see statsBuffer).
	stats   statsBuffer
	statsMu sync.Mutex
	// commitGate is held shared by each sprint commit until its counters
	// are buffered; FlushStats waits for those under way.
	commitGate sync.RWMutex
	// stopStats and statsDone run the counters' flusher.
	stopStats chan struct{}
	statsDone chan struct{}
	// lockContacts: the database has concurrent writers (PostgreSQL), so
	// a sprint's commit locks its contact's row.
	lockContacts bool
}

// New returns a Runner; Bind gives it its store before it is used.
func New(d Deps) (*Runner, error) {
	if d.SendAttempts <= 0 {
		d.SendAttempts = 8
	}
	if d.Lease <= 0 {
		d.Lease = DefaultLease
	}
	if d.InboxWorkers <= 0 {
		d.InboxWorkers = DefaultInboxWorkers
	}
	if d.SendWorkers <= 0 {
		d.SendWorkers = DefaultSendWorkers
	}
	if d.PollEvery <= 0 {
		d.PollEvery = DefaultPollEvery
	}
	r := &Runner{d: d}
	r.newDispatchers()
	eng, err := engine.New(engine.Services{Clock: d.Clock, IDs: d.IDs, HTTP: d.HTTP, LLM: d.LLM, Flows: flowLoader{r}})
	if err != nil {
		return nil, err
	}
	r.eng = eng
	return r, nil
}

// Bind sets the store and the flow service. The River config that holds
// the runner's workers must exist before the store can be opened, hence the
// two steps.
func (r *Runner) Bind(st store.Store, flows *chatflow.Service) {
	r.st = st
	r.lockContacts = st.Dialect() != "sqlite"
	if flows != nil {
		r.d.Flows = flows
	}
}

// Engine is the engine the runner drives.
func (r *Runner) Engine() *engine.Engine { return r.eng }

// errRace means another worker handled the event or moved the session
// first; the caller re-reads and carries on.
var errRace = errors.New("runner: lost a race with another worker")

type projectKey struct{}

// flowLoader loads subflows for the engine. The project comes from the
// sprint's context: flows are only ever loaded within their own project.
type flowLoader struct{ r *Runner }

func (l flowLoader) Load(ctx context.Context, flowID string, revision int) (engine.Flow, error) {
	projectID, _ := ctx.Value(projectKey{}).(string)
	f, _, err := l.r.liveFlow(ctx, projectID, flowID, revision)
	return f, err
}

// liveFlow loads a published revision (0: the live one) as an engine.Flow,
// with the flow's row for the settings the host needs (logging, retrigger).
func (r *Runner) liveFlow(ctx context.Context, projectID, flowID string, revision int) (engine.Flow, store.Flow, error) {
	fl, err := r.st.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
	if err != nil {
		return engine.Flow{}, fl, err
	}
	f, err := r.engineFlow(ctx, fl, revision)
	return f, fl, err
}

// engineFlow is the compiled revision (0: the live one) of a flow row.
func (r *Runner) engineFlow(ctx context.Context, fl store.Flow, revision int) (engine.Flow, error) {
	if revision == 0 {
		if fl.Status != store.FlowPublished || fl.LiveRevision == 0 {
			return engine.Flow{}, domain.Errorf(domain.CodeConflict, "flow %q is not published", fl.Name)
		}
		revision = fl.LiveRevision
	}
	prog, err := r.d.Flows.Program(ctx, fl.ProjectID, fl.ID, revision)
	if err != nil {
		return engine.Flow{}, err
	}
	return engine.Flow{ID: fl.ID, Name: fl.Name, Revision: revision, Program: prog, ExpireAfter: time.Duration(fl.ExpireAfterSeconds) * time.Second}, nil
}

// draftFlow is a flow's draft for a simulation, pinned to the session: saving
// the draft mid-simulation does not move the ground under it. After a
// restart the pinned program is gone and the current draft is the best the
// simulator can do.
func (r *Runner) draftFlow(ctx context.Context, fl store.Flow, sessionID string) (engine.Flow, error) {
	prog, ok := r.drafts.Load(sessionID)
	if !ok {
		p, err := r.d.Flows.DraftProgram(ctx, fl.ProjectID, fl.ID)
		if err != nil {
			return engine.Flow{}, err
		}
		r.drafts.Store(sessionID, p)
		prog = p
	}
	return engine.Flow{ID: fl.ID, Name: fl.Name, Program: prog.(*flow.Program), ExpireAfter: time.Duration(fl.ExpireAfterSeconds) * time.Second}, nil
}

// sessionFlow is the program a stored session runs (its pinned revision or
// draft) and the flow's row.
func (r *Runner) sessionFlow(ctx context.Context, s domain.FlowSession) (engine.Flow, store.Flow, error) {
	fl, err := r.st.FlowGet(ctx, store.Ref{ProjectID: s.ProjectID, ID: s.FlowID})
	if err != nil {
		return engine.Flow{}, fl, err
	}
	var f engine.Flow
	if s.Draft {
		f, err = r.draftFlow(ctx, fl, s.ID)
	} else {
		f, err = r.engineFlow(ctx, fl, s.Revision)
	}
	return f, fl, err
}

// payload is what a contact event carries.
type payload struct {
	ChannelID string         `json:"channel_id,omitempty"`
	Input     *engine.Input  `json:"input,omitempty"`
	FlowID    string         `json:"flow_id,omitempty"`
	SessionID string         `json:"session_id,omitempty"`
	Vars      map[string]any `json:"vars,omitempty"`
	Seq       uint32         `json:"seq,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	Draft     bool           `json:"draft,omitempty"`
	// Simulated events belong to the simulator: no channel, no analytics.
	Simulated bool `json:"simulated,omitempty"`
	// Reply marks messages sent in answer to the contact (allowed even
	// after an opt-out).
	Reply bool `json:"reply,omitempty"`
	// Address is where an inbound message came from on ChannelID: replies
	// on that channel go there without reading the contact's addresses.
	Address string `json:"address,omitempty"`
}

func (p payload) raw() json.RawMessage {
	b, _ := json.Marshal(p)
	return b
}

// queue appends an event to a contact's inbox in the caller's transaction;
// this process holds it and is told once the transaction commits.
func (r *Runner) queue(ctx context.Context, q store.Queries, e domain.ContactEvent) (domain.ContactEvent, error) {
	e.CreatedAt = r.d.Clock.Now()
	e.DueAt = r.held(e.CreatedAt)
	out, err := q.ContactEventAppend(ctx, e)
	if err != nil {
		return out, err
	}
	r.notifyContact(q, e.ProjectID, e.ContactID)
	return out, nil
}

// processBudget bounds one pass over a contact's inbox, so one busy contact
// cannot hold a worker while others wait.
const processBudget = 30 * time.Second

// errBudget: the pass stopped with events left.
var errBudget = errors.New("runner: inbox pass out of time")

// ProcessContact handles the contact's unhandled events in order until
// none is left (or its time budget is spent: the rest stays queued).
func (r *Runner) ProcessContact(ctx context.Context, projectID, contactID string) error {
	err := r.processInbox(ctx, contactID)
	if errors.Is(err, errBudget) {
		r.inbox.Notify(contactKey{projectID, contactID}, false)
		return nil
	}
	return err
}

// inboxBatch is how many of a contact's events one read takes.
const inboxBatch = 8

// processInbox is ProcessContact reporting a spent budget (errBudget) and
// which event failed (*eventError). A read that finds fewer than
// inboxBatch events ends the pass: an event committed after it wakes the
// contact again (dispatch.Notify runs a contact being worked once more).
func (r *Runner) processInbox(ctx context.Context, contactID string) error {
	deadline := time.Now().Add(processBudget)
	for {
		evs, err := r.st.ContactEventsNext(ctx, store.ContactEventsNextParams{ContactID: contactID, Limit: inboxBatch})
		if err != nil {
			return fmt.Errorf("reading the inbox of contact %s: %w", contactID, err)
		}
		raced := false
		for _, ev := range evs {
			if time.Now().After(deadline) {
				return errBudget
			}
			if err := r.handle(ctx, ev); err != nil {
				if errors.Is(err, errRace) {
					raced = true // someone else moved on: read again
					break
				}
				return &eventError{ev: ev, err: fmt.Errorf("handling event %d (%s) of contact %s: %w", ev.Seq, ev.Kind, contactID, err)}
			}
		}
		if !raced && len(evs) < inboxBatch {
			return nil
		}
	}
}
