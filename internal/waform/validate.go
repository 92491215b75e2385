package waform

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// MaxFlowJSONBytes is Meta's size limit for a Flow JSON document.
const MaxFlowJSONBytes = 10 << 20

// MaxScreens is Meta's limit of screens per flow.
const MaxScreens = 100

var versionPattern = regexp.MustCompile(`^\d+\.\d+$`)

// validator holds the state of one Validate call.
type validator struct {
	src  []byte
	li   *lineIndex
	ver  int
	res  *Result
	root *node
}

// Validate checks a Flow JSON document against Meta's rules for its declared
// version and returns every problem found, each with a JSON pointer and the
// line and column of the offending value in raw.
func Validate(raw []byte) Result {
	res := Result{Problems: []Problem{}}
	v := &validator{src: raw, res: &res}
	v.li = newLineIndex(raw)
	if len(raw) > MaxFlowJSONBytes {
		v.add(CodeInvalidFlowJSON, "", nil, "The Flow JSON is %d bytes; Meta accepts at most %d (10 MB)", len(raw), MaxFlowJSONBytes)
		return res
	}
	root, err := parseTree(raw)
	if err != nil {
		var se *syntaxError
		off := 0
		if errors.As(err, &se) {
			off = se.off
		}
		v.addAt(CodeInvalidFlowJSON, "", off, "The Flow JSON is not valid JSON: %v", err)
		return res
	}
	v.root = root
	if root.k != kObj {
		v.add(CodeInvalidFlowJSON, "", root, "The Flow JSON must be an object, not %s", root.k)
		return res
	}
	if !v.version() {
		return res
	}
	v.flow()
	// In document order, as an editor lists them.
	sort.SliceStable(res.Problems, func(i, j int) bool {
		a, b := res.Problems[i], res.Problems[j]
		return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
	})
	return res
}

func (v *validator) add(code string, p ptr, n *node, format string, args ...any) {
	off := 0
	if n != nil {
		off = n.off
	}
	v.addAt(code, p, off, format, args...)
}

func (v *validator) addAt(code string, p ptr, off int, format string, args ...any) {
	v.addSev(SeverityError, code, p, off, format, args...)
}

func (v *validator) addSev(sev Severity, code string, p ptr, off int, format string, args ...any) {
	line, col := v.li.pos(off)
	v.res.Problems = append(v.res.Problems, Problem{
		Code: code, Message: fmt.Sprintf(format, args...), Pointer: string(p),
		Line: line, Column: col, Severity: sev,
	})
}

// version reads and checks the declared version; false stops validation
// because no rule set applies.
func (v *validator) version() bool {
	n := v.root.get("version")
	switch {
	case n == nil:
		v.add(CodeMissingFlowJSONVersion, "/version", v.root, "The property 'version' is required")
		return false
	case n.k != kStr:
		v.add(CodeInvalidFlowJSONVersion, "/version", n, "Expected property 'version' to be a string like \"%s\", but found %s", LatestVersion, n.k)
		return false
	case !versionPattern.MatchString(n.s):
		v.res.Version = n.s
		v.add(CodeInvalidFlowJSONVersion, "/version", n, "Invalid Flow JSON version %q: expected \"major.minor\"", n.s)
		return false
	}
	v.res.Version = n.s
	ver, ok := knownVersions[n.s]
	if !ok {
		v.add(CodeUnsupportedFlowJSONVersion, "/version", n, "Flow JSON version %q is not supported (known: %s)", n.s, strings.Join(Versions(), ", "))
		return false
	}
	v.ver = ver
	if ver < frozenBelow {
		v.addSev(SeverityWarning, CodeUnsupportedFlowJSONVersion, "/version", n.off,
			"Flow JSON version %s is frozen: flows already published keep working, new ones cannot be published (use %s)", n.s, LatestVersion)
	}
	return true
}
