package sprint

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

func TestStatsBufferAddsUp(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)
	var b statsBuffer
	sprint := func(flow string, rev int, at time.Time) store.FlowStatsAddParams {
		return store.FlowStatsAddParams{ProjectID: "p", FlowID: flow, Revision: rev, At: at,
			Sessions: store.SessionCounts{Started: 1, Completed: 1},
			Nodes:    map[string]store.NodeCounts{"start": {Visits: 1}, "ask": {Visits: 1, DropOffs: 1}},
			Edges:    map[string]int64{"e1": 1}}
	}
	b.add(sprint("f1", 1, at))
	b.add(sprint("f1", 1, at.Add(20*time.Minute))) // same hour
	b.add(sprint("f1", 1, at.Add(time.Hour)))      // next hour
	b.add(sprint("f1", 2, at))                     // other revision
	rows := b.take()
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3 (hour × revision)", len(rows))
	}
	r := rows[statsKey{"p", "f1", 1, at.Truncate(time.Hour)}]
	if r == nil || r.Sessions.Started != 2 || r.Nodes["ask"] != (store.NodeCounts{Visits: 2, DropOffs: 2}) || r.Edges["e1"] != 2 || !r.At.Equal(at.Truncate(time.Hour)) {
		t.Fatalf("9:00 row = %+v", r)
	}
	if len(b.take()) != 0 {
		t.Fatal("take left rows behind")
	}
}
