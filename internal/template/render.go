package template

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
)

// Limits on rendered parameter values (spec §6.4).
const (
	MaxHeaderParam = 60
	MaxBodyParam   = 1024
)

// Render builds the send of template t from values (flow variables,
// dataset columns). Keys:
//
//   - "body.<key>" or just "<key>" for body parameters ({{1}} → "1" or
//     "body.1"; {{first_name}} → "first_name");
//   - "header.<key>" for a text header's parameter (a bare name works too
//     when the body has no parameter of that name);
//   - "header" for a media header (a link starting with http(s), or an
//     uploaded media ID, or a channel.MediaRef), "header.filename" for a
//     document's name; for a LOCATION header a channel.Location or a map
//     with latitude, longitude, name, address; for a PRODUCT header
//     "header.product_id" and "header.catalog_id";
//   - "button.<index>" for the button at that 0-based index: the URL suffix,
//     the copy code, the quick-reply payload (optional: Meta then returns
//     the button text), the flow token (optional), plus "button.<index>.data"
//     for a flow button's data; for authentication templates "code" (or
//     "body.1") fills both the body and the OTP button;
//   - "card.<i>.header", "card.<i>.body.<key>", "card.<i>.button.<j>" for
//     carousel cards;
//   - "offer.expires_at" for a limited-time offer (time.Time or Unix ms).
//
// Values may be strings, numbers, booleans, time.Time, channel.Currency,
// channel.MediaRef or channel.Location. Every missing or unusable value is
// reported at once, as a CodeInvalid *domain.Error with pointers /values/<key>.
func Render(t *Template, values map[string]any) (*channel.TemplateSend, error) {
	r := &renderer{t: t, values: values}
	ts := &channel.TemplateSend{Name: t.Name, Language: t.Language}
	bodyKeys := map[string]bool{}
	if b := t.Component(TypeBody); b != nil {
		for _, k := range Keys(b.Text) {
			bodyKeys[k] = true
		}
	}
	if t.Category == Authentication {
		r.auth(ts)
		return ts, r.err()
	}
	for i := range t.Components {
		c := &t.Components[i]
		switch c.Type {
		case TypeHeader:
			ts.Header = r.header(c, "header", bodyKeys)
		case TypeBody:
			ts.Body = r.texts(c.Text, "body", MaxBodyParam, true)
		case TypeButtons:
			ts.Buttons = r.buttons(c.Buttons, "button")
		case TypeLimitedTimeOffer:
			if c.LimitedTimeOffer != nil && c.LimitedTimeOffer.HasExpiration {
				ts.OfferExpiresAt = r.millis("offer.expires_at")
			}
		case TypeCarousel:
			for ci := range c.Cards {
				ts.Cards = append(ts.Cards, r.card(ci, &c.Cards[ci]))
			}
		}
	}
	return ts, r.err()
}

// ValuesFromLists maps positional lists (the engine's rendered template:
// header params, body params, button params by button index) to Render's
// keys.
func ValuesFromLists(header, body, buttons []string) map[string]any {
	v := make(map[string]any, len(header)+len(body)+len(buttons))
	for i, s := range header {
		v["header."+strconv.Itoa(i+1)] = s
	}
	if len(header) == 1 {
		v["header"] = header[0]
	}
	for i, s := range body {
		v["body."+strconv.Itoa(i+1)] = s
	}
	for i, s := range buttons {
		if s != "" {
			v["button."+strconv.Itoa(i)] = s
		}
	}
	return v
}

// CheckSendable refuses templates Meta would refuse: only APPROVED ones
// can be sent.
func CheckSendable(t *Template) error {
	if t.Status == StatusApproved {
		return nil
	}
	status := string(t.Status)
	if status == "" {
		status = "not submitted"
	}
	return domain.Errorf(domain.CodeConflict,
		"template %q (%s) is %s: only APPROVED templates can be sent", t.Name, t.Language, status)
}

type renderer struct {
	t      *Template
	values map[string]any
	fields []domain.FieldError
}

func (r *renderer) fail(key, code, format string, args ...any) {
	r.fields = append(r.fields, domain.FieldError{Pointer: "/values/" + escapePointer(key), Code: code,
		Message: fmt.Sprintf(format, args...)})
}

func (r *renderer) err() error {
	if len(r.fields) == 0 {
		return nil
	}
	sort.SliceStable(r.fields, func(i, j int) bool { return r.fields[i].Pointer < r.fields[j].Pointer })
	var missing []string
	for _, f := range r.fields {
		missing = append(missing, strings.TrimPrefix(f.Pointer, "/values/"))
	}
	return &domain.Error{Code: domain.CodeInvalid,
		Message: fmt.Sprintf("template %q cannot be rendered: %s (parameters %s)", r.t.Name, r.fields[0].Message, strings.Join(missing, ", ")),
		Fields:  r.fields}
}

