package template

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/domain"
)

// Limits of spec §6.
const (
	MaxNameLength       = 512
	MaxHeaderText       = 60
	MaxBodyText         = 1024
	MaxFooterText       = 60
	MaxButtons          = 10
	MaxQuickReplies     = 10
	MaxURLButtons       = 2
	MaxButtonText       = 25
	MaxURLLength        = 2000
	MaxPhoneLength      = 20
	MaxCopyCode         = 20
	MaxCards            = 10
	MinCards            = 2
	MaxCardBody         = 160
	MaxCardButtons      = 2
	MaxOfferText        = 16
	MaxSupportedApps    = 5
	MaxCodeExpiryMinute = 90
)

var (
	nameRe     = regexp.MustCompile(`^[a-z0-9_]+$`)
	languageRe = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)
	phoneRe    = regexp.MustCompile(`^\+?[0-9]{4,19}$`)
)

type validator struct {
	t      *Template
	fields []domain.FieldError
}

func (v *validator) add(ptr, code, format string, args ...any) {
	v.fields = append(v.fields, domain.FieldError{Pointer: ptr, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) text(ptr, what, s string, required bool, limit int) {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && required:
		v.add(ptr, "required", "%s is required", what)
	case n > limit:
		v.add(ptr, "too_long", "%s is %d characters; WhatsApp allows at most %d", what, n, limit)
	}
}

// Validate checks t against Meta's rules for template creation and returns
// a *domain.Error (CodeInvalid) naming every problem with its JSON pointer,
// or nil.
func Validate(t *Template) error {
	v := &validator{t: t}
	v.top()
	seen := map[string]int{}
	for i := range t.Components {
		c := &t.Components[i]
		ptr := "/components/" + strconv.Itoa(i)
		if n, dup := seen[c.Type]; dup {
			v.add(ptr+"/type", "duplicate", "a template has at most one %s component (another is at /components/%d)", c.Type, n)
			continue
		}
		seen[c.Type] = i
		switch c.Type {
		case TypeHeader:
			v.header(ptr, c, false)
		case TypeBody:
			v.body(ptr, c, MaxBodyText, false)
		case TypeFooter:
			v.footer(ptr, c)
		case TypeButtons:
			v.buttons(ptr, c.Buttons, false)
		case TypeCarousel:
			v.carousel(ptr, c)
		case TypeLimitedTimeOffer:
			v.offer(ptr, c)
		default:
			v.add(ptr+"/type", "enum", "unknown component type %q: use HEADER, BODY, FOOTER, BUTTONS, CAROUSEL or LIMITED_TIME_OFFER", c.Type)
		}
	}
	v.combinations(seen)
	if len(v.fields) == 0 {
		return nil
	}
	f := v.fields[0]
	msg := fmt.Sprintf("the template is invalid: %s (at %s)", f.Message, f.Pointer)
	if len(v.fields) > 1 {
		msg += fmt.Sprintf(", and %d more problems", len(v.fields)-1)
	}
	return &domain.Error{Code: domain.CodeInvalid, Message: msg, Fields: v.fields}
}

func (v *validator) top() {
	t := v.t
	switch {
	case t.Name == "":
		v.add("/name", "required", "the name is required")
	case len(t.Name) > MaxNameLength:
		v.add("/name", "too_long", "the name is %d characters; at most %d", len(t.Name), MaxNameLength)
	case !nameRe.MatchString(t.Name):
		v.add("/name", "format", "the name %q may only hold lowercase letters, digits and underscores", t.Name)
	}
	if t.Language == "" {
		v.add("/language", "required", "the language is required, e.g. en_US")
	} else if !languageRe.MatchString(t.Language) {
		v.add("/language", "format", "the language %q is not a WhatsApp language code such as en, en_US or pt_BR", t.Language)
	}
	switch t.Category {
	case Utility, Marketing, Authentication:
	case "":
		v.add("/category", "required", "the category is required: UTILITY, MARKETING or AUTHENTICATION")
	default:
		v.add("/category", "enum", "the category %q is not UTILITY, MARKETING or AUTHENTICATION", t.Category)
	}
	switch t.ParameterFormat {
	case "", Positional, Named:
	default:
		v.add("/parameter_format", "enum", "parameter_format must be POSITIONAL or NAMED, not %q", t.ParameterFormat)
	}
	if t.MessageSendTTLSeconds < 0 {
		v.add("/message_send_ttl_seconds", "range", "message_send_ttl_seconds cannot be negative")
	}
	if len(t.Components) == 0 {
		v.add("/components", "required", "a template needs components, at least a BODY")
	}
}

// combinations checks rules that span components.
func (v *validator) combinations(seen map[string]int) {
	t := v.t
	if _, ok := seen[TypeBody]; !ok && len(t.Components) > 0 {
		v.add("/components", "required", "a template needs exactly one BODY component")
	}
	auth := t.Category == Authentication
	if auth {
		if i, ok := seen[TypeHeader]; ok {
			v.add(fmt.Sprintf("/components/%d", i), "not_allowed", "authentication templates have no header")
		}
		if i, ok := seen[TypeButtons]; !ok {
			v.add("/components", "required", "authentication templates need a BUTTONS component with one OTP button")
		} else if bs := t.Components[i].Buttons; len(bs) != 1 || bs[0].Type != ButtonOTP {
			v.add(fmt.Sprintf("/components/%d/buttons", i), "count", "authentication templates have exactly one OTP button")
		}
	}
	if _, ok := seen[TypeCarousel]; ok {
		for _, typ := range []string{TypeHeader, TypeFooter, TypeButtons} {
			if i, ok := seen[typ]; ok {
				v.add(fmt.Sprintf("/components/%d", i), "not_allowed", "carousel templates have a body and cards only, no top-level %s", typ)
			}
		}
	}
	if _, ok := seen[TypeLimitedTimeOffer]; ok {
		if i, ok := seen[TypeFooter]; ok {
			v.add(fmt.Sprintf("/components/%d", i), "not_allowed", "limited-time-offer templates have no footer")
		}
	}
}

func (v *validator) header(ptr string, c *Component, inCard bool) {
	switch c.Format {
	case FormatText:
		if inCard {
			v.add(ptr+"/format", "enum", "carousel card headers are IMAGE, VIDEO or PRODUCT")
			return
		}
		v.text(ptr+"/text", "the header text", c.Text, true, MaxHeaderText)
		if strings.ContainsAny(c.Text, "\n\r") {
			v.add(ptr+"/text", "format", "the header text cannot hold line breaks")
		}
		keys := Keys(c.Text)
		if len(keys) > 1 {
			v.add(ptr+"/text", "params", "the header text may hold at most one parameter, not %d", len(keys))
		}
		v.params(ptr, c.Text, keys, true)
		v.examples(ptr, c, keys, true)
	case FormatImage, FormatVideo, FormatDocument, FormatGIF:
		if inCard && (c.Format == FormatDocument || c.Format == FormatGIF) {
			v.add(ptr+"/format", "enum", "carousel card headers are IMAGE, VIDEO or PRODUCT")
		}
		if c.Format == FormatGIF && v.t.Category != Marketing {
			v.add(ptr+"/format", "not_allowed", "GIF headers are for MARKETING templates only")
		}
		if c.Example == nil || len(c.Example.HeaderHandle) == 0 || c.Example.HeaderHandle[0] == "" {
			v.add(ptr+"/example/header_handle", "example", "a %s header needs an example media handle (example.header_handle) from the Resumable Upload API", c.Format)
		}
		v.noText(ptr, c)
	case FormatLocation:
		if v.t.Category != Utility && v.t.Category != Marketing {
			v.add(ptr+"/format", "not_allowed", "LOCATION headers are for UTILITY and MARKETING templates only")
		}
		v.noText(ptr, c)
	case FormatProduct:
		v.noText(ptr, c)
	case "":
		v.add(ptr+"/format", "required", "the header format is required: TEXT, IMAGE, VIDEO, DOCUMENT, GIF, LOCATION or PRODUCT")
	default:
		v.add(ptr+"/format", "enum", "unknown header format %q", c.Format)
	}
}

func (v *validator) noText(ptr string, c *Component) {
	if c.Text != "" {
		v.add(ptr+"/text", "not_allowed", "a %s header has no text", c.Format)
	}
}

func (v *validator) body(ptr string, c *Component, limit int, inCard bool) {
	auth := v.t.Category == Authentication && !inCard
	if auth {
		// Meta writes the authentication body itself.
		if c.Text != "" {
			v.add(ptr+"/text", "not_allowed", "authentication templates' body text is fixed by WhatsApp; leave text empty")
		}
		return
	}
	if c.AddSecurityRecommendation != nil {
		v.add(ptr+"/add_security_recommendation", "not_allowed", "add_security_recommendation is for AUTHENTICATION templates only")
	}
	what := "the body text"
	if inCard {
		what = "the card body text"
	}
	v.text(ptr+"/text", what, c.Text, !inCard, limit)
	keys := Keys(c.Text)
	v.params(ptr, c.Text, keys, false)
	v.examples(ptr, c, keys, false)
}

// params checks a text's placeholders: one format, contiguous numbering,
// not at the very start or end, never adjacent.
func (v *validator) params(ptr, text string, keys []string, header bool) {
	ps := Params(text)
	if len(ps) == 0 {
		return
	}
	named := v.t.ParameterFormat == Named
	for _, p := range ps {
		switch {
		case p.Positional && named:
			v.add(ptr+"/text", "params", "{{%s}} is positional but parameter_format is NAMED: use names like {{first_name}}", p.Key)
		case !p.Positional && !named:
			if namedRe.MatchString(p.Key) {
				v.add(ptr+"/text", "params", "{{%s}} is a named parameter: set parameter_format to NAMED, or use {{1}}, {{2}}…", p.Key)
			} else {
				v.add(ptr+"/text", "params", "{{%s}} is not a parameter: use {{1}}, {{2}}… or lowercase names", p.Key)
			}
		case !p.Positional && !namedRe.MatchString(p.Key):
			v.add(ptr+"/text", "params", "{{%s}} is not a valid name: lowercase letters, digits and underscores, starting with a letter", p.Key)
		}
	}
	if !named {
		for i, k := range keys {
			if k != strconv.Itoa(i+1) {
				v.add(ptr+"/text", "params", "parameters must be numbered from {{1}} without gaps; {{%d}} is missing", i+1)
				break
			}
		}
	}
	if !header {
		trimmed := strings.TrimSpace(text)
		if strings.HasPrefix(trimmed, "{{") {
			v.add(ptr+"/text", "params", "the text cannot start with a parameter")
		}
		if strings.HasSuffix(trimmed, "}}") {
			v.add(ptr+"/text", "params", "the text cannot end with a parameter")
		}
	}
	if adjacentRe.MatchString(text) {
		v.add(ptr+"/text", "params", "parameters cannot be next to each other ({{1}}{{2}}); put words between them")
	}
}

// examples checks that every parameter has a sample value.
func (v *validator) examples(ptr string, c *Component, keys []string, header bool) {
	if len(keys) == 0 {
		return
	}
	ex := c.Example
	if v.t.ParameterFormat == Named {
		named := []NamedParam(nil)
		field := "body_text_named_params"
		if ex != nil {
			named = ex.BodyTextNamed
			if header {
				named, field = ex.HeaderTextNamed, "header_text_named_params"
			}
		} else if header {
			field = "header_text_named_params"
		}
		have := map[string]bool{}
		for _, n := range named {
			if n.Example != "" {
				have[n.ParamName] = true
			}
		}
		for _, k := range keys {
			if !have[k] {
				v.add(ptr+"/example/"+field, "example", "the parameter {{%s}} needs an example value", k)
			}
		}
		return
	}
	if header {
		if ex == nil || len(ex.HeaderText) < len(keys) {
			v.add(ptr+"/example/header_text", "example", "the header parameter needs an example value (example.header_text)")
		}
		return
	}
	if ex == nil || len(ex.BodyText) == 0 || len(ex.BodyText[0]) != len(keys) {
		got := 0
		if ex != nil && len(ex.BodyText) > 0 {
			got = len(ex.BodyText[0])
		}
		v.add(ptr+"/example/body_text", "example", "the text has %d parameters but example.body_text gives %d values", len(keys), got)
		return
	}
	for i, s := range ex.BodyText[0] {
		if strings.TrimSpace(s) == "" {
			v.add(fmt.Sprintf("%s/example/body_text/0/%d", ptr, i), "example", "example values cannot be empty")
		}
	}
}

func (v *validator) footer(ptr string, c *Component) {
	if v.t.Category == Authentication {
		if c.Text != "" {
			v.add(ptr+"/text", "not_allowed", "authentication templates' footer has no text, only code_expiration_minutes")
		}
		if m := c.CodeExpirationMinutes; m != nil && (*m < 1 || *m > MaxCodeExpiryMinute) {
			v.add(ptr+"/code_expiration_minutes", "range", "code_expiration_minutes must be between 1 and %d", MaxCodeExpiryMinute)
		}
		return
	}
	if c.CodeExpirationMinutes != nil {
		v.add(ptr+"/code_expiration_minutes", "not_allowed", "code_expiration_minutes is for AUTHENTICATION templates only")
	}
	v.text(ptr+"/text", "the footer text", c.Text, true, MaxFooterText)
	if len(Params(c.Text)) > 0 {
		v.add(ptr+"/text", "params", "the footer cannot hold parameters")
	}
}

func (v *validator) offer(ptr string, c *Component) {
	if v.t.Category != Marketing {
		v.add(ptr, "not_allowed", "limited-time offers are for MARKETING templates only")
	}
	if c.LimitedTimeOffer == nil {
		v.add(ptr+"/limited_time_offer", "required", "the limited_time_offer object is required")
		return
	}
	v.text(ptr+"/limited_time_offer/text", "the offer text", c.LimitedTimeOffer.Text, true, MaxOfferText)
}

func (v *validator) carousel(ptr string, c *Component) {
	if v.t.Category != Marketing && v.t.Category != Utility {
		v.add(ptr, "not_allowed", "carousels are for MARKETING and UTILITY templates")
	}
	if n := len(c.Cards); n < MinCards || n > MaxCards {
		v.add(ptr+"/cards", "count", "a carousel has %d to %d cards, not %d", MinCards, MaxCards, n)
	}
	var layout string
	for i := range c.Cards {
		cp := fmt.Sprintf("%s/cards/%d", ptr, i)
		var shape []string
		seen := map[string]bool{}
		for j := range c.Cards[i].Components {
			cc := &c.Cards[i].Components[j]
			p := fmt.Sprintf("%s/components/%d", cp, j)
			if seen[cc.Type] {
				v.add(p+"/type", "duplicate", "a card has at most one %s", cc.Type)
				continue
			}
			seen[cc.Type] = true
			switch cc.Type {
			case TypeHeader:
				v.header(p, cc, true)
				shape = append(shape, "H:"+cc.Format)
			case TypeBody:
				v.body(p, cc, MaxCardBody, true)
			case TypeButtons:
				v.buttons(p, cc.Buttons, true)
				for _, b := range cc.Buttons {
					shape = append(shape, "B:"+b.Type)
				}
			default:
				v.add(p+"/type", "enum", "card components are HEADER, BODY and BUTTONS, not %q", cc.Type)
			}
		}
		if !seen[TypeHeader] {
			v.add(cp+"/components", "required", "every card needs a HEADER (IMAGE, VIDEO or PRODUCT)")
		}
		if !seen[TypeButtons] {
			v.add(cp+"/components", "required", "every card needs 1 or 2 buttons")
		}
		s := strings.Join(shape, ",")
		if i == 0 {
			layout = s
		} else if s != layout {
			v.add(cp, "layout", "every card must have the same header format and buttons as the first card")
		}
	}
}

func (v *validator) buttons(ptr string, bs []Button, inCard bool) {
	limit := MaxButtons
	if inCard {
		limit = MaxCardButtons
	}
	if len(bs) == 0 || len(bs) > limit {
		v.add(ptr+"/buttons", "count", "there must be 1 to %d buttons, not %d", limit, len(bs))
	}
	count := map[string]int{}
	lastQR, qrGroupEnded := -1, false
	for i := range bs {
		b := &bs[i]
		p := fmt.Sprintf("%s/buttons/%d", ptr, i)
		count[b.Type]++
		if b.Type == ButtonQuickReply {
			if qrGroupEnded {
				v.add(p, "order", "quick-reply buttons must be next to each other (QR, QR, URL is fine; QR, URL, QR is not)")
			}
			lastQR = i
		} else if lastQR >= 0 {
			qrGroupEnded = true
		}
		v.button(p, b, inCard)
	}
	maxOf := map[string]int{ButtonQuickReply: MaxQuickReplies, ButtonURL: MaxURLButtons, ButtonPhoneNumber: 1,
		ButtonCopyCode: 1, ButtonOTP: 1, ButtonFlow: 1, ButtonVoiceCall: 1, ButtonCatalog: 1, ButtonMPM: 1, ButtonSPM: 1}
	for typ, n := range count {
		if m, ok := maxOf[typ]; ok && n > m {
			v.add(ptr+"/buttons", "count", "at most %d %s button(s), not %d", m, typ, n)
		}
	}
	if inCard {
		return
	}
	for _, solo := range []string{ButtonCatalog, ButtonMPM, ButtonSPM} {
		if count[solo] > 0 && len(bs) > 1 && solo != ButtonMPM {
			v.add(ptr+"/buttons", "count", "a %s button stands alone", solo)
		}
	}
}

func (v *validator) button(p string, b *Button, inCard bool) {
	auth := v.t.Category == Authentication
	if b.Type == ButtonOTP && !auth {
		v.add(p+"/type", "not_allowed", "OTP buttons are for AUTHENTICATION templates only")
	}
	if auth && b.Type != ButtonOTP {
		v.add(p+"/type", "not_allowed", "authentication templates only have an OTP button")
	}
	if inCard {
		switch b.Type {
		case ButtonQuickReply, ButtonURL, ButtonPhoneNumber, ButtonSPM:
		default:
			v.add(p+"/type", "enum", "card buttons are QUICK_REPLY, URL, PHONE_NUMBER or SPM, not %q", b.Type)
		}
	}
	switch b.Type {
	case ButtonQuickReply, ButtonVoiceCall, ButtonCatalog, ButtonMPM, ButtonSPM:
		v.text(p+"/text", "the button text", b.Text, true, MaxButtonText)
	case ButtonURL:
		v.text(p+"/text", "the button text", b.Text, true, MaxButtonText)
		v.urlButton(p, b)
	case ButtonPhoneNumber:
		v.text(p+"/text", "the button text", b.Text, true, MaxButtonText)
		if b.PhoneNumber == "" {
			v.add(p+"/phone_number", "required", "the phone number is required")
		} else if len(b.PhoneNumber) > MaxPhoneLength || !phoneRe.MatchString(b.PhoneNumber) {
			v.add(p+"/phone_number", "format", "the phone number must be digits with an optional +, at most %d characters", MaxPhoneLength)
		}
	case ButtonCopyCode:
		code := b.Example.First()
		v.text(p+"/example", "the copy code example", code, true, MaxCopyCode)
	case ButtonFlow:
		v.text(p+"/text", "the button text", b.Text, true, MaxButtonText)
		set := 0
		for _, s := range []string{b.FlowID, b.FlowName, b.FlowJSON} {
			if s != "" {
				set++
			}
		}
		if set != 1 {
			v.add(p+"/flow_id", "one_of", "give exactly one of flow_id, flow_name or flow_json")
		}
		switch b.FlowAction {
		case "", "navigate", "data_exchange":
		default:
			v.add(p+"/flow_action", "enum", "flow_action must be navigate or data_exchange, not %q", b.FlowAction)
		}
	case ButtonOTP:
		v.otp(p, b)
	case "":
		v.add(p+"/type", "required", "the button type is required")
	default:
		v.add(p+"/type", "enum", "unknown button type %q", b.Type)
	}
}

func (v *validator) urlButton(p string, b *Button) {
	if b.URL == "" {
		v.add(p+"/url", "required", "the URL is required")
		return
	}
	if n := utf8.RuneCountInString(b.URL); n > MaxURLLength {
		v.add(p+"/url", "too_long", "the URL is %d characters; at most %d", n, MaxURLLength)
	}
	ps := Params(b.URL)
	base := b.URL
	if len(ps) > 0 {
		base = b.URL[:ps[0].Start]
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add(p+"/url", "format", "%q is not an http(s) URL", b.URL)
	}
	switch {
	case len(ps) > 1:
		v.add(p+"/url", "params", "a URL may hold one parameter, at its end")
	case len(ps) == 1:
		if ps[0].End != len(b.URL) {
			v.add(p+"/url", "params", "the URL parameter must be at the very end of the URL")
		}
		if ps[0].Key != "1" {
			v.add(p+"/url", "params", "the URL parameter must be {{1}}")
		}
		if b.Example.IsZero() || b.Example.First() == "" {
			v.add(p+"/example", "example", "a URL with a parameter needs an example (the full URL or its suffix)")
		}
	}
}

func (v *validator) otp(p string, b *Button) {
	v.text(p+"/text", "the button text", b.Text, false, MaxButtonText)
	v.text(p+"/autofill_text", "the autofill text", b.AutofillText, false, MaxButtonText)
	switch b.OTPType {
	case OTPCopyCode:
	case OTPOneTap, OTPZeroTap:
		if n := len(b.SupportedApps); n < 1 || n > MaxSupportedApps {
			v.add(p+"/supported_apps", "count", "%s buttons need 1 to %d supported_apps", b.OTPType, MaxSupportedApps)
		}
		for i, a := range b.SupportedApps {
			ap := fmt.Sprintf("%s/supported_apps/%d", p, i)
			if a.PackageName == "" {
				v.add(ap+"/package_name", "required", "the Android package name is required")
			}
			if a.SignatureHash == "" {
				v.add(ap+"/signature_hash", "required", "the app signing key hash is required")
			}
		}
		if b.OTPType == OTPZeroTap && (b.ZeroTapTermsAccepted == nil || !*b.ZeroTapTermsAccepted) {
			v.add(p+"/zero_tap_terms_accepted", "required", "zero-tap needs zero_tap_terms_accepted: true")
		}
	case "":
		v.add(p+"/otp_type", "required", "otp_type is required: COPY_CODE, ONE_TAP or ZERO_TAP")
	default:
		v.add(p+"/otp_type", "enum", "otp_type must be COPY_CODE, ONE_TAP or ZERO_TAP, not %q", b.OTPType)
	}
}
