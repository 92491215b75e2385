package channeltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Suite describes an adapter to the conformance tests every channel passes.
type Suite struct {
	// New builds the adapter with its provider API pointed at baseURL,
	// making its calls with hc (which records them in a channel log).
	New func(t *testing.T, baseURL string, hc *http.Client) channel.Adapter
	// NoProvider marks a channel with no provider API and no webhooks
	// (webchat): the signature, handshake, error and transport tests are
	// skipped, and a send must call nothing.
	NoProvider bool
	// Secrets are the secret values New configures; Secrets() must report
	// each, and none may appear in any channel log entry.
	Secrets []string
	// Sign returns the headers that make body pass VerifySignature.
	Sign func(body []byte) http.Header
	// Handshake is a genuine subscription check and the challenge it must
	// echo; BadHandshakes must all be refused. A nil Handshake means the
	// provider checks webhooks another way (Viber POSTs a signed
	// "webhook" callback): every query must then be refused.
	Handshake     url.Values
	Challenge     string
	BadHandshakes []url.Values
	// Webhooks are bodies and the event kinds they must parse into.
	Webhooks []Webhook
	// Sends are messages and the exact request the provider must receive.
	Sends []SendCase
	// Errors are provider answers and how they must be classified.
	Errors []ErrorCase
}

// Webhook is a body and the kinds it parses into.
type Webhook struct {
	Name  string
	Body  []byte
	Kinds []channel.Kind
}

// SendCase is an outbound message and what must reach the provider.
type SendCase struct {
	Name string
	Msg  channel.Outbound
	// Path is the request path the provider must see; empty when the
	// channel calls no provider.
	Path string
	// Body is the JSON the provider must receive (compared as JSON).
	Body string
	// Header lists request headers that must be present with these values.
	Header map[string]string
	// Response is the provider's 200 answer; ProviderID what Send returns.
	Response   string
	ProviderID string
}

// ErrorCase is a provider answer and its expected classification.
type ErrorCase struct {
	Name   string
	Status int
	Header http.Header
	Body   string
	Class  channel.Class
	Code   int
	Cause  channel.Cause
	Scope  channel.Scope
}

// Run runs the conformance tests.
func Run(t *testing.T, s Suite) {
	if !s.NoProvider {
		t.Run("signature", func(t *testing.T) { t.Parallel(); runSignature(t, s) })
		t.Run("handshake", func(t *testing.T) { t.Parallel(); runHandshake(t, s) })
		t.Run("errors", func(t *testing.T) { t.Parallel(); runErrors(t, s) })
		t.Run("transport", func(t *testing.T) { t.Parallel(); runTransport(t, s) })
	}
	t.Run("parse", func(t *testing.T) { t.Parallel(); runParse(t, s) })
	t.Run("send", func(t *testing.T) { t.Parallel(); runSends(t, s) })
	t.Run("log has no secrets", func(t *testing.T) { t.Parallel(); runLogRedaction(t, s) })
}

func runSignature(t *testing.T, s Suite) {
	a := s.New(t, "http://127.0.0.1:1", nil)
	for _, w := range s.Webhooks {
		h := s.Sign(w.Body)
		if !a.VerifySignature(w.Body, h) {
			t.Errorf("%s: a correctly signed body was refused", w.Name)
		}
		tampered := append([]byte{}, w.Body...)
		tampered[len(tampered)/2] ^= 1
		if a.VerifySignature(tampered, h) {
			t.Errorf("%s: a tampered body was accepted", w.Name)
		}
		if a.VerifySignature(w.Body, http.Header{}) {
			t.Errorf("%s: an unsigned body was accepted", w.Name)
		}
	}
}

func runHandshake(t *testing.T, s Suite) {
	a := s.New(t, "http://127.0.0.1:1", nil)
	if s.Handshake == nil {
		for _, q := range append(s.BadHandshakes, url.Values{}, url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}}) {
			if _, ok := a.VerifyHandshake(q); ok {
				t.Errorf("a channel without a handshake accepted %v", q)
			}
		}
		return
	}
	if got, ok := a.VerifyHandshake(s.Handshake); !ok || got != s.Challenge {
		t.Errorf("genuine handshake: got (%q, %v), want (%q, true)", got, ok, s.Challenge)
	}
	for i, q := range s.BadHandshakes {
		if _, ok := a.VerifyHandshake(q); ok {
			t.Errorf("bad handshake %d (%v) was accepted", i, q)
		}
	}
}

