// Package outbox is the runner's sending side: it stores the outbound
// messages a sprint or a person queued, and sends each through its
// channel's adapter, paced per number and recipient, retried with backoff
// when the provider or the database fails, and records its status.
//
// The messages table is the durable queue: the process that queued a
// message holds it for the lease and hands it to a sender once its
// transaction commits; the poller of any process takes up the messages
// whose holder died or whose retry is due.
package outbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/lru"
	"github.com/parleyhq/parley/internal/receipt"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/ratelimit"
	"github.com/parleyhq/parley/internal/dispatch"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner/lease"
	"github.com/parleyhq/parley/internal/store"
)

// Channels is the channel service as the outbox uses it: channel rows
// read through its short-lived cache, and each channel's live adapter and
// send limiter.
type Channels interface {
	// InProject is a project's channel (domain.NotFound when it is not).
	InProject(ctx context.Context, projectID, id string) (domain.Channel, error)
	Adapter(ctx context.Context, ch domain.Channel) (channel.Adapter, error)
	// Limiter is the channel's send pacer; nil when it needs none.
	Limiter(ctx context.Context, ch domain.Channel) *ratelimit.Limiter
	// Limits are what channels of the type show natively (channel.Fit);
	// nil when the type declares none.
	Limits(typ string) *channel.Limits
}

// Config is what an Outbox needs besides the store.
type Config struct {
	Channels Channels
	Clock    domain.Clock
	IDs      domain.IDGen
	Logger   *slog.Logger
	// Receipts count the kept receipts a recorded send applies.
	Receipts *receipt.Counters
	// Attempts bounds retries of a retryable send failure (default 8).
	Attempts int
	// Settings hold messages for a lease; Workers is how many are sent at
	// once.
	lease.Settings
}

