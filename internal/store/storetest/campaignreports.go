package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunCampaignReports pins the reads a campaign's report is computed from.
func RunCampaignReports(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Scans", testCampaignReportScans},
		{"CallsScan", testCampaignCallsScan},
		{"RecentSends", testExecutionRecentSends},
	})
}

// SeedCampaignReport stores, in project p1 (with p2 beside it), campaign
// c1 over dataset d1 of 6 rows (rows 3 and 6 invalid) whose execution e1
// started rows 1, 2 and 4 as sessions s1, s2, s4 of contacts k1, k2, k4 on
// channel ch (row 5 stays queued):
//   - s1 completed on node end_ok; template "welcome" read, a text
//     delivered; k1 tapped a quick reply after the start (and wrote once
//     before it, which does not count);
//   - s2 waits at "ask"; its "welcome" failed with 131026;
//   - s4 expired; its "welcome" was sent (no receipt).
//
// Traces: s1 entered start, ask, end_ok (over two sprints); s2 start, ask.
// It returns the project ID.
func SeedCampaignReport(t *testing.T, s store.Store) string {
	t.Helper()
	ctx := context.Background()
	p1, _ := runtimeProjects(t, s)
	seedDataset(t, s, p1, "d1", 6)
	must(s.CampaignCreate(ctx, store.Campaign{ID: "c1", ProjectID: p1, Name: "C", Status: store.CampaignActive, FlowID: "f1",
		ChannelIDs: []string{"ch"}, DatasetIDs: []string{"d1"}, CreatedAt: t0, UpdatedAt: t0}))(t)
	createExecution(t, s, newExecution("e1", p1, t0))
	for _, row := range []int64{1, 2, 4} {
		k, sid := fmt.Sprintf("k%d", row), fmt.Sprintf("s%d", row)
		_, _, err := s.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p1, Scheme: "whatsapp", Path: fmt.Sprintf("35191%07d", row-1), ChannelID: "ch", NewID: k, Now: t0})
		check(t, err)
		check(t, s.InTx(ctx, func(q store.Queries) error {
			_, err := q.RecipientClaim(ctx, store.RecipientClaimParams{CampaignID: "c1", DatasetID: "d1", RowNum: row, Status: store.RecipientStarted,
				ChannelID: "ch", ContactID: k, SessionID: sid, Now: t0})
			return err
		}))
		status, node := domain.SessionWaiting, "ask"
		switch row {
		case 1:
			status, node = domain.SessionCompleted, "end_ok"
		case 4:
			status = domain.SessionExpired
		}
		check(t, s.SessionCreate(ctx, store.SessionCreateParams{Session: domain.FlowSession{ID: sid, ProjectID: p1, ContactID: k, FlowID: "f1", Revision: 1, ChannelID: "ch", Status: status,
			NodeID: node, ExpiresAt: t0.Add(24 * time.Hour), Version: 1, CreatedAt: t0, UpdatedAt: t0}}))
	}
	tmpl := json.RawMessage(`{"type":"template","template":{"name":"welcome","language":"en"}}`)
	msg := func(id, session, contact, dir, typ, status string, at time.Time, content json.RawMessage) {
		if content == nil {
			content = json.RawMessage(`{"text":"x"}`)
		}
		m := domain.Message{ID: id, ProjectID: p1, ContactID: contact, ChannelID: "ch", SessionID: session, Direction: dir, Type: typ, Content: content,
			Status: status, CreatedAt: at}
		if dir == domain.DirectionIn {
			m.ProviderID = "wamid." + id
		}
		if status == domain.MessageFailed {
			m.ErrorCode, m.ErrorReason = "131026", "Message undeliverable"
		}
		if dir == domain.DirectionOut && status != domain.MessageQueued && status != domain.MessageFailed {
			sent := at.Add(time.Second)
			m.SentAt = &sent
		}
		must(s.MessageCreate(ctx, m))(t)
	}
	msg("m1", "s1", "k1", domain.DirectionOut, "template", domain.MessageRead, t0.Add(time.Second), tmpl)
	msg("m2", "s1", "k1", domain.DirectionOut, "text", domain.MessageDelivered, t0.Add(2*time.Minute), nil)
	msg("m3", "s2", "k2", domain.DirectionOut, "template", domain.MessageFailed, t0.Add(time.Second), tmpl)
	msg("m4", "s4", "k4", domain.DirectionOut, "template", domain.MessageSent, t0.Add(time.Second), tmpl)
	msg("i0", "", "k1", domain.DirectionIn, "text", domain.MessageReceived, t0.Add(-time.Hour), nil)
	msg("i1", "", "k1", domain.DirectionIn, "quick_reply", domain.MessageReceived, t0.Add(time.Minute), nil)
	check(t, s.TraceAppend(ctx, []domain.TraceEvent{
		{ProjectID: p1, SessionID: "s1", Kind: "node_entered", NodeID: "start", CreatedAt: t0},
		{ProjectID: p1, SessionID: "s1", Kind: "node_entered", NodeID: "ask", CreatedAt: t0},
		{ProjectID: p1, SessionID: "s2", Kind: "node_entered", NodeID: "start", CreatedAt: t0},
		{ProjectID: p1, SessionID: "s2", Kind: "node_entered", NodeID: "ask", CreatedAt: t0},
	}))
	check(t, s.TraceAppend(ctx, []domain.TraceEvent{
		{ProjectID: p1, SessionID: "s1", Kind: "node_entered", NodeID: "ask", CreatedAt: t0.Add(time.Minute)},
		{ProjectID: p1, SessionID: "s1", Kind: "node_entered", NodeID: "end_ok", CreatedAt: t0.Add(time.Minute)},
	}))
	return p1
}

