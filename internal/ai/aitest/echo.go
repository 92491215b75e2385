package aitest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"

	"github.com/parleyhq/parley/internal/waform"
)

// FlowEcho is a Fallback that answers the chat-flow generator the way a
// small, obedient model would, deterministically: it reads the description
// (or outline) in the prompt and echoes a flow that follows it — a
// message per step, buttons where the description lists choices, a
// wait_for_response after each open question, an end — with test
// conversations. For about a third of the descriptions (chosen by a hash)
// its first answer has a dangling edge, which it fixes when the repair
// prompt comes, so the repair loop is exercised too. It makes
// `go run ./bench/ai -fake` and the sandbox meaningful without a model.
func FlowEcho(req Request) Reply {
	var first, last string
	for _, m := range req.Messages {
		if m.Role == "user" {
			if first == "" {
				first = m.Content
			}
			last = m.Content
		}
	}
	repair := strings.HasPrefix(last, "Your flow has these errors")
	steps := stepsOf(first)
	h := fnv.New32a()
	_, _ = h.Write([]byte(first))
	flawed := !repair && h.Sum32()%3 == 0
	return Reply{Content: echoFlow(steps, flawed)}
}

type echoStep struct {
	text     string
	buttons  []string
	question bool
}

var (
	parenList  = regexp.MustCompile(`\(([^()]*)\)`)
	bracket    = regexp.MustCompile(`\[([^\]]*)\]`)
	clauseStop = regexp.MustCompile(`(?i)[;.:]\s+|,\s+(?:then\s+)?|\s+then\s+|\s+and\s+(?:then\s+)?`)
	choiceWord = regexp.MustCompile(`(?i)^(?:offer|choose|pick|rate)\b|\b(yes|no|sí)\b`)
	choice     = `[A-Z][\w'ñ]*(?: [a-z][\w']*){0,2}`
	orList     = regexp.MustCompile(choice + `(?:, ` + choice + `)*,? (?:or|and) ` + choice)
	colonList  = regexp.MustCompile(`: ` + choice + `(?:, ` + choice + `)+`)
	nounPhrase = regexp.MustCompile(`(?i)^(?:the|a|an|their|your|his|her|its|for)\b`)
	listMark   = regexp.MustCompile(` ?⟨(\d+)⟩`)
	askWord    = regexp.MustCompile(`(?i)^(?:ask|pregunta|collect|let|request|which|what|how|when)\b|\?$`)
)

// stepsOf reads the steps out of the generator's user prompt.
func stepsOf(prompt string) []echoStep {
	if i := strings.Index(prompt, "(YAML steps):\n"); i >= 0 {
		return outlineSteps(prompt[i+len("(YAML steps):\n"):])
	}
	desc := prompt
	if i := strings.Index(desc, "Build this flow: "); i >= 0 {
		desc = desc[i+len("Build this flow: "):]
	}
	if i := strings.Index(desc, "\n"); i >= 0 {
		desc = desc[:i]
	}
	// Choices in parentheses, or "A, B or C" after a colon, become buttons
	// of the clause they are in; protect them from the clause split.
	var lists [][]string
	desc = parenList.ReplaceAllStringFunc(desc, func(m string) string {
		lists = append(lists, splitChoices(m[1:len(m)-1]))
		return fmt.Sprintf(" ⟨%d⟩", len(lists)-1)
	})
	// Capitalised choices: "Buy or Rent", "Good, OK or Bad", "a menu:
	// Products, Support, Talk to us".
	for _, re := range []*regexp.Regexp{orList, colonList} {
		desc = re.ReplaceAllStringFunc(desc, func(m string) string {
			lead := ""
			if strings.HasPrefix(m, ":") {
				lead, m = ":", strings.TrimSpace(m[1:])
			}
			lists = append(lists, splitChoices(strings.ReplaceAll(m, " and ", " or ")))
			return fmt.Sprintf("%s ⟨%d⟩", lead, len(lists)-1)
		})
	}
	if i := strings.Index(desc, ": "); i > 0 && i < 40 && !strings.HasPrefix(desc[i+2:], "⟨") {
		desc = desc[i+2:] // "Order status: ask…" — the title is not a step
	}
	var steps []echoStep
	for _, c := range clauseStop.Split(desc, -1) {
		c = strings.TrimSpace(c)
		if len(strings.Fields(c)) < 2 && !strings.Contains(c, "⟨") {
			continue
		}
		st := echoStep{text: c}
		if m := listMark.FindStringSubmatch(c); m != nil {
			var n int
			fmt.Sscanf(m[1], "%d", &n)
			st.buttons = lists[n]
			st.text = strings.TrimSpace(strings.Replace(c, m[0], "", 1))
		} else if choiceWord.MatchString(c) && strings.Contains(strings.ToLower(c), "yes") {
			st.buttons = []string{"Yes", "No"}
		}
		st.question = len(st.buttons) == 0 && askWord.MatchString(c)
		if len(st.buttons) == 0 && !st.question && nounPhrase.MatchString(c) && len(steps) > 0 && (steps[len(steps)-1].question || len(steps[len(steps)-1].buttons) > 0) {
			// "ask for the name, the company…": each is a question.
			st.question, st.text = true, "And "+st.text+"?"
		}
		if st.text == "" {
			st.text = "Please choose"
		}
		steps = append(steps, st)
		if len(steps) == 6 {
			break
		}
	}
	if len(steps) == 0 {
		steps = []echoStep{{text: strings.TrimSpace(desc)}}
	}
	return steps
}

