package sandbox

import (
	"sync"
)

// Meta's webhooks "aggregate notifications and send them in a batch of up
// to 1,000 updates; batching cannot be guaranteed" (Graph API Webhooks,
// developers.facebook.com/docs/graph-api/webhooks/getting-started). With
// Config.WebhookBatch above 1 the fake does the same with status updates:
// a few posters each take every status queued when they are free, so an
// idle fake posts each status on its own and a busy one posts many in one
// body, like Meta under load.

// statusPosters is how many batches are in flight at once: one would make
// every status wait behind the previous POST's acknowledgement.
const statusPosters = 4

// queuedStatus is one status update waiting for a POST.
type queuedStatus struct {
	pn number
	st map[string]any
}

// statusBatcher holds the queued statuses and the posters' state.
type statusBatcher struct {
	mu      sync.Mutex
	queue   []queuedStatus
	wake    chan struct{} // one token per queue that became non-empty
	started bool
}

// queueStatus hands one status to the posters (started on first use: the
// fake also runs as a bare Handler, without Start).
func (s *Server) queueStatus(pn number, st map[string]any) {
	b := &s.batcher
	b.mu.Lock()
	if !b.started {
		b.started = true
		b.wake = make(chan struct{}, statusPosters)
		s.wg.Add(statusPosters)
		for range statusPosters {
			go s.postStatuses()
		}
	}
	b.queue = append(b.queue, queuedStatus{pn, st})
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default: // every poster already has a wake-up coming
	}
}

// postStatuses is a poster: it takes up to WebhookBatch queued statuses,
// posts them (one body per phone number, as Meta's metadata names one),
// and goes again until the fake stops. Statuses still queued then are
// dropped, as Stop drops a status whose delay has not passed.
func (s *Server) postStatuses() {
	defer s.wg.Done()
	b := &s.batcher
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-b.wake:
		}
		for {
			b.mu.Lock()
			n := min(len(b.queue), s.cfg.WebhookBatch)
			taken := append([]queuedStatus(nil), b.queue[:n]...)
			b.queue = append(b.queue[:0], b.queue[n:]...)
			more := len(b.queue) > 0
			b.mu.Unlock()
			if n == 0 || s.ctx.Err() != nil {
				break
			}
			if more {
				select {
				case b.wake <- struct{}{}: // another poster can take the rest
				default:
				}
			}
			for _, group := range byNumber(taken) {
				body, err := statusesBody(group[0].pn, group)
				if err != nil {
					continue
				}
				s.deliver(body)
			}
		}
	}
}

// byNumber groups statuses by the phone number they are about, in order.
func byNumber(qs []queuedStatus) [][]queuedStatus {
	var groups [][]queuedStatus
	at := map[string]int{}
	for _, q := range qs {
		i, ok := at[q.pn.ID]
		if !ok {
			i = len(groups)
			at[q.pn.ID] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], q)
	}
	return groups
}

// statusesBody is one webhook carrying several statuses of one number.
func statusesBody(pn number, qs []queuedStatus) ([]byte, error) {
	sts := make([]map[string]any, len(qs))
	for i, q := range qs {
		sts[i] = q.st
	}
	v := messagesValue{MessagingProduct: "whatsapp", Metadata: metadata{pn.Display, pn.ID}, Statuses: sts}
	return wrap(pn.WABA, "messages", v)
}
