package chatflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// stepClock advances a second on every reading, so updated_at moves.
type stepClock struct{ n atomic.Int64 }

func (c *stepClock) Now() time.Time {
	return time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC).Add(time.Duration(c.n.Add(1)) * time.Second)
}

type fixture struct {
	t       *testing.T
	ctx     context.Context
	st      store.Store
	svc     *chatflow.Service
	project string
	other   string
	actor   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := testdb.Open(t, store.OpenOptions{})
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for i, id := range []string{"p1", "p2"} {
		if _, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: id, Name: "project " + id, Now: now}); err != nil {
			t.Fatal(err)
		}
		// Channel wa-1 is p1's, wa-2 is p2's.
		ch := domain.Channel{ID: fmt.Sprintf("wa-%d", i+1), ProjectID: id, Type: "webchat", Name: "web " + id, Status: "active", CreatedAt: now, UpdatedAt: now}
		if _, err := st.ChannelCreate(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.UserCreate(ctx, store.UserCreateParams{ID: "u1", Email: "ann@example.com", PasswordHash: "x", Now: now}); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: ctx, st: st, svc: chatflow.New(st, &stepClock{}, domain.UUIDv7{}), project: "p1", other: "p2", actor: "user:u1"}
}

func wantCode(t *testing.T, err error, code domain.Code) {
	t.Helper()
	if domain.CodeOf(err) != code {
		t.Fatalf("error %v has code %s, want %s", err, domain.CodeOf(err), code)
	}
}

