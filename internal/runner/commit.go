package runner

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/store"
)

// commit applies a sprint in one transaction: the event is marked handled,
// sessions saved, messages and their send jobs, timer jobs, trace and
// counters written — or none of it.
func (r *Runner) commit(ctx context.Context, sp *sprint) error {
	now := r.d.Clock.Now()
	r.commitGate.RLock()
	defer r.commitGate.RUnlock()
	err := r.st.InTx(ctx, func(q store.Queries) error {
		// On PostgreSQL concurrent sprints of one contact (other processes)
		// are serialised by a row lock; SQLite's single writer already runs
		// them one after the other, and the event's handled check below
		// makes the loser give way.
		if r.lockContacts {
			if err := q.ContactLock(ctx, sp.ev.ProjectID, sp.ev.ContactID); err != nil {
				return err
			}
		}
		if err := q.ContactEventDone(ctx, sp.ev.Seq, sp.result, now); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errRace
			}
			return err
		}
		reply := sp.ev.Kind == domain.EventMessage
		for _, m := range sp.notices {
			if err := r.sendMessage(ctx, q, sp, nil, m, true, now); err != nil {
				return err
			}
		}
		for _, ru := range sp.runs {
			if err := r.applyRun(ctx, q, sp, ru, reply, now); err != nil {
				return err
			}
		}
		if sp.changed {
			sp.contact.UpdatedAt = now
			if _, err := q.ContactUpdate(ctx, sp.contact); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return errRace
	}
	return err
}

// applyRun stores one session's sprint and everything its events ask for.
func (r *Runner) applyRun(ctx context.Context, q store.Queries, sp *sprint, ru *run, reply bool, now time.Time) error {
	rec := ru.rec
	es := ru.es
	state, err := es.MarshalBinary()
	if err != nil {
		return err
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
	rec.ExpiresAt, rec.EndReason, rec.UpdatedAt = es.ExpiresAt, es.EndReason, now
	if es.Status.Ended() && rec.EndedAt == nil {
		rec.EndedAt = &now
	}
	rec.Version++

	stats := store.FlowStatsAddParams{ProjectID: rec.ProjectID, FlowID: rec.FlowID, Revision: rec.Revision, At: now,
		Nodes: map[string]store.NodeCounts{}, Edges: map[string]int64{}}
	var trace []domain.TraceEvent
	addTrace := func(e engine.Event, data any) {
		raw, _ := json.Marshal(data)
		trace = append(trace, domain.TraceEvent{ProjectID: rec.ProjectID, SessionID: rec.ID, Kind: e.Kind.String(), NodeID: e.Node, Data: raw, CreatedAt: now})
	}
	lastNode := rec.NodeID
	for i := range ru.events {
		e := ru.events[i]
		// Counters belong to the root flow's revision; subflows count in their own.
		root := e.Flow == ""
		switch e.Kind {
		case engine.EventNodeEntered:
			if root {
				c := stats.Nodes[e.Node]
				c.Visits++
				stats.Nodes[e.Node] = c
				lastNode = e.Node
			}
		case engine.EventEdgeTaken:
			if root && e.Edge != "" {
				stats.Edges[e.Edge]++
			}
		case engine.EventMessageOut:
			msgID, err := r.sendMessageID(ctx, q, sp, &rec, *e.Message, reply, now)
			if err != nil {
				return err
			}
			if ru.logging {
				addTrace(e, map[string]any{"message_id": msgID, "message": e.Message})
			}
			continue
		case engine.EventContactChanged:
			applyContactChange(&sp.contact, e, now)
			sp.changed = true
		case engine.EventTimerSet:
			if !rec.Simulated {
				if err := q.JobInsert(ctx, TimerArgs{ProjectID: rec.ProjectID, ContactID: rec.ContactID, SessionID: rec.ID, Seq: e.Seq},
					&river.InsertOpts{ScheduledAt: e.At}); err != nil {
					return err
				}
			}
		case engine.EventSessionEnded:
			switch e.Status {
			case engine.StatusCompleted:
				stats.Sessions.Completed++
			case engine.StatusExpired, engine.StatusFailed, engine.StatusInterrupted:
				if e.Status == engine.StatusExpired {
					stats.Sessions.Expired++
				} else if e.Status == engine.StatusFailed {
					stats.Sessions.Failed++
				}
				if lastNode != "" {
					c := stats.Nodes[lastNode]
					c.DropOffs++
					stats.Nodes[lastNode] = c
				}
			}
		}
		if ru.logging || e.Kind == engine.EventError || e.Kind == engine.EventSessionEnded {
			addTrace(e, e)
		}
	}
	rec.NodeID = lastNode

	if ru.create {
		stats.Sessions.Started++
		if err := q.SessionCreate(ctx, rec); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errRace
			}
			return err
		}
		if !rec.Simulated && !es.Status.Ended() {
			if err := q.JobInsert(ctx, TimerArgs{ProjectID: rec.ProjectID, ContactID: rec.ContactID, SessionID: rec.ID, Expire: true},
				&river.InsertOpts{ScheduledAt: es.ExpiresAt}); err != nil {
				return err
			}
		}
	} else if err := q.SessionUpdate(ctx, rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errRace
		}
		return err
	}
	if len(trace) > 0 {
		if err := q.TraceAppend(ctx, trace); err != nil {
			return err
		}
	}
	ru.rec = rec
	if rec.Simulated {
		return nil // the simulator never touches live analytics
	}
	q.AfterCommit(func() { r.stats.add(stats) })
	return nil
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

func (r *Runner) sendMessage(ctx context.Context, q store.Queries, sp *sprint, rec *domain.FlowSession, m engine.Message, reply bool, now time.Time) error {
	_, err := r.sendMessageID(ctx, q, sp, rec, m, reply, now)
	return err
}

// sendMessageID stores an outbound message and enqueues its send. An
// opted-out contact gets replies only; anything else is stored as failed so
// the conversation shows why it never left.
func (r *Runner) sendMessageID(ctx context.Context, q store.Queries, sp *sprint, rec *domain.FlowSession, m engine.Message, reply bool, now time.Time) (string, error) {
	content, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	msg := domain.Message{ID: r.d.IDs.NewID(), ProjectID: sp.ev.ProjectID, ContactID: sp.contact.ID, ChannelID: sp.p.ChannelID,
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
	_, err = r.queueSend(ctx, q, msg)
	return msg.ID, err
}

// queueSend stores an outbound message; a queued one is held by this
// process and handed to a sender once the transaction commits.
func (r *Runner) queueSend(ctx context.Context, q store.Queries, msg domain.Message) (domain.Message, error) {
	if msg.Status == domain.MessageQueued {
		due := r.held(msg.CreatedAt)
		msg.DueAt = &due
	}
	out, err := q.MessageCreate(ctx, msg)
	if err != nil {
		return out, err
	}
	if out.Status == domain.MessageQueued {
		r.notifySend(q, out)
	}
	return out, nil
}