// lookup returns the first present value among keys.
func (r *renderer) lookup(keys ...string) (any, string, bool) {
	for _, k := range keys {
		if v, ok := r.values[k]; ok && v != nil {
			return v, k, true
		}
	}
	return nil, keys[0], false
}

// texts renders the parameters of a text, in Meta's order.
func (r *renderer) texts(text, prefix string, limit int, bareOK bool) []channel.TemplateParam {
	keys := Keys(text)
	if len(keys) == 0 {
		return nil
	}
	named := r.t.ParameterFormat == Named
	out := make([]channel.TemplateParam, 0, len(keys))
	for _, k := range keys {
		cands := []string{prefix + "." + k}
		if bareOK {
			cands = append(cands, k)
		}
		p, ok := r.textParam(limit, cands...)
		if !ok {
			continue
		}
		if named {
			p.Name = k
		}
		out = append(out, p)
	}
	return out
}

// textParam renders one text-ish parameter (text, currency, date_time).
func (r *renderer) textParam(limit int, keys ...string) (channel.TemplateParam, bool) {
	v, key, ok := r.lookup(keys...)
	if !ok {
		r.fail(key, "missing", "no value for %s", key)
		return channel.TemplateParam{}, false
	}
	switch x := v.(type) {
	case channel.Currency:
		return channel.TemplateParam{Type: channel.ParamCurrency, Currency: &x}, true
	case *channel.Currency:
		return channel.TemplateParam{Type: channel.ParamCurrency, Currency: x}, true
	case time.Time:
		return channel.TemplateParam{Type: channel.ParamDateTime, DateTime: x.Format("January 2, 2006")}, true
	}
	s, ok := scalar(v)
	if !ok {
		r.fail(key, "type", "the value of %s is a %T, not text", key, v)
		return channel.TemplateParam{}, false
	}
	if strings.TrimSpace(s) == "" {
		r.fail(key, "empty", "the value of %s is empty; WhatsApp rejects empty parameters", key)
		return channel.TemplateParam{}, false
	}
	if n := utf8.RuneCountInString(s); n > limit {
		r.fail(key, "too_long", "the value of %s is %d characters; at most %d", key, n, limit)
		return channel.TemplateParam{}, false
	}
	return channel.TemplateParam{Type: channel.ParamText, Text: s}, true
}

func (r *renderer) header(c *Component, prefix string, bodyKeys map[string]bool) *channel.TemplateParam {
	switch c.Format {
	case FormatText:
		keys := Keys(c.Text)
		if len(keys) == 0 {
			return nil
		}
		cands := []string{prefix + "." + keys[0]}
		if !bodyKeys[keys[0]] {
			cands = append(cands, keys[0])
		}
		if prefix == "header" {
			cands = append(cands, "header")
		}
		p, ok := r.textParam(MaxHeaderParam, cands...)
		if !ok {
			return nil
		}
		if r.t.ParameterFormat == Named {
			p.Name = keys[0]
		}
		return &p
	case FormatImage, FormatVideo, FormatDocument, FormatGIF:
		typ := map[string]channel.TemplateParamType{FormatImage: channel.ParamImage, FormatVideo: channel.ParamVideo,
			FormatDocument: channel.ParamDocument, FormatGIF: channel.ParamVideo}[c.Format]
		m := r.media(prefix, channel.MediaType(typ))
		if m == nil {
			return nil
		}
		return &channel.TemplateParam{Type: typ, Media: m}
	case FormatLocation:
		l := r.location(prefix)
		if l == nil {
			return nil
		}
		return &channel.TemplateParam{Type: channel.ParamLocation, Location: l}
	case FormatProduct:
		pid, key, ok := r.lookup(prefix + ".product_id")
		cid, _, _ := r.lookup(prefix + ".catalog_id")
		ps, _ := scalar(pid)
		cs, _ := scalar(cid)
		if !ok || ps == "" || cs == "" {
			r.fail(key, "missing", "a product header needs %s.product_id and %s.catalog_id", prefix, prefix)
			return nil
		}
		return &channel.TemplateParam{Type: channel.ParamProduct, Product: &channel.Product{CatalogID: cs, ProductID: ps}}
	}
	return nil
}

