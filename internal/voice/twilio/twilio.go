// Package twilio is the Twilio Programmable Voice provider: it places calls
// through Twilio's REST API (twilio-go), follows them through their signed
// status callbacks, answers Twilio's TwiML request with a ConversationRelay
// (text relay: Twilio does speech-to-text and text-to-speech) and turns the
// relay's websocket into the call's voice.Conversation. A call placed with
// voice.MediaAudio is answered with <Connect><Stream> instead, and its
// Media Streams websocket becomes the Leg's voice.Audio (media.go).
//
// A call's webhooks must reach the process that placed it: its Leg lives in
// that process's Registry. A webhook for a call this process does not hold
// is refused with 404 and a log line that says so (run one Parley process
// behind PARLEY_PUBLIC_URL, or route /webhooks/voice/ to the process that
// places calls).
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	tw "github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	"github.com/twilio/twilio-go/twiml"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
)

// DefaultAPIBase is Twilio's REST API.
const DefaultAPIBase = "https://api.twilio.com"

// Config is one Twilio number.
type Config struct {
	AccountSID string
	AuthToken  string
	// Number is the Twilio number calls come from (E.164).
	Number string
	// APIBase is the REST API's base URL (DefaultAPIBase, or a fake's).
	APIBase string
	// WebhookBase is where Twilio reaches this number's webhooks:
	// PARLEY_PUBLIC_URL + /webhooks/voice/{channel_id}. It is asked for
	// each call: a test server's port is known only once it listens. It
	// may be given after New (SetWebhookBase), before the first call.
	WebhookBase func() string
	// HTTP makes the REST calls; nil means a client of its own.
	HTTP *http.Client
}

// maxForm bounds a webhook's form: Twilio's are a few hundred bytes.
const maxForm = 64 << 10

// codeNotInProgress is Twilio's error for updating a call that has ended.
const codeNotInProgress = 21220

// Registry holds the calls this process placed, by Parley's call ID, so
// that their webhooks find them. One per process, shared by every Twilio
// number.
type Registry struct {
	mu   sync.Mutex
	legs map[string]*Leg
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{legs: map[string]*Leg{}} }

func (r *Registry) add(l *Leg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.legs[l.callID] = l
}

func (r *Registry) get(id string) *Leg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.legs[id]
}

func (r *Registry) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.legs, id)
}

// Provider places calls from one Twilio number.
type Provider struct {
	cfg    Config
	reg    *Registry
	rest   *tw.RestClient
	valid  twclient.RequestValidator
	clock  domain.Clock
	ids    domain.IDGen
	logger *slog.Logger
	// inbound takes the calls made to the number (inbound.go);
	// recordings keeps recorded calls' audio (recording.go).
	inbound    voice.InboundHandler
	recordings voice.RecordingSink
	// acceptFor bounds the wait for the host to accept an incoming call
	// (acceptWait when 0; tests shorten it).
	acceptFor time.Duration
}

