package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/parleyhq/parley/internal/channel/voicenumber"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
)

// The sandbox Twilio number: a fake Twilio account in this process, and a
// voice number of the Default project placing its calls there, so that a
// voice step runs through Twilio's real protocol without an account.
const (
	SandboxTwilioName   = "Sandbox Twilio number"
	SandboxTwilioNumber = "+15005550006"
	SandboxTwilioSID    = "AC0000000000000000000000000sandbox"
	SandboxTwilioToken  = "0000000000000000000000000sandbox"
)

// sandboxTwilio starts the fake Twilio and makes sure the project has a
// Twilio voice number pointing at it (updated to the fake's new address on
// every start). Its callees answer like the simulated provider's default.
func (a *App) sandboxTwilio(ctx context.Context, sb *sandbox.Server, projectID string) (string, error) {
	fake := twiliotest.New(SandboxTwilioSID, SandboxTwilioToken)
	// Callees speak from the phrasebook the sandbox's fake realtime model
	// knows, so a step in audio mode (engine realtime) hears them.
	fake.Book = sb.Phrasebook()
	fake.Default = twiliotest.Script{Scenario: twiliotest.Answer, Lines: []string{"Hello?", "Yes, that works for me.", "Thank you, goodbye."}}
	if old := a.sandboxTwilioFake.Swap(fake); old != nil {
		old.Close()
	}
	if err := a.AllowEndpoint(fake.URL()); err != nil {
		return "", err
	}
	cfg := map[string]any{"number": SandboxTwilioNumber, "provider": voicenumber.ProviderTwilio, "account_sid": SandboxTwilioSID,
		"auth_token": SandboxTwilioToken, "api_base_url": fake.URL()}
	ch, err := a.store.ChannelGetByAddress(ctx, store.ChannelGetByAddressParams{Type: voicenumber.Type, Address: SandboxTwilioNumber})
	switch {
	case errors.Is(err, store.ErrNotFound):
		ch, err = a.channels.Create(ctx, channels.CreateParams{ProjectID: projectID, Type: voicenumber.Type, Name: SandboxTwilioName, Config: cfg})
	case err == nil:
		ch, err = a.channels.Update(ctx, channels.UpdateParams{ProjectID: ch.ProjectID, ID: ch.ID, Config: cfg})
	}
	if err != nil {
		return "", fmt.Errorf("setting up the sandbox Twilio number: %w", err)
	}
	return ch.ID, nil
}

// SandboxTwilio is the sandbox's fake Twilio, nil before StartSandbox.
func (a *App) SandboxTwilio() *twiliotest.Fake { return a.sandboxTwilioFake.Load() }
