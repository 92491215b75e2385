package metamsg

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/ratelimit"
)

// Adapter is one Messenger Page or Instagram account.
type Adapter struct {
	p    Platform
	cfg  Config
	http *http.Client
	// now is the clock Send reads to tell an agent's reply inside the
	// window from one after it (tests set it).
	now func() time.Time
}

var (
	_ channel.Adapter    = (*Adapter)(nil)
	_ channel.Window     = (*Adapter)(nil)
	_ channel.Router     = (*Adapter)(nil)
	_ channel.Paced      = (*Adapter)(nil)
	_ channel.SeenMarker = (*Adapter)(nil)
)

// New returns the adapter of a validated config; a nil hc means a client
// of its own.
func New(p Platform, cfg Config, hc *http.Client) *Adapter {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Adapter{p: p, cfg: p.withDefaults(cfg), http: hc, now: time.Now}
}

// Type is the platform's channel type.
func (a *Adapter) Type() string { return a.p.Name }

// Secrets returns the token, app secret and verify token.
func (a *Adapter) Secrets() []string { return a.cfg.Secrets() }

// VerifyHandshake answers Meta's subscription check: hub.mode must be
// "subscribe" and hub.verify_token ours (constant time); hub.challenge is
// echoed as is.
func (a *Adapter) VerifyHandshake(q url.Values) (string, bool) {
	if a.cfg.VerifyToken == "" || q.Get("hub.mode") != "subscribe" {
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(a.cfg.VerifyToken)) != 1 {
		return "", false
	}
	return q.Get("hub.challenge"), true
}

// VerifySignature checks X-Hub-Signature-256 ("sha256=<hex>") against the
// HMAC-SHA256 of the raw body keyed with the app secret, in constant time.
func (a *Adapter) VerifySignature(rawBody []byte, h http.Header) bool {
	return VerifySignature(rawBody, h.Get(SignatureHeader), a.cfg.AppSecret)
}

// VerifySignature checks a "sha256=<hex>" header over body with secret.
func VerifySignature(body []byte, header, secret string) bool {
	if secret == "" || len(body) > MaxWebhookBytes {
		return false
	}
	const prefix = "sha256="
	if len(header) != len(prefix)+2*sha256.Size || header[:len(prefix)] != prefix {
		return false
	}
	want, err := hex.DecodeString(header[len(prefix):])
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), want)
}

// Sign returns the X-Hub-Signature-256 value of body: what Meta sends, and
// what the sandbox and tests send.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Parse parses a webhook body of the adapter's platform.
func (a *Adapter) Parse(rawBody []byte) ([]channel.Event, error) { return Parse(a.p, rawBody) }

// CheckWindow applies Meta's messaging window: anything within 24 hours of
// the person's last message; after that, up to 7 days, only a reply a
// person typed in the inbox (sent with the HUMAN_AGENT tag); never the
// deprecated automated tags. Marking as seen is always allowed.
func (a *Adapter) CheckWindow(msg channel.Outbound, lastInbound *time.Time, now time.Time) error {
	if msg.Kind == channel.OutMarkRead {
		return nil
	}
	if lastInbound != nil {
		age := now.Sub(*lastInbound)
		if age <= StandardWindow || msg.Agent && age <= HumanAgentWindow {
			return nil
		}
	}
	details := "outside the 24-hour messaging window: the person has not written in the last 24 hours, and " + a.p.Label +
		" allows only replies typed by a person in the inbox (HUMAN_AGENT tag) within 7 days"
	if msg.Agent {
		details = "outside the 7-day human agent window: the person has not written in the last 7 days; " + a.p.Label + " allows no message until they write again"
	}
	if lastInbound == nil {
		details = "the person has never written to this " + a.p.Label + " account; " + a.p.Label + " lets businesses answer only people who wrote first"
	}
	return &channel.SendError{Class: channel.Permanent, Cause: channel.CauseOutsideWindow, Code: 10, Subcode: a.p.OutsideWindowSubcode, Details: details}
}

// RoutingKeys is the account (Page or Instagram ID) the channel serves.
func (a *Adapter) RoutingKeys() []string { return []string{a.cfg.AccountID} }

// RoutingKey is the account an event was sent to.
func (a *Adapter) RoutingKey(e *channel.Event) string { return e.AccountID }

// LimiterConfig paces the channel's sends at its messages per second.
func (a *Adapter) LimiterConfig() ratelimit.Config {
	return ratelimit.Config{Rate: a.cfg.MessagesPerSecond}
}

var _ channel.Checker = (*Adapter)(nil)

// Check confirms the token opens the account: GET /{account}?fields=id,name.
func (a *Adapter) Check(ctx context.Context) channel.CheckReport {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	u := a.cfg.APIBaseURL + "/" + a.cfg.APIVersion + "/" + url.PathEscape(a.cfg.AccountID) + "?fields=id,name"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return channel.CheckReport{Steps: []channel.CheckStep{{Name: "account", Detail: err.Error()}}}
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.AccessToken)
	resp, err := a.http.Do(req)
	if err != nil {
		return channel.CheckReport{Steps: []channel.CheckStep{{Name: "account", Detail: "the Graph API could not be reached: " + err.Error()}}}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode/100 != 2 {
		se := Classify(resp.StatusCode, resp.Header, body)
		return channel.CheckReport{Steps: []channel.CheckStep{{Name: "token", Detail: "Meta refused the token for " + a.p.IDLabel + " " + a.cfg.AccountID + ": " + se.Reason()}}}
	}
	var acct struct{ ID, Name, Username string }
	_ = json.Unmarshal(body, &acct)
	name := acct.Name
	if name == "" {
		name = acct.Username
	}
	return channel.CheckReport{OK: true, Steps: []channel.CheckStep{{Name: "token", OK: true, Detail: "the token opens " + a.p.IDLabel + " " + a.cfg.AccountID + " (" + name + ")"}}}
}
