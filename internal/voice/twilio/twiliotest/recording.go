package twiliotest

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// startedRecording is a recording a call's TwiML started with
// <Start><Recording>: Twilio records the call from then until it ends and
// posts the recording status callback once the recording is ready.
type startedRecording struct {
	sid      string
	callback string
	events   []string
	channels string
	at       time.Time
}

// recordingOf finds <Start><Recording> in a TwiML answer.
func recordingOf(doc []byte) (*startedRecording, bool) {
	var r struct {
		Start []struct {
			Recording *struct {
				Callback string `xml:"recordingStatusCallback,attr"`
				Method   string `xml:"recordingStatusCallbackMethod,attr"`
				Events   string `xml:"recordingStatusCallbackEvent,attr"`
				Channels string `xml:"channels,attr"`
			} `xml:"Recording"`
		} `xml:"Start"`
	}
	if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&r); err != nil {
		return nil, false
	}
	for _, st := range r.Start {
		if rec := st.Recording; rec != nil {
			// Twilio's defaults: the completed event, dual channels.
			events := strings.Fields(rec.Events)
			if len(events) == 0 {
				events = []string{"completed"}
			}
			ch := "2"
			if rec.Channels == "mono" {
				ch = "1"
			}
			if rec.Method != "" && !strings.EqualFold(rec.Method, "POST") {
				// This fake posts its callbacks only.
				return nil, false
			}
			return &startedRecording{sid: newSid("RE"), callback: rec.Callback, events: events, channels: ch}, true
		}
	}
	return nil, false
}

// startRecording starts the recording a TwiML answer asks for, as Twilio
// does when it runs <Start><Recording> ahead of the rest of the TwiML.
func (c *Call) startRecording(doc []byte) {
	rec, ok := recordingOf(doc)
	if !ok {
		return
	}
	rec.at = time.Now()
	c.mu.Lock()
	if c.started == nil {
		c.started = rec
	}
	c.mu.Unlock()
}

// StartedRecording is the SID of the recording the call's TwiML started
// with <Start><Recording> ("" if none).
func (c *Call) StartedRecording() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started == nil {
		return ""
	}
	return c.started.sid
}

// endStartedRecording posts the recording status callback of the
// recording the TwiML started, once the call ended: completed, with its
// RecordingUrl (the WAV is served by Recordings/{sid}), if it asked for
// that event.
func (c *Call) endStartedRecording(ctx context.Context) {
	c.mu.Lock()
	rec := c.started
	c.mu.Unlock()
	if rec == nil {
		return
	}
	want := false
	for _, e := range rec.events {
		want = want || e == "completed"
	}
	if !want {
		return
	}
	secs := int(time.Since(rec.at).Round(time.Second) / time.Second)
	c.recordingCallback(ctx, recordingEvent{callback: rec.callback, sid: rec.sid, url: c.f.URL() + "/2010-04-01/Accounts/" + c.f.AccountSID + "/Recordings/" + rec.sid,
		duration: strconv.Itoa(secs), channels: rec.channels, at: rec.at})
}

// recordingEvent is one recording status callback.
type recordingEvent struct {
	callback, sid, url, duration, channels string
	// source is RecordingSource, when known.
	source string
	at     time.Time
}

// recordingCallback posts a recording status callback, "completed", as
// Twilio does once a recording is ready after the call.
func (c *Call) recordingCallback(ctx context.Context, e recordingEvent) {
	if e.callback == "" {
		return
	}
	if e.at.IsZero() {
		e.at = time.Now()
	}
	form := url.Values{"AccountSid": {c.f.AccountSID}, "CallSid": {c.Sid}, "RecordingSid": {e.sid}, "RecordingUrl": {e.url},
		"RecordingStatus": {"completed"}, "RecordingDuration": {e.duration}, "RecordingChannels": {e.channels},
		"RecordingStartTime": {e.at.UTC().Format(time.RFC1123Z)}}
	if e.source != "" {
		form.Set("RecordingSource", e.source)
	}
	_, _ = c.post(ctx, e.callback, form)
}