func testCampaignReportScans(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := SeedCampaignReport(t, s)

	var msgs []store.CampaignMessage
	check(t, s.CampaignMessagesScan(ctx, store.CampaignMessagesScanParams{ProjectID: p1, CampaignID: "c1",
		Each: func(m store.CampaignMessage) error { msgs = append(msgs, m); return nil }}))
	if len(msgs) != 4 || msgs[0].SessionID != "s1" || msgs[0].TemplateName != "welcome" || msgs[0].Status != domain.MessageRead ||
		msgs[0].SentAt == nil || msgs[1].TemplateName != "" || msgs[2].ErrorCode != "131026" || msgs[3].SessionID != "s4" {
		t.Fatalf("messages: %+v", msgs)
	}
	// Another project sees nothing of it.
	n := 0
	check(t, s.CampaignMessagesScan(ctx, store.CampaignMessagesScanParams{ProjectID: "p2", CampaignID: "c1",
		Each: func(store.CampaignMessage) error { n++; return nil }}))
	if n != 0 {
		t.Fatalf("another project read %d of the campaign's messages", n)
	}

	var replies []store.CampaignReply
	check(t, s.CampaignRepliesScan(ctx, store.CampaignRepliesScanParams{ProjectID: p1, CampaignID: "c1",
		Each: func(r store.CampaignReply) error { replies = append(replies, r); return nil }}))
	if len(replies) != 1 || replies[0].SessionID != "s1" || replies[0].Type != "quick_reply" || replies[0].ChannelID != "ch" {
		t.Fatalf("replies (the one before the start must not count): %+v", replies)
	}

	var sessions []store.CampaignSession
	check(t, s.CampaignSessionsScan(ctx, store.CampaignSessionsScanParams{ProjectID: p1, CampaignID: "c1",
		Each: func(c store.CampaignSession) error { sessions = append(sessions, c); return nil }}))
	if len(sessions) != 3 || sessions[0].Status != domain.SessionCompleted || sessions[0].NodeID != "end_ok" || sessions[2].Status != domain.SessionExpired {
		t.Fatalf("sessions: %+v", sessions)
	}

	var traces []store.CampaignTrace
	check(t, s.CampaignTracesScan(ctx, store.CampaignTracesScanParams{ProjectID: p1, CampaignID: "c1",
		Each: func(c store.CampaignTrace) error { traces = append(traces, c); return nil }}))
	if len(traces) != 3 || traces[0].SessionID != "s1" || traces[1].SessionID != "s1" || traces[2].SessionID != "s2" {
		t.Fatalf("trace rows by session: %+v", traces)
	}
	var evs []map[string]any
	if err := json.Unmarshal(traces[1].Events, &evs); err != nil || len(evs) != 2 || evs[1]["node_id"] != "end_ok" {
		t.Fatalf("second sprint of s1: %s (%v)", traces[1].Events, err)
	}

	var rows []store.CampaignRow
	check(t, s.CampaignRowsScan(ctx, store.CampaignRowsScanParams{ProjectID: p1, CampaignID: "c1", DatasetIDs: []string{"d1"},
		Each: func(r store.CampaignRow) error { rows = append(rows, r); return nil }}))
	if len(rows) != 6 {
		t.Fatalf("%d rows, want every row of the dataset", len(rows))
	}
	r1, r2, r3, r5 := rows[0], rows[1], rows[2], rows[4]
	if r1.Recipient != store.RecipientStarted || r1.SessionID != "s1" || r1.SessionStatus != domain.SessionCompleted || r1.NodeID != "end_ok" ||
		r1.Messages != 2 || r1.BestStatus != domain.MessageRead || r1.Replies != 1 || r1.StartedAt == nil {
		t.Fatalf("row 1: %+v", r1)
	}
	if r2.BestStatus != domain.MessageFailed || r2.ErrorReason != "Message undeliverable" || r2.Replies != 0 {
		t.Fatalf("row 2: %+v", r2)
	}
	if r3.RowStatus != store.RowInvalidPhone || r3.RowReason != "too short" || r3.Recipient != "" {
		t.Fatalf("row 3: %+v", r3)
	}
	if r5.Recipient != store.RecipientQueued || r5.SessionID != "" || r5.Messages != 0 {
		t.Fatalf("row 5: %+v", r5)
	}
	n = 0
	check(t, s.CampaignRowsScan(ctx, store.CampaignRowsScanParams{ProjectID: "p2", CampaignID: "c1", DatasetIDs: []string{"d1"},
		Each: func(store.CampaignRow) error { n++; return nil }}))
	if n != 0 {
		t.Fatalf("another project read %d rows of the dataset", n)
	}

	// A second campaign on the dataset: no row is queued before it has an
	// execution; once it has one, every valid row is, taken or not.
	must(s.CampaignCreate(ctx, store.Campaign{ID: "c2", ProjectID: p1, Name: "Second", Status: store.CampaignDraft, CreatedAt: t0, UpdatedAt: t0}))(t)
	recipients := func() []string {
		var out []string
		check(t, s.CampaignRowsScan(ctx, store.CampaignRowsScanParams{ProjectID: p1, CampaignID: "c2", DatasetIDs: []string{"d1"},
			Each: func(r store.CampaignRow) error { out = append(out, r.Recipient); return nil }}))
		return out
	}
	if got := recipients(); !slices.Equal(got, []string{"", "", "", "", "", ""}) {
		t.Fatalf("rows of a campaign with no execution: %q", got)
	}
	e2 := newExecution("e2", p1, t0)
	e2.CampaignID = "c2"
	e2 = must(s.ExecutionCreate(ctx, store.ExecutionCreateParams{Execution: e2}))(t)
	if got := recipients(); !slices.Equal(got, []string{"queued", "queued", "", "queued", "queued", ""}) {
		t.Fatalf("rows of an execution that took none yet: %q", got)
	}
	// Rows 3 and 6 turn valid (a new mapping) after a take of rows 1–4:
	// row 3, behind the take, belongs to no execution; row 6, ahead of
	// it, is queued.
	check(t, s.InTx(ctx, func(q store.Queries) error {
		_, err := q.ExecutionTake(ctx, store.ExecutionTakeParams{ProjectID: p1, ID: "e2", Limit: 4})
		return err
	}))
	check(t, s.DatasetRowsUpdate(ctx, []store.DatasetRow{
		{DatasetID: "d1", RowNum: 3, Status: store.RowValid, Phone: "+351910000002"},
		{DatasetID: "d1", RowNum: 6, Status: store.RowValid, Phone: "+351910000005"},
	}))
	if got := recipients(); !slices.Equal(got, []string{"queued", "queued", "", "queued", "queued", "queued"}) {
		t.Fatalf("rows after a take of 4 and a new mapping: %q", got)
	}
	// Once the execution took every row, row 6 has its recipient row and
	// row 3 still none.
	takeChunks(t, s, e2, -1)
	if got := recipients(); !slices.Equal(got, []string{"queued", "queued", "", "queued", "queued", "queued"}) {
		t.Fatalf("rows of an execution that took them all: %q", got)
	}
}