// New returns the provider of a Twilio number; reg is the process's
// registry of calls.
func New(cfg Config, reg *Registry, clock domain.Clock, ids domain.IDGen, logger *slog.Logger) (*Provider, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.Number == "" {
		return nil, errors.New("a Twilio number needs its account SID, auth token and number")
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	base, err := url.Parse(strings.TrimRight(cfg.APIBase, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("twilio API base URL %q is not an absolute URL", cfg.APIBase)
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	// twilio-go builds https://api.twilio.com URLs; the transport sends
	// them to the configured base (the sandbox's or a test's fake).
	rc := *hc
	rc.Transport = rebase{base: base, next: transport(hc)}
	rc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &twclient.Client{Credentials: twclient.NewCredentials(cfg.AccountSID, cfg.AuthToken), HTTPClient: &rc}
	c.SetAccountSid(cfg.AccountSID)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Provider{cfg: cfg, reg: reg, rest: tw.NewRestClientWithParams(tw.ClientParams{Client: c, AccountSid: cfg.AccountSID}),
		valid: twclient.NewRequestValidator(cfg.AuthToken), clock: clock, ids: ids, logger: logger}, nil
}

func transport(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}

// rebase sends Twilio API requests to another base URL.
type rebase struct {
	base *url.URL
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (r rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.base.Scheme, r.base.Host
	req.URL.Path = r.base.Path + req.URL.Path
	req.Host = r.base.Host
	return r.next.RoundTrip(req)
}

// SetWebhookBase sets Config.WebhookBase; call it before the provider is
// used.
func (p *Provider) SetWebhookBase(base func() string) { p.cfg.WebhookBase = base }

// URLs of a call's webhooks.
func (p *Provider) callURL(kind, callID string) string {
	return strings.TrimRight(p.cfg.WebhookBase(), "/") + "/" + kind + "/" + url.PathEscape(callID)
}

// relayURL is the websocket URL Twilio opens for a call's ConversationRelay.
func (p *Provider) relayURL(callID string) string {
	u := p.callURL("relay", callID)
	switch {
	case strings.HasPrefix(u, "https://"):
		return "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		return "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u
}

// Place implements voice.Provider: Twilio's Create Call, with the TwiML
// URL and the status callback under this number's webhooks.
func (p *Provider) Place(ctx context.Context, d voice.Dial) (voice.Leg, error) {
	if d.To == "" {
		return nil, domain.Errorf(domain.CodeInvalid, "a call needs a number to call")
	}
	if p.cfg.WebhookBase == nil {
		return nil, errors.New("the Twilio number does not know its webhook URL (PARLEY_PUBLIC_URL)")
	}
	d.From = p.cfg.Number
	if d.CallID == "" {
		d.CallID = p.ids.NewID()
	}
	l := newLeg(p, d)
	p.reg.add(l)
	params := &api.CreateCallParams{}
	params.SetTo(d.To).SetFrom(d.From).SetUrl(p.callURL("twiml", d.CallID)).SetMethod(http.MethodPost).
		SetStatusCallback(p.callURL("status", d.CallID)).SetStatusCallbackMethod(http.MethodPost).
		SetStatusCallbackEvent([]string{"initiated", "ringing", "answered", "completed"})
	if d.RingTimeout > 0 {
		params.SetTimeout(int(d.RingTimeout / time.Second))
	}
	if d.MaxDuration > 0 {
		// Twilio's own limit beside Parley's timer, so that a call ends
		// even if Parley does not end it.
		params.SetTimeLimit(int((d.MaxDuration + time.Second - 1) / time.Second))
	}
	if d.Record {
		params.SetRecord(true)
		p.recordingParams(params, d.CallID)
	}
	if d.DetectMachine {
		// Synchronous detection: Twilio requests the TwiML once it knows
		// who answered, with AnsweredBy, before the agent speaks.
		params.SetMachineDetection("Enable")
	}
	call, err := p.rest.Api.CreateCall(params)
	if err != nil {
		p.reg.remove(d.CallID)
		var re *twclient.TwilioRestError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("twilio refused the call to %s: %s (code %d)", d.To, re.Message, re.Code)
		}
		return nil, fmt.Errorf("placing a call through Twilio: %w", err)
	}
	if call.Sid == nil || *call.Sid == "" {
		p.reg.remove(d.CallID)
		return nil, errors.New("twilio answered the call request without a call SID")
	}
	l.setSid(*call.Sid)
	return l, nil
}

// ServeWebhook answers Twilio's requests about this number's calls: rest
// is twiml/{call_id}, status/{call_id}, relay/{call_id} or media/{call_id}.
func (p *Provider) ServeWebhook(w http.ResponseWriter, r *http.Request, rest string) {
	if p.serveNumber(w, r, rest) {
		return
	}
	kind, callID, _ := strings.Cut(rest, "/")
	l := p.reg.get(callID)
	if l == nil || l.p != p && l.p.cfg.AccountSID != p.cfg.AccountSID {
		p.logger.Warn("twilio webhook for a call this process did not place: a call's webhooks must reach the Parley process that placed it",
			"kind", kind, "call", callID)
		http.Error(w, "no such call in this process", http.StatusNotFound)
		return
	}
	switch {
	case kind == "relay" && r.Method == http.MethodGet:
		if c := p.accept(w, r, kind, callID, p.relayURL(callID)); c != nil {
			l.serveRelay(c, r)
		}
	case kind == "media" && r.Method == http.MethodGet:
		if c := p.accept(w, r, kind, callID, p.mediaURL(callID)); c != nil {
			l.serveMedia(c, r)
		}
	case (kind == "twiml" || kind == "status" || kind == "dial" || kind == "leg") && r.Method == http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "unreadable form", http.StatusBadRequest)
			return
		}
		params := map[string]string{}
		for k, v := range r.PostForm {
			if len(v) > 0 {
				params[k] = v[0]
			}
		}
		if !p.valid.Validate(p.callURL(kind, callID), params, r.Header.Get("X-Twilio-Signature")) {
			p.refuse(w, kind, callID)
			return
		}
		var doc string
		var err error
		switch kind {
		case "status":
			l.status(params)
			w.WriteHeader(http.StatusNoContent)
			return
		case "leg":
			l.transferLeg(params)
			w.WriteHeader(http.StatusNoContent)
			return
		case "dial":
			doc, err = l.dialEnded(params)
		default:
			doc, err = l.answer(params)
		}
		if err != nil {
			p.logger.Error("writing a call's TwiML", "call", callID, "kind", kind, "err", err)
			http.Error(w, "cannot answer", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write([]byte(doc))
	default:
		http.NotFound(w, r)
	}
}

// accept checks a websocket request's signature (Twilio signs the
// websocket URL, with no parameters) and accepts it, with no deadline of
// the server's: a call's media keeps its own pace. nil: refused, the
// response is written.
func (p *Provider) accept(w http.ResponseWriter, r *http.Request, kind, callID, u string) *websocket.Conn {
	if !p.valid.Validate(u, map[string]string{}, r.Header.Get("X-Twilio-Signature")) {
		p.refuse(w, kind, callID)
		return nil
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		p.logger.Warn("accepting a call's websocket", "kind", kind, "call", callID, "err", err)
		return nil
	}
	return c
}

func (p *Provider) refuse(w http.ResponseWriter, kind, callID string) {
	p.logger.Warn("twilio webhook refused: X-Twilio-Signature is missing or does not match (check the auth token and PARLEY_PUBLIC_URL)", "kind", kind, "call", callID)
	http.Error(w, "the X-Twilio-Signature does not match", http.StatusForbidden)
}

// StatusOf maps Twilio's CallStatus onto Parley's.
func StatusOf(s string) voice.Status {
	switch s {
	case "queued", "initiated":
		return voice.StatusQueued
	case "ringing":
		return voice.StatusRinging
	case "in-progress", "answered":
		return voice.StatusInProgress
	case "completed":
		return voice.StatusCompleted
	case "busy":
		return voice.StatusBusy
	case "no-answer":
		return voice.StatusNoAnswer
	case "canceled":
		return voice.StatusCanceled
	}
	return voice.StatusFailed
}

// AnsweredByOf maps Twilio's AnsweredBy onto Parley's.
func AnsweredByOf(s string) voice.AnsweredBy {
	switch {
	case s == "human":
		return voice.AnsweredHuman
	case strings.HasPrefix(s, "machine"), s == "fax":
		return voice.AnsweredMachine
	}
	return voice.AnsweredUnknown
}

// Leg is a call placed through Twilio.
type Leg struct {
	p      *Provider
	callID string
	dial   voice.Dial
	events chan voice.Event
	inputs chan voice.Input
	ready  chan struct{} // closed once the relay's setup came
	done   chan struct{} // closed once the call's media ended

	mu          sync.Mutex
	sid         string
	ringing     bool
	answered    bool
	ended       bool
	doneClosed  bool
	readyClosed bool
	ws          *websocket.Conn
	answeredBy  voice.AnsweredBy
	partial     strings.Builder
	// media is the call's Media Stream in audio mode (media.go).
	media *mediaStream
	// xfer is the transfer under way (transfer.go).
	xfer *dialWait
	// recordAs, on an inbound call to record, is the call ID its
	// recording is kept under (recording.go).
	recordAs string
}

func newLeg(p *Provider, d voice.Dial) *Leg {
	l := &Leg{p: p, callID: d.CallID, dial: d, events: make(chan voice.Event, 8), inputs: make(chan voice.Input, 64),
		ready: make(chan struct{}), done: make(chan struct{})}
	l.media = newMediaStream(l)
	return l
}

func (l *Leg) setSid(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sid = s
}

// ID implements voice.Leg: Twilio's CallSid.
func (l *Leg) ID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sid
}

// Events implements voice.Leg.
func (l *Leg) Events() <-chan voice.Event { return l.events }

// Conversation implements voice.Leg.
func (l *Leg) Conversation() voice.Conversation { return (*relay)(l) }

// status takes a status callback.
func (l *Leg) status(f map[string]string) {
	st := StatusOf(f["CallStatus"])
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	now := l.p.clock.Now()
	switch {
	case st == voice.StatusRinging && !l.ringing:
		l.ringing = true
		l.events <- voice.Event{Kind: voice.EventRinging, Status: st, Raw: f["CallStatus"], At: now}
	case st.Terminal():
		secs, _ := strconv.Atoi(f["CallDuration"])
		by := l.answeredBy
		if v := f["AnsweredBy"]; v != "" {
			by = AnsweredByOf(v)
		}
		l.ended = true
		l.events <- voice.Event{Kind: voice.EventEnded, Status: st, AnsweredBy: by, Raw: f["CallStatus"], At: now,
			Duration: time.Duration(secs) * time.Second, RecordingURL: l.recordingURLLocked(f["RecordingUrl"])}
		close(l.events)
		l.closeDoneLocked()
		l.p.reg.remove(l.callID)
	}
}

// answer takes Twilio's TwiML request: the call is answered (and, with
// machine detection, Twilio knows by whom); the answer connects it to a
// ConversationRelay.
func (l *Leg) answer(f map[string]string) (string, error) {
	l.mu.Lock()
	if !l.answered && !l.ended {
		l.answered = true
		l.answeredBy = voice.AnsweredUnknown
		if l.dial.DetectMachine {
			l.answeredBy = AnsweredByOf(f["AnsweredBy"])
		}
		l.events <- voice.Event{Kind: voice.EventAnswered, Status: voice.StatusInProgress, AnsweredBy: l.answeredBy, Raw: f["CallStatus"], At: l.p.clock.Now()}
	}
	l.mu.Unlock()
	return l.mediaTwiML(true)
}

// mediaTwiML connects the call to Parley: its ConversationRelay, or in
// audio mode its Media Stream; first, when record says so, the recording
// an inbound call's step asked for (not again when a caller whose
// transfer was not taken comes back).
func (l *Leg) mediaTwiML(record bool) (string, error) {
	var start []twiml.Element
	if record {
		start = l.startRecording()
	}
	if l.dial.Media == voice.MediaAudio {
		return l.streamTwiML(start)
	}
	cr := twiml.VoiceConversationRelay{Url: l.p.relayURL(l.callID), Voice: l.dial.Voice, Language: l.dial.Language,
		OptionalAttributes: map[string]string{"interruptible": "speech"}}
	return twiml.Voice(append(start, &twiml.VoiceConnect{InnerElements: []twiml.Element{&cr}}))
}

// attach makes c the call's websocket (set records it, under l.mu; false:
// the call has one already). The function it returns is called once c
// closes: the call's media ended, so its Conversation reports the
// hang-up, unless a transfer's <Dial> took the call away from the
// websocket (then drop forgets it, for the caller to come back on a new
// one if the transfer is not taken) or c is no longer the call's (current
// false: the caller is on a new one already). nil: refused (the call has
// a websocket or ended).
func (l *Leg) attach(c *websocket.Conn, set, current func() bool, drop func()) func() {
	l.mu.Lock()
	if l.doneClosed || !set() {
		l.mu.Unlock()
		_ = c.Close(websocket.StatusPolicyViolation, "the call already has its websocket, or ended")
		return nil
	}
	done := l.done
	l.mu.Unlock()
	// The call's end (its final status callback) closes the websocket
	// too, so no handler outlives its call.
	stop := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-stop:
		}
		_ = c.CloseNow()
	}()
	return func() {
		close(stop)
		_ = c.CloseNow()
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case !current():
		case l.xfer != nil && l.xfer.away:
			drop()
		default:
			l.closeDoneLocked()
		}
	}
}

