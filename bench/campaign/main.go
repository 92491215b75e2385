// Command campaign benchmarks campaign ingest: a CSV of -rows rows is
// uploaded to a real Parley server (in this process, on SQLite) and a
// campaign execution takes every valid row; the time from the first byte
// of the upload until every recipient is queued, and the process's peak
// RSS, are printed beside the same run's raw CSV parse rate and raw
// batched insert rate (the physical limits of the two halves).
//
// Then, for each of -rates (messages per second, default 80 and 1000), a
// campaign runs on a number of its own at that messages_per_second for
// -for (default a minute, after a 10 s warm-up) while customers write
// "hi" ten times a second: it prints the send rate at the fake, the fake's
// answers other than 200 (throttling) and the replies' exchange latency.
//
//	go run ./bench/campaign -rows 1000000
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/dataset"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// options are the bench's flags.
type options struct {
	rows  int
	rates string
	dur   time.Duration
	// webhookBatch is the fake's sandbox.Config.WebhookBatch.
	webhookBatch int
	// profile, when set, is the prefix of the profiles written (profileStart).
	profile string
}

const (
	phoneNumberID = "100000000000999"
	appSecret     = "bench-campaign-secret"
	accessToken   = "bench-campaign-token"
)

func main() {
	var o options
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows in the CSV")
	flag.StringVar(&o.rates, "rates", "80,1000", "messages per second to pace at; empty for none")
	flag.DurationVar(&o.dur, "for", time.Minute, "how long to measure each rate")
	flag.IntVar(&o.webhookBatch, "webhook-batch", 100, "the most status updates the fake puts in one webhook POST when they queue (Meta aggregates up to 1,000; 1: one a POST)")
	flag.StringVar(&o.profile, "profile", "", "write CPU, mutex and block profiles of the ingest and of each rate's measured window to PREFIX-{ingest,<rate>}-{cpu,mutex,block}.pprof")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/campaign:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	rows := o.rows
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "parley-bench-campaign-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	csvPath := filepath.Join(dir, "people.csv")
	size, err := writeCSV(csvPath, rows)
	if err != nil {
		return err
	}
	fmt.Printf("CSV: %d rows, %.1f MB\n", rows, float64(size)/1e6)

	// Raw parse rate: the reader alone.
	parseRate, err := rawParse(csvPath)
	if err != nil {
		return err
	}
	fmt.Printf("raw CSV parse:       %9.0f rows/s\n", parseRate)
	// Raw batched insert rate: dataset rows into a fresh SQLite store, as
	// the upload stores them (2,000 per transaction).
	insertRate, err := rawInsert(ctx, filepath.Join(dir, "raw"), rows)
	if err != nil {
		return err
	}
	fmt.Printf("raw batched insert:  %9.0f rows/s\n", insertRate)
	runtime.GC()

	// PhoneNumberID empty: the fake answers for every bench number.
	fake := sandbox.New(sandbox.Config{AppSecret: appSecret, AccessToken: accessToken,
		TemplateReview: sandbox.ReviewBeforeAnswer, StatusDelay: 50 * time.Millisecond, WebhookBatch: o.webhookBatch})
	fmt.Printf("fake: status webhooks carry up to %d updates when they queue\n", o.webhookBatch)
	if err := fake.Start(ctx); err != nil {
		return err
	}
	defer fake.Stop()
	p, err := startParley(ctx, filepath.Join(dir, "data"), fake)
	if err != nil {
		return err
	}
	p.profile = o.profile
	defer func() { _ = p.app.Stop() }()
	if rows > 0 {
		// (-rows 0: the pacing runs alone.)
		if err := p.ingest(csvPath, rows); err != nil {
			return err
		}
	}
	if o.rates == "" {
		return nil
	}
	rec, err := newRecorder(fake)
	if err != nil {
		return err
	}
	if err := p.app.AllowEndpoint(rec.url); err != nil {
		return err
	}
	for _, r := range strings.Split(o.rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || rate <= 0 {
			return fmt.Errorf("-rates: %q is not a rate", r)
		}
		if err := p.pacing(ctx, fake, rec, rate, o.dur); err != nil {
			return err
		}
	}
	return nil
}

