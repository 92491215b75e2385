package template

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	placeholderRe = regexp.MustCompile(`\{\{([^{}]*)\}\}`)
	positionalRe  = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)
	namedRe       = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	adjacentRe    = regexp.MustCompile(`\}\}\s*\{\{`)
)

// Param is one {{…}} placeholder occurrence in a text.
type Param struct {
	// Key is what is between the braces, trimmed: "1" or "first_name".
	Key string
	// Positional is true for {{1}}-style keys.
	Positional bool
	// Start and End are byte offsets of the whole placeholder.
	Start, End int
}

// Params returns the placeholders of text in order of appearance.
func Params(text string) []Param {
	var out []Param
	for _, m := range placeholderRe.FindAllStringSubmatchIndex(text, -1) {
		key := strings.TrimSpace(text[m[2]:m[3]])
		out = append(out, Param{Key: key, Positional: positionalRe.MatchString(key), Start: m[0], End: m[1]})
	}
	return out
}

// Keys returns the distinct keys of text: positional ones sorted by number,
// named ones in order of first appearance.
func Keys(text string) []string {
	seen := map[string]bool{}
	var named []string
	maxPos := 0
	for _, p := range Params(text) {
		if seen[p.Key] {
			continue
		}
		seen[p.Key] = true
		if p.Positional {
			n, _ := strconv.Atoi(p.Key)
			maxPos = max(maxPos, n)
			continue
		}
		named = append(named, p.Key)
	}
	var out []string
	for i := 1; i <= maxPos; i++ {
		if seen[strconv.Itoa(i)] {
			out = append(out, strconv.Itoa(i))
		}
	}
	return append(out, named...)
}
