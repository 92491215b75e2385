// Package config holds Parley's typed configuration, read from environment
// variables and overridden by command-line flags. Every field documents its
// variable and default; nothing else in Parley reads the environment.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything a parley process can be told.
type Config struct {
	// Addr is where the HTTP server listens. PARLEY_ADDR, --addr; default 127.0.0.1:8080.
	Addr string
	// DataDir holds the SQLite database and the generated secret key.
	// PARLEY_DATA_DIR, --data-dir; default ./data.
	DataDir string
	// DatabaseURL selects PostgreSQL when it starts with postgres:// or
	// postgresql://; empty means the embedded SQLite database in DataDir. DATABASE_URL.
	DatabaseURL string
	// SecretKey encrypts secrets at rest (channel tokens, app secrets): 32
	// bytes, base64 or hex. PARLEY_SECRET_KEY; when empty a key is generated
	// once into DataDir/secret.key.
	SecretKey string
	// PublicURL is the externally reachable base URL, used in webhook URLs
	// shown to users. PARLEY_PUBLIC_URL; default http://<Addr>.
	PublicURL string
	// RealtimeModel is the realtime speech model of voice steps with the
	// realtime engine, reached at the project's AI provider's base URL
	// with its key. PARLEY_REALTIME_MODEL; default gpt-realtime.
	RealtimeModel string
	// LogFormat is "text" or "json". PARLEY_LOG_FORMAT; default text.
	LogFormat string
	// LogLevel is debug, info, warn or error. PARLEY_LOG_LEVEL; default info.
	LogLevel string
	// SessionTTL is how long a web login lasts without use. PARLEY_SESSION_TTL; default 168h.
	SessionTTL time.Duration
	// ShutdownTimeout bounds a graceful stop. PARLEY_SHUTDOWN_TIMEOUT; default 30s.
	ShutdownTimeout time.Duration
	// HousekeepingEvery is the period of the housekeeping job.
	// PARLEY_HOUSEKEEPING_EVERY; default 10m.
	HousekeepingEvery time.Duration
	// JobPollInterval is how often idle workers look for jobs where the
	// database cannot notify (SQLite). PARLEY_JOB_POLL_INTERVAL; default
	// 250ms. Each look is a write transaction per queue; session timers are
	// no longer jobs, so what waits on it is a new project's provisioning
	// (and timer jobs an earlier version queued).
	JobPollInterval time.Duration
	// WorkLease is how long the process that queued an inbox event or an
	// outbound message holds it before another process may take it over;
	// a live process renews it every third of it (a heartbeat), so it
	// bounds how long a dead process's work waits for another process.
	// PARLEY_WORK_LEASE; default 10s.
	WorkLease time.Duration
	// WorkPollInterval is how often each process looks for inbox events and
	// messages whose holder died or whose retry is due.
	// PARLEY_WORK_POLL_INTERVAL; default 1s.
	WorkPollInterval time.Duration
	// InboxRetention is how long a handled inbox event is kept before it
	// is deleted (nothing reads it after the API's read-back; the crash
	// tests keep them to audit). PARLEY_INBOX_RETENTION; default 1m.
	InboxRetention time.Duration
	// InboxWorkers is how many contacts' inboxes are processed at once.
	// PARLEY_INBOX_WORKERS; default 256 (see runner.DefaultInboxWorkers).
	InboxWorkers int
	// SendWorkers is how many outbound messages are sent at once.
	// PARLEY_SEND_WORKERS; default 256 (a quarter kept for replies).
	SendWorkers int
	// MaxBodyBytes is the default request body limit. PARLEY_MAX_BODY_BYTES; default 1 MiB.
	MaxBodyBytes int64
	// SecureCookies marks session cookies Secure. PARLEY_SECURE_COOKIES;
	// default true when PublicURL is https.
	SecureCookies bool
	// HTTPAllow lists CIDRs that http_request nodes may reach although
	// they are private or loopback (intranets, tests). PARLEY_HTTP_ALLOW,
	// comma-separated; default none.
	HTTPAllow string
	// TrustedProxies lists the reverse proxies (CIDRs or addresses) whose
	// X-Forwarded-For header names the client, for the login throttle.
	// PARLEY_TRUSTED_PROXIES, comma-separated; default none (the peer
	// address is the client).
	TrustedProxies string
	// MetricsToken, when set, protects /metrics: scrapers must send
	// Authorization: Bearer <token>. PARLEY_METRICS_TOKEN; default none
	// (open, for a private network).
	MetricsToken string
	// SandboxAddr is where `serve --sandbox` runs the fake Graph API.
	// PARLEY_SANDBOX_ADDR; default a free loopback port.
	SandboxAddr string
	// ChannelLogRetention is how long the channel log (provider calls and
	// webhooks, redacted) is kept. PARLEY_CHANNEL_LOG_RETENTION; default
	// 7d (a duration such as 72h, or whole days such as 14d).
	ChannelLogRetention time.Duration
	// ChannelLog is what the channel log records: "all" (every provider
	// call and webhook) or "failures" (only those that failed: an error,
	// or an HTTP status of 400 or more). PARLEY_CHANNEL_LOG; default all.
	// At hundreds of messages a second, "all" writes about 1.7 KB of
	// log per message exchanged and keeps it for the retention period.
	ChannelLog string
	// Meta is the operator's Meta app, for WhatsApp's embedded signup
	// (the Channels page's "Connect with Facebook") and profile photos.
	Meta MetaApp
	// AdminEmail is the email of the admin created on first start.
	// PARLEY_ADMIN_EMAIL; default admin@parley.local.
	AdminEmail string
}

