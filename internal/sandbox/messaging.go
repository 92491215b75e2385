package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel/metamsg"
	"github.com/parleyhq/parley/internal/channel/viber"
)

// The Messenger, Instagram and Viber fakes share the sandbox's server:
// their channels' api_base_url is URL()+MessengerPath, +InstagramPath and
// +ViberPath. They check what the real APIs check (token, account,
// messaging window, limits of each message shape), answer with the
// documented bodies, and send the documented signed webhooks back:
// Messenger delivery receipts, Instagram messaging_seen, Viber delivered
// and seen callbacks; set_webhook checks the URL with a signed "webhook"
// callback before answering, as Viber does.
const (
	MessengerPath = "/messenger"
	InstagramPath = "/instagram"
	ViberPath     = "/viber/pa"
)

// The fakes' credentials: what `serve --sandbox` configures its channels
// with, and what the customer side signs with.
const (
	MetaAppSecret    = "sandbox-meta-app-secret"
	MetaAccessToken  = "sandbox-meta-page-token"
	MessengerPageID  = "100000000000778"
	InstagramID      = "17841400000000777"
	ViberToken       = "sandbox-viber-bot-token"
	viberChatHost    = "SN-SANDBOX_"
	metaWindow       = 24 * time.Hour
	metaAgentWindow  = 7 * 24 * time.Hour
	viberEventHeader = viber.SignatureHeader
)

// messaging is the state of the three fakes.
type messaging struct {
	mu sync.Mutex
	// webhooks are where each platform's webhooks go (Viber: the URL of
	// the last set_webhook).
	webhooks map[string]string
	// lastInbound is when each (platform, person) last wrote: the Send
	// API refuses a RESPONSE outside the window, as Meta does.
	lastInbound map[string]time.Time
	// subscribed are the Viber users who may be messaged.
	subscribed map[string]bool
	seq        int64
}

func (s *Server) msg() *messaging {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.messaging == nil {
		s.messaging = &messaging{webhooks: map[string]string{}, lastInbound: map[string]time.Time{}, subscribed: map[string]bool{}}
	}
	return s.messaging
}

func (s *Server) messagingRoutes() {
	s.mux.HandleFunc("POST "+MessengerPath+"/{version}/{account}/messages", func(w http.ResponseWriter, r *http.Request) { s.handleMeta(w, r, metamsg.Messenger) })
	s.mux.HandleFunc("POST "+InstagramPath+"/{version}/{account}/messages", func(w http.ResponseWriter, r *http.Request) { s.handleMeta(w, r, metamsg.Instagram) })
	// The account lookups name the fake's accounts literally: a wildcard
	// there would overlap the WhatsApp fake's /{version}/{waba}/… routes.
	s.mux.HandleFunc("GET "+MessengerPath+"/{version}/"+MessengerPageID, func(w http.ResponseWriter, r *http.Request) { s.handleMetaAccount(w, r, metamsg.Messenger) })
	s.mux.HandleFunc("GET "+InstagramPath+"/{version}/"+InstagramID, func(w http.ResponseWriter, r *http.Request) { s.handleMetaAccount(w, r, metamsg.Instagram) })
	s.mux.HandleFunc("POST "+ViberPath+"/set_webhook", s.handleViberSetWebhook)
	s.mux.HandleFunc("POST "+ViberPath+"/send_message", s.handleViberSend)
	s.mux.HandleFunc("POST "+ViberPath+"/get_account_info", s.handleViberAccount)
}

// SetPlatformWebhookURL says where a platform's ("messenger", "instagram",
// "viber") webhooks go; Viber's is also set by set_webhook.
func (s *Server) SetPlatformWebhookURL(platform, url string) {
	m := s.msg()
	m.mu.Lock()
	m.webhooks[platform] = url
	m.mu.Unlock()
}

// PlatformWebhookURL is where a platform's webhooks go ("" when unset).
func (s *Server) PlatformWebhookURL(platform string) string {
	m := s.msg()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.webhooks[platform]
}

func (m *messaging) next() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	return m.seq
}

