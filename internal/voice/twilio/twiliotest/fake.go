// Package twiliotest is a fake Twilio for tests and the sandbox: the REST
// Calls resource (Basic auth checked, Twilio-shaped JSON), and for each
// call the part Twilio plays: signed status callbacks, the signed TwiML
// request, and a ConversationRelay websocket client that speaks a scripted
// callee's lines as prompts, or (audio mode) a Media Streams websocket
// client that speaks them as μ-law audio and listens to the agent's. Scenarios: answer, busy, no-answer, an
// answering machine, silence, and a hang-up mid-call; Twilio's TimeLimit
// is honoured. Calls to the account's numbers (CallIn) are played the
// same way, and a recording asked for on Create Call (Record) or in the
// TwiML (<Start><Recording>) is served as WAV after its status callback.
package twiliotest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/voice/audiotest"
)

// Scenario is how the fake callee takes a call.
type Scenario string

// The scenarios.
const (
	Answer   Scenario = "answer"
	Busy     Scenario = "busy"
	NoAnswer Scenario = "no-answer"
	Failed   Scenario = "failed"
	// Machine: an answering machine picks up (AnsweredBy machine_start
	// when detection is on) and plays its greeting.
	Machine Scenario = "machine"
	// Silence: a person answers and says nothing.
	Silence Scenario = "silence"
)

// Script is what the fake callee does.
type Script struct {
	Scenario Scenario
	// Lines are said one per turn, each after the agent's line (the first
	// one also when the agent says nothing for FirstWait).
	Lines []string
	// HangUpAfter, when > 0, hangs up after that many lines.
	HangUpAfter int
	// Raw are ConversationRelay messages sent as they are right after
	// the setup (recorded payloads), instead of Lines.
	Raw []json.RawMessage
	// FirstWait is how long the callee waits for the agent before
	// speaking first (default 2 s).
	FirstWait time.Duration
	// StayOn keeps a callee who has said all Lines on the line, silent,
	// as a caller told to hold does, until the call is transferred or
	// hung up (default: they hang up a moment after the agent's line).
	StayOn bool
	// BargeInLine, in audio mode, is the agent's line (1-based) the
	// callee talks over: BargeInAfter into its playback it says its next
	// line instead of waiting for the agent to finish.
	BargeInLine  int
	BargeInAfter time.Duration
}

// hangUpPause is how long a callee with nothing more to say waits after
// the agent's line before hanging up.
const hangUpPause = 300 * time.Millisecond

// Fake is a fake Twilio account.
type Fake struct {
	AccountSID, AuthToken string

	srv    *httptest.Server
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Book, for calls answered with <Connect><Stream> (audio mode),
	// speaks the callee's lines and recognises what the callee heard
	// (media.go); nil: a book of its own.
	Book *audiotest.Book

	mu      sync.Mutex
	scripts map[string]Script
	Default Script
	calls   []*Call
	// numbers are the account's phone numbers (inbound.go).
	numbers  map[string]*Number
	disowned map[string]bool
}

// New starts a fake Twilio account.
func New(accountSID, authToken string) *Fake {
	f := &Fake{AccountSID: accountSID, AuthToken: authToken, scripts: map[string]Script{},
		Default: Script{Scenario: Answer, Lines: []string{"Hello?"}}, client: &http.Client{Timeout: 15 * time.Second}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{account}/Calls.json", f.create)
	mux.HandleFunc("POST /2010-04-01/Accounts/{account}/Calls/{sid}", f.update)
	mux.HandleFunc("GET /2010-04-01/Accounts/{account}/Recordings/{sid}", f.recording)
	mux.HandleFunc("GET /2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json", f.listNumbers)
	mux.HandleFunc("POST /2010-04-01/Accounts/{account}/IncomingPhoneNumbers/{sid}", f.updateNumber)
	f.srv = httptest.NewServer(mux)
	return f
}

// URL is the fake's REST API base URL (a voice number's api_base_url).
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the fake and every call it is playing.
func (f *Fake) Close() {
	f.cancel()
	f.srv.Close()
	f.wg.Wait()
}

// Expect makes calls to number follow s.
func (f *Fake) Expect(number string, s Script) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[number] = s
}

