package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/store"
)

// runtimeAPI serves contacts, conversations, sessions and flow starts.
type runtimeAPI struct{ s *Server }

func (a *runtimeAPI) runner() (*runner.Runner, error) {
	if a.s.deps.Runner == nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "flows cannot run in this server configuration")
	}
	return a.s.deps.Runner, nil
}

// conversations is the service the runtime routes act through.
func (a *runtimeAPI) conversations() (*conversation.Service, error) {
	if a.s.deps.Conversations == nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "flows cannot run in this server configuration")
	}
	return a.s.deps.Conversations, nil
}

// MessageView is a message of a conversation with its content spread out:
// what a chat bubble needs.
type MessageView struct {
	ID          string              `json:"id"`
	ContactID   string              `json:"contact_id"`
	ChannelID   string              `json:"channel_id"`
	SessionID   string              `json:"session_id"`
	Direction   string              `json:"direction" enum:"in,out"`
	Type        string              `json:"type"`
	Text        string              `json:"text"`
	Buttons     []string            `json:"buttons,omitempty"`
	Button      string              `json:"button,omitempty" doc:"The button an inbound reply tapped"`
	List        any                 `json:"list,omitempty"`
	ListReply   string              `json:"list_reply,omitempty" doc:"The row an inbound reply chose"`
	Media       *engine.Media       `json:"media,omitempty"`
	Template    *engine.Template    `json:"template,omitempty"`
	Flow        *engine.FlowMessage `json:"flow,omitempty"`
	Data        map[string]any      `json:"data,omitempty" doc:"Structured content of inbound messages (e.g. WhatsApp Flow answers)"`
	Call        map[string]any      `json:"call,omitempty" doc:"A call's result (type call): status, answered_by, end_reason, duration_ms, transcript [{speaker,text,at_ms,interrupted}], recording_url, transfer, outcome, summary, error"`
	Status      string              `json:"status" enum:"received,queued,sent,delivered,read,failed"`
	ErrorCode   string              `json:"error_code,omitempty"`
	ErrorReason string              `json:"error_reason,omitempty"`
	CreatedAt   time.Time           `json:"created_at"`
	SentAt      *time.Time          `json:"sent_at"`
}

func messageView(m domain.Message) MessageView {
	v := MessageView{ID: m.ID, ContactID: m.ContactID, ChannelID: m.ChannelID, SessionID: m.SessionID, Direction: m.Direction, Type: m.Type,
		Status: m.Status, ErrorCode: m.ErrorCode, ErrorReason: m.ErrorReason, CreatedAt: m.CreatedAt, SentAt: m.SentAt}
	if m.Direction == domain.DirectionOut {
		var em engine.Message
		if json.Unmarshal(m.Content, &em) == nil {
			v.Text, v.Buttons, v.Media, v.Template, v.Flow = em.Text, em.Buttons, em.Media, em.Template, em.Flow
			if em.List != nil {
				v.List = em.List
			}
			if em.Flow != nil && v.Text == "" {
				v.Text = em.Flow.Body
			}
			if em.Call != nil && v.Text == "" {
				v.Text = "📞 Calling " + em.Call.To
			}
		}
		return v
	}
	if m.Type == "call" {
		var call map[string]any
		if json.Unmarshal(m.Content, &call) == nil {
			v.Call = call
		}
		return v
	}
	var in struct {
		Text      string         `json:"text"`
		Button    string         `json:"button"`
		ListReply string         `json:"list_reply"`
		Media     *engine.Media  `json:"media"`
		Data      map[string]any `json:"data"`
	}
	if json.Unmarshal(m.Content, &in) == nil {
		v.Text, v.Button, v.ListReply, v.Media, v.Data = in.Text, in.Button, in.ListReply, in.Media, in.Data
	}
	return v
}

// ContactListInput searches contacts.
type ContactListInput struct {
	PageParams
	Search string `query:"search" maxLength:"200" doc:"Part of the name or phone number"`
	Tag    string `query:"tag" maxLength:"100"`
	// WaitingForHuman keeps the conversations handed to a person.
	WaitingForHuman bool `query:"waiting_for_human" doc:"Only contacts whose conversation waits for a human (a handoff); each item says so in waiting_for_human"`
}

func (a *runtimeAPI) contactList(ctx context.Context, in *ContactListInput) (*ListOutput[domain.Contact], error) {
	l, err := a.s.deps.Store.ContactList(ctx, store.ContactListParams{ProjectID: principalFrom(ctx).ProjectID, Search: in.Search, Tag: in.Tag,
		WaitingForHuman: in.WaitingForHuman, Page: in.page()})
	if err != nil {
		return nil, err
	}
	return listOf(l), nil
}

// ContactPath names a contact.
type ContactPath struct {
	ContactID string `path:"contact_id" maxLength:"100"`
}

