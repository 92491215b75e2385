package channeltest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/store"
)

// memSink keeps channel log entries in memory.
type memSink struct {
	mu      sync.Mutex
	entries []store.ChannelLogEntry
}

func (m *memSink) Record(e store.ChannelLogEntry) {
	m.mu.Lock()
	m.entries = append(m.entries, e)
	m.mu.Unlock()
}

// runLogRedaction runs the adapter's sends, checks, media fetches and
// webhooks with a channel log recording them, against a provider that
// echoes back every header and body it receives (as error pages do), with
// the secrets also planted in message texts and webhook bodies; no entry
// may contain a configured secret in any form it travels in.
func runLogRedaction(t *testing.T, s Suite) {
	sink := &memSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		echo, _ := json.Marshal(map[string]any{"error": map[string]any{"message": "echo", "headers": r.Header, "query": r.URL.RawQuery, "body": string(b)}})
		for k, vs := range r.Header {
			w.Header()["X-Echo-"+k] = vs
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(echo)
	}))
	defer srv.Close()
	var ad channel.Adapter
	hc := &http.Client{Transport: &channellog.Transport{ChannelID: "ch-log", ProjectID: "p-log", Sink: sink,
		Secrets: func() []string { return ad.Secrets() }}}
	ad = s.New(t, srv.URL, hc)
	for _, sec := range s.Secrets {
		if !slices.Contains(ad.Secrets(), sec) {
			t.Errorf("Secrets() = %d values and lacks a configured secret: it would not be redacted from logs", len(ad.Secrets()))
		}
	}
	planted := strings.Join(s.Secrets, " ")
	ctx := context.Background()
	for _, c := range s.Sends {
		msg := c.Msg
		if msg.Text != "" {
			msg.Text += " " + planted
		}
		if msg.Body != "" {
			msg.Body += " " + planted
		}
		_, _ = ad.Send(channellog.WithMessage(ctx, "msg-"+c.Name), msg)
	}
	if ch, ok := ad.(channel.Checker); ok {
		_ = ch.Check(ctx)
	}
	if mf, ok := ad.(channel.MediaFetcher); ok {
		if _, rc, err := mf.FetchMedia(ctx, "media-1", 1<<20); err == nil {
			rc.Close()
		}
	}
	// Webhooks, logged as the webhook handler logs them.
	q := url.Values{}
	for k, v := range s.Handshake {
		q[k] = v
	}
	for _, w := range s.Webhooks {
		for _, body := range [][]byte{w.Body, append(append([]byte{}, w.Body...), planted...)} {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/"+ad.Type()+"/ch-log?"+q.Encode(), strings.NewReader(string(body)))
			if s.Sign != nil {
				for k, vs := range s.Sign(body) {
					req.Header[k] = vs
				}
			}
			sink.Record(channellog.Webhook(req, body, channellog.WebhookOutcome{ChannelID: "ch-log", ProjectID: "p-log", Status: 200,
				Error: "refused: " + planted, Secrets: ad.Secrets()}))
		}
	}
	if len(s.Handshake) > 0 {
		req := httptest.NewRequest(http.MethodGet, "/webhooks/"+ad.Type()+"/ch-log?"+q.Encode(), nil)
		sink.Record(channellog.Webhook(req, nil, channellog.WebhookOutcome{ChannelID: "ch-log", ProjectID: "p-log", Status: 200, Secrets: ad.Secrets()}))
	}

	sink.mu.Lock()
	entries := append([]store.ChannelLogEntry(nil), sink.entries...)
	sink.mu.Unlock()
	requests := 0
	for _, e := range entries {
		if e.Kind == store.ChannelLogRequest {
			requests++
		}
	}
	switch {
	case s.NoProvider && requests > 0:
		t.Errorf("a channel without a provider logged %d provider calls", requests)
	case !s.NoProvider && requests < len(s.Sends):
		t.Errorf("%d provider calls logged for %d sends: the adapter does not use the client it is given", requests, len(s.Sends))
	}
	for i, e := range entries {
		for _, field := range entryText(e) {
			for _, sec := range s.Secrets {
				for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec)} {
					if strings.Contains(field, form) {
						t.Errorf("entry %d (%s %s) contains a configured secret: %.200q", i, e.Kind, e.URL, field)
					}
				}
			}
		}
	}
}

// entryText is every text an entry shows, headers decoded.
func entryText(e store.ChannelLogEntry) []string {
	out := []string{e.URL, e.RequestBody, e.ResponseBody, e.Error, e.Method, e.MessageID}
	for _, raw := range []json.RawMessage{e.RequestHeaders, e.ResponseHeaders} {
		var h map[string][]string
		_ = json.Unmarshal(raw, &h)
		for k, vs := range h {
			out = append(out, k)
			out = append(out, vs...)
		}
	}
	return out
}