func ok[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// valid is a small lint-clean graph: start → ask (buttons) → end.
const valid = `{"nodes":[
 {"id":"start","type":"start","data":{"trigger":{"type":"keyword","keywords":["hi"]}}},
 {"id":"ask","type":"message","data":{"text":"Pick one","buttons":["Yes","No"],"timeout_seconds":60}},
 {"id":"end","type":"end","data":{"text":"Bye"}}],
 "edges":[
 {"id":"e1","source":"start","target":"ask"},
 {"id":"e2","source":"ask","target":"end","data":{"trigger":"button_click","trigger_value":"Yes"}},
 {"id":"e3","source":"ask","sourceHandle":"No","target":"end"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"end"},
 {"id":"e5","source":"ask","sourceHandle":"timeout","target":"end"}]}`

// broken has lint errors: an unknown node type and a dangling edge.
const broken = `{"nodes":[{"id":"start","type":"start"},{"id":"x","type":"nope"}],"edges":[{"id":"e1","source":"start","target":"ghost"}]}`

func codes(ps []flow.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return out
}

func hasCode(ps []flow.Problem, code string) bool {
	for _, p := range ps {
		if p.Code == code {
			return true
		}
	}
	return false
}

func (f *fixture) create(name, graph string, active bool) chatflow.Flow {
	f.t.Helper()
	in := chatflow.CreateInput{Name: name, IsActive: active}
	if graph != "" {
		in.FlowData = json.RawMessage(graph)
	}
	return ok[chatflow.Flow](f.t)(f.svc.Create(f.ctx, f.project, f.actor, in))
}

func TestCreate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	t.Run("starter graph", func(t *testing.T) {
		fl := f.create("New", "", false)
		if fl.Status != store.FlowDraft || fl.IsActive || fl.Version != 1 || fl.Revision != 0 || len(fl.Problems) != 0 ||
			fl.Trigger == nil || fl.Trigger.Type != "manual" || !fl.Logging || fl.ExpireAfterSeconds != chatflow.DefaultExpireAfterSeconds || fl.OnRetrigger != "ignore" {
			t.Fatalf("new flow = %+v", fl)
		}
	})
	t.Run("invalid graph is saved as a draft with its problems", func(t *testing.T) {
		fl := f.create("Broken", broken, false)
		if !hasCode(fl.Problems, flow.CodeUnknownNodeType) || !hasCode(fl.Problems, flow.CodeDanglingEdge) {
			t.Fatalf("problems = %v", codes(fl.Problems))
		}
		for _, p := range fl.Problems {
			if !strings.HasPrefix(p.Pointer, "/flow_data") {
				t.Fatalf("pointer %q is not into the flow document", p.Pointer)
			}
		}
	})
	t.Run("is_active publishes in the same call", func(t *testing.T) {
		fl := f.create("Live", valid, true)
		if fl.Status != store.FlowPublished || !fl.IsActive || fl.Revision != 1 || fl.Trigger.Keywords[0] != "hi" {
			t.Fatalf("published = %+v", fl)
		}
		if _, err := f.svc.Program(f.ctx, f.project, fl.ID, 1); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("is_active with lint errors creates nothing", func(t *testing.T) {
		before := ok[store.List[chatflow.Flow]](t)(f.svc.List(f.ctx, f.project, chatflow.ListParams{}))
		_, err := f.svc.Create(f.ctx, f.project, f.actor, chatflow.CreateInput{Name: "Nope", IsActive: true, FlowData: json.RawMessage(broken)})
		wantCode(t, err, domain.CodeUnprocessable)
		var de *domain.Error
		errors.As(err, &de)
		if len(de.Fields) < 3 || de.Fields[0].Severity != "error" || de.Fields[0].Pointer == "" {
			t.Fatalf("fields = %+v", de.Fields)
		}
		after := ok[store.List[chatflow.Flow]](t)(f.svc.List(f.ctx, f.project, chatflow.ListParams{}))
		if len(after.Items) != len(before.Items) {
			t.Fatalf("a failed publish created a flow: %d → %d", len(before.Items), len(after.Items))
		}
	})
	bad := []struct {
		name string
		in   chatflow.CreateInput
		code domain.Code
		ptrs []string
	}{
		{"blank name", chatflow.CreateInput{Name: "  "}, domain.CodeInvalid, []string{"/name"}},
		{"every bad setting", chatflow.CreateInput{Name: "x", OnRetrigger: "maybe", ExpireAfterSeconds: ptr(5)}, domain.CodeInvalid, []string{"/on_retrigger", "/expire_after_seconds"}},
		{"flow_data not an object", chatflow.CreateInput{Name: "x", FlowData: json.RawMessage(`[1]`)}, domain.CodeInvalid, []string{"/flow_data"}},
		{"every malformed node and edge", chatflow.CreateInput{Name: "x", FlowData: json.RawMessage(`{"nodes":[{"id":"a"},5,{"id":true}],"edges":[{"id":"e","data":3}]}`)},
			domain.CodeInvalid, []string{"/flow_data/nodes/1", "/flow_data/nodes/2/id", "/flow_data/edges/0/data"}},
		{"too many nodes", chatflow.CreateInput{Name: "x", FlowData: manyNodes(chatflow.MaxNodes + 1)}, domain.CodeTooLarge, []string{"/flow_data/nodes"}},
		{"too many bytes", chatflow.CreateInput{Name: "x", FlowData: json.RawMessage(`{"nodes":[{"id":"a","type":"end","data":{"text":"` + strings.Repeat("x", chatflow.MaxFlowDataBytes) + `"}}]}`)}, domain.CodeTooLarge, []string{"/flow_data"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Create(f.ctx, f.project, f.actor, tc.in)
			wantCode(t, err, tc.code)
			var de *domain.Error
			errors.As(err, &de)
			var got []string
			for _, fe := range de.Fields {
				got = append(got, fe.Pointer)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.ptrs) {
				t.Fatalf("pointers = %v, want %v (%v)", got, tc.ptrs, err)
			}
		})
	}
	t.Run("a graph of exactly the limit is accepted", func(t *testing.T) {
		_ = ok[chatflow.Flow](t)(f.svc.Create(f.ctx, f.project, f.actor, chatflow.CreateInput{Name: "Big", FlowData: manyNodes(chatflow.MaxNodes)}))
	})
}

func ptr[T any](v T) *T { return &v }

func manyNodes(n int) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{"nodes":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"n%d","type":"end"}`, i)
	}
	b.WriteString(`],"edges":[]}`)
	return json.RawMessage(b.String())
}

func TestOptimisticConcurrency(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fl := f.create("Booking", valid, false)
	_, err := f.svc.Update(f.ctx, f.project, fl.ID, f.actor, chatflow.UpdateInput{Name: ptr("No version")})
	if !errors.Is(err, chatflow.ErrVersionRequired) {
		t.Fatalf("save without a version: %v", err)
	}
	saved := ok[chatflow.Flow](t)(f.svc.Update(f.ctx, f.project, fl.ID, f.actor, chatflow.UpdateInput{Version: fl.Version, Remark: ptr("first")}))
	if saved.Version != fl.Version+1 || saved.Remark != "first" {
		t.Fatalf("saved = %+v", saved)
	}
	// A second editor still on the old version is refused, with what changed.
	_, err = f.svc.Update(f.ctx, f.project, fl.ID, "user:someone", chatflow.UpdateInput{Version: fl.Version, Remark: ptr("second")})
	var stale *chatflow.StaleError
	if !errors.As(err, &stale) || domain.CodeOf(err) != domain.CodeConflict {
		t.Fatalf("stale save: %v", err)
	}
	if stale.Current.Version != saved.Version || stale.UpdatedBy != "ann@example.com" || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("stale = %+v (%v)", stale, err)
	}
	if got := ok[chatflow.Flow](t)(f.svc.Get(f.ctx, f.project, fl.ID)); got.Remark != "first" {
		t.Fatalf("a stale save overwrote the flow: %q", got.Remark)
	}
	// Node and edge edits take the same concurrency: a version is required,
	// a stale one is refused naming who saved.
	_, err = f.svc.CreateNode(f.ctx, f.project, f.actor, 0, chatflow.NodeInput{FlowID: fl.ID, Type: "end"})
	if !errors.Is(err, chatflow.ErrVersionRequired) {
		t.Fatalf("node edit without a version: %v", err)
	}
	_, err = f.svc.CreateNode(f.ctx, f.project, "user:someone", fl.Version, chatflow.NodeInput{FlowID: fl.ID, Type: "end"})
	if !errors.As(err, &stale) || stale.UpdatedBy != "ann@example.com" {
		t.Fatalf("stale node edit: %v", err)
	}
	_, err = f.svc.CreateEdge(f.ctx, f.project, f.actor, fl.Version, chatflow.EdgeInput{FlowID: fl.ID, Source: "start", Target: "end"})
	wantCode(t, err, domain.CodeConflict)
	ok[chatflow.Node](t)(f.svc.CreateNode(f.ctx, f.project, f.actor, saved.Version, chatflow.NodeInput{FlowID: fl.ID, Type: "end"}))
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fl := f.create("Booking", valid, false)

	_, err := f.svc.Unpublish(f.ctx, f.project, fl.ID, f.actor, 0)
	wantCode(t, err, domain.CodeConflict) // never published

	pub := ok[chatflow.Flow](t)(f.svc.Publish(f.ctx, f.project, fl.ID, f.actor, 0))
	if pub.Status != store.FlowPublished || pub.Revision != 1 {
		t.Fatalf("published = %+v", pub)
	}
	p1 := ok[*flow.Program](t)(f.svc.Program(f.ctx, f.project, fl.ID, 1))

	// Editing a published flow leaves the live revision alone.
	edited := strings.Replace(valid, `"Bye"`, `"Goodbye"`, 1)
	ed := ok[chatflow.Flow](t)(f.svc.Update(f.ctx, f.project, fl.ID, f.actor, chatflow.UpdateInput{Version: pub.Version, FlowData: json.RawMessage(edited)}))
	if ed.Revision != 1 || ed.Status != store.FlowPublished {
		t.Fatalf("after edit = %+v", ed)
	}
	if v := ok[chatflow.Revision](t)(f.svc.Revision(f.ctx, f.project, fl.ID, 1)); strings.Contains(string(v.FlowData.Nodes[2].Data), "Goodbye") {
		t.Fatal("editing the draft changed revision 1")
	}
	// Publishing again numbers a new revision; the old one still compiles
	// to the same program for sessions on it.
	pub2 := ok[chatflow.Flow](t)(f.svc.Publish(f.ctx, f.project, fl.ID, f.actor, ed.Version))
	if pub2.Revision != 2 {
		t.Fatalf("second publish = revision %d", pub2.Revision)
	}
	if again := ok[*flow.Program](t)(f.svc.Program(f.ctx, f.project, fl.ID, 1)); again != p1 {
		t.Fatal("revision 1's program was not served from the cache")
	}
	if p2 := ok[*flow.Program](t)(f.svc.Program(f.ctx, f.project, fl.ID, 2)); p2.Hash == p1.Hash {
		t.Fatal("revision 2 compiled to revision 1's program")
	}
	// Publishing an unchanged draft makes no new revision.
	if again := ok[chatflow.Flow](t)(f.svc.Publish(f.ctx, f.project, fl.ID, f.actor, 0)); again.Revision != 2 {
		t.Fatalf("republish = revision %d", again.Revision)
	}

	// A published flow cannot be deleted or rebound.
	wantCode(t, f.svc.Delete(f.ctx, f.project, fl.ID, f.actor, 0), domain.CodeConflict)
	cur := ok[chatflow.Flow](t)(f.svc.Get(f.ctx, f.project, fl.ID))
	_, err = f.svc.Update(f.ctx, f.project, fl.ID, f.actor, chatflow.UpdateInput{Version: cur.Version, ChannelID: ptr("wa-1")})
	wantCode(t, err, domain.CodeConflict)
	// …but unpublishing and rebinding in one update works.
	rb := ok[chatflow.Flow](t)(f.svc.Update(f.ctx, f.project, fl.ID, f.actor, chatflow.UpdateInput{Version: cur.Version, ChannelID: ptr("wa-1"), IsActive: ptr(false)}))
	if rb.Status != store.FlowUnpublished || rb.ChannelID != "wa-1" || rb.Revision != 2 {
		t.Fatalf("unpublished and rebound = %+v", rb)
	}
	if again := ok[chatflow.Flow](t)(f.svc.Unpublish(f.ctx, f.project, fl.ID, f.actor, 0)); again.Version != rb.Version {
		t.Fatal("unpublishing an unpublished flow changed it")
	}
	// PUT is_active: true with a broken draft saves nothing.
	_, err = f.svc.Update(f.ctx, f.project, fl.ID, f.actor, chatflow.UpdateInput{Version: rb.Version, FlowData: json.RawMessage(broken), IsActive: ptr(true)})
	wantCode(t, err, domain.CodeUnprocessable)
	if got := ok[chatflow.Flow](t)(f.svc.Get(f.ctx, f.project, fl.ID)); got.Version != rb.Version || got.Status != store.FlowUnpublished {
		t.Fatalf("a failed publish saved the draft: %+v", got)
	}
	re := ok[chatflow.Flow](t)(f.svc.Update(f.ctx, f.project, fl.ID, f.actor, chatflow.UpdateInput{IsActive: ptr(true)}))
	if re.Status != store.FlowPublished || re.Revision != 3 {
		t.Fatalf("republished with the new channel = %+v", re) // settings changed, so a new revision
	}

	// Restore revision 1 as the draft: the live revision stays.
	rs := ok[chatflow.Flow](t)(f.svc.Restore(f.ctx, f.project, fl.ID, 1, f.actor, re.Version))
	if rs.Revision != 3 || rs.Version != re.Version+1 || !strings.Contains(string(rs.FlowData.Nodes[2].Data), `"Bye"`) {
		t.Fatalf("restored = %+v", rs)
	}
	_, err = f.svc.Restore(f.ctx, f.project, fl.ID, 9, f.actor, 0)
	wantCode(t, err, domain.CodeNotFound)
	revs := ok[store.List[chatflow.Revision]](t)(f.svc.Revisions(f.ctx, f.project, fl.ID, store.Page{}))
	if len(revs.Items) != 3 || revs.Items[0].Revision != 3 || !revs.Items[0].Live || revs.Items[1].Live || revs.Items[0].PublishedBy != f.actor || revs.Items[0].FlowData != nil {
		t.Fatalf("revisions = %+v", revs.Items)
	}

	// Delete once unpublished: revisions go with it.
	ok[chatflow.Flow](t)(f.svc.Unpublish(f.ctx, f.project, fl.ID, f.actor, 0))
	if err := f.svc.Delete(f.ctx, f.project, fl.ID, f.actor, 0); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Get(f.ctx, f.project, fl.ID)
	wantCode(t, err, domain.CodeNotFound)
	_, err = f.svc.Program(f.ctx, f.project, fl.ID, 1)
	wantCode(t, err, domain.CodeNotFound)
}

func TestProjectReferences(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	graph := `{"nodes":[
	 {"id":"start","type":"start"},
	 {"id":"t","type":"template","data":{"template_id":"tpl1","timeout_seconds":60}},
	 {"id":"sub","type":"subflow","data":{"flow_id":"SUBFLOW"}},
	 {"id":"end","type":"end"}],
	 "edges":[{"id":"e1","source":"start","target":"t"},
	  {"id":"e2","source":"t","target":"sub","data":{"trigger":"button_click","trigger_value":"Book"}},
	  {"id":"e3","source":"t","sourceHandle":"other","target":"end"},
	  {"id":"e4","source":"t","sourceHandle":"timeout","target":"end"},
	  {"id":"e5","source":"sub","target":"end"},{"id":"e6","source":"sub","sourceHandle":"failed","target":"end"}]}`
	in := chatflow.CreateInput{Name: "Refs", StartTemplate: "tpl1", FlowData: json.RawMessage(graph)}
	fl := ok[chatflow.Flow](t)(f.svc.Create(f.ctx, f.project, f.actor, in))
	for _, want := range []string{flow.CodeUnknownTemplate, flow.CodeUnknownSubflow} {
		if !hasCode(fl.Problems, want) {
			t.Fatalf("problems %v lack %s", codes(fl.Problems), want)
		}
	}
	var startTpl bool
	for _, p := range fl.Problems {
		startTpl = startTpl || p.Pointer == "/start_template"
	}
	if !startTpl {
		t.Fatalf("no problem at /start_template: %+v", fl.Problems)
	}
	_, err := f.svc.Publish(f.ctx, f.project, fl.ID, f.actor, 0)
	wantCode(t, err, domain.CodeUnprocessable)

	// A template of another project does not count; one of this project does.
	now := time.Now()
	comps := json.RawMessage(`[{"type":"BODY","text":"Hi"},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Book"},{"type":"QUICK_REPLY","text":"Later"}]}]`)
	ok[store.MessageTemplate](t)(f.st.TemplateCreate(f.ctx, store.TemplateCreateParams{ID: "tpl-other", ProjectID: f.other, Name: "x", Language: "en", Category: "UTILITY", Status: store.TemplateApproved, Now: now}))
	sub := f.create("Sub", valid, true)
	fixed := strings.Replace(graph, "SUBFLOW", sub.ID, 1)
	v := ok[chatflow.Validation](t)(f.svc.Validate(f.ctx, f.project, fl.ID, json.RawMessage(fixed), nil))
	if !hasCode(v.Problems, flow.CodeUnknownTemplate) || hasCode(v.Problems, flow.CodeUnknownSubflow) || v.Valid {
		t.Fatalf("validation = %+v", v)
	}
	ok[store.MessageTemplate](t)(f.st.TemplateCreate(f.ctx, store.TemplateCreateParams{ID: "tpl1", ProjectID: f.project, Name: "welcome", Language: "en", Category: "MARKETING", Components: comps, Status: store.TemplateApproved, Now: now}))
	// The template's quick replies are exits now: "Later" must be connected.
	v = ok[chatflow.Validation](t)(f.svc.Validate(f.ctx, f.project, fl.ID, json.RawMessage(fixed), nil))
	if v.Valid || !hasCode(v.Problems, flow.CodeUnconnectedExit) || hasCode(v.Problems, flow.CodeUnknownTemplate) {
		t.Fatalf("validation with the template = %+v", v)
	}
	fixed = strings.Replace(fixed, `{"id":"e3"`, `{"id":"e7","source":"t","sourceHandle":"Later","target":"end"},{"id":"e3"`, 1)
	v = ok[chatflow.Validation](t)(f.svc.Validate(f.ctx, f.project, fl.ID, json.RawMessage(fixed), nil))
	if !v.Valid {
		t.Fatalf("fixed graph is not valid: %+v", v)
	}
	cur := ok[chatflow.Flow](t)(f.svc.Get(f.ctx, f.project, fl.ID))
	pub := ok[chatflow.Flow](t)(f.svc.Update(f.ctx, f.project, fl.ID, f.actor, chatflow.UpdateInput{Version: cur.Version, FlowData: json.RawMessage(fixed), IsActive: ptr(true)}))
	if pub.Revision != 1 || len(pub.Problems) != 0 {
		t.Fatalf("published = %+v", pub)
	}
	// The revision keeps the buttons it was published with.
	rev := ok[chatflow.Revision](t)(f.svc.Revision(f.ctx, f.project, fl.ID, 1))
	if fmt.Sprint(rev.Settings.TemplateButtons["id:tpl1"]) != "[Book Later]" {
		t.Fatalf("frozen buttons = %v", rev.Settings.TemplateButtons)
	}
	prog := ok[*flow.Program](t)(chatflow.New(f.st, &stepClock{}, domain.UUIDv7{}).Program(f.ctx, f.project, fl.ID, 1))
	if i, _ := prog.NodeIndex("t"); len(prog.Steps[i].Exits) != 4 {
		t.Fatalf("template exits = %+v", prog.Steps[i].Exits)
	}
	// Another project cannot reach the flow or its program.
	_, err = f.svc.Get(f.ctx, f.other, fl.ID)
	wantCode(t, err, domain.CodeNotFound)
	_, err = f.svc.Program(f.ctx, f.other, fl.ID, 1)
	wantCode(t, err, domain.CodeNotFound)
}

