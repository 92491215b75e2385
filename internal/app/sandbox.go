package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/chatflow"
	"github.com/parleyhq/parley/internal/sandbox"
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
)

// SandboxInfo says what StartSandbox set up.
type SandboxInfo struct {
	ChannelID string
	GraphURL  string
	// FlowName is the flow published for the sandbox, if one was, and
	// Keyword a word that starts it.
	FlowName string
	Keyword  string
}

// StartSandbox starts the fake Graph API and makes sure the Default
// project has a WhatsApp channel pointing at it (updated to the fake's new
// address on every start) and a published flow to talk to. Stop stops it.
func (a *App) StartSandbox(ctx context.Context) (SandboxInfo, error) {
	fake := sandbox.New(sandbox.Config{Addr: a.cfg.SandboxAddr, AppSecret: SandboxAppSecret, AccessToken: SandboxAccessToken,
		PhoneNumberID: SandboxPhoneNumberID, WABAID: SandboxWABAID})
	if err := fake.Start(ctx); err != nil {
		return SandboxInfo{}, fmt.Errorf("starting the sandbox Graph API: %w", err)
	}
	a.sandbox = fake
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
	info := SandboxInfo{ChannelID: ch.ID, GraphURL: fake.URL()}

	published, err := a.store.FlowList(ctx, store.FlowListParams{ProjectID: p.ID, Status: store.FlowPublished, Page: store.Page{Limit: 1}})
	if err != nil {
		return info, err
	}
	if len(published.Items) > 0 {
		return info, nil
	}
	// Something to talk to: the appointment-booking template, published.
	f, err := a.flows.CreateFromTemplate(ctx, p.ID, "system", chatflow.FromTemplateInput{Template: "appointment_booking",
		Name: "Appointment booking (sandbox)", IsActive: true})
	if err != nil {
		return info, fmt.Errorf("creating the sandbox flow: %w", err)
	}
	info.FlowName, info.Keyword = f.Name, "book"
	return info, nil
}

// PublicURL is where this server is reached, for webhook URLs.
func (a *App) PublicURL() string {
	if a.cfg.PublicURL != "" && a.cfg.PublicURL != "http://"+a.cfg.Addr {
		return a.cfg.PublicURL
	}
	return "http://" + a.Addr()
}
