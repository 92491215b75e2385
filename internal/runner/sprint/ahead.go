package sprint

import (
	"sync/atomic"

	"github.com/parleyhq/parley/internal/lru"
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
	// held are the copies by session ID; the oldest is let go when
	// aheadCap are newer.
	held *lru.Cache[string, aheadEntry]
}

type aheadEntry struct {
	sf  store.SessionFlow
	gen uint32
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
	h.ahead.held.Put(sf.Session.ID, aheadEntry{sf: sf, gen: mark[h.ahead.stripe(sf.Session.ID)]})
}

// takeAhead is the session read ahead for sessionID, if one is held and no
// commit of this process changed the session since; it is held no longer.
func (h *Handler) takeAhead(projectID, sessionID string) (store.SessionFlow, bool) {
	e, ok := h.ahead.held.Take(sessionID)
	if !ok || e.gen != h.ahead.gens[h.ahead.stripe(sessionID)].Load() || e.sf.Session.ProjectID != projectID {
		return store.SessionFlow{}, false
	}
	return e.sf, true
}

// touched marks a session changed by a commit of this process: a copy read
// ahead of it is stale.
func (h *Handler) touched(sessionID string) {
	h.ahead.gens[h.ahead.stripe(sessionID)].Add(1)
}
