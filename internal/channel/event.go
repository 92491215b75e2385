// Package channel is the seam between Parley and the chat networks. Every
// channel type (WhatsApp Cloud API first) implements Adapter: it checks and
// parses webhooks into normalised Events, and sends Outbound messages,
// classifying failures as throttled, retryable or permanent. The package is
// pure: no storage, no routing, no goroutines.
package channel

import (
	"encoding/json"
	"time"
)

// Kind names what an inbound Event is.
type Kind string

// The event kinds. Message kinds (text … unsupported) come from a person;
// the others are notifications about our messages, templates or account.
const (
	KindText           Kind = "text"
	KindMedia          Kind = "media"
	KindLocation       Kind = "location"
	KindContacts       Kind = "contacts"
	KindReaction       Kind = "reaction"
	KindButtonReply    Kind = "button_reply"    // tap on an interactive reply button
	KindListReply      Kind = "list_reply"      // choice in an interactive list
	KindQuickReply     Kind = "quick_reply"     // tap on a template quick-reply button
	KindFlowCompletion Kind = "flow_completion" // WhatsApp Flow submitted (nfm_reply)
	KindOrder          Kind = "order"
	KindEdit           Kind = "edit"
	KindRevoke         Kind = "revoke" // the person deleted a message
	KindSystem         Kind = "system" // number or identity changed
	KindUnsupported    Kind = "unsupported"
	// KindConversationStarted: the person opened the chat without writing
	// (Viber's conversation_started); it can start a flow, never resume one.
	KindConversationStarted Kind = "conversation_started"
	// KindReferral: the person came through a referral link or an ad
	// without writing (Messenger's messaging_referrals); Referral says
	// which. Like KindConversationStarted it only starts flows.
	KindReferral Kind = "referral"

	KindStatus             Kind = "status" // sent / delivered / read / failed for our message
	KindTemplateStatus     Kind = "template_status"
	KindTemplateQuality    Kind = "template_quality"
	KindTemplateCategory   Kind = "template_category"
	KindTemplateComponents Kind = "template_components"
	KindFormStatus         Kind = "form_status"  // a form's status or health notice (WhatsApp: field "flows")
	KindPreference         Kind = "preference"   // marketing opt-out / resume
	KindDisplayName        Kind = "display_name" // the provider's review of a requested display name
	KindError              Kind = "error"        // out-of-band error, not tied to a message
	// KindAccountNotice: the provider's word on the sending number or the
	// business account (quality flagged, messaging limit lowered,
	// restrictions); Notice says whether sends should pause.
	KindAccountNotice Kind = "account_notice"
	KindIgnored       Kind = "ignored" // understood, logged, not acted on
)

// IsMessage reports whether events of this kind come from a person and so
// open the customer-service window and resume a conversation.
func (k Kind) IsMessage() bool {
	switch k {
	case KindText, KindMedia, KindLocation, KindContacts, KindReaction, KindButtonReply,
		KindListReply, KindQuickReply, KindFlowCompletion, KindOrder, KindEdit, KindRevoke,
		KindSystem, KindUnsupported, KindConversationStarted, KindReferral:
		return true
	}
	return false
}

