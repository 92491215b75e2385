package twilio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/twilio/twilio-go/twiml"

	"github.com/parleyhq/parley/internal/voice"
)

// The audio mode: a call placed with voice.MediaAudio is answered with
// <Connect><Stream>, and Twilio opens a Media Streams websocket to
// media/{call_id} that carries the call's sound both ways as base64 μ-law
// 8 kHz (connected, start, media, dtmf, mark, stop from Twilio; media, mark
// and clear to it). The Leg is then a voice.AudioLeg; a voice.Speech engine
// turns its Audio into the call's Conversation.

// mediaQueue bounds the caller's audio waiting for the speech engine:
// 256 frames of 20 ms, about five seconds.
const mediaQueue = 256

// mediaStream is a Leg's Media Streams websocket.
type mediaStream struct {
	l       *Leg
	started chan struct{} // closed at the start message
	in      chan voice.Chunk
	marks   chan string
	drained chan struct{} // closed when the hang-up mark came back

	mu        sync.Mutex
	ws        *websocket.Conn
	streamSid string
	isStarted bool
	// live is closed once the current stream started; a transfer's
	// TwiML that took the call away replaces it (isLive false) until the
	// caller is back on a new stream.
	live      chan struct{}
	isLive    bool
	dropped   bool
	isDrained bool
}

func newMediaStream(l *Leg) *mediaStream {
	return &mediaStream{l: l, started: make(chan struct{}), live: make(chan struct{}), in: make(chan voice.Chunk, mediaQueue), marks: make(chan string, 64), drained: make(chan struct{})}
}

// mediaURL is the websocket URL Twilio opens for a call's Media Stream.
func (p *Provider) mediaURL(callID string) string { return wsURL(p.callURL("media", callID)) }

func wsURL(u string) string {
	switch {
	case len(u) > 8 && u[:8] == "https://":
		return "wss://" + u[8:]
	case len(u) > 7 && u[:7] == "http://":
		return "ws://" + u[7:]
	}
	return u
}

// streamTwiML connects the answered call to its Media Stream; the call's
// ID goes along as a custom parameter (Twilio returns it in start).
func (l *Leg) streamTwiML(start []twiml.Element) (string, error) {
	st := twiml.VoiceStream{Url: l.p.mediaURL(l.callID),
		InnerElements: []twiml.Element{&twiml.VoiceParameter{Name: "call_id", Value: l.callID}}}
	return twiml.Voice(append(start, &twiml.VoiceConnect{InnerElements: []twiml.Element{&st}}))
}

// mediaMessage is a Media Streams message, either way.
type mediaMessage struct {
	Event          string `json:"event"`
	SequenceNumber string `json:"sequenceNumber,omitempty"`
	StreamSid      string `json:"streamSid,omitempty"`
	Start          *struct {
		StreamSid        string            `json:"streamSid"`
		CallSid          string            `json:"callSid"`
		Tracks           []string          `json:"tracks"`
		CustomParameters map[string]string `json:"customParameters"`
		MediaFormat      struct {
			Encoding   string `json:"encoding"`
			SampleRate int    `json:"sampleRate"`
			Channels   int    `json:"channels"`
		} `json:"mediaFormat"`
	} `json:"start,omitempty"`
	Media *struct {
		Track     string `json:"track,omitempty"`
		Chunk     string `json:"chunk,omitempty"`
		Timestamp string `json:"timestamp,omitempty"`
		Payload   string `json:"payload"`
	} `json:"media,omitempty"`
	Mark *struct {
		Name string `json:"name"`
	} `json:"mark,omitempty"`
	DTMF *struct {
		Track string `json:"track"`
		Digit string `json:"digit"`
	} `json:"dtmf,omitempty"`
}

// serveMedia runs the call's Media Streams websocket until it closes.
func (l *Leg) serveMedia(c *websocket.Conn, r *http.Request) {
	m := l.media
	detach := l.attach(c, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.ws != nil || l.dial.Media != voice.MediaAudio {
			return false
		}
		m.ws = c
		return true
	}, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.ws == c
	}, l.dropSocketsLocked)
	if detach == nil {
		return
	}
	defer detach()
	readSocket(context.WithoutCancel(r.Context()), c, l, "Media Streams", l.onMedia)
}

// onMedia handles one Media Streams message; false ends the stream.
func (l *Leg) onMedia(msg mediaMessage) bool {
	m := l.media
	switch msg.Event {
	case "start":
		if msg.Start == nil {
			l.p.logger.Warn("a Media Streams start without its start object", "call", l.callID)
			return true
		}
		if f := msg.Start.MediaFormat; f.Encoding != "" && (f.Encoding != "audio/x-mulaw" || f.SampleRate != 8000) {
			l.p.logger.Error("the call's Media Stream is not μ-law 8 kHz; ending it", "call", l.callID, "encoding", f.Encoding, "rate", f.SampleRate)
			return false
		}
		m.mu.Lock()
		m.streamSid = msg.Start.StreamSid
		if !m.isLive {
			m.isLive = true
			close(m.live)
		}
		if !m.isStarted {
			m.isStarted = true
			close(m.started)
		}
		m.mu.Unlock()
	case "media":
		if msg.Media == nil || msg.Media.Track != "" && msg.Media.Track != "inbound" {
			return true
		}
		b, err := base64.StdEncoding.DecodeString(msg.Media.Payload)
		if err != nil {
			l.p.logger.Warn("a Media Streams frame that is not base64", "call", l.callID, "err", err)
			return true
		}
		m.push(voice.Chunk{Audio: b})
	case "dtmf":
		if msg.DTMF != nil && msg.DTMF.Digit != "" {
			m.push(voice.Chunk{DTMF: msg.DTMF.Digit})
		}
	case "mark":
		if msg.Mark != nil && msg.Mark.Name == hangupMark {
			m.mu.Lock()
			if !m.isDrained {
				m.isDrained = true
				close(m.drained)
			}
			m.mu.Unlock()
			return true
		}
		if msg.Mark != nil {
			select {
			case m.marks <- msg.Mark.Name:
			default:
				l.p.logger.Warn("a Media Streams mark dropped: nobody reads them", "call", l.callID, "mark", msg.Mark.Name)
			}
		}
	case "stop":
		return false
	}
	return true
}

