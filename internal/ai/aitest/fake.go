// Package aitest is a fake OpenAI-compatible server for tests and the
// sandbox: it answers /models and /chat/completions (streaming as
// server-sent events and not) from a script of replies, one per request,
// the way OpenAI and Ollama's /v1 answer.
package aitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Reply is one scripted answer to a chat completion.
type Reply struct {
	// Content is the assistant message's text.
	Content string
	// Status, when not 0 or 200, answers with this HTTP status and an
	// OpenAI error body instead.
	Status int
	// FinishReason defaults to "stop".
	FinishReason string
	// Truncate cuts a streamed answer after half its content, without a
	// finish reason or [DONE], as a dropped connection does.
	Truncate bool
	// Delay waits before answering (a slow model); the request's context
	// ends the wait.
	Delay time.Duration
}

// Request is what the fake received.
type Request struct {
	Model          string          `json:"model"`
	Stream         bool            `json:"stream"`
	ResponseFormat json.RawMessage `json:"response_format"`
	ToolChoice     json.RawMessage `json:"tool_choice"`
	Messages       []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Authorization string `json:"-"`
}

// Server is a fake; New starts it on a local port, NewHandler serves it
// from another server's mux (the sandbox's).
type Server struct {
	*httptest.Server
	mux      *http.ServeMux
	mu       sync.Mutex
	models   []string
	script   []Reply
	fallback func(Request) Reply
	requests []Request
}

// New starts a fake serving models; its base URL (for a provider) is URL()+"/v1".
func New(models ...string) *Server {
	s := NewHandler(models...)
	s.Server = httptest.NewServer(s.mux)
	return s
}

// NewHandler returns a fake that is not listening: serve it (ServeHTTP)
// under a prefix of another server; the provider's base URL is that
// prefix plus "/v1".
func NewHandler(models ...string) *Server {
	s := &Server{models: models, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/models", s.listModels)
	s.mux.HandleFunc("POST /v1/chat/completions", s.complete)
	return s
}

// ServeHTTP serves the OpenAI-compatible API (paths /v1/...).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// BaseURL is the API root to configure a provider with (New's fakes).
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Script queues replies, answered in order.
func (s *Server) Script(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, r...)
}

// Fallback answers when the script is exhausted (otherwise a 500 saying so).
func (s *Server) Fallback(fn func(Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = fn
}

// Requests returns what was received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	typ := "server_error"
	if status == http.StatusTooManyRequests {
		typ = "rate_limit_exceeded"
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": nil}})
}

func (s *Server) listModels(w http.ResponseWriter, _ *http.Request) {
	data := make([]map[string]any, len(s.models))
	for i, m := range s.models {
		data[i] = map[string]any{"id": m, "object": "model", "created": 1700000000, "owned_by": "parley-fake"}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request) {
	var req Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	req.Authorization = r.Header.Get("Authorization")
	s.mu.Lock()
	s.requests = append(s.requests, req)
	var rep Reply
	switch {
	case len(s.script) > 0:
		rep, s.script = s.script[0], s.script[1:]
	case s.fallback != nil:
		rep = s.fallback(req)
	default:
		rep = Reply{Status: http.StatusInternalServerError, Content: "the fake's script is exhausted"}
	}
	s.mu.Unlock()
	if !knownModel(s.models, req.Model) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", req.Model))
		return
	}
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if rep.Status != 0 && rep.Status != http.StatusOK {
		if rep.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "20")
		}
		writeError(w, rep.Status, rep.Content)
		return
	}
	finish := rep.FinishReason
	if finish == "" {
		finish = "stop"
	}
	id, created := "chatcmpl-fake", time.Now().Unix()
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": rep.Content}, "finish_reason": finish}},
			"usage":   map[string]any{"prompt_tokens": promptTokens(req), "completion_tokens": len(rep.Content) / 4, "total_tokens": promptTokens(req) + len(rep.Content)/4}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	content := rep.Content
	if rep.Truncate {
		content = content[:len(content)/2]
	}
	for len(content) > 0 {
		n := min(len(content), 64)
		send(chunk(map[string]any{"content": content[:n]}, nil))
		content = content[n:]
	}
	if rep.Truncate {
		return
	}
	send(chunk(map[string]any{}, finish))
	send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model, "choices": []any{},
		"usage": map[string]any{"prompt_tokens": promptTokens(req), "completion_tokens": len(rep.Content) / 4, "total_tokens": promptTokens(req) + len(rep.Content)/4}})
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func knownModel(models []string, m string) bool {
	for _, x := range models {
		if x == m {
			return true
		}
	}
	return false
}

func promptTokens(r Request) int {
	n := 0
	for _, m := range r.Messages {
		n += len(strings.Fields(m.Content))
	}
	return n
}
