package metamsg

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
)

const (
	testSecret = "meta-app-secret"
	testToken  = "EAAGpagetoken"
	testVerify = "verify-me"
)

var testAccounts = map[string]string{Messenger.Name: "1000000000001", Instagram.Name: "17841400000000001"}

func testAdapter(p Platform, base string, hc *http.Client) *Adapter {
	return New(p, Config{AccountID: testAccounts[p.Name], AccessToken: testToken, AppSecret: testSecret, VerifyToken: testVerify,
		APIBaseURL: base, APIVersion: "v25.0", MessagesPerSecond: 10}, hc)
}

// expected are the kinds each recorded body parses into.
var expected = map[string][]channel.Kind{
	"messenger/text.json":             {channel.KindText},
	"messenger/quick_reply.json":      {channel.KindQuickReply},
	"messenger/reply_to.json":         {channel.KindText},
	"messenger/attachment.json":       {channel.KindMedia},
	"messenger/postback.json":         {channel.KindButtonReply},
	"messenger/postback_changes.json": {channel.KindButtonReply},
	"messenger/delivery.json":         {channel.KindStatus},
	"messenger/read.json":             {channel.KindStatus},
	"messenger/echo.json":             {channel.KindIgnored},
	"messenger/standby_echo.json":     {channel.KindIgnored},
	"messenger/reaction.json":         {channel.KindReaction},
	"messenger/referral.json":         {channel.KindIgnored},
	"instagram/text.json":             {channel.KindText},
	"instagram/quick_reply.json":      {channel.KindListReply},
	"instagram/story_reply.json":      {channel.KindText},
	"instagram/story_mention.json":    {channel.KindMedia},
	"instagram/echo.json":             {channel.KindIgnored},
	"instagram/deleted.json":          {channel.KindRevoke},
	"instagram/postback.json":         {channel.KindButtonReply},
	"instagram/seen.json":             {channel.KindStatus},
	"instagram/reaction.json":         {channel.KindReaction},
	"instagram/referral.json":         {channel.KindIgnored},
	"instagram/comment.json":          {channel.KindIgnored},
}

func recorded(t testing.TB, p Platform) []channeltest.Webhook {
	files, err := filepath.Glob(filepath.Join("testdata", p.Name, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded %s webhooks: %v", p.Name, err)
	}
	var out []channeltest.Webhook
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := p.Name + "/" + filepath.Base(f)
		kinds, ok := expected[name]
		if !ok {
			t.Fatalf("%s: no expectation for this recorded body", name)
		}
		out = append(out, channeltest.Webhook{Name: name, Body: body, Kinds: kinds})
	}
	return out
}

func graphErr(code, sub int, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "OAuthException", "code": code,
		"error_subcode": sub, "fbtrace_id": "AbCdEfGhIjK"}})
	return string(b)
}

