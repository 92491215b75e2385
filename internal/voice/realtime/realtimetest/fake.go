// Package realtimetest is a fake OpenAI Realtime API for tests: the
// websocket at /v1/realtime that answers the client events voice/realtime
// sends (session.update, input_audio_buffer.append, response.create,
// response.cancel, conversation.item.truncate) with the server events the
// real API sends, in its GA names. Audio is μ-law 8 kHz (audio/pcmu) only.
//
// It cannot recognise or synthesise speech, so it works from a phrasebook
// (voice/audiotest): server VAD is an energy detector over 20 ms windows
// (speech_started, then speech_stopped after the session's
// silence_duration_ms of quiet), the committed audio is "transcribed" to the
// known phrase whose audio it contains (transcription.failed when none),
// and a response speaks the line quoted in its instructions with
// audiotest.Speak, teaching the book that line so the fake Twilio can tell
// what it heard. Audio deltas are paced in real time (100 ms every 100 ms),
// so a caller can talk over a response that is still being generated.
package realtimetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/voice/audiotest"
)

// Voices are the voices the Realtime API speaks.
var Voices = []string{"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"}

// speechLevel is the RMS level above which a 20 ms window is speech.
const speechLevel = 500

// chunk is one audio delta: 100 ms of μ-law.
const chunk = 800

// Server is a fake Realtime API.
type Server struct {
	// APIKey, when set, is the bearer token a connection must carry.
	APIKey string
	// Pace is how long the fake waits between 100 ms audio deltas
	// (default 100 ms: real time).
	Pace time.Duration

	book *audiotest.Book
	srv  *httptest.Server
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu       sync.Mutex
	sessions []*Session
	seq      int
}

// New starts a fake that recognises and speaks with book.
func New(book *audiotest.Book) *Server {
	s := NewHandler(book)
	s.srv = httptest.NewServer(s)
	return s
}

// NewHandler returns a fake that is not listening: mount it (ServeHTTP)
// beside other fakes, e.g. the fake chat model, under one base URL.
func NewHandler(book *audiotest.Book) *Server {
	s := &Server{book: book}
	s.ctx, s.stop = context.WithCancel(context.Background())
	return s
}

// URL is the websocket endpoint (ws://…/v1/realtime) of a fake started
// with New.
func (s *Server) URL() string { return "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/v1/realtime" }

// BaseURL is the API base (http://…/v1) of a fake started with New.
func (s *Server) BaseURL() string { return s.srv.URL + "/v1" }

// Close ends every session and stops the server.
func (s *Server) Close() {
	s.stop()
	if s.srv != nil {
		s.srv.Close()
	}
	s.wg.Wait()
}

// Sessions are the sessions opened so far.
func (s *Server) Sessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Session(nil), s.sessions...)
}

func (s *Server) id(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%s_%06d", prefix, s.seq)
}

// Session is one websocket session.
type Session struct {
	// Model is the model the client asked for in the URL.
	Model string

	s  *Server
	ws *websocket.Conn

	mu       sync.Mutex
	received []string
	config   map[string]any
	voice    string
	silence  int
	respond  bool
	active   *response
	// VAD state over the input buffer.
	buf        []byte
	judged     int // bytes of buf the VAD has judged
	pos        int // ms of audio received
	speaking   bool
	quiet      int // ms of quiet while speaking
	itemID     string
	lastItem   string
	transcript []string
}

type response struct {
	id, item string
	cancel   chan struct{}
}

// Received lists the types of the client events the session got, in order.
func (ss *Session) Received() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]string(nil), ss.received...)
}

// Config is the session's effective configuration (the last session.update's).
func (ss *Session) Config() map[string]any {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.config
}

// Transcripts are what the fake transcribed of the caller, in order.
func (ss *Session) Transcripts() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]string(nil), ss.transcript...)
}