// ContactDetail is a contact with its addresses and its live session.
type ContactDetail struct {
	domain.Contact
	URNs    []domain.URN        `json:"urns"`
	Session *domain.FlowSession `json:"session" doc:"The session the contact is in now, if any"`
	// AssigneeName says who the assignee is, when it names a user.
	AssigneeName string `json:"assignee_name,omitempty" doc:"The assignee for people: the user's name and e-mail when assignee is a user's ID or e-mail"`
}

// flowNames fills the flow names of sessions, one lookup per flow.
func (a *runtimeAPI) flowNames(ctx context.Context, projectID string, sessions ...*domain.FlowSession) {
	names := map[string]string{}
	for _, s := range sessions {
		if s == nil || s.FlowID == "" {
			continue
		}
		name, ok := names[s.FlowID]
		if !ok {
			if f, err := a.s.deps.Store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: s.FlowID}); err == nil {
				name = f.Name
			}
			names[s.FlowID] = name
		}
		s.FlowName = name
	}
}

// assigneeName describes a contact's assignee when it is a user (by ID,
// "user:<id>" or e-mail); other assignees (a team name) stay as they are.
func (a *runtimeAPI) assigneeName(ctx context.Context, assignee string) string {
	if assignee == "" {
		return ""
	}
	id := strings.TrimPrefix(assignee, "user:")
	u, err := a.s.deps.Store.UserGet(ctx, id)
	if err != nil {
		if u, err = a.s.deps.Store.UserGetByEmail(ctx, assignee); err != nil {
			return ""
		}
	}
	if u.Name != "" && u.Name != u.Email {
		return u.Name + " (" + u.Email + ")"
	}
	return u.Email
}

func (a *runtimeAPI) contactGet(ctx context.Context, in *ContactPath) (*Body[ContactDetail], error) {
	p := principalFrom(ctx)
	c, err := a.s.deps.Store.ContactGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.ContactID})
	if err != nil {
		return nil, err
	}
	urns, err := a.s.deps.Store.ContactURNs(ctx, store.Ref{ProjectID: p.ProjectID, ID: c.ID})
	if err != nil {
		return nil, err
	}
	d := ContactDetail{Contact: c, URNs: urns, AssigneeName: a.assigneeName(ctx, c.Assignee)}
	if s, err := a.s.deps.Store.SessionLive(ctx, c.ID); err == nil {
		d.Session = &s
		d.WaitingForHuman = s.WaitingFor == "handoff"
		a.flowNames(ctx, p.ProjectID, d.Session)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return bodyOf(d), nil
}

// ContactUpdateInput edits a contact; fields and tags are replaced whole.
type ContactUpdateInput struct {
	ContactPath
	Body struct {
		Name     *string        `json:"name,omitempty" maxLength:"200"`
		Language *string        `json:"language,omitempty" maxLength:"20"`
		Fields   map[string]any `json:"fields,omitempty"`
		Tags     []string       `json:"tags,omitempty" maxItems:"100"`
		OptedOut *bool          `json:"opted_out,omitempty"`
		Assignee *string        `json:"assignee,omitempty" maxLength:"200"`
	}
}

func (a *runtimeAPI) contactUpdate(ctx context.Context, in *ContactUpdateInput) (*Body[domain.Contact], error) {
	conv, err := a.conversations()
	if err != nil {
		return nil, err
	}
	b := in.Body
	out, err := conv.UpdateContact(ctx, principalFrom(ctx).ProjectID, in.ContactID, conversation.ContactChanges{Name: b.Name, Language: b.Language,
		Fields: b.Fields, Tags: b.Tags, OptedOut: b.OptedOut, Assignee: b.Assignee})
	if err != nil {
		return nil, err
	}
	return bodyOf(out), nil
}

// ContactMergeInput merges another contact into the path's.
type ContactMergeInput struct {
	ContactPath
	Body struct {
		ContactID string `json:"contact_id" minLength:"1" maxLength:"100" doc:"The contact to merge into this one; it is deleted, its addresses, messages and session move here"`
	}
}

func (a *runtimeAPI) contactMerge(ctx context.Context, in *ContactMergeInput) (*Body[ContactDetail], error) {
	conv, err := a.conversations()
	if err != nil {
		return nil, err
	}
	p := principalFrom(ctx)
	if _, err := conv.MergeContacts(ctx, p.ProjectID, in.ContactID, in.Body.ContactID); err != nil {
		if domain.CodeOf(err) == domain.CodeNotFound && in.Body.ContactID != in.ContactID {
			err = &domain.Error{Code: domain.CodeUnprocessable, Message: "no contact " + in.Body.ContactID + " in this project to merge",
				Fields: []domain.FieldError{{Pointer: "/contact_id", Message: "no such contact in this project"}}}
		}
		return nil, err
	}
	return a.contactGet(ctx, &in.ContactPath)
}

