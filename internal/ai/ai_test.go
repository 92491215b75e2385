package ai_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
	"github.com/parleyhq/parley/internal/waflow"
)

type clock struct{}

func (clock) Now() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

type ids struct{ n atomic.Int64 }

func (i *ids) NewID() string { return fmt.Sprintf("id-%d", i.n.Add(1)) }

// ValidFlow is a generator answer that lints: a keyword start, a question
// with two buttons and an end on each path.
const ValidFlow = `{"name":"Opt-in","nodes":[
 {"id":"start","type":"start","data":{"trigger":{"type":"keyword","keywords":["news"],"match":"exact"}}},
 {"id":"ask","type":"message","data":{"text":"Do you want our newsletter?","buttons":["Yes","No"],"timeout_seconds":3600}},
 {"id":"yes","type":"message","data":{"text":"Subscribed!"}},
 {"id":"no","type":"message","data":{"text":"OK, maybe later."}},
 {"id":"end","type":"end","data":{}}],
 "edges":[{"id":"e1","source":"start","source_handle":"next","target":"ask"},
 {"id":"e2","source":"ask","source_handle":"Yes","target":"yes"},
 {"id":"e3","source":"ask","source_handle":"No","target":"no"},
 {"id":"e4","source":"ask","source_handle":"other","target":"no"},
 {"id":"e5","source":"ask","source_handle":"timeout","target":"end"},
 {"id":"e6","source":"yes","source_handle":"next","target":"end"},
 {"id":"e7","source":"no","source_handle":"next","target":"end"}],
 "tests":[{"name":"says yes","messages":["news","Yes"],"expect":"completed"},
          {"name":"no answer yet","messages":["news"],"expect":"waiting"}]}`

type env struct {
	svc   *ai.Service
	fake  *aitest.Server
	st    store.Store
	box   *secret.Box
	flows *chatflow.Service
	forms *waflow.Service
}

