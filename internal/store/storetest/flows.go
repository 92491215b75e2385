package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunFlows runs the suite of store.Flows.
func RunFlows(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Flows", testFlows},
		{"FlowPaging", testFlowPaging},
		{"FlowRevisions", testFlowRevisions},
		{"FlowStats", testFlowStats},
	})
}

var graph1 = json.RawMessage(`{"nodes":[{"id":"start","type":"start","data":{"trigger":{"type":"keyword","keywords":["hi"]}}}],"edges":[]}`)

func newFlow(id, project, name string) store.FlowCreateParams {
	return store.FlowCreateParams{ID: id, ProjectID: project, Name: name, Remark: "r", Draft: graph1,
		Trigger: json.RawMessage(`{"type":"keyword","keywords":["hi"]}`), Logging: true, ExpireAfterSeconds: 3600,
		OnRetrigger: store.RetriggerIgnore, StartTemplate: "t1", Actor: "user:u1", Now: t0}
}

func testFlows(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	f := must(s.FlowCreate(ctx, newFlow("f1", p1, "Booking")))(t)
	if f.Status != store.FlowDraft || f.Version != 1 || f.LiveRevision != 0 || !f.Logging || f.ExpireAfterSeconds != 3600 ||
		f.OnRetrigger != "ignore" || f.StartTemplate != "t1" || f.CreatedBy != "user:u1" || f.UpdatedBy != "user:u1" || !f.CreatedAt.Equal(t0) {
		t.Fatalf("created = %+v", f)
	}
	jsonEqual(t, f.Draft, graph1)
	jsonEqual(t, f.Trigger, json.RawMessage(`{"type":"keyword","keywords":["hi"]}`))
	must(s.FlowCreate(ctx, newFlow("f2", p2, "Other")))(t)
	_, err := s.FlowGet(ctx, store.Ref{ProjectID: p1, ID: "f2"})
	wantCode(t, err, domain.CodeNotFound)
	// The head is the row without its graph.
	head := must(s.FlowHeadGet(ctx, store.Ref{ProjectID: p1, ID: "f1"}))(t)
	if full := must(s.FlowGet(ctx, store.Ref{ProjectID: p1, ID: "f1"}))(t); head.Draft != nil || head.Name != full.Name || head.Version != full.Version ||
		head.Status != full.Status || head.LiveRevision != full.LiveRevision || head.Logging != full.Logging || !head.UpdatedAt.Equal(full.UpdatedAt) {
		t.Fatalf("head = %+v, want %+v without the draft", head, full)
	}
	_, err = s.FlowHeadGet(ctx, store.Ref{ProjectID: p1, ID: "f2"})
	wantCode(t, err, domain.CodeNotFound)
	_, err = s.FlowCreate(ctx, newFlow("f3", "missing", "X"))
	wantCode(t, err, domain.CodeNotFound)

	// A save with the version it started from applies and bumps the version.
	name, channel := "Booking v2", "ch1"
	g2 := json.RawMessage(`{"nodes":[],"edges":[],"viewport":{"x":1,"y":2,"zoom":1.5}}`)
	up := must(s.FlowUpdate(ctx, store.FlowUpdateParams{ProjectID: p1, ID: "f1", ExpectVersion: 1, Name: &name, Draft: g2,
		Trigger: json.RawMessage(`{}`), ChannelID: &channel, Actor: "token:t9", Now: t0.Add(time.Minute)}))(t)
	if up.Version != 2 || up.Name != name || up.ChannelID != "ch1" || up.UpdatedBy != "token:t9" || up.CreatedBy != "user:u1" ||
		!up.UpdatedAt.Equal(t0.Add(time.Minute)) || up.Remark != "r" {
		t.Fatalf("updated = %+v", up)
	}
	jsonEqual(t, up.Draft, g2)

	// A stale save is a conflict and changes nothing.
	remark := "lost"
	_, err = s.FlowUpdate(ctx, store.FlowUpdateParams{ProjectID: p1, ID: "f1", ExpectVersion: 1, Remark: &remark, Now: t0})
	wantCode(t, err, domain.CodeConflict)
	if got := must(s.FlowGet(ctx, store.Ref{ProjectID: p1, ID: "f1"}))(t); got.Remark != "r" || got.Version != 2 {
		t.Fatalf("stale save changed the flow: %+v", got)
	}
	// Another project's flow cannot be updated.
	_, err = s.FlowUpdate(ctx, store.FlowUpdateParams{ProjectID: p1, ID: "f2", Remark: &remark, Now: t0})
	wantCode(t, err, domain.CodeNotFound)

	// Status changes are writes too.
	pub, rev := store.FlowPublished, 1
	up = must(s.FlowUpdate(ctx, store.FlowUpdateParams{ProjectID: p1, ID: "f1", Status: &pub, LiveRevision: &rev, Now: t0}))(t)
	if up.Status != pub || up.LiveRevision != 1 || up.Version != 3 {
		t.Fatalf("published = %+v", up)
	}
	logging, expire, retrigger, tpl := false, 60, store.RetriggerRestart, ""
	up = must(s.FlowUpdate(ctx, store.FlowUpdateParams{ProjectID: p1, ID: "f1", Logging: &logging, ExpireAfterSeconds: &expire,
		OnRetrigger: &retrigger, StartTemplate: &tpl, Now: t0}))(t)
	if up.Logging || up.ExpireAfterSeconds != 60 || up.OnRetrigger != "restart" || up.StartTemplate != "" {
		t.Fatalf("settings = %+v", up)
	}

	// Delete: never a published flow, never on a stale version.
	wantCode(t, s.FlowDelete(ctx, store.FlowDeleteParams{ProjectID: p1, ID: "f1"}), domain.CodeConflict)
	unpub := store.FlowUnpublished
	up = must(s.FlowUpdate(ctx, store.FlowUpdateParams{ProjectID: p1, ID: "f1", Status: &unpub, Now: t0}))(t)
	must(s.FlowRevisionCreate(ctx, store.FlowRevisionCreateParams{ProjectID: p1, FlowID: "f1", Revision: 1, Graph: graph1, Now: t0}))(t)
	wantCode(t, s.FlowDelete(ctx, store.FlowDeleteParams{ProjectID: p1, ID: "f1", ExpectVersion: up.Version - 1}), domain.CodeConflict)
	wantCode(t, s.FlowDelete(ctx, store.FlowDeleteParams{ProjectID: p1, ID: "f2"}), domain.CodeNotFound)
	check(t, s.FlowDelete(ctx, store.FlowDeleteParams{ProjectID: p1, ID: "f1", ExpectVersion: up.Version}))
	_, err = s.FlowGet(ctx, store.Ref{ProjectID: p1, ID: "f1"})
	wantCode(t, err, domain.CodeNotFound)
	_, err = s.FlowRevisionGet(ctx, store.FlowRevisionGetParams{ProjectID: p1, FlowID: "f1", Revision: 1})
	wantCode(t, err, domain.CodeNotFound)
	wantCode(t, s.FlowDelete(ctx, store.FlowDeleteParams{ProjectID: p1, ID: "f1"}), domain.CodeNotFound)
}

func testFlowPaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	var ids seq
	var want []string
	for i := range 5 {
		f := newFlow(ids.id(), p1, fmt.Sprintf("Flow %d", i))
		if i == 3 {
			f.Name, f.ChannelID = "100% sales", "ch1"
		}
		must(s.FlowCreate(ctx, f))(t)
		want = append([]string{f.ID}, want...)
	}
	must(s.FlowCreate(ctx, newFlow(ids.id(), p2, "Flow x")))(t)
	var got []string
	page := store.Page{Limit: 2}
	for range 10 {
		l := must(s.FlowList(ctx, store.FlowListParams{ProjectID: p1, Page: page}))(t)
		for _, f := range l.Items {
			got = append(got, f.ID)
		}
		if l.Next == "" {
			break
		}
		page.After = l.Next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged = %v, want %v", got, want)
	}
	tests := []struct {
		name string
		p    store.FlowListParams
		want int
	}{
		{"search is case-insensitive", store.FlowListParams{Search: "FLOW"}, 4},
		{"search wildcards are literal", store.FlowListParams{Search: "0%"}, 1},
		{"underscore is literal", store.FlowListParams{Search: "_"}, 0},
		{"by channel", store.FlowListParams{ChannelID: "ch1"}, 1},
		{"by status", store.FlowListParams{Status: store.FlowDraft}, 5},
		{"no published", store.FlowListParams{Status: store.FlowPublished}, 0},
	}
	for _, tc := range tests {
		tc.p.ProjectID = p1
		if l := must(s.FlowList(ctx, tc.p))(t); len(l.Items) != tc.want {
			t.Errorf("%s: %d flows, want %d", tc.name, len(l.Items), tc.want)
		}
	}
}