func runParse(t *testing.T, s Suite) {
	a := s.New(t, "http://127.0.0.1:1", nil)
	for _, w := range s.Webhooks {
		evs, err := a.Parse(w.Body)
		if err != nil {
			t.Errorf("%s: Parse: %v", w.Name, err)
			continue
		}
		got := make([]channel.Kind, len(evs))
		for i, e := range evs {
			got[i] = e.Kind
			if e.Channel != a.Type() {
				t.Errorf("%s: event channel %q, want %q", w.Name, e.Channel, a.Type())
			}
		}
		if !reflect.DeepEqual(got, w.Kinds) {
			t.Errorf("%s: kinds %v, want %v", w.Name, got, w.Kinds)
		}
		// Every prefix of a real body is hostile input: error or events, no panic.
		for n := 0; n < len(w.Body); n += max(1, len(w.Body)/64) {
			_, _ = a.Parse(w.Body[:n])
		}
	}
}

// recorder is a provider fake answering from a queue and recording requests.
type recorder struct {
	mu       sync.Mutex
	requests []*recorded
	status   int
	header   http.Header
	body     string
	delay    time.Duration
}

type recorded struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests = append(r.requests, &recorded{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: b})
	status, header, body, delay := r.status, r.header, r.body, r.delay
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	for k, vs := range header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (r *recorder) last() *recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.requests) == 0 {
		return nil
	}
	return r.requests[len(r.requests)-1]
}

func runSends(t *testing.T, s Suite) {
	for _, c := range s.Sends {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{status: http.StatusOK, body: c.Response}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			a := s.New(t, srv.URL, nil)
			res, err := a.Send(context.Background(), c.Msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.ProviderID != c.ProviderID {
				t.Errorf("provider ID %q, want %q", res.ProviderID, c.ProviderID)
			}
			req := rec.last()
			if c.Path == "" {
				if req != nil {
					t.Fatalf("a channel without a provider called %s", req.Path)
				}
				return
			}
			if req == nil {
				t.Fatal("the provider received nothing")
			}
			if req.Path != c.Path {
				t.Errorf("path %q, want %q", req.Path, c.Path)
			}
			for k, v := range c.Header {
				if got := req.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if err := JSONEqual(req.Body, []byte(c.Body)); err != nil {
				t.Errorf("body: %v", err)
			}
		})
	}
}

func runErrors(t *testing.T, s Suite) {
	for _, c := range s.Errors {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{status: c.Status, header: c.Header, body: c.Body}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			a := s.New(t, srv.URL, nil)
			_, err := a.Send(context.Background(), anySend(s))
			checkClass(t, err, c)
		})
	}
}

// CheckSendError asserts err is a *channel.SendError of the case's class,
// code, cause and scope.
func CheckSendError(t testing.TB, err error, c ErrorCase) { t.Helper(); checkClass(t, err, c) }

func checkClass(t testing.TB, err error, c ErrorCase) {
	t.Helper()
	se, ok := errors.AsType[*channel.SendError](err)
	if !ok {
		t.Fatalf("err = %v (%T), want a *channel.SendError", err, err)
	}
	if se.Class != c.Class || se.Code != c.Code || se.Cause != c.Cause || se.Scope != c.Scope {
		t.Fatalf("classified as %s code %d cause %q scope %q, want %s code %d cause %q scope %q (%v)",
			se.Class, se.Code, se.Cause, se.Scope, c.Class, c.Code, c.Cause, c.Scope, err)
	}
	if channel.ClassOf(err) != c.Class {
		t.Fatalf("ClassOf = %s", channel.ClassOf(err))
	}
}

func anySend(s Suite) channel.Outbound {
	if len(s.Sends) > 0 {
		return s.Sends[0].Msg
	}
	return channel.Outbound{Kind: channel.OutText, To: "1", Text: "x"}
}

func runTransport(t *testing.T, s Suite) {
	// A hung provider: the caller's deadline ends the call, retryably.
	rec := &recorder{status: http.StatusOK, body: "{}", delay: time.Minute}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	a := s.New(t, srv.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := a.Send(ctx, anySend(s))
	if channel.ClassOf(err) != channel.Retryable {
		t.Errorf("hung provider: err = %v, want retryable", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("hung provider: Send took %v", time.Since(start))
	}
	// Nobody listening: retryable.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	_, err = s.New(t, deadURL, nil).Send(context.Background(), anySend(s))
	if channel.ClassOf(err) != channel.Retryable {
		t.Errorf("connection refused: err = %v, want retryable", err)
	}
}

// JSONEqual compares two JSON documents by value and says where they differ.
func JSONEqual(got, want []byte) error {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Errorf("got is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return fmt.Errorf("want is not JSON: %v: %s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		return fmt.Errorf("JSON differs:\n got %s\nwant %s", compact(got), compact(want))
	}
	return nil
}

func compact(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return strings.TrimSpace(string(out))
}
