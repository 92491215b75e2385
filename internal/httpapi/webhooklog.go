package httpapi

// The webhook side of the channel log and of dead letters, kept apart from
// webhooks.go so the handlers call it in three places only:
//   - traceWebhook/logWebhook wrap a handler's writer once the channel is
//     known and record the exchange when the handler returns;
//   - deadLetter stores an authentic body whose content cannot be processed
//     and answers 200, so the provider stops retrying;
//   - storeOrClassify runs the runner's ingest transaction and tells a
//     failure caused by the content from a transient one; the handlers and
//     ingestReplayer (replaying a dead letter) share it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/domain"
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
		} else if len(t.body.Bytes()) <= 300 {
			// A plain-text refusal (an adapter's own, e.g. a bad
			// X-Twilio-Signature) says it in its body.
			errText = strings.TrimSpace(t.body.String())
		}
	}
	if !channellog.Keeps(sink, channellog.Failed(t.status, errText)) {
		return
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

// ingest stores the events in one transaction (the runner's) and
// acknowledges; events whose content cannot be stored are kept as dead
// letters.
func (a *runtimeAPI) ingest(w http.ResponseWriter, r *http.Request, body []byte, batches []channels.Batch) {
	content, err := a.storeOrClassify(r.Context(), batches)
	if err != nil && content {
		chs := make([]domain.Channel, 0, len(batches))
		for _, b := range batches {
			chs = append(chs, b.Channel)
		}
		a.deadLetter(w, r, body, "the webhook's events cannot be stored: "+err.Error(), chs...)
		return
	}
	if err != nil {
		loggerFrom(r.Context()).Error("storing a webhook failed; the provider will retry", "err", err)
		writeProblem(w, r, domain.Errorf(domain.CodeUnavailable, "the webhook could not be stored; retry later"))
		return
	}
	if len(batches) == 1 && batches[0].Answer != nil {
		// The provider reads the answer (Viber: the welcome message).
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(batches[0].Answer)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "received"})
}

// storeOrClassify stores events; on failure it tells a failure caused by
// the content (err is returned with content true) from a transient one. A
// failure that is not plainly about the content counts as transient unless
// the database answers and the same events fail again.
func (a *runtimeAPI) storeOrClassify(ctx context.Context, batches []channels.Batch) (content bool, err error) {
	run, err := a.runner()
	if err != nil {
		return false, err
	}
	err = run.IngestWebhook(ctx, batches)
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
	if err2 := run.IngestWebhook(ctx, batches); err2 == nil {
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

// ingestReplayer replays a dead letter through the webhook ingest path:
// the channel service parses and routes the body (its signature was
// checked when it was first received), the runner stores it.
type ingestReplayer struct{ a *runtimeAPI }

// Replay implements WebhookReplayer.
func (p ingestReplayer) Replay(ctx context.Context, channelID string, body []byte, header http.Header) error {
	a := p.a
	if a.s.deps.Channels == nil {
		return domain.Errorf(domain.CodeUnavailable, "channels are not configured in this server")
	}
	ch, err := a.s.deps.Channels.ByID(ctx, channelID)
	if err != nil {
		return err
	}
	batches, err := a.s.deps.Channels.Receive(ctx, channels.ReceiveParams{Type: ch.Type, ChannelID: ch.ID, Body: body, Header: header, Verified: true})
	if err != nil {
		var unreadable *channels.UnreadableError
		if errors.As(err, &unreadable) {
			return domain.Errorf(domain.CodeInvalid, "the webhook body still cannot be read: %v", unreadable.Err)
		}
		return err
	}
	content, err := a.storeOrClassify(ctx, batches)
	if err != nil && content {
		return domain.Errorf(domain.CodeInvalid, "the webhook still cannot be stored: %v", err)
	}
	return err
}