func (r *renderer) media(key string, typ channel.MediaType) *channel.MediaRef {
	v, _, ok := r.lookup(key)
	if !ok {
		r.fail(key, "missing", "no media for %s: give a link or an uploaded media ID", key)
		return nil
	}
	var m channel.MediaRef
	switch x := v.(type) {
	case channel.MediaRef:
		m = x
	case *channel.MediaRef:
		m = *x
	default:
		s, ok := scalar(v)
		if !ok || s == "" {
			r.fail(key, "type", "the value of %s must be a link or a media ID", key)
			return nil
		}
		if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
			m.Link = s
		} else {
			m.ID = s
		}
	}
	m.Type = typ
	if fn, _, ok := r.lookup(key + ".filename"); ok && typ == channel.MediaDocument {
		m.Filename, _ = scalar(fn)
	}
	return &m
}

func (r *renderer) location(key string) *channel.Location {
	v, _, ok := r.lookup(key)
	if !ok {
		r.fail(key, "missing", "no location for %s", key)
		return nil
	}
	switch x := v.(type) {
	case channel.Location:
		return &x
	case *channel.Location:
		return x
	case map[string]any:
		b, _ := json.Marshal(x)
		var l channel.Location
		if json.Unmarshal(b, &l) == nil && (l.Latitude != 0 || l.Longitude != 0) {
			return &l
		}
	}
	r.fail(key, "type", "the value of %s must be a location with latitude and longitude", key)
	return nil
}

func (r *renderer) millis(key string) int64 {
	v, _, ok := r.lookup(key)
	if !ok {
		r.fail(key, "missing", "no expiry time for the limited-time offer (%s)", key)
		return 0
	}
	switch x := v.(type) {
	case time.Time:
		return x.UnixMilli()
	}
	s, _ := scalar(v)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		r.fail(key, "type", "%s must be a time or Unix milliseconds", key)
		return 0
	}
	return n
}

func (r *renderer) buttons(bs []Button, prefix string) []channel.TemplateButton {
	var out []channel.TemplateButton
	for i := range bs {
		b := &bs[i]
		key := prefix + "." + strconv.Itoa(i)
		v, _, present := r.lookup(key)
		s, _ := scalar(v)
		tb := channel.TemplateButton{Index: i}
		switch b.Type {
		case ButtonQuickReply:
			if !present || s == "" {
				continue
			}
			tb.SubType, tb.Param = "quick_reply", channel.TemplateParam{Type: channel.ParamPayload, Payload: s}
		case ButtonURL:
			if len(Params(b.URL)) == 0 {
				continue
			}
			if s == "" {
				r.fail(key, "missing", "no value for %s, the URL suffix", key)
				continue
			}
			tb.SubType, tb.Param = "url", channel.TemplateParam{Type: channel.ParamText, Text: s}
		case ButtonCopyCode:
			if s == "" {
				r.fail(key, "missing", "no value for %s, the code to copy", key)
				continue
			}
			tb.SubType, tb.Param = "copy_code", channel.TemplateParam{Type: channel.ParamCouponCode, Coupon: s}
		case ButtonFlow:
			act := &channel.FlowToken{Token: s}
			if d, _, ok := r.lookup(key + ".data"); ok {
				if m, ok := d.(map[string]any); ok {
					act.Data = m
				}
			}
			if act.Token == "" && act.Data == nil {
				continue
			}
			tb.SubType, tb.Param = "flow", channel.TemplateParam{Type: channel.ParamAction, Action: act}
		default:
			// Phone, voice call, catalog… take no parameters at send time.
			continue
		}
		out = append(out, tb)
	}
	return out
}

func (r *renderer) card(i int, card *Card) channel.TemplateCard {
	prefix := "card." + strconv.Itoa(i)
	tc := channel.TemplateCard{Index: i}
	for j := range card.Components {
		c := &card.Components[j]
		switch c.Type {
		case TypeHeader:
			tc.Header = r.header(c, prefix+".header", nil)
		case TypeBody:
			tc.Body = r.texts(c.Text, prefix+".body", MaxBodyParam, false)
		case TypeButtons:
			tc.Buttons = r.buttons(c.Buttons, prefix+".button")
		}
	}
	return tc
}

// auth renders an authentication template: the code fills the body's
// {{1}} and the OTP button's URL parameter.
func (r *renderer) auth(ts *channel.TemplateSend) {
	p, ok := r.textParam(15, "code", "body.1", "1")
	if !ok {
		return
	}
	ts.Body = []channel.TemplateParam{p}
	ts.Buttons = []channel.TemplateButton{{Index: 0, SubType: "url", Param: channel.TemplateParam{Type: channel.ParamText, Text: p.Text}}}
}

// scalar renders a plain value as text.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case bool:
		return strconv.FormatBool(x), true
	case fmt.Stringer:
		return x.String(), true
	}
	return "", false
}

func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