func suite(p Platform) channeltest.Suite {
	acct := testAccounts[p.Name]
	path := "/v25.0/" + acct + "/messages"
	resp := `{"recipient_id":"6200000000000001","message_id":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"}`
	send := func(name string, msg channel.Outbound, body string) channeltest.SendCase {
		return channeltest.SendCase{Name: name, Msg: msg, Path: path, Body: body,
			Header:   map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json"},
			Response: resp, ProviderID: "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"}
	}
	to := "6200000000000001"
	return channeltest.Suite{
		New:       func(t *testing.T, base string, hc *http.Client) channel.Adapter { return testAdapter(p, base, hc) },
		Secrets:   []string{testToken, testSecret, testVerify},
		Sign:      func(body []byte) http.Header { return http.Header{SignatureHeader: {Sign(body, testSecret)}} },
		Handshake: url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {testVerify}, "hub.challenge": {"1158201444"}},
		Challenge: "1158201444",
		BadHandshakes: []url.Values{
			{"hub.mode": {"subscribe"}, "hub.verify_token": {"wrong"}, "hub.challenge": {"1"}},
			{"hub.mode": {"unsubscribe"}, "hub.verify_token": {testVerify}, "hub.challenge": {"1"}},
			{"hub.challenge": {"1"}},
		},
		Sends: []channeltest.SendCase{
			send("text", channel.Outbound{Kind: channel.OutText, To: to, Text: "Hello"},
				`{"recipient":{"id":"6200000000000001"},"messaging_type":"RESPONSE","message":{"text":"Hello"}}`),
			send("button template", channel.Outbound{Kind: channel.OutButtons, To: to, Body: "Confirm?",
				Buttons: []channel.ReplyButton{{ID: "b0", Title: "Yes"}, {ID: "b1", Title: "No"}}},
				`{"recipient":{"id":"6200000000000001"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"template","payload":{"template_type":"button","text":"Confirm?","buttons":[{"type":"postback","title":"Yes","payload":"b0"},{"type":"postback","title":"No","payload":"b1"}]}}}}`),
			send("quick replies", channel.Outbound{Kind: channel.OutButtons, To: to, Body: "Pick a color:",
				Buttons: []channel.ReplyButton{{ID: "b0", Title: "Red"}, {ID: "b1", Title: "Green"}, {ID: "b2", Title: "Blue"}, {ID: "b3", Title: "Yellow"}}},
				`{"recipient":{"id":"6200000000000001"},"messaging_type":"RESPONSE","message":{"text":"Pick a color:","quick_replies":[{"content_type":"text","title":"Red","payload":"b0"},{"content_type":"text","title":"Green","payload":"b1"},{"content_type":"text","title":"Blue","payload":"b2"},{"content_type":"text","title":"Yellow","payload":"b3"}]}}`),
			send("list as quick replies", channel.Outbound{Kind: channel.OutList, To: to, Body: "Which size?",
				List: &channel.List{Button: "Sizes", Sections: []channel.ListSection{{Rows: []channel.ListRow{{ID: "s", Title: "Small"}, {ID: "l", Title: "Large"}}}}}},
				`{"recipient":{"id":"6200000000000001"},"messaging_type":"RESPONSE","message":{"text":"Which size?","quick_replies":[{"content_type":"text","title":"Small","payload":"list:s"},{"content_type":"text","title":"Large","payload":"list:l"}]}}`),
			send("list as generic template", channel.Outbound{Kind: channel.OutList, To: to,
				List: &channel.List{Button: "Pick", Sections: []channel.ListSection{{Rows: []channel.ListRow{{ID: "p1", Title: "Plan 1", Description: "Basic"}, {ID: "p2", Title: "Plan 2", Description: "Pro"}}}}}},
				`{"recipient":{"id":"6200000000000001"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"template","payload":{"template_type":"generic","elements":[{"title":"Plan 1","subtitle":"Basic","buttons":[{"type":"postback","title":"Pick","payload":"list:p1"}]},{"title":"Plan 2","subtitle":"Pro","buttons":[{"type":"postback","title":"Pick","payload":"list:p2"}]}]}}}}`),
			send("media by URL", channel.Outbound{Kind: channel.OutMedia, To: to, Media: &channel.MediaRef{Type: channel.MediaImage, Link: "https://example.com/a.png"}},
				`{"recipient":{"id":"6200000000000001"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"image","payload":{"url":"https://example.com/a.png","is_reusable":true}}}}`),
			send("link button", channel.Outbound{Kind: channel.OutCTAURL, To: to, Body: "Track your order", CTA: &channel.CTA{DisplayText: "Open", URL: "https://example.com/t"}},
				`{"recipient":{"id":"6200000000000001"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"template","payload":{"template_type":"button","text":"Track your order","buttons":[{"type":"web_url","url":"https://example.com/t","title":"Open"}]}}}}`),
			{Name: "mark seen", Msg: channel.Outbound{Kind: channel.OutMarkRead, To: to, MarkRead: &channel.MarkRead{MessageID: "m_1"}}, Path: path,
				Body: `{"recipient":{"id":"6200000000000001"},"sender_action":"mark_seen"}`, Response: `{"recipient_id":"6200000000000001"}`},
		},
		Errors: []channeltest.ErrorCase{
			{Name: "outside window", Status: 400, Body: graphErr(10, p.OutsideWindowSubcode, "This message is sent outside of allowed window."),
				Class: channel.Permanent, Code: 10, Cause: channel.CauseOutsideWindow},
			{Name: "rate limited", Status: 400, Body: graphErr(613, 0, "Calls to this api have exceeded the rate limit."),
				Class: channel.Throttled, Code: 613, Scope: channel.ScopeAccount},
			{Name: "person unavailable", Status: 400, Body: graphErr(551, 1545041, "This person isn't available right now."),
				Class: channel.Permanent, Code: 551, Cause: channel.CauseUndeliverable},
			{Name: "no matching user", Status: 400, Body: graphErr(100, 2018001, "No matching user found"),
				Class: channel.Permanent, Code: 100, Cause: channel.CauseUndeliverable},
			{Name: "expired token", Status: 401, Body: graphErr(190, 463, "Error validating access token"),
				Class: channel.Permanent, Code: 190, Cause: channel.CauseAuth},
			{Name: "invalid parameter (a deprecated tag)", Status: 400, Body: graphErr(100, 0, "(#100) Invalid parameter"),
				Class: channel.Permanent, Code: 100, Cause: channel.CauseInvalidRequest},
			{Name: "transient", Status: 500, Body: graphErr(2, 0, "An unexpected error has occurred. Please retry your request later."),
				Class: channel.Retryable, Code: 2},
			{Name: "proxy page", Status: 502, Body: "<html>bad gateway</html>", Class: channel.Retryable},
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, p := range []Platform{Messenger, Instagram} {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			s := suite(p)
			s.Webhooks = recorded(t, p)
			channeltest.Run(t, s)
		})
	}
}

func TestType(t *testing.T) {
	t.Parallel()
	for _, p := range []Platform{Messenger, Instagram} {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			valid := map[string]any{p.IDField: testAccounts[p.Name], "access_token": testToken, "app_secret": testSecret, "verify_token": testVerify}
			without := func(k string, extra map[string]any) map[string]any {
				c := map[string]any{}
				for kk, v := range valid {
					if kk != k {
						c[kk] = v
					}
				}
				for kk, v := range extra {
					c[kk] = v
				}
				return c
			}
			channeltest.RunType(t, channeltest.TypeSuite{Type: p.Definition(), Valid: valid, Invalid: []channeltest.InvalidConfig{
				{Name: "no account", Config: without(p.IDField, nil), Pointer: "/config/" + p.IDField},
				{Name: "account not numeric", Config: without("", map[string]any{p.IDField: "my page"}), Pointer: "/config/" + p.IDField},
				{Name: "no token", Config: without("access_token", nil), Pointer: "/config/access_token"},
				{Name: "no app secret", Config: without("app_secret", nil), Pointer: "/config/app_secret"},
				{Name: "bad URL", Config: without("", map[string]any{"api_base_url": "ftp://x"}), Pointer: "/config/api_base_url"},
				{Name: "rate", Config: without("", map[string]any{"messages_per_second": 5000}), Pointer: "/config/messages_per_second"},
				{Name: "rate type", Config: without("", map[string]any{"messages_per_second": "fast"}), Pointer: "/config/messages_per_second"},
				{Name: "unknown", Config: without("", map[string]any{"phone_number_id": "1"}), Pointer: "/config/phone_number_id"},
			}})
		})
	}
}
