// Package signup owns connecting a WhatsApp number through Meta's embedded
// signup: after the business finished Meta's signup window (the Facebook
// JS SDK, or the sandbox's stand-in), the code and the business account and
// number IDs it returned are turned into a channel in four steps — exchange
// the code for a business token, subscribe the app to the account's
// webhooks, register the number with its PIN, create the channel — each
// recorded with its outcome, so a failed signup is retried from the step
// that failed (docs/whatsapp.md).
package signup

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
)

// Graph makes the signup's Graph API calls (whatsapp.Onboarding).
type Graph interface {
	ExchangeCode(ctx context.Context, appID, appSecret, code string) (string, error)
	SubscribeApp(ctx context.Context, token, wabaID, callbackURL, verifyToken string) error
	Register(ctx context.Context, token, phoneID, pin string) error
}

// Channels creates the channel (the channel service).
type Channels interface {
	Create(ctx context.Context, p channels.CreateParams) (domain.Channel, error)
}

// Store is what the service needs of the database.
type Store interface {
	store.NumberProfiles
}

// Config is the operator's Meta app and where the new channel reaches.
type Config struct {
	AppID, AppSecret, ConfigID string
	// GraphURL is the Graph API root the channel is configured with
	// (empty: Meta's).
	GraphURL string
	// CallbackURL, when set, is given to subscribed_apps as the account's
	// webhook URL (override_callback_uri); otherwise the app's own
	// callback (set in Meta's App Dashboard) receives them.
	CallbackURL func() string
	// Sandbox says the Graph API is the sandbox's fake: the UI then shows
	// a stand-in for Meta's signup window, which returns what Stand-in
	// says.
	Sandbox bool
	StandIn StandIn
}

// StandIn is what the sandbox's imitation of Meta's signup window returns:
// the fake business, its account and number, and the code's prefix.
type StandIn struct {
	Business      string `json:"business"`
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id"`
	DisplayPhone  string `json:"display_phone"`
	CodePrefix    string `json:"code_prefix"`
	PIN           string `json:"pin"`
}

// Deps are the service's dependencies.
type Deps struct {
	Store    Store
	Graph    Graph
	Channels Channels
	Box      *secret.Box
	Clock    domain.Clock
	IDs      domain.IDGen
	Config   Config
}

// Service runs embedded signups.
type Service struct {
	d   Deps
	cfg atomic.Pointer[Config]
}

// New returns the service.
func New(d Deps) *Service {
	s := &Service{d: d}
	s.Configure(d.Config)
	return s
}

// Configure replaces the configuration (serve --sandbox points it at the
// fake Graph API once that listens).
func (s *Service) Configure(c Config) { s.cfg.Store(&c) }

// Config is the configuration as the UI needs it (no secret).
func (s *Service) Config() Config { c := *s.cfg.Load(); c.AppSecret = ""; return c }

// The steps, in order.
const (
	StepExchange  = "exchange_code"
	StepSubscribe = "subscribe_app"
	StepRegister  = "register_number"
	StepChannel   = "create_channel"
)

var stepOrder = []string{StepExchange, StepSubscribe, StepRegister, StepChannel}

// Statuses of a step and of a signup.
const (
	StatusPending = "pending"
	StatusDone    = "done"
	StatusFailed  = "failed"
	StatusRunning = "running"
)

// Step is one step with its outcome.
type Step struct {
	Name   string     `json:"name"`
	Status string     `json:"status" enum:"pending,done,failed"`
	Detail string     `json:"detail,omitempty"`
	At     *time.Time `json:"at,omitempty"`
}