func TestNodesAndEdges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fl := f.create("Graph", valid, false)
	v := func() int { return ok[chatflow.Flow](t)(f.svc.Get(f.ctx, f.project, fl.ID)).Version }
	n := ok[chatflow.Node](t)(f.svc.CreateNode(f.ctx, f.project, f.actor, v(), chatflow.NodeInput{FlowID: fl.ID, Type: "SendMessage", Data: json.RawMessage(`{"text":"Hello"}`)}))
	if n.NodeID != "message_1" || n.Type != "message" || n.ID != fl.ID+":message_1" || n.Version != fl.Version+1 {
		t.Fatalf("node = %+v", n)
	}
	if !hasCode(n.Problems, flow.CodeUnreachableNode) {
		t.Fatalf("node problems = %v", codes(n.Problems))
	}
	_, err := f.svc.CreateNode(f.ctx, f.project, f.actor, v(), chatflow.NodeInput{FlowID: fl.ID, ID: "ask", Type: "end"})
	wantCode(t, err, domain.CodeConflict)
	_, err = f.svc.CreateNode(f.ctx, f.project, f.actor, v(), chatflow.NodeInput{FlowID: fl.ID, Type: "teleport"})
	wantCode(t, err, domain.CodeInvalid)
	_, err = f.svc.CreateNode(f.ctx, f.project, f.actor, v(), chatflow.NodeInput{FlowID: fl.ID, Type: "end", Data: json.RawMessage(`[]`)})
	wantCode(t, err, domain.CodeInvalid)
	_, err = f.svc.CreateNode(f.ctx, f.other, f.actor, v(), chatflow.NodeInput{FlowID: fl.ID, Type: "end"})
	wantCode(t, err, domain.CodeNotFound)

	// "No" already has an edge: a second one on the same exit is refused.
	_, err = f.svc.CreateEdge(f.ctx, f.project, f.actor, v(), chatflow.EdgeInput{FlowID: fl.ID, SourceNode: fl.ID + ":ask", TargetNode: n.ID, Trigger: "button_click", TriggerValue: "No"})
	wantCode(t, err, domain.CodeConflict)
	ok[chatflow.Flow](t)(f.svc.DeleteEdge(f.ctx, f.project, fl.ID, "e3", f.actor, v()))
	e := ok[chatflow.Edge](t)(f.svc.CreateEdge(f.ctx, f.project, f.actor, v(), chatflow.EdgeInput{FlowID: fl.ID, SourceNode: fl.ID + ":ask", TargetNode: n.ID, Trigger: "button_click", TriggerValue: "No"}))
	if e.EdgeID != "e_1" || e.Source != "ask" || e.SourceHandle != "No" || e.TriggerValue != "No" || e.TargetNode != n.ID {
		t.Fatalf("edge = %+v", e)
	}
	// Triggers are checked, and the value must name an exit of the source.
	for _, bad := range []chatflow.EdgeInput{
		{Trigger: "teleport", TriggerValue: "No"},
		{Trigger: "button_click", TriggerValue: "Maybe"},
		{Trigger: "button_click"},
		{Trigger: "timeout", TriggerValue: "No"},
	} {
		bad.FlowID, bad.SourceNode, bad.TargetNode = fl.ID, "ask", "end"
		_, err = f.svc.CreateEdge(f.ctx, f.project, f.actor, v(), bad)
		wantCode(t, err, domain.CodeInvalid)
	}
	// timeout leaves by the timeout exit, which e5 already takes.
	_, err = f.svc.CreateEdge(f.ctx, f.project, f.actor, v(), chatflow.EdgeInput{FlowID: fl.ID, SourceNode: "ask", TargetNode: "end", Trigger: "timeout"})
	wantCode(t, err, domain.CodeConflict)
	_, err = f.svc.CreateEdge(f.ctx, f.project, f.actor, v(), chatflow.EdgeInput{FlowID: fl.ID, Source: "ghost", Target: "phantom"})
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeInvalid || len(de.Fields) != 2 || de.Fields[0].Pointer != "/source" {
		t.Fatalf("dangling edge: %v", err)
	}
	_, err = f.svc.CreateEdge(f.ctx, f.project, f.actor, v(), chatflow.EdgeInput{FlowID: fl.ID})
	wantCode(t, err, domain.CodeInvalid)

	up := ok[chatflow.Node](t)(f.svc.UpdateNode(f.ctx, f.project, fl.ID, "message_1", f.actor, v(), chatflow.NodePatch{Position: &flow.Position{X: 5, Y: 6}, Data: json.RawMessage(`{"text":"Changed"}`)}))
	if up.Position.X != 5 || !strings.Contains(string(up.Data), "Changed") {
		t.Fatalf("updated node = %+v", up)
	}
	ue := ok[chatflow.Edge](t)(f.svc.UpdateEdge(f.ctx, f.project, fl.ID, "e_1", f.actor, v(), chatflow.EdgePatch{Label: ptr("no thanks")}))
	if ue.Label != "no thanks" {
		t.Fatalf("updated edge = %+v", ue)
	}
	// Deleting a node takes its edges.
	after := ok[chatflow.Flow](t)(f.svc.DeleteNode(f.ctx, f.project, fl.ID, "message_1", f.actor, v()))
	for _, e := range after.FlowData.Edges {
		if e.Source == "message_1" || e.Target == "message_1" {
			t.Fatalf("edge %q survived its node", e.ID)
		}
	}
	_, err = f.svc.DeleteNode(f.ctx, f.project, fl.ID, "message_1", f.actor, v())
	wantCode(t, err, domain.CodeNotFound)
	ok[chatflow.Flow](t)(f.svc.DeleteEdge(f.ctx, f.project, fl.ID, "e5", f.actor, v()))
	_, err = f.svc.DeleteEdge(f.ctx, f.project, fl.ID, "e5", f.actor, v())
	wantCode(t, err, domain.CodeNotFound)
	nodes := ok[[]chatflow.Node](t)(f.svc.Nodes(f.ctx, f.project, fl.ID))
	edges := ok[[]chatflow.Edge](t)(f.svc.Edges(f.ctx, f.project, fl.ID))
	if len(nodes) != 3 || len(edges) != 3 {
		t.Fatalf("%d nodes, %d edges", len(nodes), len(edges))
	}
	for _, ref := range []struct{ ref, flow, id string }{{"f:n", "f", "n"}, {"f:a:b", "f", "a:b"}} {
		if fid, id, ok := chatflow.SplitRef(ref.ref); !ok || fid != ref.flow || id != ref.id {
			t.Errorf("SplitRef(%q) = %q %q %v", ref.ref, fid, id, ok)
		}
	}
	for _, bad := range []string{"nocolon", ":x", "x:"} {
		if _, _, ok := chatflow.SplitRef(bad); ok {
			t.Errorf("SplitRef(%q) accepted", bad)
		}
	}
}

