package sprint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/store"
)

// commit applies a sprint in one transaction: the event is marked handled,
// sessions saved (a waiting session's timeout with it), messages queued
// for the outbox, the expiry job of a new session, trace and
// counters written — or none of it. What to write is worked out first,
// outside the transaction: on SQLite its function runs on the one writer,
// which should spend its time on statements, not on encoding JSON.
func (h *Handler) commit(ctx context.Context, sp *sprint) error {
	now := h.c.Clock.Now()
	reply := sp.ev.Kind == domain.EventMessage
	var notices []domain.Message
	for _, m := range sp.notices {
		msg, err := h.outMessage(sp, nil, m, true, now)
		if err != nil {
			return err
		}
		notices = append(notices, msg)
	}
	plans := make([]runPlan, 0, len(sp.runs))
	for _, ru := range sp.runs {
		p, err := h.planRun(sp, ru, reply, now)
		if err != nil {
			return err
		}
		plans = append(plans, p)
	}
	if sp.changed {
		sp.contact.UpdatedAt = now
	}
	h.commitGate.RLock()
	defer h.commitGate.RUnlock()
	// Replayable: the writes are worked out above, and what the sprint
	// hands on goes through AfterCommit.
	err := h.st.InTx(store.Replayable(ctx), func(q store.Queries) error {
		// On PostgreSQL concurrent sprints of one contact (other processes)
		// are serialised by a row lock; SQLite's single writer already runs
		// them one after the other, and the event's handled check below
		// makes the loser give way. (Taking the lock in the handled check's
		// statement measured slower: session 22.)
		if h.lockContacts {
			if err := q.ContactLock(ctx, store.Ref{ProjectID: sp.ev.ProjectID, ID: sp.ev.ContactID}); err != nil {
				return err
			}
		}
		if err := q.ContactEventDone(ctx, store.ContactEventDoneParams{Seq: sp.ev.Seq, Result: sp.result, Now: now}); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrRace
			}
			return err
		}
		for _, m := range notices {
			if _, err := h.out.Queue(ctx, q, m, h.replyTo(sp, m)); err != nil {
				return err
			}
		}
		for i := range plans {
			if err := h.applyRun(ctx, q, &plans[i]); err != nil {
				return err
			}
		}
		if sp.changed {
			if _, err := q.ContactUpdate(ctx, sp.contact); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return ErrRace
	}
	return err
}

// runPlan is what one session's sprint writes, in the order it is written.
type runPlan struct {
	rec    domain.FlowSession
	create bool
	// writes are the messages and calls the session's events asked for,
	// in their order.
	writes []planned
	// trace is the sprint's trace, packed before the transaction.
	trace []store.PackedTrace
	stats store.FlowStatsAddParams
	// hooks are the events for event webhooks, recorded in the
	// transaction (none for simulated sessions).
	hooks []eventhook.Event
}

// planned is an outbound message to store (and to whom, when known), or
// (message nil) a voice call.
type planned struct {
	message *domain.Message
	to      *domain.URN
	call    *store.Call
}

