package runner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/runner/inbox"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/store"
)

// TestCountersAreWrittenByTheWorkers: a session's counters reach the
// database within a few seconds with nobody asking (the flusher), and
// exactly once.
func TestCountersAreWrittenByTheWorkers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	f := e.publish("Counted", fmt.Sprintf(bookingFlow, "Counted"))
	a := addr()
	c := e.receive(a, "hi").ContactID
	e.eventually("the question", func() bool { return len(texts(e.conversation(c), "out")) == 1 })
	e.receiveInput(a, button("Book"))
	e.eventually("the counters", func() bool {
		st, err := e.st.FlowStatsGet(context.Background(), store.FlowStatsParams{ProjectID: e.project.ID, FlowID: f.ID})
		return err == nil && st.Sessions.Completed == 1
	})
	time.Sleep(2 * sprint.StatsEvery) // later flushes add nothing more
	st, err := e.st.FlowStatsGet(context.Background(), store.FlowStatsParams{ProjectID: e.project.ID, FlowID: f.ID})
	if err != nil || st.Sessions.Started != 1 || st.Sessions.Completed != 1 {
		t.Fatalf("counters = %+v (%v), want one session started and completed", st.Sessions, err)
	}
}

// TestPollersTakeOverOrphans: an inbox event and a queued reply whose
// process died (their lease has run out, nobody was told) are found by the
// pollers and worked once.
func TestPollersTakeOverOrphans(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.publish("Orphans", fmt.Sprintf(bookingFlow, "Done"))
	ctx := context.Background()
	a := addr()
	// An inbound message stored as a process that died right after its
	// commit would have left it: due at once, no notification.
	var rc inbox.Receipt
	err := e.st.InTx(ctx, func(q store.Queries) error {
		var err error
		rc, err = e.r.Inbox.Receive(ctx, orphanQueries{q}, e.inbound(a, "hi", ""))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.eventually("the orphaned event is handled and its reply sent", func() bool {
		ms := e.conversation(rc.ContactID)
		return len(ms) == 2 && ms[1].Status == domain.MessageDelivered
	})
	sentTimes := func(id string) int {
		e.senders.mu.Lock()
		defer e.senders.mu.Unlock()
		return e.senders.sent[id]
	}
	if n := sentTimes(e.conversation(rc.ContactID)[1].ID); n != 1 {
		t.Fatalf("reply sent %d times, want once", n)
	}
	// An agent's message queued by a process that died before telling
	// its sender: the send poller finds it.
	var m domain.Message
	err = e.st.InTx(ctx, func(q store.Queries) error {
		var err error
		m, err = e.r.Outbox.AgentSend(ctx, orphanQueries{q}, e.project.ID, rc.ContactID, e.channel.ID, "are you there?")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.eventually("the orphaned send", func() bool {
		got, err := e.st.MessageGet(ctx, store.Ref{ProjectID: e.project.ID, ID: m.ID})
		return err == nil && got.Status == domain.MessageDelivered
	})
	if n := sentTimes(m.ID); n != 1 {
		t.Fatalf("agent message sent %d times, want once", n)
	}
}

// orphanQueries drops after-commit hooks: what a process that died right
// after committing leaves behind. The rows it writes are due at once.
type orphanQueries struct{ store.Queries }

func (orphanQueries) AfterCommit(func()) {}

func (q orphanQueries) MessageCreate(ctx context.Context, m domain.Message) (domain.Message, error) {
	m.DueAt = nil // due at its creation
	return q.Queries.MessageCreate(ctx, m)
}

func (q orphanQueries) ContactEventAppend(ctx context.Context, ev domain.ContactEvent) (domain.ContactEvent, error) {
	ev.DueAt = ev.CreatedAt
	return q.Queries.ContactEventAppend(ctx, ev)
}
