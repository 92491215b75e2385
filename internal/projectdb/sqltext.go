package projectdb

import (
	"fmt"
	"strings"
)

// statement is one SQL statement of a console text, with its words: the
// keywords and unquoted identifiers, upper-cased, outside strings and
// comments.
type statement struct {
	Text  string
	Words []string
}

// first is the statement's first word ("" when none).
func (s statement) first() string {
	if len(s.Words) == 0 {
		return ""
	}
	return s.Words[0]
}

// returnsRows tells whether the statement is a query (run with Query
// rather than Exec).
func (s statement) returnsRows() bool {
	switch s.first() {
	case "SELECT", "WITH", "VALUES", "EXPLAIN", "PRAGMA", "SHOW", "TABLE":
		return true
	}
	for _, w := range s.Words {
		if w == "RETURNING" {
			return true
		}
	}
	return false
}

// splitSQL cuts text into statements at semicolons outside strings,
// quoted identifiers, comments and PostgreSQL dollar quotes. An
// unterminated string or comment is an error: what follows it cannot be
// read safely.
func splitSQL(text string) ([]statement, error) {
	var out []statement
	var cur statement
	start := 0
	word := func(w string) { cur.Words = append(cur.Words, strings.ToUpper(w)) }
	flush := func(end int) {
		cur.Text = strings.TrimSpace(text[start:end])
		if cur.Text != "" && len(cur.Words) > 0 {
			out = append(out, cur)
		}
		cur = statement{}
		start = end + 1
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'' || c == '"' || c == '`' || c == '[':
			closer := c
			if c == '[' {
				closer = ']'
			}
			j := i + 1
			for {
				k := strings.IndexByte(text[j:], closer)
				if k < 0 {
					return nil, fmt.Errorf("an unterminated %c at character %d", c, i+1)
				}
				j += k + 1
				if closer != ']' && j < len(text) && text[j] == closer {
					j++ // a doubled quote is part of the string
					continue
				}
				break
			}
			if c != '\'' {
				// A quoted identifier is still a name the checks must see.
				word(strings.ReplaceAll(text[i+1:j-1], string(closer)+string(closer), string(closer)))
			}
			i = j
		case c == '-' && i+1 < len(text) && text[i+1] == '-':
			k := strings.IndexByte(text[i:], '\n')
			if k < 0 {
				i = len(text)
			} else {
				i += k
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			k := strings.Index(text[i+2:], "*/")
			if k < 0 {
				return nil, fmt.Errorf("an unterminated comment at character %d", i+1)
			}
			i += k + 4
		case c == '$' && i+1 < len(text) && (text[i+1] == '$' || isIdentStart(text[i+1])):
			// A dollar quote ($$…$$ or $tag$…$tag$); $1 is a parameter.
			j := i + 1
			for j < len(text) && isIdentPart(text[j]) && text[j] != '$' {
				j++
			}
			if j < len(text) && text[j] == '$' {
				tag := text[i : j+1]
				k := strings.Index(text[j+1:], tag)
				if k < 0 {
					return nil, fmt.Errorf("an unterminated %s quote at character %d", tag, i+1)
				}
				i = j + 1 + k + len(tag)
			} else {
				i = j
			}
		case c == ';':
			flush(i)
			i++
		case isIdentStart(c):
			j := i
			for j < len(text) && isIdentPart(text[j]) {
				j++
			}
			word(text[i:j])
			i = j
		default:
			i++
		}
	}
	flush(len(text))
	return out, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$' }