// planRun works out what one session's sprint writes.
func (h *Handler) planRun(sp *sprint, ru *run, reply bool, now time.Time) (runPlan, error) {
	rec := ru.rec
	es := ru.es
	rec.ExpiresAt = es.ExpiresAt // before the state, which leaves it to the row
	state, err := es.AppendState(nil, hostKeys(rec))
	if err != nil {
		return runPlan{}, err
	}
	rec.Status, rec.State = es.Status.String(), state
	rec.WaitSeq, rec.WaitingFor, rec.TimeoutAt = int(es.Wait.Seq), "", nil
	if es.Status == engine.StatusWaiting {
		rec.WaitingFor = es.Wait.Kind.String()
		if !es.Wait.TimeoutAt.IsZero() {
			t := es.Wait.TimeoutAt
			rec.TimeoutAt = &t
		}
	}
	rec.EndReason, rec.UpdatedAt = es.EndReason, now
	if es.Status.Ended() && rec.EndedAt == nil {
		rec.EndedAt = &now
	}
	rec.Version++

	p := runPlan{create: ru.create}
	var trace []domain.TraceEvent
	p.stats = store.FlowStatsAddParams{ProjectID: rec.ProjectID, FlowID: rec.FlowID, Revision: rec.Revision, At: now,
		Nodes: map[string]store.NodeCounts{}, Edges: map[string]int64{}}
	traceRaw := func(e *engine.Event, raw []byte) {
		trace = append(trace, domain.TraceEvent{ProjectID: rec.ProjectID, SessionID: rec.ID, Kind: e.Kind.String(), NodeID: e.Node, Data: raw, CreatedAt: now})
	}
	addTrace := func(e engine.Event, data any) {
		raw, _ := json.Marshal(data)
		traceRaw(&e, raw)
	}
	lastNode := rec.NodeID
	live := !rec.Simulated && !rec.Draft && h.c.Events != nil
	hook := func(typ string, data map[string]any) {
		if !live {
			return
		}
		data["session_id"], data["flow_id"], data["contact_id"] = rec.ID, rec.FlowID, rec.ContactID
		p.hooks = append(p.hooks, eventhook.Event{ProjectID: rec.ProjectID, ContactID: rec.ContactID, Type: typ, Data: data})
	}
	if ru.create {
		hook(eventhook.SessionStarted, map[string]any{"revision": rec.Revision, "channel_id": rec.ChannelID})
	}
	for i := range ru.events {
		e := ru.events[i]
		// Counters belong to the root flow's revision; subflows count in their own.
		root := e.Flow == ""
		switch e.Kind {
		case engine.EventNodeEntered:
			if root {
				c := p.stats.Nodes[e.Node]
				c.Visits++
				p.stats.Nodes[e.Node] = c
				lastNode = e.Node
			}
		case engine.EventLLMCalled:
			if root && e.LLM != nil {
				c := p.stats.Nodes[e.Node]
				c.LLM.Add(store.LLMCounts{Calls: 1, PromptTokens: int64(e.LLM.PromptTokens), CompletionTokens: int64(e.LLM.CompletionTokens), LatencyMS: e.LLM.LatencyMS})
				if e.LLM.Error != "" {
					c.LLM.Failures++
				}
				p.stats.Nodes[e.Node] = c
			}
		case engine.EventEdgeTaken:
			if root && e.Edge != "" {
				p.stats.Edges[e.Edge]++
			}
		case engine.EventMessageOut:
			if e.Message.Type == engine.MessageVoiceCall || e.Message.Type == engine.MessageVoiceTransfer {
				var c store.Call
				if e.Message.Transfer != nil {
					c = h.queuedTransfer(&rec, e.Message.Transfer, now)
				} else {
					c = h.queuedCall(&rec, e.Message.Call, now)
				}
				p.writes = append(p.writes, planned{call: &c})
				if ru.logging {
					addTrace(e, map[string]any{"call_id": c.ID, "call": e.Message.Call, "transfer": e.Message.Transfer})
				}
				continue
			}
			msg, err := h.outMessage(sp, &rec, *e.Message, reply, now)
			if err != nil {
				return runPlan{}, err
			}
			p.writes = append(p.writes, planned{message: &msg, to: h.replyTo(sp, msg)})
			if ru.logging {
				addTrace(e, map[string]any{"message_id": msg.ID, "message": e.Message})
			}
			continue
		case engine.EventVariableSet:
			hook(eventhook.VariableCaptured, map[string]any{"node": e.Node, "name": e.Name, "value": e.Value})
		case engine.EventContactChanged:
			applyContactChange(&sp.contact, e, now)
			sp.changed = true
			if e.Change == engine.ChangeHandoff {
				hook(eventhook.HandoffRequested, map[string]any{"node": e.Node, "assignee": e.Name})
			}
		case engine.EventTimerSet:
			// The timer is the session row's timeout_at (rec.TimeoutAt
			// above), which the inbox's timer loop fires when due: no row
			// of its own.
		case engine.EventSessionEnded:
			if root {
				hook(eventhook.SessionEnded, map[string]any{"status": e.Status.String(), "reason": e.Text, "node": lastNode})
			}
			switch e.Status {
			case engine.StatusCompleted:
				p.stats.Sessions.Completed++
			case engine.StatusExpired, engine.StatusFailed, engine.StatusInterrupted:
				if e.Status == engine.StatusExpired {
					p.stats.Sessions.Expired++
				} else if e.Status == engine.StatusFailed {
					p.stats.Sessions.Failed++
				}
				if lastNode != "" {
					c := p.stats.Nodes[lastNode]
					c.DropOffs++
					p.stats.Nodes[lastNode] = c
				}
			}
		}
		// Model calls are always traced: their tokens and latency are
		// what a project pays for.
		if ru.logging || e.Kind == engine.EventError || e.Kind == engine.EventSessionEnded || e.Kind == engine.EventLLMCalled {
			raw, err := e.AppendJSON(make([]byte, 0, 96))
			if err != nil {
				raw = nil // as json.Marshal's failure was: an empty step's data
			}
			traceRaw(&e, raw)
		}
	}
	rec.NodeID = lastNode
	p.trace = store.PackTrace(trace)
	if ru.create {
		// The session's expiry is its row's expires_at, which the inbox's
		// timer loop fires when due: no row of its own.
		p.stats.Sessions.Started++
	}
	p.rec = rec
	ru.rec = rec
	return p, nil
}

