// Package sprint is the runner's middle part: it handles one contact event
// at a time — loads the contact and its session, runs the engine outside
// any transaction (http_request nodes may take seconds), works out what to
// write, and commits it all in one transaction: the event marked handled,
// sessions saved (a waiting session's timeout is its row's timeout_at,
// fired by the inbox's timer loop), outbound messages queued (handed to
// the outbox once the transaction commits), a new session's expiry job,
// trace and the contact's changes. A
// concurrent worker that handled the event first makes the commit fail
// (ErrRace) and the work is discarded, so each event has exactly one
// effect.
package sprint

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/waflow"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/lru"
	"github.com/parleyhq/parley/internal/runner/outbox"
	"github.com/parleyhq/parley/internal/shortcache"
	"github.com/parleyhq/parley/internal/store"
)

// Channels reads a project's channel on the hot path (the channel
// service, through its short-lived cache).
type Channels interface {
	// InProject is a project's channel (domain.NotFound when it is not).
	InProject(ctx context.Context, projectID, id string) (domain.Channel, error)
}

// Config is what a Handler needs besides the store and the outbox.
type Config struct {
	Flows    *chatflow.Service
	HTTP     engine.HTTPDoer
	LLM      engine.LLM
	Scripts  engine.Scripts
	Data     engine.Data
	Channels Channels
	Clock    domain.Clock
	IDs      domain.IDGen
	Logger   *slog.Logger
	// MaxDrafts bounds the simulator sessions whose compiled draft is kept
	// (DefaultMaxDrafts).
	MaxDrafts int
	// CallsQueued is told, after a commit, that a sprint queued voice
	// calls (the calls service claims them); nil: its poller finds them.
	CallsQueued func()
	// Events records event webhooks' events in the sprint's transaction;
	// nil records none.
	Events *eventhook.Recorder
}

// DefaultMaxDrafts is how many simulator sessions' drafts are kept.
const DefaultMaxDrafts = 1000

// Handler runs sprints: one per contact event.
type Handler struct {
	st  store.Store
	c   Config
	eng *engine.Engine
	out *outbox.Outbox
	// drafts pins the compiled draft a simulator session started on, so
	// saving the draft mid-simulation does not move the ground under it.
	drafts *lru.Cache[string, *flow.Program] // by session ID
	// stats adds up committed sprints' flow counters (see statsBuffer).
	stats   statsBuffer
	statsMu sync.Mutex
	// commitGate is held shared by each sprint commit until its counters
	// are buffered; FlushStats waits for those under way.
	commitGate sync.RWMutex
	// stopStats and statsDone run the counters' flusher.
	stopStats chan struct{}
	statsDone chan struct{}
	// projectWords are projects' keyword settings (see projectKeywords).
	projectWords shortcache.Cache[domain.Keywords]
	// lockContacts: the database has concurrent writers (PostgreSQL), so
	// a sprint's commit locks its contact's row.
	lockContacts bool
	// ahead holds sessions the timer loop read for their sprints (ahead.go).
	ahead ahead
}

// New returns a Handler whose commits queue their messages in out.
func New(st store.Store, out *outbox.Outbox, c Config) (*Handler, error) {
	if c.MaxDrafts <= 0 {
		c.MaxDrafts = DefaultMaxDrafts
	}
	h := &Handler{st: st, c: c, out: out, drafts: lru.New[string, *flow.Program](c.MaxDrafts), lockContacts: st.Dialect() != "sqlite"}
	eng, err := engine.New(engine.Services{Clock: c.Clock, IDs: c.IDs, HTTP: c.HTTP, LLM: c.LLM, Scripts: c.Scripts, Data: c.Data, Flows: flowLoader{h}, Forms: waflow.Answers{Store: st}})
	if err != nil {
		return nil, err
	}
	h.eng = eng
	h.ahead.held = lru.New[string, aheadEntry](aheadCap)
	return h, nil
}

// Engine is the engine the handler drives.
func (h *Handler) Engine() *engine.Engine { return h.eng }

// Start starts writing the flow counters once a second.
func (h *Handler) Start(context.Context) error {
	h.statsMu.Lock()
	defer h.statsMu.Unlock()
	if h.stopStats == nil {
		h.stopStats, h.statsDone = make(chan struct{}), make(chan struct{})
		go h.flushStatsLoop(h.stopStats, h.statsDone)
	}
	return nil
}

// Stop writes the flow counters counted so far and stops the flusher.
func (h *Handler) Stop() {
	h.statsMu.Lock()
	stop, done := h.stopStats, h.statsDone
	h.stopStats = nil
	h.statsMu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// ErrRace means another worker handled the event or moved the session
// first; the caller re-reads and carries on.
var ErrRace = errors.New("sprint: lost a race with another worker")

// QueueInbox is the River queue timers run on: they feed the inbox.
const QueueInbox = "inbox"

// TimerArgs fires a session's wait timeout or delay (Seq), or its expiry.
type TimerArgs struct {
	ProjectID string `json:"project_id"`
	ContactID string `json:"contact_id"`
	SessionID string `json:"session_id"`
	Seq       uint32 `json:"seq"`
	Expire    bool   `json:"expire,omitempty"`
}

// Kind implements river.JobArgs.
func (TimerArgs) Kind() string { return "session_timer" }

// InsertOpts puts timers on the inbox queue.
func (TimerArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueInbox} }