func splitChoices(s string) []string {
	var out []string
	for _, p := range regexp.MustCompile(`\s*(?:,|/|\bor\b)\s*`).Split(s, -1) {
		p = strings.TrimSpace(p)
		if p == "" || len(out) == 3 {
			continue
		}
		if len(p) > 20 {
			p = p[:20]
		}
		out = append(out, p)
	}
	return out
}

func outlineSteps(outline string) []echoStep {
	var steps []echoStep
	for _, line := range strings.Split(outline, "\n") {
		l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "- "))
		switch {
		case strings.HasPrefix(l, "ask:"):
			steps = append(steps, echoStep{text: strings.TrimSpace(l[4:]), question: true})
		case strings.HasPrefix(l, "say:"):
			steps = append(steps, echoStep{text: strings.TrimSpace(l[4:])})
		case strings.HasPrefix(l, "buttons:") && len(steps) > 0:
			if m := bracket.FindStringSubmatch(l); m != nil {
				steps[len(steps)-1].buttons = splitChoices(m[1])
				steps[len(steps)-1].question = false
			}
		}
	}
	if len(steps) == 0 {
		steps = []echoStep{{text: "Hello!"}}
	}
	return steps
}

// echoFlow builds the answer; flawed points one edge at a missing node.
func echoFlow(steps []echoStep, flawed bool) string {
	type node struct {
		ID   string         `json:"id"`
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	type edge struct {
		ID     string `json:"id"`
		Source string `json:"source"`
		Handle string `json:"source_handle"`
		Target string `json:"target"`
	}
	type test struct {
		Name     string   `json:"name"`
		Messages []string `json:"messages"`
		Expect   string   `json:"expect"`
	}
	nodes := []node{{ID: "start", Type: "start", Data: map[string]any{"trigger": map[string]any{"type": "keyword", "keywords": []string{"start"}, "match": "exact"}}}}
	var edges []edge
	connect := func(src, handle, dst string) {
		edges = append(edges, edge{ID: fmt.Sprintf("e%d", len(edges)+1), Source: src, Handle: handle, Target: dst})
	}
	prev, prevHandles := "start", []string{"next"}
	replies := []string{"start"}
	for i, st := range steps {
		id := fmt.Sprintf("step%d", i+1)
		data := map[string]any{"text": st.text}
		if len(st.buttons) > 0 {
			data["buttons"], data["timeout_seconds"] = st.buttons, 3600
		}
		nodes = append(nodes, node{ID: id, Type: "message", Data: data})
		for _, h := range prevHandles {
			connect(prev, h, id)
		}
		prev, prevHandles = id, []string{"next"}
		switch {
		case len(st.buttons) > 0:
			prevHandles = append(append([]string{}, st.buttons...), "other")
			connect(id, "timeout", "end")
			replies = append(replies, st.buttons[0])
		case st.question:
			wait := fmt.Sprintf("answer%d", i+1)
			nodes = append(nodes, node{ID: wait, Type: "wait_for_response", Data: map[string]any{"variable": wait, "timeout_seconds": 3600}})
			connect(id, "next", wait)
			connect(wait, "timeout", "end")
			prev, prevHandles = wait, []string{"reply", "invalid"}
			replies = append(replies, "my answer")
		}
	}
	nodes = append(nodes, node{ID: "end", Type: "end", Data: map[string]any{"text": "Thank you!"}})
	for _, h := range prevHandles {
		connect(prev, h, "end")
	}
	if flawed {
		edges[len(edges)-1].Target = "finish" // a node that does not exist
	}
	tests := []test{{Name: "the whole conversation", Messages: replies, Expect: "completed"}}
	if len(replies) > 1 {
		tests = append(tests, test{Name: "no answer yet", Messages: replies[:1], Expect: "waiting"})
	}
	b, _ := json.Marshal(map[string]any{"name": strings.TrimSuffix(firstWords(steps[0].text, 5), ","), "nodes": nodes, "edges": edges, "tests": tests})
	return string(b)
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}

// Echo answers every Parley AI request the way FlowEcho answers the
// chat-flow generator: a proposal for the editor (a message carrying the
// instruction, inserted before the end), a built-in form for the WhatsApp
// Flow generator (picked by the description's words) and the current form
// with a new first title for its update. Anything else gets "OK".
func Echo(req Request) Reply {
	system, first := "", ""
	for _, m := range req.Messages {
		switch {
		case m.Role == "system" && system == "":
			system = m.Content
		case m.Role == "user" && first == "":
			first = m.Content
		}
	}
	switch {
	case strings.HasPrefix(system, "You design chat flows"):
		return FlowEcho(req)
	case strings.HasPrefix(system, "You change chat flows"):
		return Reply{Content: editEcho(first)}
	case strings.HasPrefix(system, "You write WhatsApp Flows"):
		return Reply{Content: formEcho(first)}
	}
	return Reply{Content: "OK"}
}

// editEcho inserts a message node saying the instruction on the first
// edge that enters an end node.
func editEcho(prompt string) string {
	instruction := "Changed as asked."
	if i := strings.LastIndex(prompt, "Instruction: "); i >= 0 {
		instruction = strings.TrimSpace(prompt[i+len("Instruction: "):])
	}
	var g struct {
		Nodes []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"nodes"`
		Edges []struct {
			ID           string `json:"id"`
			Source       string `json:"source"`
			SourceHandle string `json:"sourceHandle"`
			Target       string `json:"target"`
		} `json:"edges"`
	}
	if i := strings.Index(prompt, "{"); i >= 0 {
		dec := json.NewDecoder(strings.NewReader(prompt[i:]))
		_ = dec.Decode(&g)
	}
	ends := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Type == "end" {
			ends[n.ID] = true
		}
	}
	ops := []map[string]any{}
	for _, e := range g.Edges {
		if !ends[e.Target] {
			continue
		}
		ops = append(ops,
			map[string]any{"op": "add_node", "node": map[string]any{"id": "ai_step", "type": "message", "data": map[string]any{"text": instruction}}},
			map[string]any{"op": "remove_edge", "id": e.ID},
			map[string]any{"op": "add_edge", "edge": map[string]any{"id": "ai_e1", "source": e.Source, "source_handle": e.SourceHandle, "target": "ai_step"}},
			map[string]any{"op": "add_edge", "edge": map[string]any{"id": "ai_e2", "source": "ai_step", "source_handle": "next", "target": e.Target}})
		break
	}
	summary := "adds a message before the end: " + instruction
	if len(ops) == 0 {
		summary = "the flow has no end to add a step before"
	}
	b, _ := json.Marshal(map[string]any{"summary": summary, "operations": ops})
	return string(b)
}

// formEcho answers with a built-in form: for an update, the current one
// with its first screen's title set from the instruction.
func formEcho(prompt string) string {
	if i := strings.Index(prompt, "\nChange it: "); i >= 0 {
		instruction := strings.TrimSpace(prompt[i+len("\nChange it: "):])
		if j := strings.Index(instruction, "\n"); j >= 0 {
			instruction = instruction[:j]
		}
		start := strings.Index(prompt, "{")
		var doc map[string]any
		if start >= 0 && start < i && json.Unmarshal([]byte(prompt[start:i]), &doc) == nil {
			if screens, ok := doc["screens"].([]any); ok && len(screens) > 0 {
				if s, ok := screens[0].(map[string]any); ok {
					s["title"] = firstChars(instruction, 30)
				}
			}
			b, _ := json.Marshal(map[string]any{"name": "unchanged", "categories": []string{"OTHER"}, "flow": doc})
			return string(b)
		}
	}
	desc := strings.ToLower(prompt)
	id, cat := "lead_capture", "LEAD_GENERATION"
	switch {
	case strings.Contains(desc, "book") || strings.Contains(desc, "appointment"):
		id, cat = "appointment_booking", "APPOINTMENT_BOOKING"
	case strings.Contains(desc, "survey") || strings.Contains(desc, "feedback") || strings.Contains(desc, "rate"):
		id, cat = "survey", "SURVEY"
	case strings.Contains(desc, "order"):
		id, cat = "order_form", "OTHER"
	case strings.Contains(desc, "sign up") || strings.Contains(desc, "sign-up") || strings.Contains(desc, "register"):
		id, cat = "sign_up", "SIGN_UP"
	}
	t, _ := waform.TemplateByID(id)
	b, _ := json.Marshal(map[string]any{"name": t.Name, "categories": []string{cat}, "flow": json.RawMessage(t.JSON)})
	return string(b)
}

func firstChars(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return strings.TrimSpace(string(r))
}
