package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
)

// inboundAt is a signed-ready WhatsApp text message webhook with the given
// timestamp.
func inboundAt(phoneNumberID, from, wamid, text, timestamp string) []byte {
	b, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": apptest.WABAID, "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp", "metadata": map[string]any{"display_phone_number": "15550000000", "phone_number_id": phoneNumberID},
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Dee"}, "wa_id": from}},
			"messages": []any{map[string]any{"from": from, "id": wamid, "timestamp": timestamp, "type": "text", "text": map[string]any{"body": text}}}}}}}}})
	return b
}

// echoFlow answers "hi" and "again" with one text.
const echoFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi","again"]}}},
 {"id":"bye","type":"end","position":{"x":0,"y":100},"data":{"text":"Hello there"}}
],"edges":[{"id":"e1","source":"start","target":"bye"}]}`

// refusedReply has the contact (15557654321, whose first exchange is
// done) write "again" while the fake refuses the next send, and waits
// for the reply to fail.
func (r *running) refusedReply(ctx context.Context, contact, wamid string) {
	r.t.Helper()
	r.fake.Inject(sandbox.Fault{Kind: sandbox.FaultError, Status: 400, Code: 131026, Title: "Message Undeliverable."})
	if _, err := r.fake.SendInbound(ctx, sandbox.Inbound{From: "15557654321", Name: "Dee", Text: "again", ID: wamid}); err != nil {
		r.t.Fatal(err)
	}
	r.eventually("the second reply fails", func() bool {
		ms := r.conversation(contact)
		return len(ms) == 4 && ms[3]["status"] == "failed"
	})
}

// TestChannelLogAndDeadLetters: every provider call and webhook is in the
// channel's log with the credentials redacted, a failed send's log says why
// it failed, and a signed webhook whose content cannot be stored becomes a
// dead letter (200, counted, logged) that can be replayed.
func TestChannelLogAndDeadLetters(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{StatusDelay: time.Millisecond})
	chID := r.whatsAppChannel("")
	r.Publish("Echo", echoFlow)
	ctx := context.Background()
	flush := func() { r.App.ChannelLog().Flush(ctx) }
	secrets := []string{apptest.AccessToken, apptest.AppSecret}
	logs := func(query string) []map[string]any {
		t.Helper()
		flush()
		status, out, raw := r.Call("GET", "/channels/"+chID+"/logs/"+query, nil)
		if status != http.StatusOK {
			t.Fatalf("logs%s: %d %s", query, status, raw)
		}
		for _, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Fatalf("the channel log leaks the secret %q: %s", s, raw)
			}
		}
		var l []map[string]any
		for _, e := range out["results"].([]any) {
			l = append(l, e.(map[string]any))
		}
		return l
	}

	// A conversation: the webhook in, the reply out.
	if _, err := r.fake.SendInbound(ctx, sandbox.Inbound{From: "15557654321", Name: "Dee", Text: "hi", ID: "wamid.LOG1"}); err != nil {
		t.Fatal(err)
	}
	r.eventually("the reply reaches the fake", func() bool { return len(r.fake.Messages()) == 1 })
	contact := r.contactByPhone("15557654321")
	r.eventually("the reply is sent", func() bool {
		ms := r.conversation(contact)
		return len(ms) == 2 && ms[1]["status"] != "queued"
	})
	sent := r.conversation(contact)[1]["id"].(string)
	var reqs []map[string]any
	r.eventually("the send is in the log", func() bool { reqs = logs("?message_id=" + sent); return len(reqs) == 1 })
	e := reqs[0]
	if e["kind"] != "request" || e["status_code"] != float64(200) || e["method"] != "POST" || !strings.Contains(e["request_body"].(string), "Hello there") ||
		!strings.Contains(e["response_body"].(string), "wamid") || !strings.Contains(fmt.Sprint(e["request_headers"]), "[redacted]") {
		t.Fatalf("send entry = %v", e)
	}
	if rec := r.must("GET", "/channels/"+chID+"/logs/", nil, http.StatusOK)["recording"]; rec != "all" {
		t.Fatalf("recording = %v, want all (the default)", rec)
	}
	hooks := logs("?kind=webhook")
	if len(hooks) == 0 || hooks[len(hooks)-1]["status_code"] != float64(200) || !strings.Contains(hooks[len(hooks)-1]["request_body"].(string), "wamid.LOG1") {
		t.Fatalf("webhook entries = %v", hooks)
	}
	if !strings.Contains(fmt.Sprint(hooks[len(hooks)-1]["request_headers"]), "X-Hub-Signature-256:[[redacted]]") {
		t.Fatalf("the signature header is not redacted: %v", hooks[len(hooks)-1]["request_headers"])
	}

	// A send the provider refuses: its log entry says why.
	r.refusedReply(ctx, contact, "wamid.LOG2")
	failed := r.conversation(contact)[3]["id"].(string)
	var errs []map[string]any
	r.eventually("the failure is in the log", func() bool { errs = logs("?errors=true&message_id=" + failed); return len(errs) == 1 })
	if errs[0]["status_code"] != float64(400) || !strings.Contains(errs[0]["response_body"].(string), "131026") {
		t.Fatalf("failed send entry = %v", errs[0])
	}
	if l := logs("?errors=true&kind=request"); len(l) != 1 {
		t.Fatalf("errors=true lists %d requests, want 1", len(l))
	}

	// An authentic webhook that cannot be stored: a dead letter, answered 200.
	post := func(body []byte) (int, string) {
		req, _ := http.NewRequest("POST", r.base+"/webhooks/whatsapp/"+chID, bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(body, apptest.AppSecret))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// (A message without a sender: nothing can say whose it is.)
	bad := inboundAt(apptest.PhoneNumberID, "", "wamid.NOSENDER", "from nobody", fmt.Sprint(time.Now().Unix()))
	if code, answer := post(bad); code != http.StatusOK || !strings.Contains(answer, "dead_letter") {
		t.Fatalf("unstorable webhook: %d %s, want 200 and a dead letter", code, answer)
	}
	if code, _ := post([]byte(`{"object":`)); code != http.StatusOK {
		t.Fatalf("unreadable signed webhook: %d, want 200", code)
	}
	dl := r.must("GET", "/channels/"+chID+"/dead-letters/", nil, http.StatusOK)["results"].([]any)
	if len(dl) != 2 {
		t.Fatalf("dead letters = %v", dl)
	}
	far := dl[1].(map[string]any)
	if far["body"] != string(bad) || !strings.Contains(far["reason"].(string), "cannot be stored") || far["replayed_at"] != nil ||
		fmt.Sprint(far["headers"].(map[string]any)["X-Hub-Signature-256"]) != "[[redacted]]" {
		t.Fatalf("dead letter = %v", far)
	}
	if l := logs("?kind=webhook&errors=true"); len(l) != 2 || !strings.HasPrefix(l[0]["error"].(string), "dead letter: ") {
		t.Fatalf("dead letters in the log = %v", l)
	}
	res, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`parley_webhook_dead_letters_total{channel_type="whatsapp"} 2`, `parley_channel_log_written_total`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Replaying what still cannot be stored records why, and stores nothing.
	got := r.must("POST", "/channels/"+chID+"/dead-letters/"+far["id"].(string)+"/replay", nil, http.StatusOK)
	if got["replayed_at"] == nil || got["replay_outcome"] == "ok" || got["replay_outcome"] == "" {
		t.Fatalf("replay of an unfixed dead letter = %v", got)
	}
	// A dead letter whose cause has been fixed (here: a body that stores
	// now) is ingested by the replay, and the flow answers.
	good := inboundAt(apptest.PhoneNumberID, "15550009999", "wamid.REPLAYED", "hi", fmt.Sprint(time.Now().Unix()))
	if _, err := r.App.Store().DeadLetterCreate(ctx, store.DeadLetter{ID: "dl-fixed", ProjectID: r.ProjectID, ChannelID: chID, ChannelType: "whatsapp",
		Body: good, Headers: json.RawMessage(`{}`), Reason: "was broken", ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	got = r.must("POST", "/channels/"+chID+"/dead-letters/dl-fixed/replay", nil, http.StatusOK)
	if got["replay_outcome"] != "ok" {
		t.Fatalf("replay = %v", got)
	}
	r.eventually("the replayed message is answered", func() bool {
		c := r.contactByPhone("15550009999")
		return c != "" && len(r.conversation(c)) == 2
	})
	r.must("POST", "/channels/"+chID+"/dead-letters/missing/replay", nil, http.StatusNotFound)
}

// TestInboundCleanedAndClamped: an authentic message whose text and profile
// name hold NUL characters, or whose timestamp is absurd (year 24,151), is
// stored and answered 200 — on PostgreSQL a NUL used to fail every retry
// with 503 — with U+FFFD for each NUL and the receive time for the
// timestamp.
func TestInboundCleanedAndClamped(t *testing.T) {
	t.Parallel()
	r := start(t, sandbox.Config{StatusDelay: time.Millisecond})
	chID := r.whatsAppChannel("")
	post := func(body []byte) (int, string) {
		req, _ := http.NewRequest("POST", r.base+"/webhooks/whatsapp/"+chID, bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(body, apptest.AppSecret))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	before := time.Now().Add(-time.Minute)
	nul := bytes.ReplaceAll(inboundAt(apptest.PhoneNumberID, "15550001111", "wamid.NUL", "nul@NUL@here", fmt.Sprint(time.Now().Unix())), []byte("@NUL@"), []byte(`\u0000`))
	nul = bytes.Replace(nul, []byte(`"name":"Dee"`), []byte(`"name":"D\u0000ee"`), 1)
	far := inboundAt(apptest.PhoneNumberID, "15550002222", "wamid.FAR", "from the far future", "700000000000000")
	for name, body := range map[string][]byte{"nul": nul, "far": far} {
		if code, answer := post(body); code != http.StatusOK || !strings.Contains(answer, `"received"`) {
			t.Fatalf("%s: %d %s, want 200 received", name, code, answer)
		}
	}
	c := r.contactByPhone("15550001111")
	if c == "" {
		t.Fatal("the contact of the NUL message is not stored")
	}
	contact := r.must("GET", "/contacts/"+c, nil, http.StatusOK)
	if contact["name"] != "D\uFFFDee" {
		t.Errorf("contact name = %q, want the NUL replaced by U+FFFD", contact["name"])
	}
	ms := r.conversation(c)
	if len(ms) == 0 || !strings.Contains(fmt.Sprint(ms[0]["text"]), "nul\uFFFDhere") {
		t.Errorf("NUL message = %v", ms)
	}
	fc := r.contactByPhone("15550002222")
	if fc == "" {
		t.Fatal("the far-future message is not stored")
	}
	fm := r.conversation(fc)
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(fm[0]["created_at"]))
	if err != nil || at.Before(before) || at.After(time.Now().Add(time.Minute)) {
		t.Errorf("far-future message created_at = %v (%v), want the receive time", fm[0]["created_at"], err)
	}
	if dl := r.must("GET", "/channels/"+chID+"/dead-letters/", nil, http.StatusOK)["results"].([]any); len(dl) != 0 {
		t.Errorf("dead letters = %v, want none", dl)
	}
}

// TestChannelLogFailuresOnly: under PARLEY_CHANNEL_LOG=failures a
// conversation that goes well leaves nothing in the channel log, a refused
// send and a refused webhook are there as before, and the log's page says
// what it records.
func TestChannelLogFailuresOnly(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{StatusDelay: time.Millisecond},
		Configure: func(c *config.Config) { c.ChannelLog = config.ChannelLogFailures }})
	r := &running{Server: s, t: t, base: s.Base, fake: s.Fake}
	chID := r.whatsAppChannel("")
	r.Publish("Echo", echoFlow)
	ctx := context.Background()
	page := func() ([]any, string) {
		t.Helper()
		r.App.ChannelLog().Flush(ctx)
		out := r.must("GET", "/channels/"+chID+"/logs/", nil, http.StatusOK)
		return out["results"].([]any), fmt.Sprint(out["recording"])
	}

	if _, err := r.fake.SendInbound(ctx, sandbox.Inbound{From: "15557654321", Name: "Dee", Text: "hi", ID: "wamid.QUIET1"}); err != nil {
		t.Fatal(err)
	}
	contact := ""
	r.eventually("the reply is sent", func() bool {
		if contact == "" {
			contact = r.contactByPhone("15557654321")
		}
		ms := r.conversation(contact)
		return contact != "" && len(ms) == 2 && ms[1]["status"] != "queued"
	})
	if l, rec := page(); len(l) != 0 || rec != "failures" {
		t.Fatalf("after a conversation that went well: %d entries, recording %q; want none, failures", len(l), rec)
	}

	r.refusedReply(ctx, contact, "wamid.QUIET2")
	// A webhook whose signature is wrong is refused: a failure too.
	req, _ := http.NewRequest("POST", r.base+"/webhooks/whatsapp/"+chID, strings.NewReader(`{"object":"whatsapp_business_account"}`))
	req.Header.Set("X-Hub-Signature-256", "sha256=00")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode < 400 {
		t.Fatalf("a badly signed webhook answered %d", res.StatusCode)
	}
	var l []any
	r.eventually("the two failures are in the log", func() bool { l, _ = page(); return len(l) == 2 })
	kinds := map[string]float64{}
	for _, e := range l {
		m := e.(map[string]any)
		kinds[m["kind"].(string)] = m["status_code"].(float64)
	}
	if kinds["request"] != 400 || kinds["webhook"] < 400 {
		t.Fatalf("entries = %v, want the refused send and the refused webhook", l)
	}
}
