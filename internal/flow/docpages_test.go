package flow

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)\n```")

// TestNodePages: every registered node type has its reference page,
// docs/nodes/TYPE.md, that names each of its top-level fields and carries
// an example flow using the type which decodes and lints without errors;
// every page belongs to a registered type, and the index links them all.
// A new node type or field without docs, or an example that stopped
// importing, fails here.
func TestNodePages(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "docs", "nodes")
	index, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, nt := range NodeTypes() {
		t.Run(nt.Type, func(t *testing.T) {
			t.Parallel()
			page, err := os.ReadFile(filepath.Join(dir, nt.Type+".md"))
			if err != nil {
				t.Fatalf("node type %s has no reference page: %v", nt.Type, err)
			}
			text := string(page)
			if !strings.HasPrefix(text, "# `"+nt.Type+"` — "+nt.Label+"\n") {
				t.Errorf("the page's title is not \"# `%s` — %s\"", nt.Type, nt.Label)
			}
			if !strings.Contains(string(index), "("+nt.Type+".md)") {
				t.Errorf("docs/nodes/README.md does not link %s.md", nt.Type)
			}
			for _, f := range nt.Fields {
				if !strings.Contains(text, "`"+f.Name+"`") {
					t.Errorf("the page does not describe the field %s", f.Name)
				}
			}
			if !nt.Available && !strings.Contains(text, "does not run it yet") {
				t.Errorf("%s is not available in this build (%s) and the page does not say so", nt.Type, nt.Reason)
			}
			blocks := jsonBlock.FindAllStringSubmatch(text, -1)
			if len(blocks) == 0 {
				t.Fatal("the page has no ```json example")
			}
			for _, b := range blocks {
				g, err := DecodeGraph([]byte(b[1]))
				if err != nil {
					t.Fatalf("the example does not decode: %v", err)
				}
				uses := false
				for _, n := range g.Nodes {
					uses = uses || n.Type == nt.Type
				}
				if !uses {
					t.Errorf("the example has no %s node", nt.Type)
				}
				for _, p := range Lint(g, nil) {
					if p.Severity == SeverityError {
						t.Errorf("the example does not lint: %s", p)
					}
				}
			}
		})
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	for _, p := range pages {
		name := strings.TrimSuffix(filepath.Base(p), ".md")
		if name != "README" && KindOf(name) == KindInvalid {
			t.Errorf("docs/nodes/%s.md documents no registered node type", name)
		}
	}
}
