package sprint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/flow"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
	"github.com/parleyhq/parley/internal/store"
)

// sprint is everything handling one inbox event decided, committed at once.
type sprint struct {
	ev        domain.ContactEvent
	p         Payload
	contact   domain.Contact
	changed   bool // contact must be saved
	simulated bool
	result    string
	runs      []*run
	// notices are messages outside any session (opt-out confirmations).
	notices []engine.Message
	// head is the flow row read with the contact's current session
	// (headOf), so resuming it reads no flow row of its own.
	head   store.Flow
	headOf string
	// read: the contact's live session was read with the event (live,
	// nil when it had none), so current reads none of its own.
	read bool
	live *store.SessionFlow
}

// run is one session touched by a sprint.
type run struct {
	flow    engine.Flow
	es      *engine.Session
	rec     domain.FlowSession
	create  bool
	events  []engine.Event
	logging bool
}

// Handle decides what an inbox event does, runs the engine, and commits.
// ErrRace means another worker handled the event or moved the session
// first; other errors are worth retrying, except that a flow that is gone
// or unpublished is recorded as the event's result, not returned.
func (h *Handler) Handle(ctx context.Context, ev domain.ContactEvent) error {
	return h.HandleWith(ctx, ev, nil)
}

// HandleWith is Handle with the event's contact and the contact's live
// session as read with the event (store.ContactEventsNextWithContact), so
// the sprint reads neither of its own; nil reads them. Only what was read
// after the contact's previous sprint committed will do.
func (h *Handler) HandleWith(ctx context.Context, ev domain.ContactEvent, in *store.ContactInbox) error {
	sp := &sprint{ev: ev}
	if err := json.Unmarshal(ev.Payload, &sp.p); err != nil {
		sp.result = "ignored: unreadable Payload"
		return h.commit(ctx, sp)
	}
	if in != nil && in.Contact.ID == ev.ContactID && in.Contact.ProjectID == ev.ProjectID {
		sp.contact, sp.read, sp.live = in.Contact, true, in.Live
	} else {
		c, err := h.st.ContactGet(ctx, store.Ref{ProjectID: ev.ProjectID, ID: ev.ContactID})
		if err != nil {
			return err
		}
		sp.contact = c
	}
	live, err := h.current(ctx, sp)
	if err != nil {
		return err
	}
	sp.simulated = live != nil && live.Simulated || sp.p.Simulated || sp.p.Draft
	if err := h.decide(ctx, sp, live); err != nil {
		var de *domain.Error
		if !errors.As(err, &de) || de.Code == domain.CodeInternal {
			return err // transient: the job retries
		}
		// A flow that is gone or unpublished will not come back by retrying.
		sp.result = "error: " + de.Message
		sp.runs = nil
	}
	return h.commit(ctx, sp)
}