// dropSocketsLocked forgets the call's websockets, which a transfer's
// TwiML replaced: the caller comes back on new ones.
func (l *Leg) dropSocketsLocked() {
	l.ws = nil
	if l.readyClosed {
		l.ready, l.readyClosed = make(chan struct{}), false
	}
	m := l.media
	m.mu.Lock()
	m.ws = nil
	if m.isLive {
		m.live, m.isLive = make(chan struct{}), false
	}
	m.mu.Unlock()
}

func (l *Leg) closeDoneLocked() {
	if !l.doneClosed {
		l.doneClosed = true
		close(l.done)
	}
}

// serveRelay runs the call's ConversationRelay websocket until it closes.
func (l *Leg) serveRelay(c *websocket.Conn, r *http.Request) {
	detach := l.attach(c, func() bool {
		if l.ws != nil {
			return false
		}
		l.ws = c
		return true
	}, func() bool { return l.ws == c }, l.dropSocketsLocked)
	if detach == nil {
		return
	}
	defer detach()
	readSocket(context.WithoutCancel(r.Context()), c, l, "ConversationRelay", func(m relayMessage) bool { return l.onRelay(c, m) })
}

// onRelay handles one ConversationRelay message from c; it never ends the
// socket.
func (l *Leg) onRelay(c *websocket.Conn, m relayMessage) bool {
	switch m.Type {
	case "setup":
		l.mu.Lock()
		if !l.readyClosed && l.ws == c {
			l.readyClosed = true
			close(l.ready)
		}
		l.mu.Unlock()
	case "prompt":
		// Partial prompts add up to one utterance, ended by last.
		l.mu.Lock()
		l.partial.WriteString(m.VoicePrompt)
		text := l.partial.String()
		if m.Last {
			l.partial.Reset()
		}
		l.mu.Unlock()
		if m.Last {
			l.push(voice.Input{Kind: voice.InputSpeech, Text: strings.TrimSpace(text)})
		}
	case "dtmf":
		l.push(voice.Input{Kind: voice.InputDTMF, Text: m.Digit})
	case "interrupt":
		l.push(voice.Input{Kind: voice.InputInterrupt, Heard: m.UtteranceUntilInterrupt})
	case "error":
		l.p.logger.Warn("ConversationRelay reported an error", "call", l.callID, "description", m.Description)
	}
	return true
}

