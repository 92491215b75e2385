package twilio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	"github.com/twilio/twilio-go/twiml"

	"github.com/parleyhq/parley/internal/voice"
)

// Webhooks of the number itself (not of one call), under its webhook URL:
// the number's Voice URL (Twilio's incoming-call webhook) and its status
// callback, which Twilio posts for the calls made to the number.
const (
	pathIncoming     = "incoming"
	pathNumberStatus = "status"
)

// inboundHandoff bounds how long the host may take to take over an
// inbound call (find the session awaiting the caller, or start a flow).
const inboundHandoff = 30 * time.Second

// OnInbound implements voice.InboundProvider: the calls made to this
// number reach h once Twilio's incoming-call webhook is answered.
func (p *Provider) OnInbound(h voice.InboundHandler) { p.inbound = h }

// numberURL is a webhook URL of the number itself.
func (p *Provider) numberURL(kind string) string {
	return strings.TrimRight(p.cfg.WebhookBase(), "/") + "/" + kind
}

// serveNumber answers the webhooks that are not about a call this process
// placed: an incoming call, the number's status callback, a recording's
// status callback. It reports whether rest was one of them.
func (p *Provider) serveNumber(w http.ResponseWriter, r *http.Request, rest string) bool {
	kind, callID, _ := strings.Cut(rest, "/")
	switch {
	case rest == pathIncoming, rest == pathNumberStatus:
	case kind == pathRecording && callID != "":
	default:
		return false
	}
	if r.Method != http.MethodPost {
		http.Error(w, "Twilio posts this webhook", http.StatusMethodNotAllowed)
		return true
	}
	if p.cfg.WebhookBase == nil {
		http.Error(w, "the number does not know its webhook URL (PARLEY_PUBLIC_URL)", http.StatusServiceUnavailable)
		return true
	}
	params, ok := p.signedForm(w, r, rest)
	if !ok {
		return true
	}
	switch kind {
	case pathIncoming:
		p.incoming(w, r, params)
	case pathNumberStatus:
		// A call to the number: its leg is found by Twilio's CallSid.
		if l := p.reg.bySid(params["CallSid"]); l != nil {
			l.status(params)
		}
		w.WriteHeader(http.StatusNoContent)
	case pathRecording:
		p.recording(w, r, callID, params)
	}
	return true
}

// signedForm reads a webhook's form and checks its X-Twilio-Signature
// against the URL it was posted to under this number; a bad one is
// answered 403.
func (p *Provider) signedForm(w http.ResponseWriter, r *http.Request, rest string) (map[string]string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return nil, false
	}
	params := map[string]string{}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	if !p.valid.Validate(p.numberURL(rest), params, r.Header.Get("X-Twilio-Signature")) {
		p.refuse(w, rest, params["CallSid"])
		return nil, false
	}
	return params, true
}

