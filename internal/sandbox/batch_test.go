package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

func TestWebhookBatchAggregatesStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		batch    int
		wantMany bool // some POST carries several statuses
	}{
		{"one status a POST", 1, false},
		{"batched under load", 50, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, Config{WebhookBatch: tc.batch, StatusDelay: 20 * time.Millisecond}, 5*time.Second)
			// A webhook endpoint slower than the statuses come due keeps
			// every poster busy, so statuses queue behind them.
			e.rcv.slow.Store(int64(10 * time.Millisecond))
			const sends = 60
			for i := range sends {
				if _, err := e.client.Send(context.Background(), channel.Outbound{Kind: channel.OutText, OurID: fmt.Sprintf("m%d", i),
					To: "16505551234", Text: "hi"}); err != nil {
					t.Fatal(err)
				}
			}
			evs := e.rcv.waitFor(t, 3*sends)
			seen := map[string]int{}
			for _, ev := range evs {
				if ev.Status == nil {
					t.Fatalf("a non-status event %+v", ev)
				}
				seen[ev.Status.OurID+"/"+string(ev.Status.State)]++
			}
			for i := range sends {
				for _, st := range []string{"sent", "delivered", "read"} {
					if n := seen[fmt.Sprintf("m%d/%s", i, st)]; n != 1 {
						t.Errorf("m%d %s arrived %d times, want once", i, st, n)
					}
				}
			}
			most := 0
			for _, d := range e.fake.Deliveries() {
				if d.Status != 200 {
					t.Errorf("a delivery was answered %d (%s)", d.Status, d.Err)
				}
				n := countStatuses(t, d.Body)
				most = max(most, n)
				if n > tc.batch {
					t.Errorf("a POST carried %d statuses, more than the batch of %d", n, tc.batch)
				}
			}
			if tc.wantMany != (most > 1) {
				t.Errorf("the largest POST carried %d statuses (batch %d)", most, tc.batch)
			}
		})
	}
}

// countStatuses counts the statuses a webhook body carries.
func countStatuses(t *testing.T, body []byte) int {
	t.Helper()
	var v struct {
		Entry []struct {
			Changes []struct {
				Value messagesValue `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("a delivery's body: %v", err)
	}
	n := 0
	for _, e := range v.Entry {
		for _, c := range e.Changes {
			n += len(c.Value.Statuses)
		}
	}
	return n
}
