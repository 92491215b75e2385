package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
	"github.com/parleyhq/parley/internal/domain"
)

type wantEvents struct {
	kinds []channel.Kind
	check func(t *testing.T, evs []channel.Event)
}

func kinds(k ...channel.Kind) []channel.Kind { return k }

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// pywaUserMessage checks the routing fields every pywa message fixture shares.
func pywaUserMessage(t *testing.T, e channel.Event) {
	t.Helper()
	eq(t, "account", e.AccountID, "1122334455667")
	if e.BusinessID == "" {
		t.Error("business ID missing")
	}
	eq(t, "address", e.Contact.Address, "972987654321")
	eq(t, "name", e.Contact.Name, "Test Name")
	eq(t, "user id", e.Contact.UserID, "US.13491208655302741918")
	if e.ProviderID == "" || e.Timestamp.IsZero() {
		t.Errorf("provider id %q / timestamp %v missing", e.ProviderID, e.Timestamp)
	}
	if e.DedupKey() == "" {
		t.Error("message without dedup key")
	}
}

func media(typ channel.MediaType, caption string) wantEvents {
	return wantEvents{kinds(channel.KindMedia), func(t *testing.T, evs []channel.Event) {
		pywaUserMessage(t, evs[0])
		m := evs[0].Media
		eq(t, "media type", m.Type, typ)
		eq(t, "caption", m.Caption, caption)
		if m.ID == "" || m.MimeType == "" || m.SHA256 == "" {
			t.Errorf("media incomplete: %+v", m)
		}
	}}
}

func ignored(field string) wantEvents {
	return wantEvents{kinds(channel.KindIgnored), func(t *testing.T, evs []channel.Event) {
		eq(t, "ignored field", evs[0].Ignored.Field, field)
		if len(evs[0].Raw) == 0 {
			t.Error("ignored event should keep the raw value")
		}
	}}
}

func status(state channel.State, check func(t *testing.T, s *channel.Status)) wantEvents {
	return wantEvents{kinds(channel.KindStatus), func(t *testing.T, evs []channel.Event) {
		e := evs[0]
		eq(t, "state", e.Status.State, state)
		if e.ProviderID == "" || e.Timestamp.IsZero() || e.Status.Recipient == "" {
			t.Errorf("status incomplete: %+v %+v", e, e.Status)
		}
		if check != nil {
			check(t, e.Status)
		}
	}}
}