// incoming takes Twilio's incoming-call webhook: the host (the calls
// service) is handed the call to give it to the session awaiting the
// caller or to a flow it starts, and the webhook is answered once the host
// accepted it (voice.InboundCall.Accept), in the mode its step needs —
// <Connect><ConversationRelay> (text relay) or <Connect><Stream> (audio
// mode) — with <Start><Recording> before it when the step records. The
// caller hears ringing meanwhile. The hand-over goes on beside the answer:
// the host speaks to the caller through the relay or stream, which Twilio
// opens only once it has the TwiML. A host that has not decided within
// acceptWait gets a text relay; one that refuses before deciding has the
// caller told so.
func (p *Provider) incoming(w http.ResponseWriter, r *http.Request, f map[string]string) {
	sid, from, to := f["CallSid"], f["From"], f["To"]
	if sid == "" || from == "" || f["AccountSid"] != p.cfg.AccountSID || !strings.HasPrefix(f["Direction"], "inbound") {
		http.Error(w, "not an incoming call of this account: CallSid, From, AccountSid and Direction=inbound are required", http.StatusBadRequest)
		return
	}
	if to != p.cfg.Number {
		p.logger.Warn("twilio incoming call for another number reached this number's voice URL", "number", p.cfg.Number, "to", to, "call_sid", sid)
		http.Error(w, "this voice URL is the number "+p.cfg.Number+"'s, not "+to+"'s", http.StatusNotFound)
		return
	}
	h := p.inbound
	if h == nil {
		doc, err := sayAndHangUp("Sorry, this number does not take calls. Goodbye.")
		answerTwiML(w, p.logger, doc, err)
		return
	}
	callID := p.ids.NewID()
	// The leg calls from this number (a transfer's caller ID) to the
	// caller, as an outbound one does.
	l := newLeg(p, voice.Dial{CallID: callID, From: p.cfg.Number, To: from})
	l.setSid(sid)
	p.reg.add(l)
	acc := newAcceptance()
	refused := make(chan error, 1)
	go func() {
		// The hand-over outlives the webhook's request, bounded: the
		// host returns once it took the call (or said why not).
		ctx, cancel := context.WithTimeout(context.Background(), inboundHandoff)
		defer cancel()
		if err := h(ctx, voice.InboundCall{From: from, To: to, Leg: l, Accept: acc.accept}); err != nil {
			refused <- err
			p.logger.Warn("nobody took an incoming call; it was hung up", "number", p.cfg.Number, "from", from, "call_sid", sid, "err", err)
			if acc.decided() {
				_ = l.Hangup(ctx)
			}
		}
	}()
	wait := acceptWait
	if p.acceptFor > 0 {
		wait = p.acceptFor
	}
	a, ok := acc.wait(r.Context(), refused, wait)
	if !ok {
		// Refused before deciding how to answer, or Twilio gave up (the
		// caller hung up while it rang): no relay is opened to say so,
		// and a host that accepts now finds the leg ended.
		l.status(map[string]string{"CallStatus": "canceled"})
		p.reg.remove(callID)
		doc, err := sayAndHangUp("Sorry, this number cannot take your call now. Goodbye.")
		answerTwiML(w, p.logger, doc, err)
		return
	}
	// Under l.mu: the host may use the leg as soon as it accepted.
	l.mu.Lock()
	l.dial.Media, l.dial.Voice, l.dial.Language = a.Media, a.Voice, a.Language
	if a.Record {
		l.recordAs = a.CallID
		if l.recordAs == "" {
			l.recordAs = callID
		}
	}
	l.mu.Unlock()
	doc, err := l.answer(f)
	if err != nil {
		p.reg.remove(callID)
		p.logger.Error("writing an incoming call's TwiML", "call_sid", sid, "err", err)
		http.Error(w, "cannot answer", http.StatusInternalServerError)
		return
	}
	p.logger.Info("twilio incoming call answered", "number", p.cfg.Number, "from", from, "call_sid", sid, "call", callID,
		"media", string(a.Media), "record", a.Record)
	answerTwiML(w, p.logger, doc, nil)
}

// acceptWait bounds how long the incoming-call webhook waits for the host
// to accept the call: under Twilio's 15-second webhook timeout.
const acceptWait = 12 * time.Second

// acceptance is the host's answer to one incoming call: the first of
// Accept and the webhook's own deadline decides it.
type acceptance struct {
	ch   chan voice.InboundAnswer
	mu   sync.Mutex
	done bool
}

func newAcceptance() *acceptance { return &acceptance{ch: make(chan voice.InboundAnswer, 1)} }

// accept is voice.InboundCall.Accept: a call after the webhook decided is
// ignored.
func (a *acceptance) accept(ans voice.InboundAnswer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return
	}
	a.done = true
	a.ch <- ans
}

// decided reports whether the call was answered (accepted, or the wait
// ran out and it got the text relay).
func (a *acceptance) decided() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.done
}