func TestImportExportTemplates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tpls := ok[[]flow.BuiltinTemplate](t)(f.svc.Templates())
	if len(tpls) < 5 {
		t.Fatalf("%d built-in templates", len(tpls))
	}
	for _, tpl := range tpls {
		if tpl.Category == "campaigns" {
			continue // publishing needs its approved message template: internal/app's TestCampaignSurveyFlow
		}
		t.Run(tpl.ID, func(t *testing.T) {
			fl := ok[chatflow.Flow](t)(f.svc.CreateFromTemplate(f.ctx, f.project, f.actor, chatflow.FromTemplateInput{Template: tpl.ID, IsActive: true}))
			if fl.Name != tpl.Name || fl.Revision != 1 || len(fl.Problems) != 0 {
				t.Fatalf("from template = %+v", fl)
			}
			doc := ok[[]byte](t)(f.svc.Export(f.ctx, f.project, fl.ID, 0))
			imp := ok[chatflow.Flow](t)(f.svc.Import(f.ctx, f.project, f.actor, chatflow.ImportInput{Document: doc}))
			if imp.ID == fl.ID || imp.Status != store.FlowDraft || imp.Name != fl.Name {
				t.Fatalf("imported = %+v", imp)
			}
			a, _ := json.Marshal(fl.FlowData)
			b, _ := json.Marshal(imp.FlowData)
			if string(a) != string(b) {
				t.Fatalf("round trip changed flow_data:\n%s\n%s", a, b)
			}
			again := ok[[]byte](t)(f.svc.Export(f.ctx, f.project, imp.ID, 0))
			if string(again) != string(doc) {
				t.Fatalf("re-export differs:\n%s\n%s", doc, again)
			}
			live := ok[[]byte](t)(f.svc.Export(f.ctx, f.project, fl.ID, 1))
			if string(live) != string(doc) {
				t.Fatal("export of revision 1 differs from the unchanged draft")
			}
		})
	}
	_, err := f.svc.CreateFromTemplate(f.ctx, f.project, f.actor, chatflow.FromTemplateInput{Template: "nope"})
	wantCode(t, err, domain.CodeInvalid)
	_, err = f.svc.Import(f.ctx, f.project, f.actor, chatflow.ImportInput{Document: []byte(`{"format":"parley.flow","version":1,"flow_data":{"nodes":[3]}}`)})
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Fields[0].Pointer != "/flow_data/nodes/0" {
		t.Fatalf("malformed import: %v", err)
	}
	// Other tools' step names import as Parley's types.
	imp := ok[chatflow.Flow](t)(f.svc.Import(f.ctx, f.project, f.actor, chatflow.ImportInput{Name: "Foreign",
		Document: []byte(`{"nodes":[{"id":"s","type":"Start"},{"id":"m","type":"SendMessage","data":{"text":"hi"}},{"id":"e","type":"EndFlow"}],"edges":[{"id":"1","source":"s","target":"m"},{"id":"2","source":"m","target":"e"}]}`)}))
	if imp.Name != "Foreign" || imp.FlowData.Nodes[1].Type != "message" || len(imp.Problems) != 0 {
		t.Fatalf("foreign import = %+v", imp)
	}
}

