package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/domain"
)

// WebhookMaxBytes is the largest webhook body accepted (Meta's are far
// smaller; the limit bounds what an attacker can make us read).
const WebhookMaxBytes = 4 << 20

// readWebhook reads a body up to the limit; a larger one is refused before
// anything is stored.
func readWebhook(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, WebhookMaxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, r, domain.Errorf(domain.CodeTooLarge, "the webhook body is over %d bytes", WebhookMaxBytes))
		} else {
			writeProblem(w, r, domain.Errorf(domain.CodeInvalid, "reading the webhook body: %v", err))
		}
		return nil, false
	}
	return body, true
}

// whatsappHandshake answers Meta's subscription check for one channel.
func (a *runtimeAPI) whatsappHandshake(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	ch, ad, ok := a.webhookChannel(w, r)
	if !ok {
		return
	}
	tw := traceWebhook(w)
	defer a.logWebhook(tw, r, nil, started, ch)
	w = tw
	challenge, ok := ad.VerifyHandshake(r.URL.Query())
	if !ok {
		loggerFrom(r.Context()).Warn("webhook verification refused", "channel", ch.ID)
		writeProblem(w, r, domain.Errorf(domain.CodeForbidden, "the verify token does not match this channel's"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, challenge)
}

// whatsappHandshakeShared answers Meta's subscription check for the shared
// endpoint: the verify token must be one of the WhatsApp channels'.
func (a *runtimeAPI) whatsappHandshakeShared(w http.ResponseWriter, r *http.Request) {
	run, err := a.runner()
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	all, err := run.ChannelsOfType(r.Context(), whatsapp.ChannelType)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	for _, ch := range all {
		if a.s.deps.Channels == nil {
			break
		}
		ad, err := a.s.deps.Channels.Adapter(r.Context(), ch)
		if err != nil {
			continue
		}
		if challenge, ok := ad.VerifyHandshake(r.URL.Query()); ok {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, challenge)
			return
		}
	}
	writeProblem(w, r, domain.Errorf(domain.CodeForbidden, "the verify token matches no WhatsApp channel"))
}

// webhookChannel finds the channel a webhook URL names and its adapter.
func (a *runtimeAPI) webhookChannel(w http.ResponseWriter, r *http.Request) (domain.Channel, channel.Adapter, bool) {
	run, err := a.runner()
	if err != nil {
		writeProblem(w, r, err)
		return domain.Channel{}, nil, false
	}
	ch, err := run.ChannelAny(r.Context(), r.PathValue("channel_id"))
	if err == nil && ch.Type != whatsapp.ChannelType {
		err = domain.NotFound("whatsapp channel", ch.ID)
	}
	if err != nil {
		writeProblem(w, r, err)
		return ch, nil, false
	}
	if a.s.deps.Channels == nil {
		writeProblem(w, r, domain.Errorf(domain.CodeUnavailable, "channels are not configured in this server"))
		return ch, nil, false
	}
	ad, err := a.s.deps.Channels.Adapter(r.Context(), ch)
	if err != nil {
		loggerFrom(r.Context()).Error("building the adapter of a channel", "channel", ch.ID, "err", err)
		writeProblem(w, r, domain.Errorf(domain.CodeInternal, "the channel is misconfigured"))
		return ch, nil, false
	}
	return ch, ad, true
}

// whatsappReceive takes one channel's webhook: the signature is checked on
// the raw body before anything is parsed, and 200 is answered only once
// every event is stored.
func (a *runtimeAPI) whatsappReceive(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	body, ok := readWebhook(w, r)
	if !ok {
		return
	}
	ch, ad, ok := a.webhookChannel(w, r)
	if !ok {
		return
	}
	tw := traceWebhook(w)
	defer a.logWebhook(tw, r, body, started, ch)
	w = tw
	if !ad.VerifySignature(body, r.Header) {
		writeProblem(w, r, domain.Errorf(domain.CodeUnauthorized, "the X-Hub-Signature-256 header is missing or does not match the body"))
		return
	}
	events, err := ad.Parse(body)
	if err != nil {
		a.deadLetter(w, r, body, "the webhook body cannot be read: "+err.Error(), ch)
		return
	}
	a.ingest(w, r, body, map[string][]channel.Event{ch.ID: eventsFor(r.Context(), ch, events)}, map[string]domain.Channel{ch.ID: ch})
}

// whatsappReceiveShared takes the webhooks of one Meta app serving many
// numbers: the signature must match one of the channels' app secrets, and
// each event goes to the channel of its phone number ID among those.
func (a *runtimeAPI) whatsappReceiveShared(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	body, ok := readWebhook(w, r)
	if !ok {
		return
	}
	if a.s.deps.Channels == nil {
		writeProblem(w, r, domain.Errorf(domain.CodeUnavailable, "channels are not configured in this server"))
		return
	}
	run, err := a.runner()
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	all, err := run.ChannelsOfType(r.Context(), whatsapp.ChannelType)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	var signer channel.Adapter
	matched := map[string]domain.Channel{} // phone number ID → channel signed by the same app
	for _, ch := range all {
		ad, err := a.s.deps.Channels.Adapter(r.Context(), ch)
		if err != nil || !ad.VerifySignature(body, r.Header) {
			continue
		}
		if signer == nil {
			signer = ad
		}
		matched[ch.Address] = ch
	}
	if signer == nil {
		writeProblem(w, r, domain.Errorf(domain.CodeUnauthorized, "the X-Hub-Signature-256 header is missing or matches no channel's app secret"))
		return
	}
	// Logged in the channels its events went to; a body that cannot be
	// read goes to every channel of the app that signed it.
	var logged []domain.Channel
	for _, ch := range matched {
		logged = append(logged, ch)
	}
	tw := traceWebhook(w)
	defer func() { a.logWebhook(tw, r, body, started, logged...) }()
	w = tw
	events, err := signer.Parse(body)
	if err != nil {
		a.deadLetter(w, r, body, "the webhook body cannot be read: "+err.Error(), logged...)
		return
	}
	byChannel := map[string][]channel.Event{}
	channels := map[string]domain.Channel{}
	for _, e := range events {
		ch, ok := matched[e.AccountID]
		if !ok && e.AccountID == "" {
			for _, c := range matched { // account-level events (templates): the app's channels share the business account
				if e.BusinessID == "" || strings.Contains(string(c.Config), `"`+e.BusinessID+`"`) {
					ch, ok = c, true
					break
				}
			}
		}
		if !ok {
			loggerFrom(r.Context()).Warn("webhook event for a phone number no channel has", "phone_number_id", e.AccountID, "kind", e.Kind)
			continue
		}
		byChannel[ch.ID] = append(byChannel[ch.ID], e)
		channels[ch.ID] = ch
	}
	logged = logged[:0]
	for _, ch := range channels {
		logged = append(logged, ch)
	}
	a.ingest(w, r, body, byChannel, channels)
}

// ingest stores the events in one transaction and acknowledges; events
// whose content cannot be stored are kept as dead letters (webhooklog.go).
func (a *runtimeAPI) ingest(w http.ResponseWriter, r *http.Request, body []byte, byChannel map[string][]channel.Event, channels map[string]domain.Channel) {
	content, err := a.storeOrClassify(r.Context(), byChannel, channels)
	if err != nil && content {
		chs := make([]domain.Channel, 0, len(channels))
		for _, ch := range channels {
			chs = append(chs, ch)
		}
		a.deadLetter(w, r, body, "the webhook's events cannot be stored: "+err.Error(), chs...)
		return
	}
	if err != nil {
		loggerFrom(r.Context()).Error("storing a webhook failed; the provider will retry", "err", err)
		writeProblem(w, r, domain.Errorf(domain.CodeUnavailable, "the webhook could not be stored; retry later"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "received"})
}
