package runner

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/runner/inbox"
	"github.com/parleyhq/parley/internal/store"
)

// TestTemplateStatusEvents: every template event Meta sends is stored as a
// status Parley keeps (the database accepts five), and none makes the
// webhook fail — a failure would make Meta retry the whole body forever.
func TestTemplateStatusEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	tests := []struct {
		event, want, reason string
	}{
		{"APPROVED", "APPROVED", ""},
		{"REJECTED", "REJECTED", ""},
		{"LIMIT_EXCEEDED", "REJECTED", "LIMIT_EXCEEDED"},
		{"IN_APPEAL", "PENDING", "IN_APPEAL"},
		{"REINSTATED", "APPROVED", "REINSTATED"},
		{"PAUSED", "PAUSED", ""},
		{"FLAGGED", "PAUSED", "FLAGGED"}, // a warning: the status stays
		{"PENDING_DELETION", "DISABLED", "PENDING_DELETION"},
		{"DELETED", "DISABLED", "DELETED"},
		{"SOMETHING_NEW", "DISABLED", "SOMETHING_NEW"},
	}
	tpl, err := e.st.TemplateCreate(ctx, store.TemplateCreateParams{ID: domain.UUIDv7{}.NewID(), ProjectID: e.project.ID, ChannelID: e.channel.ID,
		Name: "order_update", Language: "en_US", Category: "UTILITY", Components: json.RawMessage(`[]`), Status: "PENDING", MetaTemplateID: "9001", Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		ev := channel.Event{Kind: channel.KindTemplateStatus, Template: &channel.TemplateUpdate{ID: "9001", Name: "order_update", Language: "en_US", Event: tc.event}}
		var res inbox.IngestResult
		err := e.st.InTx(ctx, func(q store.Queries) error {
			var err error
			res, err = e.r.Inbox.Ingest(ctx, q, e.channel, []channel.Event{ev})
			return err
		})
		if err != nil {
			t.Fatalf("%s: the webhook failed: %v", tc.event, err)
		}
		got, err := e.st.TemplateGet(ctx, store.Ref{ProjectID: e.project.ID, ID: tpl.ID})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tc.want || got.Reason != tc.reason || res.Templates != 1 {
			t.Errorf("%s: status %q reason %q (applied %d), want %q %q", tc.event, got.Status, got.Reason, res.Templates, tc.want, tc.reason)
		}
	}
}
