package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/domain"
)

// FuzzWebchatInput: whatever a visitor posts, reading it never panics, and
// what it accepts is a well-formed event with the field limits kept.
func FuzzWebchatInput(f *testing.F) {
	for _, seed := range []string{
		`{"id":"abcdefgh","text":"hi"}`, `{"id":"abcdefgh","button":"Book"}`, `{"id":"abcdefgh","list_reply":{"id":"l","title":"Large"}}`,
		`{"id":"abcdefgh","list_reply":{"id":""}}`, `{"id":"x"}`, `{"id":"abcdefgh","text":"a","button":"b"}`, `[]`, `{"text":null}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var in webchatInput
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&in) != nil {
			return
		}
		ev, err := in.event("v0123456789abcdef0123456789abcdef", time.Unix(0, 0))
		if err != nil {
			if domain.CodeOf(err) != domain.CodeInvalid {
				t.Fatalf("an invalid body is %v", err)
			}
			return
		}
		if !clientMessageID.MatchString(in.ID) || ev.ProviderID != "wc."+in.ID || ev.Contact.Address == "" {
			t.Fatalf("accepted %q as %+v", body, ev)
		}
		got := ev.Text
		if ev.Reply != nil {
			got = ev.Reply.Title
		}
		if utf8.RuneCountInString(got) > webchatMaxText || strings.TrimSpace(got) == "" {
			t.Fatalf("accepted %q with the content %q", body, got)
		}
	})
}
