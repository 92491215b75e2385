package whatsapp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
)

const (
	testSecret = "app-secret"
	testToken  = "EAAtoken"
	testPNID   = "106540352242922"
)

func testConfig(base string) Config {
	return Config{PhoneNumberID: testPNID, WABAID: "102290129340398", AccessToken: testToken,
		AppSecret: testSecret, VerifyToken: "verify-me", APIBaseURL: base, APIVersion: "v21.0"}
}

const okResponse = `{"messaging_product":"whatsapp","contacts":[{"input":"16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}`

const textWebhook = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}`

func sendCase(name string, msg channel.Outbound, body string) channeltest.SendCase {
	return channeltest.SendCase{Name: name, Msg: msg, Path: "/v21.0/" + testPNID + "/messages", Body: body,
		Header:   map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json"},
		Response: okResponse, ProviderID: "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	webhooks := []channeltest.Webhook{{Name: "inline text", Body: []byte(textWebhook), Kinds: kinds(channel.KindText)}}
	if dir, ok := channeltest.FixturesDirOK("pywa", "updates"); ok {
		for _, c := range channeltest.LoadCases(t, dir) {
			if w, ok := pywaExpectations[c.File+"/"+c.Name]; ok {
				webhooks = append(webhooks, channeltest.Webhook{Name: c.File + "/" + c.Name, Body: c.JSON, Kinds: w.kinds})
			}
		}
	}
	graphErr := func(code, sub int, msg, details string) string {
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "OAuthException", "code": code,
			"error_subcode": sub, "error_data": map[string]any{"messaging_product": "whatsapp", "details": details}, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}})
		return string(b)
	}
	channeltest.Run(t, channeltest.Suite{
		New: func(t *testing.T, base string, hc *http.Client) channel.Adapter {
			a, err := New(testConfig(base), hc)
			if err != nil {
				t.Fatal(err)
			}
			return a
		},
		Secrets: []string{testToken, testSecret, "verify-me"},
		Sign: func(body []byte) http.Header {
			return http.Header{SignatureHeader: {Sign(body, testSecret)}}
		},
		Handshake: url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"verify-me"}, "hub.challenge": {"1158201444"}},
		Challenge: "1158201444",
		BadHandshakes: []url.Values{
			{"hub.mode": {"subscribe"}, "hub.verify_token": {"wrong"}, "hub.challenge": {"1"}},
			{"hub.mode": {"unsubscribe"}, "hub.verify_token": {"verify-me"}, "hub.challenge": {"1"}},
			{"hub.challenge": {"1"}},
		},
		Webhooks: webhooks,
		Sends: []channeltest.SendCase{
			sendCase("text", channel.Outbound{Kind: channel.OutText, OurID: "msg-1", To: "16505551234", Text: "Hello"},
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"text","text":{"preview_url":false,"body":"Hello"},"biz_opaque_callback_data":"msg-1"}`),
			sendCase("reply buttons", channel.Outbound{Kind: channel.OutButtons, OurID: "msg-2", To: "16505551234", ReplyTo: "wamid.in",
				Header: &channel.Header{Text: "Order"}, Body: "Confirm?", Footer: "Lucky Shrub",
				Buttons: []channel.ReplyButton{{ID: "yes", Title: "Yes"}, {ID: "no", Title: "No"}}},
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","context":{"message_id":"wamid.in"},"type":"interactive","interactive":{"type":"button","header":{"type":"text","text":"Order"},"body":{"text":"Confirm?"},"footer":{"text":"Lucky Shrub"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},{"type":"reply","reply":{"id":"no","title":"No"}}]}},"biz_opaque_callback_data":"msg-2"}`),
			sendCase("image by link", channel.Outbound{Kind: channel.OutMedia, OurID: "msg-3", To: "16505551234",
				Media: &channel.MediaRef{Type: channel.MediaImage, Link: "https://ex.com/a.png", Caption: "Look"}},
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"image","image":{"link":"https://ex.com/a.png","caption":"Look"},"biz_opaque_callback_data":"msg-3"}`),
			sendCase("cta url", channel.Outbound{Kind: channel.OutCTAURL, OurID: "msg-4", To: "16505551234", Body: "Track it",
				CTA: &channel.CTA{DisplayText: "Open", URL: "https://ex.com/t"}},
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"interactive","interactive":{"type":"cta_url","body":{"text":"Track it"},"action":{"name":"cta_url","parameters":{"display_text":"Open","url":"https://ex.com/t"}}},"biz_opaque_callback_data":"msg-4"}`),
			sendCase("location request", channel.Outbound{Kind: channel.OutLocationRequest, OurID: "msg-5", To: "16505551234", Body: "Where are you?"},
				`{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"interactive","interactive":{"type":"location_request_message","body":{"text":"Where are you?"},"action":{"name":"send_location"}},"biz_opaque_callback_data":"msg-5"}`),
			{Name: "mark read", Msg: channel.Outbound{Kind: channel.OutMarkRead, MarkRead: &channel.MarkRead{MessageID: "wamid.in", Typing: true}},
				Path: "/v21.0/" + testPNID + "/messages", Response: `{"success":true}`,
				Body: `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.in","typing_indicator":{"type":"text"}}`},
		},
		Errors: []channeltest.ErrorCase{
			{Name: "throughput 130429", Status: 400, Body: graphErr(130429, 0, "Rate limit hit", "Cloud API message throughput has been reached."), Class: channel.Throttled, Code: 130429, Scope: channel.ScopeAccount},
			{Name: "pair rate 131056", Status: 400, Body: graphErr(131056, 0, "(Business Account, Consumer Account) pair rate limit hit", ""), Class: channel.Throttled, Code: 131056, Scope: channel.ScopeRecipient},
			{Name: "app limit 4", Status: 400, Body: graphErr(4, 0, "Application request limit reached", ""), Class: channel.Throttled, Code: 4, Scope: channel.ScopeAccount},
			{Name: "waba limit 80007", Status: 400, Body: graphErr(80007, 0, "Rate limit issues", ""), Class: channel.Throttled, Code: 80007, Scope: channel.ScopeAccount},
			{Name: "plain 429", Status: 429, Body: "slow down", Class: channel.Throttled, Scope: channel.ScopeAccount},
			{Name: "generic 131000", Status: 500, Body: graphErr(131000, 0, "Something went wrong", ""), Class: channel.Retryable, Code: 131000},
			{Name: "service unavailable 131016", Status: 503, Body: graphErr(131016, 0, "Service unavailable", ""), Class: channel.Retryable, Code: 131016},
			{Name: "bare 502", Status: 502, Body: "<html>Bad gateway</html>", Class: channel.Retryable},
			{Name: "unknown code on 500", Status: 500, Body: graphErr(999999, 0, "new", ""), Class: channel.Retryable, Code: 999999},
			{Name: "outside window 131047", Status: 400, Body: graphErr(131047, 0, "Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."), Class: channel.Permanent, Code: 131047, Cause: channel.CauseOutsideWindow},
			{Name: "undeliverable 131026", Status: 400, Body: graphErr(131026, 0, "Message Undeliverable.", ""), Class: channel.Permanent, Code: 131026, Cause: channel.CauseUndeliverable},
			{Name: "opted out 131050", Status: 400, Body: graphErr(131050, 0, "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business", ""), Class: channel.Permanent, Code: 131050, Cause: channel.CauseOptedOut},
			{Name: "spam 131048", Status: 400, Body: graphErr(131048, 0, "Spam rate limit hit", ""), Class: channel.Permanent, Code: 131048, Cause: channel.CausePauseCampaign},
			{Name: "template paused 132015", Status: 400, Body: graphErr(132015, 0, "Template is Paused", ""), Class: channel.Permanent, Code: 132015, Cause: channel.CausePauseCampaign},
			{Name: "template missing 132001", Status: 404, Body: graphErr(132001, 0, "Template name does not exist in the translation", ""), Class: channel.Permanent, Code: 132001, Cause: channel.CauseTemplate},
			{Name: "token expired 190", Status: 401, Body: graphErr(190, 463, "Error validating access token", ""), Class: channel.Permanent, Code: 190, Cause: channel.CauseAuth},
			{Name: "invalid parameter 100", Status: 400, Body: graphErr(100, 2494010, "Invalid parameter", "Parameter value is not valid"), Class: channel.Permanent, Code: 100, Cause: channel.CauseInvalidRequest},
			{Name: "marketing cap 131049", Status: 400, Body: graphErr(131049, 0, "This message was not delivered to maintain healthy ecosystem engagement.", ""), Class: channel.Permanent, Code: 131049, Cause: channel.CauseMarketingCap},
			{Name: "200 without id", Status: 200, Body: `{"messaging_product":"whatsapp"}`, Class: channel.Retryable},
		},
	})
}

