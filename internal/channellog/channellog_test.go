package channellog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

const token = "EAAG+secret/tok&en<1>"

func TestRedactor(t *testing.T) {
	t.Parallel()
	r := channellog.NewRedactor([]string{token, "abc", ""})
	jsonForm, _ := json.Marshal(token)
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Bearer " + token, "Bearer [redacted]"},
		{"query-escaped", "access_token=" + url.QueryEscape(token), "access_token=[redacted]"},
		{"path-escaped", "/x/" + url.PathEscape(token), "/x/[redacted]"},
		{"json-escaped", `{"t":` + string(jsonForm) + `}`, `{"t":"[redacted]"}`},
		{"json without html escaping", `{"t":"EAAG+secret/tok&en<1>"}`, `{"t":"[redacted]"}`},
		{"twice", token + token, "[redacted][redacted]"},
		{"short secrets are left alone", "abc def", "abc def"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := r.String(tc.in); got != tc.want {
				t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := string(r.Bytes([]byte(tc.in))); got != tc.want {
				t.Errorf("Bytes(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestRedactorPerSecrets: redactors are kept per set of secrets, and each
// set gets its own, however the secrets are split.
func TestRedactorPerSecrets(t *testing.T) {
	t.Parallel()
	sets := [][]string{{"abcd", "efgh"}, {"abcd\x00efgh"}, {"4:abcd"}, {"abcd"}, {"efgh", "wxyz"}}
	const text = "abcd efgh abcd\x00efgh 4:abcd wxyz"
	want := []string{
		"[redacted] [redacted] [redacted]\x00[redacted] 4:[redacted] wxyz",
		"abcd efgh [redacted] 4:abcd wxyz",
		"abcd efgh abcd\x00efgh [redacted] wxyz",
		"[redacted] efgh [redacted]\x00efgh 4:[redacted] wxyz",
		"abcd [redacted] abcd\x00[redacted] 4:abcd [redacted]",
	}
	for round := range 2 { // the second round gets the kept redactors
		for i, set := range sets {
			if got := channellog.NewRedactor(set).String(text); got != want[i] {
				t.Errorf("round %d, secrets %q: %q, want %q", round, set, got, want[i])
			}
		}
	}
}

func TestSensitiveHeaders(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"Authorization": true, "Cookie": true, "Set-Cookie": true, "X-Hub-Signature": true, "X-Hub-Signature-256": true,
		"X-Twilio-Signature": true, "X-Viber-Content-Signature": true, "X-Api-Key": true, "X-Auth-Token": true, "Client-Secret": true,
		"Content-Type": false, "X-Request-Id": false, "User-Agent": false,
	} {
		if got := channellog.SensitiveHeader(name); got != want {
			t.Errorf("SensitiveHeader(%q) = %v, want %v", name, got, want)
		}
	}
	r := channellog.NewRedactor([]string{token})
	h := r.Header(http.Header{"Authorization": {"Bearer x"}, "X-Note": {"has " + token}, "Content-Type": {"application/json"}})
	var got map[string][]string
	if err := json.Unmarshal(h, &got); err != nil {
		t.Fatal(err)
	}
	if got["Authorization"][0] != channellog.Redacted || got["X-Note"][0] != "has [redacted]" || got["Content-Type"][0] != "application/json" {
		t.Errorf("headers = %s", h)
	}
}

func TestBody(t *testing.T) {
	t.Parallel()
	r := channellog.NewRedactor([]string{token})
	big := strings.Repeat("a", channellog.MaxBody+100)
	tests := []struct {
		name   string
		body   []byte
		total  int64
		ct     string
		prefix string
		suffix string
	}{
		{"empty", nil, 0, "", "", ""},
		{"json", []byte(`{"k":"` + token + `"}`), int64(len(`{"k":"` + token + `"}`)), "application/json", `{"k":"[redacted]"}`, `"}`},
		{"cut", []byte(big), int64(len(big)), "text/plain", "aaaa", "…[truncated: 65636 bytes in all]"},
		{"captured start of a longer body", []byte("abc"), 1000, "", "abc", "…[truncated: 1000 bytes in all]"},
		{"binary by type", []byte{0xff, 0xd8}, 5000, "image/jpeg", "[5000 bytes of image/jpeg, not shown]", ""},
		{"binary by content", []byte{0xff, 0x00, 0x01}, 3, "", "[3 bytes of unknown type, not shown]", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := r.Body(tc.body, tc.total, tc.ct)
			if !strings.HasPrefix(got, tc.prefix) || !strings.HasSuffix(got, tc.suffix) {
				t.Errorf("Body = %.80q…, want prefix %q and suffix %q", got, tc.prefix, tc.suffix)
			}
			if len(got) > channellog.MaxBody+100 {
				t.Errorf("Body kept %d bytes", len(got))
			}
		})
	}
}

// memSink keeps entries in memory.
type memSink struct {
	mu      sync.Mutex
	entries []store.ChannelLogEntry
}

func (m *memSink) Record(e store.ChannelLogEntry) {
	m.mu.Lock()
	m.entries = append(m.entries, e)
	m.mu.Unlock()
}

func (m *memSink) all() []store.ChannelLogEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.ChannelLogEntry(nil), m.entries...)
}

func TestTransport(t *testing.T) {
	t.Parallel()
	// A provider that echoes the credentials it was given, as some error
	// pages do, and streams a large answer on /big.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/big":
			_, _ = w.Write(bytes.Repeat([]byte("z"), 200<<10))
		case "/fail":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"message":"bad token `+token+`"}}`)
		default:
			_, _ = w.Write(b)
		}
	}))
	defer srv.Close()
	sink := &memSink{}
	hc := &http.Client{Transport: &channellog.Transport{ChannelID: "ch1", ProjectID: "p1", Sink: sink,
		Secrets: func() []string { return []string{token} }}}

	do := func(ctx context.Context, method, path string, body io.Reader) []byte {
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, body)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return b
	}
	ctx := channellog.WithMessage(context.Background(), "msg-1")
	if got := do(ctx, http.MethodPost, "/echo?access_token="+url.QueryEscape(token), strings.NewReader(`{"t":"`+token+`"}`)); string(got) != `{"t":"`+token+`"}` {
		t.Fatalf("the caller got %q: the transport changed the exchange", got)
	}
	// A body that cannot be replayed is read and put back.
	if got := do(context.Background(), http.MethodPost, "/echo", io.MultiReader(strings.NewReader("streamed "+token))); string(got) != "streamed "+token {
		t.Fatalf("streamed body arrived as %q", got)
	}
	if got := do(context.Background(), http.MethodGet, "/big", nil); len(got) != 200<<10 {
		t.Fatalf("the caller got %d bytes of the big answer", len(got))
	}
	do(context.Background(), http.MethodGet, "/fail", nil)
	// A provider nobody answers for.
	dead := &http.Client{Transport: &channellog.Transport{ChannelID: "ch1", ProjectID: "p1", Sink: sink, Secrets: func() []string { return []string{token} }}}
	if _, err := dead.Get("http://127.0.0.1:1/?key=" + token); err == nil {
		t.Fatal("a request to a closed port succeeded")
	}

	entries := sink.all()
	if len(entries) != 5 {
		t.Fatalf("%d entries, want 5", len(entries))
	}
	for i, e := range entries {
		raw, _ := json.Marshal(e)
		for _, form := range []string{token, url.QueryEscape(token), "EAAG"} {
			if strings.Contains(string(raw), form) {
				t.Errorf("entry %d leaks the secret (%q): %s", i, form, raw)
			}
		}
		if e.Kind != store.ChannelLogRequest || e.ChannelID != "ch1" || e.ProjectID != "p1" {
			t.Errorf("entry %d = %+v", i, e)
		}
	}
	first := entries[0]
	if first.MessageID != "msg-1" || first.StatusCode != 200 || first.Method != "POST" || first.RequestBody != `{"t":"[redacted]"}` ||
		first.ResponseBody != `{"t":"[redacted]"}` || !strings.Contains(first.URL, "access_token=%5Bredacted%5D") {
		t.Errorf("first entry = %+v", first)
	}
	if entries[1].RequestBody != "streamed [redacted]" || entries[1].MessageID != "" {
		t.Errorf("streamed entry = %+v", entries[1])
	}
	if !strings.HasSuffix(entries[2].ResponseBody, "[truncated: 204800 bytes in all]") {
		t.Errorf("big answer logged as %d bytes ending %q", len(entries[2].ResponseBody), entries[2].ResponseBody[len(entries[2].ResponseBody)-40:])
	}
	if entries[3].StatusCode != 401 || !entries[3].Failed() {
		t.Errorf("failed call = %+v", entries[3])
	}
	if entries[4].Error == "" || entries[4].StatusCode != 0 || !entries[4].Failed() {
		t.Errorf("unreachable provider = %+v", entries[4])
	}
}

// failuresSink is a memSink that keeps only failures, as the writer does
// under PARLEY_CHANNEL_LOG=failures.
type failuresSink struct{ memSink }

func (f *failuresSink) Keeps(failed bool) bool { return failed }

func TestTransportFailuresOnly(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusTooManyRequests)
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	sink := &failuresSink{}
	var asked atomic.Int32
	hc := &http.Client{Transport: &channellog.Transport{ChannelID: "ch1", ProjectID: "p1", Sink: sink,
		Secrets: func() []string { asked.Add(1); return []string{token} }}}
	for _, path := range []string{"/ok", "/fail", "/ok"} {
		res, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != `{"ok":true}` {
			t.Fatalf("%s: the caller got %q", path, b)
		}
	}
	if _, err := hc.Get("http://127.0.0.1:1/"); err == nil {
		t.Fatal("a request to a closed port succeeded")
	}
	entries := sink.all()
	if len(entries) != 2 || entries[0].StatusCode != http.StatusTooManyRequests || entries[1].Error == "" {
		t.Fatalf("entries = %+v, want the 429 and the unreachable provider only", entries)
	}
	// A successful call is not even redacted: its entry is never built.
	if got := asked.Load(); got != 2 {
		t.Errorf("secrets asked %d times, want 2 (once per failure)", got)
	}
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodGet, "/webhooks/whatsapp/ch1?hub.mode=subscribe&hub.verify_token=vt-1234&hub.challenge=42", nil)
	req.Header.Set("X-Hub-Signature-256", "sha256=abcdef")
	e := channellog.Webhook(req, []byte(`{"x":"app-secret-1"}`), channellog.WebhookOutcome{ChannelID: "ch1", ProjectID: "p1", Status: 403,
		Error: "signature app-secret-1 mismatch", Secrets: []string{"app-secret-1"}, Started: time.Now()})
	raw, _ := json.Marshal(e)
	for _, leak := range []string{"vt-1234", "app-secret-1", "abcdef"} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("webhook entry leaks %q: %s", leak, raw)
		}
	}
	if e.Kind != store.ChannelLogWebhook || e.StatusCode != 403 || !strings.Contains(e.URL, "hub.challenge=42") {
		t.Errorf("entry = %+v", e)
	}
}

func TestWriter(t *testing.T) {
	t.Parallel()
	st := testdb.OpenSQLite(t, store.OpenOptions{})
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := fixedClock{now}
	w := channellog.NewWriter(st, channellog.WriterOptions{Clock: clock, Buffer: 3, Retention: time.Hour})
	// Not started: the buffer fills, the rest is dropped and counted.
	for i := range 5 {
		w.Record(store.ChannelLogEntry{ProjectID: "p1", ChannelID: "c1", Kind: store.ChannelLogRequest, URL: "u\x00" + string(rune('a'+i))})
	}
	if got := w.Dropped(); got != 2 {
		t.Fatalf("dropped = %v, want 2", got)
	}
	w.Flush(ctx)
	list, err := st.ChannelLogList(ctx, store.ChannelLogListParams{ProjectID: "p1", ChannelID: "c1"})
	if err != nil || len(list.Items) != 3 {
		t.Fatalf("stored %d entries (%v), want 3", len(list.Items), err)
	}
	if list.Items[0].URL != "u\uFFFDc" || !list.Items[0].CreatedAt.Equal(now) || list.Items[0].ID == "" {
		t.Errorf("stored entry = %+v", list.Items[0])
	}

	// Started: entries are written in the background; old ones are purged.
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w.Record(store.ChannelLogEntry{ProjectID: "p1", ChannelID: "c1", Kind: store.ChannelLogWebhook, CreatedAt: now.Add(-2 * time.Hour)})
	w.Record(store.ChannelLogEntry{ProjectID: "p1", ChannelID: "c1", Kind: store.ChannelLogWebhook})
	w.Flush(ctx)
	w.PurgeNow(ctx)
	w.Record(store.ChannelLogEntry{ProjectID: "p1", ChannelID: "c1", Kind: store.ChannelLogWebhook})
	w.Stop() // writes what is queued
	list, err = st.ChannelLogList(ctx, store.ChannelLogListParams{ProjectID: "p1", ChannelID: "c1", Kind: store.ChannelLogWebhook})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("after purge and stop: %d webhook entries (%v), want 2", len(list.Items), err)
	}
	w.Stop() // twice is harmless
}

func TestWriterFailuresOnly(t *testing.T) {
	t.Parallel()
	st := testdb.OpenSQLite(t, store.OpenOptions{})
	ctx := context.Background()
	w := channellog.NewWriter(st, channellog.WriterOptions{FailuresOnly: true})
	if w.Keeps(false) || !w.Keeps(true) {
		t.Fatalf("Keeps(false) = %v, Keeps(true) = %v: want failures only", w.Keeps(false), w.Keeps(true))
	}
	for _, e := range []store.ChannelLogEntry{
		{URL: "ok", StatusCode: 200},
		{URL: "refused", StatusCode: 400},
		{URL: "unreachable", Error: "dial tcp: connection refused"},
		{URL: "accepted", StatusCode: 202},
	} {
		e.ProjectID, e.ChannelID, e.Kind = "p1", "c1", store.ChannelLogRequest
		w.Record(e)
	}
	w.Flush(ctx)
	list, err := st.ChannelLogList(ctx, store.ChannelLogListParams{ProjectID: "p1", ChannelID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, e := range list.Items {
		urls = append(urls, e.URL)
	}
	slices.Sort(urls)
	if !slices.Equal(urls, []string{"refused", "unreachable"}) {
		t.Fatalf("stored %v, want the two failures", urls)
	}
	if w.Dropped() != 0 {
		t.Errorf("dropped = %d: entries not kept by choice are not drops", w.Dropped())
	}
	if all := channellog.NewWriter(st, channellog.WriterOptions{}); !all.Keeps(false) {
		t.Error("the default writer does not keep successes")
	}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }
