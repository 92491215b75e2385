package campaignreport_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/campaignreport"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// The seeded campaign (storetest.SeedCampaignReport): three sessions on
// channel ch — s1 completed (template read, a text delivered, a quick
// reply), s2 waiting (template failed 131026), s4 expired (template sent).
func TestBuild(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.OpenOptions{})
	p := storetest.SeedCampaignReport(t, st)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	rep, err := campaignreport.Build(context.Background(), st, campaignreport.Params{ProjectID: p, CampaignID: "c1", FlowID: "f1", DatasetIDs: []string{"d1"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	tot := rep.Totals
	checks := []struct {
		name      string
		got, want any
	}{
		{"sessions", tot.Sessions, int64(3)},
		{"sent", tot.Sent, int64(3)},           // m1 read, m2 delivered, m4 sent
		{"delivered", tot.Delivered, int64(2)}, // m1, m2
		{"read", tot.Read, int64(1)},
		{"failed", tot.Failed, int64(1)},
		{"failure reason", tot.FailedByReason, []campaignreport.FailureReason{{Code: "131026", Reason: "Message undeliverable", Count: 1}}},
		{"replied", tot.Replied, int64(1)},
		{"response rate", tot.ResponseRate, 50.0}, // 1 of the 2 sessions with a message sent
		{"channels", len(rep.Channels), 1},
		{"templates", rep.Templates, []campaignreport.TemplateReport{{Name: "welcome", Sent: 2, Delivered: 1, Read: 1, Failed: 1, Replied: 1, ButtonClicks: 1}}},
		{"outcomes", [5]int64{rep.Outcomes.Started, rep.Outcomes.Completed, rep.Outcomes.Waiting, rep.Outcomes.Expired, rep.Outcomes.Failed}, [5]int64{3, 1, 1, 1, 0}},
		{"ends", rep.Outcomes.Ends, []campaignreport.EndNode{{NodeID: "end_ok", Count: 1}}},
		{"funnel", rep.Funnel, []campaignreport.FunnelStep{{NodeID: "ask", Sessions: 2}, {NodeID: "start", Sessions: 2}, {NodeID: "end_ok", Sessions: 1}}},
		{"hours", len(rep.Hourly), 1}, // everything happened between 09:30 and 09:33
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %+v, want %+v", c.name, c.got, c.want)
		}
	}
	if len(rep.Hourly) > 0 {
		h := rep.Hourly[0]
		if h.Hour.Hour() != 9 || h.Sent != 3 || h.Failed != 1 || h.Replies != 1 {
			t.Errorf("first hour %+v", h)
		}
	}
}

func equal(a, b any) bool {
	var x, y bytes.Buffer
	_, _ = x.WriteString(fmtAny(a))
	_, _ = y.WriteString(fmtAny(b))
	return x.String() == y.String()
}

func TestWriteRecipients(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.OpenOptions{})
	p := storetest.SeedCampaignReport(t, st)
	var buf bytes.Buffer
	if err := campaignreport.WriteRecipients(context.Background(), st, campaignreport.Params{ProjectID: p, CampaignID: "c1", DatasetIDs: []string{"d1"}}, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 {
		t.Fatalf("%d lines, want a header and one per dataset row:\n%s", len(recs), buf.String())
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	want := []struct{ row, phone, outcome string }{
		{"1", "'+351910000000", "completed"},
		{"2", "'+351910000001", "failed"},
		{"3", "", "invalid_phone"},
		{"4", "'+351910000003", "sent"},
		{"5", "'+351910000004", "queued"},
		{"6", "", "invalid_phone"},
	}
	for i, w := range want {
		r := recs[i+1]
		if r[col["row"]] != w.row || r[col["phone"]] != w.phone || r[col["outcome"]] != w.outcome {
			t.Errorf("line %d = row %s phone %s outcome %s; want %+v", i+1, r[col["row"]], r[col["phone"]], r[col["outcome"]], w)
		}
	}
}

func TestEscape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "+351": "'+351", "-2": "'-2", "@x": "'@x", "\tx": "'\tx", "ok": "ok", "": ""} {
		if got := campaignreport.Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func fmtAny(v any) string { return fmt.Sprintf("%+v", v) }

// TestBuildVoice: the voice metrics count each call once by how it ended;
// the average is over completed calls (transferred ones included); a call
// held for the flow counts as transferred once a voice_transfer took it.
func TestBuildVoice(t *testing.T) {
	t.Parallel()
	st := testdb.Open(t, store.OpenOptions{})
	p := storetest.SeedCampaignReport(t, st)
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for i, c := range []struct{ session, status, result string }{
		{"s1", "completed", `{"status":"completed","answered_by":"human","end_reason":"agent_hangup","duration_ms":40000,"outcome":"interested"}`},
		{"s1", "completed", `{"status":"completed","end_reason":"transferred","duration_ms":21000,"transfer":{"target":{"kind":"number","to":"+1555","mode":"blind"}},"outcome":"callback"}`},
		// Held for the flow; its first transfer is not taken, the second is.
		{"s1", "in_progress", `{"status":"in_progress","end_reason":"transferred","duration_ms":11000,"transfer":{"target":{"kind":"","to":"","mode":""},"pending":true,"reason":"x"},"outcome":"callback"}`},
		{"s1", "transfer:failed", `{"direction":"transfer","status":"failed","end_reason":"error","transfer":{"target":{"kind":"number","to":"+1666","mode":"blind"},"dial_status":"busy"}}`},
		{"s1", "transfer:completed", `{"direction":"transfer","status":"completed","end_reason":"transferred","transfer":{"target":{"kind":"agent","to":"al","mode":"warm"}}}`},
		// A request with no held call before it counts nothing.
		{"s2", "transfer:completed", `{"direction":"transfer","status":"completed","end_reason":"transferred","transfer":{"target":{"kind":"agent","to":"al","mode":"warm"}}}`},
		{"s2", "busy", `{"status":"busy"}`},
		{"s2", "no_answer", `{"status":"no_answer"}`},
		{"s2", "completed", `{"status":"completed","answered_by":"machine","end_reason":"machine","outcome":"voicemail"}`},
		{"s4", "failed", `{"status":"failed","end_reason":"interrupted"}`},
		{"s4", "in_progress", ``},
		{"s4", "queued", ``},
	} {
		call := store.Call{ID: fmt.Sprintf("call%d", i), ProjectID: p, ChannelID: "voice1", ContactID: "k1", SessionID: c.session, Direction: "outbound",
			From: "+14155550100", To: "+351910000000", Status: c.status, CreatedAt: at.Add(time.Duration(i) * time.Second), UpdatedAt: at}
		if st, ok := strings.CutPrefix(c.status, "transfer:"); ok {
			call.Direction, call.Status = "transfer", st
		}
		if c.result != "" {
			call.Result, call.EndedAt = []byte(c.result), &at
		}
		if err := st.CallCreate(ctx, call); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := campaignreport.Build(ctx, st, campaignreport.Params{ProjectID: p, CampaignID: "c1", Now: at})
	if err != nil {
		t.Fatal(err)
	}
	want := campaignreport.VoiceReport{Placed: 8, InProgress: 1, Completed: 3, Transferred: 2, Failed: 4, Busy: 1, NoAnswer: 1, Machine: 1, Errors: 1,
		AvgDurationSeconds: 24, TransferRate: 66.7,
		Outcomes: []campaignreport.OutcomeCount{{Outcome: "callback", Count: 2}, {Outcome: "interested", Count: 1}}}
	if !equal(rep.Voice, want) {
		t.Fatalf("voice = %+v, want %+v", rep.Voice, want)
	}
}