// TestSendBodiesMatchMetaExamples builds the messages of Meta's Postman
// collection and compares our bodies with Meta's, value for value.
func TestSendBodiesMatchMetaExamples(t *testing.T) {
	t.Parallel()
	path := filepath.Join(channeltest.FixturesDir(t, "meta-flows-tools"), "whatsapp-cloud-api.postman_collection.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bodies := postmanBodies(t, raw, "")
	to := "{{Recipient-Phone-Number}}"
	flow := func(name, id, mode, cta, hdr, body, footer string) channel.Outbound {
		return channel.Outbound{Kind: channel.OutFlow, To: to, Header: &channel.Header{Text: hdr}, Body: body, Footer: footer,
			Flow: &channel.FlowSend{FlowName: name, FlowID: id, Token: "<FLOW_TOKEN>", CTA: cta, Mode: mode, Action: "navigate",
				Screen: "<SCREEN_ID>", Data: map[string]any{"<CUSTOM_KEY>": "<CUSTOM_VALUE>"}}}
	}
	draft := "Not shown in draft mode"
	cases := map[string]channel.Outbound{
		"Send Text Message":                  {Kind: channel.OutText, To: to, Text: "text-message-content"},
		"Send Reply to Text Message":         {Kind: channel.OutText, To: to, ReplyTo: "<MSGID_OF_PREV_MSG>", Text: "<TEXT_MSG_CONTENT>"},
		"Send Reply with Reaction Message":   {Kind: channel.OutReaction, To: to, Reaction: &channel.Reaction{MessageID: "<WAM_ID>", Emoji: "<EMOJI>"}},
		"Send Image Message by ID":           {Kind: channel.OutMedia, To: to, Media: &channel.MediaRef{Type: channel.MediaImage, ID: "<IMAGE_OBJECT_ID>"}},
		"Send Reply to Image Message by URL": {Kind: channel.OutMedia, To: to, ReplyTo: "<MSGID_OF_PREV_MSG>", Media: &channel.MediaRef{Type: channel.MediaImage, Link: "http(s)://image-url"}},
		"Send Audio Message by URL":          {Kind: channel.OutMedia, To: to, Media: &channel.MediaRef{Type: channel.MediaAudio, Link: "http(s)://audio-url"}},
		"Send Document Message by ID":        {Kind: channel.OutMedia, To: to, Media: &channel.MediaRef{Type: channel.MediaDocument, ID: "<DOCUMENT_OBJECT_ID>", Caption: "<DOCUMENT_CAPTION_TO_SEND>", Filename: "<DOCUMENT_FILENAME>"}},
		"Send Sticker Message by ID":         {Kind: channel.OutMedia, To: to, Media: &channel.MediaRef{Type: channel.MediaSticker, ID: "<MEDIA_OBJECT_ID>"}},
		"Send Video Message by URL":          {Kind: channel.OutMedia, To: to, Media: &channel.MediaRef{Type: channel.MediaVideo, Link: "<http(s)://video-url>", Caption: "<VIDEO_CAPTION_TEXT>"}},
		"Send Reply Button": {Kind: channel.OutButtons, To: to, Body: "<BUTTON_TEXT>", Buttons: []channel.ReplyButton{
			{ID: "<UNIQUE_BUTTON_ID_1>", Title: "<BUTTON_TITLE_1>"}, {ID: "<UNIQUE_BUTTON_ID_2>", Title: "<BUTTON_TITLE_2>"}}},
		"Send List Message": {Kind: channel.OutList, To: to, Header: &channel.Header{Text: "<HEADER_TEXT>"}, Body: "<BODY_TEXT>", Footer: "<FOOTER_TEXT>",
			List: &channel.List{Button: "<BUTTON_TEXT>", Sections: []channel.ListSection{
				{Title: "<LIST_SECTION_1_TITLE>", Rows: []channel.ListRow{{ID: "<LIST_SECTION_1_ROW_1_ID>", Title: "<SECTION_1_ROW_1_TITLE>", Description: "<SECTION_1_ROW_1_DESC>"}, {ID: "<LIST_SECTION_1_ROW_2_ID>", Title: "<SECTION_1_ROW_2_TITLE>", Description: "<SECTION_1_ROW_2_DESC>"}}},
				{Title: "<LIST_SECTION_2_TITLE>", Rows: []channel.ListRow{{ID: "<LIST_SECTION_2_ROW_1_ID>", Title: "<SECTION_2_ROW_1_TITLE>", Description: "<SECTION_2_ROW_1_DESC>"}, {ID: "<LIST_SECTION_2_ROW_2_ID>", Title: "<SECTION_2_ROW_2_TITLE>", Description: "<SECTION_2_ROW_2_DESC>"}}},
			}}},
		"Mark Message As Read":                   {Kind: channel.OutMarkRead, MarkRead: &channel.MarkRead{MessageID: "<INCOMING_MSG_ID>"}},
		"Send typing indicator and read receipt": {Kind: channel.OutMarkRead, MarkRead: &channel.MarkRead{MessageID: "<WHATSAPP_MESSAGE_ID>", Typing: true}},
		"Send Draft Flow by Name":                flow("{{Flow-Name}}", "", "draft", draft, draft, draft, draft),
		"Send Draft Flow by ID":                  flow("", "{{Flow-ID}}", "draft", draft, draft, draft, draft),
		"Send Published Flow by Name":            flow("{{Flow-Name}}", "", "", "Open Flow!", "<HEADER_TEXT>", "<BODY_TEXT>", "<FOOTER_TEXT>"),
		"Send Published Flow by ID":              flow("", "{{Flow-ID}}", "", "Open Flow!", "<HEADER_TEXT>", "<BODY_TEXT>", "<FOOTER_TEXT>"),
		"Send Flow Template Message": {Kind: channel.OutTemplate, To: to, Template: &channel.TemplateSend{Name: "<TEMPLATE_NAME>", Language: "en_US",
			Buttons: []channel.TemplateButton{{Index: 0, SubType: "flow", Param: channel.TemplateParam{Type: channel.ParamAction,
				Action: &channel.FlowToken{Token: "<FLOW_TOKEN>", Data: map[string]any{"<CUSTOM_KEY>": "<CUSTOM_VALUE>"}}}}}}},
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, ok := bodies[name]
			if !ok {
				t.Skipf("%q is not in this copy of the collection", name)
			}
			got, err := BuildBody(&msg)
			if err != nil {
				t.Fatal(err)
			}
			// Meta's examples omit recipient_type in places; it is the default.
			var w map[string]any
			if err := json.Unmarshal([]byte(want), &w); err != nil {
				t.Fatal(err)
			}
			if _, ok := w["recipient_type"]; !ok && msg.Kind != channel.OutMarkRead {
				w["recipient_type"] = "individual"
			}
			wb, _ := json.Marshal(w)
			if err := channeltest.JSONEqual(got, wb); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTemplateSendBody(t *testing.T) {
	t.Parallel()
	// Spec §6.4's example, from a rendered TemplateSend.
	msg := channel.Outbound{Kind: channel.OutTemplate, To: "16505551234", OurID: "m1", Template: &channel.TemplateSend{
		Name: "order_confirmation", Language: "en_US",
		Header: &channel.TemplateParam{Type: channel.ParamDocument, Media: &channel.MediaRef{Type: channel.MediaDocument, Link: "https://ex.com/r.pdf", Filename: "receipt.pdf"}},
		Body: []channel.TemplateParam{{Type: channel.ParamText, Name: "first_name", Text: "Pablo"},
			{Type: channel.ParamCurrency, Currency: &channel.Currency{Fallback: "$100.99", Code: "USD", Amount1000: 100990}},
			{Type: channel.ParamDateTime, DateTime: "February 25, 1977"}},
		Buttons: []channel.TemplateButton{
			{Index: 0, SubType: "quick_reply", Param: channel.TemplateParam{Type: channel.ParamPayload, Payload: "STOP_PROMOS"}},
			{Index: 1, SubType: "url", Param: channel.TemplateParam{Type: channel.ParamText, Text: "promo%20123"}},
			{Index: 2, SubType: "copy_code", Param: channel.TemplateParam{Type: channel.ParamCouponCode, Coupon: "25OFF"}},
			{Index: 3, SubType: "flow", Param: channel.TemplateParam{Type: channel.ParamAction, Action: &channel.FlowToken{Token: "ftk_1", Data: map[string]any{"k": "v"}}}},
		}}}
	if err := ValidateOutbound(&msg); err != nil {
		t.Fatal(err)
	}
	got, err := BuildBody(&msg)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"template","biz_opaque_callback_data":"m1",
	"template":{"name":"order_confirmation","language":{"code":"en_US"},"components":[
	{"type":"header","parameters":[{"type":"document","document":{"link":"https://ex.com/r.pdf","filename":"receipt.pdf"}}]},
	{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"Pablo"},
		{"type":"currency","currency":{"fallback_value":"$100.99","code":"USD","amount_1000":100990}},
		{"type":"date_time","date_time":{"fallback_value":"February 25, 1977"}}]},
	{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"STOP_PROMOS"}]},
	{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"promo%20123"}]},
	{"type":"button","sub_type":"copy_code","index":"2","parameters":[{"type":"coupon_code","coupon_code":"25OFF"}]},
	{"type":"button","sub_type":"flow","index":"3","parameters":[{"type":"action","action":{"flow_token":"ftk_1","flow_action_data":{"k":"v"}}}]}]}}`
	if err := channeltest.JSONEqual(got, []byte(want)); err != nil {
		t.Fatal(err)
	}
}

func TestValidateOutbound(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("x", n) }
	rows := func(n int) []channel.ListRow {
		var r []channel.ListRow
		for i := range n {
			r = append(r, channel.ListRow{ID: "r" + string(rune('a'+i)), Title: "t"})
		}
		return r
	}
	tests := []struct {
		name    string
		msg     channel.Outbound
		pointer string
	}{
		{"no recipient", channel.Outbound{Kind: channel.OutText, Text: "x"}, "/to"},
		{"empty text", channel.Outbound{Kind: channel.OutText, To: "1"}, "/text"},
		{"text too long", channel.Outbound{Kind: channel.OutText, To: "1", Text: long(4097)}, "/text"},
		{"four buttons", channel.Outbound{Kind: channel.OutButtons, To: "1", Body: "b", Buttons: []channel.ReplyButton{{ID: "a", Title: "a"}, {ID: "b", Title: "b"}, {ID: "c", Title: "c"}, {ID: "d", Title: "d"}}}, "/buttons"},
		{"button title too long", channel.Outbound{Kind: channel.OutButtons, To: "1", Body: "b", Buttons: []channel.ReplyButton{{ID: "a", Title: long(21)}}}, "/buttons/0/title"},
		{"duplicate button id", channel.Outbound{Kind: channel.OutButtons, To: "1", Body: "b", Buttons: []channel.ReplyButton{{ID: "a", Title: "a"}, {ID: "a", Title: "b"}}}, "/buttons/1/id"},
		{"eleven rows", channel.Outbound{Kind: channel.OutList, To: "1", Body: "b", List: &channel.List{Button: "Go", Sections: []channel.ListSection{{Rows: rows(11)}}}}, "/list/sections"},
		{"untitled section among two", channel.Outbound{Kind: channel.OutList, To: "1", Body: "b", List: &channel.List{Button: "Go", Sections: []channel.ListSection{{Rows: rows(1)}, {Title: "b", Rows: []channel.ListRow{{ID: "z", Title: "z"}}}}}}, "/list/sections/0/title"},
		{"list media header", channel.Outbound{Kind: channel.OutList, To: "1", Body: "b", Header: &channel.Header{Media: &channel.MediaRef{Type: channel.MediaImage, ID: "1"}}, List: &channel.List{Button: "Go", Sections: []channel.ListSection{{Rows: rows(1)}}}}, "/header/media"},
		{"media id and link", channel.Outbound{Kind: channel.OutMedia, To: "1", Media: &channel.MediaRef{Type: channel.MediaImage, ID: "1", Link: "https://a.b/c"}}, "/media"},
		{"audio caption", channel.Outbound{Kind: channel.OutMedia, To: "1", Media: &channel.MediaRef{Type: channel.MediaAudio, ID: "1", Caption: "c"}}, "/media/caption"},
		{"flow id and name", channel.Outbound{Kind: channel.OutFlow, To: "1", Body: "b", Flow: &channel.FlowSend{FlowID: "1", FlowName: "n", CTA: "Go"}}, "/flow/flow_id"},
		{"flow data with data_exchange", channel.Outbound{Kind: channel.OutFlow, To: "1", Body: "b", Flow: &channel.FlowSend{FlowID: "1", CTA: "Go", Action: "data_exchange", Screen: "A"}}, "/flow/screen"},
		{"cta bad url", channel.Outbound{Kind: channel.OutCTAURL, To: "1", Body: "b", CTA: &channel.CTA{DisplayText: "Go", URL: "ftp://x"}}, "/cta/url"},
		{"opaque too long", channel.Outbound{Kind: channel.OutText, To: "1", Text: "x", OurID: long(513)}, "/our_id"},
		{"mark read without id", channel.Outbound{Kind: channel.OutMarkRead, MarkRead: &channel.MarkRead{}}, "/mark_read/message_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateOutbound(&tc.msg)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(jsonOf(err), `"pointer":"`+tc.pointer+`"`) {
				t.Fatalf("no problem at %s: %s", tc.pointer, jsonOf(err))
			}
		})
	}
}

func jsonOf(err error) string {
	b, _ := json.Marshal(err)
	return string(b)
}

func TestVerifySignatureVectors(t *testing.T) {
	t.Parallel()
	path := filepath.Join(channeltest.FixturesDir(t, "pywa"), "crypto_vectors.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("crypto vectors not readable: %v", err)
	}
	var v struct {
		WebhookSignature struct {
			AppSecret string `json:"app_secret"`
			RawBody   string `json:"raw_body"`
			Header    string `json:"x_hub_signature_256"`
		} `json:"webhook_signature"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	ws := v.WebhookSignature
	body := []byte(ws.RawBody)
	upper := "sha256=" + strings.ToUpper(strings.TrimPrefix(ws.Header, "sha256="))
	tests := []struct {
		name   string
		body   []byte
		header string
		secret string
		want   bool
	}{
		{"Meta's vector", body, ws.Header, ws.AppSecret, true},
		{"Sign reproduces it", body, Sign(body, ws.AppSecret), ws.AppSecret, true},
		{"uppercase hex", body, upper, ws.AppSecret, true},
		{"wrong secret", body, ws.Header, ws.AppSecret + "x", false},
		{"body changed", append(append([]byte{}, body...), ' '), ws.Header, ws.AppSecret, false},
		{"no prefix", body, strings.TrimPrefix(ws.Header, "sha256="), ws.AppSecret, false},
		{"sha1 prefix", body, "sha1=" + strings.TrimPrefix(ws.Header, "sha256="), ws.AppSecret, false},
		{"truncated", body, ws.Header[:len(ws.Header)-2], ws.AppSecret, false},
		{"not hex", body, "sha256=" + strings.Repeat("zz", 32), ws.AppSecret, false},
		{"empty header", body, "", ws.AppSecret, false},
		{"empty secret", body, Sign(body, ""), "", false},
	}
	for _, tc := range tests {
		if got := VerifySignature(tc.body, tc.header, tc.secret); got != tc.want {
			t.Errorf("%s: VerifySignature = %v, want %v", tc.name, got, tc.want)
		}
	}
	// The vector's body parses into a text message.
	evs, err := Parse(body)
	if err != nil || len(evs) != 1 || evs[0].Text != "Hey there! I am using PyWa." {
		t.Fatalf("Parse(vector) = %+v, %v", evs, err)
	}
}