// Calls are the calls created so far, oldest first.
func (f *Fake) Calls() []*Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Call(nil), f.calls...)
}

// Call finds a call by its SID.
func (f *Fake) Call(sid string) *Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.Sid == sid {
			return c
		}
	}
	return nil
}

// Call is one call the fake placed.
type Call struct {
	Sid string
	// Params are the Create Call request's form parameters.
	Params url.Values

	f       *Fake
	script  Script
	updates chan url.Values
	ended   chan struct{}

	mu         sync.Mutex
	status     string
	heard      []string
	twimls     []string
	refused    []string
	answeredAt time.Time
	seq        int
	endOnce    sync.Once
	// inbound: a caller called one of the account's numbers (CallIn).
	inbound      bool
	recordingSid string
	// said counts the callee's lines said, over all of the call's
	// relays and streams: a person brought back by a transfer that was
	// not taken does not say their first line again. Only the call's
	// own goroutine reads it, one relay or stream at a time.
	said int
	// dialled are the legs its <Dial>s rang (dial.go).
	dialled []Dialled
	// started is the recording the call's TwiML started
	// (<Start><Recording>, recording.go).
	started *startedRecording
}

// Status is the call's last CallStatus.
func (c *Call) Status() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Heard is what the callee heard the agent say, in order.
func (c *Call) Heard() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.heard...)
}

// TwiML is every TwiML document the call ran: the answer to its URL, then
// any an update (a transfer) gave it.
func (c *Call) TwiML() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.twimls...)
}

// Refused lists what the adapter refused to the fake (HTTP statuses of
// webhooks not answered 2xx), for tests.
func (c *Call) Refused() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.refused...)
}

// Ended is closed once the call's final status callback was posted.
func (c *Call) Ended() <-chan struct{} { return c.ended }

func (f *Fake) authorised(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	return ok && u == f.AccountSID && p == f.AuthToken && r.PathValue("account") == f.AccountSID
}

// restError answers like Twilio's REST errors.
func restError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status})
}

func newSid(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (f *Fake) callJSON(c *Call) map[string]any {
	return map[string]any{"sid": c.Sid, "account_sid": f.AccountSID, "to": c.Params.Get("To"), "from": c.Params.Get("From"),
		"status": c.Status(), "direction": "outbound-api", "api_version": "2010-04-01",
		"uri": "/2010-04-01/Accounts/" + f.AccountSID + "/Calls/" + c.Sid + ".json"}
}

func (f *Fake) create(w http.ResponseWriter, r *http.Request) {
	if !f.authorised(r) {
		restError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil {
		restError(w, http.StatusBadRequest, 21201, "unreadable form")
		return
	}
	p := r.PostForm
	if p.Get("To") == "" || p.Get("From") == "" {
		restError(w, http.StatusBadRequest, 21201, "No 'To' or 'From' number is specified")
		return
	}
	if (p.Get("Url") == "") == (p.Get("Twiml") == "") {
		restError(w, http.StatusBadRequest, 21205, "exactly one of Url or Twiml is required")
		return
	}
	f.mu.Lock()
	s, ok := f.scripts[p.Get("To")]
	if !ok {
		s = f.Default
	}
	c := &Call{Sid: newSid("CA"), Params: p, f: f, script: s, status: "queued", updates: make(chan url.Values, 4), ended: make(chan struct{})}
	if t := p.Get("Twiml"); t != "" {
		c.twimls = append(c.twimls, t)
	}
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(f.callJSON(c))
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if p.Get("Url") != "" {
			c.run(f.ctx)
			return
		}
		c.ring(f.ctx)
	}()
}

func (f *Fake) update(w http.ResponseWriter, r *http.Request) {
	if !f.authorised(r) {
		restError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	c := f.Call(strings.TrimSuffix(r.PathValue("sid"), ".json"))
	if c == nil {
		restError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	if err := r.ParseForm(); err != nil {
		restError(w, http.StatusBadRequest, 21201, "unreadable form")
		return
	}
	select {
	case <-c.ended:
		restError(w, http.StatusBadRequest, 21220, "Call is not in-progress. Cannot redirect.")
		return
	default:
	}
	if t := r.PostForm.Get("Twiml"); t != "" {
		c.mu.Lock()
		c.twimls = append(c.twimls, t)
		c.mu.Unlock()
	}
	c.updates <- r.PostForm
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.callJSON(c))
}

// Sign is X-Twilio-Signature: base64 HMAC-SHA1, keyed by the auth token,
// of the URL followed by the POST parameters sorted by name, each name
// then value.
func Sign(authToken, u string, params url.Values) string {
	var b strings.Builder
	b.WriteString(u)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(params.Get(k))
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// post sends a signed form to the adapter and returns the body.
func (c *Call) post(ctx context.Context, u string, form url.Values) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(c.f.AuthToken, u, form))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	res, err := c.f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		c.mu.Lock()
		c.refused = append(c.refused, fmt.Sprintf("%s %d", u, res.StatusCode))
		c.mu.Unlock()
		return body, fmt.Errorf("%s answered %d", u, res.StatusCode)
	}
	return body, nil
}

