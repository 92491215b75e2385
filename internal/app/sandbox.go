package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/channel/metamsg"
	"github.com/parleyhq/parley/internal/channel/viber"
	"github.com/parleyhq/parley/internal/channel/webchat"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/sandboxllm"
	"github.com/parleyhq/parley/internal/signup"
	"github.com/parleyhq/parley/internal/store"
)

// The sandbox WhatsApp number: a fake Graph API in this process, and a
// channel of the Default project talking to it.
const (
	SandboxChannelName   = "Sandbox WhatsApp"
	SandboxPhoneNumberID = "100000000000777"
	SandboxAppSecret     = "parley-sandbox-app-secret"
	SandboxAccessToken   = "parley-sandbox-access-token"
	SandboxWABAID        = "100000000000001"
	// SandboxAppID is the sandbox's Meta app, of its embedded signup.
	SandboxAppID = "100000000000999"
	// SandboxFlowName is the flow `serve --sandbox` keeps published, and
	// SandboxKeyword a word that starts it.
	SandboxFlowName = "Appointment booking (sandbox)"
	SandboxKeyword  = "book"
	// SandboxWebchatName is the sandbox's web chat channel.
	SandboxWebchatName = "Sandbox Web chat"
	// SandboxLLMName is the sandbox's AI provider.
	SandboxLLMName = "Sandbox LLM"
)

// SandboxInfo says what StartSandbox set up.
type SandboxInfo struct {
	ChannelID string
	GraphURL  string
	// FlowName is the flow kept published for the sandbox, FlowID its ID
	// and Keyword a word that starts it.
	FlowID   string
	FlowName string
	Keyword  string
	// Messaging are the sandbox's Messenger, Instagram and Viber channels
	// by type.
	Messaging map[string]string
	// WebchatID is the sandbox's web chat channel, WebchatTestURL its
	// test page.
	WebchatID      string
	WebchatTestURL string
	// LLMProviderID is the "Sandbox LLM" AI provider, pointing at the
	// fake's LLM (a fake for trying the AI features, not a model).
	LLMProviderID string
	// TwilioVoiceID is the sandbox's Twilio voice number, placing its
	// calls through the fake Twilio (SandboxTwilio).
	TwilioVoiceID string
	// VoiceID is the sandbox's simulated voice number.
	VoiceID string
}

// StartSandbox starts the fake Graph API and makes sure the Default
// project has a WhatsApp channel pointing at it (updated to the fake's new
// address on every start) and a published flow to talk to. Stop stops it.
func (a *App) StartSandbox(ctx context.Context) (SandboxInfo, error) {
	fake := sandbox.New(sandbox.Config{Addr: a.cfg.SandboxAddr, AppSecret: SandboxAppSecret, AccessToken: SandboxAccessToken,
		PhoneNumberID: SandboxPhoneNumberID, WABAID: SandboxWABAID, AppID: SandboxAppID})
	if err := fake.Start(ctx); err != nil {
		return SandboxInfo{}, fmt.Errorf("starting the sandbox Graph API: %w", err)
	}
	a.sandbox.Store(fake)
	// The fake listens on an internal address: the sandbox channel may
	// reach exactly it, nothing else internal.
	if err := a.AllowEndpoint(fake.URL()); err != nil {
		return SandboxInfo{}, err
	}
	p, err := a.accounts.ResolveProject(ctx, account.DefaultProjectName)
	if err != nil {
		return SandboxInfo{}, fmt.Errorf("the sandbox needs the Default project: %w", err)
	}
	cfg := map[string]any{"phone_number_id": SandboxPhoneNumberID, "waba_id": SandboxWABAID, "access_token": SandboxAccessToken,
		"app_secret": SandboxAppSecret, "verify_token": "parley-sandbox", "api_base_url": fake.URL()}
	ch, err := a.store.ChannelGetByAddress(ctx, store.ChannelGetByAddressParams{Type: whatsapp.ChannelType, Address: SandboxPhoneNumberID})
	switch {
	case errors.Is(err, store.ErrNotFound):
		ch, err = a.channels.Create(ctx, channels.CreateParams{ProjectID: p.ID, Type: whatsapp.ChannelType, Name: SandboxChannelName, Config: cfg})
	case err == nil:
		ch, err = a.channels.Update(ctx, channels.UpdateParams{ProjectID: ch.ProjectID, ID: ch.ID, Config: cfg})
	}
	if err != nil {
		return SandboxInfo{}, fmt.Errorf("preparing the sandbox channel: %w", err)
	}
	fake.SetWebhookURL(a.PublicURL() + "/webhooks/whatsapp/" + ch.ID)
	a.UseSandboxSignup(fake, "sandbox-embedded-signup")
	info := SandboxInfo{ChannelID: ch.ID, GraphURL: fake.URL()}
	if info.Messaging, err = a.sandboxMessaging(ctx, fake, p.ID); err != nil {
		return info, err
	}
	if info.WebchatID, err = a.sandboxWebchat(ctx, p.ID); err != nil {
		return info, err
	}
	info.WebchatTestURL = a.PublicURL() + "/webchat/" + info.WebchatID + "/test"
	if info.LLMProviderID, err = a.sandboxLLM(ctx, fake, p.ID); err != nil {
		return info, err
	}
	if info.TwilioVoiceID, err = a.sandboxTwilio(ctx, fake, p.ID); err != nil {
		return info, err
	}
	if info.VoiceID, err = a.sandboxVoice(ctx, p.ID); err != nil {
		return info, err
	}

	// Something to talk to, whatever else is published: the
	// appointment-booking template, created once and published again if
	// someone unpublished it.
	info.FlowName, info.Keyword = SandboxFlowName, SandboxKeyword
	found, err := a.store.FlowList(ctx, store.FlowListParams{ProjectID: p.ID, Search: SandboxFlowName, Page: store.Page{Limit: 50}})
	if err != nil {
		return info, fmt.Errorf("looking for the sandbox flow: %w", err)
	}
	for _, f := range found.Items {
		if f.Name != SandboxFlowName {
			continue
		}
		info.FlowID = f.ID
		if f.Status == store.FlowPublished {
			return info, nil
		}
		if _, err := a.flows.Publish(ctx, p.ID, f.ID, "system", f.Version); err != nil {
			return info, fmt.Errorf("publishing the sandbox flow again: %w", err)
		}
		return info, nil
	}
	f, err := a.flows.CreateFromTemplate(ctx, p.ID, "system", chatflow.FromTemplateInput{Template: "appointment_booking",
		Name: SandboxFlowName, IsActive: true})
	if err != nil {
		return info, fmt.Errorf("creating the sandbox flow: %w", err)
	}
	info.FlowID = f.ID
	return info, nil
}

