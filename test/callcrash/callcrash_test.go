// Package callcrash_test kills `parley serve` (SIGKILL) while voice calls
// are under way and checks that every waiting session goes on, once,
// through the voice_call node's failed exit with end reason interrupted.
package callcrash_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ai/aitest"
	_ "github.com/parleyhq/parley/internal/app" // rebuilds the test when the server changes
	"github.com/parleyhq/parley/internal/store/testdb"
	"github.com/parleyhq/parley/test/killharness"
)

// crashFlow: an API start calls the contact; each exit ends on its own
// node, so the session's last node says which exit it took.
const crashFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"api"}}},
 {"id":"call","type":"voice_call","position":{"x":0,"y":100},"data":{"channel_id":"VOICE","prompt":"Book a visit.","greeting":"Hi, this is the clinic.","variable":"call"}},
 {"id":"talked","type":"end","position":{"x":0,"y":200},"data":{}},
 {"id":"missed","type":"end","position":{"x":200,"y":200},"data":{}},
 {"id":"broke","type":"end","position":{"x":400,"y":200},"data":{}}
],"edges":[
 {"id":"e1","source":"start","target":"call"},
 {"id":"e2","source":"call","sourceHandle":"completed","target":"talked"},
 {"id":"e3","source":"call","sourceHandle":"no_answer","target":"missed"},
 {"id":"e4","source":"call","sourceHandle":"failed","target":"broke"}
]}`

// TestKillDuringCalls: five calls are in progress (the agent waits on a
// model that never answers in time), the process is SIGKILLed and started
// again; every session ends on the failed exit with the call's end reason
// interrupted, and records exactly one call result. On SQLite the new
// process ends its predecessor's calls at start; on PostgreSQL (set
// TEST_DATABASE_URL) once their lease runs out.
func TestKillDuringCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	const calls = 5
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := killharness.BuildParley(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	env := append(os.Environ(), "PARLEY_DATA_DIR="+dataDir, "PARLEY_SECRET_KEY="+strings.Repeat("5e", 32), "PARLEY_LOG_LEVEL=warn",
		"PARLEY_WORK_LEASE=3s", "PARLEY_INBOX_RETENTION=24h", "PARLEY_WORK_POLL_INTERVAL=200ms", "PARLEY_JOB_POLL_INTERVAL=50ms", "PARLEY_HTTP_ALLOW=127.0.0.1")
	if os.Getenv(testdb.EnvVar) != "" {
		env = append(env, "DATABASE_URL="+testdb.PostgresURL(t))
	}
	// The model hangs: the calls stay in progress until the kill.
	llm := aitest.New("m")
	t.Cleanup(llm.Close)
	llm.Fallback(func(aitest.Request) aitest.Reply {
		return aitest.Reply{Content: `{"say":"ok","action":"continue","reason":""}`, Delay: 10 * time.Minute}
	})

	p := killharness.NewProc(t, bin, killharness.FreeAddr(t), env)
	p.Start(ctx)
	token := p.Run("token", "create", "--project", "Default", "--name", "callcrash")
	voiceCh := killharness.API(t, p.Base(), token, "POST", "/channels/", map[string]any{"type": "voice", "name": "Line", "config": map[string]any{"number": "+14155550180"}}, http.StatusCreated)
	killharness.API(t, p.Base(), token, "POST", "/ai/providers/", map[string]any{"name": "fake", "base_url": llm.BaseURL(), "model": "m", "timeout_seconds": 600}, http.StatusCreated)
	f := killharness.API(t, p.Base(), token, "POST", "/chat-flow/flows/", map[string]any{"name": "Calls", "is_active": true,
		"flow_data": json.RawMessage(strings.Replace(crashFlow, "VOICE", voiceCh["id"].(string), 1))}, http.StatusCreated)
	var sessions []string
	for i := range calls {
		out := killharness.API(t, p.Base(), token, "POST", "/chat-flow/flows/"+f["id"].(string)+"/start/", map[string]any{"phone": fmt.Sprintf("+1555123%04d", i),
			"channel_id": voiceCh["id"], "name": fmt.Sprintf("C%d", i)}, http.StatusOK)
		sessions = append(sessions, out["session_id"].(string))
	}
	// Every call is in progress: the agent greeted and asked the model.
	waitFor(ctx, t, "every call to reach the model", func() bool { return len(llm.Requests()) >= calls })
	for _, s := range sessions {
		if st := killharness.API(t, p.Base(), token, "GET", "/sessions/"+s+"/", nil, http.StatusOK); st["status"] != "waiting" {
			t.Fatalf("session %s before the kill: %v", s, st["status"])
		}
	}

	p.Kill()
	p.Start(ctx)
	for _, s := range sessions {
		var st map[string]any
		waitFor(ctx, t, "session "+s+" to go on", func() bool {
			st = killharness.API(t, p.Base(), token, "GET", "/sessions/"+s+"/", nil, http.StatusOK)
			return st["status"] == "completed"
		})
		if st["node_id"] != "broke" {
			t.Errorf("session %s ended on %v, want broke (the failed exit): %v", s, st["node_id"], st)
		}
		vars, _ := st["variables"].(map[string]any)
		call, _ := vars["call"].(map[string]any)
		if call["end_reason"] != "interrupted" || call["status"] != "failed" {
			t.Errorf("session %s's call variable %v, want failed / interrupted", s, call)
		}
		results := 0
		msgs, _ := st["messages"].([]any)
		for _, m := range msgs {
			if mm, _ := m.(map[string]any); mm["type"] == "call" && mm["direction"] == "in" {
				results++
			}
		}
		if results != 1 {
			t.Errorf("session %s recorded %d call results, want exactly one: %v", s, results, msgs)
		}
	}
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