// testCampaignCallsScan: the voice calls of a campaign's sessions stream by
// session, with their result; calls of other sessions and projects do not.
func testCampaignCallsScan(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := SeedCampaignReport(t, s)
	ended := t0.Add(3 * time.Minute)
	call := func(id, session string, at time.Time, status, result string, end *time.Time) {
		check(t, s.CallCreate(ctx, store.Call{ID: id, ProjectID: p1, ChannelID: "voice1", ContactID: "k1", SessionID: session, Token: "tok-" + id,
			Direction: "outbound", From: "+14155550100", To: "+351910000000", Status: status, Result: json.RawMessage(result),
			CreatedAt: at, UpdatedAt: at, EndedAt: end}))
	}
	call("call2", "s2", t0.Add(time.Minute), "busy", `{"status":"busy"}`, &ended)
	call("call1b", "s1", t0.Add(2*time.Minute), "queued", "", nil)
	call("call1a", "s1", t0.Add(time.Minute), "completed", `{"status":"completed","duration_ms":42000}`, &ended)
	call("other", "s9", t0.Add(time.Minute), "completed", `{"status":"completed"}`, &ended)

	var calls []store.CampaignCall
	check(t, s.CampaignCallsScan(ctx, store.CampaignCallsScanParams{ProjectID: p1, CampaignID: "c1",
		Each: func(c store.CampaignCall) error { calls = append(calls, c); return nil }}))
	if len(calls) != 3 {
		t.Fatalf("%d calls, want the 3 of the campaign's sessions: %+v", len(calls), calls)
	}
	a, b, c := calls[0], calls[1], calls[2]
	if a.CallID != "call1a" || a.SessionID != "s1" || a.ChannelID != "voice1" || a.Status != "completed" ||
		string(a.Result) != `{"status":"completed","duration_ms":42000}` || a.EndedAt == nil || !a.EndedAt.Equal(ended) {
		t.Fatalf("first call: %+v", a)
	}
	if b.CallID != "call1b" || b.Status != "queued" || b.Result != nil || b.EndedAt != nil {
		t.Fatalf("second call (still queued): %+v", b)
	}
	if c.CallID != "call2" || c.SessionID != "s2" || c.Status != "busy" {
		t.Fatalf("third call: %+v", c)
	}
	n := 0
	check(t, s.CampaignCallsScan(ctx, store.CampaignCallsScanParams{ProjectID: "p2", CampaignID: "c1",
		Each: func(store.CampaignCall) error { n++; return nil }}))
	if n != 0 {
		t.Fatalf("another project read %d of the campaign's calls", n)
	}
}

