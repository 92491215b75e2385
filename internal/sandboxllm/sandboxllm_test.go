package sandboxllm_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/sandboxllm"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

type clock struct{}

func (clock) Now() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

type ids struct{ n atomic.Int64 }

func (i *ids) NewID() string { return fmt.Sprintf("id-%d", i.n.Add(1)) }

// newService is the real AI service with one provider pointing at the fake.
func newService(t *testing.T, mode string) (*ai.Service, store.AIProvider) {
	t.Helper()
	st := testdb.OpenSQLite(t, store.OpenOptions{})
	if _, err := st.ProjectCreate(context.Background(), store.ProjectCreateParams{ID: "p1", Name: "P", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/v1", sandboxllm.Handler(0)))
	t.Cleanup(srv.Close)
	svc := ai.New(ai.Deps{Store: st, Clock: clock{}, IDs: &ids{}})
	p, err := svc.Create(context.Background(), "p1", ai.ProviderInput{Name: "Sandbox LLM", BaseURL: srv.URL + "/v1", Model: sandboxllm.Model, JSONMode: mode})
	if err != nil {
		t.Fatal(err)
	}
	return svc, p
}

func TestGenerateFromTemplates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc, outline, mode, wantName string
		wantTests                     int
	}{
		{desc: "Let customers book a haircut appointment", wantName: "Appointment booking", wantTests: 3},
		{desc: "A satisfaction survey after support", wantName: "Customer satisfaction survey", wantTests: 3},
		{desc: "Capture leads asking for pricing and their email", wantName: "Lead capture", wantTests: 3},
		{desc: "Take pizza orders for delivery", wantName: "Order form", wantTests: 3, mode: ai.JSONObject},
		{desc: "Answer support questions with a menu", wantName: "FAQ / support menu", wantTests: 1},
		{desc: "zzz qqq", wantName: "FAQ / support menu", wantTests: 1},
		{outline: "- say: Welcome to our newsletter\n- ask: What is your email?\n- ask: How many issues a month?\n- say: Done", wantName: "Flow from an outline", wantTests: 2},
	} {
		t.Run(tc.desc+tc.outline, func(t *testing.T) {
			t.Parallel()
			svc, _ := newService(t, tc.mode)
			var stages []string
			d, err := svc.Generate(context.Background(), ai.GenerateParams{ProjectID: "p1", Description: tc.desc, Outline: tc.outline},
				func(p ai.Progress) { stages = append(stages, p.Stage) })
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != "ready" || !d.Lints || d.Rounds != 0 {
				t.Fatalf("status %s lints %v rounds %d problems %v tests %+v", d.Status, d.Lints, d.Rounds, d.Problems, d.Tests)
			}
			if len(d.Name) < len(tc.wantName) || d.Name[:len(tc.wantName)] != tc.wantName {
				t.Errorf("name %q, want %q…", d.Name, tc.wantName)
			}
			if len(d.Tests) != tc.wantTests {
				t.Errorf("%d tests, want %d", len(d.Tests), tc.wantTests)
			}
			if stages[len(stages)-1] != ai.StageDone {
				t.Errorf("stages %v", stages)
			}
		})
	}
}

// TestFailToken: "#fail" makes every answer invalid, so the generator
// returns its best draft with the problems after three repair rounds.
func TestFailToken(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, "")
	d, err := svc.Generate(context.Background(), ai.GenerateParams{ProjectID: "p1", Description: "a survey #fail"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != "has_problems" || d.Lints || d.Rounds != ai.MaxRepairRounds || len(d.Problems.Errors()) == 0 || len(d.Tests) != 0 {
		t.Fatalf("status %s lints %v rounds %d problems %v", d.Status, d.Lints, d.Rounds, d.Problems)
	}
}