// pywaExpectations names, for every case of fixtures/pywa/updates, the events
// it must produce. A case missing here fails the test, so new fixtures get
// looked at.
var pywaExpectations = map[string]wantEvents{
	"message.json/text": {kinds(channel.KindText), func(t *testing.T, evs []channel.Event) {
		pywaUserMessage(t, evs[0])
		eq(t, "text", evs[0].Text, "Body Text")
		eq(t, "time", evs[0].Timestamp, time.Unix(1697043223, 0).UTC())
	}},
	"message.json/image":            media(channel.MediaImage, ""),
	"message.json/media_with_url":   media(channel.MediaImage, ""),
	"message.json/video":            media(channel.MediaVideo, "caption"),
	"message.json/document":         media(channel.MediaDocument, "caption"),
	"message.json/audio":            media(channel.MediaAudio, ""),
	"message.json/voice":            media(channel.MediaAudio, ""),
	"message.json/static_sticker":   media(channel.MediaSticker, ""),
	"message.json/animated_sticker": media(channel.MediaSticker, ""),
	"message.json/reaction": {kinds(channel.KindReaction), func(t *testing.T, evs []channel.Event) {
		pywaUserMessage(t, evs[0])
		eq(t, "emoji", evs[0].Reaction.Emoji, "😮")
		eq(t, "reacted to", evs[0].Reaction.MessageID, "wamid.yzxyzx=")
	}},
	"message.json/unreaction_empty": {kinds(channel.KindReaction), func(t *testing.T, evs []channel.Event) {
		eq(t, "emoji", evs[0].Reaction.Emoji, "")
	}},
	"message.json/unreaction_no_emoji": {kinds(channel.KindReaction), func(t *testing.T, evs []channel.Event) {
		eq(t, "emoji", evs[0].Reaction.Emoji, "")
	}},
	"message.json/current_location": {kinds(channel.KindLocation), func(t *testing.T, evs []channel.Event) {
		eq(t, "lat", evs[0].Location.Latitude, 12.25089)
		eq(t, "forwarded", evs[0].Forwarded, true)
	}},
	"message.json/chosen_location": {kinds(channel.KindLocation), func(t *testing.T, evs []channel.Event) {
		eq(t, "name", evs[0].Location.Name, "Facebook HQ")
		eq(t, "lng", evs[0].Location.Longitude, -122.2164385)
	}},
	"message.json/contacts": {kinds(channel.KindContacts), func(t *testing.T, evs []channel.Event) {
		eq(t, "contacts", len(evs[0].Contacts), 3)
		eq(t, "first", evs[0].Contacts[0].Name, "Chandler Bing")
		eq(t, "phone", evs[0].Contacts[0].Phones[0].Phone, "+1 555-555-5555")
	}},
	"message.json/order": {kinds(channel.KindOrder), func(t *testing.T, evs []channel.Event) {
		eq(t, "items", len(evs[0].Order.Items), 3)
		eq(t, "product", evs[0].Order.Items[0].ProductID, "HAMBURGER")
		eq(t, "quantity", string(evs[0].Order.Items[0].Quantity), "3")
	}},
	"message.json/unsupported": {kinds(channel.KindUnsupported), func(t *testing.T, evs []channel.Event) {
		eq(t, "error code", evs[0].Errors[0].Code, 131051)
		eq(t, "details", evs[0].Errors[0].Details, "Message type is currently not supported.")
	}},
	"message.json/unsupported_with_type": {kinds(channel.KindUnsupported), func(t *testing.T, evs []channel.Event) {
		eq(t, "sub-type", evs[0].Extra["unsupported_type"], "pool")
	}},
	"message.json/reply": {kinds(channel.KindText), func(t *testing.T, evs []channel.Event) {
		eq(t, "reply to", evs[0].ReplyTo, "wamid.xyzxyz==")
	}},
	"message.json/forwarded": {kinds(channel.KindText), func(t *testing.T, evs []channel.Event) {
		eq(t, "forwarded", evs[0].Forwarded, true)
		eq(t, "frequently", evs[0].FrequentlyForwarded, false)
	}},
	"message.json/forwarded_many_times": {kinds(channel.KindText), func(t *testing.T, evs []channel.Event) {
		eq(t, "frequently", evs[0].FrequentlyForwarded, true)
	}},
	"message.json/interactive_message_with_err": {kinds(channel.KindUnsupported, channel.KindError), func(t *testing.T, evs []channel.Event) {
		eq(t, "error", evs[1].Errors[0].Code, 131000)
	}},
	"message.json/referral": {kinds(channel.KindText), func(t *testing.T, evs []channel.Event) {
		eq(t, "ad", evs[0].Referral.SourceID, "ADID")
		eq(t, "click id", evs[0].Referral.ClickID, "CTWA_CLID")
	}},
	"callback_button.json/button": {kinds(channel.KindButtonReply), func(t *testing.T, evs []channel.Event) {
		pywaUserMessage(t, evs[0])
		eq(t, "reply", *evs[0].Reply, channel.Reply{ID: "callback_data", Title: "title"})
		eq(t, "reply to", evs[0].ReplyTo, "wamid.xyzxyz")
	}},
	"callback_button.json/quick_reply": {kinds(channel.KindQuickReply), func(t *testing.T, evs []channel.Event) {
		eq(t, "reply", *evs[0].Reply, channel.Reply{Payload: "callback_data", Title: "title"})
		eq(t, "text", evs[0].Text, "title")
	}},
	"callback_button.json/quick_reply_without_context": {kinds(channel.KindQuickReply), func(t *testing.T, evs []channel.Event) {
		eq(t, "user id", evs[0].Contact.UserID, "US.13491208655302741918")
		eq(t, "reply to", evs[0].ReplyTo, "")
	}},
	"callback_selection.json/callback": {kinds(channel.KindListReply), func(t *testing.T, evs []channel.Event) {
		eq(t, "reply", *evs[0].Reply, channel.Reply{ID: "callback_data", Title: "title"})
	}},
	"callback_selection.json/description": {kinds(channel.KindListReply), func(t *testing.T, evs []channel.Event) {
		eq(t, "description", evs[0].Reply.Description, "description")
	}},
	"flow_completion.json/completion": {kinds(channel.KindFlowCompletion), func(t *testing.T, evs []channel.Event) {
		pywaUserMessage(t, evs[0])
		f := evs[0].Flow
		eq(t, "token", f.Token, "AQAAAAACS5FpgQ_cAAAAAD0QI3s.")
		eq(t, "rating", f.Response["delivery_rating"], any("4"))
		eq(t, "flow message", evs[0].ReplyTo, "wamid.gvwegfretge==")
	}},
	"flow_completion.json/without_flow_token": {kinds(channel.KindFlowCompletion), func(t *testing.T, evs []channel.Event) {
		eq(t, "token", evs[0].Flow.Token, "")
		eq(t, "comment", evs[0].Flow.Response["comment_text"], any("Comment Text"))
	}},
	"deleted_message.json/revoke": {kinds(channel.KindRevoke), func(t *testing.T, evs []channel.Event) {
		eq(t, "original", evs[0].Revoke.OriginalID, "<ORIGINAL_WHATSAPP_MESSAGE_ID>")
	}},
	"edited_message.json/image": {kinds(channel.KindEdit), func(t *testing.T, evs []channel.Event) {
		ed := evs[0].Edit
		eq(t, "original", ed.OriginalID, "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=")
		eq(t, "new kind", ed.Message.Kind, channel.KindMedia)
		eq(t, "new caption", ed.Message.Media.Caption, "Updated image caption")
	}},
	"system.json/phone_number_change": {kinds(channel.KindSystem), func(t *testing.T, evs []channel.Event) {
		eq(t, "type", evs[0].System.Type, "user_changed_number")
		eq(t, "new", evs[0].System.NewAddress, "972912345678")
		eq(t, "address", evs[0].Contact.Address, "972987654321")
	}},
	"system.json/identity_change": {kinds(channel.KindSystem), func(t *testing.T, evs []channel.Event) {
		eq(t, "type", evs[0].System.Type, "customer_identity_changed")
	}},
	"message_status.json/sent": status(channel.StateSent, func(t *testing.T, s *channel.Status) {
		eq(t, "pricing", s.Pricing.Model, "CBP")
		eq(t, "conversation", s.Conversation.Origin, "service")
		eq(t, "expiry", s.Conversation.Expiration, time.Unix(1698339900, 0).UTC())
	}),
	"message_status.json/delivered": status(channel.StateDelivered, nil),
	"message_status.json/read":      status(channel.StateRead, nil),
	"message_status.json/played":    status(channel.StatePlayed, nil),
	"message_status.json/failed": status(channel.StateFailed, func(t *testing.T, s *channel.Status) {
		eq(t, "code", s.Errors[0].Code, 130472)
		eq(t, "details", s.Errors[0].Details, "Failed to send message because this user's phone number is part of an experiment")
	}),
	"message_status.json/with_tracker": status(channel.StateSent, func(t *testing.T, s *channel.Status) {
		eq(t, "our id", s.OurID, "some data")
	}),
	"message_status.json/group": status(channel.StateRead, nil),
	"template_status_update.json/approved": {kinds(channel.KindTemplateStatus), func(t *testing.T, evs []channel.Event) {
		tu := evs[0].Template
		eq(t, "update", *tu, channel.TemplateUpdate{ID: "1689556908129832", Name: "order_confirmation",
			Language: "en_US", Event: "APPROVED", Reason: "NONE", Category: "UTILITY"})
	}},
	"template_status_update.json/rejected": {kinds(channel.KindTemplateStatus), func(t *testing.T, evs []channel.Event) {
		eq(t, "reason", evs[0].Template.Reason, "INVALID_FORMAT")
		if !strings.Contains(evs[0].Template.Detail, "next to each other") {
			t.Errorf("detail %q", evs[0].Template.Detail)
		}
	}},
	"template_quality_update.json/yellow": {kinds(channel.KindTemplateQuality), func(t *testing.T, evs []channel.Event) {
		eq(t, "quality", evs[0].Template.Quality, "YELLOW")
		eq(t, "previous", evs[0].Template.PreviousQuality, "GREEN")
	}},
	"template_category_update.json/marketing": {kinds(channel.KindTemplateCategory), func(t *testing.T, evs []channel.Event) {
		eq(t, "category", evs[0].Template.Category, "MARKETING")
		eq(t, "id", evs[0].Template.ID, "12345678")
	}},
	"template_components_update.json/element": {kinds(channel.KindTemplateComponents), func(t *testing.T, evs []channel.Event) {
		eq(t, "element", evs[0].Template.Element, "Hi {{1}}! Welcome to our service.")
	}},
	"user_marketing_preferences.json/resume": {kinds(channel.KindPreference), func(t *testing.T, evs []channel.Event) {
		p := evs[0].Preference
		eq(t, "value", p.Value, "resume")
		eq(t, "address", p.Address, "16505551234")
		eq(t, "opted out", p.OptedOut(), false)
		eq(t, "account", evs[0].AccountID, "106540352242922")
	}},
	"user_marketing_preferences.json/signup": {kinds(channel.KindPreference), nil},
	"call_connect.json/business_initiated":   ignored("calls"),
	"call_connect.json/user_initiated":       ignored("calls"),
	"call_status.json/call_status":           ignored("calls"),
	"call_terminate.json/call_terminate":     ignored("calls"),
	"call_permission_update.json/accept": {kinds(channel.KindUnsupported), func(t *testing.T, evs []channel.Event) {
		eq(t, "interactive type", evs[0].Extra["interactive_type"], "call_permission_reply")
	}},
	"call_permission_update.json/reject": {kinds(channel.KindUnsupported), nil},
	"outgoing_message.json/text":         ignored("smb_message_echoes"),
	"outgoing_message.json/delete":       ignored("smb_message_echoes"),
	"outgoing_message.json/edit":         ignored("smb_message_echoes"),
}