// ingest uploads the CSV and waits until an execution queued every row,
// printing the times, the peak RSS and the CPU time.
func (p *parley) ingest(csvPath string, rows int) error {
	// What earlier phases freed goes back to the system first, so that
	// the peak is the ingest's own.
	debug.FreeOSMemory()
	fmt.Printf("resident before the ingest: %.0f MB\n", float64(procStatus("VmRSS"))/1e6)
	stopProfile, err := profileStart(p.profile, "ingest")
	if err != nil {
		return err
	}
	resetPeakRSS()
	cpu0 := cpuTime()

	began := time.Now()
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	ds, err := p.upload(f)
	f.Close()
	if err != nil {
		return err
	}
	uploaded := time.Since(began)
	id := ds["id"].(string)
	for ds["status"] == "processing" {
		time.Sleep(50 * time.Millisecond)
		if ds, err = p.call("GET", "/datasets/"+id+"/", nil, http.StatusOK); err != nil {
			return err
		}
	}
	processed := time.Since(began)
	if ds["status"] != "ready" {
		return fmt.Errorf("dataset %v: %v", ds["status"], ds["error"])
	}
	// The campaign starts in the future: the execution queues every row
	// and starts none, so the time is ingest alone. Its rows are queued
	// when it is created (its total counts them); they are taken into
	// recipient rows just ahead of their starts, a cost the pacing phases
	// pay and measure.
	startAt := time.Now().Add(24 * time.Hour)
	camp, err := p.call("POST", "/campaigns/", map[string]any{"name": "Bench", "flow_id": p.flowID, "channel_ids": []string{p.channelID},
		"dataset_ids": []string{id}, "start_at": startAt}, http.StatusCreated)
	if err != nil {
		return err
	}
	exec, err := p.call("POST", "/campaigns/"+camp["id"].(string)+"/executions/", map[string]any{"batch_size": 1000, "batch_delay_seconds": 0}, http.StatusCreated)
	if err != nil {
		return err
	}
	if exec, err = p.call("GET", "/campaigns/"+camp["id"].(string)+"/executions/"+exec["id"].(string)+"/", nil, http.StatusOK); err != nil {
		return err
	}
	valid := ds["counts"].(map[string]any)["valid"]
	if q := exec["counts"].(map[string]any)["queued"]; exec["total"] != valid || q != valid {
		return fmt.Errorf("the execution queued %v of %v rows (total %v)", q, valid, exec["total"])
	}
	queued := time.Since(began)
	peak := procStatus("VmHWM")
	if err := stopProfile(); err != nil {
		return err
	}
	counts := ds["counts"].(map[string]any)
	fmt.Printf("upload (streamed):   %9.2f s\n", uploaded.Seconds())
	fmt.Printf("dataset ready:       %9.2f s  (%v valid of %v)\n", processed.Seconds(), counts["valid"], counts["total"])
	fmt.Printf("every recipient queued: %6.2f s  (%v recipients; %.0f rows/s end to end)\n", queued.Seconds(), exec["total"], float64(rows)/queued.Seconds())
	fmt.Printf("peak RSS of the process during ingest: %.0f MB (at the end: %.0f MB anonymous, %.0f MB file pages — the binary's code and data)\n",
		float64(peak)/1e6, float64(procStatus("RssAnon"))/1e6, float64(procStatus("RssFile"))/1e6)
	fmt.Printf("CPU time of the process during ingest: %.1f s (on a shared machine the wall time above includes waiting for a CPU)\n", (cpuTime() - cpu0).Seconds())
	return nil
}

// writeCSV writes n rows of valid Portuguese mobile numbers.
func writeCSV(path string, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("phone,name,plan,city\n")
	for i := range n {
		fmt.Fprintf(w, "+3519%08d,Person %d,gold,Lisboa\n", 10000000+i, i)
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	st, _ := f.Stat()
	return st.Size(), f.Close()
}

func rawParse(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	began := time.Now()
	r, err := dataset.Open(f)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		if _, err := r.Next(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(began).Seconds(), nil
}

func rawInsert(ctx context.Context, dir string, n int) (float64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "raw.db"), store.OpenOptions{})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return 0, err
	}
	now := time.Now()
	if _, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p", Name: "P", Now: now}); err != nil {
		return 0, err
	}
	if _, err := st.DatasetCreate(ctx, store.Dataset{ID: "d", ProjectID: "p", Name: "raw", Status: store.DatasetProcessing, CreatedAt: now, UpdatedAt: now}); err != nil {
		return 0, err
	}
	batch := make([]store.DatasetRow, 0, 2000)
	began := time.Now()
	for i := range n {
		batch = append(batch, store.DatasetRow{DatasetID: "d", RowNum: int64(i + 1), Line: int64(i + 2),
			Cells: []string{fmt.Sprintf("+3519%08d", 10000000+i), "Person", "gold", "Lisboa"}, Status: store.RowValid,
			Phone: fmt.Sprintf("+3519%08d", 10000000+i), Timezone: "Europe/Lisbon"})
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.InTx(ctx, func(q store.Queries) error { return q.DatasetRowsInsert(ctx, batch) }); err != nil {
				return 0, err
			}
			batch = batch[:0]
		}
	}
	return float64(n) / time.Since(began).Seconds(), nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS starts the kernel's peak-RSS count afresh (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// procStatus is one of the process's memory figures in /proc/self/status
