package whatsapp

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/parleyhq/parley/internal/channel"
)

// The send wire types: the bodies of POST /{phone_number_id}/messages as
// Meta documents them. Field order follows Meta's examples.

type oBody struct {
	MessagingProduct string            `json:"messaging_product"`
	RecipientType    string            `json:"recipient_type,omitempty"`
	To               string            `json:"to,omitempty"`
	Status           string            `json:"status,omitempty"`     // mark as read
	MessageID        string            `json:"message_id,omitempty"` // mark as read
	TypingIndicator  *oTyping          `json:"typing_indicator,omitempty"`
	Context          *oContext         `json:"context,omitempty"`
	Type             string            `json:"type,omitempty"`
	Text             *oText            `json:"text,omitempty"`
	Image            *oMedia           `json:"image,omitempty"`
	Video            *oMedia           `json:"video,omitempty"`
	Audio            *oMedia           `json:"audio,omitempty"`
	Document         *oMedia           `json:"document,omitempty"`
	Sticker          *oMedia           `json:"sticker,omitempty"`
	Location         *channel.Location `json:"location,omitempty"`
	Reaction         *oReaction        `json:"reaction,omitempty"`
	Interactive      *oInteractive     `json:"interactive,omitempty"`
	Template         *oTemplate        `json:"template,omitempty"`
	BizOpaque        string            `json:"biz_opaque_callback_data,omitempty"`
}

type oTyping struct {
	Type string `json:"type"`
}

type oContext struct {
	MessageID string `json:"message_id"`
}

type oText struct {
	PreviewURL bool   `json:"preview_url"`
	Body       string `json:"body"`
}

type oMedia struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type oReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"` // "" removes the reaction: never omitted
}

type oInteractive struct {
	Type   string   `json:"type"`
	Header *oHeader `json:"header,omitempty"`
	Body   *oBodyTx `json:"body,omitempty"`
	Footer *oBodyTx `json:"footer,omitempty"`
	Action oAction  `json:"action"`
}

type oHeader struct {
	Type     string  `json:"type"`
	Text     string  `json:"text,omitempty"`
	Image    *oMedia `json:"image,omitempty"`
	Video    *oMedia `json:"video,omitempty"`
	Document *oMedia `json:"document,omitempty"`
}

type oBodyTx struct {
	Text string `json:"text"`
}

type oAction struct {
	Name       string     `json:"name,omitempty"`
	Button     string     `json:"button,omitempty"`
	Buttons    []oButton  `json:"buttons,omitempty"`
	Sections   []oSection `json:"sections,omitempty"`
	Parameters any        `json:"parameters,omitempty"`
}

type oButton struct {
	Type  string       `json:"type"`
	Reply oButtonReply `json:"reply"`
}

type oButtonReply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type oSection struct {
	Title string            `json:"title,omitempty"`
	Rows  []channel.ListRow `json:"rows"`
}

type oCTAParams struct {
	DisplayText string `json:"display_text"`
	URL         string `json:"url"`
}

type oFlowParams struct {
	FlowMessageVersion string        `json:"flow_message_version"`
	FlowToken          string        `json:"flow_token,omitempty"`
	FlowID             string        `json:"flow_id,omitempty"`
	FlowName           string        `json:"flow_name,omitempty"`
	FlowCTA            string        `json:"flow_cta"`
	Mode               string        `json:"mode,omitempty"`
	FlowAction         string        `json:"flow_action"`
	FlowActionPayload  *oFlowPayload `json:"flow_action_payload,omitempty"`
}

type oFlowPayload struct {
	Screen string         `json:"screen"`
	Data   map[string]any `json:"data,omitempty"`
}

type oTemplate struct {
	Name       string       `json:"name"`
	Language   oLanguage    `json:"language"`
	Components []oComponent `json:"components,omitempty"`
}

type oLanguage struct {
	Policy string `json:"policy,omitempty"`
	Code   string `json:"code"`
}

type oComponent struct {
	Type       string   `json:"type"`
	SubType    string   `json:"sub_type,omitempty"`
	Index      *string  `json:"index,omitempty"`
	Parameters []oParam `json:"parameters,omitempty"`
	Cards      []oCard  `json:"cards,omitempty"`
}

type oCard struct {
	CardIndex  int          `json:"card_index"`
	Components []oComponent `json:"components"`
}

