package channel

import (
	"strings"
	"testing"
)

func TestFit(t *testing.T) {
	t.Parallel()
	buttons := func(titles ...string) Outbound {
		out := Outbound{Kind: OutButtons, OurID: "m1", To: "u1", Body: "Pick one"}
		for _, ti := range titles {
			out.Buttons = append(out.Buttons, ReplyButton{ID: ti, Title: ti})
		}
		return out
	}
	list := Outbound{Kind: OutList, OurID: "m2", To: "u1", Body: "Which size?", List: &List{Button: "Sizes", Sections: []ListSection{
		{Title: "A", Rows: []ListRow{{ID: "s", Title: "Small"}, {ID: "m", Title: "Medium"}}}, {Title: "B", Rows: []ListRow{{ID: "l", Title: "Large"}}}}}}
	whatsapp := Limits{Buttons: 3, ButtonTitle: 20, ListRows: 10, ListRowTitle: 24}
	messenger := Limits{Buttons: 3, ButtonTitle: 20, QuickReplies: 13, QuickReplyTitle: 20}
	viberText := Limits{}
	tests := []struct {
		name string
		msg  Outbound
		l    Limits
		want Fitting
		text string // for numbered lists: the text sent
	}{
		{"buttons within the limits", buttons("Red", "Blue"), whatsapp, FitNative, ""},
		{"more buttons than allowed, quick replies enough", buttons("1a", "2b", "3c", "4d"), messenger, FitQuickReplies, ""},
		{"more buttons than allowed, no quick replies", buttons("Red", "Blue", "Green", "Pink"), whatsapp, FitNumbered,
			"Pick one\n\n1. Red\n2. Blue\n3. Green\n4. Pink\n\nReply with a number."},
		{"a title too long for buttons", buttons(strings.Repeat("x", 21)), whatsapp, FitNumbered, ""},
		{"a title too long for quick replies too", buttons(strings.Repeat("x", 21)), messenger, FitNumbered, ""},
		{"a list where lists exist", list, whatsapp, FitNative, ""},
		{"a list where they do not", list, messenger, FitNumbered, "Which size?\n\n1. Small\n2. Medium\n3. Large\n\nReply with a number."},
		{"buttons on a text-only channel", buttons("Yes", "No"), viberText, FitNumbered, ""},
		{"text is text", Outbound{Kind: OutText, Text: "hi"}, viberText, FitNative, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, how := Fit(tc.msg, tc.l)
			if how != tc.want {
				t.Fatalf("Fit = %q, want %q", how, tc.want)
			}
			switch how {
			case FitNative:
				if got.Kind != tc.msg.Kind {
					t.Fatalf("a native message changed kind: %v", got.Kind)
				}
			case FitQuickReplies:
				if got.Kind != OutQuickReplies || len(got.Buttons) != len(tc.msg.Buttons) || got.Body != tc.msg.Body {
					t.Fatalf("quick replies = %+v", got)
				}
			case FitNumbered:
				if got.Kind != OutText || got.OurID != tc.msg.OurID || got.To != tc.msg.To {
					t.Fatalf("numbered = %+v", got)
				}
				if tc.text != "" && got.Text != tc.text {
					t.Fatalf("numbered text = %q, want %q", got.Text, tc.text)
				}
			}
			var rows []string
			if tc.msg.List != nil {
				for _, s := range tc.msg.List.Sections {
					for _, r := range s.Rows {
						rows = append(rows, r.Title)
					}
				}
			}
			var titles []string
			for _, b := range tc.msg.Buttons {
				titles = append(titles, b.Title)
			}
			if why := Unfit(titles, rows, tc.l); (why == "") != (how == FitNative) {
				t.Fatalf("Unfit = %q for a message Fit made %q", why, how)
			}
		})
	}
}