// Payload is what a contact event carries.
type Payload struct {
	ChannelID string         `json:"channel_id,omitempty"`
	Input     *engine.Input  `json:"input,omitempty"`
	FlowID    string         `json:"flow_id,omitempty"`
	SessionID string         `json:"session_id,omitempty"`
	Vars      map[string]any `json:"vars,omitempty"`
	// Row is a campaign's dataset row, read by the flow as {{column}}.
	Row    map[string]any `json:"row,omitempty"`
	Seq    uint32         `json:"seq,omitempty"`
	Reason string         `json:"reason,omitempty"`
	Draft  bool           `json:"draft,omitempty"`
	// Simulated events belong to the simulator: no channel, no analytics.
	Simulated bool `json:"simulated,omitempty"`
	// Reply marks messages sent in answer to the contact (allowed even
	// after an opt-out).
	Reply bool `json:"reply,omitempty"`
	// Address is where an inbound message came from on ChannelID: replies
	// on that channel go there without reading the contact's addresses.
	Address string `json:"address,omitempty"`
	// Trigger are the facts of an inbound event that special triggers
	// (referral, conversation_started, story) start flows on.
	Trigger *TriggerFacts `json:"trigger,omitempty"`
}

// TriggerFacts are what an inbound event says beyond its input.
type TriggerFacts struct {
	// Event is set for events without content that only start flows:
	// conversation_started, referral.
	Event string `json:"event,omitempty"`
	// Referral says the person came from an ad or a referral link;
	// ReferralIDs are its ad/source ID and ref parameter.
	Referral    bool     `json:"referral,omitempty"`
	ReferralIDs []string `json:"referral_ids,omitempty"`
	// Story is "reply" or "mention" for an Instagram story event.
	Story string `json:"story,omitempty"`
}

// Raw is the payload as stored.
func (p Payload) Raw() json.RawMessage {
	b, _ := json.Marshal(p)
	return b
}

// flowLoader loads subflows for the engine, within the project of the
// flow that calls them (the engine hands back the root flow's Scope).
type flowLoader struct{ h *Handler }

func (l flowLoader) Load(ctx context.Context, projectID, flowID string, revision int) (engine.Flow, error) {
	f, _, err := l.h.liveFlow(ctx, projectID, flowID, revision)
	return f, err
}

// liveFlow loads a published revision (0: the live one) as an engine.Flow,
// with the flow's row for the settings the host needs (logging, retrigger).
func (h *Handler) liveFlow(ctx context.Context, projectID, flowID string, revision int) (engine.Flow, store.Flow, error) {
	fl, err := h.st.FlowHeadGet(ctx, store.Ref{ProjectID: projectID, ID: flowID})
	if err != nil {
		return engine.Flow{}, fl, err
	}
	f, err := h.engineFlow(ctx, fl, revision)
	return f, fl, err
}

// engineFlow is the compiled revision (0: the live one) of a flow row.
func (h *Handler) engineFlow(ctx context.Context, fl store.Flow, revision int) (engine.Flow, error) {
	if revision == 0 {
		if fl.Status != store.FlowPublished || fl.LiveRevision == 0 {
			return engine.Flow{}, domain.Errorf(domain.CodeConflict, "flow %q is not published", fl.Name)
		}
		revision = fl.LiveRevision
	}
	prog, err := h.c.Flows.Program(ctx, fl.ProjectID, fl.ID, revision)
	if err != nil {
		return engine.Flow{}, err
	}
	return engine.Flow{ID: fl.ID, Name: fl.Name, Revision: revision, Program: prog, ExpireAfter: time.Duration(fl.ExpireAfterSeconds) * time.Second,
		Scope: fl.ProjectID}, nil
}

// draftFlow is a flow's draft for a simulation, pinned to the session: saving
// the draft mid-simulation does not move the ground under it. After a
// restart, or once the session was evicted from the bounded cache, the
// pinned program is gone and the current draft is the best the simulator
// can do.
func (h *Handler) draftFlow(ctx context.Context, fl store.Flow, sessionID string) (engine.Flow, error) {
	prog, ok := h.drafts.Get(sessionID)
	if !ok {
		p, err := h.c.Flows.DraftProgram(ctx, fl.ProjectID, fl.ID)
		if err != nil {
			return engine.Flow{}, err
		}
		h.drafts.Put(sessionID, p)
		prog = p
	}
	return engine.Flow{ID: fl.ID, Name: fl.Name, Program: prog, ExpireAfter: time.Duration(fl.ExpireAfterSeconds) * time.Second, Scope: fl.ProjectID}, nil
}

// sessionFlow is the program a stored session runs (its pinned revision or
// draft) and the flow's row: head when it was read with the session, else
// read now.
func (h *Handler) sessionFlow(ctx context.Context, s domain.FlowSession, head *store.Flow) (engine.Flow, store.Flow, error) {
	var fl store.Flow
	var err error
	if head != nil {
		fl = *head
	} else if fl, err = h.st.FlowHeadGet(ctx, store.Ref{ProjectID: s.ProjectID, ID: s.FlowID}); err != nil {
		return engine.Flow{}, fl, err
	}
	var f engine.Flow
	if s.Draft {
		f, err = h.draftFlow(ctx, fl, s.ID)
	} else {
		f, err = h.engineFlow(ctx, fl, s.Revision)
	}
	return f, fl, err
}
