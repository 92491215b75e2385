package webchat

import (
	"context"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
)

func TestTypeConformance(t *testing.T) {
	t.Parallel()
	channeltest.RunType(t, channeltest.TypeSuite{
		Type:  Definition(),
		Valid: map[string]any{},
		Invalid: []channeltest.InvalidConfig{
			{Name: "any setting", Config: map[string]any{"token": "x"}, Pointer: "/config"},
		},
	})
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
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Adapter{}.Send(context.Background(), tc.msg)
			if (err != nil) != tc.wantErr || res.Delivered != tc.delivered {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			if err == nil && res.ProviderID != "webchat."+tc.msg.OurID {
				t.Fatalf("provider ID %q", res.ProviderID)
			}
		})
	}
	if (Adapter{}).VerifySignature([]byte("{}"), nil) {
		t.Fatal("the web chat takes no webhooks")
	}
}