func testFlowRevisions(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	must(s.FlowCreate(ctx, newFlow("f1", p1, "A")))(t)
	must(s.FlowCreate(ctx, newFlow("f2", p2, "B")))(t)
	_, err := s.FlowRevisionLatest(ctx, store.Ref{ProjectID: p1, ID: "f1"})
	wantCode(t, err, domain.CodeNotFound)
	settings := json.RawMessage(`{"name":"A","logging":true}`)
	for i := 1; i <= 3; i++ {
		v := must(s.FlowRevisionCreate(ctx, store.FlowRevisionCreateParams{ProjectID: p1, FlowID: "f1", Revision: i, Graph: graph1,
			Settings: settings, PublishedBy: "user:u1", Now: t0.Add(time.Duration(i) * time.Hour)}))(t)
		if v.Revision != i || v.PublishedBy != "user:u1" || !v.PublishedAt.Equal(t0.Add(time.Duration(i)*time.Hour)) {
			t.Fatalf("revision = %+v", v)
		}
	}
	_, err = s.FlowRevisionCreate(ctx, store.FlowRevisionCreateParams{ProjectID: p1, FlowID: "f1", Revision: 2, Graph: graph1, Now: t0})
	wantCode(t, err, domain.CodeConflict)
	_, err = s.FlowRevisionCreate(ctx, store.FlowRevisionCreateParams{ProjectID: p1, FlowID: "missing", Revision: 1, Graph: graph1, Now: t0})
	wantCode(t, err, domain.CodeNotFound)
	v := must(s.FlowRevisionGet(ctx, store.FlowRevisionGetParams{ProjectID: p1, FlowID: "f1", Revision: 2}))(t)
	jsonEqual(t, v.Graph, graph1)
	jsonEqual(t, v.Settings, settings)
	if got := must(s.FlowRevisionLatest(ctx, store.Ref{ProjectID: p1, ID: "f1"}))(t); got.Revision != 3 {
		t.Fatalf("latest = %d", got.Revision)
	}
	_, err = s.FlowRevisionGet(ctx, store.FlowRevisionGetParams{ProjectID: p2, FlowID: "f1", Revision: 1}) // through another project
	wantCode(t, err, domain.CodeNotFound)
	_, err = s.FlowRevisionGet(ctx, store.FlowRevisionGetParams{ProjectID: p1, FlowID: "f1", Revision: 9})
	wantCode(t, err, domain.CodeNotFound)

	var got []int
	page := store.Page{Limit: 2}
	for range 5 {
		l := must(s.FlowRevisionList(ctx, store.FlowRevisionListParams{ProjectID: p1, FlowID: "f1", Page: page}))(t)
		for _, v := range l.Items {
			got = append(got, v.Revision)
		}
		if l.Next == "" {
			break
		}
		page.After = l.Next
	}
	if fmt.Sprint(got) != "[3 2 1]" {
		t.Fatalf("revisions = %v", got)
	}
	if l := must(s.FlowRevisionList(ctx, store.FlowRevisionListParams{ProjectID: p2, FlowID: "f1"}))(t); len(l.Items) != 0 {
		t.Fatalf("another project sees revisions: %+v", l.Items)
	}
	_, err = s.FlowRevisionList(ctx, store.FlowRevisionListParams{ProjectID: p1, FlowID: "f1", Page: store.Page{After: "x"}})
	wantCode(t, err, domain.CodeInvalid)
}

func testFlowStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	must(s.FlowCreate(ctx, newFlow("f1", p1, "A")))(t)
	must(s.FlowCreate(ctx, newFlow("f2", p1, "B")))(t)
	must(s.FlowCreate(ctx, newFlow("f3", p2, "C")))(t)

	empty := must(s.FlowStatsGet(ctx, store.FlowStatsParams{ProjectID: p1, FlowID: "f1"}))(t)
	if empty.Sessions != (store.SessionCounts{}) || len(empty.Nodes) != 0 || len(empty.Edges) != 0 {
		t.Fatalf("fresh flow has counts: %+v", empty)
	}
	add := func(flow, project string, rev int, at time.Time, started int64) {
		t.Helper()
		check(t, s.FlowStatsAdd(ctx, store.FlowStatsAddParams{ProjectID: project, FlowID: flow, Revision: rev, At: at,
			Sessions: store.SessionCounts{Started: started, Completed: 1, Failed: 1},
			Nodes: map[string]store.NodeCounts{"start": {Visits: started}, "ask": {Visits: 1, DropOffs: 1}, "zero": {},
				"ai": {Visits: 1, LLM: store.LLMCounts{Calls: 2, Failures: 1, PromptTokens: 100, CompletionTokens: 20, LatencyMS: 350}}},
			Edges: map[string]int64{"e1": started, "none": 0}}))
	}
	add("f1", p1, 1, t0, 2)                     // 09:30 → bucket 09:00
	add("f1", p1, 1, t0.Add(10*time.Minute), 3) // same bucket
	add("f1", p1, 2, t0.Add(2*time.Hour), 4)    // 11:00 bucket, revision 2
	add("f2", p1, 1, t0, 5)
	add("f3", p2, 1, t0, 7)

	all := must(s.FlowStatsGet(ctx, store.FlowStatsParams{ProjectID: p1, FlowID: "f1"}))(t)
	if all.Sessions != (store.SessionCounts{Started: 9, Completed: 3, Failed: 3}) {
		t.Fatalf("sessions = %+v", all.Sessions)
	}
	if all.Nodes["start"] != (store.NodeCounts{Visits: 9}) || all.Nodes["ask"] != (store.NodeCounts{Visits: 3, DropOffs: 3}) || len(all.Nodes) != 3 {
		t.Fatalf("nodes = %+v", all.Nodes)
	}
	// An ai_agent node's model calls add up like the visits.
	if want := (store.NodeCounts{Visits: 3, LLM: store.LLMCounts{Calls: 6, Failures: 3, PromptTokens: 300, CompletionTokens: 60, LatencyMS: 1050}}); all.Nodes["ai"] != want {
		t.Fatalf("nodes = %+v", all.Nodes)
	}
	if all.Edges["e1"] != 9 || len(all.Edges) != 1 {
		t.Fatalf("edges = %+v", all.Edges)
	}
	tests := []struct {
		name    string
		p       store.FlowStatsParams
		started int64
	}{
		{"one revision", store.FlowStatsParams{FlowID: "f1", Revision: 2}, 4},
		{"from rounds down to the hour", store.FlowStatsParams{FlowID: "f1", From: t0.Add(20 * time.Minute)}, 9},
		{"from excludes earlier hours", store.FlowStatsParams{FlowID: "f1", From: t0.Add(time.Hour)}, 4},
		{"to is exclusive", store.FlowStatsParams{FlowID: "f1", To: t0.Truncate(time.Hour).Add(2 * time.Hour)}, 5},
		{"whole project", store.FlowStatsParams{}, 14},
	}
	for _, tc := range tests {
		tc.p.ProjectID = p1
		if got := must(s.FlowStatsGet(ctx, tc.p))(t); got.Sessions.Started != tc.started {
			t.Errorf("%s: started = %d, want %d", tc.name, got.Sessions.Started, tc.started)
		}
	}
	proj := must(s.FlowStatsGet(ctx, store.FlowStatsParams{ProjectID: p1}))(t)
	if len(proj.Flows) != 2 || proj.Flows["f1"].Started != 9 || proj.Flows["f2"].Started != 5 || len(proj.Nodes) != 0 {
		t.Fatalf("per flow = %+v", proj)
	}
	// Another project's flow reads as nothing, never as its counts.
	if got := must(s.FlowStatsGet(ctx, store.FlowStatsParams{ProjectID: p1, FlowID: "f3"}))(t); got.Sessions.Started != 0 {
		t.Fatalf("cross-project counts: %+v", got)
	}
}