// testExecutionRecentSends: the failure check's read gives the execution's
// outbound outcomes newest first, from Since on, never another execution's
// or project's.
func testExecutionRecentSends(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := SeedCampaignReport(t, s)
	got := must(s.ExecutionRecentSends(ctx, store.ExecutionRecentSendsParams{ProjectID: p1, ExecutionID: "e1", Since: t0.Add(-time.Hour), Limit: 100}))(t)
	if len(got) != 4 || got[0].Status != domain.MessageDelivered {
		t.Fatalf("recent sends: %+v", got)
	}
	failed := 0
	for _, m := range got {
		if m.Status == domain.MessageFailed && m.ErrorCode == "131026" {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("want the one failure with its code: %+v", got)
	}
	if got := must(s.ExecutionRecentSends(ctx, store.ExecutionRecentSendsParams{ProjectID: p1, ExecutionID: "e1", Since: t0.Add(-time.Hour), Limit: 2}))(t); len(got) != 2 || got[0].Status != domain.MessageDelivered {
		t.Fatalf("limit 2: %+v", got)
	}
	if got := must(s.ExecutionRecentSends(ctx, store.ExecutionRecentSendsParams{ProjectID: p1, ExecutionID: "e1", Since: t0.Add(time.Minute), Limit: 100}))(t); len(got) != 1 {
		t.Fatalf("since a minute in, only the later text: %+v", got)
	}
	// The execution's counts, read in the same way.
	st := must(s.ExecutionMessageStats(ctx, store.Ref{ProjectID: p1, ID: "e1"}))(t)
	if fmt.Sprint(st.Outbound) != "map[delivered:1 failed:1 read:1 sent:1]" || fmt.Sprint(st.FailedByReason) != "map[131026:1]" ||
		fmt.Sprint(st.Sessions) != "map[completed:1 expired:1 waiting:1]" || st.RepliedContacts != 1 {
		t.Fatalf("execution stats: %+v", st)
	}
	for _, p := range []store.ExecutionRecentSendsParams{{ProjectID: "p2", ExecutionID: "e1"}, {ProjectID: p1, ExecutionID: "nope"}} {
		p.Since, p.Limit = t0.Add(-time.Hour), 100
		if got := must(s.ExecutionRecentSends(ctx, p))(t); len(got) != 0 {
			t.Fatalf("%+v read %d sends", p, len(got))
		}
	}
}
