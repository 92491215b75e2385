// Package realtime is the audio-mode speech engine: it bridges a call's
// μ-law audio (voice.Audio, e.g. a Twilio Media Stream) to a realtime
// speech model over the OpenAI Realtime API's websocket, and offers the
// call as the same text voice.Conversation the text relay gives.
//
// The model is the call's ears and voice, not its mind: its server voice
// activity detection and transcription turn the caller's speech into
// InputSpeech, and each line the agent says is spoken by asking the model
// for an audio response that says exactly that line. The agent (voice.Agent
// with the project's chat model) still decides what to say, when to end and
// when to transfer, so a call behaves the same in both engines and its
// transcript lands in the same variables. Audio stays μ-law end to end
// (audio/pcmu): nothing is resampled.
//
// Barge-in: when the model reports the caller speaking
// (input_audio_buffer.speech_started) while the agent's line is still
// being generated or played, the provider's queued audio is cleared, the
// response cancelled, the model's item truncated to what was played, and
// the agent gets an InputInterrupt with the words the caller heard.
package realtime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
)

// Defaults of Config.
const (
	DefaultModel              = "gpt-realtime"
	DefaultTranscriptionModel = "gpt-4o-mini-transcribe"
	DefaultSilence            = 500 * time.Millisecond
	// setupWait bounds the wait for session.updated.
	setupWait = 15 * time.Second
)

// bytesPerMs is μ-law 8 kHz: one byte per sample.
const bytesPerMs = 8

// Config configures the engine.
type Config struct {
	// URL is the Realtime API's websocket endpoint, e.g.
	// wss://api.openai.com/v1/realtime (URLOf derives it from an AI
	// provider's base URL).
	URL    string
	APIKey string
	// Model is the realtime model (DefaultModel); TranscriptionModel
	// transcribes the caller (DefaultTranscriptionModel).
	Model              string
	TranscriptionModel string
	// Silence is how long the caller is quiet before their turn ends
	// (server VAD's silence_duration_ms; DefaultSilence).
	Silence time.Duration
	// HTTP dials the websocket; nil means http.DefaultClient.
	HTTP   *http.Client
	Clock  domain.Clock
	Logger *slog.Logger
}

// URLOf derives the realtime websocket endpoint from an OpenAI-compatible
// API base URL: https://api.openai.com/v1 gives wss://api.openai.com/v1/realtime.
func URLOf(apiBase string) (string, error) {
	u, err := url.Parse(strings.TrimRight(apiBase, "/"))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("the AI provider's base URL %q is not an absolute URL", apiBase)
	}
	switch u.Scheme {
	case "https", "wss":
		u.Scheme = "wss"
	case "http", "ws":
		u.Scheme = "ws"
	default:
		return "", fmt.Errorf("the AI provider's base URL %q is neither http nor https", apiBase)
	}
	u.Path += "/realtime"
	return u.String(), nil
}

// Engine opens realtime sessions; it implements voice.Speech.
type Engine struct {
	cfg Config
}

// New returns an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.URL == "" {
		return nil, errors.New("the realtime speech engine needs its websocket URL")
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.TranscriptionModel == "" {
		cfg.TranscriptionModel = DefaultTranscriptionModel
	}
	if cfg.Silence <= 0 {
		cfg.Silence = DefaultSilence
	}
	if cfg.Clock == nil {
		cfg.Clock = domain.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg}, nil
}

// SayInstructions asks the model to speak line and nothing else; the fake
// model (realtimetest) reads the line back from between the quotes.
func SayInstructions(line string) string {
	return "Say exactly the following words to the caller, in a natural voice, and nothing else: \"" + line + "\""
}