// Event is one normalised inbound notification. Common routing fields are
// always set where the provider sends them; exactly one kind-specific field
// is set for most kinds (Text for text and quick answers of edits, Media…).
type Event struct {
	Kind Kind `json:"kind"`
	// Channel is the adapter type, e.g. "whatsapp".
	Channel string `json:"channel"`
	// AccountID routes the event to a Parley channel: the WhatsApp phone
	// number ID. Empty for account-level events (templates, account).
	AccountID string `json:"account_id,omitempty"`
	// BusinessID is the provider's business account (WhatsApp: WABA ID).
	BusinessID string `json:"business_id,omitempty"`
	// Contact is the person the event is about.
	Contact Contact `json:"contact,omitzero"`
	// ProviderID is the provider's ID of the message (wamid) or, for a
	// status, of our message the status is about.
	ProviderID string `json:"provider_id,omitempty"`
	// Timestamp is when the provider says the event happened (zero if it
	// sent none or an unreadable one).
	Timestamp time.Time `json:"timestamp,omitzero"`
	// ReplyTo is the provider ID of the message this one answers or quotes.
	ReplyTo             string    `json:"reply_to,omitempty"`
	Forwarded           bool      `json:"forwarded,omitempty"`
	FrequentlyForwarded bool      `json:"frequently_forwarded,omitempty"`
	Referral            *Referral `json:"referral,omitempty"`
	// Story is set on a reply to, or a mention in, an Instagram story.
	Story *Story `json:"story,omitempty"`
	// ReferredProduct is set on product enquiries.
	ReferredProduct *Product `json:"referred_product,omitempty"`

	Text     string          `json:"text,omitempty"` // text body, media caption, quick-reply text
	Media    *Media          `json:"media,omitempty"`
	Location *Location       `json:"location,omitempty"`
	Contacts []SharedContact `json:"contacts,omitempty"`
	Reaction *Reaction       `json:"reaction,omitempty"`
	Reply    *Reply          `json:"reply,omitempty"` // button, list and quick replies
	Flow     *FlowCompletion `json:"flow,omitempty"`
	Order    *Order          `json:"order,omitempty"`
	Edit     *Edit           `json:"edit,omitempty"`
	Revoke   *Revoke         `json:"revoke,omitempty"`
	System   *System         `json:"system,omitempty"`
	Status   *Status         `json:"status,omitempty"`
	Template *TemplateUpdate `json:"template,omitempty"`
	Form     *FormUpdate     `json:"form,omitempty"`
	// DisplayName is the review of a display name (KindDisplayName).
	DisplayName *DisplayNameReview `json:"display_name,omitempty"`
	Preference  *Preference        `json:"preference,omitempty"`
	// Notice is the provider's notice on the number or account
	// (KindAccountNotice).
	Notice  *AccountNotice  `json:"notice,omitempty"`
	Errors  []ProviderError `json:"errors,omitempty"`
	Ignored *Ignored        `json:"ignored,omitempty"`
	// Raw is the provider's object, kept for unsupported and ignored kinds
	// so nothing received is lost to later versions of Parley.
	Raw json.RawMessage `json:"raw,omitempty"`
	// Extra holds provider details with no dedicated field, e.g. the
	// sub-type of an unsupported message.
	Extra map[string]string `json:"extra,omitempty"`
}

// DedupKey identifies the event for idempotent processing: providers
// re-deliver webhooks, so the store keeps a unique index on it. Statuses
// are keyed by message and status because each status arrives once per
// message. It is empty for events that need no deduplication.
func (e *Event) DedupKey() string {
	switch {
	case e.Kind == KindStatus && e.Status != nil:
		return e.Channel + ":status:" + e.ProviderID + ":" + string(e.Status.State)
	case e.Kind.IsMessage() && e.ProviderID != "":
		return e.Channel + ":msg:" + e.ProviderID
	}
	return ""
}

// Contact identifies the person on the channel.
type Contact struct {
	// Address is the channel-level address: the WhatsApp wa_id (phone
	// digits). It may be empty for username-only WhatsApp users.
	Address string `json:"address,omitempty"`
	// UserID is the business-scoped user ID (BSUID) when the provider sends
	// one; identity is keyed on UserID, falling back to Address.
	UserID string `json:"user_id,omitempty"`
	// Phone is the contact's number in E.164 ("+15551234567") when the
	// channel knows it; the adapter, which knows its addresses, sets it.
	// Set it only for a number the platform verified (WhatsApp: the one
	// the person writes from; a Viber or Messenger user's confirmed
	// number): the contact's first message with it joins the contact that
	// already has that verified number, across channels.
	Phone    string `json:"phone,omitempty"`
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
}

// Key is the stable identity of the contact on the channel.
func (c Contact) Key() string {
	if c.UserID != "" {
		return c.UserID
	}
	return c.Address
}

// MediaType is the kind of an attachment.
type MediaType string

// Media types.
const (
	MediaImage    MediaType = "image"
	MediaVideo    MediaType = "video"
	MediaAudio    MediaType = "audio"
	MediaDocument MediaType = "document"
	MediaSticker  MediaType = "sticker"
)

// Media is an inbound attachment; the bytes are fetched on demand with the
// adapter's media download using ID.
type Media struct {
	Type     MediaType `json:"type"`
	ID       string    `json:"id"`
	MimeType string    `json:"mime_type,omitempty"`
	SHA256   string    `json:"sha256,omitempty"`
	Caption  string    `json:"caption,omitempty"`
	Filename string    `json:"filename,omitempty"`
	URL      string    `json:"url,omitempty"` // short-lived and token-protected, when sent
	Voice    bool      `json:"voice,omitempty"`
	Animated bool      `json:"animated,omitempty"`
}

