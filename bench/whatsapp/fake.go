package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/sandbox"
)

// graph is the fake Graph API (internal/sandbox) behind a thin recorder:
// when a send reaches the messages endpoint it looks up the customer it is
// addressed to ("to") and wakes whoever waits for that reply, with the time
// of arrival. The sandbox sends no status webhooks here (Statuses is
// empty): the exchange phase measures inbound → reply only, like the peer.
type graph struct {
	fake *sandbox.Server
	srv  *http.Server
	ln   net.Listener
	url  string

	mu      sync.Mutex
	waiting map[string]chan time.Time
	strays  int
	// conns counts TCP connections accepted: a sender that reuses its
	// connections opens few, one that does not opens one per request.
	conns atomic.Int64
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func startGraph(ctx context.Context) (*graph, error) {
	g := &graph{waiting: map[string]chan time.Time{}}
	// No phone number ID: the fake takes sends from every bench number.
	g.fake = sandbox.New(sandbox.Config{AppSecret: appSecret, AccessToken: accessToken,
		WABAID: wabaID, Statuses: []string{}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g.url = "http://" + ln.Addr().String()
	g.ln = countingListener{Listener: ln, n: &g.conns}
	inner := g.fake.Handler()
	g.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && len(r.URL.Path) > 9 && r.URL.Path[len(r.URL.Path)-9:] == "/messages" {
			at := time.Now()
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			g.arrived(recipient(body), at)
		}
		inner.ServeHTTP(w, r)
	})}
	go func() {
		if err := g.srv.Serve(g.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // only a broken listener; stop cleans up
		}
	}()
	return g, nil
}

// messagesURL is the endpoint Parley and Node-RED send to.
func (g *graph) messagesURL() string {
	return g.url + "/" + apiVersion + "/" + phoneNumberID + "/messages"
}

// expect registers a customer whose reply is awaited.
func (g *graph) expect(to string) chan time.Time {
	ch := make(chan time.Time, 1)
	g.mu.Lock()
	g.waiting[to] = ch
	g.mu.Unlock()
	return ch
}

// forget drops a registration that timed out.
func (g *graph) forget(to string) {
	g.mu.Lock()
	delete(g.waiting, to)
	g.mu.Unlock()
}

func (g *graph) arrived(to string, at time.Time) {
	g.mu.Lock()
	ch, ok := g.waiting[to]
	delete(g.waiting, to)
	if !ok {
		g.strays++
	}
	g.mu.Unlock()
	if ok {
		ch <- at
	}
}

// reset forgets what the fake recorded (it keeps every request in memory).
func (g *graph) reset() {
	g.fake.Reset()
	g.mu.Lock()
	g.strays = 0
	g.mu.Unlock()
}

func (g *graph) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = g.srv.Shutdown(ctx)
	g.fake.Stop()
}

// recipient finds the "to" field of a send body without decoding it all.
func recipient(body []byte) string {
	k := []byte(`"to":"`)
	i := bytes.Index(body, k)
	if i < 0 {
		return ""
	}
	rest := body[i+len(k):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