// Converse implements voice.Speech: it opens a session, configures it for
// μ-law both ways, server VAD without automatic responses and caller
// transcription, and starts streaming the call's audio to it.
func (e *Engine) Converse(ctx context.Context, a voice.Audio, sc voice.SpeechConfig) (voice.SpeechConversation, error) {
	u, err := url.Parse(e.cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("realtime URL %q: %w", e.cfg.URL, err)
	}
	q := u.Query()
	q.Set("model", e.cfg.Model)
	u.RawQuery = q.Encode()
	h := http.Header{}
	if e.cfg.APIKey != "" {
		h.Set("Authorization", "Bearer "+e.cfg.APIKey)
	}
	dctx, cancel := context.WithTimeout(ctx, setupWait)
	defer cancel()
	c, res, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{HTTPHeader: h, HTTPClient: e.cfg.HTTP})
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("connecting to the realtime model at %s: HTTP %d: %w", e.cfg.URL, res.StatusCode, err)
		}
		return nil, fmt.Errorf("connecting to the realtime model at %s: %w", e.cfg.URL, err)
	}
	c.SetReadLimit(8 << 20)
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &Session{cfg: e.cfg, ws: c, audio: a, ctx: sctx, stop: stop, inputs: make(chan voice.Input, 64),
		ready: make(chan error, 1), ended: make(chan struct{})}
	input := map[string]any{
		"format":         map[string]any{"type": "audio/pcmu"},
		"transcription":  map[string]any{"model": e.cfg.TranscriptionModel},
		"turn_detection": map[string]any{"type": "server_vad", "silence_duration_ms": e.cfg.Silence.Milliseconds(), "create_response": false, "interrupt_response": false},
	}
	if sc.Language != "" {
		lang, _, _ := strings.Cut(sc.Language, "-")
		input["transcription"].(map[string]any)["language"] = strings.ToLower(lang)
	}
	output := map[string]any{"format": map[string]any{"type": "audio/pcmu"}}
	if sc.Voice != "" {
		output["voice"] = sc.Voice
	}
	update := map[string]any{"type": "session.update", "session": map[string]any{
		"type": "realtime", "output_modalities": []string{"audio"},
		"instructions": "You are the voice of a phone agent. Speak only the lines you are asked to say, exactly as written.",
		"audio":        map[string]any{"input": input, "output": output}}}
	if err := s.send(dctx, update); err != nil {
		_ = c.CloseNow()
		stop()
		return nil, fmt.Errorf("configuring the realtime session: %w", err)
	}
	s.wg.Add(1)
	go s.read()
	select {
	case err := <-s.ready:
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("configuring the realtime session: %w", err)
		}
	case <-dctx.Done():
		_ = s.Close()
		return nil, fmt.Errorf("the realtime model did not confirm the session within %s", setupWait)
	}
	s.wg.Add(2)
	go s.pump()
	go s.watchMarks()
	return s, nil
}

// Session is one call's realtime session; it implements
// voice.SpeechConversation.
type Session struct {
	cfg    Config
	ws     *websocket.Conn
	audio  voice.Audio
	ctx    context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	inputs chan voice.Input
	ready  chan error
	ended  chan struct{} // closed when the call or the session ended

	mu      sync.Mutex
	isReady bool
	endErr  error // why the session ended: voice.ErrHungUp or the model's failure
	lines   int
	cur     *line
}

// line is one agent line being spoken: its response while the model
// generates it, then its audio playing at the provider until its mark.
type line struct {
	mark       string
	respID     string
	itemID     string
	generating bool
	playing    bool
	cut        bool // the caller talked over it
	done       chan struct{}
	transcript strings.Builder
	bytes      int
	first      time.Time
}

// send writes one client event.
func (s *Session) send(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return s.ws.Write(wctx, websocket.MessageText, b)
}

// end records why the session ended, once.
func (s *Session) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endErr != nil {
		return
	}
	s.endErr = err
	close(s.ended)
	if !s.isReady {
		s.isReady = true
		s.ready <- err
	}
	if s.cur != nil && s.cur.generating {
		s.cur.generating = false
		close(s.cur.done)
	}
}

func (s *Session) push(in voice.Input) {
	select {
	case s.inputs <- in:
	default:
		s.cfg.Logger.Warn("a caller's input dropped: the agent is not reading them", "kind", in.Kind)
	}
}

// pump streams the caller's audio to the model.
func (s *Session) pump() {
	defer s.wg.Done()
	for {
		c, err := s.audio.Recv(s.ctx)
		if err != nil {
			if errors.Is(err, voice.ErrHungUp) {
				s.end(voice.ErrHungUp)
			}
			return
		}
		if c.DTMF != "" {
			s.push(voice.Input{Kind: voice.InputDTMF, Text: c.DTMF})
			continue
		}
		if len(c.Audio) == 0 {
			continue
		}
		if err := s.send(s.ctx, map[string]any{"type": "input_audio_buffer.append", "audio": base64.StdEncoding.EncodeToString(c.Audio)}); err != nil {
			if s.ctx.Err() == nil {
				s.end(fmt.Errorf("streaming the caller's audio to the realtime model: %w", err))
			}
			return
		}
	}
}