type oParam struct {
	Type             string            `json:"type"`
	ParameterName    string            `json:"parameter_name,omitempty"`
	Text             *string           `json:"text,omitempty"`
	Currency         *oCurrency        `json:"currency,omitempty"`
	DateTime         *oDateTime        `json:"date_time,omitempty"`
	Image            *oMedia           `json:"image,omitempty"`
	Video            *oMedia           `json:"video,omitempty"`
	Document         *oMedia           `json:"document,omitempty"`
	Location         *channel.Location `json:"location,omitempty"`
	Payload          string            `json:"payload,omitempty"`
	CouponCode       string            `json:"coupon_code,omitempty"`
	Action           *oFlowAction      `json:"action,omitempty"`
	Product          *oProduct         `json:"product,omitempty"`
	LimitedTimeOffer *oLTO             `json:"limited_time_offer,omitempty"`
}

type oCurrency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

type oDateTime struct {
	FallbackValue string `json:"fallback_value"`
}

type oFlowAction struct {
	FlowToken      string         `json:"flow_token,omitempty"`
	FlowActionData map[string]any `json:"flow_action_data,omitempty"`
}

type oProduct struct {
	ProductRetailerID string `json:"product_retailer_id"`
	CatalogID         string `json:"catalog_id"`
}

type oLTO struct {
	ExpirationTimeMs int64 `json:"expiration_time_ms"`
}

// BuildBody returns the JSON body Meta documents for msg (already
// validated with ValidateOutbound).
func BuildBody(msg *channel.Outbound) ([]byte, error) {
	b := oBody{MessagingProduct: "whatsapp"}
	if msg.Kind == channel.OutMarkRead {
		b.Status, b.MessageID = "read", msg.MarkRead.MessageID
		if msg.MarkRead.Typing {
			b.TypingIndicator = &oTyping{Type: "text"}
		}
		return marshal(&b)
	}
	b.RecipientType, b.To, b.BizOpaque = "individual", msg.To, msg.OurID
	if msg.ReplyTo != "" {
		b.Context = &oContext{MessageID: msg.ReplyTo}
	}
	switch msg.Kind {
	case channel.OutText:
		b.Type, b.Text = "text", &oText{PreviewURL: msg.PreviewURL, Body: msg.Text}
	case channel.OutMedia:
		m := msg.Media
		om := mediaObj(m)
		b.Type = string(m.Type)
		switch m.Type {
		case channel.MediaImage:
			b.Image = om
		case channel.MediaVideo:
			b.Video = om
		case channel.MediaAudio:
			b.Audio = om
		case channel.MediaDocument:
			b.Document = om
		case channel.MediaSticker:
			b.Sticker = om
		}
	case channel.OutLocation:
		b.Type, b.Location = "location", msg.Location
	case channel.OutReaction:
		b.Type, b.Reaction = "reaction", &oReaction{MessageID: msg.Reaction.MessageID, Emoji: msg.Reaction.Emoji}
	case channel.OutButtons, channel.OutList, channel.OutCTAURL, channel.OutLocationRequest, channel.OutFlow:
		b.Type, b.Interactive = "interactive", interactive(msg)
	case channel.OutTemplate:
		b.Type, b.Template = "template", templateObj(msg.Template)
	default:
		return nil, fmt.Errorf("building a WhatsApp message: unknown kind %q", msg.Kind)
	}
	return marshal(&b)
}

func marshal(b *oBody) ([]byte, error) {
	out, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding a WhatsApp message: %w", err)
	}
	return out, nil
}

func mediaObj(m *channel.MediaRef) *oMedia {
	if m == nil {
		return nil
	}
	return &oMedia{ID: m.ID, Link: m.Link, Caption: m.Caption, Filename: m.Filename}
}

func interactive(msg *channel.Outbound) *oInteractive {
	in := &oInteractive{}
	if msg.Body != "" {
		in.Body = &oBodyTx{Text: msg.Body}
	}
	if msg.Footer != "" {
		in.Footer = &oBodyTx{Text: msg.Footer}
	}
	if h := msg.Header; h != nil {
		switch {
		case h.Media != nil:
			in.Header = &oHeader{Type: string(h.Media.Type)}
			om := mediaObj(h.Media)
			om.Caption = ""
			switch h.Media.Type {
			case channel.MediaImage:
				in.Header.Image = om
			case channel.MediaVideo:
				in.Header.Video = om
			default:
				in.Header.Document = om
			}
		case h.Text != "":
			in.Header = &oHeader{Type: "text", Text: h.Text}
		}
	}
	switch msg.Kind {
	case channel.OutButtons:
		in.Type = "button"
		for _, bt := range msg.Buttons {
			in.Action.Buttons = append(in.Action.Buttons, oButton{Type: "reply", Reply: oButtonReply(bt)})
		}
	case channel.OutList:
		in.Type = "list"
		in.Action.Button = msg.List.Button
		for _, s := range msg.List.Sections {
			in.Action.Sections = append(in.Action.Sections, oSection{Title: s.Title, Rows: s.Rows})
		}
	case channel.OutCTAURL:
		in.Type = "cta_url"
		in.Action.Name = "cta_url"
		in.Action.Parameters = oCTAParams{DisplayText: msg.CTA.DisplayText, URL: msg.CTA.URL}
	case channel.OutLocationRequest:
		in.Type = "location_request_message"
		in.Action.Name = "send_location"
	case channel.OutFlow:
		in.Type = "flow"
		in.Action.Name = "flow"
		f := msg.Flow
		p := oFlowParams{FlowMessageVersion: "3", FlowToken: f.Token, FlowID: f.FlowID, FlowName: f.FlowName,
			FlowCTA: f.CTA, Mode: f.Mode, FlowAction: f.Action}
		if p.FlowAction == "" {
			p.FlowAction = "navigate"
		}
		if p.FlowAction == "navigate" && (f.Screen != "" || len(f.Data) > 0) {
			p.FlowActionPayload = &oFlowPayload{Screen: f.Screen, Data: f.Data}
			if p.FlowActionPayload.Screen == "" {
				p.FlowActionPayload.Screen = "FIRST_ENTRY_SCREEN"
			}
		}
		in.Action.Parameters = p
	}
	return in
}