// params are the standard request parameters of a call's webhooks.
func (c *Call) params(status string) url.Values {
	dir := "outbound-api"
	if c.inbound {
		dir = "inbound"
	}
	return url.Values{"CallSid": {c.Sid}, "AccountSid": {c.f.AccountSID}, "From": {c.Params.Get("From")}, "To": {c.Params.Get("To")},
		"CallStatus": {status}, "Direction": {dir}, "ApiVersion": {"2010-04-01"}, "CallerName": {""}}
}

// callback posts a status callback when the call asked for its event.
func (c *Call) callback(ctx context.Context, event, status string, extra url.Values) {
	c.mu.Lock()
	c.status = status
	c.seq++
	seq := c.seq
	c.mu.Unlock()
	cb := c.Params.Get("StatusCallback")
	if cb == "" {
		return
	}
	events := c.Params["StatusCallbackEvent"]
	if len(events) == 1 && strings.Contains(events[0], " ") {
		events = strings.Fields(events[0])
	}
	want := event == "completed"
	for _, e := range events {
		want = want || e == event
	}
	if !want {
		return
	}
	form := c.params(status)
	form.Set("CallbackSource", "call-progress-events")
	form.Set("Timestamp", time.Now().UTC().Format(time.RFC1123Z))
	form.Set("SequenceNumber", strconv.Itoa(seq-1))
	for k, v := range extra {
		form[k] = v
	}
	_, _ = c.post(ctx, cb, form)
}

// end posts the final status once.
func (c *Call) end(ctx context.Context, status string) {
	c.endOnce.Do(func() {
		extra := url.Values{}
		c.mu.Lock()
		at := c.answeredAt
		c.mu.Unlock()
		if !at.IsZero() {
			extra.Set("CallDuration", strconv.Itoa(int(time.Since(at).Round(time.Second)/time.Second)))
			if c.Params.Get("Record") == "true" {
				rs := newSid("RE")
				c.mu.Lock()
				c.recordingSid = rs
				c.mu.Unlock()
				extra.Set("RecordingSid", rs)
				extra.Set("RecordingUrl", c.f.URL()+"/2010-04-01/Accounts/"+c.f.AccountSID+"/Recordings/"+rs)
				extra.Set("RecordingDuration", extra.Get("CallDuration"))
			}
		} else {
			extra.Set("CallDuration", "0")
		}
		c.callback(context.WithoutCancel(ctx), "completed", status, extra)
		if rs := extra.Get("RecordingSid"); rs != "" {
			// The recording is ready after the call: its own callback.
			c.recordingCallback(context.WithoutCancel(ctx), recordingEvent{callback: c.Params.Get("RecordingStatusCallback"), sid: rs,
				url: extra.Get("RecordingUrl"), duration: extra.Get("RecordingDuration"), channels: "1", source: "OutboundAPI"})
		}
		c.endStartedRecording(context.WithoutCancel(ctx))
		close(c.ended)
	})
}