// What the channel log records (Config.ChannelLog).
const (
	// ChannelLogAll records every provider call and webhook.
	ChannelLogAll = "all"
	// ChannelLogFailures records only the calls and webhooks that failed.
	ChannelLogFailures = "failures"
)

// Default returns the configuration with every default applied.
func Default() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		DataDir:           "data",
		LogFormat:         "text",
		LogLevel:          "info",
		SessionTTL:        7 * 24 * time.Hour,
		ShutdownTimeout:   30 * time.Second,
		HousekeepingEvery: 10 * time.Minute,
		JobPollInterval:   250 * time.Millisecond,
		WorkLease:         10 * time.Second,
		WorkPollInterval:  time.Second,
		InboxRetention:    time.Minute,
		InboxWorkers:      256,
		SendWorkers:       256,
		MaxBodyBytes:      1 << 20,
		AdminEmail:        "admin@parley.local",

		ChannelLogRetention: 7 * 24 * time.Hour,
		ChannelLog:          ChannelLogAll,
	}
}

// FromEnv returns the defaults overridden by environment variables read
// through getenv (os.Getenv in production, a map in tests).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Default()
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	var errs []string
	dur := func(name string, dst *time.Duration) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			d, err := parseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Sprintf("%s=%q is not a positive duration (e.g. 30s, 10m, 24h)", name, v))
				return
			}
			*dst = d
		}
	}
	str("PARLEY_ADDR", &c.Addr)
	str("PARLEY_DATA_DIR", &c.DataDir)
	str("DATABASE_URL", &c.DatabaseURL)
	str("PARLEY_SECRET_KEY", &c.SecretKey)
	str("PARLEY_PUBLIC_URL", &c.PublicURL)
	str("PARLEY_REALTIME_MODEL", &c.RealtimeModel)
	str("PARLEY_LOG_FORMAT", &c.LogFormat)
	str("PARLEY_LOG_LEVEL", &c.LogLevel)
	str("PARLEY_ADMIN_EMAIL", &c.AdminEmail)
	str("PARLEY_HTTP_ALLOW", &c.HTTPAllow)
	str("PARLEY_TRUSTED_PROXIES", &c.TrustedProxies)
	str("PARLEY_SANDBOX_ADDR", &c.SandboxAddr)
	str("PARLEY_METRICS_TOKEN", &c.MetricsToken)
	str("PARLEY_META_APP_ID", &c.Meta.AppID)
	str("PARLEY_META_APP_SECRET", &c.Meta.AppSecret)
	str("PARLEY_META_CONFIG_ID", &c.Meta.ConfigID)
	str("PARLEY_META_GRAPH_URL", &c.Meta.GraphURL)
	dur("PARLEY_SESSION_TTL", &c.SessionTTL)
	dur("PARLEY_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	dur("PARLEY_HOUSEKEEPING_EVERY", &c.HousekeepingEvery)
	dur("PARLEY_JOB_POLL_INTERVAL", &c.JobPollInterval)
	dur("PARLEY_WORK_LEASE", &c.WorkLease)
	dur("PARLEY_WORK_POLL_INTERVAL", &c.WorkPollInterval)
	dur("PARLEY_INBOX_RETENTION", &c.InboxRetention)
	dur("PARLEY_CHANNEL_LOG_RETENTION", &c.ChannelLogRetention)
	str("PARLEY_CHANNEL_LOG", &c.ChannelLog)
	count := func(name string, dst *int) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10_000 {
				errs = append(errs, fmt.Sprintf("%s=%q must be a whole number from 1 to 10000", name, v))
				return
			}
			*dst = n
		}
	}
	count("PARLEY_INBOX_WORKERS", &c.InboxWorkers)
	count("PARLEY_SEND_WORKERS", &c.SendWorkers)
	if v := strings.TrimSpace(getenv("PARLEY_MAX_BODY_BYTES")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 {
			errs = append(errs, fmt.Sprintf("PARLEY_MAX_BODY_BYTES=%q must be a whole number of bytes, at least 1024", v))
		} else {
			c.MaxBodyBytes = n
		}
	}
	if v := strings.TrimSpace(getenv("PARLEY_SECURE_COOKIES")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("PARLEY_SECURE_COOKIES=%q must be true or false", v))
		}
		c.SecureCookies = b
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// parseDuration is time.ParseDuration that also takes whole days ("7d"),
// the natural unit of retention periods.
func parseDuration(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// Finish fills derived values and checks the whole configuration.
func (c *Config) Finish() error {
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if strings.HasPrefix(c.PublicURL, "https://") {
		c.SecureCookies = true
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("configuration: log format %q must be text or json", c.LogFormat)
	}
	if _, err := c.SlogLevel(); err != nil {
		return err
	}
	switch c.ChannelLog {
	case ChannelLogAll, ChannelLogFailures:
	default:
		return fmt.Errorf("configuration: PARLEY_CHANNEL_LOG %q must be %s or %s", c.ChannelLog, ChannelLogAll, ChannelLogFailures)
	}
	if c.DatabaseURL != "" && !c.UsesPostgres() {
		return fmt.Errorf("configuration: DATABASE_URL must start with postgres:// or postgresql:// (leave it empty for the embedded SQLite database)")
	}
	if c.DataDir == "" {
		return fmt.Errorf("configuration: the data directory must not be empty")
	}
	return nil
}

// UsesPostgres reports whether DatabaseURL selects PostgreSQL.
func (c *Config) UsesPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// SQLitePath is the embedded database file.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "parley.db") }

// SlogLevel parses LogLevel.
func (c *Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return l, fmt.Errorf("configuration: log level %q must be debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// Logger builds the logger the configuration asks for, writing to w.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	level, _ := c.SlogLevel()
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// MetaApp is the operator's Meta app (developers.facebook.com) that runs
// WhatsApp's embedded signup. Without AppID and ConfigID the Channels
// page offers manual setup only.
type MetaApp struct {
	// AppID is the app's ID. PARLEY_META_APP_ID.
	AppID string
	// AppSecret exchanges the signup's code for a business token and
	// signs the webhooks of numbers connected this way.
	// PARLEY_META_APP_SECRET.
	AppSecret string
	// ConfigID is the Facebook Login for Business configuration of the
	// embedded signup. PARLEY_META_CONFIG_ID.
	ConfigID string
	// GraphURL is the Graph API's root; default https://graph.facebook.com
	// (the sandbox sets its fake's). PARLEY_META_GRAPH_URL.
	GraphURL string
}

// SignupReady reports whether embedded signup can run.
func (m MetaApp) SignupReady() bool { return m.AppID != "" && m.AppSecret != "" && m.ConfigID != "" }
