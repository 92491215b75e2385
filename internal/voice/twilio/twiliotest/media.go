package twiliotest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/voice/audiotest"
)

// streamTwiML is the <Connect><Stream> of a TwiML answer.
type streamTwiML struct {
	URL    string
	Params map[string]string
}

// streamOf finds <Connect><Stream url> and its <Parameter>s.
func streamOf(doc []byte) (streamTwiML, error) {
	var r struct {
		Connect struct {
			Stream struct {
				URL    string `xml:"url,attr"`
				Params []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:"value,attr"`
				} `xml:"Parameter"`
			} `xml:"Stream"`
		} `xml:"Connect"`
	}
	if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&r); err != nil {
		return streamTwiML{}, fmt.Errorf("reading the TwiML: %w", err)
	}
	if r.Connect.Stream.URL == "" {
		return streamTwiML{}, errors.New("the TwiML has no <Connect><Stream url>")
	}
	st := streamTwiML{URL: r.Connect.Stream.URL, Params: map[string]string{}}
	for _, p := range r.Connect.Stream.Params {
		st.Params[p.Name] = p.Value
	}
	return st, nil
}

// Heard audio the fake's book does not know is reported like this.
const unrecognised = "(unrecognised audio)"

// queuedMark is a mark the adapter sent, due once the audio queued before
// it has played.
type queuedMark struct {
	name string
	at   int // bytes of the agent's audio queued before it
}

// stream plays a call in audio mode: a Media Streams client that sends a
// 20 ms μ-law frame every 20 ms (the callee's line, or silence) and plays
// the agent's audio in real time, echoing its marks as they are reached.
// Each mark ends one agent line: the callee recognises it with the book
// and answers with its next line, as in text relay.
func (c *Call) stream(ctx context.Context, st streamTwiML, limit <-chan time.Time) []byte {
	book := c.f.Book
	if book == nil {
		book = audiotest.NewBook()
	}
	ws := c.socket(ctx, st.URL)
	if ws == nil {
		return nil
	}
	defer ws.CloseNow()
	streamSid := newSid("MZ")
	seq := 0
	send := func(v map[string]any) error {
		seq++
		if v["event"] != "connected" {
			v["sequenceNumber"] = strconv.Itoa(seq)
			v["streamSid"] = streamSid
		}
		b, _ := json.Marshal(v)
		return ws.Write(ctx, websocket.MessageText, b)
	}
	_ = send(map[string]any{"event": "connected", "protocol": "Call", "version": "1.0.0"})
	_ = send(map[string]any{"event": "start", "start": map[string]any{"streamSid": streamSid, "accountSid": c.f.AccountSID, "callSid": c.Sid,
		"tracks": []string{"inbound"}, "customParameters": st.Params,
		"mediaFormat": map[string]any{"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})

	type msg struct {
		Event string `json:"event"`
		Media struct {
			Payload string `json:"payload"`
		} `json:"media"`
		Mark struct {
			Name string `json:"name"`
		} `json:"mark"`
	}
	msgs := make(chan msg, 256)
	go func() {
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

	var (
		out      []byte // the callee's audio still to send
		play     []byte // the agent's audio queued, not yet played
		played   []byte // the agent's audio played since the last mark
		queued   int    // bytes of agent audio ever queued
		playedAt int    // bytes of agent audio ever played or cleared
		marks    []queuedMark
		lines    int // agent lines finished
		chunk    int
		start    = time.Now()
		bargeAt  time.Time
		bye      <-chan time.Time
	)
	speak := func() bool { // false: the callee hangs up
		s := c.script
		switch s.Scenario {
		case Silence:
			return true
		case Machine:
			if c.said == 0 {
				c.said++
				out = append(out, book.Add("You have reached the voicemail of this number. Please leave a message after the tone.")...)
			}
			return true
		}
		if s.HangUpAfter > 0 && c.said >= s.HangUpAfter {
			return false
		}
		if c.said >= len(s.Lines) {
			return s.StayOn
		}
		out = append(out, book.Add(s.Lines[c.said])...)
		c.said++
		return true
	}
	hear := func(cut bool) {
		text, ok := book.Recognise(played)
		switch {
		case cut:
			text = fmt.Sprintf("(cut off after %d ms)", len(played)/8)
		case !ok:
			text = unrecognised
		}
		if len(played) > 0 {
			c.mu.Lock()
			c.heard = append(c.heard, text)
			c.mu.Unlock()
		}
		played = played[:0]
	}
	finish := func(status string) {
		_ = send(map[string]any{"event": "stop", "stop": map[string]any{"accountSid": c.f.AccountSID, "callSid": c.Sid}})
		_ = ws.Close(websocket.StatusNormalClosure, "")
		c.end(ctx, status)
	}
	wait := c.script.FirstWait
	if wait <= 0 {
		wait = 2 * time.Second
	}
	first := time.NewTimer(wait)
	defer first.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-limit:
			finish("completed")
			return nil
		case <-first.C:
			if c.said == 0 && lines == 0 && len(play) == 0 && !speak() {
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
				// The new TwiML (a transfer's <Dial>) replaces the stream.
				_ = send(map[string]any{"event": "stop", "stop": map[string]any{"accountSid": c.f.AccountSID, "callSid": c.Sid}})
				_ = ws.Close(websocket.StatusNormalClosure, "")
				return []byte(u.Get("Twiml"))
			}
		case m, ok := <-msgs:
			if !ok {
				// The adapter closed the stream: <Connect> ends, and with
				// nothing after it, so does the call.
				c.end(ctx, "completed")
				return nil
			}
			switch m.Event {
			case "media":
				b, err := base64.StdEncoding.DecodeString(m.Media.Payload)
				if err != nil {
					c.mu.Lock()
					c.refused = append(c.refused, "media payload not base64")
					c.mu.Unlock()
					continue
				}
				if len(play) == 0 && len(played) == 0 && lines+1 == c.script.BargeInLine && c.script.BargeInAfter > 0 && bargeAt.IsZero() {
					bargeAt = time.Now().Add(c.script.BargeInAfter)
				}
				play = append(play, b...)
				queued += len(b)
				first.Stop()
			case "mark":
				marks = append(marks, queuedMark{name: m.Mark.Name, at: queued})
			case "clear":
				// Queued audio is dropped; its marks come back at once.
				playedAt += len(play)
				play = play[:0]
				for _, mk := range marks {
					_ = send(map[string]any{"event": "mark", "mark": map[string]any{"name": mk.name}})
				}
				if len(marks) > 0 || len(played) > 0 {
					lines++
					hear(true)
				}
				marks = marks[:0]
			}
		case <-tick.C:
			// One frame each way per 20 ms.
			frame := audiotest.SilenceOf(20)
			if len(out) > 0 {
				n := copy(frame, out)
				out = out[n:]
			}
			chunk++
			_ = send(map[string]any{"event": "media", "media": map[string]any{"track": "inbound", "chunk": strconv.Itoa(chunk),
				"timestamp": strconv.Itoa(int(time.Since(start).Milliseconds())), "payload": base64.StdEncoding.EncodeToString(frame)}})
			if !bargeAt.IsZero() && time.Now().After(bargeAt) {
				bargeAt = time.Time{}
				c.script.BargeInLine = 0
				if !speak() && bye == nil {
					bye = time.After(hangUpPause)
				}
			}
			n := min(len(play), audiotest.FrameBytes)
			heard := play[:n]
			play = play[n:]
			for len(marks) > 0 && marks[0].at <= playedAt+len(heard) {
				// A frame may end one line and start the next: the mark
				// ends the line where its audio ends, not at the frame's
				// end.
				k := max(0, marks[0].at-playedAt)
				played = append(played, heard[:k]...)
				heard = heard[k:]
				playedAt += k
				_ = send(map[string]any{"event": "mark", "mark": map[string]any{"name": marks[0].name}})
				marks = marks[1:]
				lines++
				hear(false)
				if c.script.BargeInLine != 0 && lines >= c.script.BargeInLine {
					continue // this callee talks over the line instead
				}
				if len(out) == 0 && !speak() && bye == nil {
					bye = time.After(hangUpPause)
				}
			}
			played = append(played, heard...)
			playedAt += len(heard)
		}
	}
}