// readSocket reads c's JSON messages into T and hands each to handle until
// the socket closes or handle returns false. A message that is not JSON is
// logged and skipped: one bad frame must not end a live call.
func readSocket[T any](ctx context.Context, c *websocket.Conn, l *Leg, what string, handle func(T) bool) {
	c.SetReadLimit(1 << 20)
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var msg T
		if err := json.Unmarshal(data, &msg); err != nil {
			l.p.logger.Warn("an unreadable "+what+" message", "call", l.callID, "err", err)
			continue
		}
		if !handle(msg) {
			return
		}
	}
}

func (l *Leg) push(in voice.Input) {
	select {
	case l.inputs <- in:
	default:
		l.p.logger.Warn("a caller's input dropped: the agent is not reading them", "call", l.callID)
	}
}

// relayMessage is a ConversationRelay message from Twilio.
type relayMessage struct {
	Type                    string `json:"type"`
	CallSid                 string `json:"callSid"`
	VoicePrompt             string `json:"voicePrompt"`
	Last                    bool   `json:"last"`
	Digit                   string `json:"digit"`
	UtteranceUntilInterrupt string `json:"utteranceUntilInterrupt"`
	Description             string `json:"description"`
}

// send writes one message to the relay.
func (l *Leg) send(ctx context.Context, v any) error {
	l.mu.Lock()
	c := l.ws
	l.mu.Unlock()
	if c == nil {
		return voice.ErrHungUp
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Write(wctx, websocket.MessageText, b); err != nil {
		select {
		case <-l.done:
			return voice.ErrHungUp
		default:
		}
		return fmt.Errorf("writing to the call's ConversationRelay: %w", err)
	}
	return nil
}

// Hangup implements voice.Leg: with the relay open, its end message ends
// the session and, with no TwiML after it, the call; otherwise the call is
// updated to canceled (still ringing) or completed.
func (l *Leg) Hangup(ctx context.Context) error {
	l.mu.Lock()
	ended, ws, answered, sid := l.ended, l.ws, l.answered, l.sid
	open := ws != nil && !l.doneClosed
	l.mu.Unlock()
	if ended {
		return nil
	}
	if l.hangupMedia(ctx) {
		return nil
	}
	if open {
		if err := l.send(ctx, map[string]any{"type": "end"}); err == nil {
			return nil
		}
	}
	st := "completed"
	if !answered {
		st = "canceled"
	}
	_, err := l.p.rest.Api.UpdateCall(sid, (&api.UpdateCallParams{}).SetStatus(st))
	var re *twclient.TwilioRestError
	if errors.As(err, &re) && re.Code == codeNotInProgress {
		// The caller hung up first: the call is over either way.
		return nil
	}
	if err != nil {
		return fmt.Errorf("hanging up Twilio call %s: %w", sid, err)
	}
	return nil
}

// relay is a Leg's ConversationRelay as a voice.Conversation.
type relay Leg

// Say implements voice.Conversation: the line goes to Twilio's
// text-to-speech as one final text token, once the relay is set up.
func (c *relay) Say(ctx context.Context, text string) error {
	l := (*Leg)(c)
	l.mu.Lock()
	ready := l.ready
	l.mu.Unlock()
	select {
	case <-ready:
	case <-l.done:
		return voice.ErrHungUp
	case <-ctx.Done():
		return ctx.Err()
	}
	return l.send(ctx, map[string]any{"type": "text", "token": text, "last": true})
}

// Recv implements voice.Conversation.
func (c *relay) Recv(ctx context.Context) (voice.Input, error) {
	l := (*Leg)(c)
	select {
	case in := <-l.inputs:
		return in, nil
	default:
	}
	select {
	case in := <-l.inputs:
		return in, nil
	case <-l.done:
		select {
		case in := <-l.inputs:
			return in, nil
		default:
		}
		return voice.Input{}, voice.ErrHungUp
	case <-ctx.Done():
		return voice.Input{}, ctx.Err()
	}
}
