package sandboxllm

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/parleyhq/parley/internal/flow"
)

// aNode and aEdge are a node and an edge as the generator's answer writes
// them (source_handle rather than React Flow's sourceHandle).
type aNode struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

type aEdge struct {
	ID           string `json:"id"`
	Source       string `json:"source"`
	SourceHandle string `json:"source_handle"`
	Target       string `json:"target"`
}

type aTest struct {
	Name     string   `json:"name"`
	Messages []string `json:"messages"`
	Expect   string   `json:"expect"`
}

// flowDoc is a generator answer.
type flowDoc struct {
	Name  string  `json:"name"`
	Nodes []aNode `json:"nodes"`
	Edges []aEdge `json:"edges"`
	Tests []aTest `json:"tests"`
}

// flowTemplate is a built-in chat-flow template the fake can answer with:
// the words of a description that pick it, and test conversations that
// hold for it.
type flowTemplate struct {
	id    string
	words []string
	tests []aTest
}

// flowTemplates are tried in order; the one matching most words wins, the
// first on a tie. campaign_survey is left out: it sends a WhatsApp template,
// which a draft cannot reference.
var flowTemplates = []flowTemplate{
	{id: "appointment_booking", words: []string{"book", "booking", "appointment", "reserve", "reservation", "schedule", "slot", "salon", "haircut", "visit", "meeting"},
		tests: []aTest{
			{Name: "books a haircut in the morning", Messages: []string{"book", "Book now", "Haircut", "2030-06-30", "Morning", "Confirm"}, Expect: "completed"},
			{Name: "says no thanks", Messages: []string{"book", "No thanks"}, Expect: "completed"},
			{Name: "waits for a choice", Messages: []string{"book"}, Expect: "waiting"},
		}},
	{id: "csat_survey", words: []string{"survey", "feedback", "satisfaction", "csat", "rate", "rating", "nps", "review", "score"},
		tests: []aTest{
			{Name: "rates 5 and leaves a review", Messages: []string{"hi", "5", "Yes"}, Expect: "completed"},
			{Name: "rates 2 and explains", Messages: []string{"hi", "2", "The wait was too long"}, Expect: "completed"},
			{Name: "waits for a rating", Messages: []string{"hi"}, Expect: "waiting"},
		}},
	{id: "lead_capture", words: []string{"lead", "leads", "sales", "prospect", "demo", "pricing", "signup", "sign", "newsletter", "opt-in", "optin", "email", "e-mail", "capture"},
		tests: []aTest{
			{Name: "a large team goes to sales", Messages: []string{"pricing", "ann", "ann@example.com", "51+"}, Expect: "completed"},
			{Name: "a small team gets the guide", Messages: []string{"demo", "bob", "bob@example.com", "1-10"}, Expect: "completed"},
			{Name: "waits for the name", Messages: []string{"info"}, Expect: "waiting"},
		}},
	{id: "order_form", words: []string{"order", "orders", "buy", "purchase", "shop", "pizza", "food", "delivery", "checkout", "cart"},
		tests: []aTest{
			{Name: "orders two pizzas", Messages: []string{"order", "Pizza", "2", "1 Main Street", "Place order"}, Expect: "completed"},
			{Name: "cancels the order", Messages: []string{"order", "Salad", "1", "2 High Street", "Cancel"}, Expect: "completed"},
			{Name: "waits for a dish", Messages: []string{"order"}, Expect: "waiting"},
		}},
	{id: "faq_menu", words: []string{"support", "faq", "help", "question", "questions", "menu", "triage", "ticket", "agent", "human", "hours", "info"},
		tests: []aTest{
			{Name: "waits on the menu", Messages: []string{"hello"}, Expect: "waiting"},
		}},
}

var wordRE = regexp.MustCompile(`[\p{L}\p{N}+-]+`)

// pickTemplate is the template whose words best match the text.
func pickTemplate(text string) (flowTemplate, bool) {
	words := map[string]bool{}
	for _, w := range wordRE.FindAllString(strings.ToLower(text), -1) {
		words[w] = true
		words[strings.TrimSuffix(w, "s")] = true
	}
	best, score := flowTemplates[len(flowTemplates)-1], 0
	for _, t := range flowTemplates {
		n := 0
		for _, w := range t.words {
			if words[w] {
				n++
			}
		}
		if n > score {
			best, score = t, n
		}
	}
	return best, score > 0
}

