package webchat_test

import (
	"net/http"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
	"github.com/parleyhq/parley/internal/channel/webchat"
)

// TestConformance runs the web chat through the suite every channel passes:
// it parses no webhooks, its sends call no provider, and the channel log
// check runs too (it has nothing to log and no secrets, and must call
// nothing through the client it is given).
func TestConformance(t *testing.T) {
	t.Parallel()
	channeltest.Run(t, channeltest.Suite{
		New: func(t *testing.T, _ string, _ *http.Client) channel.Adapter {
			a, err := webchat.New(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			return a
		},
		NoProvider: true,
		Sends: []channeltest.SendCase{
			{Name: "text", Msg: channel.Outbound{Kind: channel.OutText, OurID: "msg-1", To: "visitor-1", Text: "Hello"}, ProviderID: "webchat.msg-1"},
			{Name: "buttons", Msg: channel.Outbound{Kind: channel.OutButtons, OurID: "msg-2", To: "visitor-1", Body: "Pick",
				Buttons: []channel.ReplyButton{{ID: "a", Title: "A"}}}, ProviderID: "webchat.msg-2"},
		},
	})
}