// ServeHTTP serves /v1/realtime (and answers 404 elsewhere).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/realtime") || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if s.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.APIKey {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`))
		return
	}
	model := r.URL.Query().Get("model")
	if model == "" {
		http.Error(w, `{"error":{"message":"missing model","type":"invalid_request_error","code":"missing_model"}}`, http.StatusBadRequest)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	ss := &Session{Model: model, s: s, ws: ws, silence: 500, respond: true, voice: "alloy"}
	s.mu.Lock()
	s.sessions = append(s.sessions, ss)
	s.mu.Unlock()
	ss.run()
}

func (ss *Session) send(v map[string]any) {
	v["event_id"] = ss.s.id("event")
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(ss.s.ctx, 5*time.Second)
	defer cancel()
	_ = ss.ws.Write(ctx, websocket.MessageText, b)
}

func (ss *Session) fail(code, param, msg string) {
	ss.send(map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error", "code": code, "param": param, "message": msg}})
}

func (ss *Session) run() {
	defer ss.ws.CloseNow()
	ss.ws.SetReadLimit(16 << 20)
	ss.send(map[string]any{"type": "session.created", "session": map[string]any{"id": ss.s.id("sess"), "object": "realtime.session", "type": "realtime", "model": ss.Model}})
	for {
		_, data, err := ss.ws.Read(ss.s.ctx)
		if err != nil {
			ss.mu.Lock()
			if ss.active != nil {
				close(ss.active.cancel)
				ss.active = nil
			}
			ss.mu.Unlock()
			return
		}
		var ev struct {
			Type     string          `json:"type"`
			Session  json.RawMessage `json:"session"`
			Audio    string          `json:"audio"`
			Response *struct {
				Instructions string `json:"instructions"`
			} `json:"response"`
			ItemID     string `json:"item_id"`
			AudioEndMs int    `json:"audio_end_ms"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			ss.fail("invalid_json", "", "The event is not valid JSON.")
			continue
		}
		ss.mu.Lock()
		ss.received = append(ss.received, ev.Type)
		ss.mu.Unlock()
		switch ev.Type {
		case "session.update":
			ss.update(ev.Session)
		case "input_audio_buffer.append":
			b, err := base64.StdEncoding.DecodeString(ev.Audio)
			if err != nil {
				ss.fail("invalid_value", "audio", "The audio is not base64.")
				continue
			}
			ss.hear(b)
		case "response.create":
			line := ""
			if ev.Response != nil {
				line = quoted(ev.Response.Instructions)
			}
			ss.startResponse(line)
		case "response.cancel":
			ss.mu.Lock()
			r := ss.active
			ss.active = nil
			ss.mu.Unlock()
			if r == nil {
				ss.fail("response_cancel_not_active", "", "Cancellation failed: no active response found.")
				continue
			}
			close(r.cancel)
		case "conversation.item.truncate":
			ss.send(map[string]any{"type": "conversation.item.truncated", "item_id": ev.ItemID, "content_index": 0, "audio_end_ms": ev.AudioEndMs})
		default:
			ss.fail("invalid_type", "type", fmt.Sprintf("Invalid value: '%s'.", ev.Type))
		}
	}
}

// quoted is the text between the first and last double quote.
func quoted(s string) string {
	i, j := strings.Index(s, `"`), strings.LastIndex(s, `"`)
	if i < 0 || j <= i {
		return strings.TrimSpace(s)
	}
	return s[i+1 : j]
}

func (ss *Session) update(raw json.RawMessage) {
	var cfg struct {
		Type  string `json:"type"`
		Audio struct {
			Input struct {
				Format struct {
					Type string `json:"type"`
				} `json:"format"`
				TurnDetection *struct {
					Type              string `json:"type"`
					SilenceDurationMs int    `json:"silence_duration_ms"`
					CreateResponse    *bool  `json:"create_response"`
				} `json:"turn_detection"`
			} `json:"input"`
			Output struct {
				Format struct {
					Type string `json:"type"`
				} `json:"format"`
				Voice string `json:"voice"`
			} `json:"output"`
		} `json:"audio"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		ss.fail("invalid_value", "session", "The session is not an object.")
		return
	}
	switch {
	case cfg.Type != "realtime":
		ss.fail("invalid_value", "session.type", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'realtime' and 'transcription'.", cfg.Type))
		return
	case cfg.Audio.Input.Format.Type != "audio/pcmu" || cfg.Audio.Output.Format.Type != "audio/pcmu":
		ss.fail("invalid_value", "session.audio.input.format.type", "This fake speaks audio/pcmu only.")
		return
	case cfg.Audio.Output.Voice != "" && !slices.Contains(Voices, cfg.Audio.Output.Voice):
		ss.fail("invalid_value", "session.audio.output.voice", fmt.Sprintf("Invalid value: '%s'. Supported values are: %s.", cfg.Audio.Output.Voice, strings.Join(Voices, ", ")))
		return
	}
	var full map[string]any
	_ = json.Unmarshal(raw, &full)
	ss.mu.Lock()
	ss.config = full
	if v := cfg.Audio.Output.Voice; v != "" {
		ss.voice = v
	}
	if td := cfg.Audio.Input.TurnDetection; td != nil {
		if td.SilenceDurationMs > 0 {
			ss.silence = td.SilenceDurationMs
		}
		if td.CreateResponse != nil {
			ss.respond = *td.CreateResponse
		}
	}
	ss.mu.Unlock()
	full["id"], full["object"], full["model"] = ss.s.id("sess"), "realtime.session", ss.Model
	ss.send(map[string]any{"type": "session.updated", "session": full})
}

// hear runs server VAD over appended audio, 20 ms at a time, and commits
// each utterance once the caller has been quiet for silence_duration_ms.
func (ss *Session) hear(b []byte) {
	type utterance struct {
		item, prev string
		audio      []byte
	}
	ss.mu.Lock()
	ss.buf = append(ss.buf, b...)
	var events []map[string]any
	var done []utterance
	for ss.judged+audiotest.FrameBytes <= len(ss.buf) {
		win := ss.buf[ss.judged : ss.judged+audiotest.FrameBytes]
		ss.judged += audiotest.FrameBytes
		ss.pos += 20
		loud := audiotest.Level(win) > speechLevel
		switch {
		case loud && !ss.speaking:
			ss.speaking, ss.quiet = true, 0
			ss.itemID = ss.s.id("item")
			events = append(events, map[string]any{"type": "input_audio_buffer.speech_started", "audio_start_ms": max(0, ss.pos-20-300), "item_id": ss.itemID})
		case loud:
			ss.quiet = 0
		case ss.speaking:
			ss.quiet += 20
			if ss.quiet >= ss.silence {
				ss.speaking = false
				events = append(events, map[string]any{"type": "input_audio_buffer.speech_stopped", "audio_end_ms": ss.pos, "item_id": ss.itemID})
				done = append(done, utterance{ss.itemID, ss.lastItem, ss.buf[:ss.judged]})
				ss.lastItem = ss.itemID
				ss.buf = append([]byte(nil), ss.buf[ss.judged:]...)
				ss.judged = 0
				// The events so far go out before this utterance's.
				events = append(events, map[string]any{"commit": len(done) - 1})
			}
		}
	}
	if !ss.speaking && len(ss.buf) > 10*audiotest.Rate {
		// Ten seconds of quiet: keep the buffer from growing without end.
		cut := len(ss.buf) - audiotest.Rate
		ss.buf = append([]byte(nil), ss.buf[cut:]...)
		ss.judged = max(0, ss.judged-cut)
	}
	respond := ss.respond
	ss.mu.Unlock()
	for _, e := range events {
		i, ok := e["commit"].(int)
		if !ok {
			ss.send(e)
			continue
		}
		u := done[i]
		ss.send(map[string]any{"type": "input_audio_buffer.committed", "previous_item_id": u.prev, "item_id": u.item})
		ss.send(map[string]any{"type": "conversation.item.added", "previous_item_id": u.prev,
			"item": map[string]any{"id": u.item, "object": "realtime.item", "type": "message", "role": "user", "status": "completed",
				"content": []any{map[string]any{"type": "input_audio", "transcript": nil}}}})
		text, ok := ss.s.book.Recognise(u.audio)
		if !ok {
			ss.send(map[string]any{"type": "conversation.item.input_audio_transcription.failed", "item_id": u.item, "content_index": 0,
				"error": map[string]any{"type": "transcription_error", "code": "audio_unintelligible", "message": "The audio could not be transcribed."}})
			continue
		}
		ss.mu.Lock()
		ss.transcript = append(ss.transcript, text)
		ss.mu.Unlock()
		ss.send(map[string]any{"type": "conversation.item.input_audio_transcription.completed", "item_id": u.item, "content_index": 0, "transcript": text})
		if respond {
			// A model answering on its own (create_response): the fake
			// can only repeat what it heard.
			ss.startResponse("You said: " + text)
		}
	}
}

// startResponse speaks line as a response, paced in real time.
func (ss *Session) startResponse(line string) {
	ss.mu.Lock()
	if ss.active != nil {
		ss.mu.Unlock()
		ss.fail("conversation_already_has_active_response", "", "Conversation already has an active response in progress.")
		return
	}
	r := &response{id: ss.s.id("resp"), item: ss.s.id("item"), cancel: make(chan struct{})}
	ss.active = r
	ss.mu.Unlock()
	ss.s.wg.Add(1)
	go func() {
		defer ss.s.wg.Done()
		ss.speak(r, line)
	}()
}

func (ss *Session) speak(r *response, line string) {
	item := map[string]any{"id": r.item, "object": "realtime.item", "type": "message", "role": "assistant", "status": "in_progress", "content": []any{}}
	ss.send(map[string]any{"type": "response.created", "response": map[string]any{"object": "realtime.response", "id": r.id, "status": "in_progress", "output": []any{}}})
	ss.send(map[string]any{"type": "response.output_item.added", "response_id": r.id, "output_index": 0, "item": item})
	ids := map[string]any{"response_id": r.id, "item_id": r.item, "output_index": 0, "content_index": 0}
	with := func(m map[string]any) map[string]any {
		for k, v := range ids {
			m[k] = v
		}
		return m
	}
	// The transcript comes first, word by word; then the audio.
	for i, w := range strings.Fields(line) {
		if i > 0 {
			w = " " + w
		}
		ss.send(with(map[string]any{"type": "response.output_audio_transcript.delta", "delta": w}))
	}
	audio := ss.s.book.Add(line)
	pace := ss.s.Pace
	if pace <= 0 {
		pace = 100 * time.Millisecond
	}
	t := time.NewTicker(pace)
	defer t.Stop()
	status := "completed"
	for at := 0; at < len(audio); at += chunk {
		select {
		case <-r.cancel:
			status = "cancelled"
		case <-ss.s.ctx.Done():
			return
		default:
		}
		if status == "cancelled" {
			break
		}
		ss.send(with(map[string]any{"type": "response.output_audio.delta", "delta": base64.StdEncoding.EncodeToString(audio[at:min(at+chunk, len(audio))])}))
		select {
		case <-t.C:
		case <-r.cancel:
			status = "cancelled"
		case <-ss.s.ctx.Done():
			return
		}
		if status == "cancelled" {
			break
		}
	}
	ss.mu.Lock()
	if ss.active == r {
		ss.active = nil
	}
	ss.mu.Unlock()
	if status == "completed" {
		ss.send(with(map[string]any{"type": "response.output_audio.done"}))
		ss.send(with(map[string]any{"type": "response.output_audio_transcript.done", "transcript": line}))
	}
	item["status"] = status
	if status == "cancelled" {
		item["status"] = "incomplete"
	}
	ss.send(map[string]any{"type": "response.output_item.done", "response_id": r.id, "output_index": 0, "item": item})
	ss.send(map[string]any{"type": "response.done", "response": map[string]any{"object": "realtime.response", "id": r.id, "status": status, "output": []any{item}}})
}