// applyRun stores one session's sprint and everything its events ask for,
// in the sprint's transaction.
func (h *Handler) applyRun(ctx context.Context, q store.Queries, p *runPlan) error {
	rec := p.rec
	for _, w := range p.writes {
		if w.call != nil {
			if w.call.Direction == callTransfer {
				if err := routeTransfer(ctx, q, w.call); err != nil {
					return err
				}
			}
			if err := q.CallCreate(ctx, *w.call); err != nil {
				return err
			}
			if wake := h.c.CallsQueued; wake != nil {
				q.AfterCommit(wake)
			}
			continue
		}
		if _, err := h.out.Queue(ctx, q, *w.message, w.to); err != nil {
			return err
		}
	}
	trace := p.trace
	if p.create {
		// The creating sprint's trace goes in the session's row (its
		// events then read as of the session's creation, when the engine
		// ran them, rather than of this commit).
		var first []byte
		if len(trace) > 0 && trace[0].SessionID == rec.ID {
			first, trace = trace[0].Packed, trace[1:]
		}
		if err := q.SessionCreate(ctx, store.SessionCreateParams{Session: rec, Trace: first}); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrRace
			}
			return err
		}
	} else if err := q.SessionUpdate(ctx, rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return ErrRace
		}
		return err
	}
	q.AfterCommit(func() { h.touched(rec.ID) }) // a copy read ahead is stale now
	if len(trace) > 0 {
		if err := q.TraceAppendPacked(ctx, trace); err != nil {
			return err
		}
	}
	if err := h.c.Events.Record(ctx, q, p.hooks...); err != nil {
		return err
	}
	if rec.Draft && !domain.SessionLive(rec.Status) {
		q.AfterCommit(func() { h.drafts.Remove(rec.ID) }) // nothing will run it again
	}
	if rec.Simulated {
		return nil // the simulator never touches live analytics
	}
	stats := p.stats
	q.AfterCommit(func() { h.stats.add(stats) })
	return nil
}

// callTransfer is the Direction of a voice_transfer step's request
// (voice.Transferring): a row of its own, claimed like a call.
const callTransfer = "transfer"

// queuedTransfer is a voice_transfer step's request on the session's held
// call, queued for the calls service in the sprint's transaction.
func (h *Handler) queuedTransfer(rec *domain.FlowSession, m *engine.TransferMessage, now time.Time) store.Call {
	req, _ := json.Marshal(m)
	return store.Call{ID: h.c.IDs.NewID(), ProjectID: rec.ProjectID, ContactID: rec.ContactID, SessionID: rec.ID, Token: m.Token,
		Direction: callTransfer, To: m.To, Request: req, Status: store.CallQueued, Simulated: rec.Simulated, CreatedAt: now, UpdatedAt: now}
}

// routeTransfer addresses a transfer request to the process holding the
// session's last call (only it has the call's line), on that call's
// voice number. With no call, any process takes it and answers failed.
func routeTransfer(ctx context.Context, q store.Queries, c *store.Call) error {
	cs, err := q.CallList(ctx, store.CallListParams{ProjectID: c.ProjectID, SessionID: c.SessionID, Limit: 20})
	if err != nil {
		return fmt.Errorf("finding the call to transfer: %w", err)
	}
	for _, held := range cs {
		if held.Direction != callTransfer && held.ID != c.ID {
			c.Owner, c.ChannelID = held.Owner, held.ChannelID
			if c.Owner != "" {
				// The owner claims it or renews it; past the lease it
				// is taken to have stopped during the hold.
				lease := c.CreatedAt.Add(store.AddressedLease)
				c.LeaseUntil = &lease
			}
			return nil
		}
	}
	return nil
}

