package httpapi

// The webhook side of the channel log and of dead letters, kept apart from
// webhooks.go so the handlers call it in three places only:
//   - traceWebhook/logWebhook wrap a handler's writer once the channel is
//     known and record the exchange when the handler returns;
//   - deadLetter stores an authentic body whose content cannot be processed
//     and answers 200, so the provider stops retrying;
//   - storeEvents is the ingest transaction without the HTTP answer, shared
//     by the handlers and ingestReplayer (replaying a dead letter).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/store"
)

// webhookTrace remembers a webhook's answer for its log entry.
type webhookTrace struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	// note is what the log entry says went wrong besides the status
	// (a dead letter's reason).
	note string
}

func (t *webhookTrace) WriteHeader(code int) {
	if t.status == 0 {
		t.status = code
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *webhookTrace) Write(b []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	if room := 4096 - t.body.Len(); room > 0 {
		t.body.Write(b[:min(len(b), room)])
	}
	return t.ResponseWriter.Write(b)
}

func traceWebhook(w http.ResponseWriter) *webhookTrace { return &webhookTrace{ResponseWriter: w} }

// logWebhook records the webhook in the log of each channel it was for.
func (a *runtimeAPI) logWebhook(t *webhookTrace, r *http.Request, body []byte, started time.Time, chs ...domain.Channel) {
	sink := a.s.deps.ChannelLog
	if sink == nil {
		return
	}
	errText := t.note
	if errText == "" && t.status >= 400 {
		var p struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(t.body.Bytes(), &p) == nil {
			errText = p.Detail
		}
	}
	for _, ch := range chs {
		var secrets []string
		if a.s.deps.Channels != nil {
			if ad, err := a.s.deps.Channels.Adapter(r.Context(), ch); err == nil {
				secrets = ad.Secrets()
			}
		}
		sink.Record(channellog.Webhook(r, body, channellog.WebhookOutcome{ProjectID: ch.ProjectID, ChannelID: ch.ID,
			Status: t.status, Response: t.body.String(), Error: errText, Secrets: secrets, Started: started}))
	}
}

// deadLetter keeps an authentic webhook whose content cannot be processed,
// once per channel it was for, and acknowledges it: the provider would
// retry it for days and then drop it. Only a failure to store the dead
// letter answers 5xx.
func (a *runtimeAPI) deadLetter(w http.ResponseWriter, r *http.Request, body []byte, reason string, chs ...domain.Channel) {
	ctx := r.Context()
	ids := make([]string, 0, len(chs))
	for _, ch := range chs {
		var secrets []string
		if a.s.deps.Channels != nil {
			if ad, err := a.s.deps.Channels.Adapter(ctx, ch); err == nil {
				secrets = ad.Secrets()
			}
		}
		d, err := a.s.deps.Store.DeadLetterCreate(ctx, store.DeadLetter{ID: a.s.deps.IDs.NewID(), ProjectID: ch.ProjectID, ChannelID: ch.ID,
			ChannelType: ch.Type, Body: body, Headers: channellog.NewRedactor(secrets).Header(r.Header), Reason: reason, ReceivedAt: a.s.deps.Clock.Now()})
		if err != nil {
			loggerFrom(ctx).Error("storing a dead letter failed; the provider will retry", "channel", ch.ID, "err", err)
			writeProblem(w, r, domain.Errorf(domain.CodeUnavailable, "the webhook could not be stored; retry later"))
			return
		}
		a.s.deadLetters.WithLabelValues(ch.Type).Inc()
		ids = append(ids, d.ID)
		loggerFrom(ctx).Warn("webhook dead-lettered: authentic but not processable", "channel", ch.ID, "dead_letter", d.ID, "reason", reason)
	}
	if t, ok := w.(*webhookTrace); ok {
		t.note = "dead letter: " + reason
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "dead_letter", "dead_letters": ids})
}

