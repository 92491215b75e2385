package sandboxllm

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Understood says which edit instructions the fake applies; any other
// instruction gets an empty edit script whose summary says this.
const Understood = `the sandbox fake LLM understands only "add a message asking for <what> after <step>", ` +
	`"remove <step>" and "change the text of <step> to <text>"`

// isFlowEdit reports whether the request is Parley's "Ask AI to change…".
func isFlowEdit(c Conversation) bool {
	return c.SchemaName == "parley_flow_edit" || strings.Contains(strings.ToLower(c.System), "you change chat flows")
}

// gNode and gEdge are a flow's node and edge as the edit prompt shows them.
type gNode struct {
	ID   string         `json:"id"`
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

type gEdge struct {
	ID           string `json:"id"`
	Source       string `json:"source"`
	SourceHandle string `json:"sourceHandle"`
	Target       string `json:"target"`
	Alt          string `json:"source_handle"`
}

func (e gEdge) handle() string {
	if e.SourceHandle != "" {
		return e.SourceHandle
	}
	return e.Alt
}

type graph struct {
	Nodes []gNode `json:"nodes"`
	Edges []gEdge `json:"edges"`
}

type op map[string]any

var (
	instructionRE = regexp.MustCompile(`(?m)^Instruction: (.*)$`)
	askRE         = regexp.MustCompile(`(?i)\b(?:ask(?:s|ing)?|question)\s+(?:them\s+|the\s+contact\s+)?(?:for\s+|about\s+)?(?:the\s+|their\s+|a\s+|an\s+|his\s+|her\s+)?(.+?)(?:\s+(?:after|before|once|when)\b.*)?$`)
	afterRE       = regexp.MustCompile(`(?i)\bafter\s+(?:the\s+)?(.+)$`)
	removeRE      = regexp.MustCompile(`(?i)^\s*(?:remove|delete|drop)\s+(?:the\s+)?(.+?)\s*$`)
	changeTextRE  = regexp.MustCompile(`(?i)^\s*(?:change|set|replace)\s+the\s+(?:text|message)\s+(?:of\s+)?(?:the\s+)?(.+?)\s+(?:to|with)\s+["“']?(.+?)["”']?\s*$`)
)

// editAnswer answers an edit request with an edit script for the simple
// instructions the fake understands.
func editAnswer(c Conversation) string {
	first := ""
	if len(c.Users) > 0 {
		first = c.Users[0]
	}
	var g graph
	if i := strings.Index(first, "{"); i >= 0 {
		_ = json.NewDecoder(strings.NewReader(first[i:])).Decode(&g)
	}
	instr := ""
	if m := instructionRE.FindStringSubmatch(first); m != nil {
		instr = strings.TrimSpace(m[1])
	}
	summary, ops := editScript(g, instr)
	b, _ := json.Marshal(map[string]any{"summary": summary, "operations": ops})
	return string(b)
}

// editScript turns an instruction into operations on g.
func editScript(g graph, instr string) (string, []op) {
	if m := changeTextRE.FindStringSubmatch(strings.TrimSpace(instr)); m != nil {
		n, ok := g.find(m[1])
		if !ok {
			return fmt.Sprintf("No step matches %q: nothing changed (%s).", m[1], Understood), []op{}
		}
		return fmt.Sprintf("Changes the text of %s.", n.ID), []op{{"op": "change_node", "id": n.ID, "data": map[string]any{"text": m[2]}}}
	}
	instr = strings.TrimRight(strings.TrimSpace(instr), ".!")
	if m := removeRE.FindStringSubmatch(instr); m != nil && !strings.Contains(strings.ToLower(instr), " ask") {
		return g.remove(m[1])
	}
	if strings.Contains(strings.ToLower(instr), "add") || strings.Contains(strings.ToLower(instr), "insert") {
		if m := askRE.FindStringSubmatch(instr); m != nil {
			anchor := ""
			if a := afterRE.FindStringSubmatch(instr); a != nil {
				anchor = a[1]
			}
			return g.addQuestion(strings.TrimSpace(m[1]), anchor)
		}
	}
	return "No change: " + Understood + ".", []op{}
}

// find is the node whose ID, type and text share most words with the
// phrase (the first on a tie); the start node when the phrase names none.
func (g graph) find(phrase string) (gNode, bool) {
	words := wordRE.FindAllString(strings.ToLower(phrase), -1)
	best, score := gNode{}, 0
	for _, n := range g.Nodes {
		text, _ := n.Data["text"].(string)
		hay := strings.ToLower(strings.ReplaceAll(n.ID, "_", " ") + " " + n.Type + " " + text)
		s := 0
		for _, w := range words {
			if len(w) > 2 && strings.Contains(hay, w) {
				s++
			}
		}
		if s > score {
			best, score = n, s
		}
	}
	return best, score > 0
}

func (g graph) node(id string) (gNode, bool) {
	for _, n := range g.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return gNode{}, false
}

// out is the main edge leaving a node: its default or reply exit, else the
// first.
func (g graph) out(id string) (gEdge, bool) {
	var first *gEdge
	for i, e := range g.Edges {
		if e.Source != id {
			continue
		}
		switch e.handle() {
		case "", "next", "reply", "success", "else":
			return e, true
		}
		if first == nil {
			first = &g.Edges[i]
		}
	}
	if first != nil {
		return *first, true
	}
	return gEdge{}, false
}

func (g graph) unique(base string) string {
	id := base
	for n := 2; ; n++ {
		_, taken := g.node(id)
		dup := false
		for _, e := range g.Edges {
			dup = dup || e.ID == id
		}
		if !taken && !dup {
			return id
		}
		id = fmt.Sprintf("%s_%d", base, n)
	}
}

// anEnd is an end node to send timeouts to (one named for timeouts first).
func (g graph) anEnd() string {
	last := ""
	for _, n := range g.Nodes {
		if n.Type == "end" {
			if strings.Contains(n.ID, "timeout") {
				return n.ID
			}
			last = n.ID
		}
	}
	return last
}

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

// addQuestion inserts "What is your <what>?" and a wait for the answer
// after the anchor step (after its question's wait when the anchor asks
// one), on the anchor's main exit.
func (g graph) addQuestion(what, anchor string) (string, []op) {
	a, ok := g.find(anchor)
	if !ok {
		for _, n := range g.Nodes {
			if n.Type == "start" {
				a = n
			}
		}
	}
	e, ok := g.out(a.ID)
	if !ok {
		return fmt.Sprintf("The step %s has no exit to insert after: nothing changed.", a.ID), []op{}
	}
	if t, _ := g.node(e.Target); a.Type == "message" && t.Type == "wait_for_response" {
		if e2, ok := g.out(t.ID); ok {
			a, e = t, e2
		}
	}
	slug := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(what), "_"), "_")
	if slug == "" {
		slug = "answer"
	}
	if len(slug) > 30 {
		slug = slug[:30]
	}
	val, _ := validationFor(what, 0)
	ask, wait := g.unique("ask_"+slug), g.unique("wait_"+slug)
	wd := map[string]any{"variable": slug, "validation": map[string]any{"type": val}, "timeout_seconds": 3600}
	if val != "text" {
		wd["retry_message"] = fmt.Sprintf("Sorry, that does not look like a valid %s. Please try again.", what)
		wd["max_retries"] = 2
	}
	ops := []op{
		{"op": "remove_edge", "id": e.ID},
		{"op": "add_node", "node": map[string]any{"id": ask, "type": "message", "data": map[string]any{"text": fmt.Sprintf("What is your %s?", what)}}},
		{"op": "add_node", "node": map[string]any{"id": wait, "type": "wait_for_response", "data": wd}},
		{"op": "add_edge", "edge": map[string]any{"id": g.unique("e_" + ask), "source": a.ID, "source_handle": e.handle(), "target": ask}},
		{"op": "add_edge", "edge": map[string]any{"id": g.unique("e_" + ask + "_wait"), "source": ask, "source_handle": "next", "target": wait}},
		{"op": "add_edge", "edge": map[string]any{"id": g.unique("e_" + wait), "source": wait, "source_handle": "reply", "target": e.Target}},
	}
	if end := g.anEnd(); end != "" {
		ops = append(ops, op{"op": "add_edge", "edge": map[string]any{"id": g.unique("e_" + wait + "_timeout"), "source": wait, "source_handle": "timeout", "target": end}})
		if val != "text" {
			ops = append(ops, op{"op": "add_edge", "edge": map[string]any{"id": g.unique("e_" + wait + "_invalid"), "source": wait, "source_handle": "invalid", "target": end}})
		}
	}
	return fmt.Sprintf("Asks for the %s after %s.", what, a.ID), ops
}

// remove deletes the step the phrase names and reconnects what led to it
// to what it led to.
func (g graph) remove(phrase string) (string, []op) {
	n, ok := g.find(phrase)
	if !ok || n.Type == "start" {
		return fmt.Sprintf("No step other than the start matches %q: nothing changed (%s).", phrase, Understood), []op{}
	}
	ops := []op{{"op": "remove_node", "id": n.ID}}
	next, hasNext := g.out(n.ID)
	target := next.Target
	if !hasNext || target == n.ID {
		target = g.anEnd()
	}
	if target != "" && target != n.ID {
		for _, e := range g.Edges {
			if e.Target == n.ID && e.Source != n.ID {
				ops = append(ops, op{"op": "add_edge", "edge": map[string]any{"id": g.unique("e_" + e.ID + "_bypass"), "source": e.Source, "source_handle": e.handle(), "target": target}})
			}
		}
	}
	return fmt.Sprintf("Removes %s and connects its incoming exits to %s.", n.ID, target), ops
}
