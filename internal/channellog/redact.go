// Package channellog records what Parley says to channel providers and
// what they say back: every request and its answer (through Transport, an
// http.RoundTripper) and every webhook received (Webhook). Entries are
// redacted here, before they are queued: the adapter's secrets are cut out
// of URLs, headers and bodies in every encoding they are likely to travel
// in, and headers whose names say they carry credentials are blanked
// whatever their value. Writer stores entries in batches off the request
// path and purges them after the retention period.
package channellog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Redacted replaces every secret value and sensitive header.
const Redacted = "[redacted]"

// MaxBody is the most of a body an entry keeps; the rest is cut with a
// marker saying how long the body was.
const MaxBody = 64 << 10

// minSecret is the shortest value redacted: shorter ones would blank
// ordinary words and digits all over the log without protecting anything.
const minSecret = 4

// sensitiveHeaders are blanked whatever their value.
var sensitiveHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true, "cookie": true, "set-cookie": true,
	"x-twilio-signature": true, "x-viber-content-signature": true,
}

// SensitiveHeader reports whether a header's name says it carries a
// credential or a signature.
func SensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	return sensitiveHeaders[n] || strings.HasPrefix(n, "x-hub-signature") || sensitiveName(n)
}

// sensitiveName is the rule shared by header names and query parameters.
func sensitiveName(n string) bool {
	n = strings.ToLower(n)
	return strings.Contains(n, "token") || strings.Contains(n, "secret") || strings.Contains(n, "key") ||
		strings.Contains(n, "password") || strings.Contains(n, "signature")
}

// Redactor cuts a fixed set of secrets out of text.
type Redactor struct {
	forms [][]byte
}

// NewRedactor returns a redactor for secrets; values shorter than four
// bytes are ignored. Each secret is also matched URL-encoded (query and
// path forms) and JSON-escaped, the forms in which it reaches a log.
func NewRedactor(secrets []string) *Redactor {
	// Every send and webhook builds one, from the same few channels'
	// secrets: the forms are worked out once per set (a redactor is never
	// changed after it is made).
	var kb strings.Builder
	for _, s := range secrets {
		// Length-prefixed: no two sets of secrets share a key.
		kb.WriteString(strconv.Itoa(len(s)))
		kb.WriteByte(':')
		kb.WriteString(s)
	}
	key := kb.String()
	if r, ok := redactors.Load(key); ok {
		return r.(*Redactor)
	}
	r := newRedactor(secrets)
	if redactorCount.Add(1) > maxRedactors {
		// Secrets rotated many times over: start again rather than keep
		// old ones in memory.
		redactors.Clear()
		redactorCount.Store(1)
	}
	redactors.Store(key, r)
	return r
}

// redactors are the redactors made so far by their secrets (NewRedactor),
// at most maxRedactors of them.
var (
	redactors     sync.Map
	redactorCount atomic.Int64
)

const maxRedactors = 1024

func newRedactor(secrets []string) *Redactor {
	seen := map[string]bool{}
	r := &Redactor{}
	add := func(s string) {
		if len(s) >= minSecret && !seen[s] {
			seen[s] = true
			r.forms = append(r.forms, []byte(s))
		}
	}
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		add(s)
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		for _, html := range []bool{true, false} {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(html)
			_ = enc.Encode(s)
			q := bytes.TrimSpace(b.Bytes())
			add(string(q[1 : len(q)-1]))
		}
	}
	// Longest first: a secret containing another is cut whole.
	for i := 1; i < len(r.forms); i++ {
		for j := i; j > 0 && len(r.forms[j]) > len(r.forms[j-1]); j-- {
			r.forms[j], r.forms[j-1] = r.forms[j-1], r.forms[j]
		}
	}
	return r
}

// Bytes returns b with every secret replaced; b itself is left alone.
func (r *Redactor) Bytes(b []byte) []byte {
	for _, f := range r.forms {
		if bytes.Contains(b, f) {
			b = bytes.ReplaceAll(b, f, []byte(Redacted))
		}
	}
	return b
}

// String is Bytes for text.
func (r *Redactor) String(s string) string {
	for _, f := range r.forms {
		if strings.Contains(s, string(f)) {
			s = strings.ReplaceAll(s, string(f), Redacted)
		}
	}
	return s
}

// URL returns the URL with secrets and sensitive query values redacted
// (Graph API calls may carry access_token in the query).
func (r *Redactor) URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for k, vs := range q {
			for i := range vs {
				if sensitiveName(k) {
					vs[i] = Redacted
				} else {
					vs[i] = r.String(vs[i])
				}
			}
		}
		c.RawQuery = q.Encode()
	}
	return r.String(c.String())
}

// Header returns the headers as JSON, sensitive ones blanked and secrets
// cut from the rest.
func (r *Redactor) Header(h http.Header) json.RawMessage {
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		c := make([]string, len(vs))
		for i, v := range vs {
			if SensitiveHeader(k) {
				c[i] = Redacted
			} else {
				c[i] = clean(r.String(v))
			}
		}
		out[k] = c
	}
	b, _ := json.Marshal(out)
	return b
}

// Body returns a body fit for the log: redacted, cut at MaxBody, and
// summarised when it is not text. total is the body's full length, which
// may exceed len(b) when only the start was captured.
func (r *Redactor) Body(b []byte, total int64, contentType string) string {
	if total == 0 {
		return ""
	}
	if !textual(b, contentType) {
		return fmt.Sprintf("[%d bytes of %s, not shown]", total, orUnknown(contentType))
	}
	cut := total > int64(len(b)) // before redaction changes the length
	b = r.Bytes(b)
	if len(b) > MaxBody {
		b, cut = b[:MaxBody], true // a rune cut in two becomes U+FFFD in clean
	}
	s := clean(string(b))
	if cut {
		s += fmt.Sprintf("…[truncated: %d bytes in all]", total)
	}
	return s
}

func orUnknown(ct string) string {
	if ct == "" {
		return "unknown type"
	}
	return ct
}

// textual tells text from binary (media downloads): by content type when
// one is given, else by whether the bytes are UTF-8.
func textual(b []byte, contentType string) bool {
	ct := strings.ToLower(contentType)
	switch {
	case ct == "":
	case strings.HasPrefix(ct, "text/"), strings.Contains(ct, "json"), strings.Contains(ct, "xml"),
		strings.Contains(ct, "x-www-form-urlencoded"), strings.Contains(ct, "javascript"):
		return true
	default:
		return false
	}
	probe := b[:min(len(b), 512)]
	for i := 0; i < 3 && len(probe) < len(b) && !utf8.Valid(probe); i++ {
		probe = probe[:len(probe)-1] // a rune cut by the probe's end
	}
	return utf8.Valid(probe) && bytes.IndexByte(probe, 0) < 0
}

// clean makes text storable everywhere: valid UTF-8 and no NUL, which
// PostgreSQL refuses in text.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}
