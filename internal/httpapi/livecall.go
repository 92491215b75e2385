package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/sim"
)

// A live call is a simulated call whose callee is a person: the
// simulator's calls (the person testing the flow answers them in the
// panel) and `parley sandbox call`. Whoever plays the callee polls its
// events (long polling, bounded), says lines and may hang up; once the
// call has ended and been classified its result is there too.

// LiveCalls finds live calls by Parley's call ID (*sim.Provider).
type LiveCalls interface {
	Live(id string) (*sim.Live, bool)
}

// LiveWaitMax bounds how long a poll of a live call waits for news.
const LiveWaitMax = 25 * time.Second

// LiveCallView is a live call as the callee follows it.
type LiveCallView struct {
	// CallID is Parley's ID of the call ("" while a sandbox call waits to
	// be placed).
	CallID string `json:"call_id"`
	// Status is the call's state: none (the simulated session has placed
	// no call), waiting (not placed yet), queued,
	// ringing, in_progress, or its end (completed, busy, no_answer, failed).
	Status string           `json:"status"`
	Events []sim.LiveEvent  `json:"events"`
	Cursor int              `json:"cursor" doc:"Pass as after to get only newer events"`
	Ended  bool             `json:"ended" doc:"The line is closed: no more events"`
	Result *json.RawMessage `json:"result,omitempty" doc:"The call's result (voice.Result: status, answered_by, end_reason, duration_ms, transcript, outcome, summary…) once recorded"`
}

// LiveLineBody is a line the callee says.
type LiveLineBody struct {
	Text string `json:"text" minLength:"1" maxLength:"2000"`
}

type simCallIn struct {
	SimSessionPath
	After  int `query:"after" minimum:"0" doc:"Only events after this cursor"`
	WaitMS int `query:"wait_ms" minimum:"0" maximum:"25000" doc:"Wait up to this long for a new event (long polling)"`
}

type simCallLineIn struct {
	SimSessionPath
	Body LiveLineBody
}

// liveView builds the view of a call: its row (status, result) and the
// live events after after, waiting up to wait for one.
func liveView(ctx context.Context, st store.Store, projectID, callID string, lv *sim.Live, after int, wait time.Duration) (LiveCallView, error) {
	v := LiveCallView{CallID: callID, Status: "waiting", Events: []sim.LiveEvent{}, Cursor: after}
	if lv != nil {
		if wait > LiveWaitMax {
			wait = LiveWaitMax
		}
		var evs []sim.LiveEvent
		if wait > 0 {
			evs, v.Ended = lv.Wait(ctx, after, wait)
		} else {
			evs, v.Ended, _ = lv.Events(after)
		}
		if len(evs) > 0 {
			v.Events, v.Cursor = evs, evs[len(evs)-1].Seq
		}
		if c, _ := lv.CallID(); c != "" {
			v.CallID = c
		}
	}
	if v.CallID == "" {
		return v, nil
	}
	c, err := st.CallGet(ctx, store.Ref{ProjectID: projectID, ID: v.CallID})
	if err != nil {
		return v, err
	}
	v.Status = c.Status
	if c.EndedAt != nil && len(c.Result) > 0 {
		r := json.RawMessage(c.Result)
		v.Result, v.Ended = &r, true
		// The call may have ended between the events' read and the call's:
		// the callee heard its "ended" before the result was stored, so the
		// events read again include it.
		if lv != nil {
			if evs, _, _ := lv.Events(after); len(evs) > 0 {
				v.Events, v.Cursor = evs, evs[len(evs)-1].Seq
			}
		}
	}
	return v, nil
}

// simCall finds the live call of a simulated session: its latest call
// (a voice_transfer's request is not one: it acts on the call before it).
func (a *runtimeAPI) simCall(ctx context.Context, sessionID string) (string, store.Call, *sim.Live, error) {
	_, s, err := a.simSession(ctx, sessionID)
	if err != nil {
		return "", store.Call{}, nil, err
	}
	cs, err := a.s.deps.Store.CallList(ctx, store.CallListParams{ProjectID: s.ProjectID, SessionID: s.ID, Limit: 50})
	if err != nil {
		return "", store.Call{}, nil, err
	}
	cs = slices.DeleteFunc(cs, func(c store.Call) bool { return c.Direction == string(voice.Transferring) })
	if len(cs) == 0 {
		return s.ProjectID, store.Call{}, nil, nil // no call yet
	}
	last := cs[0]
	for _, c := range cs[1:] {
		if c.CreatedAt.After(last.CreatedAt) {
			last = c
		}
	}
	var lv *sim.Live
	if a.s.deps.LiveCalls != nil {
		lv, _ = a.s.deps.LiveCalls.Live(last.ID)
	}
	return s.ProjectID, last, lv, nil
}

type liveCallOut struct{ Body LiveCallView }

func (a *runtimeAPI) simCallGet(ctx context.Context, in *simCallIn) (*liveCallOut, error) {
	projectID, c, lv, err := a.simCall(ctx, in.SessionID)
	if err != nil {
		return nil, err
	}
	if c.ID == "" {
		return &liveCallOut{Body: LiveCallView{Status: "none", Events: []sim.LiveEvent{}, Cursor: in.After}}, nil
	}
	v, err := liveView(ctx, a.s.deps.Store, projectID, c.ID, lv, in.After, time.Duration(in.WaitMS)*time.Millisecond)
	if err != nil {
		return nil, err
	}
	return &liveCallOut{Body: v}, nil
}