// run plays the call.
func (c *Call) run(ctx context.Context) {
	c.callback(ctx, "initiated", "queued", nil)
	c.callback(ctx, "ringing", "ringing", nil)
	switch c.script.Scenario {
	case Busy:
		c.end(ctx, "busy")
		return
	case NoAnswer:
		c.end(ctx, "no-answer")
		return
	case Failed:
		c.end(ctx, "failed")
		return
	}
	c.mu.Lock()
	c.answeredAt = time.Now()
	c.mu.Unlock()
	c.callback(ctx, "answered", "in-progress", nil)
	var limit <-chan time.Time
	if s, err := strconv.Atoi(c.Params.Get("TimeLimit")); err == nil && s > 0 {
		t := time.NewTimer(time.Duration(s) * time.Second)
		defer t.Stop()
		limit = t.C
	}
	form := c.params("in-progress")
	if c.Params.Get("MachineDetection") != "" {
		by := "human"
		if c.script.Scenario == Machine {
			by = "machine_start"
		}
		form.Set("AnsweredBy", by)
	}
	body, err := c.post(ctx, c.Params.Get("Url"), form)
	if err != nil {
		c.end(ctx, "failed")
		return
	}
	c.mu.Lock()
	c.twimls = append(c.twimls, string(body))
	c.mu.Unlock()
	c.startRecording(body)
	if _, err := streamOf(body); err != nil {
		if _, err := relayOf(body); err != nil {
			c.end(ctx, "failed")
			return
		}
	}
	c.play(ctx, body, limit)
}

// play runs a call's TwiML until the call ends: a <Connect> runs its relay
// or stream, which an update's TwiML may replace; a <Dial> to a number or
// client rings it and runs what its action answers; a <Dial><Conference>
// (a warm transfer's) talks until the call ends; anything else ends it.
func (c *Call) play(ctx context.Context, doc []byte, limit <-chan time.Time) {
	for doc != nil {
		if st, err := streamOf(doc); err == nil {
			doc = c.stream(ctx, st, limit)
			continue
		}
		if u, err := relayOf(doc); err == nil {
			doc = c.converse(ctx, u, limit)
			continue
		}
		if d, err := dialOf(doc); err == nil && d.target() != "" {
			doc = c.dial(ctx, d, limit)
			if doc != nil {
				c.mu.Lock()
				c.twimls = append(c.twimls, string(doc))
				c.mu.Unlock()
			}
			continue
		}
		// A conference (the agent is there already), <Hangup/>, or
		// nothing more: the call ends.
		c.end(ctx, "completed")
		return
	}
}

// socket opens a call's websocket to the adapter (a ConversationRelay or
// a Media Stream), signed as Twilio signs them (the URL, no parameters);
// nil when refused, the call then ends.
func (c *Call) socket(ctx context.Context, u string) *websocket.Conn {
	h := http.Header{"X-Twilio-Signature": {Sign(c.f.AuthToken, u, nil)}}
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h, HTTPClient: c.f.client})
	if err != nil {
		c.mu.Lock()
		c.refused = append(c.refused, u+" "+err.Error())
		c.mu.Unlock()
		c.end(ctx, "completed")
		return nil
	}
	return ws
}

// relayOf finds <Connect><ConversationRelay url> in a TwiML answer.
func relayOf(doc []byte) (string, error) {
	var r struct {
		Connect struct {
			Relay struct {
				URL string `xml:"url,attr"`
			} `xml:"ConversationRelay"`
		} `xml:"Connect"`
	}
	if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&r); err != nil {
		return "", fmt.Errorf("reading the TwiML: %w", err)
	}
	if r.Connect.Relay.URL == "" {
		return "", fmt.Errorf("the TwiML has no <Connect><ConversationRelay url>: %s", doc)
	}
	return r.Connect.Relay.URL, nil
}