func TestParsePywaFixtures(t *testing.T) {
	t.Parallel()
	dir := channeltest.FixturesDir(t, "pywa", "updates")
	cases := channeltest.LoadCases(t, dir)
	seen := map[string]bool{}
	for _, c := range cases {
		key := c.File + "/" + c.Name
		seen[key] = true
		t.Run(key, func(t *testing.T) {
			t.Parallel()
			evs, err := Parse(c.JSON)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if strings.HasPrefix(c.File, "account_update") {
				// Every account notice is read; restrictions, violations and
				// a disabled account pause campaigns (TestAccountNotices).
				checkKinds(t, evs, kinds(channel.KindAccountNotice))
				if n := evs[0].Notice; n == nil || n.Field != "account_update" || n.Reason == "" {
					t.Fatalf("notice = %+v", n)
				}
				pauses := map[string]bool{"account_restriction": true, "account_violation": true}
				if got := evs[0].Notice.PauseSends; got != pauses[c.Name] {
					t.Fatalf("%s: pause_sends = %v, want %v (%s)", c.Name, got, pauses[c.Name], evs[0].Notice.Reason)
				}
				return
			}
			want, ok := pywaExpectations[key]
			if !ok {
				t.Fatalf("no expectation for fixture case %s; events: %+v", key, evs)
			}
			checkKinds(t, evs, want.kinds)
			if want.check != nil && !t.Failed() {
				want.check(t, evs)
			}
			// Events must survive the store's JSON round trip.
			if _, err := json.Marshal(evs); err != nil {
				t.Fatalf("marshal events: %v", err)
			}
		})
	}
	for key := range pywaExpectations {
		if !seen[key] {
			t.Errorf("expected fixture case %s is missing", key)
		}
	}
	t.Logf("parsed %d fixture cases", len(cases))
}

