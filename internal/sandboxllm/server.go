// Package sandboxllm is the sandbox's fake LLM: an OpenAI-compatible
// chat-completions endpoint (models, completions, streamed or not,
// response_format json_schema and json_object) that `serve --sandbox`
// registers as the project's "Sandbox LLM" provider, so the AI features
// can be tried without an account or a model. It is not a model: it
// answers deterministically from the request — a chat flow built from the
// built-in template whose words best match the description (or a linear
// flow from an outline), a simple edit instruction applied to the flow it
// is sent, a WhatsApp Flow from a template, and otherwise a JSON value
// shaped by the request's schema or a labelled text reply. Go tests that
// need a scripted fake use internal/ai/aitest instead.
package sandboxllm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Model is the one model the fake serves.
const Model = "parley-sandbox-fake"

// Label prefixes the fake's free-text answers, so nobody mistakes them for
// a model's.
const Label = "[Sandbox LLM — a fake, not a model]"

// Handler serves the fake's API with paths relative to its base URL
// (GET /models, POST /chat/completions); mount it under a prefix with
// http.StripPrefix. ChunkDelay paces a streamed answer's chunks so a UI
// shows progress; 0 streams at once.
func Handler(chunkDelay time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /models", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{
			map[string]any{"id": Model, "object": "model", "created": 1767225600, "owned_by": "parley-sandbox"}}})
	})
	mux.HandleFunc("POST /chat/completions", func(w http.ResponseWriter, r *http.Request) { complete(w, r, chunkDelay) })
	return mux
}

// request is the part of a chat-completions request the fake reads.
type request struct {
	Model          string    `json:"model"`
	Messages       []message `json:"messages"`
	Stream         bool      `json:"stream"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text is a message's content: a string, or the text parts of an array.
func (m message) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(m.Content, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// Conversation is a request as the answer builders read it.
type Conversation struct {
	System string
	// Users are the user messages in order; Last is the last one.
	Users []string
	Last  string
	// Schema is the response_format's schema and SchemaName its name
	// (empty in json_object mode, where the schema is in the prompt).
	Schema     json.RawMessage
	SchemaName string
	// JSON is true when the request asked for JSON.
	JSON bool
}

func complete(w http.ResponseWriter, r *http.Request, delay time.Duration) {
	var req request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "the request body is not a chat-completions request: "+err.Error())
		return
	}
	if req.Model != Model {
		apiError(w, http.StatusNotFound, "model_not_found", fmt.Sprintf("The model %q does not exist: the sandbox LLM serves only %q.", req.Model, Model))
		return
	}
	if len(req.Messages) == 0 {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "messages must not be empty")
		return
	}
	c := Conversation{}
	for _, m := range req.Messages {
		switch m.Role {
		case "system", "developer":
			c.System += m.text() + "\n"
		case "user":
			c.Users = append(c.Users, m.text())
		}
	}
	if len(c.Users) > 0 {
		c.Last = c.Users[len(c.Users)-1]
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != "" && rf.Type != "text" {
		c.JSON = true
		if rf.JSONSchema != nil {
			c.Schema, c.SchemaName = rf.JSONSchema.Schema, rf.JSONSchema.Name
		}
	}
	content := Answer(c)
	promptTokens := 0
	for _, m := range req.Messages {
		promptTokens += len(m.Content)/4 + 1
	}
	outTokens := len(content)/4 + 1
	id := fmt.Sprintf("chatcmpl-sandbox-%d", time.Now().UnixNano())
	if !req.Stream {
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": promptTokens, "completion_tokens": outTokens, "total_tokens": promptTokens + outTokens}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	runes := []rune(content)
	const size = 100
	for i := 0; i < len(runes); i += size {
		if delay > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(delay):
			}
		}
		send(chunk(map[string]any{"content": string(runes[i:min(i+size, len(runes))])}, nil))
	}
	send(chunk(map[string]any{}, "stop"))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": Model, "choices": []any{},
			"usage": map[string]any{"prompt_tokens": promptTokens, "completion_tokens": outTokens, "total_tokens": promptTokens + outTokens}})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers the way OpenAI does.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": code}})
}
