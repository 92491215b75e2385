package twiliotest

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Transfers, as Twilio plays them. A <Dial> to a <Number> or <Client> (a
// blind transfer) rings the target, whose behaviour is the script Expect
// gave its number (a client's as "client:NAME"; default: answers): busy,
// no-answer and failed end the dialled leg unanswered, and the <Dial>'s
// action is requested at once with that DialCallStatus; an answer is
// reported to the noun's statusCallback (event answered, with
// ParentCallSid), the two talk for TalkFor, and the action comes with
// DialCallStatus completed. The action's TwiML then runs on the caller's
// call (a <Connect> reconnects them to the relay or stream). A call
// created with Twiml (a warm transfer's agent) rings the same way: its
// status callbacks say answered, or end busy, no-answer or failed.

// TalkFor is how long a transferred caller and the target talk before the
// target hangs up.
const TalkFor = 300 * time.Millisecond

// dialTwiML is a <Dial> with one noun.
type dialTwiML struct {
	Action   string `xml:"action,attr"`
	CallerID string `xml:"callerId,attr"`
	Number   *noun  `xml:"Number"`
	Client   *noun  `xml:"Client"`
	Conf     string `xml:"Conference"`
}

type noun struct {
	Value          string `xml:",chardata"`
	StatusCallback string `xml:"statusCallback,attr"`
	Events         string `xml:"statusCallbackEvent,attr"`
}

// target is the dialled party as a script's key: +E164 or client:NAME.
func (d dialTwiML) target() string {
	switch {
	case d.Number != nil:
		return strings.TrimSpace(d.Number.Value)
	case d.Client != nil:
		return "client:" + strings.TrimSpace(d.Client.Value)
	}
	return ""
}

func (d dialTwiML) noun() *noun {
	if d.Number != nil {
		return d.Number
	}
	return d.Client
}

// dialOf finds the <Dial> of a TwiML document.
func dialOf(doc []byte) (dialTwiML, error) {
	var r struct {
		Dial *dialTwiML `xml:"Dial"`
	}
	if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&r); err != nil {
		return dialTwiML{}, fmt.Errorf("reading the TwiML: %w", err)
	}
	if r.Dial == nil {
		return dialTwiML{}, fmt.Errorf("the TwiML has no <Dial>: %s", doc)
	}
	return *r.Dial, nil
}

// Dialled is a leg a call's <Dial> rang.
type Dialled struct {
	Sid, To string
	// Status is how the leg ended, as DialCallStatus; in-progress while
	// the target talks.
	Status string
}

// Dialled lists the legs the call's <Dial>s rang, oldest first.
func (c *Call) Dialled() []Dialled {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Dialled(nil), c.dialled...)
}

// outcome is what a dialled target does: "" answers, else the status its
// leg ends with.
func (f *Fake) outcome(target string) string {
	f.mu.Lock()
	s, ok := f.scripts[target]
	f.mu.Unlock()
	if !ok {
		return ""
	}
	switch s.Scenario {
	case Busy, NoAnswer, Failed:
		return string(s.Scenario)
	}
	return ""
}

// dial rings a <Dial>'s target for the call and returns the TwiML its
// action answered (nil: the call ended).
func (c *Call) dial(ctx context.Context, d dialTwiML, limit <-chan time.Time) []byte {
	to := d.target()
	leg := Dialled{Sid: newSid("CA"), To: to, Status: c.f.outcome(to)}
	talked := 0
	c.mu.Lock()
	n := len(c.dialled)
	c.dialled = append(c.dialled, leg)
	c.mu.Unlock()
	if leg.Status == "" {
		c.setDialled(n, "in-progress")
		if n := d.noun(); n.StatusCallback != "" && hasEvent(n.Events, "answered") {
			form := c.legParams(leg, d.CallerID, "in-progress")
			form.Set("CallbackSource", "call-progress-events")
			form.Set("SequenceNumber", "0")
			_, _ = c.post(ctx, n.StatusCallback, form)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-limit:
			c.end(ctx, "completed")
			return nil
		case u := <-c.updates:
			if u.Get("Status") != "" {
				c.end(ctx, "completed")
				return nil
			}
		case <-time.After(TalkFor):
		}
		leg.Status, talked = "completed", int(TalkFor/time.Second)
	}
	c.setDialled(n, leg.Status)
	if d.Action == "" {
		// Nothing after the <Dial>: the call ends.
		c.end(ctx, "completed")
		return nil
	}
	form := c.params("in-progress")
	form.Set("DialCallStatus", leg.Status)
	form.Set("DialCallSid", leg.Sid)
	form.Set("DialCallDuration", strconv.Itoa(talked))
	form.Set("DialBridged", strconv.FormatBool(talked > 0 || leg.Status == "completed"))
	body, err := c.post(ctx, d.Action, form)
	if err != nil {
		c.end(ctx, "completed")
		return nil
	}
	return body
}

func (c *Call) setDialled(i int, status string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dialled[i].Status = status
}

// legParams are the webhook parameters of a dialled leg.
func (c *Call) legParams(leg Dialled, callerID, status string) url.Values {
	from := callerID
	if from == "" {
		from = c.Params.Get("From")
	}
	return url.Values{"CallSid": {leg.Sid}, "ParentCallSid": {c.Sid}, "AccountSid": {c.f.AccountSID}, "From": {from}, "To": {leg.To},
		"CallStatus": {status}, "Direction": {"outbound-dial"}, "ApiVersion": {"2010-04-01"}}
}

func hasEvent(events, event string) bool {
	for _, e := range strings.FieldsFunc(events, func(r rune) bool { return r == ' ' || r == ',' }) {
		if e == event {
			return true
		}
	}
	return false
}

// ring plays a call created with Twiml (a warm transfer's agent): it
// rings, then ends as the callee's script says, or is answered and stays
// on (in the conference) until the fake closes or TimeLimit passes.
func (c *Call) ring(ctx context.Context) {
	c.callback(ctx, "initiated", "queued", nil)
	c.callback(ctx, "ringing", "ringing", nil)
	if st := c.f.outcome(c.Params.Get("To")); st != "" {
		c.end(ctx, st)
		return
	}
	c.mu.Lock()
	c.answeredAt = time.Now()
	c.mu.Unlock()
	c.callback(ctx, "answered", "in-progress", nil)
	select {
	case <-ctx.Done():
	case u := <-c.updates:
		_ = u
		c.end(ctx, "completed")
	}
}