func (a *runtimeAPI) contactRelease(ctx context.Context, in *ContactPath) (*Body[QueuedEvent], error) {
	conv, err := a.conversations()
	if err != nil {
		return nil, err
	}
	o, err := conv.Release(ctx, principalFrom(ctx).ProjectID, in.ContactID)
	if err != nil {
		return nil, err
	}
	return bodyOf(queuedEvent(o)), nil
}

// QueuedEvent is an action queued for a contact and what became of it.
// The inbox's sequence number is not shown: it counts the events of every
// project in the installation.
type QueuedEvent struct {
	ContactID string `json:"contact_id"`
	Handled   bool   `json:"handled" doc:"False when it is still queued (it will be handled shortly)"`
	Result    string `json:"result,omitempty" doc:"What handling it did, e.g. 'resumed session'"`
}

func queuedEvent(o conversation.Outcome) QueuedEvent {
	return QueuedEvent{ContactID: o.ContactID, Handled: o.Handled, Result: o.Result}
}

// ConversationInput pages a contact's messages.
type ConversationInput struct {
	ContactPath
	PageParams
}

func (a *runtimeAPI) conversation(ctx context.Context, in *ConversationInput) (*ListOutput[MessageView], error) {
	l, err := a.s.deps.Store.MessageList(ctx, store.MessageListParams{ProjectID: principalFrom(ctx).ProjectID, ContactID: in.ContactID, Page: in.page()})
	if err != nil {
		return nil, err
	}
	out := store.List[MessageView]{Items: make([]MessageView, len(l.Items)), Next: l.Next}
	for i, m := range l.Items {
		out.Items[i] = messageView(m)
	}
	return listOf(out), nil
}

// AgentMessageInput is a person replying in a conversation.
type AgentMessageInput struct {
	ContactPath
	Body struct {
		Text      string `json:"text" minLength:"1" maxLength:"4096"`
		ChannelID string `json:"channel_id,omitempty" doc:"Defaults to the channel the contact last wrote on"`
	}
}

func (a *runtimeAPI) agentSend(ctx context.Context, in *AgentMessageInput) (*Body[MessageView], error) {
	conv, err := a.conversations()
	if err != nil {
		return nil, err
	}
	m, err := conv.Reply(ctx, conversation.ReplyParams{ProjectID: principalFrom(ctx).ProjectID, ContactID: in.ContactID,
		ChannelID: in.Body.ChannelID, Text: in.Body.Text})
	if err != nil {
		return nil, err
	}
	return bodyOf(messageView(m)), nil
}

// SessionListInput filters sessions.
type SessionListInput struct {
	PageParams
	Contact string `query:"contact" maxLength:"100" doc:"Only this contact's sessions"`
	Flow    string `query:"flow" maxLength:"100" doc:"Only this flow's sessions"`
	Status  string `query:"status" enum:"active,waiting,completed,expired,interrupted,failed" doc:"Only sessions with this status"`
}

func (a *runtimeAPI) sessionList(ctx context.Context, in *SessionListInput) (*ListOutput[domain.FlowSession], error) {
	l, err := a.s.deps.Store.SessionList(ctx, store.SessionListParams{ProjectID: principalFrom(ctx).ProjectID, ContactID: in.Contact,
		FlowID: in.Flow, Status: in.Status, Page: in.page()})
	if err != nil {
		return nil, err
	}
	ptrs := make([]*domain.FlowSession, len(l.Items))
	for i := range l.Items {
		ptrs[i] = &l.Items[i]
	}
	a.flowNames(ctx, principalFrom(ctx).ProjectID, ptrs...)
	return listOf(l), nil
}

// SessionPath names a session.
type SessionPath struct {
	SessionID string `path:"session_id" maxLength:"100"`
}

// SessionDetail is a session with what it did: the path taken, its
// variables, its messages and its trace.
type SessionDetail struct {
	domain.FlowSession
	Variables map[string]any      `json:"variables"`
	Path      []string            `json:"path" doc:"The node IDs entered, in order"`
	Errors    []SessionError      `json:"errors"`
	Messages  []MessageView       `json:"messages"`
	Trace     []domain.TraceEvent `json:"trace"`
	Contact   *engine.Session     `json:"-"`
}

// SessionError is an error a session met along the way.
type SessionError struct {
	NodeID string `json:"node_id"`
	Text   string `json:"text"`
}