// watchMarks notes when a line's audio finished playing.
func (s *Session) watchMarks() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case name := <-s.audio.Marks():
			s.mu.Lock()
			if s.cur != nil && s.cur.mark == name {
				s.cur.playing = false
			}
			s.mu.Unlock()
		}
	}
}

// serverEvent holds the fields of the server events the session reads.
type serverEvent struct {
	Type       string `json:"type"`
	Delta      string `json:"delta"`
	Transcript string `json:"transcript"`
	ItemID     string `json:"item_id"`
	ResponseID string `json:"response_id"`
	Response   *struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"response"`
	Item *struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	} `json:"item"`
	Error *struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Param   string `json:"param"`
		Message string `json:"message"`
	} `json:"error"`
}

// read handles the model's events until the session ends.
func (s *Session) read() {
	defer s.wg.Done()
	for {
		_, data, err := s.ws.Read(s.ctx)
		if err != nil {
			if s.ctx.Err() == nil {
				s.end(fmt.Errorf("the realtime model closed the session: %w", err))
			}
			return
		}
		var ev serverEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			s.cfg.Logger.Warn("an unreadable realtime event", "err", err)
			continue
		}
		s.handle(ev)
	}
}

func (s *Session) handle(ev serverEvent) {
	switch ev.Type {
	case "session.updated":
		s.mu.Lock()
		if !s.isReady {
			s.isReady = true
			s.ready <- nil
		}
		s.mu.Unlock()
	case "error":
		if ev.Error == nil {
			return
		}
		if ev.Error.Code == "response_cancel_not_active" {
			// The response finished before the cancel reached it.
			return
		}
		err := fmt.Errorf("the realtime model reported %s: %s", ev.Error.Code, ev.Error.Message)
		if ev.Error.Param != "" {
			err = fmt.Errorf("the realtime model reported %s for %s: %s", ev.Error.Code, ev.Error.Param, ev.Error.Message)
		}
		s.mu.Lock()
		setup := !s.isReady
		s.mu.Unlock()
		if setup {
			s.end(err)
			return
		}
		s.cfg.Logger.Warn("realtime model error", "type", ev.Error.Type, "code", ev.Error.Code, "message", ev.Error.Message)
	case "input_audio_buffer.speech_started":
		s.bargeIn()
	case "conversation.item.input_audio_transcription.completed":
		if t := strings.TrimSpace(ev.Transcript); t != "" {
			s.push(voice.Input{Kind: voice.InputSpeech, Text: t})
		}
	case "conversation.item.input_audio_transcription.failed":
		s.cfg.Logger.Warn("the realtime model could not transcribe the caller", "item", ev.ItemID)
	case "response.created":
		s.mu.Lock()
		if s.cur != nil && s.cur.generating && s.cur.respID == "" && ev.Response != nil {
			s.cur.respID = ev.Response.ID
		}
		s.mu.Unlock()
	case "response.output_item.added":
		s.mu.Lock()
		if l := s.cur; l != nil && l.generating && l.itemID == "" && ev.Item != nil {
			l.itemID = ev.Item.ID
		}
		s.mu.Unlock()
	case "response.output_audio.delta", "response.audio.delta":
		b, err := base64.StdEncoding.DecodeString(ev.Delta)
		if err != nil {
			s.cfg.Logger.Warn("a realtime audio delta that is not base64", "err", err)
			return
		}
		s.mu.Lock()
		l := s.cur
		live := l != nil && l.generating && !l.cut && (ev.ResponseID == "" || l.respID == "" || ev.ResponseID == l.respID)
		if live {
			if l.bytes == 0 {
				l.first = s.cfg.Clock.Now()
			}
			l.bytes += len(b)
			l.playing = true
		}
		s.mu.Unlock()
		if live {
			if err := s.audio.Play(s.ctx, b); err != nil && !errors.Is(err, voice.ErrHungUp) {
				s.cfg.Logger.Warn("playing the agent's audio", "err", err)
			}
		}
	case "response.output_audio_transcript.delta", "response.audio_transcript.delta":
		s.mu.Lock()
		if l := s.cur; l != nil && l.generating && !l.cut {
			l.transcript.WriteString(ev.Delta)
		}
		s.mu.Unlock()
	case "response.done":
		s.mu.Lock()
		l := s.cur
		if l == nil || !l.generating || ev.Response != nil && l.respID != "" && ev.Response.ID != l.respID {
			s.mu.Unlock()
			return
		}
		// generating is false from here, so end() leaves done to this
		// event; it is closed only once the mark is sent, or Say could
		// return and the agent transfer the call while the mark is still
		// on its way: it would then reach the caller's next stream, if
		// the transfer is not taken, and end that stream's first line.
		l.generating = false
		mark := ""
		if !l.cut && l.bytes > 0 {
			mark = l.mark
		}
		s.mu.Unlock()
		if mark != "" {
			// Twilio echoes the mark once the line's audio has played.
			if err := s.audio.Mark(s.ctx, mark); err != nil && !errors.Is(err, voice.ErrHungUp) {
				s.cfg.Logger.Warn("marking the end of the agent's line", "err", err)
			}
		}
		close(l.done)
	}
}

// bargeIn handles the caller starting to speak: if the agent's line is
// still generating or playing, it is cut where the caller heard it.
func (s *Session) bargeIn() {
	s.mu.Lock()
	l := s.cur
	if l == nil || l.cut || !l.generating && !l.playing {
		s.mu.Unlock()
		return
	}
	l.cut = true
	l.playing = false
	generating, respID, itemID := l.generating, l.respID, l.itemID
	// The provider plays in real time from the first byte: what was
	// played is what the time since then allows, at most what was sent.
	playedMs := 0
	if l.bytes > 0 {
		playedMs = int(min(int64(l.bytes/bytesPerMs), s.cfg.Clock.Now().Sub(l.first).Milliseconds()))
	}
	heard := heardPart(l.transcript.String(), playedMs, l.bytes/bytesPerMs)
	s.mu.Unlock()
	if err := s.audio.Clear(s.ctx); err != nil && !errors.Is(err, voice.ErrHungUp) {
		s.cfg.Logger.Warn("clearing the agent's audio on barge-in", "err", err)
	}
	if generating {
		cancel := map[string]any{"type": "response.cancel"}
		if respID != "" {
			cancel["response_id"] = respID
		}
		_ = s.send(s.ctx, cancel)
	}
	if itemID != "" {
		_ = s.send(s.ctx, map[string]any{"type": "conversation.item.truncate", "item_id": itemID, "content_index": 0, "audio_end_ms": playedMs})
	}
	s.push(voice.Input{Kind: voice.InputInterrupt, Heard: heard})
}

// heardPart is the share of a line's words that playedMs of its totalMs of
// audio carried, rounded down: the words the caller heard whole.
func heardPart(transcript string, playedMs, totalMs int) string {
	words := strings.Fields(transcript)
	if totalMs <= 0 || len(words) == 0 {
		return ""
	}
	n := int(math.Floor(float64(len(words)) * float64(playedMs) / float64(totalMs)))
	return strings.Join(words[:min(n, len(words))], " ")
}

// Say implements voice.Conversation: it asks the model to speak text and
// returns once the model has produced all of it (the provider may still be
// playing it), or the caller talked over it.
func (s *Session) Say(ctx context.Context, text string) error {
	s.mu.Lock()
	if s.endErr != nil {
		err := s.endErr
		s.mu.Unlock()
		return err
	}
	if s.cur != nil && s.cur.generating {
		s.mu.Unlock()
		return errors.New("the agent's previous line is still being spoken")
	}
	s.lines++
	l := &line{mark: "line-" + strconv.Itoa(s.lines), generating: true, done: make(chan struct{})}
	s.cur = l
	s.mu.Unlock()
	err := s.send(ctx, map[string]any{"type": "response.create", "response": map[string]any{
		"output_modalities": []string{"audio"}, "instructions": SayInstructions(text)}})
	if err != nil {
		return fmt.Errorf("asking the realtime model to speak: %w", err)
	}
	select {
	case <-l.done:
		s.mu.Lock()
		err := s.endErr
		s.mu.Unlock()
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Recv implements voice.Conversation.
func (s *Session) Recv(ctx context.Context) (voice.Input, error) {
	select {
	case in := <-s.inputs:
		return in, nil
	default:
	}
	select {
	case in := <-s.inputs:
		return in, nil
	case <-s.ended:
		select {
		case in := <-s.inputs:
			return in, nil
		default:
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return voice.Input{}, s.endErr
	case <-ctx.Done():
		return voice.Input{}, ctx.Err()
	}
}

// Close implements voice.SpeechConversation: the session's websocket is
// closed and its goroutines end. Nothing is lost: a call's session holds
// no data beyond the call, whose transcript the agent keeps.
func (s *Session) Close() error {
	s.stop()
	_ = s.ws.CloseNow()
	s.wg.Wait()
	s.end(voice.ErrHungUp)
	return nil
}