// Location is a shared or requested location.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// SharedContact is a contact card someone sent.
type SharedContact struct {
	Name   string   `json:"name"`
	Phones []Phone  `json:"phones,omitempty"`
	Emails []string `json:"emails,omitempty"`
}

// Phone is one phone number of a shared contact.
type Phone struct {
	Phone   string `json:"phone"`
	Address string `json:"address,omitempty"` // wa_id when the number is on WhatsApp
	Type    string `json:"type,omitempty"`
}

// Reaction is an emoji reaction; an empty Emoji removes a reaction.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// Reply is the answer to something we offered: an interactive reply button
// (ID + Title), a list row (ID + Title + Description) or a template
// quick-reply button (Payload + Title).
type Reply struct {
	ID          string `json:"id,omitempty"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Payload     string `json:"payload,omitempty"`
}

// FlowCompletion is a submitted WhatsApp Flow.
type FlowCompletion struct {
	Name string `json:"name,omitempty"`
	Body string `json:"body,omitempty"`
	// Token is the flow_token we sent with the flow message, which routes the
	// answers back to the waiting session. Empty when the flow sent none.
	Token string `json:"token,omitempty"`
	// Response is response_json decoded.
	Response map[string]any `json:"response"`
}

// Order is a cart sent from a catalog.
type Order struct {
	CatalogID string      `json:"catalog_id"`
	Text      string      `json:"text,omitempty"`
	Items     []OrderItem `json:"items"`
}

// OrderItem is one line of an Order. Quantity and price are kept as the
// provider sent them (numbers or strings).
type OrderItem struct {
	ProductID string          `json:"product_id"`
	Quantity  json.RawMessage `json:"quantity,omitempty"`
	ItemPrice json.RawMessage `json:"item_price,omitempty"`
	Currency  string          `json:"currency,omitempty"`
}

// Product references a catalog item.
type Product struct {
	CatalogID string `json:"catalog_id"`
	ProductID string `json:"product_id"`
}

// Referral is the ad or post that led the person to write (Click-to-WhatsApp).
type Referral struct {
	SourceURL    string `json:"source_url,omitempty"`
	SourceID     string `json:"source_id,omitempty"`
	SourceType   string `json:"source_type,omitempty"`
	Headline     string `json:"headline,omitempty"`
	Body         string `json:"body,omitempty"`
	MediaType    string `json:"media_type,omitempty"`
	ImageURL     string `json:"image_url,omitempty"`
	VideoURL     string `json:"video_url,omitempty"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	ClickID      string `json:"click_id,omitempty"` // ctwa_clid
	// Ref is the ref parameter of a referral link (m.me/page?ref=…).
	Ref string `json:"ref,omitempty"`
}

// Story is the Instagram story a message replies to or mentions the
// business in.
type Story struct {
	// Kind is "reply" or "mention".
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	URL  string `json:"url,omitempty"`
}

// Edit says a person edited an earlier message; Message holds the new
// content as an event of its own kind (text, media…).
type Edit struct {
	OriginalID string `json:"original_id"`
	Message    *Event `json:"message,omitempty"`
}

// Revoke says a person deleted an earlier message.
type Revoke struct {
	OriginalID string `json:"original_id"`
}

// System is a system notice about the contact.
type System struct {
	Type string `json:"type"` // e.g. user_changed_number, customer_identity_changed
	Body string `json:"body,omitempty"`
	// NewAddress is the contact's new wa_id after a number change.
	NewAddress string `json:"new_address,omitempty"`
}

// State is the delivery state of one of our messages.
type State string

// Delivery states, in the order they progress (failed is terminal).
const (
	StateSent      State = "sent"
	StateDelivered State = "delivered"
	StateRead      State = "read"
	StatePlayed    State = "played"
	StateFailed    State = "failed"
	StateDeleted   State = "deleted"
)

// Rank orders states so that a status store only ever moves forward: a read
// never falls back to delivered when webhooks arrive out of order. Failed
// ranks above everything but is only reachable from before delivery in
// practice; unknown states rank 0.
func (s State) Rank() int {
	switch s {
	case StateSent:
		return 1
	case StateDelivered:
		return 2
	case StateRead:
		return 3
	case StatePlayed:
		return 4
	case StateDeleted:
		return 5
	case StateFailed:
		return 6
	}
	return 0
}