// sessionDetail loads everything about a session.
func (a *runtimeAPI) sessionDetail(ctx context.Context, projectID, id string) (SessionDetail, error) {
	s, err := a.s.deps.Store.SessionGet(ctx, store.Ref{ProjectID: projectID, ID: id})
	if err != nil {
		return SessionDetail{}, err
	}
	a.flowNames(ctx, projectID, &s)
	d := SessionDetail{FlowSession: s, Variables: map[string]any{}, Path: []string{}, Errors: []SessionError{}, Messages: []MessageView{}}
	if es, err := runner.DecodeState(s); err == nil && es.Vars != nil {
		d.Variables = es.Vars
	}
	if d.Trace, err = a.s.deps.Store.TraceList(ctx, store.Ref{ProjectID: projectID, ID: s.ID}); err != nil {
		return d, err
	}
	for _, t := range d.Trace {
		switch t.Kind {
		case "node_entered":
			d.Path = append(d.Path, t.NodeID)
		case "error":
			var e struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(t.Data, &e)
			d.Errors = append(d.Errors, SessionError{NodeID: t.NodeID, Text: e.Text})
		case "http_called":
			// A failed call takes the node's failure exit without an error
			// event; its reason belongs with the errors, where people look.
			var e struct {
				HTTP engine.HTTPCall `json:"http"`
			}
			if json.Unmarshal(t.Data, &e) == nil && e.HTTP.Error != "" {
				text := e.HTTP.Error
				if !strings.HasPrefix(text, e.HTTP.Method+" ") {
					text = e.HTTP.Method + " " + e.HTTP.URL + ": " + text
				}
				d.Errors = append(d.Errors, SessionError{NodeID: t.NodeID, Text: "HTTP request failed, so the failure exit was taken: " + text})
			}
		}
	}
	msgs, err := a.s.deps.Store.MessageList(ctx, store.MessageListParams{ProjectID: projectID, ContactID: s.ContactID, Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return d, err
	}
	for i := len(msgs.Items) - 1; i >= 0; i-- {
		if m := msgs.Items[i]; m.SessionID == s.ID || s.Simulated {
			d.Messages = append(d.Messages, messageView(m))
		}
	}
	return d, nil
}

func (a *runtimeAPI) sessionGet(ctx context.Context, in *SessionPath) (*Body[SessionDetail], error) {
	d, err := a.sessionDetail(ctx, principalFrom(ctx).ProjectID, in.SessionID)
	if err != nil {
		return nil, err
	}
	return bodyOf(d), nil
}

// InterruptInput says why a session is stopped.
type InterruptInput struct {
	SessionPath
	Body *struct {
		Reason string `json:"reason,omitempty" maxLength:"500"`
	}
}

func (a *runtimeAPI) sessionInterrupt(ctx context.Context, in *InterruptInput) (*Body[QueuedEvent], error) {
	conv, err := a.conversations()
	if err != nil {
		return nil, err
	}
	reason := ""
	if in.Body != nil {
		reason = in.Body.Reason
	}
	o, err := conv.Interrupt(ctx, principalFrom(ctx).ProjectID, in.SessionID, reason)
	if err != nil {
		return nil, err
	}
	return bodyOf(queuedEvent(o)), nil
}

// FlowStartInput starts a flow for a contact.
type FlowStartInput struct {
	FlowID         string `path:"flow_id" maxLength:"100"`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Repeating a request with the same key returns the first answer and starts nothing new"`
	Body           struct {
		ContactID string         `json:"contact_id,omitempty" maxLength:"100" doc:"The contact; or give phone"`
		Phone     string         `json:"phone,omitempty" maxLength:"40" doc:"The contact's phone number (E.164, or local with default_country)"`
		Country   string         `json:"default_country,omitempty" maxLength:"2" doc:"ISO country for local phone numbers, e.g. PT"`
		Name      string         `json:"name,omitempty" maxLength:"200" doc:"Name for a contact created by phone"`
		ChannelID string         `json:"channel_id" maxLength:"100" doc:"The channel the flow talks on"`
		Variables map[string]any `json:"variables,omitempty" doc:"Initial session variables"`
	}
}

// FlowStartOutput is the start's outcome.
type FlowStartOutput struct {
	SessionID string `json:"session_id" doc:"The ID the session has (or will have, while queued)"`
	QueuedEvent
	Status string `json:"status" doc:"The session's status once handled, or queued"`
}

func (a *runtimeAPI) flowStart(ctx context.Context, in *FlowStartInput) (*Body[FlowStartOutput], error) {
	conv, err := a.conversations()
	if err != nil {
		return nil, err
	}
	b := in.Body
	st, err := conv.StartFlow(ctx, conversation.StartParams{ProjectID: principalFrom(ctx).ProjectID, FlowID: in.FlowID, ContactID: b.ContactID,
		Phone: b.Phone, Country: b.Country, Name: b.Name, ChannelID: b.ChannelID, Vars: b.Variables, IdempotencyKey: in.IdempotencyKey})
	if err != nil {
		return nil, err
	}
	return bodyOf(FlowStartOutput{SessionID: st.SessionID, QueuedEvent: queuedEvent(st.Outcome), Status: st.Status}), nil
}