func checkKinds(t *testing.T, evs []channel.Event, want []channel.Kind) {
	t.Helper()
	got := make([]channel.Kind, len(evs))
	for i, e := range evs {
		got[i] = e.Kind
		eq(t, "channel", e.Channel, "whatsapp")
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kinds = %v, want %v", got, want)
	}
}

// postmanWebhooks returns the "Webhook Payload Reference" examples of Meta's
// Cloud API Postman collection, by name.
func postmanWebhooks(tb testing.TB) map[string]string {
	tb.Helper()
	path := filepath.Join(channeltest.FixturesDir(tb, "meta-flows-tools"), "whatsapp-cloud-api.postman_collection.json")
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Skipf("Postman collection not readable: %v", err)
	}
	return postmanBodies(tb, b, "Webhook Payload Reference")
}

type postmanItem struct {
	Name    string        `json:"name"`
	Item    []postmanItem `json:"item"`
	Request *struct {
		Method string `json:"method"`
		Body   struct {
			Raw string `json:"raw"`
		} `json:"body"`
	} `json:"request"`
}

// postmanBodies returns the raw request bodies of the items under the folder
// named folder ("" = everywhere), by item name.
func postmanBodies(tb testing.TB, collection []byte, folder string) map[string]string {
	tb.Helper()
	var root struct {
		Item []postmanItem `json:"item"`
	}
	if err := json.Unmarshal(collection, &root); err != nil {
		tb.Fatalf("reading the Postman collection: %v", err)
	}
	out := map[string]string{}
	var walk func(items []postmanItem, in bool)
	walk = func(items []postmanItem, in bool) {
		for _, it := range items {
			if it.Item != nil {
				walk(it.Item, in || it.Name == folder || folder == "")
				continue
			}
			if in && it.Request != nil && it.Request.Body.Raw != "" {
				out[it.Name] = it.Request.Body.Raw
			}
		}
	}
	walk(root.Item, false)
	return out
}