// wait returns the host's answer; after d, a text relay; false if the host
// refused first or ctx ended.
func (a *acceptance) wait(ctx context.Context, refused <-chan error, d time.Duration) (voice.InboundAnswer, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case ans := <-a.ch:
		return ans, true
	case <-refused:
	case <-ctx.Done():
	case <-t.C:
		a.mu.Lock()
		defer a.mu.Unlock()
		if !a.done {
			a.done = true
			return voice.InboundAnswer{Media: voice.MediaText}, true
		}
		return <-a.ch, true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		// Accepted, then refused: answered all the same, and hung up by
		// the host.
		return <-a.ch, true
	}
	a.done = true
	return voice.InboundAnswer{}, false
}

// sayAndHangUp is TwiML that says text and hangs up.
func sayAndHangUp(text string) (string, error) {
	return twiml.Voice([]twiml.Element{&twiml.VoiceSay{Message: text}, &twiml.VoiceHangup{}})
}

// answerTwiML writes a TwiML answer.
func answerTwiML(w http.ResponseWriter, logger *slog.Logger, doc string, err error) {
	if err != nil {
		logger.Error("writing TwiML", "err", err)
		http.Error(w, "cannot answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write([]byte(doc))
}

// bySid finds a live call by Twilio's CallSid.
func (r *Registry) bySid(sid string) *Leg {
	if sid == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.legs {
		if l.ID() == sid {
			return l
		}
	}
	return nil
}

// ConfigureNumber points the number's Voice URL and status callback at
// webhookBase (the channel's webhook URL) through Twilio's
// IncomingPhoneNumbers resource, so that calls to the number reach Parley:
// the voice number's channel.Provisioner, when the channel is saved.
func (p *Provider) ConfigureNumber(ctx context.Context, webhookBase string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sid, err := p.numberSid()
	if err != nil {
		return err
	}
	base := strings.TrimRight(webhookBase, "/")
	params := (&api.UpdateIncomingPhoneNumberParams{}).SetVoiceUrl(base + "/" + pathIncoming).SetVoiceMethod(http.MethodPost).
		SetStatusCallback(base + "/" + pathNumberStatus).SetStatusCallbackMethod(http.MethodPost)
	if _, err := p.rest.Api.UpdateIncomingPhoneNumber(sid, params); err != nil {
		return fmt.Errorf("setting the Voice URL of Twilio number %s: %w", p.cfg.Number, restErr(err))
	}
	return nil
}

// UnconfigureNumber clears the number's Voice URL and status callback when
// the voice number is deleted: Twilio then answers its calls itself.
func (p *Provider) UnconfigureNumber(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sid, err := p.numberSid()
	if err != nil {
		return err
	}
	if _, err := p.rest.Api.UpdateIncomingPhoneNumber(sid, (&api.UpdateIncomingPhoneNumberParams{}).SetVoiceUrl("").SetStatusCallback("")); err != nil {
		return fmt.Errorf("clearing the Voice URL of Twilio number %s: %w", p.cfg.Number, restErr(err))
	}
	return nil
}

// numberSid finds the number's IncomingPhoneNumber SID (PN…).
func (p *Provider) numberSid() (string, error) {
	nums, err := p.rest.Api.ListIncomingPhoneNumber((&api.ListIncomingPhoneNumberParams{}).SetPhoneNumber(p.cfg.Number).SetLimit(1))
	if err != nil {
		return "", fmt.Errorf("looking up Twilio number %s: %w", p.cfg.Number, restErr(err))
	}
	if len(nums) == 0 || nums[0].Sid == nil {
		return "", fmt.Errorf("%s is not a phone number of Twilio account %s: buy or port it there first", p.cfg.Number, p.cfg.AccountSID)
	}
	return *nums[0].Sid, nil
}

// restErr rewords Twilio's REST errors with their code.
func restErr(err error) error {
	var re *twclient.TwilioRestError
	if errors.As(err, &re) {
		return fmt.Errorf("twilio answered %d: %s (code %d)", re.Status, re.Message, re.Code)
	}
	return err
}