// simLive is the live line of a session's call, or why there is none.
func (a *runtimeAPI) simLive(ctx context.Context, sessionID string) (*sim.Live, error) {
	_, c, lv, err := a.simCall(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if c.ID == "" {
		return nil, domain.Errorf(domain.CodeConflict, "simulated session %s has placed no call", sessionID)
	}
	if lv == nil {
		if c.EndedAt != nil {
			return nil, domain.Errorf(domain.CodeConflict, "the call has ended")
		}
		return nil, domain.Errorf(domain.CodeConflict, "the call is %s: it has not been answered yet", c.Status)
	}
	return lv, nil
}

func (a *runtimeAPI) simCallLine(ctx context.Context, in *simCallLineIn) (*liveCallOut, error) {
	lv, err := a.simLive(ctx, in.SessionID)
	if err != nil {
		return nil, err
	}
	if err := lv.Say(in.Body.Text); err != nil {
		return nil, err
	}
	return a.simCallGet(ctx, &simCallIn{SimSessionPath: in.SimSessionPath})
}

func (a *runtimeAPI) simCallHangup(ctx context.Context, in *SimSessionPath) (*liveCallOut, error) {
	lv, err := a.simLive(ctx, in.SessionID)
	if err != nil {
		return nil, err
	}
	lv.HangUp()
	return a.simCallGet(ctx, &simCallIn{SimSessionPath: *in})
}

// The sandbox's calls: `parley sandbox call`.

// SandboxCallInput asks for a live call on a sandbox voice number.
type SandboxCallInput struct {
	ChannelID string `json:"channel_id" required:"true" maxLength:"100" doc:"The sandbox voice number that will call"`
	Number    string `json:"number,omitempty" maxLength:"20" pattern:"^\\+[1-9][0-9]{6,14}$" doc:"The callee's number, E.164 (default +15555550123)"`
	Scenario  string `json:"scenario,omitempty" enum:"answer,busy,no_answer,voicemail,silence,failed" doc:"How the callee takes the call (default answer: you talk)"`
	Flow      string `json:"flow,omitempty" maxLength:"200" doc:"Start this published flow (name or ID) for the callee now; without it the call waits for a flow to call the number"`
	Name      string `json:"name,omitempty" maxLength:"100" doc:"The callee's name, for a contact the flow starts for"`
}

// SandboxCall is a live sandbox call waiting to be placed.
type SandboxCall struct {
	ID        string `json:"id" doc:"Follow the call with GET /sandbox/calls/{id}/"`
	ChannelID string `json:"channel_id"`
	Number    string `json:"number"`
	Scenario  string `json:"scenario"`
	SessionID string `json:"session_id,omitempty" doc:"The session of the flow started for the callee"`
}

type sandboxCallIn struct{ Body SandboxCallInput }

type sandboxCallOut struct{ Body SandboxCall }

// SandboxCallPath names a sandbox call.
type SandboxCallPath struct {
	ID string `path:"id" maxLength:"100"`
}

type sandboxCallGetIn struct {
	SandboxCallPath
	Session string `query:"session_id" maxLength:"100" doc:"The session POST /sandbox/calls/ started, to learn of a call that failed before it was placed"`
	After   int    `query:"after" minimum:"0"`
	WaitMS  int    `query:"wait_ms" minimum:"0" maximum:"25000"`
}

type sandboxCallLineIn struct {
	SandboxCallPath
	Body LiveLineBody
}

func (s *Server) sandboxCall(ctx context.Context, in *sandboxCallIn) (*sandboxCallOut, error) {
	c, err := s.sandboxConsole()
	if err != nil {
		return nil, err
	}
	call, err := c.SandboxCall(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	return &sandboxCallOut{Body: call}, nil
}

func (s *Server) sandboxLive(ctx context.Context, id string) (*sim.Live, string, error) {
	c, err := s.sandboxConsole()
	if err != nil {
		return nil, "", err
	}
	return c.SandboxLive(ctx, id)
}

// unplacedCall finds the call of the session a sandbox call started when
// it ended before reaching the provider (e.g. no such voice number).
func (s *Server) unplacedCall(ctx context.Context, projectID, sessionID string) string {
	if sessionID == "" {
		return ""
	}
	cs, err := s.deps.Store.CallList(ctx, store.CallListParams{ProjectID: projectID, SessionID: sessionID, Limit: 5})
	if err != nil {
		return ""
	}
	for _, c := range cs {
		if c.EndedAt != nil && c.ProviderID == "" {
			return c.ID
		}
	}
	return ""
}

func (s *Server) sandboxCallGet(ctx context.Context, in *sandboxCallGetIn) (*liveCallOut, error) {
	lv, projectID, err := s.sandboxLive(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	callID, _ := lv.CallID()
	wait := time.Duration(in.WaitMS) * time.Millisecond
	if callID == "" {
		if callID = s.unplacedCall(ctx, projectID, in.Session); callID != "" {
			wait = 0 // it will never ring
		}
	}
	v, err := liveView(ctx, s.deps.Store, projectID, callID, lv, in.After, wait)
	if errors.Is(err, store.ErrNotFound) {
		err = nil // placed by a flow of another project: the events say enough
	}
	if err != nil {
		return nil, err
	}
	return &liveCallOut{Body: v}, nil
}

func (s *Server) sandboxCallLine(ctx context.Context, in *sandboxCallLineIn) (*liveCallOut, error) {
	lv, _, err := s.sandboxLive(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if err := lv.Say(in.Body.Text); err != nil {
		return nil, err
	}
	return s.sandboxCallGet(ctx, &sandboxCallGetIn{SandboxCallPath: in.SandboxCallPath})
}

func (s *Server) sandboxCallHangup(ctx context.Context, in *SandboxCallPath) (*liveCallOut, error) {
	lv, _, err := s.sandboxLive(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	lv.HangUp()
	return s.sandboxCallGet(ctx, &sandboxCallGetIn{SandboxCallPath: *in})
}
