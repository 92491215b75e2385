package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/dispatch"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/runner/inbox"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/store"
)

const bookingFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["hi"]}}},
 {"id":"ask","type":"message","position":{"x":0,"y":100},"data":{"text":"Hi {{contact.name}}! Pick one","buttons":["Book","Track"],"timeout_seconds":60}},
 {"id":"booked","type":"end","position":{"x":0,"y":200},"data":{"text":"%s"}},
 {"id":"track","type":"end","position":{"x":200,"y":200},"data":{"text":"Tracking"}},
 {"id":"late","type":"end","position":{"x":400,"y":200},"data":{"text":"Timed out"}}
],"edges":[
 {"id":"e1","source":"start","target":"ask"},
 {"id":"e2","source":"ask","sourceHandle":"Book","target":"booked"},
 {"id":"e3","source":"ask","sourceHandle":"Track","target":"track"},
 {"id":"e4","source":"ask","sourceHandle":"other","target":"track"},
 {"id":"e5","source":"ask","sourceHandle":"timeout","target":"late"}
]}`

const loopFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"inbound"}}},
 {"id":"w","type":"wait_for_response","position":{"x":0,"y":100},"data":{"variable":"last","timeout_seconds":3600}},
 {"id":"s","type":"set_variable","position":{"x":0,"y":200},"data":{"assignments":[{"variable":"log","value":"{{ default(log, \"\") + last + \",\" }}"}]}},
 {"id":"end","type":"end","position":{"x":200,"y":200},"data":{}}
],"edges":[
 {"id":"e1","source":"start","target":"w"},
 {"id":"e2","source":"w","sourceHandle":"reply","target":"s"},
 {"id":"e3","source":"s","target":"w"},
 {"id":"e4","source":"w","sourceHandle":"timeout","target":"end"},
 {"id":"e5","source":"w","sourceHandle":"invalid","target":"end"}
]}`

func button(title string) engine.Input {
	return engine.Input{Kind: engine.InputButton, Button: title, Text: title}
}

func (e *env) receiveInput(address string, in engine.Input) inbox.Receipt {
	e.t.Helper()
	var rc inbox.Receipt
	err := e.st.InTx(context.Background(), func(q store.Queries) error {
		ib := e.inbound(address, in.Text, "")
		ib.Input = in
		var err error
		rc, err = e.r.Inbox.Receive(context.Background(), q, ib)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return rc
}

func (e *env) process(contactID string) {
	e.t.Helper()
	if err := e.r.ProcessContact(context.Background(), e.project.ID, contactID); err != nil {
		e.t.Fatal(err)
	}
}

func TestKeywordFlowEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	f := e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	a := addr()
	c := e.receive(a, "Hi").ContactID
	e.eventually("the question is delivered", func() bool {
		ms := e.conversation(c)
		return len(ms) == 2 && ms[1].Status == domain.MessageDelivered
	})
	if got := texts(e.conversation(c), "out"); got[0] != "Hi Ann! Pick one" {
		t.Fatalf("question = %q", got)
	}
	e.receiveInput(a, button("Book"))
	e.eventually("the session completes", func() bool { return e.session(c).Status == domain.SessionCompleted })
	e.eventually("the answer is delivered", func() bool { return len(e.conversation(c)) == 4 })
	if got := texts(e.conversation(c), "out"); !slices.Equal(got, []string{"Hi Ann! Pick one", "Booked"}) {
		t.Fatalf("bot said %q", got)
	}
	tr, err := e.st.TraceList(context.Background(), store.Ref{ProjectID: e.project.ID, ID: e.session(c).ID})
	if err != nil || len(tr) < 5 {
		t.Fatalf("trace = %v (%v)", tr, err)
	}
	if err := e.r.FlushStats(context.Background()); err != nil {
		t.Fatal(err)
	}
	stats, err := e.st.FlowStatsGet(context.Background(), store.FlowStatsParams{ProjectID: e.project.ID, FlowID: f.ID})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Sessions.Started != 1 || stats.Sessions.Completed != 1 || stats.Nodes["ask"].Visits != 1 || stats.Edges["e2"] != 1 {
		t.Fatalf("stats = %+v", stats)
	}
}

// TestSessionStateLeavesTheRowItsKeysAndContact: a waiting session's stored
// state holds neither the IDs its row holds nor its contact, and the next
// sprint runs with the contact as it is then (renamed while it waited).
func TestSessionStateLeavesTheRowItsKeysAndContact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked for {{contact.name}}"))
	a := addr()
	cid := e.receive(a, "Hi").ContactID
	e.eventually("the question is asked", func() bool { return len(e.conversation(cid)) == 2 })
	s := e.session(cid)
	if s.Status != domain.SessionWaiting {
		t.Fatalf("session %s, want waiting", s.Status)
	}
	for what, v := range map[string]string{"session ID": s.ID, "flow ID": s.FlowID, "contact ID": cid, "address": a, "name": "Ann"} {
		if strings.Contains(string(s.State), v) {
			t.Errorf("the stored state holds the %s %q", what, v)
		}
	}
	ctx := context.Background()
	c, err := e.st.ContactGet(ctx, store.Ref{ProjectID: e.project.ID, ID: cid})
	if err != nil {
		t.Fatal(err)
	}
	c.Name = "Beatriz"
	if _, err := e.st.ContactUpdate(ctx, c); err != nil {
		t.Fatal(err)
	}
	e.receiveInput(a, button("Book"))
	e.eventually("the session completes", func() bool { return e.session(cid).Status == domain.SessionCompleted })
	e.eventually("the answer is stored", func() bool { return len(e.conversation(cid)) == 4 })
	if got := texts(e.conversation(cid), "out"); !slices.Equal(got, []string{"Hi Ann! Pick one", "Booked for Beatriz"}) {
		t.Fatalf("bot said %q", got)
	}
}

