package flow

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Choices are the exits shared by message and template nodes that wait. Exit k of
// the node is choice k; Other and Timeout are exit indices.
type Choices struct {
	// Titles of the buttons (or ids of the list rows), in exit order.
	Titles []string
	// Other is the exit for an answer that matches no choice.
	Other int
	// Timeout is the exit when Timeout elapses.
	Timeout int
	// Wait is how long to wait; 0 waits until the session expires.
	Wait time.Duration
}

// choicePlus are the exits after the choices of a node that waits for a
// button or list reply.
var choicePlus = []ExitDef{{Name: ExitOther, Optional: true, Inbound: true}, {Name: ExitTimeout, Optional: true}}

func choices(titles []string, timeout int) *Choices {
	if len(titles) == 0 {
		return nil
	}
	return &Choices{Titles: titles, Other: len(titles), Timeout: len(titles) + 1, Wait: seconds(timeout)}
}

// checkChoices checks button titles: count, length, emptiness, duplicates
// and clashes with the other/timeout exits.
func (a *analysis) checkChoices(i int, ptr string, titles []string, max, maxLen int) {
	if len(titles) > max {
		a.nodeErr(i, CodeTooManyButtons, ptr+"/"+strconv.Itoa(max), "%s has %d buttons; WhatsApp allows at most %d — remove some or use a list", a.label(i), len(titles), max)
	}
	seen := map[string]int{}
	for k, t := range titles {
		p := ptr + "/" + strconv.Itoa(k)
		if strings.TrimSpace(t) == "" {
			a.nodeErr(i, CodeMissingField, p, "%s: button %d has no title", a.label(i), k+1)
			continue
		}
		if n := utf8.RuneCountInString(t); n > maxLen {
			a.nodeErr(i, CodeButtonTitleTooLong, p, "%s: button title %q has %d characters; WhatsApp allows at most %d", a.label(i), t, n, maxLen)
		}
		key := strings.ToLower(strings.TrimSpace(t))
		if prev, dup := seen[key]; dup {
			a.nodeErr(i, CodeDuplicateButton, p, "%s: button %q repeats button %d; button titles must be unique", a.label(i), t, prev+1)
			continue
		}
		seen[key] = k
		if t == ExitOther || t == ExitTimeout {
			a.nodeErr(i, CodeDuplicateExitName, p, "%s: a button cannot be titled %q, which is the name of a built-in exit", a.label(i), t)
		}
	}
}

// Match returns the exit index of the choice an inbound reply selects: a
// button title or list row id equal (case-insensitively, spaces trimmed) to
// the reply, else Other.
func (c *Choices) Match(reply string) int {
	reply = strings.TrimSpace(reply)
	for i, t := range c.Titles {
		if strings.EqualFold(t, reply) {
			return i
		}
	}
	return c.Other
}

func (a *analysis) checkTimeout(i int, secs int) {
	if secs < 0 {
		a.nodeErr(i, CodeInvalidValue, "/data/timeout_seconds", "%s: timeout_seconds must not be negative", a.label(i))
	}
}