// Outbox sends queued messages.
type Outbox struct {
	st   store.Store
	c    Config
	disp *dispatch.Dispatcher[messageKey]
	// beat renews the leases on the messages disp holds.
	beat *lease.Heartbeat
	// sending holds the messages this process queued and handed to its
	// senders, so a send need not read back what it just wrote.
	sending sync.Map // message ID → queuedSend
	// seen is, per channel and person, the last inbound message time
	// marked seen (channel.SeenMarker), so a burst of replies marks once.
	seenMu sync.Mutex
	seen   *lru.Cache[string, time.Time]
	// templates are the templates read for recent sends (see templateTTL).
	templates *lru.Cache[string, cachedTemplate]
	// settled is when the poller last cleared the leases of messages no
	// longer queued (MessagesSettle), in Unix nanoseconds.
	settled atomic.Int64
	// bg runs the best-effort background calls (mark seen) until Stop.
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// messageKey names an outbound message to send.
type messageKey struct{ project, id string }

// queuedSend is a message handed to this process's senders with what they
// would otherwise read: to, when known, is the address the contact just
// wrote from on the message's channel.
type queuedSend struct {
	m  domain.Message
	to *domain.URN
}

// New returns an Outbox on the store; Start starts its senders.
func New(st store.Store, c Config) *Outbox {
	if c.Attempts <= 0 {
		c.Attempts = 8
	}
	c.Settings = c.Settings.WithDefaults()
	o := &Outbox{st: st, c: c, seen: lru.New[string, time.Time](10000), templates: lru.New[string, cachedTemplate](1000)}
	o.bgCtx, o.bgCancel = context.WithCancel(context.Background())
	o.disp = dispatch.New(dispatch.Config[messageKey]{
		// A quarter of the senders are kept for replies: bulk sends (a
		// campaign) each hold a sender for a provider call and a commit,
		// and must not leave a contact's reply waiting for one.
		Name: "send", Workers: c.Workers, UrgentReserve: c.Workers / 4, PollEvery: c.PollEvery, Logger: c.Logger,
		Poll: o.poll, Work: o.work,
	})
	o.beat = lease.NewHeartbeat(lease.HeartbeatConfig{Name: "send", Settings: c.Settings, Clock: c.Clock, Logger: c.Logger,
		Renew: st.MessagesRenew, Held: func() []string {
			held := o.disp.Held()
			ids := make([]string, len(held))
			for i, k := range held {
				ids[i] = k.id
			}
			return ids
		}})
	return o
}

// Start starts sending and renewing the leases on what is being sent.
func (o *Outbox) Start(ctx context.Context) error {
	if err := o.disp.Start(ctx); err != nil {
		return err
	}
	return o.beat.Start(ctx)
}

// Stop stops sending, letting sends under way finish; the rest stays
// queued for the next start or another process.
func (o *Outbox) Stop() {
	o.disp.Stop()
	o.beat.Stop()
	o.bgCancel()
	o.bg.Wait()
}

// Stats reports what the senders hold in memory, for metrics and tests.
func (o *Outbox) Stats() dispatch.Stats { return o.disp.Stats() }

// Queue stores an outbound message in the caller's transaction; a queued
// one is held by this process and handed to a sender once the transaction
// commits. to is the recipient's address on the message's channel when
// the caller knows it (nil: the sender reads the contact's).
func (o *Outbox) Queue(ctx context.Context, q store.Queries, msg domain.Message, to *domain.URN) (domain.Message, error) {
	if msg.Status == domain.MessageQueued {
		due := msg.CreatedAt.Add(o.c.Lease)
		msg.DueAt = &due
	}
	out, err := q.MessageCreate(ctx, msg)
	if err != nil {
		return out, err
	}
	if out.Status == domain.MessageQueued {
		q.AfterCommit(func() {
			o.sending.Store(out.ID, queuedSend{m: out, to: to})
			if !o.disp.Notify(messageKey{out.ProjectID, out.ID}, out.Priority == "reply") {
				o.sending.Delete(out.ID) // the poller will read it
			}
		})
	}
	return out, nil
}

// settleEvery is how often the poller clears the send leases that
// processes of an earlier version leave on what they sent: each such
// message stays in the outbox index, in every poll's way, until then.
const settleEvery = time.Minute

func (o *Outbox) poll(ctx context.Context, limit int) ([]dispatch.Item[messageKey], error) {
	now := o.c.Clock.Now()
	if last := o.settled.Load(); now.UnixNano()-last >= int64(settleEvery) && o.settled.CompareAndSwap(last, now.UnixNano()) {
		n, err := o.st.MessagesSettle(ctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			o.c.Logger.Info("cleared the send leases of messages a process of an earlier version sent", "messages", n)
		}
	}
	return lease.PollDue(ctx, o.st, now, now.Add(o.c.Lease), limit, o.st.MessagesDue, store.Queries.MessageClaim,
		func(d store.DueRef) dispatch.Item[messageKey] {
			return dispatch.Item[messageKey]{Key: messageKey{d.ProjectID, d.ID}, Urgent: d.Reply}
		})
}

// sendBackoff is the delay before the n-th retry of a send: exponential
// with jitter, capped at ten minutes.
func sendBackoff(n int) time.Duration {
	d := min(time.Second<<min(n, 10), 10*time.Minute)
	return d/2 + lease.Jitter(d/2)
}

// SendTemplate queues a template message to a contact outside any flow,
// in the caller's transaction. It is not a reply: opted-out contacts are
// not sent it.
func (o *Outbox) SendTemplate(ctx context.Context, q store.Queries, projectID, contactID, channelID string, t engine.Template) (domain.Message, error) {
	c, err := q.ContactGet(ctx, store.Ref{ProjectID: projectID, ID: contactID})
	if err != nil {
		return domain.Message{}, err
	}
	content, err := json.Marshal(engine.Message{Type: engine.MessageTemplate, Template: &t})
	if err != nil {
		return domain.Message{}, err
	}
	m := domain.Message{ID: o.c.IDs.NewID(), ProjectID: projectID, ContactID: contactID, ChannelID: channelID, Direction: domain.DirectionOut,
		Type: string(engine.MessageTemplate), Content: content, Status: domain.MessageQueued, Priority: "bulk", CreatedAt: o.c.Clock.Now()}
	if c.OptedOut {
		m.Status, m.ErrorCode, m.ErrorReason = domain.MessageFailed, "opted_out", "the contact opted out"
	}
	return o.Queue(ctx, q, m, nil)
}

// AgentSend queues a text written by a person (an agent replying in the
// conversation) on the channel, in the caller's transaction.
func (o *Outbox) AgentSend(ctx context.Context, q store.Queries, projectID, contactID, channelID, text string) (domain.Message, error) {
	content, err := json.Marshal(engine.Message{Type: engine.MessageText, Text: text, Agent: true})
	if err != nil {
		return domain.Message{}, err
	}
	m := domain.Message{ID: o.c.IDs.NewID(), ProjectID: projectID, ContactID: contactID, ChannelID: channelID,
		Direction: domain.DirectionOut, Type: string(engine.MessageText), Content: content, Status: domain.MessageQueued, Priority: "reply", CreatedAt: o.c.Clock.Now()}
	return o.Queue(ctx, q, m, nil)
}
