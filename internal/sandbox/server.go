// Package sandbox is a local fake of the Graph API endpoints Parley uses
// (messages, templates, media, the phone number), answering like Meta and
// sending signed status and template webhooks back, plus the customer's
// side: signed inbound webhooks. `parley sandbox`, `serve --sandbox` and
// the Go tests use it; fault injection makes it misbehave on purpose.
package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/sandboxllm"
	"github.com/parleyhq/parley/internal/voice/audiotest"
	"github.com/parleyhq/parley/internal/voice/realtime/realtimetest"
)

// LLMPath is where the fake serves its OpenAI-compatible LLM (package
// sandboxllm): a provider's base URL is URL()+LLMPath.
const LLMPath = "/sandbox/llm/v1"

// LLMChunkDelay paces the fake LLM's streamed answers, so a UI shows the
// generation progressing as it would with a model.
const LLMChunkDelay = 25 * time.Millisecond

// Config configures the fake.
type Config struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr string
	// AppSecret signs the webhooks the fake sends.
	AppSecret string
	// AccessToken is the bearer token required; empty accepts any.
	AccessToken string
	// WebhookURL receives status and template webhooks; change it with
	// SetWebhookURL (Parley learns its channel ID after the fake starts).
	WebhookURL string
	// PhoneNumberID, DisplayPhoneNumber and WABAID identify the number;
	// empty PhoneNumberID accepts any.
	PhoneNumberID      string
	DisplayPhoneNumber string
	WABAID             string
	VerifiedName       string
	// StatusDelay is the pause before each status webhook; default 100 ms;
	// NoDelay sends them at once, as fast as a platform can (a receipt
	// can then overtake the send's answer).
	StatusDelay time.Duration
	// WebhookBatch is the most status updates one WhatsApp webhook POST
	// carries. Above 1, statuses queue for a few posters that each take
	// what is queued when they are free: one a POST when idle, many when
	// busy, as Meta aggregates notifications (up to 1,000 updates a POST, not
	// guaranteed). Default 1: each status in its own POST.
	WebhookBatch int
	// ReceiptsFirst makes the Messenger, Instagram and Viber fakes send
	// a message's receipts (and wait for them to be acknowledged) BEFORE
	// answering the send — the order a platform may use — so a receipt
	// always reaches Parley before the send's answer does.
	ReceiptsFirst bool
	// Statuses are sent after each accepted message; default sent,
	// delivered, read. Set to an empty non-nil slice for none.
	Statuses []string
	// TemplateApprovalDelay is how long a template stays PENDING; default 3 s.
	TemplateApprovalDelay time.Duration
	// TemplateReview is when the fake's review approves a submitted or
	// edited template; default ReviewAfterDelay.
	TemplateReview ReviewMode
	// AppID is the Meta app the embedded signup's code exchange and the
	// profile photo uploads name; empty accepts any.
	AppID string
	// NameReviewDelay is how long a display-name request waits for the
	// fake's review; default 2 s.
	NameReviewDelay time.Duration
	// HTTPClient delivers webhooks; default a client with a 10 s timeout
	// that keeps up to 256 idle connections.
	HTTPClient *http.Client
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.StatusDelay == 0 { // NoDelay (negative) stays
		c.StatusDelay = 100 * time.Millisecond
	}
	if c.Statuses == nil {
		c.Statuses = []string{"sent", "delivered", "read"}
	}
	c.WebhookBatch = min(max(c.WebhookBatch, 1), 1000)
	if c.TemplateApprovalDelay == 0 {
		c.TemplateApprovalDelay = 3 * time.Second
	}
	if c.TemplateReview == "" {
		c.TemplateReview = ReviewAfterDelay
	}
	if c.NameReviewDelay == 0 {
		c.NameReviewDelay = 2 * time.Second
	}
	if c.HTTPClient == nil {
		// Statuses are posted concurrently (three a send): keep enough idle
		// connections that each post does not dial a new one.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 256
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	if c.DisplayPhoneNumber == "" {
		c.DisplayPhoneNumber = "15550000000"
	}
	if c.WABAID == "" {
		c.WABAID = "100000000000001"
	}
	if c.VerifiedName == "" {
		c.VerifiedName = "Parley Sandbox"
	}
	return c
}

