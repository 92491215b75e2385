package whatsapp

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// The webhook wire types, as Meta sends them. They are lenient on purpose:
// Meta's own examples carry placeholders ("<TIMESTAMP>") and numbers as
// strings, and a field of an unexpected type must not lose a message.

type wWebhook struct {
	Object string   `json:"object"`
	Entry  []wEntry `json:"entry"`
}

type wEntry struct {
	ID      flexStr   `json:"id"`
	Changes []wChange `json:"changes"`
}

type wChange struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type wMetadata struct {
	DisplayPhoneNumber flexStr `json:"display_phone_number"`
	PhoneNumberID      flexStr `json:"phone_number_id"`
}

type wMessagesValue struct {
	Metadata        wMetadata         `json:"metadata"`
	Contacts        []wContact        `json:"contacts"`
	Messages        []json.RawMessage `json:"messages"`
	Statuses        []json.RawMessage `json:"statuses"`
	Errors          []wError          `json:"errors"`
	UserPreferences []wPreference     `json:"user_preferences"`
}

type wContact struct {
	Profile struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"profile"`
	WaID   flexStr `json:"wa_id"`
	UserID string  `json:"user_id"`
}

type wError struct {
	Code      flexInt `json:"code"`
	Title     string  `json:"title"`
	Message   string  `json:"message"`
	Details   string  `json:"details"` // older payloads put it here
	Href      string  `json:"href"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

type wMessage struct {
	From       flexStr `json:"from"`
	FromUserID string  `json:"from_user_id"`
	ID         flexStr `json:"id"`
	Timestamp  flexStr `json:"timestamp"`
	Type       string  `json:"type"`
	Context    *struct {
		From                string  `json:"from"`
		ID                  flexStr `json:"id"`
		Forwarded           bool    `json:"forwarded"`
		FrequentlyForwarded bool    `json:"frequently_forwarded"`
		ReferredProduct     *struct {
			CatalogID         flexStr `json:"catalog_id"`
			ProductRetailerID flexStr `json:"product_retailer_id"`
		} `json:"referred_product"`
	} `json:"context"`
	Referral *struct {
		SourceURL    string `json:"source_url"`
		SourceID     string `json:"source_id"`
		SourceType   string `json:"source_type"`
		Headline     string `json:"headline"`
		Body         string `json:"body"`
		MediaType    string `json:"media_type"`
		ImageURL     string `json:"image_url"`
		VideoURL     string `json:"video_url"`
		ThumbnailURL string `json:"thumbnail_url"`
		CtwaClid     string `json:"ctwa_clid"`
	} `json:"referral"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *wMedia `json:"image"`
	Video    *wMedia `json:"video"`
	Audio    *wMedia `json:"audio"`
	Document *wMedia `json:"document"`
	Sticker  *wMedia `json:"sticker"`
	Location *struct {
		Latitude  flexFloat `json:"latitude"`
		Longitude flexFloat `json:"longitude"`
		Name      string    `json:"name"`
		Address   string    `json:"address"`
		URL       string    `json:"url"`
	} `json:"location"`
	Contacts []wSharedContact `json:"contacts"`
	Reaction *struct {
		MessageID flexStr `json:"message_id"`
		Emoji     string  `json:"emoji"`
	} `json:"reaction"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"list_reply"`
		NfmReply *struct {
			Name         string  `json:"name"`
			Body         string  `json:"body"`
			ResponseJSON *string `json:"response_json"`
		} `json:"nfm_reply"`
	} `json:"interactive"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Order *struct {
		CatalogID    flexStr `json:"catalog_id"`
		Text         string  `json:"text"`
		ProductItems []struct {
			ProductRetailerID flexStr         `json:"product_retailer_id"`
			Quantity          json.RawMessage `json:"quantity"`
			ItemPrice         json.RawMessage `json:"item_price"`
			Currency          string          `json:"currency"`
		} `json:"product_items"`
	} `json:"order"`
	System *struct {
		Body     string  `json:"body"`
		WaID     flexStr `json:"wa_id"`
		NewWaID  flexStr `json:"new_wa_id"`
		Type     string  `json:"type"`
		Customer string  `json:"customer"`
	} `json:"system"`
	Edit *struct {
		OriginalMessageID flexStr         `json:"original_message_id"`
		Message           json.RawMessage `json:"message"`
	} `json:"edit"`
	Revoke *struct {
		OriginalMessageID flexStr `json:"original_message_id"`
	} `json:"revoke"`
	Unsupported *struct {
		Type string `json:"type"`
	} `json:"unsupported"`
	Errors []wError `json:"errors"`
}

type wMedia struct {
	ID       flexStr `json:"id"`
	MimeType string  `json:"mime_type"`
	SHA256   string  `json:"sha256"`
	Caption  string  `json:"caption"`
	Filename string  `json:"filename"`
	URL      string  `json:"url"`
	Voice    bool    `json:"voice"`
	Animated bool    `json:"animated"`
}

type wSharedContact struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name"`
	} `json:"name"`
	Phones []struct {
		Phone string  `json:"phone"`
		WaID  flexStr `json:"wa_id"`
		Type  string  `json:"type"`
	} `json:"phones"`
	Emails []struct {
		Email string `json:"email"`
	} `json:"emails"`
}

