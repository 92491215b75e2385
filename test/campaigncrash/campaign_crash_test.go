// Package campaigncrash is the kill -9 proof of campaigns: `parley serve`
// runs a 20,000-row campaign execution against the sandbox's fake Graph
// API and is SIGKILLed at random moments (at least 30 times) and
// restarted on the same database; at the end every valid row was started
// exactly once — one claim, one session, one start event per row — counted
// and printed.
//
// PARLEY_CAMPAIGN_ROWS (default 20000) and PARLEY_CAMPAIGN_KILLS (default
// 30) change the size; TEST_DATABASE_URL runs it on PostgreSQL; -short
// runs 2,000 rows and 10 kills.
package campaigncrash

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store/testdb"
	"github.com/parleyhq/parley/test/killharness"
)

const (
	appSecret     = "campaign-crash-secret"
	accessToken   = "campaign-crash-token"
	phoneNumberID = "1000077"
)

func TestCampaignKillNine(t *testing.T) {
	rows, kills := killharness.EnvInt(t, "PARLEY_CAMPAIGN_ROWS", 20000), killharness.EnvInt(t, "PARLEY_CAMPAIGN_KILLS", 30)
	if testing.Short() {
		rows, kills = 2000, 10
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	bin := killharness.BuildParley(t)

	dataDir := filepath.Join(t.TempDir(), "data")
	env := append(os.Environ(), "PARLEY_DATA_DIR="+dataDir, "PARLEY_SECRET_KEY="+strings.Repeat("6f", 32),
		"PARLEY_JOB_POLL_INTERVAL=50ms", "PARLEY_LOG_LEVEL=warn", "PARLEY_WORK_LEASE=3s", "PARLEY_INBOX_RETENTION=24h", "PARLEY_WORK_POLL_INTERVAL=200ms",
		"PARLEY_HTTP_ALLOW=127.0.0.1")
	db := killharness.Database{Driver: "sqlite", DSN: "file:" + filepath.Join(dataDir, "parley.db") + "?_pragma=busy_timeout(10000)"}
	if os.Getenv(testdb.EnvVar) != "" {
		u := testdb.PostgresURL(t)
		env = append(env, "DATABASE_URL="+u)
		db = killharness.Database{Driver: "pgx", DSN: u}
	}
	fake := sandbox.New(sandbox.Config{AppSecret: appSecret, AccessToken: accessToken, PhoneNumberID: phoneNumberID,
		// No delivery statuses: the test counts starts and sends, and
		// status webhooks would add writes. (With the "sent" status on, and
		// the fake retrying webhooks for 15 s over a 10 s lease, the
		// resends measured the same: 8.7 % at load average 30.)
		Statuses: []string{}, TemplateReview: sandbox.ReviewBeforeAnswer})
	if err := fake.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer fake.Stop()

	srv := killharness.NewProc(t, bin, killharness.FreeAddr(t), env)
	srv.Start(ctx)
	token := srv.Run("token", "create", "--project", "Default", "--name", "campaign-crash")
	call := func(method, path string, body any, want int) map[string]any {
		return killharness.API(t, srv.Base(), token, method, path, body, want)
	}
	ch := call("POST", "/channels/", map[string]any{"type": "whatsapp", "name": "Crash", "config": map[string]any{
		"phone_number_id": phoneNumberID, "waba_id": "100000000000077", "access_token": accessToken, "app_secret": appSecret,
		"verify_token": "crash-verify", "api_base_url": fake.URL(), "messages_per_second": 1000}}, http.StatusCreated)
	chID := ch["id"].(string)
	fake.SetWebhookURL(srv.Base() + "/webhooks/whatsapp/" + chID)
	tpl := call("POST", "/templates/", map[string]any{"channel_id": chID, "name": "crash_invite", "language": "en_US", "category": "MARKETING",
		"components": []any{map[string]any{"type": "BODY", "text": "Hi {{1}}!", "example": map[string]any{"body_text": []any{[]any{"Ann"}}}}}}, http.StatusCreated)
	tplID := tpl["id"].(string)
	waitFor(t, ctx, "the template is approved", func() bool { return call("GET", "/templates/"+tplID+"/", nil, http.StatusOK)["status"] == "APPROVED" })
	graph := `{"nodes":[
	 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"campaign"}}},
	 {"id":"tpl","type":"template","position":{"x":0,"y":100},"data":{"template_id":"` + tplID + `","params":{"body":["{{name}}"]}}},
	 {"id":"end","type":"end","position":{"x":0,"y":200},"data":{}}],
	 "edges":[{"id":"e1","source":"start","target":"tpl"},{"id":"e2","source":"tpl","target":"end"}]}`
	flow := call("POST", "/chat-flow/flows/", map[string]any{"name": "Crash survey", "is_active": true, "flow_data": json.RawMessage(graph)}, http.StatusCreated)

	// The dataset: rows valid phones, and a few bad rows that must never start.
	var csv bytes.Buffer
	csv.WriteString("phone,name\n")
	for i := range rows {
		fmt.Fprintf(&csv, "+3519%08d,P%d\n", 10000000+i, i)
	}
	csv.WriteString("+351,Broken\n")
	ds := upload(t, srv.Base(), token, csv.Bytes())
	dsID := ds["id"].(string)
	waitFor(t, ctx, "the dataset is processed", func() bool {
		ds = call("GET", "/datasets/"+dsID+"/", nil, http.StatusOK)
		return ds["status"] != "processing"
	})
	if c := ds["counts"].(map[string]any); ds["status"] != "ready" || c["valid"] != float64(rows) || c["invalid_phone"] != float64(1) {
		t.Fatalf("dataset: %v", ds)
	}
	camp := call("POST", "/campaigns/", map[string]any{"name": "Crash", "flow_id": flow["id"], "channel_ids": []string{chID}, "dataset_ids": []string{dsID}}, http.StatusCreated)
	campID := camp["id"].(string)
	exec := call("POST", "/campaigns/"+campID+"/executions/", map[string]any{"batch_size": max(10, rows/100), "batch_delay_seconds": 0.05, "max_failure_rate": 1}, http.StatusCreated)
	execID := exec["id"].(string)

	conn := db.Open(t)
	defer conn.Close()
	started := func() int {
		return atoi(killharness.Query(t, conn, `SELECT count(*) FROM campaign_recipients WHERE execution_id = '`+execID+`' AND status = 'started'`)[0][0])
	}
	// The kills, at random moments while rows are being started: each
	// process lives 0.1–0.6 s, and longer if it has not started a row yet
	// (up to 5 s: a restart on PostgreSQL is slow), so every kill can fall
	// inside a start transaction.
	during := 0
	var atKill []int
	last := 0
	for k := range kills {
		up := 100*time.Millisecond + rand.N(500*time.Millisecond)
		for t0 := time.Now(); ; {
			select {
			case <-ctx.Done():
				t.Fatalf("ran out of time after %d kills", k)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Since(t0) >= up && (started() > last || time.Since(t0) > 5*time.Second) {
				break
			}
		}
		srv.Kill()
		n := started()
		atKill = append(atKill, n)
		if n > last && n < rows {
			during++ // this process started rows and was killed with rows left
		}
		last = n
		srv.Start(ctx)
	}
	killPhase := time.Since(began)
	var e map[string]any
	waitFor(t, ctx, "the execution completes", func() bool {
		e = call("GET", "/campaigns/"+campID+"/executions/"+execID+"/", nil, http.StatusOK)
		return e["status"] == "completed"
	})
	// Every valid row started once: one started claim, one session, one
	// start event per contact; none twice.
	claims := atoi(killharness.Query(t, conn, `SELECT count(*) FROM campaign_recipients WHERE campaign_id = '`+campID+`' AND status = 'started'`)[0][0])
	startEvents := atoi(killharness.Query(t, conn, `SELECT count(*) FROM contact_events WHERE kind = 'start'`)[0][0])
	contacts := atoi(killharness.Query(t, conn, `SELECT count(DISTINCT contact_id) FROM campaign_recipients WHERE campaign_id = '`+campID+`' AND status = 'started'`)[0][0])
	counted := e["counts"].(map[string]any)["started"]
	// Every started row's template reaches the fake (sends held by a
	// killed process are taken up once their lease ends).
	var sends map[string]int
	waitFor(t, ctx, "every started row's template reached the fake", func() bool {
		sends = map[string]int{}
		for _, m := range fake.Messages() {
			var body map[string]any
			_ = json.Unmarshal(m.Body, &body)
			if to, ok := body["to"].(string); ok {
				sends[to]++
			}
		}
		return len(sends) >= rows
	})
	// Sessions are made by the sprints that handle the start events, after
	// the rows started: counted once every template (sent by those
	// sprints) has arrived.
	sessions := atoi(killharness.Query(t, conn, `SELECT count(*) FROM flow_sessions s JOIN campaign_recipients r ON r.session_id = s.id WHERE r.campaign_id = '`+campID+`'`)[0][0])
	twice := killharness.Query(t, conn, `SELECT contact_id, count(*) FROM flow_sessions WHERE flow_id = '`+flow["id"].(string)+`' GROUP BY contact_id HAVING count(*) > 1`)
	dupSends, resends := 0, 0
	for _, n := range sends {
		if n > 1 {
			dupSends++
			resends += n - 1
		}
	}
	t.Logf("%s: %d rows, %d kills (%d while rows were being started; started at each kill: %v) in %s; total %s",
		db.Driver, rows, kills, during, atKill, killPhase.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	t.Logf("started claims %d, sessions %d, start events %d, distinct contacts %d, contacts started twice %d, execution count %v; "+
		"the fake got templates for %d numbers; resends: %d (%.2f %% of rows, to %d numbers: a kill between the fake's answer and the commit "+
		"of the send's outcome; at-least-once, never a second start)",
		claims, sessions, startEvents, contacts, len(twice), counted, len(sends), resends, 100*float64(resends)/float64(rows), dupSends)
	if len(sends) != rows {
		t.Errorf("the fake got templates for %d numbers, want %d", len(sends), rows)
	}
	if claims != rows || sessions != rows || startEvents != rows || contacts != rows || len(twice) != 0 || counted != float64(rows) {
		t.Fatalf("every valid row must start exactly once\n%s", srv.LogTail())
	}
	if during < kills*2/3 {
		t.Errorf("only %d of %d kills fell while rows were being started; the execution ran too fast (or too slow) for the test", during, kills)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func upload(t *testing.T, base, token string, csv []byte) map[string]any {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "crash.csv")
	_, _ = fw.Write(csv)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/datasets/", &body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}
