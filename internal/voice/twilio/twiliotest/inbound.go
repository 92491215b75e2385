package twiliotest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/voice"
)

// Number is one of the account's phone numbers (IncomingPhoneNumbers):
// where Twilio sends the calls made to it.
type Number struct {
	Sid            string
	PhoneNumber    string
	VoiceURL       string
	VoiceMethod    string
	StatusCallback string
}

// number returns the account's number, creating it: the fake account owns
// every number it is asked about (tests and the sandbox need no set-up),
// except those Disown names.
func (f *Fake) number(phone string) (*Number, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.disowned[phone] {
		return nil, false
	}
	if f.numbers == nil {
		f.numbers = map[string]*Number{}
	}
	n, ok := f.numbers[phone]
	if !ok {
		n = &Number{Sid: newSid("PN"), PhoneNumber: phone, VoiceMethod: http.MethodPost}
		f.numbers[phone] = n
	}
	return n, true
}

// Disown makes phone a number this account does not have.
func (f *Fake) Disown(phone string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.disowned == nil {
		f.disowned = map[string]bool{}
	}
	f.disowned[phone] = true
	delete(f.numbers, phone)
}

// Number returns how the account's number phone is configured.
func (f *Fake) Number(phone string) (Number, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.numbers[phone]
	if !ok {
		return Number{}, false
	}
	return *n, true
}

func (f *Fake) numberJSON(n Number) map[string]any {
	return map[string]any{"sid": n.Sid, "account_sid": f.AccountSID, "phone_number": n.PhoneNumber, "friendly_name": n.PhoneNumber,
		"voice_url": n.VoiceURL, "voice_method": n.VoiceMethod, "status_callback": n.StatusCallback, "status_callback_method": http.MethodPost,
		"api_version": "2010-04-01", "capabilities": map[string]bool{"voice": true, "sms": true, "mms": false, "fax": false},
		"uri": "/2010-04-01/Accounts/" + f.AccountSID + "/IncomingPhoneNumbers/" + n.Sid + ".json"}
}

// listNumbers answers GET IncomingPhoneNumbers.json?PhoneNumber=…, one page.
func (f *Fake) listNumbers(w http.ResponseWriter, r *http.Request) {
	if !f.authorised(r) {
		restError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	items := []map[string]any{}
	if phone := r.URL.Query().Get("PhoneNumber"); phone != "" {
		if n, ok := f.number(phone); ok {
			f.mu.Lock()
			items = append(items, f.numberJSON(*n))
			f.mu.Unlock()
		}
	}
	uri := "/2010-04-01/Accounts/" + f.AccountSID + "/IncomingPhoneNumbers.json"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"incoming_phone_numbers": items, "start": 0, "end": max(len(items)-1, 0), "page": 0,
		"page_size": 50, "first_page_uri": uri + "?PageSize=50&Page=0", "next_page_uri": nil, "previous_page_uri": nil, "uri": uri})
}

// updateNumber answers POST IncomingPhoneNumbers/{sid}.json: VoiceUrl,
// VoiceMethod and StatusCallback are kept.
func (f *Fake) updateNumber(w http.ResponseWriter, r *http.Request) {
	if !f.authorised(r) {
		restError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil {
		restError(w, http.StatusBadRequest, 21201, "unreadable form")
		return
	}
	sid := strings.TrimSuffix(r.PathValue("sid"), ".json")
	f.mu.Lock()
	var n *Number
	for _, x := range f.numbers {
		if x.Sid == sid {
			n = x
		}
	}
	if n == nil {
		f.mu.Unlock()
		restError(w, http.StatusNotFound, 20404, "The requested resource /2010-04-01/Accounts/"+f.AccountSID+"/IncomingPhoneNumbers/"+sid+".json was not found")
		return
	}
	p := r.PostForm
	if _, ok := p["VoiceUrl"]; ok {
		n.VoiceURL = p.Get("VoiceUrl")
	}
	if v := p.Get("VoiceMethod"); v != "" {
		n.VoiceMethod = v
	}
	if _, ok := p["StatusCallback"]; ok {
		n.StatusCallback = p.Get("StatusCallback")
	}
	out := f.numberJSON(*n)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// CallIn has a caller call one of the account's numbers, as the public
// telephone network does: Twilio posts the signed incoming-call webhook
// (CallSid, From, To, CallStatus ringing, Direction inbound, AccountSid)
// to the number's Voice URL, plays the TwiML it answers (a
// <Connect><ConversationRelay> talk, or a <Connect><Stream> one in audio
// mode with the Media Streams client, said by s as for outbound calls;
// a <Start><Recording> before it records the call) and posts the final
// status to the number's status callback, then any recording's. An error says
// the number has no Voice URL; the webhook's refusal shows in
// Call.Refused and the call's status.
func (f *Fake) CallIn(from, to string, s Script) (*Call, error) {
	f.mu.Lock()
	n, ok := f.numbers[to]
	var voiceURL, statusCB string
	if ok {
		voiceURL, statusCB = n.VoiceURL, n.StatusCallback
	}
	f.mu.Unlock()
	if voiceURL == "" {
		return nil, fmt.Errorf("calling %s: the number has no Voice URL in this account (configure it, e.g. by saving the voice number)", to)
	}
	p := url.Values{"From": {from}, "To": {to}, "Url": {voiceURL}}
	if statusCB != "" {
		p.Set("StatusCallback", statusCB)
	}
	c := &Call{Sid: newSid("CA"), Params: p, f: f, script: s, status: "ringing", updates: make(chan url.Values, 4), ended: make(chan struct{}), inbound: true}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		c.runInbound(f.ctx)
	}()
	return c, nil
}

// runInbound plays a call made to a number: the incoming-call webhook,
// then its TwiML.
func (c *Call) runInbound(ctx context.Context) {
	body, err := c.post(ctx, c.Params.Get("Url"), c.params("ringing"))
	if err != nil {
		c.end(ctx, "failed")
		return
	}
	c.mu.Lock()
	c.twimls = append(c.twimls, string(body))
	c.answeredAt = time.Now()
	c.status = "in-progress"
	c.mu.Unlock()
	c.startRecording(body)
	// A <Connect> talks over the relay or Media Streams; other TwiML
	// (<Say>…<Hangup/>) is said, then the call ends.
	c.play(ctx, body, nil)
}

// recording answers GET Recordings/{sid}(.wav): a real WAV recording of
// what the call's callee heard and said (synthesized tones, one per line).
func (f *Fake) recording(w http.ResponseWriter, r *http.Request) {
	if !f.authorised(r) {
		restError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	sid := r.PathValue("sid")
	if strings.HasSuffix(sid, ".mp3") || strings.HasSuffix(sid, ".json") {
		restError(w, http.StatusNotFound, 20404, "this fake serves recordings as .wav only")
		return
	}
	sid = strings.TrimSuffix(sid, ".wav")
	var lines []voice.Line
	var call *Call
	for _, c := range f.Calls() {
		c.mu.Lock()
		if c.recordingSid == sid || c.started != nil && c.started.sid == sid {
			call = c
		}
		c.mu.Unlock()
	}
	if call == nil {
		restError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	for _, h := range call.Heard() {
		lines = append(lines, voice.Line{Speaker: voice.SpeakerAgent, Text: h})
	}
	data := voice.SynthesizeWAV(lines, 2*time.Minute)
	w.Header().Set("Content-Type", "audio/x-wav")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}