// SandboxFake is the running sandbox's fake Graph API; nil before
// StartSandbox (tests read what reached "Meta" through it).
func (a *App) SandboxFake() *sandbox.Server { return a.sandbox.Load() }

// PublicURL is where this server is reached, for webhook URLs.
func (a *App) PublicURL() string {
	if a.cfg.PublicURL != "" && a.cfg.PublicURL != "http://"+a.cfg.Addr {
		return a.cfg.PublicURL
	}
	return "http://" + a.Addr()
}

// The sandbox's Messenger, Instagram and Viber channels, by type: their
// names, and the config pointing each at the fake.
func sandboxMessagingConfigs(fakeURL string) map[string]map[string]any {
	meta := func(p metamsg.Platform, id, path string) map[string]any {
		return map[string]any{p.IDField: id, "access_token": sandbox.MetaAccessToken, "app_secret": sandbox.MetaAppSecret,
			"verify_token": "parley-sandbox", "api_base_url": fakeURL + path}
	}
	return map[string]map[string]any{
		metamsg.Messenger.Name: meta(metamsg.Messenger, sandbox.MessengerPageID, sandbox.MessengerPath),
		metamsg.Instagram.Name: meta(metamsg.Instagram, sandbox.InstagramID, sandbox.InstagramPath),
		viber.Type: {"auth_token": sandbox.ViberToken, "sender_name": "Parley Sandbox", "welcome_message": "Welcome to the Parley sandbox bot! Say hi.",
			"api_base_url": fakeURL + sandbox.ViberPath},
	}
}

// sandboxMessaging makes sure the Default project has a ready channel of
// each messaging type pointing at the fake (found by name, updated to the
// fake's address on every start); the fake's webhooks point back at them.
// Saving the Viber channel registers its webhook with the fake, which
// checks it against this server, as Viber does.
func (a *App) sandboxMessaging(ctx context.Context, fake *sandbox.Server, projectID string) (map[string]string, error) {
	out := map[string]string{}
	for typ, cfg := range sandboxMessagingConfigs(fake.URL()) {
		t, _ := a.channels.Type(typ)
		name := "Sandbox " + t.Label
		all, err := a.store.ChannelListByType(ctx, typ)
		if err != nil {
			return nil, fmt.Errorf("listing the sandbox %s channels: %w", typ, err)
		}
		var ch domain.Channel
		for _, c := range all {
			if c.ProjectID == projectID && c.Name == name {
				ch = c
			}
		}
		if ch.ID == "" {
			ch, err = a.channels.Create(ctx, channels.CreateParams{ProjectID: projectID, Type: typ, Name: name, Config: cfg})
		} else {
			ch, err = a.channels.Update(ctx, channels.UpdateParams{ProjectID: projectID, ID: ch.ID, Config: cfg})
		}
		if err != nil {
			return nil, fmt.Errorf("preparing the sandbox %s channel: %w", typ, err)
		}
		if typ != viber.Type {
			fake.SetPlatformWebhookURL(typ, a.PublicURL()+"/webhooks/"+typ+"/"+ch.ID)
		}
		out[typ] = ch.ID
	}
	return out, nil
}