// converse runs the ConversationRelay session until someone ends it, or
// an update's TwiML replaces it: that TwiML is returned.
func (c *Call) converse(ctx context.Context, relayURL string, limit <-chan time.Time) []byte {
	ws := c.socket(ctx, relayURL)
	if ws == nil {
		return nil
	}
	defer ws.CloseNow()
	send := func(v any) error {
		b, _ := json.Marshal(v)
		return ws.Write(ctx, websocket.MessageText, b)
	}
	_ = send(map[string]any{"type": "setup", "sessionId": newSid("VX"), "accountSid": c.f.AccountSID, "parentCallSid": "",
		"callSid": c.Sid, "from": c.Params.Get("From"), "to": c.Params.Get("To"), "forwardedFrom": "", "callType": "PSTN",
		"callerName": "", "direction": c.params("").Get("Direction"), "callStatus": "IN-PROGRESS", "customParameters": map[string]any{}})

	for _, m := range c.script.Raw {
		_ = ws.Write(ctx, websocket.MessageText, m)
	}
	// Messages from the adapter, read in their own goroutine.
	type msg struct {
		Type  string `json:"type"`
		Token string `json:"token"`
		Last  bool   `json:"last"`
	}
	msgs := make(chan msg, 16)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(msgs)
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var m msg
			if json.Unmarshal(b, &m) == nil {
				msgs <- m
			}
		}
	}()
	var line strings.Builder
	speak := func() bool { // false: the callee hangs up
		s := c.script
		switch s.Scenario {
		case Silence:
			return true
		case Machine:
			if c.said == 0 {
				c.said++
				_ = send(map[string]any{"type": "prompt", "voicePrompt": "You have reached the voicemail of this number. Please leave a message after the tone.", "lang": "en-US", "last": true})
			}
			return true
		}
		if s.HangUpAfter > 0 && c.said >= s.HangUpAfter {
			return false
		}
		if c.said >= len(s.Lines) {
			return s.StayOn
		}
		_ = send(map[string]any{"type": "prompt", "voicePrompt": s.Lines[c.said], "lang": "en-US", "last": true})
		c.said++
		return true
	}
	wait := c.script.FirstWait
	if wait <= 0 {
		wait = 2 * time.Second
	}
	first := time.NewTimer(wait)
	defer first.Stop()
	// A callee with nothing more to say hangs up a moment after the
	// agent's line, as people do (a transfer or an end may come first).
	var bye <-chan time.Time
	finish := func(status string) {
		_ = ws.Close(websocket.StatusNormalClosure, "")
		c.end(ctx, status)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-limit:
			finish("completed")
			return nil
		case <-first.C:
			if c.said == 0 && !speak() {
				bye = time.After(hangUpPause)
			}
		case <-bye:
			finish("completed")
			return nil
		case u := <-c.updates:
			switch {
			case u.Get("Status") == "completed" || u.Get("Status") == "canceled":
				finish("completed")
				return nil
			case u.Get("Twiml") != "":
				// The new TwiML (a transfer's <Dial>) replaces the
				// relay; what the adapter sent before it was heard.
				for drained := false; !drained; {
					select {
					case m, ok := <-msgs:
						if ok && m.Type == "text" {
							line.WriteString(m.Token)
							if m.Last {
								c.mu.Lock()
								c.heard = append(c.heard, line.String())
								c.mu.Unlock()
								line.Reset()
							}
						}
						drained = !ok
					default:
						drained = true
					}
				}
				_ = ws.Close(websocket.StatusNormalClosure, "")
				return []byte(u.Get("Twiml"))
			}
		case m, ok := <-msgs:
			if !ok {
				c.end(ctx, "completed")
				return nil
			}
			switch m.Type {
			case "text":
				line.WriteString(m.Token)
				if !m.Last {
					continue
				}
				c.mu.Lock()
				c.heard = append(c.heard, line.String())
				c.mu.Unlock()
				line.Reset()
				first.Stop()
				if !speak() && bye == nil {
					bye = time.After(hangUpPause)
				}
			case "end":
				// The session ends and the TwiML has nothing after
				// <Connect>: Twilio hangs up.
				finish("completed")
				return nil
			}
		}
	}
}
