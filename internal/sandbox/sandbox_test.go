package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/template"
)

const (
	secret = "sandbox-secret"
	token  = "sandbox-token"
	pnid   = "106540352242922"
	waba   = "102290129340398"
)

// receiver is Parley's webhook endpoint stand-in: it verifies signatures
// and collects parsed events.
type receiver struct {
	mu     sync.Mutex
	events []channel.Event
	bad    int
	ch     chan struct{}
	// slow is how long each POST takes to answer (nanoseconds).
	slow atomic.Int64
}

func newReceiver() *receiver { return &receiver{ch: make(chan struct{}, 1000)} }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	time.Sleep(time.Duration(r.slow.Load()))
	body, _ := io.ReadAll(req.Body)
	if !whatsapp.VerifySignature(body, req.Header.Get(whatsapp.SignatureHeader), secret) {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	evs, err := whatsapp.Parse(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.events = append(r.events, evs...)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

// waitFor waits until n events arrived.
func (r *receiver) waitFor(t *testing.T, n int) []channel.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		if len(r.events) >= n {
			out := append([]channel.Event(nil), r.events...)
			bad := r.bad
			r.mu.Unlock()
			if bad > 0 {
				t.Fatalf("%d webhooks had bad signatures", bad)
			}
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %d webhook events", n)
		}
	}
}

type env struct {
	fake   *Server
	rcv    *receiver
	client *whatsapp.Client
}

func setup(t *testing.T, cfg Config, timeout time.Duration) *env {
	t.Helper()
	rcv := newReceiver()
	hook := httptest.NewServer(rcv)
	t.Cleanup(hook.Close)
	cfg.AppSecret, cfg.AccessToken, cfg.PhoneNumberID, cfg.WABAID = secret, token, pnid, waba
	cfg.WebhookURL = hook.URL
	if cfg.StatusDelay == 0 {
		cfg.StatusDelay = time.Millisecond
	}
	fake := New(cfg)
	if err := fake.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Stop)
	wc := whatsapp.Config{PhoneNumberID: pnid, WABAID: waba, AccessToken: token, AppSecret: secret,
		VerifyToken: "v", APIBaseURL: fake.URL(), Timeout: timeout}
	return &env{fake: fake, rcv: rcv, client: whatsapp.NewClient(wc, nil)}
}

