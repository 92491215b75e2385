package channel

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits are what a channel type can show natively of an interactive
// message: a type declares them (Type.Limits), the outbox fits every
// message to them before the adapter sees it (Fit), and the flow linter
// warns, per channel a flow is bound to, when a node cannot be shown
// natively there. Zero means "not at all" for counts and "no limit" for
// lengths.
type Limits struct {
	// Buttons is the most reply buttons one message carries (WhatsApp 3).
	Buttons int `json:"buttons"`
	// ButtonTitle is the longest button title, in characters.
	ButtonTitle int `json:"button_title,omitempty"`
	// QuickReplies is the most quick replies (choices shown under a text
	// message, gone once one is tapped) a message carries (Messenger and
	// Instagram 13); 0: the channel has none.
	QuickReplies int `json:"quick_replies"`
	// QuickReplyTitle is the longest quick-reply title, in characters.
	QuickReplyTitle int `json:"quick_reply_title,omitempty"`
	// ListRows is the most rows of a list message (WhatsApp 10); 0: the
	// channel has no list messages.
	ListRows int `json:"list_rows"`
	// ListRowTitle is the longest row title, in characters.
	ListRowTitle int `json:"list_row_title,omitempty"`
}

// NoLimit is a count no message reaches: the channel shows any number.
const NoLimit = 1 << 20

// OutQuickReplies is a text (Body) with quick replies (Buttons: ID and
// Title, the title coming back as the answer): what buttons become on a
// channel with more quick replies than buttons (Fit).
const OutQuickReplies OutKind = "quick_replies"

// Fitting says how Fit changed a message; "" when it is shown natively.
type Fitting string

// The ways Fit degrades a message.
const (
	FitNative       Fitting = ""
	FitQuickReplies Fitting = "quick_replies" // buttons → quick replies
	FitNumbered     Fitting = "numbered_text" // buttons or list → numbered text list
)

// Fit turns msg into what a channel with limits l shows: buttons beyond
// what the channel allows become quick replies when it has enough, else a
// numbered text list; a list it cannot show becomes a numbered text list.
// The numbers are answers: a waiting flow takes "2" as the second choice.
// Messages without choices are unchanged.
func Fit(msg Outbound, l Limits) (Outbound, Fitting) {
	switch msg.Kind {
	case OutButtons:
		titles := make([]string, len(msg.Buttons))
		for i, b := range msg.Buttons {
			titles[i] = b.Title
		}
		if fits(titles, l.Buttons, l.ButtonTitle) {
			return msg, FitNative
		}
		if fits(titles, l.QuickReplies, l.QuickReplyTitle) {
			msg.Kind = OutQuickReplies
			return msg, FitQuickReplies
		}
		return numbered(msg, titles), FitNumbered
	case OutList:
		if msg.List == nil {
			return msg, FitNative
		}
		var titles []string
		for _, s := range msg.List.Sections {
			for _, r := range s.Rows {
				titles = append(titles, r.Title)
			}
		}
		if fits(titles, l.ListRows, l.ListRowTitle) {
			return msg, FitNative
		}
		return numbered(msg, titles), FitNumbered
	}
	return msg, FitNative
}

// Unfit says why a message with these choices cannot be shown natively
// with limits l ("" when it can); the flow linter's warning.
func Unfit(buttons, listRows []string, l Limits) string {
	switch {
	case len(buttons) > 0 && !fits(buttons, l.Buttons, l.ButtonTitle):
		if fits(buttons, l.QuickReplies, l.QuickReplyTitle) {
			return fmt.Sprintf("its %d buttons are sent as quick replies", len(buttons))
		}
		return fmt.Sprintf("its %d buttons are sent as a numbered text list (answers by number are accepted)", len(buttons))
	case len(listRows) > 0 && !fits(listRows, l.ListRows, l.ListRowTitle):
		return fmt.Sprintf("its list of %d rows is sent as a numbered text list (answers by number are accepted)", len(listRows))
	}
	return ""
}

func fits(titles []string, max, maxLen int) bool {
	if len(titles) > max {
		return false
	}
	for _, t := range titles {
		if maxLen > 0 && utf8.RuneCountInString(t) > maxLen {
			return false
		}
	}
	return true
}

// numbered is msg as a text message listing the choices by number.
func numbered(msg Outbound, titles []string) Outbound {
	var b strings.Builder
	b.WriteString(msg.Body)
	if msg.Body != "" {
		b.WriteString("\n\n")
	}
	for i, t := range titles {
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(". ")
		b.WriteString(t)
		b.WriteString("\n")
	}
	b.WriteString("\nReply with a number.")
	return Outbound{Kind: OutText, OurID: msg.OurID, To: msg.To, ReplyTo: msg.ReplyTo, Text: b.String()}
}