func TestAnalytics(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fl := f.create("Counted", valid, true)
	a := ok[chatflow.Analytics](t)(f.svc.Analytics(f.ctx, f.project, chatflow.AnalyticsParams{FlowID: fl.ID}))
	if a.Sessions != (store.SessionCounts{}) || len(a.Nodes) != 3 || len(a.Edges) != 5 || a.Nodes[0].Visits != 0 {
		t.Fatalf("fresh analytics = %+v", a)
	}
	at := time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC)
	if err := f.st.FlowStatsAdd(f.ctx, store.FlowStatsAddParams{ProjectID: f.project, FlowID: fl.ID, Revision: 1, At: at,
		Sessions: store.SessionCounts{Started: 3, Completed: 2, Expired: 1},
		Nodes:    map[string]store.NodeCounts{"start": {Visits: 3}, "ask": {Visits: 3, DropOffs: 1}, "gone": {Visits: 1}},
		Edges:    map[string]int64{"e1": 3, "e2": 2}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		p       chatflow.AnalyticsParams
		started int64
	}{
		{"all time", chatflow.AnalyticsParams{FlowID: fl.ID}, 3},
		{"in range", chatflow.AnalyticsParams{FlowID: fl.ID, From: at.Add(-time.Hour), To: at.Add(time.Hour)}, 3},
		{"before", chatflow.AnalyticsParams{FlowID: fl.ID, To: at.Add(-time.Hour)}, 0},
		{"other revision", chatflow.AnalyticsParams{FlowID: fl.ID, Revision: 2}, 0},
		{"project", chatflow.AnalyticsParams{}, 3},
	}
	for _, tc := range tests {
		got := ok[chatflow.Analytics](t)(f.svc.Analytics(f.ctx, f.project, tc.p))
		if got.Sessions.Started != tc.started {
			t.Errorf("%s: started %d, want %d", tc.name, got.Sessions.Started, tc.started)
		}
	}
	a = ok[chatflow.Analytics](t)(f.svc.Analytics(f.ctx, f.project, chatflow.AnalyticsParams{FlowID: fl.ID}))
	want := []chatflow.NodeStat{{ID: fl.ID + ":start", NodeID: "start", Type: "start", Visits: 3}, {ID: fl.ID + ":ask", NodeID: "ask", Type: "message", Visits: 3, DropOffs: 1},
		{ID: fl.ID + ":end", NodeID: "end", Type: "end"}, {ID: fl.ID + ":gone", NodeID: "gone", Visits: 1}}
	if !reflect.DeepEqual(a.Nodes, want) || a.Edges[0].Transitions != 3 || a.Edges[4].Transitions != 0 || a.Edges[0].SourceNode != fl.ID+":start" || a.Edges[0].ID != fl.ID+":e1" {
		t.Fatalf("analytics = %+v", a)
	}
	proj := ok[chatflow.Analytics](t)(f.svc.Analytics(f.ctx, f.project, chatflow.AnalyticsParams{}))
	if len(proj.Flows) != 1 || proj.Flows[0].Name != "Counted" || len(proj.Nodes) != 0 {
		t.Fatalf("project analytics = %+v", proj)
	}
	if o := ok[chatflow.Analytics](t)(f.svc.Analytics(f.ctx, f.other, chatflow.AnalyticsParams{})); o.Sessions.Started != 0 {
		t.Fatal("another project sees the counts")
	}
	_, err := f.svc.Analytics(f.ctx, f.other, chatflow.AnalyticsParams{FlowID: fl.ID})
	wantCode(t, err, domain.CodeNotFound)
	_, err = f.svc.Analytics(f.ctx, f.project, chatflow.AnalyticsParams{From: at, To: at})
	wantCode(t, err, domain.CodeInvalid)
}

