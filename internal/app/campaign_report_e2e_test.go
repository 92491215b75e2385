package app_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/sandbox"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	name string
	data string
}

// readEvents reads a server-sent event stream until it ends, sending each
// event on out; it closes out when the stream closes.
func readEvents(ctx context.Context, t *testing.T, c *campaignRig, path string, out chan<- sseEvent) {
	defer close(out)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			t.Errorf("opening the event stream: %v", err)
		}
		return
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("event stream: status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
		return
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.name != "" || ev.data != "" {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// TestCampaignProgressAndReport: the events stream of an execution pushes
// its counts as they change and ends with the execution; the report and
// the recipients CSV then show what the sandbox did — every template sent,
// delivered and read, a contact's reply, the flow's outcomes and funnel.
func TestCampaignProgressAndReport(t *testing.T) {
	t.Parallel()
	c := campaignSetup(t, "1000051")
	var b strings.Builder
	b.WriteString("phone,first_name\n")
	const n = 6
	for i := range n {
		fmt.Fprintf(&b, "+35191400%04d,P%d\n", i, i)
	}
	b.WriteString("=HYPERLINK(\"x\"),Evil\n") // an invalid phone that is also a formula
	d := c.upload(b.String(), nil)
	camp := c.must("POST", "/campaigns/", map[string]any{"name": "Report", "flow_id": c.flowID, "channel_ids": []string{c.channelID},
		"dataset_ids": []string{d["id"].(string)}}, http.StatusCreated)
	id := camp["id"].(string)
	e := c.must("POST", "/campaigns/"+id+"/executions/", map[string]any{"batch_size": 1, "batch_delay_seconds": 0.4}, http.StatusCreated)
	eid := e["id"].(string)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events := make(chan sseEvent, 100)
	go readEvents(ctx, t, c, "/campaigns/"+id+"/executions/"+eid+"/events", events)
	var progress []map[string]any
	ended := false
	for ev := range events {
		switch ev.name {
		case "progress":
			var x map[string]any
			if err := json.Unmarshal([]byte(ev.data), &x); err != nil {
				t.Fatalf("progress data %q: %v", ev.data, err)
			}
			progress = append(progress, x)
		case "end":
			ended = true
		case "error":
			t.Fatalf("the stream reported an error: %s", ev.data)
		}
	}
	if ctx.Err() != nil {
		t.Fatal("the stream did not end with the execution")
	}
	if !ended || len(progress) < 2 {
		t.Fatalf("stream: ended %v after %d progress events; want several and an end", ended, len(progress))
	}
	first, last := progress[0], progress[len(progress)-1]
	if first["id"] != eid || last["status"] != "completed" {
		t.Fatalf("first event %v, last %v", first, last)
	}
	started := func(x map[string]any) float64 { return x["counts"].(map[string]any)["started"].(float64) }
	if started(last) != n || started(first) >= n {
		t.Fatalf("started went from %v to %v, want it to climb to %d while the stream was open", started(first), started(last), n)
	}
	for i := 1; i < len(progress); i++ {
		if started(progress[i]) < started(progress[i-1]) {
			t.Fatalf("started went backwards: %v then %v", started(progress[i-1]), started(progress[i]))
		}
	}

	// A contact answers: one reply.
	if _, err := c.fake.SendInbound(context.Background(), sandbox.Inbound{From: "351914000002", Name: "P2", Text: "yes please"}); err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	c.eventually("the report shows every send read and the reply", func() bool {
		rep = c.must("GET", "/campaigns/"+id+"/report/", nil, http.StatusOK)
		tot := rep["totals"].(map[string]any)
		return tot["sent"] == float64(n) && tot["read"] == float64(n) && tot["replied"] == float64(1)
	})
	tot := rep["totals"].(map[string]any)
	if tot["delivered"] != float64(n) || tot["failed"] != float64(0) || tot["sessions"] != float64(n) || tot["response_rate"] != 16.7 {
		t.Fatalf("totals: %v", tot)
	}
	chs := rep["channels"].([]any)
	if len(chs) != 1 || chs[0].(map[string]any)["channel_id"] != c.channelID || chs[0].(map[string]any)["channel_type"] != "whatsapp" {
		t.Fatalf("channels: %v", chs)
	}
	tpls := rep["templates"].([]any)
	if len(tpls) != 1 || tpls[0].(map[string]any)["name"] != "survey_invite" || tpls[0].(map[string]any)["read"] != float64(n) ||
		tpls[0].(map[string]any)["replied"] != float64(1) {
		t.Fatalf("templates: %v", tpls)
	}
	out := rep["outcomes"].(map[string]any)
	if out["started"] != float64(n) || out["completed"] != float64(n) || fmt.Sprint(out["ends"]) != fmt.Sprintf("[map[count:%d node_id:end]]", n) {
		t.Fatalf("outcomes: %v", out)
	}
	funnel := map[string]float64{}
	for _, f := range rep["funnel"].([]any) {
		m := f.(map[string]any)
		funnel[m["node_id"].(string)] = m["sessions"].(float64)
	}
	if funnel["start"] != n || funnel["tpl"] != n || funnel["end"] != n {
		t.Fatalf("funnel: %v", rep["funnel"])
	}
	if h := rep["hourly"].([]any); len(h) == 0 || h[len(h)-1].(map[string]any)["replies"].(float64) < 1 {
		t.Fatalf("hourly: %v", h)
	}

	// The recipients CSV: a line per row, escaped.
	status, _, raw := c.Call("GET", "/campaigns/"+id+"/report/recipients.csv", nil)
	if status != http.StatusOK {
		t.Fatalf("recipients.csv: %d %s", status, raw)
	}
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil || len(recs) != n+2 {
		t.Fatalf("recipients.csv: %d lines (%v):\n%s", len(recs), err, raw)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	if r := recs[1]; r[col["phone"]] != "'+351914000000" || r[col["outcome"]] != "completed" || r[col["message_status"]] != "read" || r[col["end_node"]] != "end" {
		t.Fatalf("row 1: %v", r)
	}
	if r := recs[3]; r[col["replies"]] != "1" {
		t.Fatalf("row 3 (who replied): %v", r)
	}
	if r := recs[n+1]; r[col["outcome"]] != "invalid_phone" || strings.HasPrefix(strings.Join(r, ","), "=") {
		t.Fatalf("the formula row: %v", r)
	}
	for _, r := range recs {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Fatalf("an unescaped cell %q in %v", cell, r)
			}
		}
	}
}