func newEnv(t *testing.T) env {
	t.Helper()
	st := testdb.OpenSQLite(t, store.OpenOptions{})
	if _, err := st.ProjectCreate(context.Background(), store.ProjectCreateParams{ID: "p1", Name: "P", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox([]byte(strings.Repeat("k", secret.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	fake := aitest.New("qwen2.5:7b")
	t.Cleanup(fake.Close)
	flows := chatflow.New(st, clock{}, &ids{})
	forms := waflow.New(waflow.Deps{Store: st, Clock: clock{}, IDs: &ids{}})
	return env{svc: ai.New(ai.Deps{Store: st, Box: box, Clock: clock{}, IDs: &ids{}, Flows: flows, Forms: forms}), fake: fake, st: st, box: box, flows: flows, forms: forms}
}

func (e env) provider(t *testing.T, mode string, timeout int) store.AIProvider {
	t.Helper()
	key := "sk-test-123"
	p, err := e.svc.Create(context.Background(), "p1", ai.ProviderInput{Name: "fake", BaseURL: e.fake.BaseURL(), Model: "qwen2.5:7b",
		APIKey: &key, JSONMode: mode, TimeoutSeconds: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProviderValidationAndSealing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		in  ai.ProviderInput
		ptr string
	}{
		{ai.ProviderInput{BaseURL: "http://x", Model: "m"}, "/name"},
		{ai.ProviderInput{Name: "a", BaseURL: "ftp://x", Model: "m"}, "/base_url"},
		{ai.ProviderInput{Name: "a", BaseURL: "http://x"}, "/model"},
		{ai.ProviderInput{Name: "a", BaseURL: "http://x", Model: "m", JSONMode: "tools"}, "/json_mode"},
		{ai.ProviderInput{Name: "a", BaseURL: "http://x", Model: "m", TimeoutSeconds: 5000}, "/timeout_seconds"},
		{ai.ProviderInput{Name: "a", BaseURL: "http://x", Model: "m", MaxTokens: 10}, "/max_tokens"},
	} {
		_, err := e.svc.Create(ctx, "p1", tc.in)
		var de *domain.Error
		if !errorsAs(err, &de) || de.Code != domain.CodeInvalid || de.Fields[0].Pointer != tc.ptr {
			t.Errorf("%+v: err = %v, want invalid at %s", tc.in, err, tc.ptr)
		}
	}
	p := e.provider(t, "", 0)
	if p.APIKeySealed == "" || strings.Contains(p.APIKeySealed, "sk-test") || p.JSONMode != ai.JSONSchema || p.TimeoutSeconds != ai.DefaultTimeoutSeconds {
		t.Fatalf("stored = %+v", p)
	}
	if _, err := e.svc.Complete(ctx, p, ai.Request{Messages: []ai.Message{{Role: "user", Content: "hi"}}}); err == nil {
		t.Fatal("want an error from the empty script")
	}
	if got := e.fake.Requests()[0].Authorization; got != "Bearer sk-test-123" {
		t.Errorf("Authorization = %q", got)
	}
	// Update without a key keeps it; with an empty one removes it.
	p2, err := e.svc.Update(ctx, store.Ref{ProjectID: "p1", ID: p.ID}, ai.ProviderInput{Name: "fake", BaseURL: e.fake.BaseURL(), Model: "qwen2.5:7b"})
	if err != nil || p2.APIKeySealed != p.APIKeySealed {
		t.Fatalf("update kept key? %v %+v", err, p2)
	}
	empty := ""
	p2, err = e.svc.Update(ctx, store.Ref{ProjectID: "p1", ID: p.ID}, ai.ProviderInput{Name: "fake", BaseURL: e.fake.BaseURL(), Model: "qwen2.5:7b", APIKey: &empty})
	if err != nil || p2.APIKeySealed != "" {
		t.Fatalf("update removed key? %v %+v", err, p2)
	}
}

func TestNoProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.Generate(context.Background(), ai.GenerateParams{ProjectID: "p1", Description: "x"}, nil)
	if domain.CodeOf(err) != domain.CodeConflict || !strings.Contains(err.Error(), "no AI provider configured") || !strings.Contains(err.Error(), "11434") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		model   string
		replies []aitest.Reply
		want    [4]bool
	}{
		{"all good", "qwen2.5:7b", []aitest.Reply{{Content: `{"ok":true}`}, {Content: "yes"}}, [4]bool{true, true, true, true}},
		{"no JSON, stream cut", "qwen2.5:7b", []aitest.Reply{{Content: "sure!"}, {Content: "hello there", Truncate: true}}, [4]bool{true, true, false, false}},
		{"unknown model", "llama9", nil, [4]bool{true, false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			p, err := e.svc.Create(context.Background(), "p1", ai.ProviderInput{Name: "f", BaseURL: e.fake.BaseURL(), Model: tc.model})
			if err != nil {
				t.Fatal(err)
			}
			e.fake.Script(tc.replies...)
			r, err := e.svc.Check(context.Background(), store.Ref{ProjectID: "p1", ID: p.ID})
			if err != nil {
				t.Fatal(err)
			}
			got := [4]bool{r.Reachable.OK, r.ModelExists.OK, r.JSONMode.OK, r.Streaming.OK}
			if got != tc.want {
				t.Fatalf("check = %+v, want %v", r, tc.want)
			}
		})
	}
	// A slow model, non-streaming (the JSON probe) and streaming.
	slow := newEnv(t)
	sp, _ := slow.svc.Create(context.Background(), "p1", ai.ProviderInput{Name: "f", BaseURL: slow.fake.BaseURL(), Model: "qwen2.5:7b", TimeoutSeconds: 1})
	slow.fake.Script(aitest.Reply{Content: `{"ok":true}`, Delay: 5 * time.Second}, aitest.Reply{Content: "hi", Delay: 5 * time.Second})
	r, err := slow.svc.Check(context.Background(), store.Ref{ProjectID: "p1", ID: sp.ID})
	if err != nil || !r.Reachable.OK || r.JSONMode.OK || r.Streaming.OK ||
		!strings.Contains(r.JSONMode.Detail, "did not answer within 1s") || !strings.Contains(r.Streaming.Detail, "did not answer within 1s") {
		t.Fatalf("slow: %v %+v", err, r)
	}
	// Unreachable.
	e := newEnv(t)
	p, _ := e.svc.Create(context.Background(), "p1", ai.ProviderInput{Name: "f", BaseURL: "http://127.0.0.1:1/v1", Model: "m"})
	r, err = e.svc.Check(context.Background(), store.Ref{ProjectID: "p1", ID: p.ID})
	if err != nil || r.Reachable.OK || !strings.Contains(r.Reachable.Detail, "could not be reached") {
		t.Fatalf("unreachable: %v %+v", err, r)
	}
}