// TestChannelReference: a flow's channel_id must be a channel of the
// flow's project; another project's channel and a made-up ID get the same
// unprocessable "not found" error naming /channel_id, on create, update and
// from-template.
func TestChannelReference(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	draft := f.create("Bound", valid, false)
	for _, tt := range []struct {
		name string
		call func(channelID string) error
	}{
		{"create", func(ch string) error {
			_, err := f.svc.Create(f.ctx, f.project, f.actor, chatflow.CreateInput{Name: "x", ChannelID: ch})
			return err
		}},
		{"update", func(ch string) error {
			cur := ok[chatflow.Flow](t)(f.svc.Get(f.ctx, f.project, draft.ID))
			_, err := f.svc.Update(f.ctx, f.project, draft.ID, f.actor, chatflow.UpdateInput{Version: cur.Version, ChannelID: &ch})
			return err
		}},
		{"from template", func(ch string) error {
			tpls := ok[[]flow.BuiltinTemplate](t)(f.svc.Templates())
			_, err := f.svc.CreateFromTemplate(f.ctx, f.project, f.actor, chatflow.FromTemplateInput{Template: tpls[0].ID, ChannelID: ch})
			return err
		}},
	} {
		for _, ch := range []string{"wa-2", "no-such-channel"} {
			err := tt.call(ch)
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeUnprocessable || len(de.Fields) != 1 || de.Fields[0].Pointer != "/channel_id" {
				t.Errorf("%s with channel %q: %v, want not found at /channel_id", tt.name, ch, err)
			} else if strings.Contains(de.Message, "p2") {
				t.Errorf("%s: the error names the other project: %s", tt.name, de.Message)
			}
		}
		for _, ch := range []string{"wa-1", ""} {
			if err := tt.call(ch); err != nil {
				t.Errorf("%s with this project's channel %q: %v", tt.name, ch, err)
			}
		}
	}
}