func TestParsePostmanWebhooks(t *testing.T) {
	t.Parallel()
	bodies := postmanWebhooks(t)
	want := map[string]channel.Kind{
		"Received Text Message":                                  channel.KindText,
		"Received Text Message with Show Security Notifications": channel.KindText,
		"Received Message with Reaction":                         channel.KindReaction,
		"Received Media Message with Image":                      channel.KindMedia,
		"Received Media Message with Sticker":                    channel.KindMedia,
		"Received Contact Messages":                              channel.KindContacts,
		"Received Message Triggered by Click to WhatsApp Ads":    channel.KindText,
		"Received Unknown Messages":                              channel.KindUnsupported,
		"Message Status Update Notifications":                    channel.KindStatus,
		"Received Callback from a Quick Reply Button Click":      channel.KindQuickReply,
		"Received Product Enquiry Message":                       channel.KindText,
		"Received Order Messages":                                channel.KindOrder,
		"Status: Transaction Status - Order Details Message":     channel.KindIgnored,
	}
	parsed := 0
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			evs, err := Parse([]byte(body))
			if !json.Valid([]byte(body)) {
				// Some of Meta's examples carry bare placeholders (TIMESTAMP)
				// and are not JSON: they must be refused, cleanly.
				if err == nil || !errors.Is(err, ErrMalformed) || domain.CodeOf(err) != domain.CodeInvalid {
					t.Fatalf("invalid JSON example: err = %v, want a malformed error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			k, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %q; events %+v", name, evs)
			}
			checkKinds(t, evs, kinds(k))
			parsed++
		})
	}
	if parsed != len(want) {
		t.Errorf("parsed %d valid Postman webhooks, want %d", parsed, len(want))
	}
	if q := mustParse(t, bodies["Received Callback from a Quick Reply Button Click"]); q[0].Reply.Payload != "No-Button-Payload" {
		t.Errorf("quick reply payload %q", q[0].Reply.Payload)
	}
	if p := mustParse(t, bodies["Received Product Enquiry Message"]); p[0].ReferredProduct == nil || p[0].ReferredProduct.ProductID != "PRODUCT_ID" {
		t.Errorf("referred product %+v", p[0].ReferredProduct)
	}
}

