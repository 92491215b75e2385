package conversation

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/store"
)

// SimulatorScheme is the address scheme of the simulator's made-up
// contacts.
const SimulatorScheme = "simulator"

// The simulator runs a flow — its draft or its live revision — for a
// made-up contact through the real runner and engine, synchronously, with
// no channel and no live analytics.

// SimulateParams start a simulation.
type SimulateParams struct {
	ProjectID string
	FlowID    string
	// Draft runs the working draft instead of the live revision.
	Draft bool
	// Name (default "Simulator"), Phone and Fields make up the contact.
	Name   string
	Phone  string
	Fields map[string]any
	Vars   map[string]any
}

// Simulate starts a simulated session and runs it until it waits or ends;
// it returns the session's ID.
func (s *Service) Simulate(ctx context.Context, p SimulateParams) (string, error) {
	f, err := s.st.FlowGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.FlowID})
	if err != nil {
		if domain.CodeOf(err) == domain.CodeNotFound {
			return "", domain.Invalid("/flow_id", "flow %q not found", p.FlowID)
		}
		return "", err
	}
	if !p.Draft && f.Status != store.FlowPublished {
		return "", domain.Errorf(domain.CodeConflict, "flow %q is not published; simulate its draft instead (draft: true)", f.Name)
	}
	if p.Draft {
		// Fail here, with every lint error, rather than in the runner.
		if _, err := s.flows.DraftProgram(ctx, p.ProjectID, f.ID); err != nil {
			return "", err
		}
	}
	name := p.Name
	if name == "" {
		name = "Simulator"
	}
	sessionID := s.ids.NewID()
	var ev domain.ContactEvent
	err = s.st.InTx(ctx, func(q store.Queries) error {
		now := s.clock.Now()
		c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p.ProjectID, Scheme: SimulatorScheme, Path: sessionID,
			NewID: s.ids.NewID(), Name: name, Phone: p.Phone, Simulated: true, Now: now})
		if err != nil {
			return err
		}
		if p.Fields != nil {
			c.Fields, c.UpdatedAt = p.Fields, now
			if _, err := q.ContactUpdate(ctx, c); err != nil {
				return err
			}
		}
		ev, err = s.run.StartFlow(ctx, q, runner.StartParams{ProjectID: p.ProjectID, FlowID: f.ID, ContactID: c.ID, Vars: p.Vars,
			SessionID: sessionID, Simulated: true, Draft: p.Draft})
		return err
	})
	if err != nil {
		return "", err
	}
	if err := s.run.ProcessContact(ctx, p.ProjectID, ev.ContactID); err != nil {
		return "", err
	}
	if h, err := s.st.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: p.ProjectID, Seq: ev.Seq}); err == nil {
		if why, failed := strings.CutPrefix(h.Result, "error: "); failed {
			return "", domain.Errorf(domain.CodeConflict, "the simulation could not start: %s", why)
		}
	}
	return sessionID, nil
}

// SimSession is a simulated session of the project, or not found.
func (s *Service) SimSession(ctx context.Context, projectID, sessionID string) (domain.FlowSession, error) {
	sess, err := s.st.SessionGet(ctx, store.Ref{ProjectID: projectID, ID: sessionID})
	if err != nil {
		return sess, err
	}
	if !sess.Simulated {
		return sess, domain.NotFound("simulator session", sessionID)
	}
	return sess, nil
}

// SimSay records what the simulated contact says (typ and content as a
// stored inbound message, in as the flow reads it) and runs the session.
func (s *Service) SimSay(ctx context.Context, sess domain.FlowSession, typ string, content json.RawMessage, in engine.Input) error {
	err := s.st.InTx(ctx, func(q store.Queries) error {
		_, err := s.run.Inbox.Say(ctx, q, sess, typ, content, in)
		return err
	})
	if err != nil {
		return err
	}
	return s.run.ProcessContact(ctx, sess.ProjectID, sess.ContactID)
}

// SimFireTimer fires the simulated session's pending timer now and runs
// the session.
func (s *Service) SimFireTimer(ctx context.Context, sess domain.FlowSession) error {
	if sess.Status != domain.SessionWaiting {
		return domain.Errorf(domain.CodeConflict, "the session is %s, not waiting: there is no timer to fire", sess.Status)
	}
	if sess.TimeoutAt == nil && sess.WaitingFor != "delay" {
		return domain.Errorf(domain.CodeConflict, "the session waits for a %s without a timeout: there is no timer to fire", sess.WaitingFor)
	}
	if err := s.st.InTx(ctx, func(q store.Queries) error { return s.run.Inbox.FireTimer(ctx, q, sess) }); err != nil {
		return err
	}
	return s.run.ProcessContact(ctx, sess.ProjectID, sess.ContactID)
}