// Status is a delivery notification for one of our messages.
type Status struct {
	State State `json:"state"`
	// OurID is Parley's message ID, echoed from biz_opaque_callback_data.
	OurID     string          `json:"our_id,omitempty"`
	Recipient string          `json:"recipient"`
	Errors    []ProviderError `json:"errors,omitempty"`
	Pricing   *Pricing        `json:"pricing,omitempty"`
	// Conversation is set on older (CBP) payloads and free-entry-point ones.
	Conversation *Conversation `json:"conversation,omitempty"`
	// Type is a non-message status type, e.g. "payment"; empty for messages.
	Type string `json:"type,omitempty"`
	// UpTo, on a watermark receipt (Messenger's read and delivery), is the
	// provider's time up to which every message to Recipient reached
	// State; such a status has no ProviderID.
	UpTo time.Time `json:"up_to,omitzero"`
}

// Pricing says how a message is billed.
type Pricing struct {
	Billable bool   `json:"billable"`
	Model    string `json:"model,omitempty"`    // PMP, CBP
	Type     string `json:"type,omitempty"`     // regular, free_customer_service, free_entry_point
	Category string `json:"category,omitempty"` // marketing, utility, authentication, service…
}

// Conversation is the legacy conversation-based pricing window.
type Conversation struct {
	ID         string    `json:"id"`
	Origin     string    `json:"origin,omitempty"`
	Expiration time.Time `json:"expiration,omitzero"`
}

// ProviderError is an error the provider reports in a webhook.
type ProviderError struct {
	Code    int    `json:"code"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
	Href    string `json:"href,omitempty"`
}

// FormUpdate is a form's status change or health alert (WhatsApp Flows:
// FLOW_STATUS_CHANGE, ENDPOINT_ERROR_RATE, …).
type FormUpdate struct {
	// ID is the provider's form ID.
	ID    string `json:"id"`
	Event string `json:"event"`
	// OldStatus and NewStatus are set for a status change.
	OldStatus string `json:"old_status,omitempty"`
	NewStatus string `json:"new_status,omitempty"`
	Message   string `json:"message,omitempty"`
}

// TemplateUpdate is a template status, quality, category or components
// notification.
type TemplateUpdate struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Language string `json:"language"`
	// Event is the status event (APPROVED, REJECTED, PAUSED…) for
	// KindTemplateStatus.
	Event  string `json:"event,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Detail is the rejection or lock explanation, when Meta gives one.
	Detail           string `json:"detail,omitempty"`
	Category         string `json:"category,omitempty"`          // current / new category
	PreviousCategory string `json:"previous_category,omitempty"` // for KindTemplateCategory
	Quality          string `json:"quality,omitempty"`           // new quality score
	PreviousQuality  string `json:"previous_quality,omitempty"`
	Element          string `json:"element,omitempty"` // changed component text
	// DisableDate is set when Meta schedules the template's disabling.
	DisableDate string `json:"disable_date,omitempty"`
}

// Preference is a marketing opt-out or resume.
type Preference struct {
	Address  string    `json:"address"`
	Category string    `json:"category"` // marketing_messages
	Value    string    `json:"value"`    // stop, resume, signup
	Detail   string    `json:"detail,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// OptedOut reports whether the preference stops marketing messages.
func (p *Preference) OptedOut() bool { return p.Value == "stop" }

// Ignored says what the adapter understood but does not act on.
type Ignored struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// DisplayNameReview is the provider's decision on a requested display name
// (WhatsApp: the phone_number_name_update webhook).
type DisplayNameReview struct {
	// Phone is the number's display phone number.
	Phone string `json:"phone,omitempty"`
	// Name is the display name that was reviewed.
	Name string `json:"name"`
	// Decision is the provider's word: APPROVED, REJECTED or DEFERRED.
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
}

// AccountNotice is the provider's word on the sending number or on the
// business account behind it: a quality rating, a messaging limit, a
// restriction. The adapter, which knows the provider, judges it: PauseSends
// says business-initiated sends (campaigns) on the account should stop
// until a person has looked, Reason says why in words for people.
type AccountNotice struct {
	// Field and Event are the provider's names (WhatsApp: the webhook
	// field, e.g. phone_number_quality_update, and its event, e.g.
	// FLAGGED).
	Field string `json:"field"`
	Event string `json:"event,omitempty"`
	// Phone is the number the notice is about, as the provider shows it;
	// empty for the whole account.
	Phone string `json:"phone,omitempty"`
	// Limit is the messaging limit now (WhatsApp: TIER_1K …), when given.
	Limit string `json:"limit,omitempty"`
	// Restrictions are the restrictions the account is under.
	Restrictions []string `json:"restrictions,omitempty"`
	PauseSends   bool     `json:"pause_sends"`
	Reason       string   `json:"reason"`
}