// FailToken in a description makes the fake answer a flow that never
// lints (an invented node type, in every repair too), to try how a failed
// generation looks.
const FailToken = "#fail"

// request parts the generator's user prompt carries.
var (
	descRE    = regexp.MustCompile(`(?m)^Build this flow: (.*)$`)
	outlineRE = regexp.MustCompile(`(?s)Build the flow from this outline \(YAML steps\):\n(.*?)(?:\nBuild this flow: |\nIt runs on these channels|\nWrite the messages in|\nThe start node's data\.trigger|$)`)
)

// flowAnswer drafts a chat flow: from the outline when there is one, else
// from the built-in template the description's words match. A repair
// request gets the same answer again (it lints already).
func flowAnswer(c Conversation) string {
	first := ""
	if len(c.Users) > 0 {
		first = c.Users[0]
	}
	var doc flowDoc
	if m := outlineRE.FindStringSubmatch(first); m != nil && strings.TrimSpace(m[1]) != "" {
		doc = outlineFlow(m[1])
	} else {
		desc := first
		if m := descRE.FindStringSubmatch(first); m != nil {
			desc = m[1]
		}
		doc = templateFlow(desc)
	}
	if strings.Contains(first, FailToken) {
		// A node type that does not exist, in every answer: repair never
		// succeeds, so the UI shows its best draft with the problems.
		doc.Nodes = append(doc.Nodes, aNode{ID: "fax", Type: "send_fax", Data: json.RawMessage(`{"number":"+15550000000"}`)})
		doc.Edges = append(doc.Edges, aEdge{ID: "e_fax", Source: "fax", SourceHandle: "next", Target: doc.Nodes[0].ID})
		doc.Name += " — broken on purpose (" + FailToken + ")"
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// templateFlow is the matching built-in template as an answer.
func templateFlow(desc string) flowDoc {
	t, matched := pickTemplate(desc)
	bt, ok := flow.Template(t.id)
	if !ok {
		return flowDoc{Name: "Sandbox LLM: no template", Nodes: []aNode{}, Edges: []aEdge{}, Tests: []aTest{}}
	}
	name := bt.Name + " (drafted by the sandbox fake LLM)"
	if !matched {
		name = bt.Name + " (sandbox fake LLM: no word of the description matched a template)"
	}
	doc := fromGraph(bt.Graph)
	doc.Name, doc.Tests = name, t.tests
	return doc
}

// fromGraph writes a graph the way the generator's answer does.
func fromGraph(g flow.Graph) flowDoc {
	doc := flowDoc{Nodes: []aNode{}, Edges: []aEdge{}, Tests: []aTest{}}
	for _, n := range g.Nodes {
		data := n.Data
		if len(data) == 0 {
			data = json.RawMessage(`{}`)
		}
		doc.Nodes = append(doc.Nodes, aNode{ID: n.ID, Type: n.Type, Data: data})
	}
	for _, e := range g.Edges {
		h := e.SourceHandle
		if h == "" {
			h = e.Trigger().TriggerValue
		}
		doc.Edges = append(doc.Edges, aEdge{ID: e.ID, Source: e.Source, SourceHandle: h, Target: e.Target})
	}
	return doc
}

// outlineStep is one step of an outline: something said, or a question
// whose answer is saved.
type outlineStep struct {
	text     string
	question bool
}

var stepKeyRE = regexp.MustCompile(`^([A-Za-z_]+):\s*(.*)$`)

// parseOutline reads YAML steps loosely: each "- …" item is a step; "ask:"
// or "question:" (or text ending with "?") make a question, "say:",
// "message:" or "send:" a message.
func parseOutline(outline string) []outlineStep {
	var out []outlineStep
	for _, line := range strings.Split(outline, "\n") {
		l := strings.TrimSpace(line)
		if !strings.HasPrefix(l, "- ") {
			continue
		}
		l = strings.TrimSpace(strings.TrimPrefix(l, "- "))
		st := outlineStep{text: l}
		if m := stepKeyRE.FindStringSubmatch(l); m != nil {
			key := strings.ToLower(m[1])
			st.text = m[2]
			st.question = key == "ask" || key == "question"
		}
		st.text = strings.Trim(st.text, `"' `)
		if st.text == "" {
			continue
		}
		st.question = st.question || strings.HasSuffix(st.text, "?")
		out = append(out, st)
	}
	return out
}

// validationFor guesses a question's validation and variable from its words.
func validationFor(text string, n int) (string, string) {
	l := strings.ToLower(text)
	switch {
	case strings.Contains(l, "email") || strings.Contains(l, "e-mail"):
		return "email", "email"
	case strings.Contains(l, "date") || strings.Contains(l, "when"):
		return "date", "date"
	case strings.Contains(l, "how many") || strings.Contains(l, "number of") || strings.Contains(l, "quantity"):
		return "number", "quantity"
	case strings.Contains(l, "name"):
		return "text", "name"
	}
	return "text", fmt.Sprintf("answer_%d", n)
}

// sampleReply is what a test contact answers to a validation.
func sampleReply(validation string) string {
	switch validation {
	case "email":
		return "ann@example.com"
	case "date":
		return "2030-06-30"
	case "number":
		return "2"
	}
	return "Ann"
}

// chain builds nodes and edges for steps, appended after the node "after"
// (leaving by its exit "handle") and ending at "target"; it returns the
// replies a test contact gives to its questions.
type chain struct {
	doc     *flowDoc
	n       int
	timeout string
}

func (c *chain) node(typ, prefix string, data any) string {
	c.n++
	id := fmt.Sprintf("%s_%d", prefix, c.n)
	b, _ := json.Marshal(data)
	c.doc.Nodes = append(c.doc.Nodes, aNode{ID: id, Type: typ, Data: b})
	return id
}

func (c *chain) edge(src, handle, dst string) {
	c.n++
	c.doc.Edges = append(c.doc.Edges, aEdge{ID: fmt.Sprintf("e_ai_%d", c.n), Source: src, SourceHandle: handle, Target: dst})
}

// steps adds the steps after (from, handle) and returns the last node and
// its exit to continue from, and the test replies the questions need.
func (c *chain) steps(from, handle string, steps []outlineStep) (string, string, []string) {
	var replies []string
	for i, st := range steps {
		msg := c.node("message", "ai_message", map[string]any{"text": st.text})
		c.edge(from, handle, msg)
		from, handle = msg, ""
		if !st.question {
			continue
		}
		val, variable := validationFor(st.text, i+1)
		wd := map[string]any{"variable": variable, "validation": map[string]any{"type": val}, "timeout_seconds": 3600}
		if val != "text" {
			wd["retry_message"] = "Sorry, that does not look right. Please try again."
			wd["max_retries"] = 2
		}
		wait := c.node("wait_for_response", "ai_wait", wd)
		c.edge(from, "", wait)
		if c.timeout == "" {
			c.timeout = c.node("end", "ai_end_timeout", map[string]any{"text": "No answer: send a message whenever you are ready."})
		}
		c.edge(wait, "timeout", c.timeout)
		if val != "text" {
			c.edge(wait, "invalid", c.timeout)
		}
		from, handle = wait, "reply"
		replies = append(replies, sampleReply(val))
	}
	return from, handle, replies
}

// outlineFlow builds a linear flow from an outline: a message per step, a
// wait for the answer after each question, an end.
func outlineFlow(outline string) flowDoc {
	doc := flowDoc{Name: "Flow from an outline (drafted by the sandbox fake LLM)", Nodes: []aNode{}, Edges: []aEdge{}}
	c := &chain{doc: &doc}
	start := "start"
	doc.Nodes = append(doc.Nodes, aNode{ID: start, Type: "start", Data: json.RawMessage(`{"trigger":{"type":"inbound"}}`)})
	steps := parseOutline(outline)
	if len(steps) == 0 {
		steps = []outlineStep{{text: strings.TrimSpace(firstLine(outline))}}
	}
	last, handle, replies := c.steps(start, "", steps)
	end := c.node("end", "ai_end", map[string]any{"text": "Thank you!"})
	c.edge(last, handle, end)
	doc.Tests = []aTest{{Name: "answers every question", Messages: append([]string{"hi"}, replies...), Expect: "completed"}}
	if len(replies) > 0 {
		doc.Tests = append(doc.Tests, aTest{Name: "waits for the first answer", Messages: []string{"hi"}, Expect: "waiting"})
	}
	return doc
}
