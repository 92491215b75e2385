package killharness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// WebhookKind tells inbound messages from status webhooks.
type WebhookKind int

// The kinds of webhook the kill tests tell apart.
const (
	KindInbound WebhookKind = iota
	KindStatus
	KindOther
)

// Webhook is what a WhatsApp webhook body says, as far as the kill tests'
// checks care.
type Webhook struct {
	Kind   WebhookKind
	WAMIDs []string    // inbound message IDs
	States [][2]string // status webhooks: our ID (biz_opaque_callback_data), state
}

// ReadWebhook reads a webhook body; a body it cannot read is KindOther.
func ReadWebhook(body []byte) Webhook {
	var env struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Messages []struct {
						ID string `json:"id"`
					} `json:"messages"`
					Statuses []struct {
						Status string `json:"status"`
						OurID  string `json:"biz_opaque_callback_data"`
					} `json:"statuses"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	_ = json.Unmarshal(body, &env)
	h := Webhook{Kind: KindOther}
	for _, e := range env.Entry {
		for _, c := range e.Changes {
			for _, m := range c.Value.Messages {
				h.Kind = KindInbound
				h.WAMIDs = append(h.WAMIDs, m.ID)
			}
			for _, s := range c.Value.Statuses {
				h.Kind = KindStatus
				h.States = append(h.States, [2]string{s.OurID, s.Status})
			}
		}
	}
	return h
}

// Redeliverer is an http.RoundTripper that delivers webhooks like Meta: a
// request that does not get a 200 is sent again, with backoff, until it
// does or its context ends, so that a kill between Parley's receipt and
// its answer must never lose the message. A 4xx answered five times in a
// row is given up on and recorded: a valid webhook must never get one.
type Redeliverer struct {
	// Route, when set, gives the host:port of each attempt (a load
	// balancer in front of several processes picks one per attempt).
	Route func() string
	// Sending, when set, is called before a webhook's first attempt; the
	// func it returns is called after its last.
	Sending func(Webhook) (done func())
	// Acked, when set, is called for each webhook that got a 200, with
	// the Redeliverer's lock held (see Locked).
	Acked func(Webhook)

	base http.RoundTripper

	mu       sync.Mutex
	attempts int
	failures int
	refused  []string
}

// NewRedeliverer returns a Redeliverer with its own connection pool.
func NewRedeliverer() *Redeliverer {
	return &Redeliverer{base: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 5 * time.Second}}
}

// Locked runs fn with the lock Acked runs under, to read what Acked
// recorded consistently with Stats.
func (m *Redeliverer) Locked(fn func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn()
}

// Stats returns the attempts made, those that did not get a 200, and the
// webhooks given up on after repeated 4xx answers.
func (m *Redeliverer) Stats() (attempts, failures int, refused []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts, m.failures, append([]string(nil), m.refused...)
}

// RoundTrip implements http.RoundTripper.
func (m *Redeliverer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	h := ReadWebhook(body)
	if m.Sending != nil {
		defer m.Sending(h)()
	}
	backoff := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
		r := req.Clone(ctx)
		if m.Route != nil {
			r.URL.Host = m.Route()
			r.Host = r.URL.Host
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		res, err := m.base.RoundTrip(r)
		var answer []byte
		if err == nil {
			answer, err = io.ReadAll(res.Body)
			res.Body.Close()
		}
		cancel()
		m.mu.Lock()
		m.attempts++
		if err == nil && res.StatusCode == http.StatusOK {
			if m.Acked != nil {
				m.Acked(h)
			}
			m.mu.Unlock()
			res.Body = io.NopCloser(bytes.NewReader(answer))
			return res, nil
		}
		m.failures++
		if err == nil && res.StatusCode >= 400 && res.StatusCode < 500 && attempt >= 5 {
			m.refused = append(m.refused, fmt.Sprintf("%d %s for %s", res.StatusCode, answer, body))
			m.mu.Unlock()
			res.Body = io.NopCloser(bytes.NewReader(answer))
			return res, nil
		}
		m.mu.Unlock()
		select {
		case <-req.Context().Done():
			if err == nil {
				err = fmt.Errorf("gave up after %d attempts (last answer %d)", attempt, res.StatusCode)
			}
			return nil, errors.Join(req.Context().Err(), err)
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}
