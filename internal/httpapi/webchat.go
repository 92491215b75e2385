package httpapi

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/store"
)

// The web chat's public endpoints: the widget script, a test page, and
// what the widget calls — visitors, messages, and the conversation stream.
// They are raw routes (no login: a visitor holds a token the channel's
// adapter made, see channel.Visitors) and answer browsers on other sites
// only from the channel's allowed origins.

//go:embed webchat/widget.js
var widgetJS []byte

// widgetCSP is the test page's policy: the widget must work with no inline
// script or style at all, as on a strict customer site.
const widgetCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const (
	// webchatBodyLimit bounds what a visitor may post.
	webchatBodyLimit = 16 << 10
	// webchatMaxText is the longest message a visitor may write.
	webchatMaxText = 4096
	// webchatHistory is how many messages a (re)connecting widget gets.
	webchatHistory = 50
	// streamPoll is how often a stream looks for new messages; streamLife
	// how long one stream lasts before the widget reconnects (so that a
	// shutdown never waits long for an open stream).
	streamPoll = 400 * time.Millisecond
	streamLife = 25 * time.Second
)

var clientMessageID = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

func (s *Server) webchatWidget(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	// Any site may load the script; what it may call is the channel's rule.
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	_, _ = w.Write(widgetJS)
}

var testPage = template.Must(template.New("test").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Name}} · web chat test page</title></head>
<body>
<h1>{{.Name}}</h1>
<p>This page is served by Parley to try the web chat channel <b>{{.Name}}</b>. It embeds the widget exactly as your site would,
under a strict content security policy (no inline script or style):</p>
<pre>{{.Snippet}}</pre>
<p>Open the chat at the bottom right and write; the channel's published flows answer.</p>
<script src="{{.Script}}" data-channel="{{.ID}}" data-title="{{.Name}}" data-open="true"></script>
</body></html>
`))

func (s *Server) webchatTestPage(w http.ResponseWriter, r *http.Request) {
	ch, _, ok := s.webchatChannel(w, r)
	if !ok {
		return
	}
	script := "/webchat/widget.js"
	w.Header().Set("Content-Security-Policy", widgetCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = testPage.Execute(w, map[string]string{"ID": ch.ID, "Name": ch.Name, "Script": script,
		"Snippet": WebchatSnippet(s.deps.PublicURL, ch.ID)})
}

// WebchatSnippet is the HTML a site adds to embed a web chat channel.
func WebchatSnippet(publicURL, channelID string) string {
	return fmt.Sprintf(`<script src="%s/webchat/widget.js" data-channel="%s" async></script>`, strings.TrimRight(publicURL, "/"), channelID)
}

// webchatChannel is the channel the path names and its visitor rules; a
// channel that is not a web chat is not found.
func (s *Server) webchatChannel(w http.ResponseWriter, r *http.Request) (domain.Channel, channel.Visitors, bool) {
	id := r.PathValue("channel_id")
	if s.deps.Channels == nil {
		writeProblem(w, r, domain.Errorf(domain.CodeUnavailable, "channels are not served by this server"))
		return domain.Channel{}, nil, false
	}
	ch, err := s.deps.Channels.ByID(r.Context(), id)
	if err != nil {
		if domain.CodeOf(err) == domain.CodeNotFound {
			err = domain.NotFound("web chat channel", id)
		}
		writeProblem(w, r, err)
		return ch, nil, false
	}
	ad, err := s.deps.Channels.Adapter(r.Context(), ch)
	if err != nil {
		writeProblem(w, r, domain.Errorf(domain.CodeUnavailable, "the web chat channel cannot be used: %v", err))
		return ch, nil, false
	}
	v, ok := ad.(channel.Visitors)
	if !ok {
		writeProblem(w, r, domain.NotFound("web chat channel", id))
		return ch, nil, false
	}
	return ch, v, true
}

// webchatCORS answers a browser call from another site only when the
// channel allows its origin; a page of this server is always allowed.
func (s *Server) webchatCORS(w http.ResponseWriter, r *http.Request, v channel.Visitors) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a cross-site browser call
	}
	w.Header().Add("Vary", "Origin")
	if !s.sameOrigin(origin, r) && !v.AllowsOrigin(origin) {
		writeProblem(w, r, domain.Errorf(domain.CodeForbidden, "pages at %q may not use this web chat: add the origin to the channel's allowed origins", origin))
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
	return true
}

func (s *Server) sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	pub, err := url.Parse(s.deps.PublicURL)
	return err == nil && pub.Host != "" && strings.EqualFold(pub.Scheme+"://"+pub.Host, origin)
}

func (s *Server) webchatPreflight(w http.ResponseWriter, r *http.Request) {
	_, v, ok := s.webchatChannel(w, r)
	if !ok || !s.webchatCORS(w, r, v) {
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// webchatVisitor is the visitor whose token the request carries.
func webchatVisitor(w http.ResponseWriter, r *http.Request, v channel.Visitors) (string, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	addr, valid := v.VisitorAddress(strings.TrimSpace(token))
	if !ok || !valid {
		w.Header().Set("WWW-Authenticate", `Bearer realm="webchat"`)
		writeProblem(w, r, domain.Errorf(domain.CodeUnauthorized, "a visitor token is required (Authorization: Bearer <token> from POST /webchat/{channel_id}/visitors)"))
		return "", false
	}
	return addr, true
}

func (s *Server) webchatNewVisitor(w http.ResponseWriter, r *http.Request) {
	_, v, ok := s.webchatChannel(w, r)
	if !ok || !s.webchatCORS(w, r, v) {
		return
	}
	token, addr, err := v.NewVisitor()
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]string{"token": token, "visitor": addr})
}

// webchatInput is what a visitor posts.
type webchatInput struct {
	ID        string        `json:"id"`
	Text      *string       `json:"text"`
	Button    *string       `json:"button"`
	ListReply *webchatReply `json:"list_reply"`
}

type webchatReply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// event is the visitor's message as a channel event, or the field at fault.
func (in *webchatInput) event(address string, now time.Time) (channel.Event, error) {
	if !clientMessageID.MatchString(in.ID) {
		return channel.Event{}, domain.Invalid("/id", "id must be 8 to 64 letters, digits, - or _ (made by the widget; a repeated id is one message)")
	}
	n := 0
	for _, set := range []bool{in.Text != nil, in.Button != nil, in.ListReply != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return channel.Event{}, domain.Invalid("", "exactly one of text, button or list_reply is required")
	}
	ev := channel.Event{Channel: "webchat", Contact: channel.Contact{Address: address, Name: "Web visitor " + address[1:7]},
		ProviderID: "wc." + in.ID, Timestamp: now}
	short := func(ptr, s string, max int) error {
		if strings.TrimSpace(s) == "" {
			return domain.Invalid(ptr, "must not be empty")
		}
		if utf8.RuneCountInString(s) > max {
			return domain.Invalid(ptr, "at most %d characters", max)
		}
		return nil
	}
	switch {
	case in.Text != nil:
		ev.Kind, ev.Text = channel.KindText, *in.Text
		return ev, short("/text", *in.Text, webchatMaxText)
	case in.Button != nil:
		ev.Kind, ev.Reply = channel.KindButtonReply, &channel.Reply{ID: *in.Button, Title: *in.Button}
		return ev, short("/button", *in.Button, 256)
	default:
		if err := short("/list_reply/id", in.ListReply.ID, 256); err != nil {
			return ev, err
		}
		ev.Kind, ev.Reply = channel.KindListReply, &channel.Reply{ID: in.ListReply.ID, Title: in.ListReply.Title}
		if ev.Reply.Title == "" {
			ev.Reply.Title = in.ListReply.ID
		}
		return ev, short("/list_reply/title", ev.Reply.Title, 256)
	}
}

func (s *Server) webchatSend(w http.ResponseWriter, r *http.Request) {
	ch, v, ok := s.webchatChannel(w, r)
	if !ok || !s.webchatCORS(w, r, v) {
		return
	}
	addr, ok := webchatVisitor(w, r, v)
	if !ok {
		return
	}
	now := s.deps.Clock.Now()
	if wait, ok := v.AllowMessage(addr, now); !ok {
		secs := int(wait.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeProblem(w, r, domain.Errorf(domain.CodeRateLimited, "too many messages: wait %d s", secs))
		return
	}
	body, err := readLimited(w, r, webchatBodyLimit)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if !utf8.Valid(body) {
		writeProblem(w, r, domain.Errorf(domain.CodeMalformed, "the body is not valid UTF-8"))
		return
	}
	var in webchatInput
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeProblem(w, r, domain.Errorf(domain.CodeMalformed, "the body is not a web chat message: %v", err))
		return
	}
	ev, err := in.event(addr, now)
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			de.Code = domain.CodeUnprocessable
		}
		writeProblem(w, r, err)
		return
	}
	if s.deps.Runner == nil {
		writeProblem(w, r, domain.Errorf(domain.CodeUnavailable, "flows cannot run in this server configuration"))
		return
	}
	// The same path as a provider's webhook: one transaction stores the
	// message (a repeated id is dropped by the provider ID's index) and
	// queues it for the contact's flow.
	if err := s.deps.Runner.IngestWebhook(r.Context(), []channels.Batch{{Channel: ch, Events: []channel.Event{ev}}}); err != nil {
		if domain.CodeOf(err) == domain.CodeInternal {
			loggerFrom(r.Context()).Error("storing a web chat message failed", "channel", ch.ID, "err", err)
			err = domain.Errorf(domain.CodeUnavailable, "the message could not be stored; send it again")
		}
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": in.ID, "status": "received"})
}

// readLimited reads a body of at most limit bytes.
func readLimited(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, domain.Errorf(domain.CodeTooLarge, "the body is larger than %d bytes", limit)
	case err != nil:
		return nil, domain.Errorf(domain.CodeMalformed, "reading the body: %v", err)
	}
	return b, nil
}

// WebchatMessage is a message as the widget shows it.
type WebchatMessage struct {
	ID        string `json:"id"`
	Direction string `json:"direction"`
	// ClientID is the widget's id of a visitor's message.
	ClientID string          `json:"client_id,omitempty"`
	Text     string          `json:"text,omitempty"`
	Buttons  []string        `json:"buttons,omitempty"`
	List     json.RawMessage `json:"list,omitempty"`
	Media    *engine.Media   `json:"media,omitempty"`
	At       time.Time       `json:"at"`
}

func webchatMessageOf(m domain.Message) WebchatMessage {
	out := WebchatMessage{ID: m.ID, Direction: m.Direction, At: m.CreatedAt}
	if m.Direction == domain.DirectionIn {
		out.ClientID = strings.TrimPrefix(m.ProviderID, "wc.")
		var c struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(m.Content, &c)
		out.Text = c.Text
		return out
	}
	var em engine.Message
	_ = json.Unmarshal(m.Content, &em)
	out.Text, out.Buttons, out.Media = em.Text, em.Buttons, em.Media
	if em.List != nil {
		out.List, _ = json.Marshal(em.List)
	}
	if em.Type == engine.MessageTemplate && out.Text == "" && em.Template != nil {
		out.Text = strings.Join(em.Template.Body, " ")
	}
	return out
}

// webchatStream streams the visitor's conversation on this channel:
// messages after ?after= (the last 50 when absent), then new ones as they
// are stored, and whether the bot is working on an answer (typing). It
// ends after streamLife; the widget reconnects with ?after=.
func (s *Server) webchatStream(w http.ResponseWriter, r *http.Request) {
	ch, v, ok := s.webchatChannel(w, r)
	if !ok || !s.webchatCORS(w, r, v) {
		return
	}
	addr, ok := webchatVisitor(w, r, v)
	if !ok {
		return
	}
	after := r.URL.Query().Get("after")
	ctx := r.Context()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) bool {
		b, _ := json.Marshal(v)
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("ready", map[string]any{"visitor": addr, "retry_ms": 1000}) {
		return
	}
	seen := map[string]bool{}
	contactID, typing := "", false
	deadline := time.NewTimer(streamLife)
	defer deadline.Stop()
	tick := time.NewTicker(streamPoll)
	defer tick.Stop()
	for {
		if contactID == "" {
			c, err := s.deps.Store.ContactGetByURN(ctx, store.ContactGetByURNParams{ProjectID: ch.ProjectID, Scheme: ch.Type, Path: addr})
			if err == nil {
				contactID = c.ID
			} else if domain.CodeOf(err) != domain.CodeNotFound {
				return
			}
		}
		if contactID != "" {
			l, err := s.deps.Store.MessageList(ctx, store.MessageListParams{ProjectID: ch.ProjectID, ContactID: contactID, ChannelID: ch.ID, Page: store.Page{Limit: webchatHistory}})
			if err != nil {
				return
			}
			for i := len(l.Items) - 1; i >= 0; i-- {
				m := l.Items[i]
				if seen[m.ID] || m.ID <= after || m.Status == domain.MessageFailed {
					continue
				}
				seen[m.ID] = true
				if !send("message", webchatMessageOf(m)) {
					return
				}
			}
			pending, err := s.deps.Store.ContactEventsNext(ctx, store.ContactEventsNextParams{ContactID: contactID, Limit: 1})
			if err != nil {
				return
			}
			if now := len(pending) > 0; now != typing {
				typing = now
				if !send("typing", map[string]bool{"typing": typing}) {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			send("end", map[string]string{"reason": "reconnect"})
			return
		case <-tick.C:
		}
	}
}