// sandboxWebchat makes sure the Default project has a web chat channel
// (found by name) whose allowed origins are this server's own, so its
// test page, and a page served next to it, can hold a conversation.
func (a *App) sandboxWebchat(ctx context.Context, projectID string) (string, error) {
	ch, err := a.sandboxWebchatChannel(ctx, projectID)
	cfg := map[string]any{"allowed_origins": a.PublicURL()}
	switch {
	case errors.Is(err, store.ErrNotFound):
		ch, err = a.channels.Create(ctx, channels.CreateParams{ProjectID: projectID, Type: webchat.Type, Name: SandboxWebchatName, Config: cfg})
	case err == nil:
		ch, err = a.channels.Update(ctx, channels.UpdateParams{ProjectID: projectID, ID: ch.ID, Config: cfg})
	}
	if err != nil {
		return "", fmt.Errorf("preparing the sandbox web chat channel: %w", err)
	}
	return ch.ID, nil
}

// sandboxWebchatChannel is the Default project's sandbox web chat
// channel, by name; store.ErrNotFound when there is none.
func (a *App) sandboxWebchatChannel(ctx context.Context, projectID string) (domain.Channel, error) {
	all, err := a.store.ChannelListByType(ctx, webchat.Type)
	if err != nil {
		return domain.Channel{}, fmt.Errorf("listing the web chat channels: %w", err)
	}
	for _, c := range all {
		if c.ProjectID == projectID && c.Name == SandboxWebchatName {
			return c, nil
		}
	}
	return domain.Channel{}, store.ErrNotFound
}

// sandboxLLM makes sure the Default project has the "Sandbox LLM" AI
// provider (found by name) pointing at the fake's LLM on its address of
// this start, so the AI features can be tried without an account.
func (a *App) sandboxLLM(ctx context.Context, fake *sandbox.Server, projectID string) (string, error) {
	all, err := a.store.AIProviderList(ctx, projectID)
	if err != nil {
		return "", fmt.Errorf("listing the AI providers: %w", err)
	}
	base := fake.URL() + sandbox.LLMPath
	now := time.Now()
	for _, p := range all {
		if p.Name != SandboxLLMName {
			continue
		}
		p.BaseURL, p.Model, p.JSONMode, p.UpdatedAt = base, sandboxllm.Model, ai.JSONSchema, now
		if _, err := a.store.AIProviderUpdate(ctx, p); err != nil {
			return "", fmt.Errorf("pointing the Sandbox LLM provider at the fake: %w", err)
		}
		return p.ID, nil
	}
	p, err := a.store.AIProviderCreate(ctx, store.AIProvider{ID: domain.UUIDv7{}.NewID(), ProjectID: projectID, Name: SandboxLLMName,
		BaseURL: base, Model: sandboxllm.Model, JSONMode: ai.JSONSchema, TimeoutSeconds: 60, MaxTokens: ai.DefaultMaxTokens,
		CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return "", fmt.Errorf("adding the Sandbox LLM provider: %w", err)
	}
	return p.ID, nil
}

// UseSandboxSignup points embedded signup and profile photo uploads at a
// fake Graph API (serve --sandbox's, or a test's): its app and secret,
// configID as the configuration, webhooks of connected numbers to this
// server's shared WhatsApp endpoint. The Channels page then shows the
// sandbox's stand-in for Meta's signup window.
func (a *App) UseSandboxSignup(fake *sandbox.Server, configID string) {
	c := fake.Config()
	u := fake.URL()
	a.onboarding.url.Store(&u)
	a.signups.Configure(signup.Config{AppID: c.AppID, AppSecret: c.AppSecret, ConfigID: configID, GraphURL: u, Sandbox: true,
		StandIn: signup.StandIn{Business: sandbox.SignupVerifiedName, WABAID: sandbox.SignupWABAID, PhoneNumberID: sandbox.SignupPhoneNumberID,
			DisplayPhone: sandbox.SignupDisplayPhone, CodePrefix: sandbox.SignupCodePrefix, PIN: sandbox.SignupPIN},
		CallbackURL: func() string { return a.PublicURL() + "/webhooks/whatsapp" }})
}