// ReviewMode is when the fake approves a submitted or edited template.
type ReviewMode string

// Review modes.
const (
	// ReviewAfterDelay approves TemplateApprovalDelay after answering the
	// submission, as Meta usually does (the default).
	ReviewAfterDelay ReviewMode = "after_delay"
	// ReviewBeforeAnswer approves at once and delivers the status webhook
	// (waiting for its acknowledgement) before answering the submission
	// with PENDING: the webhook overtakes the answer, as it can at Meta.
	ReviewBeforeAnswer ReviewMode = "before_answer"
	// ReviewManual leaves templates PENDING until ApprovePending.
	ReviewManual ReviewMode = "manual"
)

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	At     time.Time
}

// Delivery is one webhook the fake sent.
type Delivery struct {
	URL    string
	Body   []byte
	Status int // 0 when it could not be delivered
	Err    string
}

// Server is the fake Graph API.
type Server struct {
	cfg Config
	mux *http.ServeMux

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	webhookURL string
	requests   []Request
	deliveries []Delivery
	faults     []Fault
	seq        int
	// nonce makes this instance's IDs unique among all instances (a
	// restarted fake must not reuse the wamids of messages already stored).
	nonce     string
	templates []*storedTemplate
	media     map[string]*storedMedia
	// messaging is the Messenger, Instagram and Viber fakes' state.
	messaging *messaging
	// flows, forms and publicKeys are the Flows API's state: flows by
	// WABA, the flow messages sent, the numbers' encryption keys.
	flows      []*storedFlow
	forms      []SentForm
	publicKeys map[string]string
	// signup is the embedded signup's and the profiles' state.
	signup *signupState
	// book and realtime are the fake realtime speech model (the OpenAI
	// Realtime API at LLMPath+"/realtime", for voice steps in audio mode)
	// and the phrasebook it recognises callers' audio with, which the
	// sandbox's fake Twilio callees speak from.
	book     *audiotest.Book
	realtime *realtimetest.Server
	// replies are the messages accepted for customers (bounded), for
	// `parley sandbox send` to show; replySeq numbers them.
	replies  []Reply
	replySeq int
	// batcher aggregates status webhooks (Config.WebhookBatch).
	batcher statusBatcher

	srv *http.Server
	ln  net.Listener
}

// New returns a fake; use Handler with your own server, or Start.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, mux: http.NewServeMux(), ctx: ctx, cancel: cancel,
		webhookURL: cfg.WebhookURL, media: map[string]*storedMedia{}, publicKeys: map[string]string{}, nonce: newNonce()}
	s.book = audiotest.NewBook()
	s.realtime = realtimetest.NewHandler(s.book)
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("POST /{version}/{pnid}/messages", s.handleMessages)
	s.mux.HandleFunc("POST /{version}/{pnid}/media", s.handleUpload)
	s.mux.HandleFunc("GET /{version}/{id}", s.handleGetObject)
	s.mux.HandleFunc("DELETE /{version}/{id}", s.handleDeleteMedia)
	s.mux.HandleFunc("GET /media-download/{id}", s.handleDownload)
	s.mux.HandleFunc("POST /{version}/{waba}/message_templates", s.handleCreateTemplate)
	s.mux.HandleFunc("POST /{version}/{id}", s.handleEditTemplate)
	s.mux.HandleFunc("GET /{version}/{waba}/message_templates", s.handleListTemplates)
	s.mux.HandleFunc("DELETE /{version}/{waba}/message_templates", s.handleDeleteTemplate)
	s.messagingRoutes()
	s.flowRoutes()
	s.mux.Handle(LLMPath+"/", http.StripPrefix(LLMPath, sandboxllm.Handler(LLMChunkDelay)))
	s.mux.Handle("GET "+LLMPath+"/realtime", s.realtime)
	s.signupRoutes()
	// Flows endpoints (POST /{waba}/flows, /{flow_id}/assets, /publish…) are
	// the next extension: register them with Extend.
}

