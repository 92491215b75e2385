package sprint

import (
	"fmt"
	"testing"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/lru"
	"github.com/parleyhq/parley/internal/store"
)

// TestAhead: a session read ahead is taken once, by its own project; a
// commit of the session after the mark makes the copy stale, one before
// it does not; the oldest copies are let go past aheadCap.
func TestAhead(t *testing.T) {
	t.Parallel()
	read := func(id string, version int) store.SessionFlow {
		return store.SessionFlow{Session: domain.FlowSession{ID: id, ProjectID: "p", Version: version}, Flow: store.Flow{ID: "f"}}
	}
	cases := []struct {
		name string
		// before runs after the mark is taken and before the copy is held;
		// after runs once it is held.
		before, after func(h *Handler)
		project       string
		want          bool
	}{
		{name: "held and taken", project: "p", want: true},
		{name: "another project's session", project: "q"},
		{name: "committed after the read", after: func(h *Handler) { h.touched("s1") }, project: "p"},
		{name: "committed between mark and read", before: func(h *Handler) { h.touched("s1") }, project: "p"},
		{name: "another session committed", after: func(h *Handler) {
			for i := range 50 { // most share no stripe with s1
				if id := fmt.Sprint("other", i); h.ahead.stripe(id) != h.ahead.stripe("s1") {
					h.touched(id)
				}
			}
		}, project: "p", want: true},
		{name: "let go past the cap", after: func(h *Handler) {
			mark := h.AheadMark(nil)
			for i := range aheadCap {
				h.Ahead(mark, read(fmt.Sprint("newer", i), 1))
			}
		}, project: "p"},
		{name: "held again after the cap", after: func(h *Handler) {
			mark := h.AheadMark(nil)
			for i := range aheadCap - 1 {
				h.Ahead(mark, read(fmt.Sprint("newer", i), 1))
			}
			h.Ahead(mark, read("s1", 2)) // read again: the newest
			for i := range aheadCap - 1 {
				h.Ahead(mark, read(fmt.Sprint("newest", i), 1))
			}
		}, project: "p", want: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := &Handler{}
			h.ahead.held = lru.New[string, aheadEntry](aheadCap)
			h.touched("s1") // an earlier commit, before the mark
			mark := h.AheadMark(nil)
			if c.before != nil {
				c.before(h)
			}
			h.Ahead(mark, read("s1", 1))
			if c.after != nil {
				c.after(h)
			}
			got, ok := h.takeAhead(c.project, "s1")
			if ok != c.want || ok && (got.Session.ID != "s1" || got.Flow.ID != "f") {
				t.Fatalf("takeAhead = %+v, %v; want a copy: %v", got, ok, c.want)
			}
			if _, again := h.takeAhead(c.project, "s1"); again {
				t.Fatal("a copy read ahead was taken twice")
			}
			if n := h.ahead.held.Len(); n > aheadCap {
				t.Fatalf("holding %d copies; want at most %d", n, aheadCap)
			}
		})
	}
}