// TestTemplateNodeExitsFollowTheTemplate: however a template node is made
// (created with the flow, added by the node API, imported, or carrying an
// old copy of the buttons), its data and exits are its template's quick
// replies: no phantom next exit, nothing to re-pick.
func TestTemplateNodeExitsFollowTheTemplate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := time.Now()
	comps := json.RawMessage(`[{"type":"BODY","text":"Hi"},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Yes"},{"type":"URL","text":"Web","url":"https://x"},{"type":"QUICK_REPLY","text":"No"}]}]`)
	ok[store.MessageTemplate](t)(f.st.TemplateCreate(f.ctx, store.TemplateCreateParams{ID: "tq", ProjectID: f.project, Name: "confirm", Language: "en", Category: "UTILITY", Components: comps, Status: store.TemplateApproved, Now: now}))
	plain := json.RawMessage(`[{"type":"BODY","text":"Hi"}]`)
	ok[store.MessageTemplate](t)(f.st.TemplateCreate(f.ctx, store.TemplateCreateParams{ID: "tp", ProjectID: f.project, Name: "plain", Language: "en", Category: "UTILITY", Components: plain, Status: store.TemplateApproved, Now: now}))
	graph := func(data string) string {
		return `{"nodes":[{"id":"start","type":"start"},{"id":"t","type":"template","data":` + data + `},{"id":"end","type":"end"}],
		"edges":[{"id":"e1","source":"start","target":"t"},{"id":"e2","source":"t","sourceHandle":"Yes","target":"end"},{"id":"e3","source":"t","sourceHandle":"No","target":"end"}]}`
	}
	buttonsOf := func(fl chatflow.Flow, id string) []string {
		t.Helper()
		var d flow.TemplateData
		_ = json.Unmarshal(fl.FlowData.Nodes[fl.FlowData.Node(id)].Data, &d)
		return d.Buttons
	}
	tests := []struct {
		name, data string
		want       []string
	}{
		{"by id, no buttons", `{"template_id":"tq"}`, []string{"Yes", "No"}},
		{"by name, an old copy", `{"template_name":"confirm","buttons":["Maybe"]}`, []string{"Yes", "No"}},
		{"no quick replies", `{"template_id":"tp","buttons":["Old"]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := ok[chatflow.Flow](t)(f.svc.Create(f.ctx, f.project, f.actor, chatflow.CreateInput{Name: tt.name, FlowData: json.RawMessage(graph(tt.data))}))
			if got := buttonsOf(fl, "t"); !slices.Equal(got, tt.want) {
				t.Fatalf("created: buttons %v, want %v", got, tt.want)
			}
			imp := ok[chatflow.Flow](t)(f.svc.Import(f.ctx, f.project, f.actor, chatflow.ImportInput{Document: []byte(graph(tt.data)), Name: "imported " + tt.name}))
			if got := buttonsOf(imp, "t"); !slices.Equal(got, tt.want) {
				t.Fatalf("imported: buttons %v, want %v", got, tt.want)
			}
			n := ok[chatflow.Node](t)(f.svc.CreateNode(f.ctx, f.project, f.actor, fl.Version, chatflow.NodeInput{FlowID: fl.ID, ID: "t2", Type: "template", Data: json.RawMessage(tt.data)}))
			var d flow.TemplateData
			_ = json.Unmarshal(n.Data, &d)
			if !slices.Equal(d.Buttons, tt.want) {
				t.Fatalf("node API: buttons %v, want %v", d.Buttons, tt.want)
			}
			// The exits: with quick replies, Yes and No are connected and
			// there is no next; without, next is the one exit and Yes/No
			// are unknown.
			if tt.want != nil && (hasCode(fl.Problems, flow.CodeUnknownExit) || hasCode(fl.Problems, flow.CodeUnconnectedExit)) {
				t.Fatalf("problems %v", fl.Problems)
			}
			if tt.want == nil && !hasCode(fl.Problems, flow.CodeUnknownExit) {
				t.Fatalf("a template without quick replies kept exits Yes/No: %v", codes(fl.Problems))
			}
		})
	}
}

// TestSharedKeywordWarning: two published flows with the same keyword both
// get a warning (not an error) naming the flow that answers: the older.
func TestSharedKeywordWarning(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.create("First", valid, true)
	second := f.create("Second", strings.Replace(valid, `"keywords":["hi"]`, `"keywords":["hello","HI "]`, 1), true)
	if second.Status != store.FlowPublished {
		t.Fatalf("a shared keyword blocked publishing: %+v", second.Problems)
	}
	for _, fl := range []chatflow.Flow{ok[chatflow.Flow](t)(f.svc.Get(f.ctx, f.project, first.ID)), ok[chatflow.Flow](t)(f.svc.Get(f.ctx, f.project, second.ID))} {
		var found *flow.Problem
		for i, p := range fl.Problems {
			if p.Code == flow.CodeSharedKeyword {
				found = &fl.Problems[i]
			}
		}
		if found == nil || found.Severity != flow.SeverityWarning || !strings.Contains(found.Message, `"First" answers it`) || !strings.Contains(found.Message, `"hi"`) {
			t.Fatalf("%s: shared keyword problem = %+v (all: %v)", fl.Name, found, codes(fl.Problems))
		}
	}
	// A different keyword: no warning.
	other := f.create("Other", strings.Replace(valid, `"keywords":["hi"]`, `"keywords":["bye"]`, 1), true)
	if hasCode(other.Problems, flow.CodeSharedKeyword) {
		t.Fatalf("other = %v", other.Problems)
	}
}

// TestReservedKeywordWarning: a trigger keyword that is one of the
// project's opt-out or opt-in words (answered before any flow) is warned
// about; with the project's words changed or turned off, by what they are.
func TestReservedKeywordWarning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		settings string // the project's settings; "" leaves the built-in words
		keyword  string
		want     string // "" for no warning, else a part of the message
	}{
		{"the built-in opt-in word", "", "Start", `"start" is this project's opt-in word`},
		{"the built-in opt-out word", "", "stop", `"stop" is this project's opt-out word`},
		{"an ordinary word", "", "order", ""},
		{"the project's own opt-in word", `{"keywords":{"opt_in":["ANCORA"]}}`, "ancora", "opt-in word"},
		{"a built-in word the project replaced", `{"keywords":{"opt_in":["ANCORA"]}}`, "start", ""},
		{"words turned off", `{"keywords":{"enabled":false}}`, "stop", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tc.settings != "" {
				if _, err := f.st.ProjectUpdate(f.ctx, store.ProjectUpdateParams{ID: f.project, Settings: json.RawMessage(tc.settings), Now: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			fl := f.create("Keyword", strings.Replace(valid, `"keywords":["hi"]`, `"keywords":["`+tc.keyword+`"]`, 1), true)
			var found *flow.Problem
			for i, p := range fl.Problems {
				if p.Code == flow.CodeReservedKeyword {
					found = &fl.Problems[i]
				}
			}
			switch {
			case tc.want == "" && found != nil:
				t.Fatalf("warned: %+v", *found)
			case tc.want != "" && (found == nil || found.Severity != flow.SeverityWarning || !strings.Contains(found.Message, tc.want) ||
				!strings.HasSuffix(found.Pointer, "/data/trigger/keywords/0")):
				t.Fatalf("reserved keyword problem = %+v, want a warning at the keyword saying %q (all: %v)", found, tc.want, codes(fl.Problems))
			}
		})
	}
}

// TestUnavailableChannelTypeTrigger: a trigger on a channel type the
// build cannot connect (the registry's list) is a lint error that blocks
// publishing.
func TestUnavailableChannelTypeTrigger(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc = chatflow.New(f.st, &stepClock{}, domain.UUIDv7{}, chatflow.WithChannelTypes([]string{"whatsapp", "webchat"}))
	graph := strings.Replace(valid, `{"type":"keyword","keywords":["hi"]}`, `{"type":"inbound","channel_types":["webchat","messenger"]}`, 1)
	fl := f.create("Messenger", graph, false)
	var found *flow.Problem
	for i, p := range fl.Problems {
		if p.Code == flow.CodeUnavailableChannelType {
			found = &fl.Problems[i]
		}
	}
	if found == nil || found.Severity != flow.SeverityError || found.Pointer != "/flow_data/nodes/0/data/trigger/channel_types/1" || !strings.Contains(found.Message, "whatsapp, webchat") {
		t.Fatalf("problem = %+v", found)
	}
	_, err := f.svc.Publish(f.ctx, f.project, fl.ID, f.actor, 0)
	wantCode(t, err, domain.CodeUnprocessable)
	ok[chatflow.Flow](t)(f.svc.Create(f.ctx, f.project, f.actor, chatflow.CreateInput{Name: "Web", IsActive: true,
		FlowData: json.RawMessage(strings.Replace(graph, `,"messenger"`, "", 1))}))
}
