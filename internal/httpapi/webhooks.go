package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/domain"
)

// WebhookMaxBytes is the largest webhook body accepted (Meta's are far
// smaller; the limit bounds what an attacker can make us read).
const WebhookMaxBytes = 4 << 20

// webhookRoutes are the provider webhook routes every registered channel
// type declares, under /webhooks/{type}: authenticated by the provider's
// signature, not by Parley's credentials.
func (s *Server) webhookRoutes(ra *runtimeAPI) []Route {
	if s.deps.Channels == nil {
		return nil
	}
	var out []Route
	for _, t := range s.deps.Channels.Types() {
		for _, w := range t.Webhooks {
			id := t.Name + "-webhook"
			if w.Kind == channel.Handshake {
				id = t.Name + "-handshake"
			}
			if w.Path == "" {
				id += "-shared"
			}
			h := ra.webhookReceive(t.Name, w.Path == channel.PathChannel, w.Signature)
			switch w.Kind {
			case channel.Handshake:
				h = ra.webhookHandshake(t.Name, w.Path == channel.PathChannel)
			case channel.Serve:
				id = t.Name + "-serve-" + strings.ToLower(w.Method)
				h = ra.webhookServe(t.Name)
			}
			out = append(out, raw(w.Method, "/webhooks/"+t.Name+w.Path, id, w.Summary, Public, h))
		}
	}
	return out
}

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

// webhookHandshake answers a provider's subscription check, for the
// channel the path names or for the type's shared endpoint.
func (a *runtimeAPI) webhookHandshake(typ string, perChannel bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		id := ""
		if perChannel {
			id = r.PathValue("channel_id")
			if ch, err := a.s.deps.Channels.ByID(r.Context(), id); err == nil && ch.Type == typ {
				tw := traceWebhook(w)
				defer a.logWebhook(tw, r, nil, started, ch)
				w = tw
			}
		}
		challenge, err := a.s.deps.Channels.Handshake(r.Context(), typ, id, r.URL.Query())
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, challenge)
	})
}

// webhookReceive takes a provider's webhook: a request without the
// route's signature header, or over the limits on bodies read at once
// (webhookgate.go), is refused before its body is read; the channel
// service checks the signature on the raw body before anything is parsed
// and routes the events to channels; 200 is answered only once every event
// is stored, or once an authentic body whose content cannot be processed
// is kept as a dead letter (webhooklog.go).
func (a *runtimeAPI) webhookReceive(typ string, perChannel bool, signature string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		key := typ
		if perChannel {
			key += "/" + r.PathValue("channel_id")
		}
		release, ok := a.s.webhookReads.admit(w, r, signature, key)
		if !ok {
			return
		}
		body, ok := readWebhook(w, r)
		release()
		if !ok {
			return
		}
		p := channels.ReceiveParams{Type: typ, Body: body, Header: r.Header}
		if perChannel {
			p.ChannelID = r.PathValue("channel_id")
		}
		// The exchange is logged in the channels it was for, once known.
		var logged []domain.Channel
		tw := traceWebhook(w)
		defer func() { a.logWebhook(tw, r, body, started, logged...) }()
		w = tw
		batches, err := a.s.deps.Channels.Receive(r.Context(), p)
		var unreadable *channels.UnreadableError
		switch {
		case errors.As(err, &unreadable):
			logged = unreadable.Channels
			a.deadLetter(w, r, body, unreadable.Error(), logged...)
			return
		case err != nil:
			if perChannel && domain.CodeOf(err) == domain.CodeUnauthorized {
				if ch, err := a.s.deps.Channels.ByID(r.Context(), p.ChannelID); err == nil {
					logged = []domain.Channel{ch}
				}
			}
			writeProblem(w, r, err)
			return
		}
		for _, b := range batches {
			logged = append(logged, b.Channel)
		}
		a.ingest(w, r, body, batches)
	})
}

// webhookServe hands a request to the adapter of the channel its path
// names, which checks and answers it itself (channel.Server): a provider
// asking for a document (TwiML) or opening a websocket (a call's media).
func (a *runtimeAPI) webhookServe(typ string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("channel_id")
		ch, err := a.s.deps.Channels.ByID(r.Context(), id)
		if err == nil && ch.Type != typ {
			err = domain.NotFound(typ+" channel", id)
		}
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		ad, err := a.s.deps.Channels.Adapter(r.Context(), ch)
		if err != nil {
			writeProblem(w, r, domain.Errorf(domain.CodeInternal, "the channel is misconfigured"))
			return
		}
		srv, ok := ad.(channel.Server)
		if !ok {
			writeProblem(w, r, domain.NotFound("webhook of "+typ+" channel", id))
			return
		}
		if r.Method == http.MethodPost {
			// A posted webhook (Twilio's forms) goes in the channel's log,
			// refusals included, with the body the adapter read; a
			// websocket's upgrade is left alone.
			started := time.Now()
			body, ok := readWebhook(w, r)
			if !ok {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			tw := traceWebhook(w)
			defer a.logWebhook(tw, r, body, started, ch)
			w = tw
		}
		srv.ServeWebhook(w, r, r.PathValue("rest"))
	})
}