// queuedCall is the voice call a voice_call node asked for, queued for the
// calls service in the sprint's transaction.
func (h *Handler) queuedCall(rec *domain.FlowSession, m *engine.CallMessage, now time.Time) store.Call {
	req, _ := json.Marshal(m)
	c := store.Call{ID: h.c.IDs.NewID(), ProjectID: rec.ProjectID, ChannelID: m.ChannelID, ContactID: rec.ContactID, SessionID: rec.ID,
		Token: m.Token, Direction: "outbound", To: m.To, Request: req, Status: store.CallQueued, Simulated: rec.Simulated,
		CreatedAt: now, UpdatedAt: now}
	if m.Direction == engine.CallInbound {
		// Awaited, not placed: the contact calls from m.To; the deadline
		// (kept in the lease) stops a late call from answering a wait
		// that timed out.
		c.Direction, c.From, c.To, c.Status = engine.CallInbound, m.To, "", store.CallAwaiting
		if m.AwaitSeconds > 0 {
			until := now.Add(time.Duration(m.AwaitSeconds) * time.Second)
			c.LeaseUntil = &until
		}
	}
	return c
}

// applyContactChange applies an action node's change to the stored contact.
func applyContactChange(c *domain.Contact, e engine.Event, now time.Time) {
	switch e.Change {
	case "add_tag":
		for _, t := range c.Tags {
			if t == e.Name {
				return
			}
		}
		c.Tags = append(c.Tags, e.Name)
	case "remove_tag":
		out := c.Tags[:0]
		for _, t := range c.Tags {
			if t != e.Name {
				out = append(out, t)
			}
		}
		c.Tags = out
	case "set_field":
		if c.Fields == nil {
			c.Fields = map[string]any{}
		}
		c.Fields[e.Name] = e.Value
	case "opt_out":
		c.OptedOut, c.OptedOutAt = true, &now
	case "opt_in":
		c.OptedOut, c.OptedOutAt = false, nil
	case "assign", "handoff":
		if e.Name != "" {
			c.Assignee = e.Name
		}
	case "close":
		c.Assignee = ""
	}
}

// replyTo is the address a message answering the sprint's inbound message
// goes to, known from the message itself, or a template's to the address a
// campaign started the flow for; nil when the message goes out on another
// channel or answers no message (the sender reads the address).
func (h *Handler) replyTo(sp *sprint, m domain.Message) *domain.URN {
	if sp.p.Address == "" || m.ChannelID != sp.p.ChannelID || m.Status != domain.MessageQueued {
		return nil
	}
	if sp.ev.Kind == domain.EventStart && m.Type == string(engine.MessageTemplate) {
		// A template may go out whenever the contact last wrote (which
		// only free-form messages need): the row's address is enough.
		return &domain.URN{ProjectID: sp.ev.ProjectID, Path: sp.p.Address, ContactID: sp.contact.ID, ChannelID: m.ChannelID}
	}
	if sp.ev.Kind != domain.EventMessage {
		return nil
	}
	at := sp.ev.CreatedAt // when the message was received
	return &domain.URN{ProjectID: sp.ev.ProjectID, Path: sp.p.Address, ContactID: sp.contact.ID, ChannelID: m.ChannelID, LastInboundAt: &at}
}

// outMessage is an outbound message to store and send. An opted-out
// contact gets replies only; anything else is stored as failed so the
// conversation shows why it never left.
func (h *Handler) outMessage(sp *sprint, rec *domain.FlowSession, m engine.Message, reply bool, now time.Time) (domain.Message, error) {
	content, err := json.Marshal(m)
	if err != nil {
		return domain.Message{}, err
	}
	msg := domain.Message{ID: h.c.IDs.NewID(), ProjectID: sp.ev.ProjectID, ContactID: sp.contact.ID, ChannelID: sp.p.ChannelID,
		Direction: domain.DirectionOut, Type: string(m.Type), Content: content, Status: domain.MessageQueued, CreatedAt: now, Priority: "reply"}
	if rec != nil {
		msg.SessionID = rec.ID
		if rec.ChannelID != "" {
			msg.ChannelID = rec.ChannelID
		}
	}
	if !reply {
		msg.Priority = "bulk"
	}
	simulated := sp.simulated || (rec != nil && rec.Simulated)
	switch {
	case simulated:
		// The simulator's bubbles are the stored messages themselves.
		msg.Status = domain.MessageDelivered
	case sp.contact.OptedOut && !reply:
		msg.Status, msg.ErrorCode, msg.ErrorReason = domain.MessageFailed, "opted_out", "the contact opted out; only replies to their own messages are sent"
	case msg.ChannelID == "":
		msg.Status, msg.ErrorCode, msg.ErrorReason = domain.MessageFailed, "no_channel", "the session has no channel to send on; start it with a channel_id"
	}
	return msg, nil
}