// View is a signup as the API shows it.
type View struct {
	ID            string    `json:"id"`
	WABAID        string    `json:"waba_id"`
	PhoneNumberID string    `json:"phone_number_id"`
	Name          string    `json:"name"`
	Status        string    `json:"status" enum:"running,done,failed"`
	Steps         []Step    `json:"steps"`
	ChannelID     string    `json:"channel_id,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Input is what the signup window returned, and the number's PIN.
type Input struct {
	Code          string
	WABAID        string
	PhoneNumberID string
	// PIN is the number's two-step verification PIN (6 digits; it sets
	// the PIN when the number has none).
	PIN string
	// Name is the channel's name in Parley.
	Name string
}

var (
	numericID = regexp.MustCompile(`^[0-9]{1,32}$`)
	pinRe     = regexp.MustCompile(`^[0-9]{6}$`)
)

// Start records a signup and runs its steps.
func (s *Service) Start(ctx context.Context, projectID string, in Input) (View, error) {
	c := *s.cfg.Load()
	if c.AppID == "" || c.AppSecret == "" {
		return View{}, domain.Errorf(domain.CodeUnprocessable, "embedded signup is not configured: set PARLEY_META_APP_ID, PARLEY_META_APP_SECRET and PARLEY_META_CONFIG_ID")
	}
	switch {
	case strings.TrimSpace(in.Code) == "":
		return View{}, domain.Errorf(domain.CodeInvalid, "code: the signup window returned no code")
	case !numericID.MatchString(in.WABAID):
		return View{}, domain.Errorf(domain.CodeInvalid, "waba_id: %q is not a WhatsApp Business Account ID", in.WABAID)
	case !numericID.MatchString(in.PhoneNumberID):
		return View{}, domain.Errorf(domain.CodeInvalid, "phone_number_id: %q is not a phone number ID", in.PhoneNumberID)
	case !pinRe.MatchString(in.PIN):
		return View{}, domain.Errorf(domain.CodeInvalid, "pin: the number's two-step verification PIN is 6 digits")
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = "WhatsApp " + in.PhoneNumberID
	}
	now := s.d.Clock.Now()
	steps := make([]Step, len(stepOrder))
	for i, n := range stepOrder {
		steps[i] = Step{Name: n, Status: StatusPending}
	}
	raw, _ := json.Marshal(steps)
	su := store.WhatsAppSignup{ID: s.d.IDs.NewID(), ProjectID: projectID, WABAID: in.WABAID, PhoneNumberID: in.PhoneNumberID, Name: name,
		Steps: raw, Status: StatusRunning, CreatedAt: now, UpdatedAt: now}
	if err := s.d.Store.WhatsAppSignupCreate(ctx, su); err != nil {
		return View{}, err
	}
	return s.run(ctx, su, in.Code, in.PIN)
}

// Retry runs a failed signup again from its failed step; code is needed
// only when the code exchange failed (relaunch the signup window for a new
// one), pin when the registration has not succeeded yet.
func (s *Service) Retry(ctx context.Context, r store.Ref, code, pin string) (View, error) {
	su, err := s.d.Store.WhatsAppSignupGet(ctx, r)
	if err != nil {
		return View{}, err
	}
	if su.Status == StatusDone {
		return s.view(su), domain.Errorf(domain.CodeConflict, "this signup is complete: its channel exists")
	}
	if pin != "" && !pinRe.MatchString(pin) {
		return View{}, domain.Errorf(domain.CodeInvalid, "pin: the number's two-step verification PIN is 6 digits")
	}
	return s.run(ctx, su, code, pin)
}

// Get returns a signup.
func (s *Service) Get(ctx context.Context, r store.Ref) (View, error) {
	su, err := s.d.Store.WhatsAppSignupGet(ctx, r)
	if err != nil {
		return View{}, err
	}
	return s.view(su), nil
}

func (s *Service) view(su store.WhatsAppSignup) View {
	var steps []Step
	_ = json.Unmarshal(su.Steps, &steps)
	return View{ID: su.ID, WABAID: su.WABAID, PhoneNumberID: su.PhoneNumberID, Name: su.Name, Status: su.Status, Steps: steps, ChannelID: su.ChannelID,
		CreatedAt: su.CreatedAt, UpdatedAt: su.UpdatedAt}
}

// run performs the steps not done yet, in order, stopping at the first
// failure; every outcome is saved.
func (s *Service) run(ctx context.Context, su store.WhatsAppSignup, code, pin string) (View, error) {
	var steps []Step
	if err := json.Unmarshal(su.Steps, &steps); err != nil {
		return View{}, fmt.Errorf("reading the signup's steps: %w", err)
	}
	c := *s.cfg.Load()
	var token string
	if su.TokenSealed != "" {
		t, err := s.d.Box.Open(su.TokenSealed)
		if err != nil {
			return View{}, fmt.Errorf("opening the signup's business token: %w", err)
		}
		token = t
	}
	su.Status = StatusRunning
	for i := range steps {
		st := &steps[i]
		if st.Status == StatusDone {
			continue
		}
		var err error
		switch st.Name {
		case StepExchange:
			if code == "" {
				err = errors.New("the code was used or has expired: launch the signup again for a new one")
				break
			}
			token, err = s.d.Graph.ExchangeCode(ctx, c.AppID, c.AppSecret, code)
			if err == nil {
				su.TokenSealed, err = s.d.Box.Seal(token)
			}
		case StepSubscribe:
			cb := ""
			if c.CallbackURL != nil {
				cb = c.CallbackURL()
			}
			err = s.d.Graph.SubscribeApp(ctx, token, su.WABAID, cb, s.verifyToken(su.ID))
		case StepRegister:
			if pin == "" {
				err = errors.New("the number's 6-digit PIN is needed to register it")
				break
			}
			err = s.d.Graph.Register(ctx, token, su.PhoneNumberID, pin)
		case StepChannel:
			cfg := map[string]any{"phone_number_id": su.PhoneNumberID, "waba_id": su.WABAID, "access_token": token, "app_secret": c.AppSecret,
				"verify_token": s.verifyToken(su.ID)}
			if c.GraphURL != "" {
				cfg["api_base_url"] = c.GraphURL
			}
			var ch domain.Channel
			ch, err = s.d.Channels.Create(ctx, channels.CreateParams{ProjectID: su.ProjectID, Type: "whatsapp", Name: su.Name, Config: cfg})
			if err == nil {
				su.ChannelID = ch.ID
			}
		}
		now := s.d.Clock.Now()
		st.At = &now
		if err != nil {
			st.Status, st.Detail = StatusFailed, err.Error()
			su.Status = StatusFailed
			break
		}
		st.Status, st.Detail = StatusDone, ""
	}
	if su.Status == StatusRunning {
		su.Status = StatusDone
	}
	su.Steps, _ = json.Marshal(steps)
	su.UpdatedAt = s.d.Clock.Now()
	if err := s.d.Store.WhatsAppSignupUpdate(ctx, su); err != nil {
		return View{}, err
	}
	return s.view(su), nil
}

// verifyToken is the verify token of the channel a signup creates, the
// same at every step and retry without being stored: an HMAC of the
// signup's ID keyed with the app secret.
func (s *Service) verifyToken(signupID string) string {
	m := hmac.New(sha256.New, []byte(s.cfg.Load().AppSecret))
	m.Write([]byte(signupID))
	return "parley-" + hex.EncodeToString(m.Sum(nil))[:32]
}
