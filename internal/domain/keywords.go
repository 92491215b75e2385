package domain

import (
	"encoding/json"
	"slices"
	"strings"
)

// Keywords are a project's built-in opt-out and opt-in words, which the
// runner answers before any flow.
type Keywords struct {
	// Disabled: the project turned the built-in words off.
	Disabled      bool
	OptOut, OptIn []string
}

// ProjectKeywords reads a project's keyword settings ("keywords": enabled,
// opt_out, opt_in); words not set are the built-in STOP, UNSUBSCRIBE and
// START. Settings that do not parse leave the built-in words.
func ProjectKeywords(settings json.RawMessage) Keywords {
	var s struct {
		Keywords *struct {
			Enabled *bool    `json:"enabled"`
			OptOut  []string `json:"opt_out"`
			OptIn   []string `json:"opt_in"`
		} `json:"keywords"`
	}
	_ = json.Unmarshal(settings, &s)
	kw := Keywords{OptOut: []string{"STOP", "UNSUBSCRIBE"}, OptIn: []string{"START"}}
	if k := s.Keywords; k != nil {
		kw.Disabled = k.Enabled != nil && !*k.Enabled
		if k.OptOut != nil {
			kw.OptOut = k.OptOut
		}
		if k.OptIn != nil {
			kw.OptIn = k.OptIn
		}
	}
	return kw
}

// Taken says which built-in word, if any, word is ("opt-out" or "opt-in"):
// a flow keyword equal to one never starts its flow.
func (k Keywords) Taken(word string) string {
	if k.Disabled {
		return ""
	}
	is := func(w string) bool { return strings.EqualFold(strings.TrimSpace(w), strings.TrimSpace(word)) }
	switch {
	case slices.ContainsFunc(k.OptOut, is):
		return "opt-out"
	case slices.ContainsFunc(k.OptIn, is):
		return "opt-in"
	}
	return ""
}