// current is the session an event concerns: the one it names, or the
// contact's live session.
func (h *Handler) current(ctx context.Context, sp *sprint) (*domain.FlowSession, error) {
	var sf store.SessionFlow
	var err error
	read := false
	if sp.ev.Kind == domain.EventTimer && sp.p.SessionID != "" {
		sf, read = h.takeAhead(sp.ev.ProjectID, sp.p.SessionID)
	}
	switch {
	case read:
	case sp.p.SessionID != "" && sp.ev.Kind != domain.EventStart:
		sf, err = h.st.SessionWithFlow(ctx, store.Ref{ProjectID: sp.ev.ProjectID, ID: sp.p.SessionID})
	case sp.read && sp.live == nil:
		return nil, nil
	case sp.read:
		sf = *sp.live
	default:
		sf, err = h.st.SessionLiveWithFlow(ctx, sp.contact.ID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if sf.Flow.ID != "" {
		sp.head, sp.headOf = sf.Flow, sf.Session.ID
	}
	return &sf.Session, nil
}

func (h *Handler) decide(ctx context.Context, sp *sprint, live *domain.FlowSession) error {
	switch sp.ev.Kind {
	case domain.EventMessage:
		if sp.p.Input == nil {
			sp.result = "ignored: message without input"
			return nil
		}
		if !sp.simulated {
			if done, err := h.keywords(ctx, sp, live); done || err != nil {
				return err
			}
		}
		if in := sp.p.Input; in.Kind == engine.InputFlow && !formForSession(in.Token, live) {
			// A form completion resumes only the session that sent the
			// form; one whose session has ended or moved on is kept (the
			// message and this result), never fed to another flow.
			sp.result = "recorded: a WhatsApp Flow completion for token " + strconv.Quote(in.Token) + ", which no waiting session sent (ended, expired or unknown)"
			return nil
		}
		if in := sp.p.Input; in.Kind == engine.InputCall && (live == nil || !domain.SessionLive(live.Status) || live.ID != sp.p.SessionID) {
			// A call's result answers only the session that placed the
			// call; it never starts a flow.
			sp.result = "recorded: the result of a call whose session has moved on"
			return nil
		}
		contentless := sp.p.Trigger != nil && sp.p.Trigger.Event != ""
		if live != nil && domain.SessionLive(live.Status) {
			if contentless {
				// Opening the chat again says nothing to a waiting flow.
				sp.result = "ignored: " + sp.p.Trigger.Event + " while in a flow"
				return nil
			}
			in := *sp.p.Input
			return h.resume(ctx, sp, *live, in)
		}
		if sp.simulated {
			sp.result = "ignored: the simulation has ended"
			return nil
		}
		f, fl, ok, err := h.match(ctx, sp)
		if err != nil || !ok {
			if !ok {
				sp.result = "no flow matched"
			}
			return err
		}
		return h.start(ctx, sp, f, fl, engine.Trigger{Input: sp.p.Input})
	case domain.EventTimer:
		if live == nil || live.ID != sp.p.SessionID || !domain.SessionLive(live.Status) {
			sp.result = "ignored: the session has moved on"
			return nil
		}
		return h.resume(ctx, sp, *live, engine.Input{Kind: engine.InputTimer, Seq: sp.p.Seq})
	case domain.EventRelease:
		if live == nil || !domain.SessionLive(live.Status) {
			sp.result = "ignored: no live session"
			return nil
		}
		return h.resume(ctx, sp, *live, engine.Input{Kind: engine.InputRelease})
	case domain.EventInterrupt:
		if live == nil || !domain.SessionLive(live.Status) {
			sp.result = "ignored: no live session"
			return nil
		}
		return h.interrupt(ctx, sp, *live, sp.p.Reason)
	case domain.EventStart:
		return h.apiStart(ctx, sp, live)
	}
	sp.result = "ignored: unknown event kind " + sp.ev.Kind
	return nil
}

// apiStart starts a flow for the contact (API, simulator, template send),
// honouring the flow's on_retrigger setting when the contact is busy.
func (h *Handler) apiStart(ctx context.Context, sp *sprint, live *domain.FlowSession) error {
	if live != nil && live.ID == sp.p.SessionID {
		// This start ran already (its session is the contact's): never
		// restart a session as itself.
		sp.result = "ignored: session " + live.ID + " was started already"
		return nil
	}
	fl, err := h.st.FlowHeadGet(ctx, store.Ref{ProjectID: sp.ev.ProjectID, ID: sp.p.FlowID})
	if err != nil {
		return err
	}
	var f engine.Flow
	if sp.p.Draft {
		h.drafts.Remove(sp.p.SessionID) // compile the draft as it is now
		f, err = h.draftFlow(ctx, fl, sp.p.SessionID)
	} else {
		f, err = h.engineFlow(ctx, fl, 0)
	}
	if err != nil {
		return err
	}
	if live != nil && domain.SessionLive(live.Status) && !sp.p.Draft {
		if fl.OnRetrigger != "restart" {
			sp.result = "ignored: the contact is already in a flow (session " + live.ID + ")"
			return nil
		}
		if err := h.interrupt(ctx, sp, *live, "restarted by a new start of flow "+fl.Name); err != nil {
			return err
		}
	}
	return h.start(ctx, sp, f, fl, engine.Trigger{Vars: sp.p.Vars, Row: sp.p.Row, SessionID: sp.p.SessionID, Input: sp.p.Input})
}

// keywords handles the built-in opt-out and opt-in words before any flow.
func (h *Handler) keywords(ctx context.Context, sp *sprint, live *domain.FlowSession) (bool, error) {
	in := sp.p.Input
	if in.Kind != engine.InputText {
		return false, nil
	}
	kw, err := h.projectKeywords(ctx, sp.ev.ProjectID)
	if err != nil || kw.Disabled {
		return false, err
	}
	now := h.c.Clock.Now()
	switch kw.Taken(in.Text) {
	case "opt-out":
		sp.contact.OptedOut, sp.contact.OptedOutAt, sp.changed = true, &now, true
		sp.result = "opted out"
		sp.notices = append(sp.notices, engine.Message{Type: engine.MessageText, Text: "You are unsubscribed and will get no more messages. Reply START to subscribe again."})
		if live != nil && domain.SessionLive(live.Status) {
			return true, h.interrupt(ctx, sp, *live, "the contact opted out")
		}
		return true, nil
	case "opt-in":
		sp.contact.OptedOut, sp.contact.OptedOutAt, sp.changed = false, nil, true
		sp.result = "opted in"
		sp.notices = append(sp.notices, engine.Message{Type: engine.MessageText, Text: "You are subscribed again."})
		return true, nil
	}
	return false, nil
}

// match finds the published flow an inbound message starts: keyword
// triggers first, then catch-all inbound triggers, oldest flow first.
func (h *Handler) match(ctx context.Context, sp *sprint) (engine.Flow, store.Flow, bool, error) {
	ch, err := h.c.Channels.InProject(ctx, sp.ev.ProjectID, sp.p.ChannelID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return engine.Flow{}, store.Flow{}, false, err
	}
	published, err := h.c.Flows.Published(ctx, sp.ev.ProjectID)
	if err != nil {
		return engine.Flow{}, store.Flow{}, false, err
	}
	text := strings.ToLower(strings.TrimSpace(sp.p.Input.Text))
	facts := sp.p.Trigger
	if facts == nil {
		facts = &TriggerFacts{}
	}
	// Events without content (the chat opened, a referral link followed)
	// start only the triggers made for them, never keyword or inbound ones.
	contentless := facts.Event != ""
	var special, keyword, inbound *engine.Flow
	var specialRow, keywordRow, inboundRow store.Flow
	for i := len(published) - 1; i >= 0; i-- { // the list is newest first
		fl := published[i]
		if fl.ChannelID != "" && fl.ChannelID != ch.ID {
			continue
		}
		f, err := h.engineFlow(ctx, fl, fl.LiveRevision)
		if err != nil {
			return engine.Flow{}, store.Flow{}, false, err
		}
		t := f.Program.Trigger
		if len(t.ChannelTypes) > 0 && !slices.Contains(t.ChannelTypes, ch.Type) {
			continue
		}
		switch t.Type {
		case "keyword":
			if keyword == nil && !contentless && keywordMatches(t.Keywords, t.Match, text) {
				keyword, keywordRow = &f, fl
			}
		case "inbound":
			if inbound == nil && !contentless {
				inbound, inboundRow = &f, fl
			}
		case "referral", "conversation_started", "story", "inbound_call":
			if special == nil && specialMatches(t.Type, t.Referrals, t.StoryKinds, facts) {
				special, specialRow = &f, fl
			}
		}
	}
	if special != nil {
		return *special, specialRow, true, nil
	}
	if keyword != nil {
		return *keyword, keywordRow, true, nil
	}
	if inbound != nil {
		return *inbound, inboundRow, true, nil
	}
	return engine.Flow{}, store.Flow{}, false, nil
}

// specialMatches reports whether a referral, conversation_started or story
// trigger takes an event with these facts.
func specialMatches(typ string, referrals, storyKinds []string, f *TriggerFacts) bool {
	switch typ {
	case "referral":
		return f.Referral && (len(referrals) == 0 || slices.ContainsFunc(f.ReferralIDs, func(id string) bool { return slices.Contains(referrals, id) }))
	case "conversation_started", "inbound_call":
		return f.Event == typ
	case "story":
		return f.Story != "" && (len(storyKinds) == 0 || slices.Contains(storyKinds, f.Story))
	}
	return false
}

func keywordMatches(keywords []string, match, text string) bool {
	for _, k := range keywords {
		k = strings.ToLower(strings.TrimSpace(k))
		switch match {
		case "contains":
			// Whole words: "hi" must not match "this".
			if k != "" && strings.Contains(" "+strings.Join(words(text), " ")+" ", " "+strings.Join(words(k), " ")+" ") {
				return true
			}
		case "starts_with":
			if strings.HasPrefix(text, k) {
				return true
			}
		default:
			if text == k {
				return true
			}
		}
	}
	return false
}

// exprContact is the engine's view of a stored contact.
func exprContact(c domain.Contact) expr.Contact {
	return expr.Contact{ID: c.ID, Name: c.Name, Phone: c.Phone, Language: c.Language, Fields: c.Fields, Tags: c.Tags}
}

// sprintEvents is room for a usual sprint's events (a node entered, its
// message, the edge, the next node, the wait...), allocated once instead of
// grown from one: an event is ~230 bytes.
const sprintEvents = 8

func (h *Handler) start(ctx context.Context, sp *sprint, f engine.Flow, fl store.Flow, t engine.Trigger) error {
	if t.SessionID == "" {
		t.SessionID = h.c.IDs.NewID()
	}
	es, events, err := h.eng.AppendStart(ctx, make([]engine.Event, 0, sprintEvents), f, exprContact(sp.contact), t)
	if err != nil {
		return fmt.Errorf("starting flow %s: %w", f.ID, err)
	}
	// Created when the engine started it: the stored state leaves the time
	// to the row (hostKeys).
	rec := domain.FlowSession{ID: es.ID, ProjectID: sp.ev.ProjectID, ContactID: sp.contact.ID, FlowID: f.ID, Revision: f.Revision,
		ChannelID: sp.p.ChannelID, Simulated: sp.simulated, Draft: sp.p.Draft, CreatedAt: es.CreatedAt, Version: 0}
	sp.runs = append(sp.runs, &run{flow: f, es: es, rec: rec, create: true, events: events, logging: fl.Logging || sp.simulated})
	if sp.result == "" {
		sp.result = "started flow " + fl.Name
	}
	return nil
}

// headFor is the head of rec's flow when it was read with rec, else nil.
func (sp *sprint) headFor(rec domain.FlowSession) *store.Flow {
	if sp.headOf == rec.ID && sp.head.ID == rec.FlowID {
		return &sp.head
	}
	return nil
}

// load is the program rec runs, its decoded state and whether its flow
// logs; head is its flow's head when read with it (nil: read it now).
func (h *Handler) load(ctx context.Context, rec domain.FlowSession, head *store.Flow) (engine.Flow, *engine.Session, bool, error) {
	f, fl, err := h.sessionFlow(ctx, rec, head)
	if err != nil {
		return f, nil, false, err
	}
	es, err := DecodeState(rec)
	if err != nil {
		return f, nil, false, err
	}
	return f, es, fl.Logging || rec.Simulated, nil
}

func (h *Handler) resume(ctx context.Context, sp *sprint, rec domain.FlowSession, in engine.Input) error {
	f, es, logging, err := h.load(ctx, rec, sp.headFor(rec))
	if err != nil {
		return err
	}
	c := exprContact(sp.contact)
	in.Contact = &c
	events, err := h.eng.AppendResume(ctx, make([]engine.Event, 0, sprintEvents), f, es, in)
	if err != nil {
		return fmt.Errorf("resuming session %s: %w", rec.ID, err)
	}
	sp.runs = append(sp.runs, &run{flow: f, es: es, rec: rec, events: events, logging: logging})
	if sp.result == "" {
		sp.result = "resumed session"
		for _, e := range events {
			if e.Kind == engine.EventInputIgnored {
				sp.result = "ignored by the session: " + e.Text
			}
		}
	}
	return nil
}

func (h *Handler) interrupt(ctx context.Context, sp *sprint, rec domain.FlowSession, reason string) error {
	f, es, logging, err := h.load(ctx, rec, sp.headFor(rec))
	if err != nil {
		return err
	}
	events := h.eng.Interrupt(es, reason)
	sp.runs = append(sp.runs, &run{flow: f, es: es, rec: rec, events: events, logging: logging})
	if sp.result == "" {
		sp.result = "interrupted: " + reason
	}
	return nil
}

// words splits text into lower-case words, dropping punctuation.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r == '\'' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127)
	})
}