func mustParse(t *testing.T, body string) []channel.Event {
	t.Helper()
	evs, err := Parse([]byte(body))
	if err != nil || len(evs) == 0 {
		t.Fatalf("Parse: %v (%d events)", err, len(evs))
	}
	return evs
}

func TestParseHostile(t *testing.T) {
	t.Parallel()
	valid := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"9"},"messages":[{"from":"1","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"hi"}}]}}]}]}`
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepInBody := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"x":` + deep + `}}]}]}`
	deepFlow := `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"w","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"response_json":"` + strings.Repeat("[", 5000) + `"}}}]}}]}]}`
	manyEntries := `{"object":"whatsapp_business_account","entry":[` + strings.TrimSuffix(strings.Repeat(`{"changes":[]},`, 200000), ",") + `]}`
	tests := []struct {
		name    string
		body    string
		wantErr bool
		events  int
	}{
		{"valid", valid, false, 1},
		{"empty", "", true, 0},
		{"null", "null", true, 0},
		{"truncated", valid[:len(valid)/2], true, 0},
		{"deep nesting", deep, true, 0},
		{"deep nesting inside a value", deepInBody, true, 0},
		{"deep response_json", deepFlow, false, 1},
		{"invalid utf-8", strings.Replace(valid, "hi", "h\xff\xfei", 1), true, 0},
		{"wrong object", `{"object":"page","entry":[]}`, true, 0},
		{"entry not an array", `{"object":"whatsapp_business_account","entry":"x"}`, true, 0},
		{"value not an object", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":7}]}]}`, true, 0},
		{"unknown field value a string", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"new_thing","value":"x"}]}]}`, false, 1},
		{"message not an object", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[1,"x",null]}}]}]}`, false, 3},
		{"status with wrong types", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":5,"status":"sent","timestamp":{},"errors":"x"}]}}]}]}`, false, 1},
		{"huge array of empty entries", manyEntries, false, 0},
		{"over 4 MB", `{"object":"whatsapp_business_account","entry":[],"pad":"` + strings.Repeat("a", MaxWebhookBytes) + `"}`, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			evs, err := Parse([]byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && (!errors.Is(err, ErrMalformed) || domain.CodeOf(err) != domain.CodeInvalid) {
				t.Fatalf("error %v should wrap ErrMalformed with CodeInvalid", err)
			}
			if len(evs) != tc.events {
				t.Fatalf("%d events, want %d: %+v", len(evs), tc.events, evs)
			}
		})
	}
}

func TestFlexStr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`{"v":"wamid.HBgL"}`, "wamid.HBgL"},
		{`{"v":""}`, ""},
		{`{"v":"a\"b\\c"}`, `a"b\c`},
		{`{"v":"caf\u00e9"}`, "café"},
		{`{"v":"café"}`, "café"},
		{`{"v":"\ud83d\ude00"}`, "😀"},
		{`{"v":16505551234}`, "16505551234"},
		{`{"v":-1.5}`, "-1.5"},
		{`{"v":true}`, "true"},
		{`{"v":null}`, ""},
		{`{"v":{"x":1}}`, ""},
	} {
		var got struct {
			V flexStr `json:"v"`
		}
		if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if string(got.V) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.in, got.V, tc.want)
		}
	}
}
