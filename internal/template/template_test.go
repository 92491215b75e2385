package template

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
	"github.com/parleyhq/parley/internal/domain"
)

func decode(t *testing.T, s string) *Template {
	t.Helper()
	var tpl Template
	if err := json.Unmarshal([]byte(s), &tpl); err != nil {
		t.Fatalf("decoding template: %v", err)
	}
	return &tpl
}

func TestFixtureTemplatesValidateAndRoundTrip(t *testing.T) {
	t.Parallel()
	dir := channeltest.FixturesDir(t, "pywa", "templates")
	cases := channeltest.LoadCases(t, dir)
	if len(cases) == 0 {
		t.Fatal("no template fixtures")
	}
	for _, c := range cases {
		t.Run(c.File+"/"+c.Name, func(t *testing.T) {
			t.Parallel()
			tpl := decode(t, string(c.JSON))
			if err := Validate(tpl); err != nil {
				t.Fatalf("Validate: %v\n%+v", err, err.(*domain.Error).Fields)
			}
			// What we submit to Meta is what we read: no field lost.
			out, err := json.Marshal(tpl)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			_ = json.Unmarshal(c.JSON, &a)
			_ = json.Unmarshal(out, &b)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip changed the template:\n in: %s\nout: %s", c.JSON, out)
			}
		})
	}
	t.Logf("validated %d fixture templates", len(cases))
}