// formForSession reports whether a form completion's token names the live
// session (tokens are "<session ID>.<wait>": engine.flowToken). A completion
// without a token (the simulator's) answers whatever form the live session
// waits for.
func formForSession(token string, live *domain.FlowSession) bool {
	if live == nil || !domain.SessionLive(live.Status) {
		return false
	}
	if token == "" {
		return true
	}
	i := strings.LastIndexByte(token, '.')
	return i > 0 && token[:i] == live.ID
}

// FormStep is what a waiting whatsapp_flow node says about the form it
// sent: for the form's data-exchange endpoint.
type FormStep struct {
	Session domain.FlowSession
	Config  *flow.WhatsAppFlowConfig
	Vars    map[string]any
}

// ErrNoFormWait: the session named does not wait for that form send (it
// ended, expired or moved on).
var ErrNoFormWait = errors.New("no session waits for this form")

// FormStep finds the whatsapp_flow node a live session waits at for the
// form send token names ("<session ID>.<wait>"); ErrNoFormWait otherwise.
func (h *Handler) FormStep(ctx context.Context, projectID, token string) (FormStep, error) {
	i := strings.LastIndexByte(token, '.')
	if i <= 0 {
		return FormStep{}, ErrNoFormWait
	}
	seq, err := strconv.ParseUint(token[i+1:], 10, 32)
	if err != nil {
		return FormStep{}, ErrNoFormWait
	}
	sf, err := h.st.SessionWithFlow(ctx, store.Ref{ProjectID: projectID, ID: token[:i]})
	rec := sf.Session
	if errors.Is(err, store.ErrNotFound) {
		return FormStep{}, ErrNoFormWait
	}
	if err != nil {
		return FormStep{}, err
	}
	if !domain.SessionLive(rec.Status) {
		return FormStep{}, ErrNoFormWait
	}
	var head *store.Flow
	if sf.Flow.ID == rec.FlowID {
		head = &sf.Flow
	}
	f, es, _, err := h.load(ctx, rec, head)
	if err != nil {
		return FormStep{}, err
	}
	if es.Wait.Kind != engine.WaitFlow || es.Wait.Seq != uint32(seq) {
		return FormStep{}, ErrNoFormWait
	}
	prog := f.Program
	if n := len(es.Frames); n > 0 {
		// Waiting inside a subflow: its pinned revision.
		fr := es.Frames[n-1]
		sub, err := (flowLoader{h}).Load(ctx, f.Scope, fr.FlowID, fr.Revision)
		if err != nil {
			return FormStep{}, err
		}
		prog = sub.Program
	}
	if es.Node < 0 || es.Node >= len(prog.Steps) {
		return FormStep{}, ErrNoFormWait
	}
	c, ok := prog.Steps[es.Node].Config.(*flow.WhatsAppFlowConfig)
	if !ok {
		return FormStep{}, ErrNoFormWait
	}
	return FormStep{Session: rec, Config: c, Vars: es.Vars}, nil
}

// DecodeState is the engine session rec's row stores: its state, with
// what the row keeps of it (hostKeys).
func DecodeState(rec domain.FlowSession) (*engine.Session, error) {
	es := &engine.Session{}
	if err := es.UnmarshalState(rec.State, hostKeys(rec)); err != nil {
		return nil, fmt.Errorf("decoding session %s: %w", rec.ID, err)
	}
	return es, nil
}

// hostKeys are what rec's row holds of its session's state, which the state
// leaves out (engine.Session.AppendState).
func hostKeys(rec domain.FlowSession) engine.HostKeys {
	return engine.HostKeys{ID: rec.ID, FlowID: rec.FlowID, ContactID: rec.ContactID, CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt}
}
