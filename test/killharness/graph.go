package killharness

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Copy is one send that reached the fake Graph API: Parley's message ID
// (biz_opaque_callback_data), when it arrived, and when the fake answered
// 200 (zero when it did not).
type Copy struct {
	OurID    string
	Arrived  time.Time
	Accepted time.Time
}

// Graph stands in front of the fake Graph API (H) and records every send
// (POST …/messages) that reaches it, holding each answer back up to
// MaxDelay after the fake accepted it, so that a kill can land between
// the provider's acceptance and Parley's commit of it.
type Graph struct {
	H        http.Handler
	MaxDelay time.Duration

	mu       sync.Mutex
	inFlight int
	copies   []Copy
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP implements http.Handler.
func (g *Graph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
		g.H.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m struct {
		OurID string `json:"biz_opaque_callback_data"`
	}
	_ = json.Unmarshal(body, &m)
	c := Copy{OurID: m.OurID, Arrived: time.Now()}
	g.mu.Lock()
	g.inFlight++
	g.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w}
	g.H.ServeHTTP(sw, r)
	if sw.status == http.StatusOK {
		c.Accepted = time.Now()
	}
	g.mu.Lock()
	g.copies = append(g.copies, c)
	g.mu.Unlock()
	// The answer is still buffered: hold it back so that a kill can land
	// between acceptance and Parley's commit.
	if g.MaxDelay > 0 {
		time.Sleep(rand.N(g.MaxDelay))
	}
	g.mu.Lock()
	g.inFlight--
	g.mu.Unlock()
}

// InFlight is the number of sends the fake is answering now.
func (g *Graph) InFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inFlight
}

// Copies are the sends recorded so far, in order of their answers.
func (g *Graph) Copies() []Copy {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Copy(nil), g.copies...)
}

// Accepted is the set of our IDs the fake has accepted at least once.
func (g *Graph) Accepted() map[string]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]bool{}
	for _, c := range g.copies {
		if !c.Accepted.IsZero() {
			out[c.OurID] = true
		}
	}
	return out
}

// Serve serves g on a loopback port until the test ends and returns its
// base URL.
func (g *Graph) Serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

// BookFlow is the kill tests' chat flow: "hi" asks a question with two
// buttons; the next message (a tap on "Book") ends it with "Booked". So
// each inbound message gets exactly one reply, and a contact's replies
// alternate between the question and its answer.
const BookFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Pick one","buttons":["Book","Track"]}},
 {"id":"booked","type":"end","position":{"x":0,"y":200},"data":{"text":"Booked"}},
 {"id":"track","type":"end","position":{"x":200,"y":200},"data":{"text":"Tracking"}}
],"edges":[
 {"id":"e1","source":"start","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Book","target":"booked"},
 {"id":"e3","source":"ask","sourceHandle":"Track","target":"track"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"track"}
]}`
