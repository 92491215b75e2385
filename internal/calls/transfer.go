package calls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
)

// A call whose AI chose to transfer with no target of its own
// (hold_for_transfer) is held: the caller was told to hold, the session
// got the call's result (exit transferred) and goes on, and the call's
// line stays with the process that ran it until the session's
// voice_transfer step says where it goes, the caller hangs up, or HoldFor
// passes (the caller is told nobody is available and hung up on). A
// voice_transfer step's request is a row of its own (direction transfer)
// addressed to that process (store.CallClaim), which answers it from the
// line it holds; a request no held call awaits fails at once.

// DefaultHoldFor is how long a held call waits for the flow's transfer.
const DefaultHoldFor = 2 * time.Minute

// ReholdLine is what a held caller hears when a transfer was not taken and
// they keep holding for the flow's next step.
const ReholdLine = "Sorry, nobody answered there. Please keep holding."

// held is a call on hold, by session.
type held struct {
	callID     string
	leg        voice.Leg
	reason     string
	transcript []voice.Line
	// busy is set (under Service.hmu) while a transfer tries it; gone is
	// closed once a transfer took the call away.
	busy bool
	gone chan struct{}
}

// hold puts a call on hold for its session's transfer; an earlier held
// call of the session (there should be none) is replaced.
func (s *Service) hold(sessionID string, h *held) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.held == nil {
		s.held = map[string]*held{}
	}
	s.held[sessionID] = h
}

// take hands the session's held call to a transfer, nil when none.
func (s *Service) take(sessionID string) *held {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	h := s.held[sessionID]
	if h == nil || h.busy {
		return nil
	}
	h.busy = true
	return h
}

// settle ends a transfer's use of a held call: taken removes it (the
// target has it now), otherwise it goes back on hold.
func (s *Service) settle(sessionID string, h *held, taken bool) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	h.busy = false
	if taken {
		if s.held[sessionID] == h {
			delete(s.held, sessionID)
		}
		close(h.gone)
	}
}

// unhold removes a held call its hold gives up on; false while a transfer
// tries it (the hold then waits for that).
func (s *Service) unhold(sessionID string, h *held) bool {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if h.busy {
		return false
	}
	if s.held[sessionID] == h {
		delete(s.held, sessionID)
	}
	return true
}

// Held is how many calls this process holds for a transfer.
func (s *Service) Held() int {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return len(s.held)
}

// keepOnHold follows a held call until a transfer takes it, the caller
// hangs up, the hold times out or the service stops; the last two hang up.
func (s *Service) keepOnHold(ctx context.Context, sessionID string, h *held) {
	t := time.NewTimer(s.d.HoldFor)
	defer t.Stop()
	hangup := func(line string) {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if line != "" {
			_ = h.leg.Conversation().Say(hctx, line)
		}
		if err := h.leg.Hangup(hctx); err != nil {
			s.d.Logger.Warn("hanging up a held call", "call", h.callID, "err", err)
		}
	}
	for {
		select {
		case <-h.gone:
			return
		case e, ok := <-h.leg.Events():
			if !ok || e.Kind == voice.EventEnded {
				// The caller hung up while holding; a transfer trying
				// the call now fails on its own.
				s.unhold(sessionID, h)
				return
			}
		case <-t.C:
			if !s.unhold(sessionID, h) {
				t.Reset(time.Second) // a transfer is trying it
				continue
			}
			hangup(voice.DeclinedLine)
			return
		case <-ctx.Done():
			for !s.unhold(sessionID, h) {
				select {
				case <-h.gone:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
			hangup("")
			return
		}
	}
}

// transfer answers a voice_transfer step's request from the session's
// held call.
func (s *Service) transfer(ctx context.Context, c store.Call) {
	res := voice.Result{CallID: c.ID, Direction: voice.Transferring, To: c.To, Status: voice.StatusFailed, EndReason: voice.EndError}
	var req engine.TransferMessage
	if err := json.Unmarshal(c.Request, &req); err != nil {
		res.Error = fmt.Sprintf("reading the transfer's request: %v", err)
		s.end(ctx, c, res)
		return
	}
	target, err := voice.ParseTarget(req.To, voice.TransferMode(req.Mode))
	if err != nil {
		res.Error = err.Error()
		s.end(ctx, c, res)
		return
	}
	res.Transfer = &voice.Transfer{Target: target, RequestedBy: "flow"}
	h := s.take(c.SessionID)
	if h == nil {
		res.Error = "the contact has no call on hold to transfer: a voice_transfer step acts on the call a voice_call step held for it (hold_for_transfer), while the caller is still holding"
		s.end(ctx, c, res)
		return
	}
	res.ProviderID, res.Transfer.Reason = h.leg.ID(), h.reason
	if target.Mode == voice.TransferWarm {
		target.Summary = req.Message
		if target.Summary == "" {
			target.Summary = voice.WarmSummary(h.reason, h.transcript)
		}
		res.Transfer.Target = target
	}
	start := s.d.Clock.Now()
	err = h.leg.Transfer(ctx, target)
	res.Transfer.Duration = s.d.Clock.Now().Sub(start)
	var te *voice.TransferError
	switch {
	case err == nil:
		s.settle(c.SessionID, h, true)
		res.Status, res.EndReason = voice.StatusCompleted, voice.EndTransferred
	case errors.As(err, &te):
		// Nobody took it: the caller keeps holding, for the flow's
		// failed exit to try elsewhere (or the hold to run out).
		_ = h.leg.Conversation().Say(ctx, ReholdLine)
		s.settle(c.SessionID, h, false)
		res.Transfer.DialStatus, res.Error = te.Status, te.Error()
	default:
		s.settle(c.SessionID, h, false)
		res.Error = fmt.Sprintf("transferring the call to %s: %v", target.String(), err)
	}
	s.end(ctx, c, res)
}

// TransferVariables is what a voice_transfer node's variable holds after
// the transfer, plus the exit to take.
func TransferVariables(r voice.Result) map[string]any {
	v := map[string]any{"exit": r.Exit(), "status": string(r.Status), "provider_id": r.ProviderID, "error": r.Error, "to": r.To,
		"mode": "", "reason": "", "dial_status": ""}
	if t := r.Transfer; t != nil {
		v["to"], v["mode"], v["reason"], v["dial_status"] = t.Target.String(), string(t.Target.Mode), t.Reason, string(t.DialStatus)
	}
	return v
}