// TestOrderingUnderConcurrency: 50 messages for one contact arrive at once
// while several workers run; each is handled once, in arrival order.
func TestOrderingUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.publish("Loop", loopFlow)
	a := addr()
	var mu sync.Mutex
	var receipts []inbox.Receipt
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := e.receive(a, fmt.Sprintf("m%02d", i))
			mu.Lock()
			receipts = append(receipts, rc)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(receipts, func(i, j int) bool { return receipts[i].Seq < receipts[j].Seq })
	c := receipts[0].ContactID
	byID := map[string]string{}
	for _, m := range e.conversation(c) {
		byID[m.ID] = texts([]domain.Message{m}, "in")[0]
	}
	var want strings.Builder
	for _, rc := range receipts[1:] { // the first message started the flow
		want.WriteString(byID[rc.MessageID] + ",")
	}
	e.eventually("all 50 are handled", func() bool {
		ev, err := e.headEvent(c)
		return err != nil && ev.Seq == 0
	})
	if got := e.vars(e.session(c))["log"]; got != want.String() {
		t.Fatalf("handled order\n got %v\nwant %v", got, want.String())
	}
}

func TestDuplicateDeliveriesAreHandledOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.publish("Loop", loopFlow)
	a := addr()
	first := e.receive(a, "begin")
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = e.st.InTx(context.Background(), func(q store.Queries) error {
				_, err := e.r.Inbox.Receive(context.Background(), q, e.inbound(a, "dup", "provider-1"))
				return err
			})
		}()
	}
	wg.Wait()
	// And once more, later, after everything settled.
	e.eventually("the first copy is handled", func() bool {
		_, err := e.headEvent(first.ContactID)
		return err != nil
	})
	var rc inbox.Receipt
	_ = e.st.InTx(context.Background(), func(q store.Queries) error {
		var err error
		rc, err = e.r.Inbox.Receive(context.Background(), q, e.inbound(a, "dup", "provider-1"))
		return err
	})
	if !rc.Duplicate {
		t.Fatalf("a late re-delivery was not recognised: %+v", rc)
	}
	if n := len(texts(e.conversation(first.ContactID), "in")); n != 2 {
		t.Fatalf("%d inbound messages stored, want 2 (begin + one dup)", n)
	}
	if got := e.vars(e.session(first.ContactID))["log"]; got != "dup," {
		t.Fatalf("log = %v, want the duplicate handled once", got)
	}
}