// (VmHWM: the peak resident set since the last reset; VmRSS: now), in bytes.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb * 1000
		}
	}
	return 0
}

// parley is a real server in this process with a WhatsApp channel at the
// sandbox, an approved template and a published campaign flow.
type parley struct {
	app       *app.App
	base      string
	token     string
	channelID string
	flowID    string
	hiFlow    bool
	// profile is the prefix of the profiles to write; empty for none.
	profile string
}

func startParley(ctx context.Context, dataDir string, fake *sandbox.Server) (*parley, error) {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = dataDir
	cfg.SecretKey = strings.Repeat("ca", 32)
	cfg.ShutdownTimeout = 10 * time.Second
	if err := cfg.Finish(); err != nil {
		return nil, err
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		return nil, err
	}
	if err := a.AllowEndpoint(fake.URL()); err != nil {
		return nil, err
	}
	p := &parley{app: a, base: "http://" + a.Addr()}
	proj, err := a.Accounts().ResolveProject(ctx, account.DefaultProjectName)
	if err != nil {
		return nil, err
	}
	tok, err := a.Accounts().CreateToken(ctx, proj.ID, "bench", domain.RoleOwner, "bench")
	if err != nil {
		return nil, err
	}
	p.token = tok.Secret
	ch, err := p.call("POST", "/channels/", map[string]any{"type": "whatsapp", "name": "Bench", "config": map[string]any{
		"phone_number_id": phoneNumberID, "waba_id": "100000000000001", "access_token": accessToken, "app_secret": appSecret,
		"verify_token": "bench", "api_base_url": fake.URL(), "messages_per_second": 80}}, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	p.channelID = ch["id"].(string)
	fake.SetWebhookURL(p.base + "/webhooks/whatsapp/" + p.channelID)
	tpl, err := p.call("POST", "/templates/", map[string]any{"channel_id": p.channelID, "name": "bench_invite", "language": "en_US", "category": "MARKETING",
		"components": []any{map[string]any{"type": "BODY", "text": "Hi {{1}}!", "example": map[string]any{"body_text": []any{[]any{"Ann"}}}}}}, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		t, err := p.call("GET", "/templates/"+tpl["id"].(string)+"/", nil, http.StatusOK)
		if err != nil {
			return nil, err
		}
		if t["status"] == "APPROVED" {
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the template was not approved")
		}
	}
	graph := `{"nodes":[
	 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"campaign"}}},
	 {"id":"tpl","type":"template","position":{"x":0,"y":100},"data":{"template_id":"` + tpl["id"].(string) + `","params":{"body":["{{name}}"]}}},
	 {"id":"end","type":"end","position":{"x":0,"y":200},"data":{}}],
	 "edges":[{"id":"e1","source":"start","target":"tpl"},{"id":"e2","source":"tpl","target":"end"}]}`
	f, err := p.call("POST", "/chat-flow/flows/", map[string]any{"name": "Bench campaign", "is_active": true, "flow_data": json.RawMessage(graph)}, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	p.flowID = f["id"].(string)
	return p, nil
}

func (p *parley) call(method, path string, body any, want int) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d: %s", method, path, res.StatusCode, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out, nil
}

// upload streams the file as a multipart form.
func (p *parley) upload(f io.Reader) (map[string]any, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", "people.csv")
		if err == nil {
			_, err = io.Copy(fw, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, p.base+"/datasets/", pr)
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusAccepted {
		return nil, fmt.Errorf("upload: %d: %s", res.StatusCode, raw)
	}
	var out map[string]any
	return out, json.Unmarshal(raw, &out)
}
