package dbcopy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store/dbcopy"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// waiting asks a question and waits up to 12 s for the answer.
const waiting = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Hi {{contact.name}}! Pick one","buttons":["Book","Track"],"timeout_seconds":12}},
 {"id":"booked","type":"end","position":{"x":0,"y":200},"data":{"text":"Booked"}},
 {"id":"track","type":"end","position":{"x":200,"y":200},"data":{"text":"Tracking"}},
 {"id":"late","type":"end","position":{"x":400,"y":200},"data":{"text":"Timed out"}}
],"edges":[
 {"id":"e1","source":"start","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Book","target":"booked"},
 {"id":"e3","source":"ask","sourceHandle":"Track","target":"track"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"track"},
 {"id":"e5","source":"ask","sourceHandle":"timeout","target":"late"}
]}`

// waitingLong is waiting started by "order", with an hour to answer: Ann's
// reply must find her session still waiting however long the copies take
// (under the race detector, longer than waiting's 12 s).
var waitingLong = strings.NewReplacer(`"keywords":["hi"]`, `"keywords":["order"]`, `"timeout_seconds":12`, `"timeout_seconds":3600`).Replace(waiting)

const (
	ann = "15551230001" // answers after the move
	bob = "15551230002" // never answers: his timer fires after the move
)

// TestCopyRoundTrip: a deployment on SQLite, with sessions WAITING on a
// question with a timer, is copied to PostgreSQL and from there to a new
// SQLite file. Every table's count and checksum agree along the way, and
// on both copies the waiting sessions continue: Ann's reply resumes hers,
// Bob's timeout still fires.
func TestCopyRoundTrip(t *testing.T) {
	pgURL := testdb.PostgresURL(t) // skips without TEST_DATABASE_URL
	ctx := context.Background()
	fake := sandbox.New(sandbox.Config{AppSecret: apptest.AppSecret, AccessToken: apptest.AccessToken, PhoneNumberID: apptest.PhoneNumberID,
		StatusDelay: 5 * time.Millisecond, TemplateReview: sandbox.ReviewBeforeAnswer})
	if err := fake.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Stop)
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	start := func(configure func(*config.Config)) *apptest.Server {
		s := apptest.Start(t, apptest.Options{Configure: configure})
		if err := s.App.AllowEndpoint(fake.URL()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	onSQLite := func(dir string) func(*config.Config) {
		return func(c *config.Config) { c.DatabaseURL, c.DataDir = "", dir }
	}

	// The trial deployment on SQLite.
	a := start(onSQLite(dirA))
	ch := a.Must("POST", "/channels/", map[string]any{"type": "whatsapp", "name": "Shop", "config": map[string]any{
		"phone_number_id": apptest.PhoneNumberID, "waba_id": apptest.WABAID, "access_token": apptest.AccessToken,
		"app_secret": apptest.AppSecret, "api_base_url": fake.URL()}}, http.StatusCreated)
	chID := ch["id"].(string)
	fake.SetWebhookURL(a.Base + "/webhooks/whatsapp/" + chID)
	a.Publish("Booking", waiting)
	a.Publish("Booking, no hurry", waitingLong)
	tpl := a.Must("POST", "/templates/", map[string]any{"channel_id": chID, "name": "moved", "language": "en_US", "category": "UTILITY",
		"components": []any{map[string]any{"type": "BODY", "text": "Hi {{1}}, your order moved.", "example": map[string]any{"body_text": []any{[]any{"Ann"}}}}}},
		http.StatusCreated)
	a.Eventually("the template is approved", func() bool {
		return a.Must("GET", "/templates/"+tpl["id"].(string)+"/", nil, http.StatusOK)["status"] == "APPROVED"
	})
	// A campaign over a dataset, run to its end.
	status, d := a.Upload("/datasets/", nil, "people.csv", strings.NewReader("phone,first_name\n+351912345003,Cy\n+351912345004,Di\n"))
	if status != http.StatusAccepted {
		t.Fatalf("dataset upload: %d %v", status, d)
	}
	dsID := d["id"].(string)
	a.Eventually("the dataset is processed", func() bool {
		return a.Must("GET", "/datasets/"+dsID+"/", nil, http.StatusOK)["status"] == "ready"
	})
	cf := a.Publish("Notice", `{"nodes":[{"id":"s","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"campaign"}}},
	 {"id":"t","type":"template","position":{"x":0,"y":100},"data":{"template_id":"`+tpl["id"].(string)+`","params":{"body":["{{first_name}}"]}}},
	 {"id":"e","type":"end","position":{"x":0,"y":200},"data":{}}],"edges":[{"id":"e1","source":"s","target":"t"},{"id":"e2","source":"t","target":"e"}]}`)
	camp := a.Must("POST", "/campaigns/", map[string]any{"name": "Notice", "flow_id": cf["id"], "channel_ids": []string{chID}, "dataset_ids": []string{dsID}}, http.StatusCreated)
	exec := a.Must("POST", "/campaigns/"+camp["id"].(string)+"/executions/", map[string]any{"dataset_id": dsID}, http.StatusCreated)
	a.Eventually("the campaign completes", func() bool {
		return a.Must("GET", "/campaigns/"+camp["id"].(string)+"/executions/"+exec["id"].(string)+"/", nil, http.StatusOK)["status"] == "completed"
	})
	// A WhatsApp Flow (form) made at the fake, and an LLM provider with a sealed key.
	a.Must("POST", "/whatsapp-flows/", map[string]any{"name": "Visit", "template": "appointment_booking", "channel_id": chID}, http.StatusCreated)
	a.Must("POST", "/ai/providers/", map[string]any{"name": "Local", "base_url": "http://127.0.0.1:11434/v1", "model": "llama3", "api_key": "sk-moved"}, http.StatusCreated)
	for who, text := range map[string]string{ann: "order", bob: "hi"} {
		if _, err := fake.SendInbound(ctx, sandbox.Inbound{From: who, Name: "Pat", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	a.Eventually("both questions reach the fake", func() bool { return len(sentTo(fake, ann, "Pick one"))+len(sentTo(fake, bob, "Pick one")) == 2 })
	a.Eventually("both sessions wait", func() bool {
		out := a.Must("GET", "/sessions/?status=waiting", nil, http.StatusOK)
		return len(out["results"].([]any)) == 2
	})
	a.Stop()

	// SQLite → PostgreSQL → SQLite.
	fileA, fileB := filepath.Join(dirA, "parley.db"), filepath.Join(dirB, "parley.db")
	pg := dbcopy.Location{Dialect: "postgres", DSN: pgURL}
	first, err := dbcopy.Copy(ctx, dbcopy.Options{From: dbcopy.Location{Dialect: "sqlite", DSN: fileA}, To: pg})
	if err != nil {
		t.Fatalf("copying SQLite to PostgreSQL: %v", err)
	}
	second, err := dbcopy.Copy(ctx, dbcopy.Options{From: pg, To: dbcopy.Location{Dialect: "sqlite", DSN: fileB}})
	if err != nil {
		t.Fatalf("copying PostgreSQL back to SQLite: %v", err)
	}
	back := map[string]dbcopy.TableResult{}
	for _, tr := range second.Tables {
		back[tr.Table] = tr
	}
	for _, tr := range first.Tables {
		b := back[tr.Table]
		if tr.Rows != b.TargetRows || tr.Source != b.Target {
			t.Errorf("%s: %d rows (%s) on the first SQLite, %d (%s) after the round trip", tr.Table, tr.Rows, tr.Source, b.TargetRows, b.Target)
		}
	}
	if len(first.Tables) != len(second.Tables) {
		t.Errorf("%d tables copied there, %d back", len(first.Tables), len(second.Tables))
	}
	rows := map[string]int64{}
	for _, tr := range first.Tables {
		rows[tr.Table] = tr.Rows
	}
	for _, tr := range first.Tables {
		t.Logf("%-24s %6d %s %s %s", tr.Table, tr.Rows, tr.Source, tr.Target, tr.Note)
	}
	for _, table := range []string{"projects", "users", "api_tokens", "channels", "flows", "flow_revisions", "contacts", "contact_urns",
		"messages", "flow_sessions", "flow_session_stats", "message_templates", "campaigns", "campaign_executions", "campaign_recipients",
		"whatsapp_flows", "ai_providers", "datasets", "dataset_rows", "channel_logs", "parley_settings", "river_job", "river_queue"} {
		if rows[table] == 0 {
			t.Errorf("the test data has no rows in %s: the round trip proves nothing for it", table)
		}
	}
	// Both copies agree with the original as checked afresh.
	for _, loc := range []dbcopy.Location{{Dialect: "sqlite", DSN: fileB}, pg} {
		other := pg
		if loc.Dialect == "postgres" {
			other = dbcopy.Location{Dialect: "sqlite", DSN: fileA}
		}
		sums, err := dbcopy.Checksums(ctx, loc, other)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range first.Tables {
			if got := sums[tr.Table]; got.Rows != tr.Rows || got.Source != tr.Source {
				t.Errorf("%s in %s: %d rows (%s), want %d (%s)", tr.Table, loc.Dialect, got.Rows, got.Source, tr.Rows, tr.Source)
			}
		}
	}

	// The sessions continue on each copy: Ann's reply resumes hers, Bob's
	// timer fires.
	for i, configure := range []func(*config.Config){
		func(c *config.Config) { c.DatabaseURL = pgURL },
		onSQLite(dirB),
	} {
		s := start(configure)
		fake.SetWebhookURL(s.Base + "/webhooks/whatsapp/" + chID)
		if _, err := fake.SendInbound(ctx, sandbox.Inbound{From: ann, Name: "Pat", ButtonReply: &channel.Reply{ID: "b0", Title: "Book"}}); err != nil {
			t.Fatal(err)
		}
		s.Eventually("Ann's reply resumes her session", func() bool { return len(sentTo(fake, ann, `"Booked"`)) == i+1 })
		s.Eventually("Bob's timeout fires", func() bool { return len(sentTo(fake, bob, `"Timed out"`)) == i+1 })
		s.Stop()
	}
}

// sentTo returns the bodies the fake received for to that contain part.
func sentTo(fake *sandbox.Server, to, part string) []string {
	var out []string
	for _, m := range fake.Messages() {
		var b struct {
			To string `json:"to"`
		}
		if json.Unmarshal(m.Body, &b) == nil && b.To == to && strings.Contains(string(m.Body), part) {
			out = append(out, string(m.Body))
		}
	}
	return out
}
