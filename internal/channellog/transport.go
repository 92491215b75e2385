package channellog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Sink receives finished entries. Record must not block: the writer drops
// what it cannot buffer rather than slow a send down.
type Sink interface {
	Record(e store.ChannelLogEntry)
}

// Keeper is a Sink that stores only some entries. Keeps says, before an
// entry is built, whether one of a failed (or a successful) call or
// webhook would be stored, so that one that would not costs no redaction.
type Keeper interface {
	Sink
	Keeps(failed bool) bool
}

// Failed reports whether a call or webhook that ended with this HTTP
// status and error failed (store.ChannelLogEntry.Failed, before the entry
// is built): the entries the log's "failures only" filter lists, and the
// only ones PARLEY_CHANNEL_LOG=failures keeps.
func Failed(status int, errText string) bool {
	return store.ChannelLogEntry{StatusCode: status, Error: errText}.Failed()
}

// Keeps reports whether sink stores the entry of a call or webhook that
// failed (or did not): a sink that is not a Keeper stores every entry.
func Keeps(sink Sink, failed bool) bool {
	k, ok := sink.(Keeper)
	return !ok || k.Keeps(failed)
}

type messageKey struct{}

// WithMessage returns ctx carrying the ID of the message a provider call is
// made for, so the call's log entry names it.
func WithMessage(ctx context.Context, messageID string) context.Context {
	return context.WithValue(ctx, messageKey{}, messageID)
}

// MessageFrom is the message ID WithMessage put in ctx, or "".
func MessageFrom(ctx context.Context) string {
	id, _ := ctx.Value(messageKey{}).(string)
	return id
}

// Transport records every request made through it, and its answer, as a
// channel log entry. Bodies are captured as they stream, up to MaxBody
// bytes; the response's entry is recorded when its body is closed or read
// to the end, so the duration covers the whole answer.
type Transport struct {
	// Base makes the requests; nil is http.DefaultTransport.
	Base      http.RoundTripper
	ChannelID string
	ProjectID string
	// Secrets returns the values to redact, asked per request so that a
	// transport built before its adapter can still ask the adapter.
	Secrets func() []string
	Sink    Sink
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.Sink == nil {
		return base.RoundTrip(req)
	}
	reqBody, reqTotal, req, err := peekRequest(req)
	if err != nil {
		return nil, err
	}
	e := store.ChannelLogEntry{ProjectID: t.ProjectID, ChannelID: t.ChannelID, MessageID: MessageFrom(req.Context()),
		Kind: store.ChannelLogRequest, Method: req.Method}
	start := time.Now()
	res, err := base.RoundTrip(req)
	finish := func(status int, resHeader http.Header, resBody []byte, resTotal int64, rerr error) {
		if !Keeps(t.Sink, rerr != nil || Failed(status, "")) {
			return
		}
		var secrets []string
		if t.Secrets != nil {
			secrets = t.Secrets()
		}
		r := NewRedactor(secrets)
		e.URL = r.URL(req.URL)
		e.RequestHeaders = r.Header(req.Header)
		e.RequestBody = r.Body(reqBody, reqTotal, req.Header.Get("Content-Type"))
		e.StatusCode = status
		e.ResponseHeaders = r.Header(resHeader)
		e.ResponseBody = r.Body(resBody, resTotal, resHeader.Get("Content-Type"))
		e.DurationMS = time.Since(start).Milliseconds()
		if rerr != nil {
			e.Error = clean(r.String(rerr.Error()))
		}
		t.Sink.Record(e)
	}
	if err != nil {
		finish(0, http.Header{}, nil, 0, err)
		return nil, err
	}
	res.Body = &capture{ReadCloser: res.Body, done: func(b []byte, total int64, rerr error) {
		finish(res.StatusCode, res.Header, b, total, rerr)
	}}
	return res, nil
}

// peekRequest captures the start of a request body without consuming it:
// through GetBody when the request can replay its body (every request made
// from a byte slice or string), else by reading the start and putting it
// back in front of the rest on a copy of the request.
func peekRequest(req *http.Request) ([]byte, int64, *http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, 0, req, nil
	}
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(rc, MaxBody+1))
			rc.Close()
			total := int64(len(b))
			if req.ContentLength > total {
				total = req.ContentLength
			}
			return b, total, req, nil
		}
	}
	head := make([]byte, MaxBody+1)
	n, err := io.ReadFull(req.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, 0, req, err
	}
	head = head[:n]
	c := req.Clone(req.Context())
	c.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), req.Body), req.Body}
	total := int64(n)
	if req.ContentLength > total {
		total = req.ContentLength
	}
	return head, total, c, nil
}

// capture keeps the first MaxBody bytes of a response body as it is read
// and reports once, at the end of the body or when it is closed.
type capture struct {
	io.ReadCloser
	mu    sync.Mutex
	buf   []byte
	total int64
	once  sync.Once
	done  func(b []byte, total int64, err error)
}

func (c *capture) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.mu.Lock()
	c.total += int64(n)
	if room := MaxBody + 1 - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(n, room)]...)
	}
	c.mu.Unlock()
	if err != nil {
		var rerr error
		if !errors.Is(err, io.EOF) {
			rerr = err
		}
		c.report(rerr)
	}
	return n, err
}

func (c *capture) Close() error {
	err := c.ReadCloser.Close()
	c.report(nil)
	return err
}

func (c *capture) report(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		b, total := c.buf, c.total
		c.mu.Unlock()
		c.done(b, total, err)
	})
}
