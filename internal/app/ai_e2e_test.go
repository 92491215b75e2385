package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sandbox"
)

// lastSSE returns the last event of a server-sent-events body.
func lastSSE(t *testing.T, raw []byte) (string, map[string]any) {
	t.Helper()
	var name string
	var data map[string]any
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		switch l := sc.Text(); {
		case strings.HasPrefix(l, "event: "):
			name = strings.TrimPrefix(l, "event: ")
		case strings.HasPrefix(l, "data: "):
			data = nil
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &data); err != nil {
				t.Fatalf("SSE data %q: %v", l, err)
			}
		}
	}
	return name, data
}

// TestAIEndToEndOnTheSandbox is the "done when" on the sandbox's
// fake LLM: describe a chat flow, create it, ask for a change, accept
// the diff, publish; generate a WhatsApp Flow as a local draft, sync it to
// (fake) Meta only when asked, change it by an instruction (same Meta ID,
// Meta unchanged until the next sync), check it, publish it.
func TestAIEndToEndOnTheSandbox(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{StatusDelay: 5 * time.Millisecond}})
	info, err := s.App.StartSandbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.LLMProviderID == "" {
		t.Fatal("the sandbox added no AI provider")
	}
	if chk := s.Must("GET", "/ai/providers/"+info.LLMProviderID+"/check", nil, http.StatusOK); chk["reachable"].(map[string]any)["ok"] != true || chk["model_exists"].(map[string]any)["ok"] != true {
		t.Fatalf("check = %v", chk)
	}

	// Chat flow: generate, create, edit, apply, publish.
	st, _, raw := s.Call("POST", "/ai/flows/generate", map[string]any{"description": "Order status: ask for the order number and reply that it ships soon."})
	ev, draft := lastSSE(t, raw)
	if st != http.StatusOK || ev != "draft" || draft["status"] != "ready" {
		t.Fatalf("generate: %d %s %v", st, ev, draft)
	}
	f := s.Must("POST", "/chat-flow/flows/", map[string]any{"name": "Order status (AI)", "flow_data": draft["flow_data"]}, http.StatusCreated)
	id := f["id"].(string)
	_, _, raw = s.Call("POST", "/ai/flows/"+id+"/edit", map[string]any{"instruction": "Add a message asking for the email after the start"})
	ev, pr := lastSSE(t, raw)
	if ev != "proposal" || pr["status"] != "ready" || len(pr["diff"].(map[string]any)["nodes_added"].([]any)) != 2 {
		t.Fatalf("edit: %s %v", ev, pr)
	}
	saved := s.Must("PUT", "/chat-flow/flows/"+id+"/", map[string]any{"version": pr["base_version"], "flow_data": pr["flow_data"]}, http.StatusOK)
	if b, _ := json.Marshal(saved["flow_data"]); !strings.Contains(string(b), "What is your email?") {
		t.Fatalf("applied = %v", saved["flow_data"])
	}
	s.Must("POST", "/chat-flow/flows/"+id+"/publish/", map[string]any{"version": saved["version"]}, http.StatusOK)

	// WhatsApp Flow: a local draft until synced.
	_, _, raw = s.Call("POST", "/ai/whatsapp-flows/generate", map[string]any{"description": "book a table", "channel_id": info.ChannelID})
	ev, res := lastSSE(t, raw)
	wf, _ := res["flow"].(map[string]any)
	if ev != "whatsapp_flow" || res["status"] != "ready" || wf == nil || wf["meta_flow_id"] != "" || wf["channel_id"] != info.ChannelID {
		t.Fatalf("generate form: %s %v", ev, res)
	}
	wfID := wf["id"].(string)
	synced := s.Must("POST", "/whatsapp-flows/"+wfID+"/sync/", nil, http.StatusOK)
	metaID, _ := synced["meta_flow_id"].(string)
	if at, ok := s.App.SandboxFake().FlowJSON(metaID); metaID == "" || !ok || string(at) != wf["flow_json"] {
		t.Fatalf("after sync Meta has %q (%v): %s", metaID, ok, at)
	}
	_, _, raw = s.Call("POST", "/ai/whatsapp-flows/"+wfID+"/update", map[string]any{"instruction": "Add a field asking for the reservation date"})
	ev, res = lastSSE(t, raw)
	up, _ := res["flow"].(map[string]any)
	if ev != "whatsapp_flow" || res["status"] != "ready" || up["meta_flow_id"] != metaID || !strings.Contains(up["flow_json"].(string), "reservation_date") {
		t.Fatalf("update form: %s %v", ev, res)
	}
	if at, _ := s.App.SandboxFake().FlowJSON(metaID); strings.Contains(string(at), "reservation_date") {
		t.Fatal("the AI update reached Meta before the user synced")
	}
	s.Must("POST", "/whatsapp-flows/"+wfID+"/sync/", nil, http.StatusOK)
	if at, _ := s.App.SandboxFake().FlowJSON(metaID); !strings.Contains(string(at), "reservation_date") {
		t.Fatalf("after the second sync Meta has %s", at)
	}
	if chk := s.Must("POST", "/ai/whatsapp-flows/"+wfID+"/check", nil, http.StatusOK); chk["valid"] != true {
		t.Fatalf("check = %v", chk)
	}
	if p := s.Must("POST", "/whatsapp-flows/"+wfID+"/publish/", nil, http.StatusOK); p["status"] != "PUBLISHED" || p["meta_flow_id"] != metaID {
		t.Fatalf("publish = %v", p)
	}
}
