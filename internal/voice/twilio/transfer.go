package twilio

import (
	"context"
	"errors"
	"fmt"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"
	"github.com/twilio/twilio-go/twiml"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
)

// A transfer learns whether its target took the call, as Twilio tells it:
//
//   - blind: the caller's call is updated to a <Dial action="dial/{id}">
//     whose <Number> or <Client> reports its leg's answered event to
//     leg/{id}. That event says the target took the call; otherwise Twilio
//     requests the action URL when the dialled leg ends, with
//     DialCallStatus busy, no-answer, failed or canceled, and the answer
//     puts the caller back on the relay (or stream), where the agent tells
//     them. After a taken transfer the action comes once the two stop
//     talking (completed) and is answered with <Hangup/>.
//   - warm: the agent is called first, into the conference, with its status
//     callback at leg/{id}; only once they answer is the caller's call
//     updated to join them. An agent who does not answer (busy, no-answer,
//     failed, canceled) leaves the caller on the relay.
//
// Both webhooks are signed like the others.

// transferWait bounds how long a transfer waits for Twilio's word on its
// target (a <Dial> rings 30 s by default, an API call 60 s).
const transferWait = 2 * time.Minute

// dialWait is a transfer under way on a Leg (Leg.xfer, under Leg.mu).
type dialWait struct {
	target voice.Target
	// away: the caller's call runs the transfer's TwiML, not the relay or
	// stream, so their websocket closing is no hang-up.
	away bool
	// out takes the target's answer, once: completed (taken) or how
	// its leg ended.
	out chan voice.Status
}

func (x *dialWait) settle(st voice.Status) {
	select {
	case x.out <- st:
	default:
	}
}

// DialStatusOf maps a <Dial> action's DialCallStatus onto Parley's status
// of the transferred leg: completed and answered say it was taken; the rest
// (busy, no-answer, canceled, failed) read as a CallStatus does, and any
// other value as failed.
func DialStatusOf(s string) voice.Status {
	switch s {
	case "completed", "answered":
		return voice.StatusCompleted
	case "busy", "no-answer", "canceled":
		return StatusOf(s)
	}
	return voice.StatusFailed
}

// Transfer implements voice.Leg: it returns once Twilio said the target
// took the call (nil), or did not (*voice.TransferError with the target's
// status; the caller is still with the agent).
func (l *Leg) Transfer(ctx context.Context, t voice.Target) error {
	if err := t.Validate(); err != nil {
		return domain.Errorf(domain.CodeInvalid, "%v", err)
	}
	l.mu.Lock()
	ended, sid := l.ended, l.sid
	if ended {
		l.mu.Unlock()
		return fmt.Errorf("transferring call %s: the call has ended", sid)
	}
	if l.xfer != nil {
		l.mu.Unlock()
		return fmt.Errorf("transferring call %s: it is being transferred to %s already", sid, l.xfer.target.String())
	}
	x := &dialWait{target: t, out: make(chan voice.Status, 1)}
	l.xfer = x
	l.mu.Unlock()
	err := l.transfer(ctx, x, sid)
	if err != nil {
		// A taken transfer stays: the call is the target's now.
		l.mu.Lock()
		if l.xfer == x {
			l.xfer = nil
		}
		l.mu.Unlock()
	}
	return err
}

