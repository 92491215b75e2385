package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/sandboxllm"
)

// TestSandboxLLM: serve --sandbox registers the "Sandbox LLM" provider
// pointing at the fake's LLM; the provider check passes on every item and
// a generation streams its stages and a ready draft.
func TestSandboxLLM(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{StatusDelay: 5 * time.Millisecond}})
	info, err := s.App.StartSandbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	list := s.Must("GET", "/ai/providers/", nil, http.StatusOK)["results"].([]any)
	if len(list) != 1 {
		t.Fatalf("providers = %v", list)
	}
	p := list[0].(map[string]any)
	if p["id"] != info.LLMProviderID || p["name"] != app.SandboxLLMName || p["model"] != sandboxllm.Model ||
		!strings.HasSuffix(p["base_url"].(string), sandbox.LLMPath) {
		t.Fatalf("provider = %v (info %+v)", p, info)
	}
	check := s.Must("GET", "/ai/providers/"+info.LLMProviderID+"/check", nil, http.StatusOK)
	for _, k := range []string{"reachable", "model_exists", "json_mode", "streaming"} {
		if item := check[k].(map[string]any); item["ok"] != true {
			t.Errorf("check %s: %v", k, item)
		}
	}
	_, _, raw := s.Call("POST", "/ai/flows/generate", map[string]any{"description": "a satisfaction survey"})
	body := string(raw)
	for _, want := range []string{`"stage":"planning"`, `"stage":"drafting"`, `"stage":"test-running"`, "event: draft", `"status":"ready"`, "Customer satisfaction survey (drafted by the sandbox fake LLM)"} {
		if !strings.Contains(body, want) {
			t.Fatalf("generation stream lacks %s:\n%.2000s", want, body)
		}
	}
}
