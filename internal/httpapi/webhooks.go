package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/store"
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
	ch, ad, ok := a.webhookChannel(w, r)
	if !ok {
		return
	}
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
	body, ok := readWebhook(w, r)
	if !ok {
		return
	}
	ch, ad, ok := a.webhookChannel(w, r)
	if !ok {
		return
	}
	if !ad.VerifySignature(body, r.Header) {
		writeProblem(w, r, domain.Errorf(domain.CodeUnauthorized, "the X-Hub-Signature-256 header is missing or does not match the body"))
		return
	}
	events, err := ad.Parse(body)
	if err != nil {
		writeProblem(w, r, domain.Errorf(domain.CodeInvalid, "the webhook body cannot be read: %v", err))
		return
	}
	mine := events[:0]
	for _, e := range events {
		if e.AccountID == "" || e.AccountID == ch.Address {
			mine = append(mine, e)
		} else {
			loggerFrom(r.Context()).Warn("webhook event for another phone number ignored", "channel", ch.ID, "phone_number_id", e.AccountID)
		}
	}
	a.ingest(w, r, map[string][]channel.Event{ch.ID: mine}, map[string]domain.Channel{ch.ID: ch})
}

// whatsappReceiveShared takes the webhooks of one Meta app serving many
// numbers: the signature must match one of the channels' app secrets, and
// each event goes to the channel of its phone number ID among those.
func (a *runtimeAPI) whatsappReceiveShared(w http.ResponseWriter, r *http.Request) {
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
	events, err := signer.Parse(body)
	if err != nil {
		writeProblem(w, r, domain.Errorf(domain.CodeInvalid, "the webhook body cannot be read: %v", err))
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
	a.ingest(w, r, byChannel, channels)
}

// ingest stores the events in one transaction and acknowledges.
func (a *runtimeAPI) ingest(w http.ResponseWriter, r *http.Request, byChannel map[string][]channel.Event, channels map[string]domain.Channel) {
	run, err := a.runner()
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	// Ready outside the transaction, which on SQLite runs on the one writer.
	batches := make([]*runner.IngestBatch, 0, len(byChannel))
	for id, events := range byChannel {
		b, perr := run.PrepareIngest(channels[id], events)
		if perr != nil {
			err = perr
			break
		}
		batches = append(batches, b)
	}
	if err == nil {
		err = a.s.deps.Store.InTx(r.Context(), func(q store.Queries) error {
			for _, b := range batches {
				if _, err := b.Store(r.Context(), q); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		if domain.CodeOf(err) == domain.CodeInvalid {
			writeProblem(w, r, err)
			return
		}
		loggerFrom(r.Context()).Error("storing a webhook failed; the provider will retry", "err", err)
		writeProblem(w, r, domain.Errorf(domain.CodeUnavailable, "the webhook could not be stored; retry later"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "received"})
}
