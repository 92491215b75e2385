package chatflow_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/flow"
)

// TestChannelBinding: a flow bound to a channel of a type its trigger does
// not listen on cannot be published; message nodes the bound channel (or,
// unbound, the trigger's channel types) cannot show natively are warned
// about, per channel.
func TestChannelBinding(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	limits := map[string]*channel.Limits{
		"webchat":   {Buttons: channel.NoLimit, ListRows: channel.NoLimit},
		"plaintext": {},
		"richchat":  {Buttons: 1, QuickReplies: 13},
	}
	svc := chatflow.New(f.st, &stepClock{}, domain.UUIDv7{}, chatflow.WithChannelLimits(func(typ string) *channel.Limits { return limits[typ] }))
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for _, ch := range []domain.Channel{
		{ID: "plain-1", ProjectID: f.project, Type: "plaintext", Name: "SMS-like", Status: "active", CreatedAt: now, UpdatedAt: now},
		{ID: "rich-1", ProjectID: f.project, Type: "richchat", Name: "Rich", Status: "active", CreatedAt: now, UpdatedAt: now},
	} {
		ok[domain.Channel](t)(f.st.ChannelCreate(f.ctx, ch))
	}
	graph := func(types string) json.RawMessage {
		return json.RawMessage(`{"nodes":[
 {"id":"start","type":"start","data":{"trigger":{"type":"inbound","channel_types":` + types + `}}},
 {"id":"ask","type":"message","data":{"text":"Pick one","buttons":["Yes","No"]}},
 {"id":"end","type":"end","data":{"text":"Bye"}}
],"edges":[{"id":"e1","source":"start","target":"ask"},{"id":"e2","source":"ask","sourceHandle":"Yes","target":"end"},{"id":"e3","source":"ask","sourceHandle":"No","target":"end"}]}`)
	}
	codes := func(ps []flow.Problem, code string) []flow.Problem {
		var out []flow.Problem
		for _, p := range ps {
			if p.Code == code {
				out = append(out, p)
			}
		}
		return out
	}
	tests := []struct {
		name     string
		types    string
		channel  string
		warnings []string // in the channel_render warnings' messages, in order
		mismatch bool
	}{
		{"bound to a channel that shows it", `["webchat"]`, "wa-1", nil, false},
		{"bound to a text-only channel", `["plaintext"]`, "plain-1", []string{`"SMS-like" (plaintext): its 2 buttons are sent as a numbered text list`}, false},
		{"bound to a channel with quick replies", `[]`, "rich-1", []string{`"Rich" (richchat): its 2 buttons are sent as quick replies`}, false},
		{"unbound: every channel type the trigger names", `["plaintext","richchat","webchat"]`, "", []string{"plaintext channels", "richchat channels"}, false},
		{"bound to a type the trigger does not listen on", `["plaintext"]`, "wa-1", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fl := ok[chatflow.Flow](t)(svc.Create(f.ctx, f.project, f.actor, chatflow.CreateInput{Name: tc.name, FlowData: graph(tc.types), ChannelID: tc.channel}))
			warns := codes(fl.Problems, chatflow.CodeChannelRender)
			if len(warns) != len(tc.warnings) {
				t.Fatalf("warnings = %+v, want %d", warns, len(tc.warnings))
			}
			for i, w := range warns {
				if w.Severity != flow.SeverityWarning || w.NodeID != "ask" || w.Pointer != "/flow_data/nodes/1/data" || !strings.Contains(w.Message, tc.warnings[i]) {
					t.Fatalf("warning %d = %+v, want it to say %q", i, w, tc.warnings[i])
				}
			}
			v := ok[chatflow.Validation](t)(svc.Validate(f.ctx, f.project, fl.ID, nil, nil))
			if len(codes(v.Problems, chatflow.CodeChannelRender)) != len(tc.warnings) {
				t.Fatalf("validate = %+v", v.Problems)
			}
			pub, err := svc.Publish(f.ctx, f.project, fl.ID, f.actor, fl.Version)
			if tc.mismatch {
				wantCode(t, err, domain.CodeUnprocessable)
				if !strings.Contains(err.Error(), "trigger listens on plaintext") {
					t.Fatalf("publish = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("publish with warnings only: %v", err)
			}
			// Bound while published: the binding cannot change (409).
			other := "wa-1"
			if tc.channel == other {
				other = "plain-1"
			}
			_, err = svc.Update(f.ctx, f.project, fl.ID, f.actor, chatflow.UpdateInput{Version: pub.Version, ChannelID: &other})
			wantCode(t, err, domain.CodeConflict)
		})
	}
}