// newDeadLetterCounter counts dead letters by channel type.
func newDeadLetterCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_webhook_dead_letters_total",
		Help: "Authentic webhooks stored as dead letters because their content could not be processed, by channel type."}, []string{"channel_type"})
	if reg != nil {
		reg.MustRegister(c)
	}
	return c
}

// storeEvents stores webhook events in one transaction.
func (a *runtimeAPI) storeEvents(ctx context.Context, byChannel map[string][]channel.Event, channels map[string]domain.Channel) error {
	run, err := a.runner()
	if err != nil {
		return err
	}
	// Ready outside the transaction, which on SQLite runs on the one writer.
	batches := make([]*runner.IngestBatch, 0, len(byChannel))
	for id, events := range byChannel {
		b, err := run.PrepareIngest(channels[id], events)
		if err != nil {
			return err
		}
		batches = append(batches, b)
	}
	return a.s.deps.Store.InTx(ctx, func(q store.Queries) error {
		for _, b := range batches {
			if _, err := b.Store(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// storeOrClassify stores events; on failure it tells a failure caused by
// the content (err is returned with content true) from a transient one. A
// failure that is not plainly about the content counts as transient unless
// the database answers and the same events fail again.
func (a *runtimeAPI) storeOrClassify(ctx context.Context, byChannel map[string][]channel.Event, channels map[string]domain.Channel) (content bool, err error) {
	err = a.storeEvents(ctx, byChannel, channels)
	switch {
	case err == nil:
		return false, nil
	case plainlyContent(err):
		return true, err
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), domain.CodeOf(err) == domain.CodeUnavailable:
		return false, err
	case a.s.deps.Store.Ping(ctx) != nil:
		return false, err
	}
	if err2 := a.storeEvents(ctx, byChannel, channels); err2 == nil {
		return false, nil
	} else if ctx.Err() != nil {
		return false, err2
	}
	return true, err
}

// plainlyContent reports errors that only the content can cause.
func plainlyContent(err error) bool {
	var me *json.MarshalerError
	var ve *json.UnsupportedValueError
	var te *json.UnsupportedTypeError
	return domain.CodeOf(err) == domain.CodeInvalid || errors.As(err, &me) || errors.As(err, &ve) || errors.As(err, &te)
}

// ingestReplayer replays a dead letter through this package's ingest path.
type ingestReplayer struct{ a *runtimeAPI }

// Replay implements WebhookReplayer.
func (p ingestReplayer) Replay(ctx context.Context, channelID string, body []byte, _ http.Header) error {
	a := p.a
	run, err := a.runner()
	if err != nil {
		return err
	}
	ch, err := run.ChannelAny(ctx, channelID)
	if err != nil {
		return err
	}
	if a.s.deps.Channels == nil {
		return domain.Errorf(domain.CodeUnavailable, "channels are not configured in this server")
	}
	ad, err := a.s.deps.Channels.Adapter(ctx, ch)
	if err != nil {
		return domain.Errorf(domain.CodeUnavailable, "building the channel's adapter: %v", err)
	}
	events, err := ad.Parse(body)
	if err != nil {
		return domain.Errorf(domain.CodeInvalid, "the webhook body still cannot be read: %v", err)
	}
	content, err := a.storeOrClassify(ctx, map[string][]channel.Event{ch.ID: eventsFor(ctx, ch, events)}, map[string]domain.Channel{ch.ID: ch})
	if err != nil && content {
		return domain.Errorf(domain.CodeInvalid, "the webhook still cannot be stored: %v", err)
	}
	return err
}

// eventsFor keeps the events of a channel's own number (account-level
// events have none).
func eventsFor(ctx context.Context, ch domain.Channel, events []channel.Event) []channel.Event {
	mine := make([]channel.Event, 0, len(events))
	for _, e := range events {
		if e.AccountID == "" || e.AccountID == ch.Address {
			mine = append(mine, e)
		} else {
			loggerFrom(ctx).Warn("webhook event for another phone number ignored", "channel", ch.ID, "phone_number_id", e.AccountID)
		}
	}
	return mine
}
