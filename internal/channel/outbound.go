package channel

import "time"

// OutKind is the shape of an Outbound message.
type OutKind string

// The outbound kinds a flow can send.
const (
	OutText            OutKind = "text"
	OutMedia           OutKind = "media"
	OutButtons         OutKind = "buttons" // interactive reply buttons
	OutList            OutKind = "list"    // interactive list
	OutCTAURL          OutKind = "cta_url" // interactive call-to-action URL button
	OutLocationRequest OutKind = "location_request"
	OutLocation        OutKind = "location"
	OutTemplate        OutKind = "template"
	OutFlow            OutKind = "flow" // interactive WhatsApp Flow message
	OutReaction        OutKind = "reaction"
	OutMarkRead        OutKind = "mark_read"
)

// Outbound is a message Parley sends. Kind selects which fields are used.
type Outbound struct {
	Kind OutKind `json:"kind"`
	// OurID is Parley's message ID; WhatsApp echoes it back in status
	// webhooks (biz_opaque_callback_data) so a status can be matched even
	// when it arrives before the send's response was recorded.
	OurID string `json:"our_id,omitempty"`
	// To is the recipient's address (wa_id digits or a BSUID).
	To string `json:"to"`
	// ReplyTo quotes an earlier message by its provider ID.
	ReplyTo string `json:"reply_to,omitempty"`

	// Text is the body of text messages.
	Text       string `json:"text,omitempty"`
	PreviewURL bool   `json:"preview_url,omitempty"`

	// Media is the attachment of media messages.
	Media *MediaRef `json:"media,omitempty"`

	// Header, Body and Footer are the parts of interactive messages.
	Header *Header `json:"header,omitempty"`
	Body   string  `json:"body,omitempty"`
	Footer string  `json:"footer,omitempty"`

	Buttons  []ReplyButton `json:"buttons,omitempty"`
	List     *List         `json:"list,omitempty"`
	CTA      *CTA          `json:"cta,omitempty"`
	Location *Location     `json:"location,omitempty"`
	Template *TemplateSend `json:"template,omitempty"`
	Flow     *FlowSend     `json:"flow,omitempty"`
	Reaction *Reaction     `json:"reaction,omitempty"`
	// MarkRead is the provider ID of the message to mark as read.
	MarkRead *MarkRead `json:"mark_read,omitempty"`

	// Agent marks a message a person typed in the inbox (not the flow's
	// automation): Messenger and Instagram let only such replies go out
	// after the 24-hour window, tagged HUMAN_AGENT.
	Agent bool `json:"agent,omitempty"`
	// LastInbound is when the contact last wrote on this channel (nil:
	// never), set by the sender so that an adapter can choose how to send
	// (Messenger: RESPONSE inside the window, the HUMAN_AGENT tag after).
	LastInbound *time.Time `json:"-"`
}

// MediaRef is an attachment given by a public link or by an uploaded media ID.
type MediaRef struct {
	Type     MediaType `json:"type"`
	ID       string    `json:"id,omitempty"`
	Link     string    `json:"link,omitempty"`
	Caption  string    `json:"caption,omitempty"`
	Filename string    `json:"filename,omitempty"`
}

// Header is the header of an interactive message: text or media.
type Header struct {
	Text  string    `json:"text,omitempty"`
	Media *MediaRef `json:"media,omitempty"`
}

// ReplyButton is one interactive reply button.
type ReplyButton struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// List is an interactive list.
type List struct {
	Button   string        `json:"button"`
	Sections []ListSection `json:"sections"`
}

// ListSection groups list rows.
type ListSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []ListRow `json:"rows"`
}

// ListRow is one choice of a list.
type ListRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// CTA is a call-to-action URL button.
type CTA struct {
	DisplayText string `json:"display_text"`
	URL         string `json:"url"`
}

// MarkRead marks a received message as read, optionally showing the typing
// indicator until our answer (or 25 s).
type MarkRead struct {
	MessageID string `json:"message_id"`
	Typing    bool   `json:"typing,omitempty"`
}

