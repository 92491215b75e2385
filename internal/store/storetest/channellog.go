package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunChannelLogs runs the cases of the ChannelLogs and DeadLetters
// aggregates.
func RunChannelLogs(t *testing.T, open Opener) {
	run(t, open, []test{
		{"ChannelLogs", testChannelLogs},
		{"DeadLetters", testDeadLetters},
	})
}

func testChannelLogs(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	var ids seq
	entry := func(project, ch, msg, kind string, status int, errText string, at time.Time) store.ChannelLogEntry {
		return store.ChannelLogEntry{ID: ids.id(), ProjectID: project, ChannelID: ch, MessageID: msg, Kind: kind, Method: "POST",
			URL: "https://graph.example/v21.0/1/messages", RequestHeaders: json.RawMessage(`{"Content-Type":["application/json"]}`),
			RequestBody: `{"text":"héllo"}`, StatusCode: status, ResponseHeaders: json.RawMessage(`{}`), ResponseBody: `{"ok":true}`,
			DurationMS: 42, Error: errText, CreatedAt: at}
	}
	var batch []store.ChannelLogEntry
	// More than one INSERT's worth, so batching is exercised.
	for i := range 230 {
		batch = append(batch, entry(p1, "c1", "", store.ChannelLogRequest, 200, "", t0.Add(time.Duration(i)*time.Second)))
	}
	batch = append(batch,
		entry(p1, "c1", "m1", store.ChannelLogRequest, 400, "", t0.Add(time.Hour)),
		entry(p1, "c1", "m1", store.ChannelLogRequest, 0, "dial tcp: connection refused", t0.Add(time.Hour+time.Second)),
		entry(p1, "c1", "", store.ChannelLogWebhook, 200, "", t0.Add(2*time.Hour)),
		entry(p2, "c1", "", store.ChannelLogWebhook, 200, "", t0.Add(2*time.Hour)), // another project, same channel ID
		entry(p1, "c2", "m1", store.ChannelLogRequest, 500, "", t0.Add(2*time.Hour)),
	)
	check(t, s.ChannelLogAppend(ctx, batch))
	check(t, s.ChannelLogAppend(ctx, nil))

	tests := []struct {
		name string
		p    store.ChannelLogListParams
		want int
	}{
		{"whole channel", store.ChannelLogListParams{ProjectID: p1, ChannelID: "c1", Page: store.Page{Limit: 500}}, 233},
		{"one message", store.ChannelLogListParams{ProjectID: p1, ChannelID: "c1", MessageID: "m1"}, 2},
		{"webhooks", store.ChannelLogListParams{ProjectID: p1, ChannelID: "c1", Kind: store.ChannelLogWebhook}, 1},
		{"errors", store.ChannelLogListParams{ProjectID: p1, ChannelID: "c1", ErrorsOnly: true}, 2},
		{"other project", store.ChannelLogListParams{ProjectID: p2, ChannelID: "c1"}, 1},
		{"unknown channel", store.ChannelLogListParams{ProjectID: p1, ChannelID: "nope"}, 0},
	}
	for _, tc := range tests {
		got := must(s.ChannelLogList(ctx, tc.p))(t)
		if len(got.Items) != tc.want {
			t.Errorf("%s: %d entries, want %d", tc.name, len(got.Items), tc.want)
		}
	}

	// Newest first, paged with the cursor, every field read back.
	first := must(s.ChannelLogList(ctx, store.ChannelLogListParams{ProjectID: p1, ChannelID: "c1", Page: store.Page{Limit: 2}}))(t)
	if len(first.Items) != 2 || first.Next == "" || first.Items[0].Kind != store.ChannelLogWebhook {
		t.Fatalf("first page = %+v", first)
	}
	second := must(s.ChannelLogList(ctx, store.ChannelLogListParams{ProjectID: p1, ChannelID: "c1", Page: store.Page{Limit: 2, After: first.Next}}))(t)
	got := second.Items[0]
	want := batch[230]
	if got.ID != want.ID || got.Error != want.Error || got.MessageID != "m1" || got.RequestBody != want.RequestBody || got.DurationMS != 42 || got.StatusCode != 400 ||
		got.Method != "POST" || got.URL != want.URL || got.ResponseBody != want.ResponseBody || !got.CreatedAt.Equal(want.CreatedAt) ||
		!jsonSame(got.RequestHeaders, want.RequestHeaders) {
		t.Fatalf("second page's first entry = %+v, want %+v", got, want)
	}

	// The purge removes what is older than the cutoff, in bounded batches.
	if n := must(s.ChannelLogPurge(ctx, store.ChannelLogPurgeParams{Before: t0.Add(100 * time.Second), Limit: 60}))(t); n != 60 {
		t.Fatalf("purge with limit 60 removed %d", n)
	}
	if n := must(s.ChannelLogPurge(ctx, store.ChannelLogPurgeParams{Before: t0.Add(100 * time.Second)}))(t); n != 40 {
		t.Fatalf("second purge removed %d, want 40", n)
	}
	if n := must(s.ChannelLogList(ctx, store.ChannelLogListParams{ProjectID: p1, ChannelID: "c1", Page: store.Page{Limit: 500}}))(t); len(n.Items) != 133 {
		t.Fatalf("%d entries left after the purge, want 133", len(n.Items))
	}
}