func TestSendRoundTrip(t *testing.T) {
	t.Parallel()
	e := setup(t, Config{}, 5*time.Second)
	msg := channel.Outbound{Kind: channel.OutButtons, OurID: "msg-42", To: "16505551234", Body: "Confirm?",
		Buttons: []channel.ReplyButton{{ID: "yes", Title: "Yes"}, {ID: "no", Title: "No"}}}
	res, err := e.client.Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.ProviderID, "wamid.") || res.Address != "16505551234" {
		t.Fatalf("result %+v", res)
	}
	// The fake received exactly the body Meta documents.
	sent := e.fake.Messages()
	if len(sent) != 1 {
		t.Fatalf("%d messages recorded", len(sent))
	}
	want := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"interactive",
		"interactive":{"type":"button","body":{"text":"Confirm?"},"action":{"buttons":[
		{"type":"reply","reply":{"id":"yes","title":"Yes"}},{"type":"reply","reply":{"id":"no","title":"No"}}]}},
		"biz_opaque_callback_data":"msg-42"}`
	if err := channeltest.JSONEqual(sent[0].Body, []byte(want)); err != nil {
		t.Fatal(err)
	}
	if got := sent[0].Header.Get("Authorization"); got != "Bearer "+token {
		t.Fatalf("authorization %q", got)
	}
	// Then signed sent, delivered, read statuses, our ID echoed.
	evs := e.rcv.waitFor(t, 3)
	var states []channel.State
	for _, ev := range evs {
		if ev.Kind != channel.KindStatus || ev.ProviderID != res.ProviderID || ev.Status.OurID != "msg-42" || ev.AccountID != pnid {
			t.Fatalf("unexpected event %+v %+v", ev, ev.Status)
		}
		states = append(states, ev.Status.State)
	}
	if len(states) != 3 || states[0] != channel.StateSent || states[2] != channel.StateRead {
		t.Fatalf("states %v", states)
	}
	if err := e.client.MarkRead(context.Background(), "wamid.in", true); err != nil {
		t.Fatal(err)
	}
}

func TestFaultsAreClassified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fault   Fault
		timeout time.Duration
		want    *channeltest.ErrorCase // nil: the send succeeds
	}{
		{"throttle burst", Fault{Kind: FaultThrottle, Count: 3}, 0, &channeltest.ErrorCase{Class: channel.Throttled, Code: 130429, Scope: channel.ScopeAccount}},
		{"pair rate", Fault{Kind: FaultPairRate}, 0, &channeltest.ErrorCase{Class: channel.Throttled, Code: 131056, Scope: channel.ScopeRecipient}},
		{"5xx", Fault{Kind: FaultServerError, Status: 503}, 0, &channeltest.ErrorCase{Class: channel.Retryable, Code: 131000}},
		{"outside window", Fault{Kind: FaultError, Status: 400, Code: 131047, Title: "Re-engagement message"}, 0, &channeltest.ErrorCase{Class: channel.Permanent, Code: 131047, Cause: channel.CauseOutsideWindow}},
		{"slow but in time", Fault{Kind: FaultSlow, Delay: 30 * time.Millisecond}, time.Second, nil},
		{"hung", Fault{Kind: FaultHang}, 100 * time.Millisecond, &channeltest.ErrorCase{Class: channel.Retryable}},
		{"slower than the timeout", Fault{Kind: FaultSlow, Delay: time.Second}, 50 * time.Millisecond, &channeltest.ErrorCase{Class: channel.Retryable}},
		{"connection reset", Fault{Kind: FaultReset}, 0, &channeltest.ErrorCase{Class: channel.Retryable}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			e := setup(t, Config{Statuses: []string{}}, timeout)
			e.fake.Inject(tc.fault)
			msg := channel.Outbound{Kind: channel.OutText, OurID: "m", To: "16505551234", Text: "hi"}
			attempts := max(1, tc.fault.Count)
			for range attempts {
				_, err := e.client.Send(context.Background(), msg)
				if tc.want == nil {
					if err != nil {
						t.Fatalf("Send: %v", err)
					}
					continue
				}
				channeltest.CheckSendError(t, err, *tc.want)
			}
			// The fault is spent: the next send goes through.
			if _, err := e.client.Send(context.Background(), msg); err != nil {
				t.Fatalf("send after the fault: %v", err)
			}
		})
	}
}

func TestAcceptThenFail(t *testing.T) {
	t.Parallel()
	e := setup(t, Config{}, 5*time.Second)
	e.fake.Inject(Fault{Kind: FaultAcceptThenFail, Code: 131026, Title: "Message undeliverable"})
	res, err := e.client.Send(context.Background(), channel.Outbound{Kind: channel.OutText, OurID: "m-9", To: "1555", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	ev := e.rcv.waitFor(t, 1)[0]
	if ev.Status.State != channel.StateFailed || ev.ProviderID != res.ProviderID || ev.Status.OurID != "m-9" {
		t.Fatalf("event %+v %+v", ev, ev.Status)
	}
	se := whatsapp.ClassifyProviderError(ev.Status.Errors[0])
	if se.Class != channel.Permanent || se.Cause != channel.CauseUndeliverable {
		t.Fatalf("classified %v", se)
	}
}

func TestTemplatesLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t, Config{TemplateApprovalDelay: 20 * time.Millisecond}, 5*time.Second)
	tpl := &template.Template{Name: "order_update", Language: "en_US", Category: template.Utility, Components: []template.Component{
		{Type: template.TypeBody, Text: "Hi {{1}}, order {{2}} ships today.", Example: &template.Example{BodyText: [][]string{{"Ann", "42"}}}},
		{Type: template.TypeButtons, Buttons: []template.Button{{Type: template.ButtonQuickReply, Text: "Stop"}}},
	}}
	created, err := e.client.CreateTemplate(context.Background(), tpl)
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != template.StatusPending || created.ID == "" {
		t.Fatalf("created %+v", created)
	}
	// A duplicate is refused by the fake like Meta does.
	if _, err := e.client.CreateTemplate(context.Background(), tpl); channel.ClassOf(err) != channel.Permanent {
		t.Fatalf("duplicate: %v", err)
	}
	ev := e.rcv.waitFor(t, 1)[0]
	if ev.Kind != channel.KindTemplateStatus || ev.Template.Event != "APPROVED" || ev.Template.ID != created.ID {
		t.Fatalf("event %+v %+v", ev, ev.Template)
	}
	tpl.ID = created.ID
	if !tpl.Apply(ev.Kind, ev.Template, time.Now()) || tpl.Status != template.StatusApproved {
		t.Fatalf("apply: %+v", tpl)
	}
	list, err := e.client.ListTemplates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != template.StatusApproved || list[0].ID != created.ID || len(list[0].Components) != 2 {
		t.Fatalf("list %+v", list)
	}
	if err := e.client.DeleteTemplate(context.Background(), "order_update"); err != nil {
		t.Fatal(err)
	}
}

// TestTemplateReviewModes: ReviewBeforeAnswer delivers the approval before
// answering the submission (and the edit) with PENDING; ReviewManual waits
// for ApprovePending.
func TestTemplateReviewModes(t *testing.T) {
	t.Parallel()
	tpl := func() *template.Template {
		return &template.Template{Name: "order_update", Language: "en_US", Category: template.Utility, Components: []template.Component{
			{Type: template.TypeBody, Text: "Hi {{1}}, order {{2}} ships today.", Example: &template.Example{BodyText: [][]string{{"Ann", "42"}}}}}}
	}
	received := func(r *receiver) int {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.events)
	}
	t.Run("before answer", func(t *testing.T) {
		e := setup(t, Config{TemplateReview: ReviewBeforeAnswer}, 5*time.Second)
		created, err := e.client.CreateTemplate(context.Background(), tpl())
		if err != nil {
			t.Fatal(err)
		}
		if created.Status != template.StatusPending || received(e.rcv) != 1 {
			t.Fatalf("answer %+v after %d webhook events; want PENDING after the approval", created, received(e.rcv))
		}
		if ev := e.rcv.events[0]; ev.Template.Event != "APPROVED" || ev.Template.ID != created.ID || ev.Template.Name != "order_update" {
			t.Fatalf("event %+v", ev.Template)
		}
		edit := tpl()
		edit.Components[0].Text = "Hello {{1}}, order {{2}} ships today."
		if err := e.client.EditTemplate(context.Background(), created.ID, edit); err != nil {
			t.Fatal(err)
		}
		if received(e.rcv) != 2 {
			t.Fatalf("the edit was answered after %d webhook events; want the approval first", received(e.rcv))
		}
	})
	t.Run("manual", func(t *testing.T) {
		e := setup(t, Config{TemplateReview: ReviewManual, TemplateApprovalDelay: time.Millisecond}, 5*time.Second)
		created, err := e.client.CreateTemplate(context.Background(), tpl())
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if list, err := e.client.ListTemplates(context.Background()); err != nil || len(list) != 1 || list[0].Status != template.StatusPending || received(e.rcv) != 0 {
			t.Fatalf("before ApprovePending: %+v %v, %d webhook events", list, err, received(e.rcv))
		}
		if n := e.fake.ApprovePending(); n != 1 || received(e.rcv) != 1 || e.rcv.events[0].Template.ID != created.ID {
			t.Fatalf("ApprovePending = %d, %d webhook events", n, received(e.rcv))
		}
		if n := e.fake.ApprovePending(); n != 0 {
			t.Fatalf("approved %d again", n)
		}
	})
}

func TestListTemplatesPages(t *testing.T) {
	t.Parallel()
	e := setup(t, Config{TemplateApprovalDelay: time.Hour}, 5*time.Second)
	for i := range 130 {
		tpl := &template.Template{Name: "t_" + strings.Repeat("a", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26)),
			Language: "en", Category: template.Utility, Components: []template.Component{{Type: template.TypeBody, Text: "Hello"}}}
		if _, err := e.client.CreateTemplate(context.Background(), tpl); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.client.ListTemplates(context.Background())
	if err != nil || len(list) != 130 {
		t.Fatalf("listed %d: %v", len(list), err)
	}
}

func TestMedia(t *testing.T) {
	t.Parallel()
	e := setup(t, Config{}, 5*time.Second)
	data := bytes.Repeat([]byte("png!"), 1000)
	id, err := e.client.UploadMedia(context.Background(), "image/png", "a.png", data)
	if err != nil {
		t.Fatal(err)
	}
	info, got, err := e.client.DownloadMedia(context.Background(), id, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) || info.MimeType != "image/png" || info.Size != int64(len(data)) {
		t.Fatalf("downloaded %d bytes, info %+v", len(got), info)
	}
	if _, _, err := e.client.DownloadMedia(context.Background(), id, 100); err == nil {
		t.Fatal("a file over the limit should fail")
	}
	if _, _, err := e.client.DownloadMedia(context.Background(), "404404", 1<<20); channel.ClassOf(err) != channel.Permanent {
		t.Fatalf("unknown media: %v", err)
	}
}

func TestCredentialsCheck(t *testing.T) {
	t.Parallel()
	e := setup(t, Config{}, 5*time.Second)
	if rep := e.client.Check(context.Background()); !rep.OK || len(rep.Steps) != 3 {
		t.Fatalf("good credentials: %+v", rep)
	}
	cfg := e.client.Config()
	cfg.AccessToken = "expired"
	rep := whatsapp.NewClient(cfg, nil).Check(context.Background())
	if rep.OK || rep.Steps[1].Name != "phone_number" || !strings.Contains(rep.Steps[1].Detail, "access token") {
		t.Fatalf("bad token: %+v", rep)
	}
	cfg = e.client.Config()
	cfg.PhoneNumberID = "999"
	rep = whatsapp.NewClient(cfg, nil).Check(context.Background())
	if rep.OK {
		t.Fatalf("unknown number: %+v", rep)
	}
}

func TestCustomerSide(t *testing.T) {
	t.Parallel()
	e := setup(t, Config{}, 5*time.Second)
	ctx := context.Background()
	ins := []struct {
		in   Inbound
		kind channel.Kind
	}{
		{Inbound{From: "15551234567", Name: "Ann", Text: "hi"}, channel.KindText},
		{Inbound{From: "15551234567", ButtonReply: &channel.Reply{ID: "yes", Title: "Yes"}, ReplyTo: "wamid.out"}, channel.KindButtonReply},
		{Inbound{From: "15551234567", ListReply: &channel.Reply{ID: "r1", Title: "Row", Description: "d"}}, channel.KindListReply},
		{Inbound{From: "15551234567", QuickReply: &channel.Reply{Payload: "STOP", Title: "Stop"}}, channel.KindQuickReply},
		{Inbound{From: "15551234567", FlowReply: &FlowReply{Token: "ftk_1", Response: map[string]any{"email": "a@b.c"}}}, channel.KindFlowCompletion},
		{Inbound{From: "15551234567", Location: &channel.Location{Latitude: 1, Longitude: 2}}, channel.KindLocation},
	}
	for _, c := range ins {
		if _, err := e.fake.SendInbound(ctx, c.in); err != nil {
			t.Fatal(err)
		}
	}
	evs := e.rcv.waitFor(t, len(ins))
	for i, c := range ins {
		ev := evs[i]
		if ev.Kind != c.kind || ev.AccountID != pnid || ev.Contact.Address != "15551234567" || ev.ProviderID == "" {
			t.Fatalf("inbound %d: %+v", i, ev)
		}
	}
	if evs[0].Contact.Name != "Ann" || evs[1].ReplyTo != "wamid.out" || evs[4].Flow.Token != "ftk_1" || evs[4].Flow.Response["email"] != "a@b.c" {
		t.Fatalf("details lost: %+v / %+v / %+v", evs[0], evs[1], evs[4].Flow)
	}
	// A wrong secret is refused by the receiver: SendInbound reports it.
	if _, err := SendInbound(ctx, nil, e.fake.cfg.WebhookURL, "wrong", Inbound{PhoneNumberID: pnid, From: "1", Text: "x"}); err == nil {
		t.Fatal("a badly signed webhook should be refused")
	}
}

func TestStopEndsPendingWork(t *testing.T) {
	t.Parallel()
	rcv := newReceiver()
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	fake := New(Config{AppSecret: secret, WebhookURL: hook.URL, StatusDelay: time.Hour, TemplateApprovalDelay: time.Hour})
	if err := fake.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := whatsapp.NewClient(whatsapp.Config{PhoneNumberID: pnid, WABAID: waba, AccessToken: "x", APIBaseURL: fake.URL(), Timeout: 5 * time.Second}, nil)
	fake.Inject(Fault{Kind: FaultHang})
	done := make(chan error, 1)
	go func() {
		_, err := c.Send(context.Background(), channel.Outbound{Kind: channel.OutText, To: "1", Text: "x"})
		done <- err
	}()
	for len(fake.Messages()) == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := c.Send(context.Background(), channel.Outbound{Kind: channel.OutText, To: "1", Text: "y"}); err != nil {
		t.Fatal(err) // its statuses wait an hour: Stop must not
	}
	stopped := make(chan struct{})
	go func() { fake.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not end the hung request and the pending webhooks")
	}
	if err := <-done; channel.ClassOf(err) != channel.Retryable {
		t.Fatalf("hung send after Stop: %v", err)
	}
}

// TestIDsUniqueAcrossRestarts: a restarted fake (a new instance) must not
// hand out the wamids of messages the server already stored, or their
// status webhooks would collide with the old messages.
func TestIDsUniqueAcrossRestarts(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 3 {
		e := setup(t, Config{}, 5*time.Second)
		for range 3 {
			res, err := e.client.Send(context.Background(), channel.Outbound{Kind: channel.OutText, OurID: "m", To: "16505551234", Text: "hi"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(res.ProviderID, "wamid.") || seen[res.ProviderID] {
				t.Fatalf("wamid %q is not a fresh wamid (seen: %v)", res.ProviderID, seen)
			}
			seen[res.ProviderID] = true
		}
	}
}

// TestFlowsAPI: the Flows management API answers like Meta: a create with
// invalid Flow JSON carries validation_errors and cannot publish (139002);
// a valid one publishes; deprecating a draft is 139003, deleting a
// published flow 139004; a clone copies the JSON.
func TestFlowsAPI(t *testing.T) {
	t.Parallel()
	s := New(Config{AccessToken: "tok", WABAID: "100", PhoneNumberID: "200"})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/v21.0/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(res.Body).Decode(&v)
		return res.StatusCode, v
	}
	const good = `{"version":"7.1","screens":[{"id":"A","title":"A","terminal":true,"success":true,"layout":{"type":"SingleColumnLayout","children":[{"type":"Footer","label":"Done","on-click-action":{"name":"complete","payload":{}}}]}}]}`
	st, bad := call("POST", "100/flows", `{"name":"bad","categories":["OTHER"],"flow_json":"{\"version\":\"7.1\"}"}`)
	if st != 200 || bad["id"] == nil || len(bad["validation_errors"].([]any)) == 0 {
		t.Fatalf("create with bad JSON: %d %v", st, bad)
	}
	if st, e := call("POST", bad["id"].(string)+"/publish", ""); st != 400 || e["error"].(map[string]any)["code"] != 139002.0 {
		t.Fatalf("publishing an invalid flow: %d %v", st, e)
	}
	goodJSON, _ := json.Marshal(good)
	st, ok := call("POST", "100/flows", `{"name":"good","categories":["SURVEY"],"flow_json":`+string(goodJSON)+`}`)
	if st != 200 || ok["validation_errors"] != nil {
		t.Fatalf("create with good JSON: %d %v", st, ok)
	}
	id := ok["id"].(string)
	if st, e := call("POST", id+"/deprecate", ""); st != 400 || e["error"].(map[string]any)["code"] != 139003.0 {
		t.Fatalf("deprecating a draft: %d %v", st, e)
	}
	if st, _ := call("POST", id+"/publish", ""); st != 200 {
		t.Fatalf("publish: %d", st)
	}
	if st, e := call("DELETE", id, ""); st != 400 || e["error"].(map[string]any)["code"] != 139004.0 {
		t.Fatalf("deleting a published flow: %d %v", st, e)
	}
	if st, got := call("GET", id+"?fields=id,status,preview.invalidate(false)", ""); st != 200 || got["status"] != "PUBLISHED" || got["preview"] == nil {
		t.Fatalf("get: %d %v", st, got)
	}
	st, cl := call("POST", "100/flows", `{"name":"copy","categories":["SURVEY"],"clone_flow_id":"`+id+`"}`)
	if st != 200 {
		t.Fatalf("clone: %d %v", st, cl)
	}
	if st, got := call("GET", cl["id"].(string), ""); st != 200 || got["status"] != "DRAFT" || got["json_version"] != "7.1" {
		t.Fatalf("clone: %d %v", st, got)
	}
	if st, e := call("POST", "100/flows", `{"name":"good","categories":["SURVEY"]}`); st != 400 || !strings.Contains(fmt.Sprint(e), "not unique") {
		t.Fatalf("a duplicate name: %d %v", st, e)
	}
}