func TestVerifySignatureLargeBody(t *testing.T) {
	t.Parallel()
	body := []byte(strings.Repeat("a", MaxWebhookBytes))
	if !VerifySignature(body, Sign(body, "s"), "s") {
		t.Error("a 4 MB body should verify")
	}
	over := append(body, 'a')
	if VerifySignature(over, Sign(over, "s"), "s") {
		t.Error("a body over 4 MB must be refused")
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig(json.RawMessage(`{"phone_number_id":"1","access_token":"t","app_secret":"s","verify_token":"v"}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APIBaseURL != DefaultAPIBaseURL || cfg.APIVersion != DefaultAPIVersion || cfg.MessagesPerSecond != 80 {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	_, err = ParseConfig(json.RawMessage(`{"phone_number_id":"+1 555","api_version":"21","messages_per_second":5000}`))
	s := jsonOf(err)
	for _, p := range []string{"/config/phone_number_id", "/config/access_token", "/config/app_secret", "/config/verify_token", "/config/api_version", "/config/messages_per_second"} {
		if !strings.Contains(s, `"pointer":"`+p+`"`) {
			t.Errorf("no problem at %s: %s", p, s)
		}
	}
	if _, err := ParseConfig(json.RawMessage(`{"phone_number_id":"1","unknown":1}`)); err == nil {
		t.Error("unknown fields should be refused")
	}
}

func TestConfigRequestTimeout(t *testing.T) {
	t.Parallel()
	base := `"phone_number_id":"1","access_token":"t","app_secret":"s","verify_token":"v"`
	cfg, err := ParseConfig(json.RawMessage(`{` + base + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RequestTimeoutSeconds == nil || *cfg.RequestTimeoutSeconds != 15 || cfg.Timeout != 15*time.Second {
		t.Fatalf("default: %v %v", cfg.RequestTimeoutSeconds, cfg.Timeout)
	}
	if b, _ := json.Marshal(cfg); !strings.Contains(string(b), `"request_timeout_seconds":15`) {
		t.Fatalf("the default is not shown: %s", b)
	}
	for _, n := range []int{1, 30, 120} {
		cfg, err := ParseConfig(json.RawMessage(fmt.Sprintf(`{%s,"request_timeout_seconds":%d}`, base, n)))
		if err != nil || cfg.Timeout != time.Duration(n)*time.Second || NewClient(cfg, nil).Config().Timeout != cfg.Timeout {
			t.Fatalf("%d: %v %v", n, cfg.Timeout, err)
		}
	}
	for _, bad := range []string{"0", "121", "-5", "1.5", `"30"`} {
		_, err := ParseConfig(json.RawMessage(fmt.Sprintf(`{%s,"request_timeout_seconds":%s}`, base, bad)))
		s := jsonOf(err)
		if err == nil || !strings.Contains(s, `"pointer":"/config/request_timeout_seconds"`) || !strings.Contains(s, "request_timeout_seconds must be") {
			t.Errorf("%s: %v %s", bad, err, s)
		}
	}
	// Go callers without the setting may still set Timeout directly.
	if c := (Config{Timeout: 50 * time.Millisecond}).WithDefaults(); c.Timeout != 50*time.Millisecond {
		t.Errorf("direct Timeout: %v", c.Timeout)
	}
}