func jsonSame(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

func testDeadLetters(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	must(s.ChannelCreate(ctx, domain.Channel{ID: "c1", ProjectID: p1, Type: "whatsapp", Name: "Main", Address: "1001", Status: "active", CreatedAt: t0, UpdatedAt: t0}))(t)
	must(s.ChannelCreate(ctx, domain.Channel{ID: "c2", ProjectID: p2, Type: "whatsapp", Name: "Other", Address: "1002", Status: "active", CreatedAt: t0, UpdatedAt: t0}))(t)
	// Raw bytes survive exactly, including ones that are not UTF-8.
	body := []byte("{\"entry\":[]}\xff\x00tail")
	d := must(s.DeadLetterCreate(ctx, store.DeadLetter{ID: "d1", ProjectID: p1, ChannelID: "c1", ChannelType: "whatsapp", Body: body,
		Headers: json.RawMessage(`{"X-Hub-Signature-256":["[redacted]"]}`), Reason: "timestamp out of range", ReceivedAt: t0}))(t)
	if !bytes.Equal(d.Body, body) || d.ReplayedAt != nil || d.ReplayOutcome != "" || !d.ReceivedAt.Equal(t0) {
		t.Fatalf("created = %+v", d)
	}
	must(s.DeadLetterCreate(ctx, store.DeadLetter{ID: "d2", ProjectID: p1, ChannelID: "c1", ChannelType: "whatsapp", Body: []byte("{}"), Reason: "r2", ReceivedAt: t0.Add(time.Second)}))(t)
	must(s.DeadLetterCreate(ctx, store.DeadLetter{ID: "d3", ProjectID: p2, ChannelID: "c2", ChannelType: "whatsapp", Body: []byte("{}"), Reason: "r3", ReceivedAt: t0}))(t)
	_, err := s.DeadLetterCreate(ctx, store.DeadLetter{ID: "d4", ProjectID: p1, ChannelID: "missing", ChannelType: "whatsapp", Body: []byte("{}"), Reason: "r", ReceivedAt: t0})
	wantCode(t, err, domain.CodeNotFound)

	got := must(s.DeadLetterGet(ctx, store.DeadLetterGetParams{ProjectID: p1, ID: "d1"}))(t)
	if !bytes.Equal(got.Body, body) || got.Reason != d.Reason || !jsonSame(got.Headers, d.Headers) {
		t.Fatalf("get = %+v", got)
	}
	_, err = s.DeadLetterGet(ctx, store.DeadLetterGetParams{ProjectID: p2, ID: "d1"})
	wantCode(t, err, domain.CodeNotFound)

	list := must(s.DeadLetterList(ctx, store.DeadLetterListParams{ProjectID: p1, ChannelID: "c1", Page: store.Page{Limit: 1}}))(t)
	if len(list.Items) != 1 || list.Items[0].ID != "d2" || list.Next != "d2" {
		t.Fatalf("first page = %+v", list)
	}
	list = must(s.DeadLetterList(ctx, store.DeadLetterListParams{ProjectID: p1, ChannelID: "c1", Page: store.Page{Limit: 1, After: list.Next}}))(t)
	if len(list.Items) != 1 || list.Items[0].ID != "d1" || list.Next != "" {
		t.Fatalf("second page = %+v", list)
	}
	if l := must(s.DeadLetterList(ctx, store.DeadLetterListParams{ProjectID: p2, ChannelID: "c1"}))(t); len(l.Items) != 0 {
		t.Fatalf("another project's channel lists %d dead letters", len(l.Items))
	}

	at := t0.Add(time.Hour)
	up := must(s.DeadLetterMarkReplayed(ctx, store.DeadLetterMarkReplayedParams{ProjectID: p1, ID: "d1", Outcome: "ok", Now: at}))(t)
	if up.ReplayedAt == nil || !up.ReplayedAt.Equal(at) || up.ReplayOutcome != "ok" {
		t.Fatalf("replayed = %+v", up)
	}
	_, err = s.DeadLetterMarkReplayed(ctx, store.DeadLetterMarkReplayedParams{ProjectID: p2, ID: "d1", Outcome: "ok", Now: at})
	wantCode(t, err, domain.CodeNotFound)

	// Deleting the channel deletes its dead letters.
	check(t, s.ChannelDelete(ctx, store.Ref{ProjectID: p1, ID: "c1"}))
	_, err = s.DeadLetterGet(ctx, store.DeadLetterGetParams{ProjectID: p1, ID: "d2"})
	wantCode(t, err, domain.CodeNotFound)
}