func templateObj(t *channel.TemplateSend) *oTemplate {
	ot := &oTemplate{Name: t.Name, Language: oLanguage{Code: t.Language}}
	if t.Header != nil {
		ot.Components = append(ot.Components, oComponent{Type: "header", Parameters: []oParam{param(t.Header)}})
	}
	if t.OfferExpiresAt != 0 {
		ot.Components = append(ot.Components, oComponent{Type: "limited_time_offer", Parameters: []oParam{{
			Type: "limited_time_offer", LimitedTimeOffer: &oLTO{ExpirationTimeMs: t.OfferExpiresAt}}}})
	}
	if len(t.Body) > 0 {
		ot.Components = append(ot.Components, oComponent{Type: "body", Parameters: params(t.Body)})
	}
	ot.Components = append(ot.Components, buttons(t.Buttons)...)
	if len(t.Cards) > 0 {
		c := oComponent{Type: "carousel"}
		for _, card := range t.Cards {
			oc := oCard{CardIndex: card.Index}
			if card.Header != nil {
				oc.Components = append(oc.Components, oComponent{Type: "header", Parameters: []oParam{param(card.Header)}})
			}
			if len(card.Body) > 0 {
				oc.Components = append(oc.Components, oComponent{Type: "body", Parameters: params(card.Body)})
			}
			oc.Components = append(oc.Components, buttons(card.Buttons)...)
			if oc.Components == nil {
				oc.Components = []oComponent{}
			}
			c.Cards = append(c.Cards, oc)
		}
		ot.Components = append(ot.Components, c)
	}
	return ot
}

func buttons(bs []channel.TemplateButton) []oComponent {
	var out []oComponent
	for _, b := range bs {
		idx := strconv.Itoa(b.Index)
		out = append(out, oComponent{Type: "button", SubType: b.SubType, Index: &idx, Parameters: []oParam{param(&b.Param)}})
	}
	return out
}

func params(ps []channel.TemplateParam) []oParam {
	out := make([]oParam, len(ps))
	for i := range ps {
		out[i] = param(&ps[i])
	}
	return out
}

func param(p *channel.TemplateParam) oParam {
	op := oParam{Type: string(p.Type), ParameterName: p.Name}
	switch p.Type {
	case channel.ParamText:
		text := p.Text
		op.Text = &text
	case channel.ParamCurrency:
		if c := p.Currency; c != nil {
			op.Currency = &oCurrency{FallbackValue: c.Fallback, Code: c.Code, Amount1000: c.Amount1000}
		}
	case channel.ParamDateTime:
		op.DateTime = &oDateTime{FallbackValue: p.DateTime}
	case channel.ParamImage:
		op.Image = mediaObj(p.Media)
	case channel.ParamVideo:
		op.Video = mediaObj(p.Media)
	case channel.ParamDocument:
		op.Document = mediaObj(p.Media)
	case channel.ParamLocation:
		op.Location = p.Location
	case channel.ParamPayload:
		op.Payload = p.Payload
	case channel.ParamCouponCode:
		op.CouponCode = p.Coupon
	case channel.ParamAction:
		op.Action = &oFlowAction{}
		if p.Action != nil {
			op.Action.FlowToken, op.Action.FlowActionData = p.Action.Token, p.Action.Data
		}
	case channel.ParamProduct:
		if p.Product != nil {
			op.Product = &oProduct{ProductRetailerID: p.Product.ProductID, CatalogID: p.Product.CatalogID}
		}
	}
	return op
}
