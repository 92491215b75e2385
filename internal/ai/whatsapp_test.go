package ai_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/waflow"
	"github.com/parleyhq/parley/internal/waform"
)

func formAnswer(t *testing.T, name, flowJSON string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"name": name, "categories": []string{"LEAD_GENERATION"}, "flow": json.RawMessage(flowJSON)})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func leadJSON(t *testing.T) string {
	t.Helper()
	tpl, ok := waform.TemplateByID("lead_capture")
	if !ok {
		t.Fatal("no lead_capture template")
	}
	return string(tpl.JSON)
}

func TestGenerateForm(t *testing.T) {
	t.Parallel()
	lead := leadJSON(t)
	valid := formAnswer(t, "Lead form", lead)
	longLabel := formAnswer(t, "Lead form", strings.Replace(lead, `"label": "Full name"`, `"label": "Your full name as on your passport"`, 1))
	badAction := formAnswer(t, "Lead form", strings.Replace(lead, `"name": "complete"`, `"name": "finish"`, 1))
	oldVersion := formAnswer(t, "Lead form", strings.Replace(lead, `"7.3"`, `"6.0"`, 1))
	flowNotObject := `{"name":"x","categories":["OTHER"],"flow":"screens go here"}`
	for _, tc := range []struct {
		name      string
		mode      string
		timeout   int
		replies   []aitest.Reply
		status    string
		errCode   domain.Code
		errText   string
		rounds    int
		repairHas []string
		problem   string // a problem code the result must list
	}{
		{name: "valid at once", replies: []aitest.Reply{{Content: valid}}, status: "ready"},
		{name: "json_object mode, fenced", mode: ai.JSONObject, replies: []aitest.Reply{{Content: "```json\n" + valid + "\n```"}}, status: "ready"},
		{name: "invalid JSON repaired", replies: []aitest.Reply{{Content: `{"name":"x","flow":{`}, {Content: valid}}, status: "ready", rounds: 1, repairHas: []string{"INVALID_FLOW_JSON"}},
		{name: "schema violation repaired", replies: []aitest.Reply{{Content: flowNotObject}, {Content: valid}}, status: "ready", rounds: 1, repairHas: []string{"/flow"}},
		{name: "validator error repaired with line and pointer", replies: []aitest.Reply{{Content: longLabel}, {Content: valid}}, status: "ready", rounds: 1,
			repairHas: []string{"line 24, column 22", "/screens/0/layout/children/2/label", "INVALID_PROPERTY_VALUE", "at most 20"}},
		{name: "old version repaired", replies: []aitest.Reply{{Content: oldVersion}, {Content: valid}}, status: "ready", rounds: 1, repairHas: []string{`"7.3"`, "/version"}},
		{name: "never valid: best attempt, not saved", replies: []aitest.Reply{{Content: badAction}, {Content: flowNotObject}, {Content: longLabel}, {Content: badAction}},
			status: "has_problems", rounds: 3, problem: "INVALID_ENUM_VALUE"},
		{name: "truncated stream", replies: []aitest.Reply{{Content: valid, Truncate: true}}, errCode: domain.CodeUnavailable, errText: "ended its stream"},
		{name: "429", replies: []aitest.Reply{{Status: http.StatusTooManyRequests, Content: "Rate limit reached"}}, errCode: domain.CodeRateLimited, errText: "429"},
		{name: "500", replies: []aitest.Reply{{Status: 500, Content: "model crashed"}}, errCode: domain.CodeUnavailable, errText: "model crashed"},
		{name: "502 during repair keeps the best", replies: []aitest.Reply{{Content: longLabel}, {Status: 502, Content: "bad gateway"}}, status: "has_problems", rounds: 1, problem: "INVALID_PROPERTY_VALUE"},
		{name: "slow answer times out", timeout: 1, replies: []aitest.Reply{{Content: valid, Delay: 5 * time.Second}}, errCode: domain.CodeUnavailable, errText: "did not answer within 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.provider(t, tc.mode, tc.timeout)
			e.fake.Script(tc.replies...)
			var stages []string
			r, err := e.svc.GenerateForm(context.Background(), ai.FormGenerateParams{ProjectID: "p1", Description: "capture leads: name, company, email"}, func(p ai.Progress) {
				stages = append(stages, p.Stage)
			})
			l, lerr := e.st.WhatsAppFlowList(context.Background(), store.WhatsAppFlowListParams{ProjectID: "p1"})
			if lerr != nil {
				t.Fatal(lerr)
			}
			switch {
			case tc.status == "":
				if domain.CodeOf(err) != tc.errCode || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want %s containing %q", err, tc.errCode, tc.errText)
				}
				if len(l.Items) != 0 {
					t.Fatalf("saved after a failure: %+v", l.Items)
				}
			case tc.status == "ready":
				if err != nil || r.Status != "ready" || r.Rounds != tc.rounds || r.Flow == nil {
					t.Fatalf("result = %v %+v", err, r)
				}
				if len(l.Items) != 1 || l.Items[0].ID != r.Flow.ID || l.Items[0].Status != store.WhatsAppFlowDraft || l.Items[0].MetaFlowID != "" ||
					l.Items[0].Name != "Lead form" || l.Items[0].Categories[0] != "LEAD_GENERATION" || len(waflow.Problems(l.Items[0])) != 0 {
					t.Fatalf("stored = %+v", l.Items)
				}
				if !waform.Validate([]byte(r.FlowJSON)).Valid() || !strings.Contains(r.FlowJSON, "\n  \"screens\"") {
					t.Errorf("flow_json = %s", r.FlowJSON)
				}
				if !strings.Contains(strings.Join(stages, ","), "saving,done") {
					t.Errorf("stages = %v", stages)
				}
			default:
				if err != nil || r.Status != tc.status || r.Rounds != tc.rounds || r.Flow != nil || !strings.Contains(r.Note, "nothing was saved") {
					t.Fatalf("result = %v %+v", err, r)
				}
				if len(l.Items) != 0 {
					t.Fatalf("an invalid flow was saved: %+v", l.Items)
				}
				found := false
				for _, p := range r.Problems {
					found = found || p.Error == tc.problem && p.Pointer != ""
				}
				if !found || r.FlowJSON == "" {
					t.Errorf("problems %+v lack %s (flow_json %d chars)", r.Problems, tc.problem, len(r.FlowJSON))
				}
			}
			reqs := e.fake.Requests()
			if len(reqs) > 0 && !strings.Contains(reqs[0].Messages[0].Content, `"version":"7.3"`) {
				t.Error("the prompt shows no example of the latest version")
			}
			for i, r := range reqs {
				want := `"whatsapp_flow"`
				if tc.mode == ai.JSONObject {
					want = `"json_object"`
					if !strings.Contains(r.Messages[0].Content, `"enum":["SIGN_UP"`) {
						t.Errorf("request %d: json_object mode without the schema in the prompt", i)
					}
				}
				if !strings.Contains(string(r.ResponseFormat), want) || len(r.ToolChoice) > 0 {
					t.Errorf("request %d response_format %s", i, r.ResponseFormat)
				}
			}
			for _, want := range tc.repairHas {
				if len(reqs) < 2 || !strings.Contains(reqs[1].Messages[len(reqs[1].Messages)-1].Content, want) {
					t.Errorf("repair request lacks %q: %q", want, reqs[len(reqs)-1].Messages[len(reqs[len(reqs)-1].Messages)-1].Content)
				}
			}
		})
	}
}

func TestGenerateFormRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.GenerateForm(ctx, ai.FormGenerateParams{ProjectID: "p1", Description: "x"}, nil); domain.CodeOf(err) != domain.CodeConflict || !strings.Contains(err.Error(), "no AI provider configured") {
		t.Fatalf("no provider: %v", err)
	}
	if _, err := e.svc.UpdateForm(ctx, ai.FormUpdateParams{ProjectID: "p1", ID: "nope", Instruction: "x"}, nil); domain.CodeOf(err) != domain.CodeNotFound {
		t.Fatalf("unknown flow: %v", err)
	}
	e.provider(t, "", 0)
	for _, p := range []ai.FormGenerateParams{{ProjectID: "p1"}, {ProjectID: "p1", Description: "x", Categories: []string{"GAMES"}}, {ProjectID: "p1", Description: "x", ChannelID: "nope"}} {
		if _, err := e.svc.GenerateForm(ctx, p, nil); domain.CodeOf(err) != domain.CodeInvalid {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if len(e.fake.Requests()) != 0 {
		t.Error("a refused generation called the model")
	}
}

func TestUpdateForm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lead := leadJSON(t)
	changed := formAnswer(t, "ignored", strings.Replace(lead, `"Get in touch"`, `"Talk to us"`, 1))
	for _, tc := range []struct {
		name    string
		replies []aitest.Reply
		moved   bool // the flow is saved by someone else while the model answers
		timeout int
		status  string
		errCode domain.Code
	}{
		{name: "valid change saved, Meta ID kept", replies: []aitest.Reply{{Content: changed}}, status: "ready"},
		{name: "repaired", replies: []aitest.Reply{{Content: formAnswer(t, "x", strings.Replace(lead, `"name": "complete"`, `"name": "finish"`, 1))}, {Content: changed}}, status: "ready"},
		{name: "never valid", replies: []aitest.Reply{{Content: "nope"}, {Content: "nope"}, {Content: "nope"}, {Content: "nope"}}, status: "has_problems"},
		{name: "flow moved meanwhile", moved: true, replies: []aitest.Reply{{Content: changed}}, errCode: domain.CodeConflict},
		{name: "429", replies: []aitest.Reply{{Status: 429, Content: "slow down"}}, errCode: domain.CodeRateLimited},
		{name: "503", replies: []aitest.Reply{{Status: 503, Content: "overloaded"}}, errCode: domain.CodeUnavailable},
		{name: "truncated stream", replies: []aitest.Reply{{Content: changed, Truncate: true}}, errCode: domain.CodeUnavailable},
		{name: "slow answer times out", timeout: 1, replies: []aitest.Reply{{Content: changed, Delay: 5 * time.Second}}, errCode: domain.CodeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.provider(t, "", tc.timeout)
			f, err := e.forms.Create(ctx, waflow.CreateParams{ProjectID: "p1", Name: "Leads", Categories: []string{"LEAD_GENERATION"}, JSON: lead})
			if err != nil {
				t.Fatal(err)
			}
			// As if it had been created at Meta and published.
			f.MetaFlowID, f.Status = "meta-123", store.WhatsAppFlowPublished
			if f, err = e.st.WhatsAppFlowUpdate(ctx, f); err != nil {
				t.Fatal(err)
			}
			if tc.moved {
				e.fake.Fallback(func(aitest.Request) aitest.Reply {
					name := "Leads v2"
					if _, err := e.forms.Update(ctx, waflow.UpdateParams{ProjectID: "p1", ID: f.ID, Name: &name}); err != nil {
						t.Error(err)
					}
					return aitest.Reply{Content: changed}
				})
			} else {
				e.fake.Script(tc.replies...)
			}
			r, err := e.svc.UpdateForm(ctx, ai.FormUpdateParams{ProjectID: "p1", ID: f.ID, Instruction: "title: Talk to us"}, nil)
			now, gerr := e.forms.Get(ctx, "p1", f.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tc.errCode != "" {
				if domain.CodeOf(err) != tc.errCode || now.JSON != lead {
					t.Fatalf("err = %v (want %s), json changed: %v", err, tc.errCode, now.JSON != lead)
				}
				return
			}
			if err != nil || r.Status != tc.status || r.BaseVersion != f.Version {
				t.Fatalf("result = %v %+v", err, r)
			}
			if tc.status != "ready" {
				if r.Flow != nil || now.JSON != lead || now.Version != f.Version {
					t.Fatalf("an invalid change was saved: %+v", now)
				}
				return
			}
			if r.Flow == nil || now.Version != f.Version+1 || !strings.Contains(now.JSON, "Talk to us") || now.MetaFlowID != "meta-123" ||
				now.Status != store.WhatsAppFlowDraft || now.Name != "Leads" || !strings.Contains(r.Note, "meta-123") {
				t.Fatalf("saved = %+v, note %q", now, r.Note)
			}
			if !strings.Contains(e.fake.Requests()[0].Messages[1].Content, "Get in touch") {
				t.Error("the model was not shown the current flow")
			}
		})
	}
}

func TestCheckForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	bad := strings.Replace(leadJSON(t), `"label": "Full name"`, `"label": "Your full name as on your passport"`, 1)
	f, err := e.forms.Create(ctx, waflow.CreateParams{ProjectID: "p1", Name: "Leads", Categories: []string{"LEAD_GENERATION"}, JSON: bad})
	if err != nil {
		t.Fatal(err)
	}
	// Meta's verdict from a sync is kept beside ours.
	meta, _ := json.Marshal([]channel.FormProblem{{Error: "INVALID_PROPERTY_VALUE", Message: "Invalid value for property 'title'", LineStart: 5, ColumnStart: 16, Source: "meta"}})
	f.ValidationErrors = meta
	if _, err := e.st.WhatsAppFlowUpdate(ctx, f); err != nil {
		t.Fatal(err)
	}
	// No provider is needed.
	c, err := e.svc.CheckForm(ctx, "p1", f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Valid || len(c.Problems) != 2 || !strings.Contains(c.Summary, "1 from Parley's validator, 1 from Meta") ||
		!strings.HasPrefix(c.Instruction, "Fix these problems") || strings.Count(c.Instruction, "\n- ") != 2 {
		t.Fatalf("check = %+v", c)
	}
	want := []string{"line 15, column 59, /screens/0/layout/children/2/label: Property 'label' is 34 characters; at most 20 are allowed (INVALID_PROPERTY_VALUE, Parley's validator)",
		"line 5, column 16: Invalid value for property 'title' (INVALID_PROPERTY_VALUE, Meta)"}
	for i, w := range want {
		if c.Problems[i].Text != w {
			t.Errorf("problem %d = %q, want %q", i, c.Problems[i].Text, w)
		}
	}
	if _, err := e.svc.CheckForm(ctx, "p1", "nope"); domain.CodeOf(err) != domain.CodeNotFound {
		t.Errorf("unknown: %v", err)
	}
	good, _ := e.forms.Create(ctx, waflow.CreateParams{ProjectID: "p1", Name: "Good", Categories: []string{"LEAD_GENERATION"}, JSON: leadJSON(t)})
	if c, err := e.svc.CheckForm(ctx, "p1", good.ID); err != nil || !c.Valid || len(c.Problems) != 0 || c.Instruction != "" {
		t.Fatalf("good: %v %+v", err, c)
	}
}
