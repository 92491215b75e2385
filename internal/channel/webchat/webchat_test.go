package webchat

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
)

func TestTypeConformance(t *testing.T) {
	t.Parallel()
	channeltest.RunType(t, channeltest.TypeSuite{
		Type:  Definition(),
		Valid: map[string]any{"allowed_origins": "https://shop.example.com, http://localhost:8080", "messages_per_minute": 30},
		Invalid: []channeltest.InvalidConfig{
			{Name: "unknown setting", Config: map[string]any{"token": "x"}, Pointer: "/config/token"},
			{Name: "origin with a path", Config: map[string]any{"allowed_origins": "https://shop.example.com/chat"}, Pointer: "/config/allowed_origins"},
			{Name: "origin without a scheme", Config: map[string]any{"allowed_origins": "shop.example.com"}, Pointer: "/config/allowed_origins"},
			{Name: "origin of another scheme", Config: map[string]any{"allowed_origins": "ftp://shop.example.com"}, Pointer: "/config/allowed_origins"},
			{Name: "origins not a string", Config: map[string]any{"allowed_origins": []any{"https://a.example"}}, Pointer: "/config/allowed_origins"},
			{Name: "allowance zero", Config: map[string]any{"messages_per_minute": 0}, Pointer: "/config/messages_per_minute"},
			{Name: "allowance fractional", Config: map[string]any{"messages_per_minute": 1.5}, Pointer: "/config/messages_per_minute"},
			{Name: "allowance huge", Config: map[string]any{"messages_per_minute": 1e9}, Pointer: "/config/messages_per_minute"},
		},
	})
}

func newAdapter(t *testing.T, cfg string) *Adapter {
	t.Helper()
	a, err := New(json.RawMessage(cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a.(*Adapter)
}

// TestSend: a send is the delivery (no receipt follows), and needs our ID.
func TestSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		msg       channel.Outbound
		delivered bool
		wantErr   bool
	}{
		{"text", channel.Outbound{Kind: channel.OutText, OurID: "m-1", To: "visitor-1", Text: "hi"}, true, false},
		{"without our ID", channel.Outbound{Kind: channel.OutText, To: "visitor-1", Text: "hi"}, false, true},
	}
	a := newAdapter(t, "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := a.Send(context.Background(), tc.msg)
			if (err != nil) != tc.wantErr || res.Delivered != tc.delivered {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			if err == nil && res.ProviderID != "webchat."+tc.msg.OurID {
				t.Fatalf("provider ID %q", res.ProviderID)
			}
		})
	}
	if a.VerifySignature([]byte("{}"), nil) {
		t.Fatal("the web chat takes no webhooks")
	}
}

// TestVisitorTokens: the address is a function of the token, tokens are
// unguessable and distinct, and anything else is refused.
func TestVisitorTokens(t *testing.T) {
	t.Parallel()
	a := newAdapter(t, "")
	tok, addr, err := a.NewVisitor()
	if err != nil {
		t.Fatal(err)
	}
	tok2, addr2, _ := a.NewVisitor()
	if tok == tok2 || addr == addr2 {
		t.Fatal("two visitors got the same token or address")
	}
	if got, ok := a.VisitorAddress(tok); !ok || got != addr {
		t.Fatalf("VisitorAddress(token) = %q, %v; want %q", got, ok, addr)
	}
	if strings.Contains(addr, strings.TrimPrefix(tok, tokenPrefix)) {
		t.Fatal("the address reveals the token")
	}
	for _, bad := range []string{"", addr, "wcv_", "wcv_!!!", tok[:len(tok)-2], "xyz_" + strings.TrimPrefix(tok, tokenPrefix), tok + "AA"} {
		if _, ok := a.VisitorAddress(bad); ok {
			t.Errorf("VisitorAddress(%q) accepted", bad)
		}
	}
}

func TestAllowsOrigin(t *testing.T) {
	t.Parallel()
	a := newAdapter(t, `{"allowed_origins":"https://Shop.example.com http://localhost:8080"}`)
	tests := []struct {
		origin string
		want   bool
	}{
		{"https://shop.example.com", true},
		{"http://localhost:8080", true},
		{"http://shop.example.com", false},
		{"https://evil.example.com", false},
		{"https://shop.example.com.evil.com", false},
		{"null", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := a.AllowsOrigin(tc.origin); got != tc.want {
			t.Errorf("AllowsOrigin(%q) = %v", tc.origin, got)
		}
	}
}

// TestAllowMessage: a visitor gets the allowance, then waits; another
// visitor is not affected; time refills it.
func TestAllowMessage(t *testing.T) {
	t.Parallel()
	a := newAdapter(t, `{"messages_per_minute":3}`)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, ok := a.AllowMessage("v1", t0); !ok {
			t.Fatalf("message %d refused", i+1)
		}
	}
	wait, ok := a.AllowMessage("v1", t0)
	if ok || wait != 20*time.Second {
		t.Fatalf("4th message = %v, %v; want refused for 20s", wait, ok)
	}
	if _, ok := a.AllowMessage("v2", t0); !ok {
		t.Fatal("another visitor was limited")
	}
	if _, ok := a.AllowMessage("v1", t0.Add(20*time.Second)); !ok {
		t.Fatal("the allowance did not refill")
	}
}
