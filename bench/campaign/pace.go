package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/sandbox"
)

// recorder stands in front of the fake Graph API: it counts the sends
// each number makes, the answers that are not 200, and notes when a reply
// to a waiting customer arrives.
type recorder struct {
	fake   http.Handler
	url    string
	srv    *http.Server
	sends  sync.Map // phone number ID → *atomic.Int64
	errors atomic.Int64
	mu     sync.Mutex
	wait   map[string]chan time.Time // customer wa_id → arrival
}

func newRecorder(fake *sandbox.Server) (*recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &recorder{fake: fake.Handler(), url: "http://" + ln.Addr().String(), wait: map[string]chan time.Time{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if !strings.HasSuffix(req.URL.Path, "/messages") {
		r.fake.ServeHTTP(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	r.fake.ServeHTTP(sw, req)
	if sw.status != http.StatusOK {
		r.errors.Add(1)
		return
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	pnid := parts[len(parts)-2]
	v, _ := r.sends.LoadOrStore(pnid, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	var m struct {
		To string `json:"to"`
	}
	_ = json.Unmarshal(body, &m)
	r.mu.Lock()
	ch := r.wait[m.To]
	delete(r.wait, m.To)
	r.mu.Unlock()
	if ch != nil {
		ch <- time.Now()
	}
}

func (r *recorder) count(pnid string) int64 {
	v, _ := r.sends.LoadOrStore(pnid, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func (r *recorder) expect(to string) chan time.Time {
	ch := make(chan time.Time, 1)
	r.mu.Lock()
	r.wait[to] = ch
	r.mu.Unlock()
	return ch
}

// pacing runs a campaign at rate messages per second on a number of its
// own for dur, while customers write "hi" every 100 ms and get a reply;
// it prints the achieved rate and the replies' exchange latency.
func (p *parley) pacing(ctx context.Context, fake *sandbox.Server, rec *recorder, rate float64, dur time.Duration) error {
	pnid := fmt.Sprintf("2000%d", int(rate))
	ch, err := p.call("POST", "/channels/", map[string]any{"type": "whatsapp", "name": fmt.Sprintf("Pace %g", rate), "config": map[string]any{
		"phone_number_id": pnid, "waba_id": "100000000000001", "access_token": accessToken, "app_secret": appSecret,
		"verify_token": "bench", "api_base_url": rec.url, "messages_per_second": rate}}, http.StatusCreated)
	if err != nil {
		return err
	}
	chID := ch["id"].(string)
	fake.SetWebhookURL(p.base + "/webhooks/whatsapp")
	flowID, err := p.campaignFlow(chID, fmt.Sprintf("pace_%d", int(rate)))
	if err != nil {
		return err
	}
	warm := 10 * time.Second
	rows := int(rate * (dur + 2*warm).Seconds())
	var csv bytes.Buffer
	csv.WriteString("phone,name\n")
	for i := range rows {
		fmt.Fprintf(&csv, "+3519%08d,P%d\n", 30000000+int(rate)%100*100000+i, i)
	}
	ds, err := p.upload(&csv)
	if err != nil {
		return err
	}
	id := ds["id"].(string)
	for ds["status"] == "processing" {
		time.Sleep(50 * time.Millisecond)
		if ds, err = p.call("GET", "/datasets/"+id+"/", nil, http.StatusOK); err != nil {
			return err
		}
	}
	camp, err := p.call("POST", "/campaigns/", map[string]any{"name": fmt.Sprintf("Pace %g", rate), "flow_id": flowID, "channel_ids": []string{chID},
		"dataset_ids": []string{id}}, http.StatusCreated)
	if err != nil {
		return err
	}
	batch := max(1, int(rate/5))
	if _, err := p.call("POST", "/campaigns/"+camp["id"].(string)+"/executions/", map[string]any{"batch_size": batch, "batch_delay_seconds": 0}, http.StatusCreated); err != nil {
		return err
	}
	// Customers write meanwhile; each reply's latency is noted.
	stop := make(chan struct{})
	var lat []time.Duration
	var latMu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			wa := fmt.Sprintf("1999%03d%05d", int(rate)%1000, n)
			arrived := rec.expect(wa)
			wg.Add(1)
			go func() {
				defer wg.Done()
				sent := time.Now()
				if _, err := fake.SendInbound(ctx, sandbox.Inbound{PhoneNumberID: pnid, From: wa, Name: "C", Text: "hi"}); err != nil {
					return
				}
				select {
				case at := <-arrived:
					latMu.Lock()
					lat = append(lat, at.Sub(sent))
					latMu.Unlock()
				case <-time.After(30 * time.Second):
					latMu.Lock()
					lat = append(lat, 30*time.Second)
					latMu.Unlock()
				}
			}()
		}
	}()
	time.Sleep(warm)
	stopProfile, err := profileStart(p.profile, fmt.Sprintf("%g", rate))
	if err != nil {
		return err
	}
	c0, t0, cpu0 := rec.count(pnid), time.Now(), cpuTime()
	time.Sleep(dur)
	c1, t1, cpu1 := rec.count(pnid), time.Now(), cpuTime()
	if err := stopProfile(); err != nil {
		return err
	}
	close(stop)
	wg.Wait()
	latMu.Lock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99, p50 := time.Duration(0), time.Duration(0)
	if len(lat) > 0 {
		p99, p50 = lat[len(lat)*99/100], lat[len(lat)/2]
	}
	latMu.Unlock()
	got := float64(c1-c0) / t1.Sub(t0).Seconds()
	// The sends include the replies to the customers (10 a second).
	fmt.Printf("pacing at %5.0f msg/s: %7.1f msg/s over %s (%+.2f %%, replies included), %d answers other than 200 at the fake; replies: %d, p50 %s, p99 %s\n",
		rate, got, t1.Sub(t0).Round(time.Millisecond), (got-rate)/rate*100, rec.errors.Load(), len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond))
	// CPU per message: the whole process (server, fake, customers) over
	// the measured window; on a shared machine this, not the wall rate,
	// says whether the pipeline could keep the rate on free cores.
	if n := c1 - c0; n > 0 {
		cpu := cpu1 - cpu0
		fmt.Printf("  CPU over the window: %.1f s of %.1f s wall (%.2f cores); %.0f µs per message sent\n",
			cpu.Seconds(), t1.Sub(t0).Seconds(), cpu.Seconds()/t1.Sub(t0).Seconds(), float64(cpu.Microseconds())/float64(n))
	}
	return nil
}

// campaignFlow creates an approved template on the channel and a published
// campaign flow sending it; the first call also publishes the "hi" flow
// the customers write to.
func (p *parley) campaignFlow(channelID, name string) (string, error) {
	tpl, err := p.call("POST", "/templates/", map[string]any{"channel_id": channelID, "name": name, "language": "en_US", "category": "MARKETING",
		"components": []any{map[string]any{"type": "BODY", "text": "Hi {{1}}!", "example": map[string]any{"body_text": []any{[]any{"Ann"}}}}}}, http.StatusCreated)
	if err != nil {
		return "", err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		t, err := p.call("GET", "/templates/"+tpl["id"].(string)+"/", nil, http.StatusOK)
		if err != nil {
			return "", err
		}
		if t["status"] == "APPROVED" {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("template %s was not approved", name)
		}
	}
	graph := `{"nodes":[
	 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"campaign"}}},
	 {"id":"tpl","type":"template","position":{"x":0,"y":100},"data":{"template_id":"` + tpl["id"].(string) + `","params":{"body":["{{name}}"]}}},
	 {"id":"end","type":"end","position":{"x":0,"y":200},"data":{}}],
	 "edges":[{"id":"e1","source":"start","target":"tpl"},{"id":"e2","source":"tpl","target":"end"}]}`
	f, err := p.call("POST", "/chat-flow/flows/", map[string]any{"name": "Campaign " + name, "is_active": true, "flow_data": json.RawMessage(graph)}, http.StatusCreated)
	if err != nil {
		return "", err
	}
	if !p.hiFlow {
		hi := `{"nodes":[
		 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi"]}}},
		 {"id":"reply","type":"message","position":{"x":0,"y":100},"data":{"text":"Hello, thanks for writing!"}},
		 {"id":"end","type":"end","position":{"x":0,"y":200},"data":{}}],
		 "edges":[{"id":"e1","source":"start","target":"reply"},{"id":"e2","source":"reply","target":"end"}]}`
		if _, err := p.call("POST", "/chat-flow/flows/", map[string]any{"name": "Hi", "is_active": true, "flow_data": json.RawMessage(hi)}, http.StatusCreated); err != nil {
			return "", err
		}
		p.hiFlow = true
	}
	return f["id"].(string), nil
}
