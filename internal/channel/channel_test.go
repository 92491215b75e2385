package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestClassOfAndBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want Class
	}{
		{&SendError{Class: Throttled}, Throttled},
		{fmt.Errorf("sending: %w", &SendError{Class: Retryable}), Retryable},
		{context.DeadlineExceeded, Retryable},
		{errors.New("unknown"), Permanent},
	}
	for _, tc := range tests {
		if got := ClassOf(tc.err); got != tc.want {
			t.Errorf("ClassOf(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	for attempt, want := range map[int][2]time.Duration{1: {50, 100}, 3: {200, 400}, 20: {500, 1000}} {
		for _, r := range []float64{0, 0.999} {
			d := Backoff(attempt, 100, 1000, func() float64 { return r })
			if d < want[0] || d > want[1] {
				t.Errorf("Backoff(%d, r=%v) = %v, want in %v", attempt, r, d, want)
			}
		}
	}
}

func TestStateRankAndDedup(t *testing.T) {
	t.Parallel()
	if !(StateSent.Rank() < StateDelivered.Rank() && StateDelivered.Rank() < StateRead.Rank()) {
		t.Fatal("states must rank sent < delivered < read")
	}
	s := Event{Kind: KindStatus, Channel: "whatsapp", ProviderID: "w1", Status: &Status{State: StateRead}}
	m := Event{Kind: KindText, Channel: "whatsapp", ProviderID: "w1"}
	if s.DedupKey() == m.DedupKey() || s.DedupKey() == "" || m.DedupKey() == "" {
		t.Fatalf("keys %q %q", s.DedupKey(), m.DedupKey())
	}
	if (&Event{Kind: KindIgnored}).DedupKey() != "" {
		t.Fatal("ignored events need no key")
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	newA := func(json.RawMessage, *http.Client) (Adapter, error) { return nil, errors.New("bad config") }
	conf := func(map[string]any) (Config, error) { return Config{}, nil }
	ok := Type{Name: "x", Configure: conf, New: newA, Fields: []ConfigField{{Name: "a"}},
		Webhooks: []Webhook{{Method: "POST", Path: PathChannel, Kind: Receive}, {Method: "POST", Kind: Receive}}}
	bad := []Type{
		{Name: "X", Configure: conf, New: newA},
		{Name: "y"},
		{Name: "y", Configure: conf, New: newA, Fields: []ConfigField{{Name: "a"}, {Name: "a"}}},
		{Name: "y", Configure: conf, New: newA, Webhooks: []Webhook{{Method: "POST", Path: "/other", Kind: Receive}}},
		{Name: "y", Configure: conf, New: newA, Webhooks: []Webhook{{Method: "POST", Kind: "listen"}}},
		{Name: "y", Configure: conf, New: newA, Webhooks: []Webhook{{Method: "GET", Kind: Handshake}, {Method: "GET", Kind: Handshake}}},
	}
	r := NewRegistry()
	if err := r.Register(ok); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(ok); err == nil {
		t.Fatal("duplicate registration accepted")
	}
	for i, b := range bad {
		if err := r.Register(b); err == nil {
			t.Errorf("bad type %d accepted", i)
		}
	}
	if _, found := r.Lookup("y"); found {
		t.Fatal("unknown type found")
	}
	if got, found := r.Lookup("x"); !found || !got.Receives() {
		t.Fatalf("lookup x: %v %v", got.Name, found)
	}
	if got := r.Names(); len(got) != 1 || got[0] != "x" {
		t.Fatalf("types %v", got)
	}
}

func TestSendErrorText(t *testing.T) {
	t.Parallel()
	cause := errors.New("the text is required")
	tests := []struct {
		name string
		err  *SendError
		want string
	}{
		{"cause repeated in details is said once", &SendError{Class: Permanent, Title: "invalid message", Details: cause.Error(), Err: cause},
			"send permanent: invalid message: the text is required"},
		{"a cause of its own is added", &SendError{Class: Retryable, Code: 131000, HTTPStatus: 500, Title: "Something went wrong", Err: cause},
			"send retryable: code 131000 (HTTP 500): Something went wrong: the text is required"},
		{"details equal to the title are said once", &SendError{Class: Throttled, Title: "Rate limit", Details: "Rate limit"},
			"send throttled: Rate limit"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
