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

// RunCampaignReports pins the reads a campaign's report is computed from.
func RunCampaignReports(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Scans", testCampaignReportScans},
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
		check(t, s.SessionCreate(ctx, domain.FlowSession{ID: sid, ProjectID: p1, ContactID: k, FlowID: "f1", Revision: 1, ChannelID: "ch", Status: status,
			NodeID: node, ExpiresAt: t0.Add(24 * time.Hour), Version: 1, CreatedAt: t0, UpdatedAt: t0}))
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
}