// FlowSend is an interactive WhatsApp Flow message.
type FlowSend struct {
	FlowID   string `json:"flow_id,omitempty"`
	FlowName string `json:"flow_name,omitempty"`
	// Token is the flow_token; it comes back in the completion.
	Token string `json:"token,omitempty"`
	CTA   string `json:"cta"`
	// Mode is "published" (default) or "draft".
	Mode string `json:"mode,omitempty"`
	// Action is "navigate" (default) or "data_exchange".
	Action string         `json:"action,omitempty"`
	Screen string         `json:"screen,omitempty"`
	Data   map[string]any `json:"data,omitempty"`
}

// TemplateSend is a rendered template message: which approved template and
// the parameters of each component.
type TemplateSend struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	// Header is the header parameter, if the template's header has one.
	Header  *TemplateParam   `json:"header,omitempty"`
	Body    []TemplateParam  `json:"body,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
	// Cards are the parameters of carousel cards.
	Cards []TemplateCard `json:"cards,omitempty"`
	// OfferExpiresAt is the limited-time offer's expiry in Unix milliseconds.
	OfferExpiresAt int64 `json:"offer_expires_at,omitempty"`
}

// TemplateParamType is the type of a template parameter.
type TemplateParamType string

// Template parameter types.
const (
	ParamText       TemplateParamType = "text"
	ParamCurrency   TemplateParamType = "currency"
	ParamDateTime   TemplateParamType = "date_time"
	ParamImage      TemplateParamType = "image"
	ParamVideo      TemplateParamType = "video"
	ParamDocument   TemplateParamType = "document"
	ParamLocation   TemplateParamType = "location"
	ParamPayload    TemplateParamType = "payload"
	ParamCouponCode TemplateParamType = "coupon_code"
	ParamAction     TemplateParamType = "action"
	ParamProduct    TemplateParamType = "product"
)

// TemplateParam is one parameter value.
type TemplateParam struct {
	Type TemplateParamType `json:"type"`
	// Name is the parameter_name of NAMED-format templates.
	Name     string     `json:"name,omitempty"`
	Text     string     `json:"text,omitempty"`
	Media    *MediaRef  `json:"media,omitempty"`
	Location *Location  `json:"location,omitempty"`
	Currency *Currency  `json:"currency,omitempty"`
	DateTime string     `json:"date_time,omitempty"` // fallback value
	Payload  string     `json:"payload,omitempty"`
	Coupon   string     `json:"coupon,omitempty"`
	Action   *FlowToken `json:"action,omitempty"`
	Product  *Product   `json:"product,omitempty"`
}

// Currency is a currency parameter.
type Currency struct {
	Fallback   string `json:"fallback"`
	Code       string `json:"code"`
	Amount1000 int64  `json:"amount_1000"`
}

// FlowToken is the action parameter of a template's flow button.
type FlowToken struct {
	Token string         `json:"token,omitempty"`
	Data  map[string]any `json:"data,omitempty"`
}

// TemplateButton is the parameter of the template button at Index.
type TemplateButton struct {
	Index int `json:"index"`
	// SubType is quick_reply, url, copy_code, flow, catalog, mpm…
	SubType string        `json:"sub_type"`
	Param   TemplateParam `json:"param"`
}

// TemplateCard is the parameters of one carousel card.
type TemplateCard struct {
	Index   int              `json:"index"`
	Header  *TemplateParam   `json:"header,omitempty"`
	Body    []TemplateParam  `json:"body,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
}

// SendResult is what a successful send returns.
type SendResult struct {
	// ProviderID is the provider's message ID (WhatsApp: the wamid); empty
	// for mark-as-read.
	ProviderID string `json:"provider_id"`
	// Address is the recipient's canonical address as the provider
	// resolved it (WhatsApp: contacts[0].wa_id), when it says.
	Address string `json:"address,omitempty"`
	// Delivered means the message is in the recipient's hands already, so
	// no delivery receipt will follow (in-process channels: the web chat).
	Delivered bool `json:"delivered,omitempty"`
}
