package hostile_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/sandbox"
)

// stalledBody sends a little and then nothing until release: a body the
// server must hold a read slot for.
type stalledBody struct {
	sent    bool
	release chan struct{}
}

func (b *stalledBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, `{"object":"whatsapp_business_account"`), nil
	}
	<-b.release
	return 0, io.EOF
}

// TestBoundedWebhookReads: webhook bodies are read before their signature
// can be checked, so the server must neither read unsigned ones nor hold
// an unbounded number at once (64 concurrent 4 MB bodies took it from 65 to
// 304 MB). An unsigned body is refused without being read — a body that
// never ends still gets its 401 at once —, and past the per-address limit
// further bodies are refused with 429 and Retry-After while the others are
// read; once they end, webhooks are taken again.
func TestBoundedWebhookReads(t *testing.T) {
	t.Parallel()
	s := start(t, sandbox.Config{})
	url := s.base + "/webhooks/whatsapp/" + s.channel
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 0}}
	defer hc.CloseIdleConnections()
	do := func(body io.Reader, signature string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, body)
		if signature != "" {
			req.Header.Set(whatsapp.SignatureHeader, signature)
		}
		return hc.Do(req)
	}

	// Many large unsigned bodies at once, one of them never ending.
	never := &stalledBody{release: make(chan struct{})}
	defer close(never.release)
	var wg sync.WaitGroup
	codes := make(chan int, 65)
	big := bytes.Repeat([]byte(" "), whatsapp.MaxWebhookBytes)
	for i := range 65 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body io.Reader = bytes.NewReader(big)
			if i == 0 {
				body = never
			}
			res, err := do(body, "")
			if err != nil {
				codes <- -1
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusUnauthorized {
			t.Fatalf("an unsigned webhook got %d, want 401 without its body being read", c)
		}
	}

	// Signed (badly: the body is not known yet) bodies that stall, from
	// one address: the limit's worth are read, the rest refused at once.
	lim := httpapi.DefaultWebhookReadLimits.PerAddress
	release := make(chan struct{})
	type answer struct {
		code  int
		retry string
	}
	answers := make(chan answer, lim+5)
	var held sync.WaitGroup
	for range lim + 5 {
		held.Add(1)
		go func() {
			defer held.Done()
			res, err := do(&stalledBody{release: release}, "sha256="+strings.Repeat("00", 32))
			if err != nil {
				answers <- answer{code: -1}
				return
			}
			res.Body.Close()
			answers <- answer{res.StatusCode, res.Header.Get("Retry-After")}
		}()
	}
	for range 5 {
		select {
		case a := <-answers:
			if a.code != http.StatusTooManyRequests || a.retry == "" {
				t.Fatalf("a body over the per-address limit got %d (Retry-After %q), want 429 with Retry-After", a.code, a.retry)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("bodies over the per-address limit were not refused at once")
		}
	}
	select {
	case a := <-answers:
		t.Fatalf("a body within the limit was answered %d before it ended", a.code)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	held.Wait()
	close(answers)
	for a := range answers {
		if a.code != http.StatusUnauthorized {
			t.Fatalf("a forged body got %d once read, want 401", a.code)
		}
	}

	// The slots are free again: a genuine webhook is taken.
	valid := inbound(pnid, "15550001111", "wamid.READS.ok", "hi")
	if code, body := s.post("/webhooks/whatsapp/"+s.channel, valid, whatsapp.Sign(valid, appSecret)); code != http.StatusOK {
		t.Fatalf("a genuine webhook after the flood: %d %s", code, body)
	}
	_, metrics := s.get("/metrics")
	for _, want := range []string{`parley_webhook_refused_total{reason="unsigned"} 65`, `parley_webhook_refused_total{reason="address"} 5`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	s.healthy()
}
