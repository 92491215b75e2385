package httpapi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// The simulator runs a flow — its draft or its live revision — for a
// made-up contact through the real runner and engine, synchronously, with
// no channel and no live analytics.

// SimStartInput starts a simulation.
type SimStartInput struct {
	Body struct {
		FlowID  string `json:"flow_id" minLength:"1" maxLength:"100"`
		Draft   bool   `json:"draft,omitempty" doc:"Run the working draft (default: the live revision)"`
		Contact *struct {
			Name   string         `json:"name,omitempty" maxLength:"200"`
			Phone  string         `json:"phone,omitempty" maxLength:"40"`
			Fields map[string]any `json:"fields,omitempty"`
		} `json:"contact,omitempty"`
		Variables map[string]any `json:"variables,omitempty"`
	}
}

// SimWait is what a simulated session waits for.
type SimWait struct {
	Kind      string     `json:"kind" enum:"button,list,reply,whatsapp_flow,delay,handoff,call,ai_reply," doc:"Empty when the session does not wait"`
	NodeID    string     `json:"node_id"`
	TimeoutAt *time.Time `json:"timeout_at"`
}

// SimSession is a simulated session and everything it did.
type SimSession struct {
	ID         string              `json:"id"`
	FlowID     string              `json:"flow_id"`
	Draft      bool                `json:"draft"`
	Revision   int                 `json:"revision"`
	ContactID  string              `json:"contact_id"`
	Status     string              `json:"status" enum:"active,waiting,completed,failed,expired,interrupted"`
	EndReason  string              `json:"end_reason,omitempty"`
	WaitingFor SimWait             `json:"waiting_for"`
	Messages   []MessageView       `json:"messages"`
	Path       []string            `json:"path"`
	Variables  map[string]any      `json:"variables"`
	Trace      []domain.TraceEvent `json:"trace"`
	Errors     []SessionError      `json:"errors"`
}

func (a *runtimeAPI) simView(ctx context.Context, projectID, id string) (*Body[SimSession], error) {
	d, err := a.sessionDetail(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	if !d.Simulated {
		return nil, domain.NotFound("simulator session", id)
	}
	v := SimSession{ID: d.ID, FlowID: d.FlowID, Draft: d.Draft, Revision: d.Revision, ContactID: d.ContactID, Status: d.Status, EndReason: d.EndReason,
		Messages: d.Messages, Path: d.Path, Variables: d.Variables, Trace: d.Trace, Errors: d.Errors}
	if d.Status == domain.SessionWaiting {
		v.WaitingFor = SimWait{Kind: d.WaitingFor, NodeID: d.NodeID, TimeoutAt: d.TimeoutAt}
	}
	return bodyOf(v), nil
}

func (a *runtimeAPI) simStart(ctx context.Context, in *SimStartInput) (*Body[SimSession], error) {
	conv, err := a.conversations()
	if err != nil {
		return nil, err
	}
	p := principalFrom(ctx)
	sp := conversation.SimulateParams{ProjectID: p.ProjectID, FlowID: in.Body.FlowID, Draft: in.Body.Draft, Vars: in.Body.Variables}
	if c := in.Body.Contact; c != nil {
		sp.Name, sp.Phone, sp.Fields = c.Name, c.Phone, c.Fields
	}
	id, err := conv.Simulate(ctx, sp)
	if err != nil {
		return nil, err
	}
	return a.simView(ctx, p.ProjectID, id)
}

// SimSessionPath names a simulated session.
type SimSessionPath struct {
	SessionID string `path:"session_id" maxLength:"100"`
}

func (a *runtimeAPI) simGet(ctx context.Context, in *SimSessionPath) (*Body[SimSession], error) {
	return a.simView(ctx, principalFrom(ctx).ProjectID, in.SessionID)
}

// SimMessageInput is what the simulated contact says: exactly one of text,
// button, list_reply or flow_response.
type SimMessageInput struct {
	SimSessionPath
	Body struct {
		Text         *string        `json:"text,omitempty" maxLength:"4096"`
		Button       *string        `json:"button,omitempty" maxLength:"256" doc:"The title of the tapped button"`
		ListReply    *string        `json:"list_reply,omitempty" maxLength:"200" doc:"The id of the chosen list row"`
		FlowResponse map[string]any `json:"flow_response,omitempty" doc:"The answers of a WhatsApp Flow (nfm_reply)"`
	}
}

// simSession finds a simulated session of the caller's project, and the
// service to move it with.
func (a *runtimeAPI) simSession(ctx context.Context, id string) (*conversation.Service, domain.FlowSession, error) {
	conv, err := a.conversations()
	if err != nil {
		return nil, domain.FlowSession{}, err
	}
	s, err := conv.SimSession(ctx, principalFrom(ctx).ProjectID, id)
	return conv, s, err
}

func (a *runtimeAPI) simMessage(ctx context.Context, in *SimMessageInput) (*Body[SimSession], error) {
	conv, s, err := a.simSession(ctx, in.SessionID)
	if err != nil {
		return nil, err
	}
	b := in.Body
	given := 0
	for _, set := range []bool{b.Text != nil, b.Button != nil, b.ListReply != nil, b.FlowResponse != nil} {
		if set {
			given++
		}
	}
	if given != 1 {
		return nil, domain.Invalid("", "send exactly one of text, button, list_reply or flow_response")
	}
	var input engine.Input
	var content any
	typ := "text"
	switch {
	case b.Text != nil:
		input, content = engine.Input{Kind: engine.InputText, Text: *b.Text}, map[string]string{"text": *b.Text}
	case b.Button != nil:
		typ = "button"
		input, content = engine.Input{Kind: engine.InputButton, Button: *b.Button, Text: *b.Button}, map[string]string{"text": *b.Button, "button": *b.Button}
	case b.ListReply != nil:
		typ = "list_reply"
		title := a.listRowTitle(ctx, s, *b.ListReply)
		input, content = engine.Input{Kind: engine.InputList, ListID: *b.ListReply, Text: title}, map[string]string{"text": title, "list_reply": *b.ListReply}
	default:
		typ = "flow_response"
		input, content = engine.Input{Kind: engine.InputFlow, Data: b.FlowResponse}, map[string]any{"data": b.FlowResponse}
	}
	raw, _ := json.Marshal(content)
	if err := conv.SimSay(ctx, s, typ, raw, input); err != nil {
		return nil, err
	}
	return a.simView(ctx, s.ProjectID, s.ID)
}

// listRowTitle finds the title of a row the bot offered, so the reply
// reads like the person's tap.
func (a *runtimeAPI) listRowTitle(ctx context.Context, s domain.FlowSession, rowID string) string {
	msgs, err := a.s.deps.Store.MessageList(ctx, store.MessageListParams{ProjectID: s.ProjectID, ContactID: s.ContactID, Page: store.Page{Limit: 50}})
	if err != nil {
		return rowID
	}
	for _, m := range msgs.Items {
		var em engine.Message
		if m.Direction != domain.DirectionOut || json.Unmarshal(m.Content, &em) != nil || em.List == nil {
			continue
		}
		if t := rowTitle(em.List, rowID); t != "" {
			return t
		}
	}
	return rowID
}

func rowTitle(l *flow.ListData, id string) string {
	for _, sec := range l.Sections {
		for _, row := range sec.Rows {
			if row.ID == id {
				return row.Title
			}
		}
	}
	return ""
}

func (a *runtimeAPI) simTimeout(ctx context.Context, in *SimSessionPath) (*Body[SimSession], error) {
	conv, s, err := a.simSession(ctx, in.SessionID)
	if err != nil {
		return nil, err
	}
	if err := conv.SimFireTimer(ctx, s); err != nil {
		return nil, err
	}
	return a.simView(ctx, s.ProjectID, s.ID)
}