// TestTimeoutRacesReply: a reply and the wait's timeout queued together;
// exactly one of them moves the session, in either order.
func TestTimeoutRacesReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	for _, replyFirst := range []bool{true, false} {
		a := addr()
		c := e.receive(a, "hi").ContactID
		e.process(c)
		s := e.session(c)
		if s.Status != domain.SessionWaiting || s.TimeoutAt == nil {
			t.Fatalf("session = %+v", s)
		}
		timer := func() {
			err := e.st.InTx(context.Background(), func(q store.Queries) error {
				_, err := e.r.Inbox.Queue(context.Background(), q, domain.ContactEvent{ProjectID: e.project.ID, ContactID: c, Kind: domain.EventTimer,
					DedupeKey: fmt.Sprintf("timer:%s:%d", s.ID, s.WaitSeq), Payload: sprint.Payload{SessionID: s.ID, Seq: uint32(s.WaitSeq)}.Raw()})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if replyFirst {
			e.receiveInput(a, button("Book"))
			timer()
		} else {
			timer()
			e.receiveInput(a, button("Book"))
		}
		e.process(c)
		got := texts(e.conversation(c), "out")
		want := []string{"Hi Ann! Pick one", "Booked"}
		if !replyFirst {
			want = []string{"Hi Ann! Pick one", "Timed out"}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("reply first %v: bot said %q, want %q", replyFirst, got, want)
		}
	}
}

// TestSendSurvivesACrashAfterTheSprint: the sprint commits its queued
// message, the process dies before sending; after a restart the message is
// sent exactly once.
func TestSendSurvivesACrashAfterTheSprint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	c := e.receive(addr(), "hi").ContactID
	e.process(c)
	ms := e.conversation(c)
	if len(ms) != 2 || ms[1].Status != domain.MessageQueued || len(e.senders.sent) != 0 {
		t.Fatalf("before the restart: %+v, sent %v", ms, e.senders.sent)
	}
	e.startJobs() // the restart: the outbox poller picks up the queued message
	e.eventually("the message is sent", func() bool { return e.conversation(c)[1].Status == domain.MessageDelivered })
	e.senders.mu.Lock()
	defer e.senders.mu.Unlock()
	if n := e.senders.sent[ms[1].ID]; n != 1 {
		t.Fatalf("sent %d times, want 1", n)
	}
}

func TestVersionPinning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	f := e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked v1"))
	a1 := addr()
	c1 := e.receive(a1, "hi").ContactID
	e.process(c1)

	publish := true
	if _, err := e.flows.Update(context.Background(), e.project.ID, f.ID, "test", chatflow.UpdateInput{Version: f.Version,
		FlowData: json.RawMessage(fmt.Sprintf(bookingFlow, "Booked v2")), IsActive: &publish}); err != nil {
		t.Fatal(err)
	}
	e.receiveInput(a1, button("Book"))
	e.process(c1)
	if got := texts(e.conversation(c1), "out"); got[len(got)-1] != "Booked v1" {
		t.Fatalf("a session started on revision 1 said %q after revision 2 was published", got)
	}
	if s := e.session(c1); s.Revision != 1 {
		t.Fatalf("session revision = %d", s.Revision)
	}
	a2 := addr()
	c2 := e.receive(a2, "hi").ContactID
	e.process(c2)
	e.receiveInput(a2, button("Book"))
	e.process(c2)
	if got := texts(e.conversation(c2), "out"); got[len(got)-1] != "Booked v2" {
		t.Fatalf("a new session said %q, want revision 2", got)
	}
}

func TestOptOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	f := e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	a := addr()
	c := e.receive(a, "hi").ContactID
	e.process(c)
	e.receive(a, "stop")
	e.process(c)
	contact, err := e.st.ContactGet(context.Background(), store.Ref{ProjectID: e.project.ID, ID: c})
	if err != nil || !contact.OptedOut {
		t.Fatalf("contact after STOP = %+v (%v)", contact, err)
	}
	if s := e.session(c); s.Status != domain.SessionInterrupted {
		t.Fatalf("session after STOP = %s", s.Status)
	}
	ms := e.conversation(c)
	if last := ms[len(ms)-1]; last.Status != domain.MessageQueued || !strings.Contains(texts([]domain.Message{last}, "out")[0], "unsubscribed") {
		t.Fatalf("no confirmation reply queued: %+v", last)
	}
	// A start that is not a reply must not reach an opted-out contact.
	err = e.st.InTx(context.Background(), func(q store.Queries) error {
		_, err := e.r.StartFlow(context.Background(), q, StartParams{ProjectID: e.project.ID, FlowID: f.ID, ContactID: c, ChannelID: e.channel.ID, SessionID: "api-start-1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.process(c)
	ms = e.conversation(c)
	if last := ms[len(ms)-1]; last.Status != domain.MessageFailed || last.ErrorCode != "opted_out" {
		t.Fatalf("message to an opted-out contact = %+v", last)
	}
	e.receive(a, "START")
	e.process(c)
	if contact, _ := e.st.ContactGet(context.Background(), store.Ref{ProjectID: e.project.ID, ID: c}); contact.OptedOut {
		t.Fatal("START did not opt the contact back in")
	}
}

// TestStartQueuedTwiceStartsOnce: a start carries no dedupe key (its
// session ID is new), so were the same start queued twice, the second finds
// its own session live and is ignored — not restarted as itself, even in a
// flow that restarts on a new start.
func TestStartQueuedTwiceStartsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	f := e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"), func(in *chatflow.CreateInput) { in.OnRetrigger = "restart" })
	ctx := context.Background()
	c, _, err := e.st.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: e.project.ID, Scheme: domain.SchemeTel, Path: "+15550002", NewID: "twice", Phone: "+15550002", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		err := e.st.InTx(ctx, func(q store.Queries) error {
			_, err := e.r.StartFlow(ctx, q, StartParams{ProjectID: e.project.ID, FlowID: f.ID, ContactID: c.ID, ChannelID: e.channel.ID, SessionID: "started-twice"})
			return err
		})
		if err != nil {
			t.Fatalf("queueing the start: %v", err)
		}
	}
	e.process(c.ID)
	if _, err := e.headEvent(c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an event is left unhandled: %v", err)
	}
	l, err := e.st.SessionList(ctx, store.SessionListParams{ProjectID: e.project.ID, ContactID: c.ID})
	if err != nil || len(l.Items) != 1 || l.Items[0].ID != "started-twice" || l.Items[0].Status != domain.SessionWaiting {
		t.Fatalf("sessions = %+v (%v), want started-twice waiting", l.Items, err)
	}
	if out := texts(e.conversation(c.ID), "out"); len(out) != 1 {
		t.Fatalf("bot said %q, want the question once", out)
	}
}

// TestProjectKeywords: a project's own opt-out words replace the built-in
// ones, and a change applies to the next message once ForgetProjects is
// called (the settings are cached for a second).
func TestProjectKeywords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	setKeywords := func(settings string) {
		t.Helper()
		if _, err := e.st.ProjectUpdate(ctx, store.ProjectUpdateParams{ID: e.project.ID, Settings: json.RawMessage(settings), Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		e.r.ForgetProjects()
	}
	optedOut := func(c string) bool {
		t.Helper()
		contact, err := e.st.ContactGet(ctx, store.Ref{ProjectID: e.project.ID, ID: c})
		if err != nil {
			t.Fatal(err)
		}
		return contact.OptedOut
	}
	a := addr()
	c := e.receive(a, "hello").ContactID
	e.process(c) // reads (and caches) the built-in words
	setKeywords(`{"keywords":{"opt_out":["BASTA"],"opt_in":["ANCORA"]}}`)
	e.receive(a, "stop")
	e.process(c)
	if optedOut(c) {
		t.Fatal("STOP opted the contact out although the project's words replace it")
	}
	e.receive(a, " basta ")
	e.process(c)
	if !optedOut(c) {
		t.Fatal("the project's opt-out word did not opt the contact out")
	}
	setKeywords(`{"keywords":{"enabled":false}}`)
	e.receive(a, "ANCORA")
	e.process(c)
	if !optedOut(c) {
		t.Fatal("an opt-in word worked with the keywords turned off")
	}
}

// TestReplyAddress: a reply goes out to the address its inbound message
// came from, handed to the sender in memory; a send without that (another
// channel, or read back by a poller) reads the contact's address.
func TestReplyAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	a := addr()
	c := e.receive(a, "hi").ContactID
	var reply domain.Message
	e.eventually("the reply is sent", func() bool {
		ms := e.conversation(c)
		reply = ms[len(ms)-1]
		return reply.Direction == domain.DirectionOut && reply.Status == domain.MessageDelivered
	})
	e.senders.mu.Lock()
	to := e.senders.to[reply.ID]
	e.senders.mu.Unlock()
	if to != a {
		t.Fatalf("the reply went to %q, want %q", to, a)
	}

	// The hint is used for its own channel only.
	ctx := context.Background()
	send := func(hint domain.URN) string {
		t.Helper()
		m, err := e.st.MessageCreate(ctx, domain.Message{ID: domain.UUIDv7{}.NewID(), ProjectID: e.project.ID, ContactID: c, ChannelID: e.channel.ID,
			Direction: domain.DirectionOut, Type: "text", Content: json.RawMessage(`{"type":"text","text":"x"}`), Status: domain.MessageQueued, CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.Outbox.Send(ctx, m, &hint); err != nil {
			t.Fatal(err)
		}
		e.senders.mu.Lock()
		defer e.senders.mu.Unlock()
		return e.senders.to[m.ID]
	}
	now := time.Now()
	if to := send(domain.URN{Path: "known-in-memory", ChannelID: e.channel.ID, LastInboundAt: &now}); to != "known-in-memory" {
		t.Fatalf("a send with its address in hand went to %q", to)
	}
	if to := send(domain.URN{Path: "of-another-channel", ChannelID: "another", LastInboundAt: &now}); to != a {
		t.Fatalf("a send on another channel than the hint's went to %q, want the stored %q", to, a)
	}
}

const handoffFlow = `{"nodes":[
 {"id":"start","type":"start","position":{"x":0,"y":0},"data":{"trigger":{"type":"keyword","keywords":["agent"]}}},
 {"id":"h","type":"handoff","position":{"x":0,"y":100},"data":{"message":"Connecting you with a person.","timeout_seconds":600}},
 {"id":"back","type":"end","position":{"x":0,"y":200},"data":{"text":"The bot is back."}},
 {"id":"late","type":"end","position":{"x":200,"y":200},"data":{"text":"Nobody answered."}}
],"edges":[
 {"id":"e1","source":"start","target":"h"},
 {"id":"e2","source":"h","sourceHandle":"released","target":"back"},
 {"id":"e3","source":"h","sourceHandle":"timeout","target":"late"}
]}`

// TestHandoff: while a person handles the conversation the bot stays
// silent; a release gives it back.
func TestHandoff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.publish("Agent", handoffFlow)
	a := addr()
	c := e.receive(a, "agent").ContactID
	e.process(c)
	e.receive(a, "hello? anyone?")
	e.process(c)
	if got := texts(e.conversation(c), "out"); !slices.Equal(got, []string{"Connecting you with a person."}) {
		t.Fatalf("during the handoff the bot said %q", got)
	}
	if err := e.st.InTx(context.Background(), func(q store.Queries) error {
		_, err := e.r.Inbox.Release(context.Background(), q, e.project.ID, c)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.process(c)
	if got := texts(e.conversation(c), "out"); got[len(got)-1] != "The bot is back." || e.session(c).Status != domain.SessionCompleted {
		t.Fatalf("after the release: %q, %s", got, e.session(c).Status)
	}
}

// TestSessionExpiry: a session that outlived its flow's expire_after is
// ended by the timer loop's FireExpiries from its row (once, not before
// it is due), whatever it waits for, and no job is written for it.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, false)
	minute := 60
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"), func(in *chatflow.CreateInput) { in.ExpireAfterSeconds = &minute })
	c := e.receive(addr(), "hi").ContactID
	e.process(c)
	s := e.session(c)
	if got := s.ExpiresAt.Sub(s.CreatedAt); got < 59*time.Second || got > 61*time.Second {
		t.Fatalf("expires %v after it started, want a minute", got)
	}
	fire := func(want int) {
		t.Helper()
		if n, err := e.r.Inbox.FireExpiries(ctx, 10); err != nil || n != want {
			t.Fatalf("FireExpiries = %d, %v; want %d", n, err, want)
		}
	}
	fire(0) // not due
	e.clock.advance(61 * time.Second)
	fire(1)
	fire(0) // queued: never again
	e.process(c)
	if got := e.session(c); got.Status != domain.SessionExpired {
		t.Fatalf("status = %s (%s), want expired", got.Status, got.EndReason)
	}
}

// TestLegacyExpiryJobAndLoopFireOnce: an expiry job queued by an earlier
// version and the timer loop expire the same session once, in either
// order.
func TestLegacyExpiryJobAndLoopFireOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, false)
	minute := 60
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"), func(in *chatflow.CreateInput) { in.ExpireAfterSeconds = &minute })
	var bound jobs.Bound[Runner]
	if err := bound.Set(e.r); err != nil {
		t.Fatal(err)
	}
	w := &timerWorker{r: &bound}
	for _, jobFirst := range []bool{true, false} {
		c := e.receive(addr(), "hi").ContactID
		e.process(c)
		s := e.session(c)
		job := func() {
			t.Helper()
			if err := w.Work(ctx, &river.Job[TimerArgs]{Args: TimerArgs{ProjectID: e.project.ID, ContactID: c, SessionID: s.ID, Expire: true}}); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.advance(61 * time.Second)
		if jobFirst {
			job()
			if n, err := e.r.Inbox.FireExpiries(ctx, 10); err != nil || n != 0 {
				t.Fatalf("job first: FireExpiries = %d, %v; want 0", n, err)
			}
		} else {
			if n, err := e.r.Inbox.FireExpiries(ctx, 10); err != nil || n != 1 {
				t.Fatalf("loop first: FireExpiries = %d, %v; want 1", n, err)
			}
			job()
		}
		if evs, err := e.st.ContactEventsNext(ctx, store.ContactEventsNextParams{ContactID: c, Limit: 5}); err != nil || len(evs) != 1 {
			t.Fatalf("job first %v: queued %d events (%v), want the one expire event", jobFirst, len(evs), err)
		}
		e.process(c)
		if got := e.session(c); got.Status != domain.SessionExpired {
			t.Fatalf("job first %v: status = %s (%s), want expired", jobFirst, got.Status, got.EndReason)
		}
	}
}

// TestHandledEventsArePurged: handled inbox events are deleted once they
// are older than the retention (not before: the API reads one back right
// after handling it); unhandled ones are kept whatever their age.
func TestHandledEventsArePurged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, false)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	handled := e.receive(addr(), "hi")
	e.process(handled.ContactID)
	waiting := e.receive(addr(), "hi") // not processed
	get := func(seq int64) error {
		_, err := e.st.ContactEventGet(ctx, store.ContactEventGetParams{ProjectID: e.project.ID, Seq: seq})
		return err
	}
	if n, err := e.r.Inbox.PurgeHandled(ctx); err != nil || n != 0 {
		t.Fatalf("within the retention: PurgeHandled = %d, %v; want 0", n, err)
	}
	if err := get(handled.Seq); err != nil {
		t.Fatalf("the handled event went early: %v", err)
	}
	e.clock.advance(inbox.DefaultRetention + time.Second)
	if n, err := e.r.Inbox.PurgeHandled(ctx); err != nil || n < 1 {
		t.Fatalf("after the retention: PurgeHandled = %d, %v; want ≥ 1", n, err)
	}
	if err := get(handled.Seq); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the handled event is still there: %v", err)
	}
	if err := get(waiting.Seq); err != nil {
		t.Fatalf("the unhandled event went: %v", err)
	}
	e.process(waiting.ContactID)
	if got := e.session(waiting.ContactID); got.Status != domain.SessionWaiting {
		t.Fatalf("the kept event's session: %s", got.Status)
	}
}

