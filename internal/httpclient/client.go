// Package httpclient is the HTTP client of http_request nodes: the
// engine.HTTPDoer the host injects. It guards against SSRF by checking the
// IP address actually dialled (after DNS resolution, on every connection,
// including redirects), limits time and response size, and never uses a
// proxy from the environment (a proxy would hide the real destination).
package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/engine"
)

// Defaults of a Client.
const (
	DefaultTimeout = 10 * time.Second
	MaxTimeout     = 30 * time.Second
	DefaultMaxBody = 256 << 10
	maxRedirects   = 5
)

// ErrTooLarge is wrapped by the error of a response over the size cap: the
// call fails rather than returning a truncated body.
var ErrTooLarge = errors.New("httpclient: response body exceeds the size limit")

// Client performs http_request calls. It is safe for concurrent use.
type Client struct {
	hc      *http.Client
	guard   *Guard
	timeout time.Duration
	maxBody int64
}

// Option configures a Client.
type Option func(*Client)

// WithAllow lets the client reach addresses in these prefixes even when the
// guard blocks them (tests, intranet APIs); the host feeds it from
// PARLEY_HTTP_ALLOW via ParseAllowList.
func WithAllow(prefixes ...netip.Prefix) Option {
	return func(c *Client) { c.guard.allow = append(c.guard.allow, prefixes...) }
}

// WithGuard makes the client use a guard shared with other clients (its
// allow-list included); options after it add to that guard.
func WithGuard(g *Guard) Option {
	return func(c *Client) { c.guard = g }
}

// WithTimeout sets the timeout of requests that carry none (default 10 s).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = min(d, MaxTimeout)
		}
	}
}

// WithMaxBody sets the response size cap in bytes (default 256 KiB).
func WithMaxBody(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

var _ engine.HTTPDoer = (*Client)(nil)

// New returns a client with the SSRF guard, a 10 s default timeout and a
// 256 KiB response cap.
func New(opts ...Option) *Client {
	c := &Client{timeout: DefaultTimeout, maxBody: DefaultMaxBody, guard: NewGuard()}
	for _, o := range opts {
		o(c)
	}
	d := &net.Dialer{Timeout: MaxTimeout, KeepAlive: 30 * time.Second, Control: c.guard.Control}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: MaxTimeout,
	}
	c.hc = &http.Client{Transport: tr, CheckRedirect: checkRedirect}
	return c
}

// checkRedirect bounds redirects and keeps them on http(s); the dial guard
// still checks every address a redirect leads to.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to a %q URL is not allowed", req.URL.Scheme)
	}
	return nil
}

// Do performs a rendered request. A response of any status is returned;
// transport failures, blocked addresses, timeouts and bodies over the cap
// are errors.
func (c *Client) Do(ctx context.Context, req engine.HTTPRequest) (engine.HTTPResponse, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return engine.HTTPResponse{}, fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return engine.HTTPResponse{}, fmt.Errorf("invalid URL %q: only http and https URLs with a host are allowed", req.URL)
	}
	timeout := c.timeout
	if req.Timeout > 0 {
		timeout = min(req.Timeout, MaxTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if req.Body != "" {
		body = strings.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return engine.HTTPResponse{}, fmt.Errorf("building the request: %w", err)
	}
	hr.Header.Set("User-Agent", "Parley-http_request/1")
	for _, h := range req.Headers {
		if strings.EqualFold(h.Name, "Host") {
			hr.Host = h.Value
			continue
		}
		hr.Header.Set(h.Name, h.Value)
	}
	resp, err := c.hc.Do(hr)
	if errors.Is(err, ErrBlocked) {
		// net.OpError and url.Error name the dialled IP address; report
		// only the URL as given and the guard's reason.
		return engine.HTTPResponse{}, fmt.Errorf("%s %s: %w", method, u.Redacted(), errBlockedAddr)
	}
	if err != nil {
		return engine.HTTPResponse{}, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	out := engine.HTTPResponse{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type")}
	if resp.ContentLength > c.maxBody {
		return out, fmt.Errorf("%w: %d bytes announced, the limit is %d", ErrTooLarge, resp.ContentLength, c.maxBody)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return out, fmt.Errorf("reading the response: %w", err)
	}
	if int64(len(b)) > c.maxBody {
		return out, fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, c.maxBody)
	}
	out.Body = b
	return out, nil
}
