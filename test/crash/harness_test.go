package crash_test

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

// ---------------------------------------------------------------------
// Meta's side: webhooks are retried until they get a 200.

// webhookKind tells inbound messages from status webhooks.
type webhookKind int

const (
	kindInbound webhookKind = iota
	kindStatus
	kindOther
)

// hook is what a webhook body says, as far as the checks care.
type hook struct {
	kind   webhookKind
	wamids []string    // inbound message IDs
	states [][2]string // status webhooks: our ID, state
}

func readHook(body []byte) hook {
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
	h := hook{kind: kindOther}
	for _, e := range env.Entry {
		for _, c := range e.Changes {
			for _, m := range c.Value.Messages {
				h.kind = kindInbound
				h.wamids = append(h.wamids, m.ID)
			}
			for _, s := range c.Value.Statuses {
				h.kind = kindStatus
				h.states = append(h.states, [2]string{s.OurID, s.Status})
			}
		}
	}
	return h
}

// meta is an http.RoundTripper that delivers webhooks like Meta: a
// request that does not get a 200 is sent again, with backoff, until it
// does or its context ends. It records what was acknowledged.
type meta struct {
	base http.RoundTripper

	mu          sync.Mutex
	inFlight    [3]int
	acked       map[string]int            // inbound wamid → 200s received
	ackedStates map[string]map[string]int // our ID → state → 200s received
	attempts    int
	failures    int
	ackedHooks  [3]int
	refused     []string // 4xx answers (a valid webhook must never get one)
}

func newMeta() *meta {
	return &meta{base: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 5 * time.Second},
		acked: map[string]int{}, ackedStates: map[string]map[string]int{}}
}

func (m *meta) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	h := readHook(body)
	m.mu.Lock()
	m.inFlight[h.kind]++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inFlight[h.kind]--
		m.mu.Unlock()
	}()
	backoff := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
		r := req.Clone(ctx)
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
			m.ackedHooks[h.kind]++
			for _, id := range h.wamids {
				m.acked[id]++
			}
			for _, s := range h.states {
				if m.ackedStates[s[0]] == nil {
					m.ackedStates[s[0]] = map[string]int{}
				}
				m.ackedStates[s[0]][s[1]]++
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

func (m *meta) snapshot() (inbound, status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inFlight[kindInbound], m.inFlight[kindStatus]
}

// The Graph API side is killharness.Graph: the sandbox behind a recorder
// that also holds each answer back a little, which widens the window
// between the fake accepting a message and Parley committing that it was
// sent.
