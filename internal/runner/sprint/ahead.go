package sprint

import (
	"sync"
	"sync/atomic"

	"github.com/parleyhq/parley/internal/store"
)

// Sessions read ahead. The inbox's timer loop reads each due session, with
// its flow's head, in the transaction that queues its timer event
// (store.SessionTimersDueParams.Sessions), and hands it here; the sprint of
// that event takes it instead of reading the session again. A fired
// timeout then costs one read of its session, not two: the sprint's read
// was a sixth of the CPU a fired timeout took on SQLite.
//
// A session read ahead is used only if no sprint of this process committed
// a change to it since: each commit bumps its session's stripe (after the
// commit), and the timer loop copies the stripes (AheadMark) before it
// reads. A commit after the read bumps the stripe after the copy, so the
// copy no longer matches and the sprint reads the session itself; a bump
// of a session sharing the stripe costs only that read. Another process's
// commits are not seen here, as they are not by a read on a reader
// connection either: the sprint's commit checks the session's version and
// gives way (ErrRace) to whoever moved it first. The flow's head comes
// from when the timeout fired.
const (
	aheadStripes = 1 << 14
	// aheadCap bounds the sessions held: one whose event is handled by
	// another process (or never, being queued already) would otherwise stay.
	aheadCap = 4096
)

// ahead holds sessions read ahead of their sprints.
type ahead struct {
	gens [aheadStripes]atomic.Uint32
	mu   sync.Mutex
	held map[string]aheadEntry // by session ID
	// order is what was held, oldest first (taken ones too, until they
	// come first): a session is let go when aheadCap are newer.
	order []aheadKey
	n     uint64 // numbers the entries, for order
}

type aheadEntry struct {
	sf  store.SessionFlow
	gen uint32
	n   uint64
}

type aheadKey struct {
	id string
	n  uint64
}

// stripe is sessionID's stripe: its FNV-1a hash, folded.
func (a *ahead) stripe(sessionID string) int {
	h := uint32(2166136261)
	for i := 0; i < len(sessionID); i++ {
		h = (h ^ uint32(sessionID[i])) * 16777619
	}
	return int((h ^ h>>16) % aheadStripes)
}

// AheadMark copies the stripes into buf (grown as needed) before a read of
// sessions to hand to Ahead.
func (h *Handler) AheadMark(buf []uint32) []uint32 {
	if cap(buf) < aheadStripes {
		buf = make([]uint32, aheadStripes)
	}
	buf = buf[:aheadStripes]
	for i := range buf {
		buf[i] = h.ahead.gens[i].Load()
	}
	return buf
}

// Ahead holds sf, read after mark was taken (AheadMark), for the sprint of
// its session's timer event.
func (h *Handler) Ahead(mark []uint32, sf store.SessionFlow) {
	a := &h.ahead
	id := sf.Session.ID
	gen := mark[a.stripe(id)]
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held == nil {
		a.held = make(map[string]aheadEntry, aheadCap)
	}
	a.n++
	a.held[id] = aheadEntry{sf: sf, gen: gen, n: a.n}
	a.order = append(a.order, aheadKey{id, a.n})
	for len(a.order) > aheadCap {
		if old := a.order[0]; a.held[old.id].n == old.n {
			delete(a.held, old.id)
		}
		a.order = a.order[1:]
	}
}

// takeAhead is the session read ahead for sessionID, if one is held and no
// commit of this process changed the session since; it is held no longer.
func (h *Handler) takeAhead(projectID, sessionID string) (store.SessionFlow, bool) {
	a := &h.ahead
	a.mu.Lock()
	e, ok := a.held[sessionID]
	if ok {
		delete(a.held, sessionID) // its key leaves order when it comes first
	}
	a.mu.Unlock()
	if !ok || e.gen != a.gens[a.stripe(sessionID)].Load() || e.sf.Session.ProjectID != projectID {
		return store.SessionFlow{}, false
	}
	return e.sf, true
}

// touched marks a session changed by a commit of this process: a copy read
// ahead of it is stale.
func (h *Handler) touched(sessionID string) {
	h.ahead.gens[h.ahead.stripe(sessionID)].Add(1)
}