func (l *Leg) transfer(ctx context.Context, x *dialWait, sid string) error {
	t := x.target
	legURL := l.p.callURL("leg", l.callID)
	if t.Mode == voice.TransferWarm {
		room := "parley-" + l.callID
		say := t.Summary
		if say == "" {
			say = "A caller is waiting for you."
		}
		agent := t.To
		if t.Kind == voice.TargetAgent {
			agent = "client:" + t.To
		}
		doc, err := twiml.Voice([]twiml.Element{&twiml.VoiceSay{Message: say},
			&twiml.VoiceDial{InnerElements: []twiml.Element{&twiml.VoiceConference{Name: room}}}})
		if err != nil {
			return err
		}
		params := (&api.CreateCallParams{}).SetTo(agent).SetFrom(l.dial.From).SetTwiml(doc).
			SetStatusCallback(legURL).SetStatusCallbackMethod("POST").SetStatusCallbackEvent([]string{"answered", "completed"})
		call, err := l.p.rest.Api.CreateCall(params)
		if err != nil {
			return fmt.Errorf("calling %s into the warm transfer's conference: %w", t.To, err)
		}
		st, err := l.await(ctx, x)
		if err != nil {
			// Nobody is left to join the agent (the caller hung up, or
			// Parley stopped): their call is ended, best effort.
			if call.Sid != nil {
				_, _ = l.p.rest.Api.UpdateCall(*call.Sid, (&api.UpdateCallParams{}).SetStatus("canceled"))
			}
			return err
		}
		if st != voice.StatusCompleted {
			return &voice.TransferError{Target: t, Status: st}
		}
		// The agent is in the conference: the caller joins them.
		l.mu.Lock()
		x.away = true
		l.mu.Unlock()
		doc, err = twiml.Voice([]twiml.Element{&twiml.VoiceDial{CallerId: l.dial.From,
			InnerElements: []twiml.Element{&twiml.VoiceConference{Name: room, EndConferenceOnExit: "true"}}}})
		if err != nil {
			return err
		}
		if _, err := l.p.rest.Api.UpdateCall(sid, (&api.UpdateCallParams{}).SetTwiml(doc)); err != nil {
			return fmt.Errorf("moving Twilio call %s into the conference with %s: %w", sid, t.To, err)
		}
		return nil
	}
	var noun twiml.Element = &twiml.VoiceNumber{PhoneNumber: t.To, StatusCallbackEvent: "answered", StatusCallback: legURL, StatusCallbackMethod: "POST"}
	if t.Kind == voice.TargetAgent {
		noun = &twiml.VoiceClient{Identity: t.To, StatusCallbackEvent: "answered", StatusCallback: legURL, StatusCallbackMethod: "POST"}
	}
	doc, err := twiml.Voice([]twiml.Element{&twiml.VoiceDial{Action: l.p.callURL("dial", l.callID), Method: "POST", CallerId: l.dial.From,
		InnerElements: []twiml.Element{noun}}})
	if err != nil {
		return err
	}
	l.mu.Lock()
	x.away = true
	l.mu.Unlock()
	if _, err := l.p.rest.Api.UpdateCall(sid, (&api.UpdateCallParams{}).SetTwiml(doc)); err != nil {
		return fmt.Errorf("transferring Twilio call %s to %s: %w", sid, t.To, err)
	}
	st, err := l.await(ctx, x)
	if err != nil {
		return err
	}
	if st != voice.StatusCompleted {
		return &voice.TransferError{Target: t, Status: st}
	}
	return nil
}

// await waits for Twilio's word on the transfer's target.
func (l *Leg) await(ctx context.Context, x *dialWait) (voice.Status, error) {
	timer := time.NewTimer(transferWait)
	defer timer.Stop()
	select {
	case st := <-x.out:
		return st, nil
	case <-l.done:
		select {
		case st := <-x.out:
			return st, nil
		default:
		}
		return "", fmt.Errorf("transferring the call to %s: %w", x.target.String(), voice.ErrHungUp)
	case <-ctx.Done():
		return "", ctx.Err()
	case <-timer.C:
		return "", errors.New("twilio said nothing of the transfer to " + x.target.String() + " within " + transferWait.String())
	}
}

// transferLeg takes a status callback of the transfer's target leg: the
// <Number>/<Client> of a blind transfer's <Dial> (only its answered
// event: the action says why one was not taken), or the agent's call of a
// warm one.
func (l *Leg) transferLeg(f map[string]string) {
	l.mu.Lock()
	x := l.xfer
	l.mu.Unlock()
	if x == nil {
		return
	}
	switch st := f["CallStatus"]; {
	case st == "in-progress" || st == "answered":
		x.settle(voice.StatusCompleted)
	case x.target.Mode == voice.TransferWarm && st != "completed" && StatusOf(st).Terminal():
		x.settle(StatusOf(st))
	}
}

// dialEnded answers a blind transfer's <Dial> action: its target did not
// take the call (the caller goes back to the relay or stream), or the
// transferred talk is over (the call hangs up).
func (l *Leg) dialEnded(f map[string]string) (string, error) {
	st := DialStatusOf(f["DialCallStatus"])
	l.mu.Lock()
	x := l.xfer
	back := x != nil && st != voice.StatusCompleted && x.away && !l.ended
	if back {
		// The caller comes back on a new relay or stream; the old one
		// (closed by the <Dial>, or about to be) is forgotten now.
		x.away = false
		l.dropSocketsLocked()
	}
	l.mu.Unlock()
	if x != nil {
		x.settle(st)
	}
	if back {
		return l.mediaTwiML(false)
	}
	return twiml.Voice([]twiml.Element{&twiml.VoiceHangup{}})
}
