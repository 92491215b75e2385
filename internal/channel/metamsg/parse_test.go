package metamsg

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

func parseFile(t *testing.T, p Platform, name string) []channel.Event {
	t.Helper()
	body, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := Parse(p, body)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return evs
}

func TestParseFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file  string
		p     Platform
		check func(t *testing.T, e channel.Event)
	}{
		{"messenger/text.json", Messenger, func(t *testing.T, e channel.Event) {
			if e.Text != "hello, world!" || e.ProviderID != "mid.1457764197618:41d102a3e1ae206a38" || e.Contact.Address != "6200000000000001" ||
				e.AccountID != "1000000000001" || e.Timestamp.UnixMilli() != 1458692752478 {
				t.Errorf("%+v", e)
			}
			if e.DedupKey() != "messenger:msg:mid.1457764197618:41d102a3e1ae206a38" {
				t.Errorf("dedup key %q", e.DedupKey())
			}
		}},
		{"messenger/quick_reply.json", Messenger, func(t *testing.T, e channel.Event) {
			if e.Reply == nil || e.Reply.Title != "Red" || e.Reply.Payload != "DEVELOPER_DEFINED_PAYLOAD" {
				t.Errorf("%+v", e.Reply)
			}
		}},
		{"messenger/reply_to.json", Messenger, func(t *testing.T, e channel.Event) {
			if e.ReplyTo != "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU" {
				t.Errorf("reply to %q", e.ReplyTo)
			}
		}},
		{"messenger/attachment.json", Messenger, func(t *testing.T, e channel.Event) {
			if e.Media == nil || e.Media.Type != channel.MediaImage || !strings.HasPrefix(e.Media.URL, "https://scontent") {
				t.Errorf("%+v", e.Media)
			}
		}},
		{"messenger/postback.json", Messenger, func(t *testing.T, e channel.Event) {
			if e.Reply == nil || e.Reply.Title != "TITLE-FOR-THE-CTA" || e.Reply.ID != "USER-DEFINED-PAYLOAD" || e.Referral == nil || e.Referral.Body != "USER-DEFINED-REFERRAL-PARAM" {
				t.Errorf("%+v %+v", e.Reply, e.Referral)
			}
		}},
		{"messenger/postback_changes.json", Messenger, func(t *testing.T, e channel.Event) {
			if e.Contact.Address != "USER-REF-ID" || e.AccountID != "1000000000001" || e.Timestamp.Unix() != 1527459824 {
				t.Errorf("%+v", e)
			}
		}},
		{"messenger/read.json", Messenger, func(t *testing.T, e channel.Event) {
			// Read up to the watermark: no mid, the person and the time.
			if e.Status == nil || e.Status.State != channel.StateRead || e.ProviderID != "" || e.Status.Recipient != "6200000000000001" ||
				e.Status.UpTo.UnixMilli() != 1458668856253 {
				t.Errorf("%+v %+v", e, e.Status)
			}
		}},
		{"messenger/delivery.json", Messenger, func(t *testing.T, e channel.Event) {
			if e.Status == nil || e.Status.State != channel.StateDelivered || e.ProviderID != "mid.1458668856218:ed81099e15d3f4f233" {
				t.Errorf("%+v", e)
			}
		}},
		{"messenger/echo.json", Messenger, func(t *testing.T, e channel.Event) {
			if e.Ignored == nil || e.Ignored.Field != "message_echoes" || e.AccountID != "1000000000001" {
				t.Errorf("%+v", e)
			}
		}},
		{"messenger/reaction.json", Messenger, func(t *testing.T, e channel.Event) {
			if e.Reaction == nil || e.Reaction.Emoji != "❤️" || e.Reaction.MessageID != "mid.1458668856218:ed81099e15d3f4f233" {
				t.Errorf("%+v", e.Reaction)
			}
		}},
		{"messenger/referral.json", Messenger, func(t *testing.T, e channel.Event) {
			if e.Referral == nil || e.Referral.Body != "REF-DATA-IN-M-DOT-ME-PARAM" || e.Referral.SourceType != "SHORTLINK" {
				t.Errorf("%+v", e.Referral)
			}
		}},
		{"instagram/quick_reply.json", Instagram, func(t *testing.T, e channel.Event) {
			if e.Reply == nil || e.Reply.ID != "green" || e.Reply.Title != "Green" {
				t.Errorf("%+v", e.Reply)
			}
		}},
		{"instagram/story_reply.json", Instagram, func(t *testing.T, e channel.Event) {
			if e.Extra["story_id"] != "17900000000000001" || e.Text != "love this!" {
				t.Errorf("%+v", e)
			}
		}},
		{"instagram/story_mention.json", Instagram, func(t *testing.T, e channel.Event) {
			if e.Media == nil || e.Extra["attachment_type"] != "story_mention" {
				t.Errorf("%+v", e)
			}
		}},
		{"instagram/seen.json", Instagram, func(t *testing.T, e channel.Event) {
			if e.Status == nil || e.Status.State != channel.StateRead || e.ProviderID == "" {
				t.Errorf("%+v", e)
			}
		}},
		{"instagram/reaction.json", Instagram, func(t *testing.T, e channel.Event) {
			if e.Reaction == nil || e.Reaction.Emoji != "" {
				t.Errorf("unreact: %+v", e.Reaction)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			evs := parseFile(t, c.p, c.file)
			if len(evs) != 1 {
				t.Fatalf("%d events", len(evs))
			}
			c.check(t, evs[0])
		})
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	cases := map[string]string{
		"wrong object":  `{"object":"instagram","entry":[]}`,
		"not JSON":      `{"object":`,
		"invalid UTF-8": "{\"object\":\"page\",\"entry\":[{\"messaging\":[{\"sender\":{\"id\":\"1\"},\"message\":{\"mid\":\"m\",\"text\":\"\xff\"}}]}]}",
		"deep nesting":  `{"object":"page","entry":` + deep + `}`,
		"no sender":     `{"object":"page","entry":[{"messaging":[{"message":{"mid":"m","text":"x"}}]}]}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if evs, err := Parse(Messenger, []byte(body)); err == nil {
				t.Errorf("accepted: %+v", evs)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { at := now.Add(-d); return &at }
	a := testAdapter(Messenger, "http://127.0.0.1:1", nil)
	cases := []struct {
		name  string
		msg   channel.Outbound
		last  *time.Time
		allow bool
	}{
		{"flow inside 24 h", channel.Outbound{Kind: channel.OutText}, ago(23 * time.Hour), true},
		{"flow after 24 h", channel.Outbound{Kind: channel.OutText}, ago(25 * time.Hour), false},
		{"agent after 24 h", channel.Outbound{Kind: channel.OutText, Agent: true}, ago(6 * 24 * time.Hour), true},
		{"agent after 7 days", channel.Outbound{Kind: channel.OutText, Agent: true}, ago(8 * 24 * time.Hour), false},
		{"never wrote", channel.Outbound{Kind: channel.OutText}, nil, false},
		{"mark seen", channel.Outbound{Kind: channel.OutMarkRead}, nil, true},
	}
	for _, c := range cases {
		err := a.CheckWindow(c.msg, c.last, now)
		if (err == nil) != c.allow {
			t.Errorf("%s: err = %v", c.name, err)
		}
		if err != nil && channel.ClassOf(err) != channel.Permanent {
			t.Errorf("%s: %v is not permanent", c.name, err)
		}
	}
}

// TestHumanAgentTag: an agent's reply after 24 hours goes out tagged
// HUMAN_AGENT; inside the window, and for the flow, it is a RESPONSE.
func TestHumanAgentTag(t *testing.T) {
	t.Parallel()
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		got = append(got, m)
		_, _ = io.WriteString(w, `{"recipient_id":"1","message_id":"m_1"}`)
	}))
	defer srv.Close()
	a := testAdapter(Instagram, srv.URL, nil)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	old, recent := now.Add(-30*time.Hour), now.Add(-time.Hour)
	for _, m := range []channel.Outbound{
		{Kind: channel.OutText, To: "1", Text: "a", Agent: true, LastInbound: &old},
		{Kind: channel.OutText, To: "1", Text: "b", Agent: true, LastInbound: &recent},
	} {
		if _, err := a.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if got[0]["messaging_type"] != "MESSAGE_TAG" || got[0]["tag"] != "HUMAN_AGENT" {
		t.Errorf("after 24 h: %v", got[0])
	}
	if got[1]["messaging_type"] != "RESPONSE" || got[1]["tag"] != nil {
		t.Errorf("inside the window: %v", got[1])
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	ig := testAdapter(Instagram, "http://127.0.0.1:1", nil)
	fb := testAdapter(Messenger, "http://127.0.0.1:1", nil)
	many := func(n int) []channel.ReplyButton {
		out := make([]channel.ReplyButton, n)
		for i := range out {
			out[i] = channel.ReplyButton{ID: "b", Title: "x"}
		}
		return out
	}
	cases := []struct {
		name string
		a    *Adapter
		msg  channel.Outbound
		ok   bool
	}{
		{"instagram 1000 bytes", ig, channel.Outbound{Kind: channel.OutText, To: "1", Text: strings.Repeat("é", 500)}, true},
		{"instagram 1002 bytes", ig, channel.Outbound{Kind: channel.OutText, To: "1", Text: strings.Repeat("é", 501)}, false},
		{"messenger 1999 chars", fb, channel.Outbound{Kind: channel.OutText, To: "1", Text: strings.Repeat("é", 1999)}, true},
		{"messenger 2000 chars", fb, channel.Outbound{Kind: channel.OutText, To: "1", Text: strings.Repeat("é", 2000)}, false},
		{"13 quick replies", fb, channel.Outbound{Kind: channel.OutButtons, To: "1", Body: "?", Buttons: many(13)}, true},
		{"14 quick replies", fb, channel.Outbound{Kind: channel.OutButtons, To: "1", Body: "?", Buttons: many(14)}, false},
		{"template kinds", fb, channel.Outbound{Kind: channel.OutTemplate, To: "1"}, false},
		{"no recipient", fb, channel.Outbound{Kind: channel.OutText, Text: "x"}, false},
	}
	for _, c := range cases {
		_, err := c.a.Build(c.msg)
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v", c.name, err)
		}
		if err != nil && channel.ClassOf(err) != channel.Permanent {
			t.Errorf("%s: not permanent: %v", c.name, err)
		}
	}
	// A quick reply title over 20 characters is cut, as Meta would.
	bodies, err := fb.Build(channel.Outbound{Kind: channel.OutButtons, To: "1", Body: "?", Buttons: []channel.ReplyButton{{ID: "a", Title: strings.Repeat("x", 25)}}})
	if err != nil {
		t.Fatal(err)
	}
	qr := bodies[0].Message["quick_replies"].([]any)[0].(map[string]any)
	if n := len([]rune(qr["title"].(string))); n != MaxQuickReplyTitle {
		t.Errorf("title of %d characters", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"messenger/text.json", "messenger/postback.json", "messenger/delivery.json", "instagram/story_reply.json", "instagram/comment.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range []Platform{Messenger, Instagram} {
			evs, err := Parse(p, body)
			if err != nil {
				continue
			}
			for _, e := range evs {
				if e.Channel != p.Name || e.Kind == "" {
					t.Fatalf("event without channel or kind: %+v", e)
				}
			}
			// Whatever parses must serialise for the store.
			if _, err := json.Marshal(evs); err != nil {
				t.Fatalf("marshal: %v", err)
			}
		}
	})
}