func (m *mediaStream) push(c voice.Chunk) {
	select {
	case m.in <- c:
		return
	default:
	}
	m.mu.Lock()
	first := !m.dropped
	m.dropped = true
	m.mu.Unlock()
	if first {
		// Late audio is worthless to a live call; saying it once is enough.
		m.l.p.logger.Warn("the caller's audio is dropped: the speech engine is not keeping up", "call", m.l.callID)
	}
}

func (m *mediaStream) isStartedNow() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.isStarted
}

// Audio implements voice.AudioLeg.
func (l *Leg) Audio(ctx context.Context) (voice.Audio, error) {
	l.mu.Lock()
	media := l.dial.Media // an inbound call's is set once it is accepted
	l.mu.Unlock()
	if media != voice.MediaAudio {
		return nil, fmt.Errorf("call %s: %w", l.callID, voice.ErrNoAudio)
	}
	select {
	case <-l.media.started:
		return l.media, nil
	case <-l.done:
		return nil, voice.ErrHungUp
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hangupMark is the mark sent before hanging up: Twilio echoes it once the
// audio queued before it (the agent's goodbye) has played.
const hangupMark = "parley-hangup"

// hangupMedia closes the call's Media Stream, if it is open, once what the
// agent said has played (or ctx ends): <Connect> then ends and, with no
// TwiML after it, so does the call. It reports whether there was a stream
// to close.
func (l *Leg) hangupMedia(ctx context.Context) bool {
	m := l.media
	m.mu.Lock()
	c := m.ws
	m.mu.Unlock()
	if c == nil {
		return false
	}
	select {
	case <-l.done:
		return false
	default:
	}
	if m.Mark(ctx, hangupMark) == nil {
		select {
		case <-m.drained:
		case <-l.done:
			return true
		case <-ctx.Done():
		}
	}
	_ = c.Close(websocket.StatusNormalClosure, "the agent hung up")
	return true
}

// backWait bounds how long the agent's audio waits for a caller whose
// transfer was not taken to be back on a new stream.
const backWait = 10 * time.Second

// send writes one message to the stream; while a transfer's <Dial> has the
// call it waits for the caller to be back on a new one.
func (m *mediaStream) send(ctx context.Context, v mediaMessage) error {
	m.mu.Lock()
	c, sid, live, isLive := m.ws, m.streamSid, m.live, m.isLive
	m.mu.Unlock()
	if !isLive && m.isStartedNow() {
		t := time.NewTimer(backWait)
		defer t.Stop()
		select {
		case <-live:
		case <-m.l.done:
			return voice.ErrHungUp
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return voice.ErrHungUp
		}
		m.mu.Lock()
		c, sid = m.ws, m.streamSid
		m.mu.Unlock()
	}
	if c == nil {
		return voice.ErrHungUp
	}
	v.StreamSid = sid
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Write(wctx, websocket.MessageText, b); err != nil {
		select {
		case <-m.l.done:
			return voice.ErrHungUp
		default:
		}
		return fmt.Errorf("writing to the call's Media Stream: %w", err)
	}
	return nil
}

// Recv implements voice.Audio.
func (m *mediaStream) Recv(ctx context.Context) (voice.Chunk, error) {
	select {
	case c := <-m.in:
		return c, nil
	default:
	}
	select {
	case c := <-m.in:
		return c, nil
	case <-m.l.done:
		select {
		case c := <-m.in:
			return c, nil
		default:
		}
		return voice.Chunk{}, voice.ErrHungUp
	case <-ctx.Done():
		return voice.Chunk{}, ctx.Err()
	}
}

// Play implements voice.Audio.
func (m *mediaStream) Play(ctx context.Context, ulaw []byte) error {
	if len(ulaw) == 0 {
		return nil
	}
	msg := mediaMessage{Event: "media"}
	msg.Media = &struct {
		Track     string `json:"track,omitempty"`
		Chunk     string `json:"chunk,omitempty"`
		Timestamp string `json:"timestamp,omitempty"`
		Payload   string `json:"payload"`
	}{Payload: base64.StdEncoding.EncodeToString(ulaw)}
	return m.send(ctx, msg)
}

// Mark implements voice.Audio.
func (m *mediaStream) Mark(ctx context.Context, name string) error {
	msg := mediaMessage{Event: "mark"}
	msg.Mark = &struct {
		Name string `json:"name"`
	}{Name: name}
	return m.send(ctx, msg)
}

// Marks implements voice.Audio.
func (m *mediaStream) Marks() <-chan string { return m.marks }

// Clear implements voice.Audio.
func (m *mediaStream) Clear(ctx context.Context) error {
	return m.send(ctx, mediaMessage{Event: "clear"})
}