type wStatus struct {
	ID                    flexStr  `json:"id"`
	Status                string   `json:"status"`
	Timestamp             flexStr  `json:"timestamp"`
	RecipientID           flexStr  `json:"recipient_id"`
	RecipientUserID       string   `json:"recipient_user_id"`
	RecipientType         string   `json:"recipient_type"`
	RecipientParticipant  flexStr  `json:"recipient_participant_id"`
	BizOpaqueCallbackData string   `json:"biz_opaque_callback_data"`
	Type                  string   `json:"type"`
	Errors                []wError `json:"errors"`
	Conversation          *struct {
		ID                  string  `json:"id"`
		ExpirationTimestamp flexStr `json:"expiration_timestamp"`
		Origin              struct {
			Type string `json:"type"`
		} `json:"origin"`
	} `json:"conversation"`
	Pricing *struct {
		Billable     bool   `json:"billable"`
		PricingModel string `json:"pricing_model"`
		Type         string `json:"type"`
		Category     string `json:"category"`
	} `json:"pricing"`
}

type wPreference struct {
	WaID      flexStr `json:"wa_id"`
	Detail    string  `json:"detail"`
	Category  string  `json:"category"`
	Value     string  `json:"value"`
	Timestamp flexStr `json:"timestamp"`
}

type wTemplateValue struct {
	Event                     string  `json:"event"`
	MessageTemplateID         flexStr `json:"message_template_id"`
	MessageTemplateName       string  `json:"message_template_name"`
	MessageTemplateLanguage   string  `json:"message_template_language"`
	MessageTemplateCategory   string  `json:"message_template_category"`
	MessageTemplateElement    string  `json:"message_template_element"`
	Reason                    string  `json:"reason"`
	PreviousQualityScore      string  `json:"previous_quality_score"`
	NewQualityScore           string  `json:"new_quality_score"`
	PreviousCategory          string  `json:"previous_category"`
	NewCategory               string  `json:"new_category"`
	CorrectCategory           string  `json:"correct_category"`
	MessageTemplateTitle      string  `json:"message_template_title"`
	MessageTemplateFooter     string  `json:"message_template_footer"`
	MessageTemplateButtonText string  `json:"message_template_button_text"`
	RejectionInfo             *struct {
		Reason         string `json:"reason"`
		Recommendation string `json:"recommendation"`
	} `json:"rejection_info"`
	DisableInfo *struct {
		DisableDate flexStr `json:"disable_date"`
	} `json:"disable_info"`
	OtherInfo *struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"other_info"`
}

// flexStr accepts a JSON string, number or boolean (IDs and timestamps come
// both ways); null and other shapes decode to "".
type flexStr string

func (f *flexStr) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		// The decoder checked the document already: a string without
		// escapes is its bytes between the quotes (IDs and numbers, on
		// every webhook).
		if len(b) >= 2 {
			if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
				*f = flexStr(inner)
				return nil
			}
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexStr(s)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f':
		*f = flexStr(b)
	}
	return nil
}

// flexInt accepts a number or a numeric string; anything else is 0.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var s flexStr
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	n, err := strconv.ParseFloat(string(s), 64)
	if err == nil && n >= -1<<31 && n <= 1<<31 {
		*f = flexInt(n)
	}
	return nil
}

// flexFloat accepts a number or a numeric string; anything else is 0.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexStr
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if n, err := strconv.ParseFloat(string(s), 64); err == nil {
		*f = flexFloat(n)
	}
	return nil
}

// unixTime reads a Unix timestamp in seconds (milliseconds when it is too
// large to be seconds); unreadable values give the zero time.
func unixTime(s flexStr) time.Time {
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return channel.SecondsOrMillisTime(n)
}