// TestPoisonEventIsSetAside: an event that fails every time is recorded as
// failed after inbox.PoisonAttempts, and the events behind it are handled.
func TestPoisonEventIsSetAside(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	a := addr()
	c := e.receive(a, "hi").ContactID
	e.process(c)
	s := e.session(c)
	// Corrupt the stored session: resuming it can only fail.
	s.State, s.Version = []byte{0xff, 0x00}, s.Version+1
	if err := e.st.SessionUpdate(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	poison := e.receiveInput(a, button("Book"))
	for attempt := 1; attempt < inbox.PoisonAttempts; attempt++ {
		if next := e.r.Inbox.Work(context.Background(), e.project.ID, c); next != dispatch.Done {
			t.Fatalf("attempt %d: next = %v, want Done (retried later by the poller)", attempt, next)
		}
		ev, err := e.headEvent(c)
		if err != nil || ev.Attempts != attempt || !ev.DueAt.After(time.Now()) {
			t.Fatalf("attempt %d: head event attempts=%d due=%v (%v), want the attempt counted and a later due time", attempt, ev.Attempts, ev.DueAt, err)
		}
	}
	if next := e.r.Inbox.Work(context.Background(), e.project.ID, c); next != 0 {
		t.Fatalf("after %d attempts: next = %v, want 0 (carry on with any events behind)", inbox.PoisonAttempts, next)
	}
	if next := e.r.Inbox.Work(context.Background(), e.project.ID, c); next != dispatch.Done {
		t.Fatalf("draining the rest: next = %v", next)
	}
	got, err := e.st.ContactEventGet(context.Background(), store.ContactEventGetParams{ProjectID: e.project.ID, Seq: poison.Seq})
	if err != nil {
		t.Fatal(err)
	}
	if got.HandledAt == nil || !strings.HasPrefix(got.Result, "failed: ") {
		t.Fatalf("poison event: handled=%v result=%q, want set aside as failed", got.HandledAt, got.Result)
	}
	if _, err := e.headEvent(c); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the poison event still blocks the inbox: %v", err)
	}
}