// handleMetaAccount answers GET /{account}: the Page or the Instagram
// account, for the channel's credentials check.
func (s *Server) handleMetaAccount(w http.ResponseWriter, r *http.Request, p metamsg.Platform) {
	if r.Header.Get("Authorization") != "Bearer "+MetaAccessToken {
		graphError(w, http.StatusUnauthorized, 190, 463, "Error validating access token: Session has expired or the token is invalid.", "")
		return
	}
	account, name := MessengerPageID, "Parley Sandbox Page"
	if p.Name == metamsg.Instagram.Name {
		account, name = InstagramID, "parley_sandbox"
	}
	if p.Name == metamsg.Instagram.Name {
		writeJSON(w, http.StatusOK, map[string]string{"id": account, "username": name})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": account, "name": name})
}

// handleMeta is the Send API of Messenger or Instagram.
func (s *Server) handleMeta(w http.ResponseWriter, r *http.Request, p metamsg.Platform) {
	tok := r.Header.Get("Authorization")
	if tok != "Bearer "+MetaAccessToken {
		graphError(w, http.StatusUnauthorized, 190, 463, "Error validating access token: Session has expired or the token is invalid.", "")
		return
	}
	account := MessengerPageID
	if p.Name == metamsg.Instagram.Name {
		account = InstagramID
	}
	if r.PathValue("account") != account && r.PathValue("account") != "me" {
		graphError(w, http.StatusBadRequest, 100, 33, fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", r.PathValue("account")), "")
		return
	}
	var b struct {
		Recipient     struct{ ID string }        `json:"recipient"`
		MessagingType string                     `json:"messaging_type"`
		Tag           string                     `json:"tag"`
		SenderAction  string                     `json:"sender_action"`
		Message       map[string]json.RawMessage `json:"message"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &b); err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid JSON for postcard", "")
		return
	}
	bad := func(msg string) { graphError(w, http.StatusBadRequest, 100, 0, "(#100) "+msg, "") }
	if b.Recipient.ID == "" {
		bad("The parameter recipient is required")
		return
	}
	m := s.msg()
	m.mu.Lock()
	last, known := m.lastInbound[p.Name+":"+b.Recipient.ID]
	m.mu.Unlock()
	if !known {
		graphError(w, http.StatusBadRequest, 100, 2018001, "(#100) No matching user found", "")
		return
	}
	if b.SenderAction != "" {
		if b.Message != nil {
			bad("sender_action cannot be sent with message")
			return
		}
		if b.SenderAction != "mark_seen" && b.SenderAction != "typing_on" && b.SenderAction != "typing_off" {
			bad("Param sender_action must be one of {MARK_SEEN, TYPING_ON, TYPING_OFF, REACT, UNREACT}")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"recipient_id": b.Recipient.ID})
		return
	}
	switch b.MessagingType {
	case "RESPONSE", "UPDATE":
		if time.Since(last) > metaWindow {
			graphError(w, http.StatusBadRequest, 10, p.OutsideWindowSubcode, "(#10) This message is sent outside of allowed window.", "")
			return
		}
	case "MESSAGE_TAG":
		if b.Tag != "HUMAN_AGENT" {
			// The automated tags were deprecated in 2026: Invalid parameter.
			bad("Invalid parameter")
			return
		}
		if time.Since(last) > metaAgentWindow {
			graphError(w, http.StatusBadRequest, 10, p.OutsideWindowSubcode, "(#10) This message is sent outside of allowed window.", "")
			return
		}
	default:
		bad("Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG, UTILITY}")
		return
	}
	if reason := metaContentError(p, b.Message); reason != "" {
		bad(reason)
		return
	}
	mid := fmt.Sprintf("m_SANDBOX%s%d", s.nonce, m.next())
	if s.cfg.ReceiptsFirst {
		s.metaReceipts(p, account, b.Recipient.ID, mid)
	}
	writeJSON(w, http.StatusOK, map[string]string{"recipient_id": b.Recipient.ID, "message_id": mid})
	s.appendReply(ReplyKey(p.Name, account), mid, b.Recipient.ID, describeMeta(b.Message))
	if !s.cfg.ReceiptsFirst {
		s.metaReceipts(p, account, b.Recipient.ID, mid)
	}
}

// metaContentError is why Meta would refuse a message body ("" if not).
func metaContentError(p metamsg.Platform, msg map[string]json.RawMessage) string {
	if msg == nil {
		return "The parameter message is required"
	}
	var text string
	if raw, ok := msg["text"]; ok {
		_ = json.Unmarshal(raw, &text)
		if text == "" {
			return "The parameter message[text] must be a non-empty UTF-8 encoded string"
		}
		if p.MaxTextBytes > 0 && len(text) > p.MaxTextBytes || p.MaxTextRunes > 0 && utf8.RuneCountInString(text) >= p.MaxTextRunes {
			return "Length of param message[text] must be less than or equal to " + strconv.Itoa(max(p.MaxTextBytes, p.MaxTextRunes))
		}
	} else if _, ok := msg["attachment"]; !ok {
		return "Must send either message text or attachment"
	}
	if raw, ok := msg["quick_replies"]; ok {
		var qr []map[string]any
		if json.Unmarshal(raw, &qr) != nil || len(qr) == 0 || len(qr) > metamsg.MaxQuickReplies {
			return "param message[quick_replies] must have between 1 and 13 elements"
		}
	}
	if raw, ok := msg["attachment"]; ok {
		var a struct {
			Type    string `json:"type"`
			Payload struct {
				TemplateType string `json:"template_type"`
				URL          string `json:"url"`
				Text         string `json:"text"`
				Buttons      []any  `json:"buttons"`
				Elements     []any  `json:"elements"`
			} `json:"payload"`
		}
		if json.Unmarshal(raw, &a) != nil {
			return "Invalid attachment"
		}
		switch a.Type {
		case "image", "video", "audio", "file":
			if a.Payload.URL == "" {
				return "param message[attachment][payload][url] is required"
			}
		case "template":
			switch a.Payload.TemplateType {
			case "button":
				if len(a.Payload.Buttons) < 1 || len(a.Payload.Buttons) > metamsg.MaxTemplateButtons || utf8.RuneCountInString(a.Payload.Text) > metamsg.MaxButtonText {
					return "param message[attachment][payload][buttons] must have between 1 and 3 elements"
				}
			case "generic":
				if len(a.Payload.Elements) < 1 || len(a.Payload.Elements) > metamsg.MaxGenericElements {
					return "param message[attachment][payload][elements] must have at most 10 elements"
				}
			default:
				return "Invalid template_type"
			}
		default:
			return "Invalid attachment type"
		}
	}
	return ""
}

// metaReceipts sends what Meta sends after a delivery: Messenger a
// delivery (with the mid) then a read watermark; Instagram a
// messaging_seen with the mid (Instagram has no delivery receipts).
func (s *Server) metaReceipts(p metamsg.Platform, account, person, mid string) {
	u := s.PlatformWebhookURL(p.Name)
	if u == "" || len(s.cfg.Statuses) == 0 {
		return
	}
	send := func() {
		now := time.Now().UnixMilli()
		var events []map[string]any
		base := func() map[string]any {
			return map[string]any{"sender": map[string]string{"id": person}, "recipient": map[string]string{"id": account}, "timestamp": now}
		}
		if p.Name == metamsg.Messenger.Name {
			d := base()
			d["delivery"] = map[string]any{"mids": []string{mid}, "watermark": now}
			r := base()
			r["read"] = map[string]any{"watermark": now}
			events = append(events, d, r)
		} else {
			r := base()
			r["read"] = map[string]any{"mid": mid}
			events = append(events, r)
		}
		for _, e := range events {
			if !s.sleep(s.cfg.StatusDelay) {
				return
			}
			body, _ := json.Marshal(map[string]any{"object": p.Object, "entry": []any{map[string]any{"id": account, "time": now, "messaging": []any{e}}}})
			s.deliverTo(u, body, http.Header{metamsg.SignatureHeader: {metamsg.Sign(body, MetaAppSecret)}})
		}
	}
	if s.cfg.ReceiptsFirst {
		send()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		send()
	}()
}

// deliverTo POSTs a signed webhook, retrying a few times like the
// platforms, and records the delivery.
func (s *Server) deliverTo(u string, body []byte, h http.Header) (int, []byte) {
	d := Delivery{URL: u, Body: body}
	var answer []byte
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 && !s.sleep(time.Duration(100<<attempt)*time.Millisecond) {
			break
		}
		d.Status, answer, d.Err = postWith(s.ctx, s.cfg.HTTPClient, u, h, body)
		if d.Err == "" && d.Status >= 200 && d.Status < 300 {
			break
		}
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return d.Status, answer
}

func postWith(ctx context.Context, hc *http.Client, u string, h http.Header, body []byte) (int, []byte, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, ""
}

// viberAnswer writes Viber's answer: always HTTP 200, the status inside.
func viberAnswer(w http.ResponseWriter, status int, message string, extra map[string]any) {
	out := map[string]any{"status": status, "status_message": message}
	for k, v := range extra {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) viberAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get(viber.AuthHeader) != ViberToken {
		viberAnswer(w, 2, "invalidAuthToken", nil)
		return false
	}
	return true
}

func (s *Server) handleViberSetWebhook(w http.ResponseWriter, r *http.Request) {
	if !s.viberAuthorized(w, r) {
		return
	}
	var b struct {
		URL        *string  `json:"url"`
		EventTypes []string `json:"event_types"`
	}
	if json.NewDecoder(r.Body).Decode(&b) != nil || b.URL == nil {
		viberAnswer(w, 4, "missingData", nil)
		return
	}
	if *b.URL == "" {
		s.SetPlatformWebhookURL(viber.Type, "")
		viberAnswer(w, 0, "ok", nil)
		return
	}
	// Viber checks the URL at once with a signed "webhook" callback and
	// refuses it unless answered 200.
	m := s.msg()
	body, _ := json.Marshal(map[string]any{"event": "webhook", "timestamp": time.Now().UnixMilli(), "chat_hostname": viberChatHost,
		"message_token": 5098034272017990000 + m.next()})
	status, _, errText := postWith(r.Context(), s.cfg.HTTPClient, *b.URL, http.Header{viberEventHeader: {viber.Sign(body, ViberToken)}}, body)
	if errText != "" || status != http.StatusOK {
		viberAnswer(w, 1, fmt.Sprintf("Result[HttpResponse(%d)]: the webhook URL did not answer the check with 200 %s", status, errText), nil)
		return
	}
	s.SetPlatformWebhookURL(viber.Type, *b.URL)
	types := b.EventTypes
	if types == nil {
		types = viber.EventTypes
	}
	viberAnswer(w, 0, "ok", map[string]any{"event_types": types})
}

func (s *Server) handleViberAccount(w http.ResponseWriter, r *http.Request) {
	if !s.viberAuthorized(w, r) {
		return
	}
	viberAnswer(w, 0, "ok", map[string]any{"id": "pa:5000000000000000777", "name": "Parley Sandbox bot", "uri": "parleysandbox",
		"webhook": s.PlatformWebhookURL(viber.Type), "subscribers_count": 0})
}

func (s *Server) handleViberSend(w http.ResponseWriter, r *http.Request) {
	if !s.viberAuthorized(w, r) {
		return
	}
	raw, _ := io.ReadAll(r.Body)
	if len(raw) > viber.MaxRequestBytes {
		viberAnswer(w, 3, "badData: the request is over 30 KB", nil)
		return
	}
	var b struct {
		Receiver string `json:"receiver"`
		Type     string `json:"type"`
		Text     string `json:"text"`
		Media    string `json:"media"`
		Sender   *struct {
			Name string `json:"name"`
		} `json:"sender"`
		Keyboard *struct {
			Buttons []any `json:"Buttons"`
		} `json:"keyboard"`
		RichMedia *struct {
			Buttons []any `json:"Buttons"`
		} `json:"rich_media"`
	}
	if json.Unmarshal(raw, &b) != nil {
		viberAnswer(w, 3, "badData", nil)
		return
	}
	switch {
	case b.Receiver == "" || b.Type == "" || b.Sender == nil || b.Sender.Name == "":
		viberAnswer(w, 4, "missingData: receiver, type and sender.name are required", nil)
		return
	case utf8.RuneCountInString(b.Sender.Name) > viber.MaxSenderName,
		b.Type == "text" && (b.Text == "" || utf8.RuneCountInString(b.Text) > viber.MaxText),
		b.Type == "picture" && b.Media == "",
		b.Keyboard != nil && (len(b.Keyboard.Buttons) == 0 || len(b.Keyboard.Buttons) > 48),
		b.Type == "rich_media" && (b.RichMedia == nil || len(b.RichMedia.Buttons) == 0):
		viberAnswer(w, 3, "badData", nil)
		return
	}
	m := s.msg()
	m.mu.Lock()
	ok := m.subscribed[b.Receiver]
	m.mu.Unlock()
	if !ok {
		viberAnswer(w, 6, "receiverNotSubscribed", nil)
		return
	}
	token := 5741311803571721000 + m.next()
	if s.cfg.ReceiptsFirst {
		s.viberReceipts(b.Receiver, token)
	}
	viberAnswer(w, 0, "ok", map[string]any{"message_token": token, "chat_hostname": viberChatHost, "billing_status": 1})
	s.appendReply(ReplyKey(viber.Type, ""), strconv.FormatInt(token, 10), b.Receiver, describeViber(raw))
	if !s.cfg.ReceiptsFirst {
		s.viberReceipts(b.Receiver, token)
	}
}

func (s *Server) viberReceipts(user string, token int64) {
	u := s.PlatformWebhookURL(viber.Type)
	if u == "" || len(s.cfg.Statuses) == 0 {
		return
	}
	send := func() {
		for _, ev := range []string{"delivered", "seen"} {
			if !s.sleep(s.cfg.StatusDelay) {
				return
			}
			body, _ := json.Marshal(map[string]any{"event": ev, "timestamp": time.Now().UnixMilli(), "message_token": token, "user_id": user})
			s.deliverTo(u, body, http.Header{viberEventHeader: {viber.Sign(body, ViberToken)}})
		}
	}
	if s.cfg.ReceiptsFirst {
		send()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		send()
	}()
}

// MetaInbound is what a Messenger or Instagram customer sends: Text, a
// quick reply (Text is its title), or a postback (a button tap).
type MetaInbound struct {
	// From is the person's PSID or IGSID.
	From string
	// ID is the message's mid; generated when empty.
	ID                string
	Text              string
	QuickReplyPayload string
	Postback          *Postback
}

// Postback is a tap on a postback button.
type Postback struct{ Title, Payload string }

// SendMeta sends in as a customer of the platform ("messenger" or
// "instagram") to its webhook, signed like Meta; it returns the mid.
func (s *Server) SendMeta(ctx context.Context, platform string, in MetaInbound) (string, error) {
	p, account := metamsg.Messenger, MessengerPageID
	if platform == metamsg.Instagram.Name {
		p, account = metamsg.Instagram, InstagramID
	} else if platform != metamsg.Messenger.Name {
		return "", fmt.Errorf("sending as a customer: %q is not messenger or instagram", platform)
	}
	if in.From == "" {
		return "", fmt.Errorf("sending as a %s customer: the sender ID is required", p.Label)
	}
	u := s.PlatformWebhookURL(p.Name)
	if u == "" {
		return "", fmt.Errorf("sending as a %s customer: no webhook URL is set", p.Label)
	}
	m := s.msg()
	if in.ID == "" {
		in.ID = fmt.Sprintf("m_SANDBOXIN%s%d", s.nonce, m.next())
	}
	now := time.Now()
	ev := map[string]any{"sender": map[string]string{"id": in.From}, "recipient": map[string]string{"id": account}, "timestamp": now.UnixMilli()}
	switch {
	case in.Postback != nil:
		ev["postback"] = map[string]string{"mid": in.ID, "title": in.Postback.Title, "payload": in.Postback.Payload}
	default:
		msg := map[string]any{"mid": in.ID, "text": in.Text}
		if in.QuickReplyPayload != "" {
			msg["quick_reply"] = map[string]string{"payload": in.QuickReplyPayload}
		}
		ev["message"] = msg
	}
	body, _ := json.Marshal(map[string]any{"object": p.Object, "entry": []any{map[string]any{"id": account, "time": now.UnixMilli(), "messaging": []any{ev}}}})
	m.mu.Lock()
	m.lastInbound[p.Name+":"+in.From] = now
	m.mu.Unlock()
	status, _, errText := postWith(ctx, s.cfg.HTTPClient, u, http.Header{metamsg.SignatureHeader: {metamsg.Sign(body, MetaAppSecret)}}, body)
	if errText != "" {
		return "", fmt.Errorf("sending a %s webhook to %s: %s", p.Label, u, errText)
	}
	if status < 200 || status > 299 {
		return "", fmt.Errorf("sending a %s webhook to %s: answered %d", p.Label, u, status)
	}
	return in.ID, nil
}

// ViberInbound is what a Viber user does: Event "message" (default) with
// Text, or "conversation_started", "subscribed", "unsubscribed".
type ViberInbound struct {
	Event string
	From  string
	Name  string
	Text  string
	// Token is the message_token; generated when zero.
	Token int64
}

// SendViber sends in as a Viber user's callback to the bot's webhook,
// signed like Viber; it returns the message token and the webhook's answer
// (the welcome message, for conversation_started).
func (s *Server) SendViber(ctx context.Context, in ViberInbound) (int64, []byte, error) {
	u := s.PlatformWebhookURL(viber.Type)
	if u == "" {
		return 0, nil, fmt.Errorf("sending as a Viber user: no webhook is set (save the Viber channel: it calls set_webhook)")
	}
	if in.From == "" {
		return 0, nil, fmt.Errorf("sending as a Viber user: the user ID is required")
	}
	m := s.msg()
	if in.Token == 0 {
		in.Token = 4912661846655238000 + m.next()
	}
	if in.Event == "" {
		in.Event = "message"
	}
	user := map[string]any{"id": in.From, "name": in.Name, "country": "UK", "language": "en", "api_version": 10}
	cb := map[string]any{"event": in.Event, "timestamp": time.Now().UnixMilli(), "message_token": in.Token}
	m.mu.Lock()
	switch in.Event {
	case "message":
		cb["sender"], cb["message"] = user, map[string]any{"type": "text", "text": in.Text}
		m.subscribed[in.From] = true // a first message subscribes
	case "conversation_started":
		cb["type"], cb["user"], cb["subscribed"] = "open", user, m.subscribed[in.From]
	case "subscribed":
		cb["user"] = user
		m.subscribed[in.From] = true
	case "unsubscribed":
		cb["user_id"] = in.From
		delete(m.subscribed, in.From)
	default:
		m.mu.Unlock()
		return 0, nil, fmt.Errorf("sending as a Viber user: %q is not message, conversation_started, subscribed or unsubscribed", in.Event)
	}
	m.mu.Unlock()
	body, _ := json.Marshal(cb)
	status, answer, errText := postWith(ctx, s.cfg.HTTPClient, u, http.Header{viberEventHeader: {viber.Sign(body, ViberToken)}}, body)
	if errText != "" {
		return 0, nil, fmt.Errorf("sending a Viber callback to %s: %s", u, errText)
	}
	if status != http.StatusOK {
		return 0, nil, fmt.Errorf("sending a Viber callback to %s: answered %d", u, status)
	}
	return in.Token, answer, nil
}

// ReplyKey is the key the Messenger, Instagram and Viber fakes record
// replies under (what Replies takes as its pnid): the platform and the
// account ("messenger:<page id>", "instagram:<ig id>", "viber:").
func ReplyKey(platform, account string) string { return platform + ":" + account }

// appendReply records a reply the customer's app shows.
func (s *Server) appendReply(key, id, to string, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replySeq++
	r.Seq, r.ID, r.PhoneNumberID, r.To = s.replySeq, id, key, to
	s.replies = append(s.replies, r)
	if len(s.replies) >= 2*maxReplies { // see recordReply
		s.replies = append([]Reply(nil), s.replies[len(s.replies)-maxReplies:]...)
	}
}

// describeMeta is what a Messenger or Instagram user sees of a Send API
// message: its text and what can be tapped (postback buttons and cards
// answer as buttons, quick replies as quick replies, URLs are links).
func describeMeta(msg map[string]json.RawMessage) Reply {
	var r Reply
	_ = json.Unmarshal(msg["text"], &r.Text)
	r.Type = "text"
	var qrs []struct{ Title, Payload string }
	_ = json.Unmarshal(msg["quick_replies"], &qrs)
	for _, q := range qrs {
		r.Options = append(r.Options, Option{Kind: "quick_reply", ID: q.Payload, Title: q.Title})
	}
	var a struct {
		Type    string `json:"type"`
		Payload struct {
			TemplateType string `json:"template_type"`
			URL          string `json:"url"`
			Text         string `json:"text"`
			Buttons      []struct {
				Type, Title, Payload, URL string
			} `json:"buttons"`
			Elements []struct {
				Title, Subtitle string
				Buttons         []struct{ Type, Title, Payload, URL string }
			} `json:"elements"`
		} `json:"payload"`
	}
	if json.Unmarshal(msg["attachment"], &a) != nil {
		return r
	}
	button := func(b struct{ Type, Title, Payload, URL string }, title, desc string) Option {
		if b.Type == "web_url" {
			return Option{Kind: "link", Title: b.Title, URL: b.URL}
		}
		if title == "" {
			title = b.Title
		}
		return Option{Kind: "button", ID: b.Payload, Title: title, Description: desc}
	}
	switch a.Type {
	case "template":
		r.Type, r.Text = a.Payload.TemplateType+"_template", a.Payload.Text
		for _, b := range a.Payload.Buttons {
			r.Options = append(r.Options, button(b, "", ""))
		}
		for _, e := range a.Payload.Elements {
			for _, b := range e.Buttons {
				r.Options = append(r.Options, button(b, e.Title, e.Subtitle))
			}
		}
	default:
		r.Type, r.Link = a.Type, a.Payload.URL
	}
	return r
}

// describeViber is what a Viber user sees of a send_message body: the
// keyboard's and the carousel's reply buttons (a tap sends ActionBody as
// the user's text) and links.
func describeViber(raw []byte) Reply {
	var b struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		Media    string `json:"media"`
		AltText  string `json:"alt_text"`
		Keyboard *struct {
			Buttons []struct{ ActionType, ActionBody, Text string }
		} `json:"keyboard"`
		RichMedia *struct {
			Buttons []struct{ ActionType, ActionBody, Text string }
		} `json:"rich_media"`
	}
	_ = json.Unmarshal(raw, &b)
	r := Reply{Type: b.Type, Text: b.Text, Link: b.Media}
	if b.Type == "rich_media" {
		r.Text = b.AltText
	}
	var buttons []struct{ ActionType, ActionBody, Text string }
	if b.Keyboard != nil {
		buttons = append(buttons, b.Keyboard.Buttons...)
	}
	if b.RichMedia != nil {
		buttons = append(buttons, b.RichMedia.Buttons...)
	}
	for _, btn := range buttons {
		switch btn.ActionType {
		case "reply":
			r.Options = append(r.Options, Option{Kind: "button", ID: btn.ActionBody, Title: btn.Text})
		case "open-url":
			r.Options = append(r.Options, Option{Kind: "link", Title: btn.Text, URL: btn.ActionBody})
		}
	}
	return r
}