const validBody = `{"type":"BODY","text":"Hello {{1}}, your order {{2}} ships today.","example":{"body_text":[["Pablo","42"]]}}`

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tpl     string
		pointer string
		code    string
	}{
		{"no name", `{"language":"en_US","category":"UTILITY","components":[` + validBody + `]}`, "/name", "required"},
		{"bad name", `{"name":"Order Update","language":"en_US","category":"UTILITY","components":[` + validBody + `]}`, "/name", "format"},
		{"long name", `{"name":"` + strings.Repeat("a", 513) + `","language":"en_US","category":"UTILITY","components":[` + validBody + `]}`, "/name", "too_long"},
		{"bad language", `{"name":"a","language":"english","category":"UTILITY","components":[` + validBody + `]}`, "/language", "format"},
		{"bad category", `{"name":"a","language":"en","category":"PROMO","components":[` + validBody + `]}`, "/category", "enum"},
		{"no body", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"FOOTER","text":"x"}]}`, "/components", "required"},
		{"two bodies", `{"name":"a","language":"en","category":"UTILITY","components":[` + validBody + `,` + validBody + `]}`, "/components/1/type", "duplicate"},
		{"body too long", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"` + strings.Repeat("x", 1025) + `"}]}`, "/components/0/text", "too_long"},
		{"gap in params", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"Hi {{1}} and {{3}} ok","example":{"body_text":[["a","b"]]}}]}`, "/components/0/text", "params"},
		{"starts with param", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"{{1}} is here","example":{"body_text":[["a"]]}}]}`, "/components/0/text", "params"},
		{"ends with param", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"Hi {{1}}","example":{"body_text":[["a"]]}}]}`, "/components/0/text", "params"},
		{"adjacent params", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"Hi {{1}}{{2}} ok","example":{"body_text":[["a","b"]]}}]}`, "/components/0/text", "params"},
		{"missing examples", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"Hi {{1}} ok"}]}`, "/components/0/example/body_text", "example"},
		{"named without format", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"Hi {{first_name}} ok"}]}`, "/components/0/text", "params"},
		{"named without example", `{"name":"a","language":"en","category":"UTILITY","parameter_format":"NAMED","components":[{"type":"BODY","text":"Hi {{first_name}} ok"}]}`, "/components/0/example/body_text_named_params", "example"},
		{"header two params", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"HEADER","format":"TEXT","text":"{{1}} {{2}}","example":{"header_text":["a","b"]}},` + validBody + `]}`, "/components/0/text", "params"},
		{"header too long", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"HEADER","format":"TEXT","text":"` + strings.Repeat("h", 61) + `"},` + validBody + `]}`, "/components/0/text", "too_long"},
		{"media header without handle", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"HEADER","format":"IMAGE"},` + validBody + `]}`, "/components/0/example/header_handle", "example"},
		{"footer with param", `{"name":"a","language":"en","category":"UTILITY","components":[` + validBody + `,{"type":"FOOTER","text":"bye {{1}}"}]}`, "/components/1/text", "params"},
		{"quick replies split", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"a"},{"type":"URL","text":"b","url":"https://x.io"},{"type":"QUICK_REPLY","text":"c"}]}]}`, "/components/1/buttons/2", "order"},
		{"eleven buttons", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"BUTTONS","buttons":[` + strings.TrimSuffix(strings.Repeat(`{"type":"QUICK_REPLY","text":"a"},`, 11), ",") + `]}]}`, "/components/1/buttons", "count"},
		{"three URL buttons", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"BUTTONS","buttons":[{"type":"URL","text":"a","url":"https://x.io"},{"type":"URL","text":"b","url":"https://x.io"},{"type":"URL","text":"c","url":"https://x.io"}]}]}`, "/components/1/buttons", "count"},
		{"button text too long", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"` + strings.Repeat("q", 26) + `"}]}]}`, "/components/1/buttons/0/text", "too_long"},
		{"url param not at end", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"BUTTONS","buttons":[{"type":"URL","text":"a","url":"https://x.io/{{1}}/x","example":["https://x.io/a/x"]}]}]}`, "/components/1/buttons/0/url", "params"},
		{"url param without example", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"BUTTONS","buttons":[{"type":"URL","text":"a","url":"https://x.io/{{1}}"}]}]}`, "/components/1/buttons/0/example", "example"},
		{"phone number too long", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"BUTTONS","buttons":[{"type":"PHONE_NUMBER","text":"a","phone_number":"+123456789012345678901"}]}]}`, "/components/1/buttons/0/phone_number", "format"},
		{"copy code too long", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"BUTTONS","buttons":[{"type":"COPY_CODE","example":"` + strings.Repeat("C", 21) + `"}]}]}`, "/components/1/buttons/0/example", "too_long"},
		{"flow without id", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"BUTTONS","buttons":[{"type":"FLOW","text":"Go"}]}]}`, "/components/1/buttons/0/flow_id", "one_of"},
		{"otp outside auth", `{"name":"a","language":"en","category":"UTILITY","components":[` + validBody + `,{"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"COPY_CODE"}]}]}`, "/components/1/buttons/0/type", "not_allowed"},
		{"auth body text", `{"name":"a","language":"en","category":"AUTHENTICATION","components":[{"type":"BODY","text":"Your code"},{"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"COPY_CODE"}]}]}`, "/components/0/text", "not_allowed"},
		{"auth without otp", `{"name":"a","language":"en","category":"AUTHENTICATION","components":[{"type":"BODY"}]}`, "/components", "required"},
		{"one tap without apps", `{"name":"a","language":"en","category":"AUTHENTICATION","components":[{"type":"BODY"},{"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"ONE_TAP"}]}]}`, "/components/1/buttons/0/supported_apps", "count"},
		{"zero tap terms", `{"name":"a","language":"en","category":"AUTHENTICATION","components":[{"type":"BODY"},{"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"ZERO_TAP","supported_apps":[{"package_name":"a.b","signature_hash":"h"}]}]}]}`, "/components/1/buttons/0/zero_tap_terms_accepted", "required"},
		{"code expiry range", `{"name":"a","language":"en","category":"AUTHENTICATION","components":[{"type":"BODY"},{"type":"FOOTER","code_expiration_minutes":91},{"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"COPY_CODE"}]}]}`, "/components/1/code_expiration_minutes", "range"},
		{"location header in auth-free marketing ok but gif in utility", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"HEADER","format":"GIF","example":{"header_handle":["h"]}},` + validBody + `]}`, "/components/0/format", "not_allowed"},
		{"carousel one card", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"CAROUSEL","cards":[{"components":[{"type":"HEADER","format":"IMAGE","example":{"header_handle":["h"]}},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"a"}]}]}]}]}`, "/components/1/cards", "count"},
		{"carousel mixed layout", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"CAROUSEL","cards":[{"components":[{"type":"HEADER","format":"IMAGE","example":{"header_handle":["h"]}},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"a"}]}]},{"components":[{"type":"HEADER","format":"VIDEO","example":{"header_handle":["h"]}},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"a"}]}]}]}]}`, "/components/1/cards/1", "layout"},
		{"offer text too long", `{"name":"a","language":"en","category":"MARKETING","components":[{"type":"LIMITED_TIME_OFFER","limited_time_offer":{"text":"` + strings.Repeat("o", 17) + `"}},` + validBody + `]}`, "/components/0/limited_time_offer/text", "too_long"},
		{"unknown component", `{"name":"a","language":"en","category":"MARKETING","components":[` + validBody + `,{"type":"SIDEBAR"}]}`, "/components/1/type", "enum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Validate(decode(t, tc.tpl))
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeInvalid {
				t.Fatalf("err = %v, want a CodeInvalid domain error", err)
			}
			for _, f := range de.Fields {
				if f.Pointer == tc.pointer && f.Code == tc.code {
					return
				}
			}
			t.Fatalf("no %s problem at %s; got %+v", tc.code, tc.pointer, de.Fields)
		})
	}
}

func TestValidateAcceptsNamedAndMixedButtons(t *testing.T) {
	t.Parallel()
	tpl := decode(t, `{"name":"order_named","language":"en_US","category":"UTILITY","parameter_format":"NAMED","components":[
		{"type":"HEADER","format":"TEXT","text":"Hi {{first_name}}!","example":{"header_text_named_params":[{"param_name":"first_name","example":"Ann"}]}},
		{"type":"BODY","text":"Thanks {{first_name}}, order {{order_id}} is ready.","example":{"body_text_named_params":[{"param_name":"first_name","example":"Ann"},{"param_name":"order_id","example":"42"}]}},
		{"type":"FOOTER","text":"Lucky Shrub"},
		{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Stop"},{"type":"QUICK_REPLY","text":"More"},{"type":"URL","text":"Track","url":"https://x.io/t/{{1}}","example":["https://x.io/t/42"]},{"type":"PHONE_NUMBER","text":"Call","phone_number":"+15550051310"},{"type":"FLOW","text":"Rate","flow_id":"123","flow_action":"navigate","navigate_screen":"START"}]}]}`)
	if err := Validate(tpl); err != nil {
		t.Fatalf("Validate: %v %+v", err, err.(*domain.Error).Fields)
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	tpl := decode(t, `{"name":"order_update","language":"en_US","category":"UTILITY","components":[
		{"type":"HEADER","format":"DOCUMENT","example":{"header_handle":["h"]}},
		{"type":"BODY","text":"Hi {{1}}, you owe {{2}} by {{3}}.","example":{"body_text":[["a","b","c"]]}},
		{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Stop"},{"type":"URL","text":"Pay","url":"https://x.io/pay/{{1}}","example":["https://x.io/pay/1"]},{"type":"COPY_CODE","example":"CODE"},{"type":"FLOW","text":"Rate","flow_id":"9"}]}]}`)
	due := time.Date(2026, 2, 25, 0, 0, 0, 0, time.UTC)
	got, err := Render(tpl, map[string]any{
		"header": "https://ex.com/r.pdf", "header.filename": "receipt.pdf",
		"1": "Pablo", "body.2": channel.Currency{Fallback: "$100.99", Code: "USD", Amount1000: 100990}, "3": due,
		"button.0": "STOP_PROMOS", "button.1": "promo%20123", "button.2": "25OFF", "button.3": "ftk_1",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &channel.TemplateSend{Name: "order_update", Language: "en_US",
		Header: &channel.TemplateParam{Type: channel.ParamDocument, Media: &channel.MediaRef{Type: channel.MediaDocument, Link: "https://ex.com/r.pdf", Filename: "receipt.pdf"}},
		Body: []channel.TemplateParam{{Type: channel.ParamText, Text: "Pablo"},
			{Type: channel.ParamCurrency, Currency: &channel.Currency{Fallback: "$100.99", Code: "USD", Amount1000: 100990}},
			{Type: channel.ParamDateTime, DateTime: "February 25, 2026"}},
		Buttons: []channel.TemplateButton{
			{Index: 0, SubType: "quick_reply", Param: channel.TemplateParam{Type: channel.ParamPayload, Payload: "STOP_PROMOS"}},
			{Index: 1, SubType: "url", Param: channel.TemplateParam{Type: channel.ParamText, Text: "promo%20123"}},
			{Index: 2, SubType: "copy_code", Param: channel.TemplateParam{Type: channel.ParamCouponCode, Coupon: "25OFF"}},
			{Index: 3, SubType: "flow", Param: channel.TemplateParam{Type: channel.ParamAction, Action: &channel.FlowToken{Token: "ftk_1"}}},
		}}
	if !reflect.DeepEqual(got, want) {
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		t.Fatalf("Render:\n got %s\nwant %s", a, b)
	}
}

func TestRenderReportsEveryMissingValue(t *testing.T) {
	t.Parallel()
	tpl := decode(t, `{"name":"t","language":"en","category":"MARKETING","components":[
		{"type":"HEADER","format":"TEXT","text":"Sale {{1}}!","example":{"header_text":["x"]}},
		{"type":"BODY","text":"Hi {{1}} and {{2}}.","example":{"body_text":[["a","b"]]}},
		{"type":"BUTTONS","buttons":[{"type":"URL","text":"Go","url":"https://x.io/{{1}}","example":["https://x.io/a"]}]}]}`)
	_, err := Render(tpl, map[string]any{"body.1": "Ann", "body.2": "  "})
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	var ptrs []string
	for _, f := range de.Fields {
		ptrs = append(ptrs, f.Pointer)
	}
	want := []string{"/values/body.2", "/values/button.0", "/values/header.1"}
	if !reflect.DeepEqual(ptrs, want) {
		t.Fatalf("pointers = %v, want %v (%v)", ptrs, want, err)
	}
}

func TestRenderNamedAuthAndLists(t *testing.T) {
	t.Parallel()
	named := decode(t, `{"name":"t","language":"en","category":"UTILITY","parameter_format":"NAMED","components":[
		{"type":"BODY","text":"Hi {{first_name}} ok","example":{"body_text_named_params":[{"param_name":"first_name","example":"A"}]}}]}`)
	ts, err := Render(named, map[string]any{"first_name": "Ann"})
	if err != nil || ts.Body[0].Name != "first_name" || ts.Body[0].Text != "Ann" {
		t.Fatalf("named: %+v %v", ts, err)
	}
	auth := decode(t, `{"name":"otp","language":"en","category":"AUTHENTICATION","components":[{"type":"BODY"},{"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"COPY_CODE"}]}]}`)
	ts, err = Render(auth, map[string]any{"code": 123456})
	if err != nil || ts.Body[0].Text != "123456" || ts.Buttons[0].SubType != "url" || ts.Buttons[0].Param.Text != "123456" {
		t.Fatalf("auth: %+v %v", ts, err)
	}
	pos := decode(t, `{"name":"p","language":"en","category":"UTILITY","components":[
		{"type":"HEADER","format":"TEXT","text":"Hey {{1}}","example":{"header_text":["x"]}},
		{"type":"BODY","text":"A {{1}} b {{2}} c","example":{"body_text":[["a","b"]]}}]}`)
	ts, err = Render(pos, ValuesFromLists([]string{"H"}, []string{"x", "y"}, nil))
	if err != nil || ts.Header.Text != "H" || ts.Body[1].Text != "y" {
		t.Fatalf("lists: %+v %v", ts, err)
	}
}

func TestCheckSendable(t *testing.T) {
	t.Parallel()
	for _, s := range []Status{"", StatusPending, StatusRejected, StatusPaused, StatusDisabled} {
		if err := CheckSendable(&Template{Name: "x", Status: s}); domain.CodeOf(err) != domain.CodeConflict {
			t.Errorf("status %q: err = %v", s, err)
		}
	}
	if err := CheckSendable(&Template{Status: StatusApproved}); err != nil {
		t.Error(err)
	}
}

func TestApplyWebhookUpdates(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tpl := &Template{Name: "order_confirmation", Language: "en_US", Category: Utility, Status: StatusPending}
	steps := []struct {
		kind    channel.Kind
		u       channel.TemplateUpdate
		changed bool
		check   func(*Template) bool
	}{
		{channel.KindTemplateStatus, channel.TemplateUpdate{ID: "1", Name: "order_confirmation", Language: "en_US", Event: "REJECTED", Reason: "INVALID_FORMAT", Detail: "adjacent"}, true,
			func(t *Template) bool {
				return t.Status == StatusRejected && t.RejectedReason == "INVALID_FORMAT" && t.ID == "1"
			}},
		{channel.KindTemplateStatus, channel.TemplateUpdate{ID: "1", Event: "APPROVED", Reason: "NONE"}, true,
			func(t *Template) bool { return t.Status == StatusApproved && t.RejectedReason == "" }},
		{channel.KindTemplateStatus, channel.TemplateUpdate{ID: "1", Event: "APPROVED", Reason: "NONE"}, false,
			func(t *Template) bool { return t.Status == StatusApproved }},
		{channel.KindTemplateQuality, channel.TemplateUpdate{ID: "1", Quality: "YELLOW", PreviousQuality: "GREEN"}, true,
			func(t *Template) bool { return t.Quality == "YELLOW" }},
		{channel.KindTemplateCategory, channel.TemplateUpdate{ID: "1", Category: "MARKETING", PreviousCategory: "UTILITY"}, true,
			func(t *Template) bool { return t.Category == Marketing }},
		{channel.KindTemplateStatus, channel.TemplateUpdate{ID: "1", Event: "PAUSED"}, true,
			func(t *Template) bool { return t.Status == StatusPaused }},
		{channel.KindTemplateStatus, channel.TemplateUpdate{ID: "1", Event: "LOCKED", Detail: "locked: x"}, true,
			func(t *Template) bool { return t.Status == StatusPaused && t.StatusDetail == "locked: x" }},
	}
	for i, s := range steps {
		if !tpl.Matches(&s.u) && s.u.Name != "" {
			t.Fatalf("step %d: update does not match", i)
		}
		if got := tpl.Apply(s.kind, &s.u, at); got != s.changed {
			t.Fatalf("step %d: changed = %v, want %v", i, got, s.changed)
		}
		if !s.check(tpl) {
			t.Fatalf("step %d: template %+v", i, tpl)
		}
	}
}

func TestParamsAndKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		keys []string
	}{
		{"no params", nil},
		{"{{2}} a {{1}} b {{2}}", []string{"1", "2"}},
		{"{{ name }} and {{other}}", []string{"name", "other"}},
		{"{{1}} {{x}}", []string{"1", "x"}},
		{"{{{1}}}", []string{"1"}},
	}
	for _, tc := range tests {
		if got := Keys(tc.text); !reflect.DeepEqual(got, tc.keys) {
			t.Errorf("Keys(%q) = %v, want %v", tc.text, got, tc.keys)
		}
	}
}

// TestStatusOf: every status Meta reports maps onto one of the five the
// database admits, or changes nothing.
func TestStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		meta string
		want Status
		ok   bool
	}{
		{"APPROVED", StatusApproved, true}, {"REINSTATED", StatusApproved, true}, {"UNARCHIVED", StatusApproved, true},
		{"REJECTED", StatusRejected, true}, {"LIMIT_EXCEEDED", StatusRejected, true},
		{"PENDING", StatusPending, true}, {"IN_APPEAL", StatusPending, true},
		{"PAUSED", StatusPaused, true},
		{"DISABLED", StatusDisabled, true}, {"PENDING_DELETION", StatusDisabled, true}, {"DELETED", StatusDisabled, true}, {"ARCHIVED", StatusDisabled, true},
		{"FLAGGED", "", false}, {"LOCKED", "", false}, {"SOMETHING_NEW", "", false},
	}
	for _, tc := range tests {
		if got, ok := StatusOf(tc.meta); got != tc.want || ok != tc.ok {
			t.Errorf("StatusOf(%q) = %q, %v; want %q, %v", tc.meta, got, ok, tc.want, tc.ok)
		}
	}
}
