package sandboxllm_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/sandboxllm"
)

// TestHandlerProtocol: the fake answers like OpenAI — its model listed, a
// wrong model or body refused with an error object, an answer streamed as
// chunks with a finish reason, usage and [DONE].
func TestHandlerProtocol(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(sandboxllm.Handler(0))
	t.Cleanup(srv.Close)
	post := func(body string) *http.Response {
		t.Helper()
		res, err := http.Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	res, err := http.Get(srv.URL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	var models struct{ Data []struct{ ID string } }
	_ = json.NewDecoder(res.Body).Decode(&models)
	res.Body.Close()
	if len(models.Data) != 1 || models.Data[0].ID != sandboxllm.Model {
		t.Fatalf("models = %+v", models)
	}
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, 404, "model_not_found"},
		{`{"model":"` + sandboxllm.Model + `","messages":[]}`, 400, "messages must not be empty"},
		{`not json`, 400, "invalid_request_error"},
		{`{"model":"` + sandboxllm.Model + `","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, 200, sandboxllm.Label},
	} {
		res := post(tc.body)
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		if b, _ := json.Marshal(out); res.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %s", tc.body, res.StatusCode, b)
		}
	}
	res = post(`{"model":"` + sandboxllm.Model + `","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"Answer with the JSON object {\"ok\": true} and nothing else."},{"role":"user","content":"?"}],"response_format":{"type":"json_object"}}`)
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var content, finish string
	usage, done := false, false
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			done = true
			break
		}
		var ch struct {
			Choices []struct {
				Delta        struct{ Content string }
				FinishReason *string `json:"finish_reason"`
			}
			Usage *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("chunk %q: %v", line, err)
		}
		for _, c := range ch.Choices {
			content += c.Delta.Content
			if c.FinishReason != nil {
				finish = *c.FinishReason
			}
		}
		usage = usage || (ch.Usage != nil && ch.Usage.CompletionTokens > 0)
	}
	if content != `{"ok":true}` || finish != "stop" || !usage || !done {
		t.Fatalf("stream: content %q finish %q usage %v done %v", content, finish, usage, done)
	}
}
