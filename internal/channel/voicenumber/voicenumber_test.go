package voicenumber_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
	"github.com/parleyhq/parley/internal/channel/voicenumber"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/voice"
	"github.com/parleyhq/parley/internal/voice/sim"
)

func TestType(t *testing.T) {
	t.Parallel()
	channeltest.RunType(t, channeltest.TypeSuite{
		Type:  voicenumber.Definition(sim.New(domain.SystemClock{}, domain.UUIDv7{})),
		Valid: map[string]any{"number": "+14155550100", "provider": "simulated"},
		Invalid: []channeltest.InvalidConfig{
			{Name: "no number", Config: map[string]any{}, Pointer: "/config/number"},
			{Name: "local number", Config: map[string]any{"number": "4155550100"}, Pointer: "/config/number"},
			{Name: "not a number", Config: map[string]any{"number": "+1abc"}, Pointer: "/config/number"},
			{Name: "unknown provider", Config: map[string]any{"number": "+14155550100", "provider": "acme"}, Pointer: "/config/provider"},
			{Name: "unknown setting", Config: map[string]any{"number": "+14155550100", "sip": "x"}, Pointer: "/config/sip"},
			{Name: "twilio without account", Config: map[string]any{"number": "+14155550100", "provider": "twilio", "auth_token": "t"}, Pointer: "/config/account_sid"},
			{Name: "twilio without token", Config: map[string]any{"number": "+14155550100", "provider": "twilio", "account_sid": sid}, Pointer: "/config/auth_token"},
			{Name: "bad account SID", Config: map[string]any{"number": "+14155550100", "provider": "twilio", "account_sid": "XY1", "auth_token": "t"}, Pointer: "/config/account_sid"},
			{Name: "bad API URL", Config: map[string]any{"number": "+14155550100", "provider": "twilio", "account_sid": sid, "auth_token": "t", "api_base_url": "ftp://x"}, Pointer: "/config/api_base_url"},
			{Name: "twilio setting on a simulated number", Config: map[string]any{"number": "+14155550100", "account_sid": sid}, Pointer: "/config/account_sid"},
		},
	})
}

const sid = "AC00000000000000000000000000000001"

// TestTwilioConfig: a Twilio number's auth token is sealed (Secret), the
// API base URL defaults to Twilio's, and the adapter serves the number's
// webhooks and redacts the token from the channel log.
func TestTwilioConfig(t *testing.T) {
	t.Parallel()
	typ := voicenumber.Definition(sim.New(domain.SystemClock{}, domain.UUIDv7{}))
	cfg, err := typ.Configure(map[string]any{"number": "+14155550100", "provider": "twilio", "account_sid": sid, "auth_token": "secret-token"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Secret["auth_token"] != "secret-token" || cfg.Public["auth_token"] != nil || cfg.Public["api_base_url"] != "https://api.twilio.com" || cfg.Address != "+14155550100" {
		t.Fatalf("config %+v", cfg)
	}
	a, err := typ.New([]byte(`{"number":"+14155550100","provider":"twilio","account_sid":"`+sid+`","auth_token":"secret-token","api_base_url":"https://api.twilio.com"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.(channel.Server); !ok {
		t.Fatal("a Twilio number does not serve its webhooks")
	}
	if s := a.Secrets(); len(s) != 1 || s[0] != "secret-token" {
		t.Fatalf("secrets %q", s)
	}
	// Without its webhook URL a Twilio number refuses to call.
	if _, err := a.(voice.Provider).Place(context.Background(), voice.Dial{To: "+15551234567"}); err == nil {
		t.Fatal("a Twilio number without its webhook URL placed a call")
	}
}

func TestAdapterPlacesCallsFromItsNumber(t *testing.T) {
	t.Parallel()
	p := sim.New(domain.SystemClock{}, domain.UUIDv7{})
	typ := voicenumber.Definition(p)
	cfg, err := typ.Configure(map[string]any{"number": "+1 415 555 0100"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Address != "+14155550100" {
		t.Fatalf("address %q, want the E.164 number", cfg.Address)
	}
	a, err := typ.New([]byte(`{"number":"+14155550100","provider":"simulated"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	vp, ok := a.(voice.Provider)
	if !ok {
		t.Fatal("a voice number's adapter is not a voice.Provider")
	}
	leg, err := vp.Place(context.Background(), voice.Dial{To: "+14155550111", From: "+19999999999"})
	if err != nil {
		t.Fatal(err)
	}
	if got := leg.(*sim.Leg).Dial().From; got != "+14155550100" {
		t.Errorf("called from %q, want the number's own", got)
	}
	_, err = a.Send(context.Background(), channel.Outbound{Kind: channel.OutText, To: "x", Text: "hi"})
	var se *channel.SendError
	if !errors.As(err, &se) || se.Class != channel.Permanent {
		t.Errorf("send = %v, want a permanent refusal", err)
	}
}
