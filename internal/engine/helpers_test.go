package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/flow"
)

// epoch is the fake clock's start: far from any real date so tests never
// depend on the wall clock.
var epoch = time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

type seqIDs struct{ n int }

func (g *seqIDs) NewID() string { g.n++; return "s" + strconv.Itoa(g.n) }

// fakeFlows serves compiled subflows; every flow is at revision 1.
type fakeFlows map[string]engine.Flow

func (f fakeFlows) Load(_ context.Context, _, id string, rev int) (engine.Flow, error) {
	fl, ok := f[id]
	if !ok {
		return engine.Flow{}, fmt.Errorf("flow %q is not published", id)
	}
	if rev != 0 && rev != fl.Revision {
		return engine.Flow{}, fmt.Errorf("flow %q has no revision %d", id, rev)
	}
	return fl, nil
}

type fakeLLM struct {
	Answer string `json:"answer"`
	Error  string `json:"error"`
}

func (l *fakeLLM) Complete(_ context.Context, req engine.LLMRequest) (engine.LLMResponse, error) {
	if l.Error != "" {
		return engine.LLMResponse{}, errors.New(l.Error)
	}
	return engine.LLMResponse{Text: l.Answer + " [" + req.Prompt + "]"}, nil
}

// route is a canned response of the fake HTTP API.
type route struct {
	Status int             `json:"status"`
	JSON   json.RawMessage `json:"json"`
	Text   string          `json:"text"`
}

// httpDoer is a fake HTTPDoer backed by a real httptest server: requests to
// http://api.test are sent there (the events keep api.test so goldens do
// not depend on the port); any other host fails like a refused connection.
type httpDoer struct {
	srv    *httptest.Server
	client *http.Client
}

func newHTTPDoer(t testing.TB, routes map[string]route) *httpDoer {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/echo" {
			var body any
			_ = json.NewDecoder(r.Body).Decode(&body)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "token": r.Header.Get("X-Token"), "body": body, "query": r.URL.RawQuery})
			return
		}
		rt, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if rt.Status == 0 {
			rt.Status = 200
		}
		if rt.JSON != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rt.Status)
			_, _ = w.Write(rt.JSON)
			return
		}
		w.WriteHeader(rt.Status)
		_, _ = w.Write([]byte(rt.Text))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	return &httpDoer{srv: srv, client: &http.Client{Transport: tr}}
}

func (d *httpDoer) Do(ctx context.Context, req engine.HTTPRequest) (engine.HTTPResponse, error) {
	if !strings.HasPrefix(req.URL, "http://api.test/") {
		return engine.HTTPResponse{}, fmt.Errorf("dial %s: connection refused", req.URL)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, strings.NewReader(req.Body))
	if err != nil {
		return engine.HTTPResponse{}, err
	}
	for _, h := range req.Headers {
		hr.Header.Set(h.Name, h.Value)
	}
	resp, err := d.client.Do(hr)
	if err != nil {
		return engine.HTTPResponse{}, err
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return engine.HTTPResponse{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: []byte(b.String())}, nil
}

// lockedRand is a seeded source safe for the parallel tests.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

func newRand(seed uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, 0))}
}

// compile compiles a graph given as JSON.
func compile(t testing.TB, id string, raw json.RawMessage) engine.Flow {
	t.Helper()
	g, err := flow.DecodeGraph(raw)
	if err != nil {
		t.Fatalf("decoding flow %s: %v", id, err)
	}
	p, err := flow.Compile(g, flow.CompileOptions{})
	if err != nil {
		t.Fatalf("compiling flow %s: %v", id, err)
	}
	return engine.Flow{ID: id, Name: id, Revision: 1, Program: p}
}
