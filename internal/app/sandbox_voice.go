package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel/voicenumber"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice/sim"
)

// The sandbox's voice number: a simulated one (calls placed from it are
// answered by the simulated provider, or by a person through
// `parley sandbox call`), and the number a sandbox callee has by default.
const (
	SandboxVoiceName    = "Sandbox voice line"
	SandboxVoiceNumber  = "+15555550100"
	SandboxCalleeNumber = "+15555550123"
)

// sandboxVoice makes sure the Default project has the simulated voice
// number (found by name).
func (a *App) sandboxVoice(ctx context.Context, projectID string) (string, error) {
	ch, err := a.sandboxVoiceChannel(ctx, projectID, "")
	cfg := map[string]any{"number": SandboxVoiceNumber, "provider": voicenumber.ProviderSimulated}
	switch {
	case errors.Is(err, store.ErrNotFound):
		ch, err = a.channels.Create(ctx, channels.CreateParams{ProjectID: projectID, Type: voicenumber.Type, Name: SandboxVoiceName, Config: cfg})
	case err == nil:
		return ch.ID, nil
	}
	if err != nil {
		return "", fmt.Errorf("preparing the sandbox voice number: %w", err)
	}
	return ch.ID, nil
}

// sandboxVoiceChannel finds a simulated voice number of the project: by
// ID, or the sandbox's own by name when id is "".
func (a *App) sandboxVoiceChannel(ctx context.Context, projectID, id string) (domain.Channel, error) {
	all, err := a.store.ChannelListByType(ctx, voicenumber.Type)
	if err != nil {
		return domain.Channel{}, fmt.Errorf("listing the voice numbers: %w", err)
	}
	for _, c := range all {
		if c.ProjectID != projectID {
			continue
		}
		if p, _ := a.channels.PublicConfig(c)["provider"].(string); p != voicenumber.ProviderSimulated {
			continue
		}
		if id == c.ID || id == "" && c.Name == SandboxVoiceName {
			return c, nil
		}
	}
	return domain.Channel{}, store.ErrNotFound
}

// SandboxCall implements httpapi.SandboxConsole: the next call from the
// voice number to the callee's number is live, and a flow started for
// the callee places it at once.
func (c sandboxConsole) SandboxCall(ctx context.Context, in httpapi.SandboxCallInput) (httpapi.SandboxCall, error) {
	if _, err := c.fake(); err != nil {
		return httpapi.SandboxCall{}, err
	}
	p, err := c.a.accounts.ResolveProject(ctx, account.DefaultProjectName)
	if err != nil {
		return httpapi.SandboxCall{}, err
	}
	ch, err := c.a.sandboxVoiceChannel(ctx, p.ID, in.ChannelID)
	if errors.Is(err, store.ErrNotFound) {
		return httpapi.SandboxCall{}, &domain.Error{Code: domain.CodeNotFound,
			Message: fmt.Sprintf("no simulated voice number %q in the Default project; `parley sandbox call` without --to-channel uses %q", in.ChannelID, SandboxVoiceName),
			Fields:  []domain.FieldError{{Pointer: "/channel_id", Message: "unknown simulated voice number"}}}
	}
	if err != nil {
		return httpapi.SandboxCall{}, err
	}
	number, scenario := in.Number, sim.Scenario(in.Scenario)
	if number == "" {
		number = SandboxCalleeNumber
	}
	if scenario == "" {
		scenario = sim.Answer
	}
	lv := c.a.voiceSim.ExpectLive(number, scenario)
	out := httpapi.SandboxCall{ID: lv.ID(), ChannelID: ch.ID, Number: number, Scenario: string(scenario)}
	if in.Flow == "" {
		return out, nil
	}
	f, err := c.flow(ctx, p.ID, in.Flow)
	if err != nil {
		lv.HangUp()
		return httpapi.SandboxCall{}, err
	}
	name := in.Name
	if name == "" {
		name = "Sandbox Callee"
	}
	st, err := c.a.conv.StartFlow(ctx, conversation.StartParams{ProjectID: p.ID, FlowID: f.ID, Phone: number, Name: name, ChannelID: ch.ID})
	if err != nil {
		lv.HangUp()
		return httpapi.SandboxCall{}, fmt.Errorf("starting flow %q for %s: %w", f.Name, number, err)
	}
	out.SessionID = st.SessionID
	return out, nil
}

// flow finds a published flow of the project by ID or name.
func (c sandboxConsole) flow(ctx context.Context, projectID, ref string) (store.Flow, error) {
	if f, err := c.a.store.FlowGet(ctx, store.Ref{ProjectID: projectID, ID: ref}); err == nil {
		return f, nil
	}
	found, err := c.a.store.FlowList(ctx, store.FlowListParams{ProjectID: projectID, Search: ref, Page: store.Page{Limit: 50}})
	if err != nil {
		return store.Flow{}, fmt.Errorf("looking for flow %q: %w", ref, err)
	}
	var names []string
	for _, f := range found.Items {
		if strings.EqualFold(f.Name, ref) {
			return f, nil
		}
		names = append(names, fmt.Sprintf("%q", f.Name))
	}
	hint := ""
	if len(names) > 0 {
		hint = "; similar: " + strings.Join(names, ", ")
	}
	return store.Flow{}, &domain.Error{Code: domain.CodeNotFound, Message: fmt.Sprintf("no flow named %q in the Default project%s", ref, hint),
		Fields: []domain.FieldError{{Pointer: "/flow", Message: "unknown flow"}}}
}

// SandboxLive implements httpapi.SandboxConsole: only calls SandboxCall
// set up are reachable here (the simulator's are behind a login).
func (c sandboxConsole) SandboxLive(ctx context.Context, id string) (*sim.Live, string, error) {
	if _, err := c.fake(); err != nil {
		return nil, "", err
	}
	lv, ok := c.a.voiceSim.Live(id)
	if !ok || lv.ID() != id {
		return nil, "", domain.NotFound("sandbox call", id)
	}
	p, err := c.a.accounts.ResolveProject(ctx, account.DefaultProjectName)
	if err != nil {
		return nil, "", err
	}
	return lv, p.ID, nil
}