// Config is the fake's configuration, defaults applied.
func (s *Server) Config() Config { return s.cfg }

// Extend adds a route (ServeMux pattern) to the fake, e.g. the Flows
// management endpoints. Requests to it are recorded like the others.
func (s *Server) Extend(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the fake as an http.Handler; it records every request.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 110<<20))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: body, At: time.Now()})
		s.mu.Unlock()
		s.mux.ServeHTTP(w, r)
	})
}

// Start listens on cfg.Addr and serves until Stop or ctx ends.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("starting the sandbox Graph API on %s: %w", s.cfg.Addr, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	srv := s.srv
	s.mu.Unlock()
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			// Serve only fails here if the listener breaks; Stop cleans up.
			_ = err
		}
	}()
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			s.shutdown()
		case <-s.ctx.Done():
		}
	}()
	return nil
}

// Stop stops serving, cancels pending webhooks and hung requests, and waits
// for every goroutine of the fake to end.
func (s *Server) Stop() {
	s.shutdown()
	s.realtime.Close()
	s.wg.Wait()
}

// Phrasebook is the book the fake realtime model recognises callers'
// audio with: a fake Twilio whose callees speak from it is understood.
func (s *Server) Phrasebook() *audiotest.Book { return s.book }

func (s *Server) shutdown() {
	s.cancel()
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
}

// URL is the fake's base URL (the channel's api_base_url), once started.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// SetWebhookURL changes where webhooks go.
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	s.webhookURL = u
	s.mu.Unlock()
}

// Requests returns a copy of every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the requests to the messages endpoint.
func (s *Server) Messages() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/messages") {
			out = append(out, r)
		}
	}
	return out
}

// Deliveries returns the webhooks sent so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Reset forgets recorded requests, deliveries and queued faults.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.deliveries, s.faults = nil, nil, nil
}

// number is the configured phone number as payloads need it.
type number struct{ ID, Display, WABA string }

func (s *Server) number(pnid string) number {
	return number{ID: pnid, Display: s.cfg.DisplayPhoneNumber, WABA: s.cfg.WABAID}
}

// nextID is a new ID with the prefix: the instance's random nonce and a
// counter, all digits, so that IDs keep the shape of Meta's (a numeric
// media ID, a wamid) and never repeat across restarts.
func (s *Server) nextID(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%s%s%d", prefix, s.nonce, s.seq)
}

// newNonce is 15 random decimal digits.
func newNonce() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1e15))
	if err != nil {
		// crypto/rand does not fail on supported platforms; the clock is
		// unique enough for a fake.
		return fmt.Sprintf("%015d", time.Now().UnixNano()%1e15)
	}
	return fmt.Sprintf("%015d", n)
}

// authorized checks the bearer token like Meta (error 190 when wrong).
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" || (s.cfg.AccessToken != "" && tok != s.cfg.AccessToken && !s.businessToken(tok)) {
		graphError(w, http.StatusUnauthorized, 190, 463, "Error validating access token: Session has expired or the token is invalid.", "")
		return false
	}
	return true
}

// knownNumber checks the phone number ID of the path.
func (s *Server) knownNumber(w http.ResponseWriter, pnid string) bool {
	if s.cfg.PhoneNumberID != "" && pnid != s.cfg.PhoneNumberID && !s.registered(pnid) {
		graphError(w, http.StatusBadRequest, 100, 33, fmt.Sprintf(
			"Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", pnid), "")
		return false
	}
	return true
}
