package waform

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Flow is a parsed Flow JSON document: what the rest of Parley needs to send
// a form and read its answers, without re-walking the JSON.
type Flow struct {
	Version        string
	DataAPIVersion string              // "" for endpoint-less flows
	RoutingModel   map[string][]string // nil when the document has none
	Screens        []Screen
}

// Screen is one screen of a Flow.
type Screen struct {
	ID            string
	Title         string
	Terminal      bool
	Success       bool // meaningful on terminal screens; defaults to true there
	RefreshOnBack bool
	Sensitive     []string
	Data          []DataField // the screen's data model, in document order
	Children      []Component // layout children
}

// DataField is one top-level field of a screen's data model.
type DataField struct {
	Name    string
	Type    string          // string, number, boolean, object, array
	Example json.RawMessage // the __example__ value, as written
	Schema  json.RawMessage // the whole declaration (items, properties, …)
}

// Component is one layout component. Props holds every property as written
// (including "type"); Children the nested components of Form, If/then,
// If/else and Switch cases, flattened in document order.
type Component struct {
	Type     string
	Name     string
	Props    map[string]json.RawMessage
	Children []Component
}

// Action is an on-click / on-select action found in a screen.
type Action struct {
	Name    string          // navigate, complete, data_exchange, update_data, open_url
	Next    string          // target screen of navigate
	Payload json.RawMessage // the payload object as written, or nil
}

// Parse reads a Flow JSON document into a Flow. It checks only what it needs
// to build the model (valid JSON, screens with ids); Validate applies Meta's
// rules.
func Parse(raw []byte) (*Flow, error) {
	root, err := parseTree(raw)
	if err != nil {
		return nil, fmt.Errorf("reading the Flow JSON: %w", err)
	}
	if root.k != kObj {
		return nil, fmt.Errorf("reading the Flow JSON: the document must be an object, not %s", root.k)
	}
	f := &Flow{Version: root.str("version"), DataAPIVersion: root.str("data_api_version")}
	if rm := root.get("routing_model"); rm != nil && rm.k == kObj {
		f.RoutingModel = make(map[string][]string, len(rm.keys))
		for i, k := range rm.keys {
			var next []string
			if rm.vals[i].k == kArr {
				for _, t := range rm.vals[i].vals {
					if t.k == kStr {
						next = append(next, t.s)
					}
				}
			}
			f.RoutingModel[k] = next
		}
	}
	screens := root.get("screens")
	if screens == nil || screens.k != kArr {
		return nil, fmt.Errorf("reading the Flow JSON: /screens must be an array of screens")
	}
	for i, s := range screens.vals {
		if s.k != kObj || s.str("id") == "" {
			return nil, fmt.Errorf("reading the Flow JSON: /screens/%d has no id", i)
		}
		sc := Screen{ID: s.str("id"), Title: s.str("title"), Terminal: s.isTrue("terminal"), RefreshOnBack: s.isTrue("refresh_on_back")}
		sc.Success = sc.Terminal
		if v := s.get("success"); v != nil && v.k == kBool {
			sc.Success = v.b
		}
		if v := s.get("sensitive"); v != nil && v.k == kArr {
			for _, x := range v.vals {
				if x.k == kStr {
					sc.Sensitive = append(sc.Sensitive, x.s)
				}
			}
		}
		if d := s.get("data"); d != nil && d.k == kObj {
			for j, name := range d.keys {
				decl := d.vals[j]
				df := DataField{Name: name, Type: decl.str("type"), Schema: json.RawMessage(decl.raw(raw))}
				if ex := decl.get("__example__"); ex != nil {
					df.Example = json.RawMessage(ex.raw(raw))
				}
				sc.Data = append(sc.Data, df)
			}
		}
		if l := s.get("layout"); l != nil {
			sc.Children = components(raw, l.get("children"))
		}
		f.Screens = append(f.Screens, sc)
	}
	return f, nil
}

func components(src []byte, arr *node) []Component {
	if arr == nil || arr.k != kArr {
		return nil
	}
	out := make([]Component, 0, len(arr.vals))
	for _, c := range arr.vals {
		if c.k != kObj {
			continue
		}
		comp := Component{Type: c.str("type"), Name: c.str("name"), Props: make(map[string]json.RawMessage, len(c.keys))}
		for i, k := range c.keys {
			comp.Props[k] = json.RawMessage(c.vals[i].raw(src))
		}
		for _, nested := range childLists(c) {
			comp.Children = append(comp.Children, components(src, nested)...)
		}
		out = append(out, comp)
	}
	return out
}

// childLists returns the arrays of nested components of a component node:
// Form children, If then/else, and every Switch case (in key order).
func childLists(c *node) []*node {
	var out []*node
	switch c.str("type") {
	case "Form":
		out = append(out, c.get("children"))
	case "If":
		out = append(out, c.get("then"), c.get("else"))
	case "Switch":
		if cases := c.get("cases"); cases != nil && cases.k == kObj {
			out = append(out, cases.vals...)
		}
	}
	return out
}

// Screen returns the screen with the given id, or nil.
func (f *Flow) Screen(id string) *Screen {
	for i := range f.Screens {
		if f.Screens[i].ID == id {
			return &f.Screens[i]
		}
	}
	return nil
}

// HasEndpoint reports whether the flow talks to a data-exchange endpoint.
func (f *Flow) HasEndpoint() bool { return f.DataAPIVersion != "" }

// FirstScreen returns the entry screen: the screen no route or navigate
// action leads to (Meta's FIRST_ENTRY_SCREEN), falling back to the first
// screen of the document.
func (f *Flow) FirstScreen() *Screen {
	if len(f.Screens) == 0 {
		return nil
	}
	inbound := map[string]bool{}
	for _, next := range f.RoutingModel {
		for _, n := range next {
			inbound[n] = true
		}
	}
	for _, s := range f.Screens {
		for _, a := range s.Actions() {
			if a.Name == "navigate" && a.Next != s.ID {
				inbound[a.Next] = true
			}
		}
	}
	for i := range f.Screens {
		if !inbound[f.Screens[i].ID] {
			return &f.Screens[i]
		}
	}
	return &f.Screens[0]
}

// Actions returns every action on the screen (Footer, EmbeddedLink, OptIn,
// NavigationList, on-select/on-unselect, data-source items), in document order.
func (s *Screen) Actions() []Action {
	var out []Action
	var walk func([]Component)
	walk = func(cs []Component) {
		for _, c := range cs {
			for _, key := range []string{"on-click-action", "on-select-action", "on-unselect-action"} {
				if raw, ok := c.Props[key]; ok {
					if a, ok := decodeAction(raw); ok {
						out = append(out, a)
					}
				}
			}
			for _, key := range []string{"data-source", "list-items"} {
				var items []map[string]json.RawMessage
				if json.Unmarshal(c.Props[key], &items) != nil {
					continue
				}
				for _, it := range items {
					for _, k := range []string{"on-click-action", "on-select-action", "on-unselect-action"} {
						if raw, ok := it[k]; ok {
							if a, ok := decodeAction(raw); ok {
								out = append(out, a)
							}
						}
					}
				}
			}
			walk(c.Children)
		}
	}
	walk(s.Children)
	return out
}

func decodeAction(raw json.RawMessage) (Action, bool) {
	var a struct {
		Name string `json:"name"`
		Next struct {
			Name string `json:"name"`
		} `json:"next"`
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(raw, &a) != nil || a.Name == "" {
		return Action{}, false
	}
	return Action{Name: a.Name, Next: a.Next.Name, Payload: a.Payload}, true
}

// Fields returns the input names of the screen (form fields), in document order.
func (s *Screen) Fields() []string {
	var out []string
	var walk func([]Component)
	walk = func(cs []Component) {
		for _, c := range cs {
			if c.Name != "" && inputTypes[c.Type] {
				out = append(out, c.Name)
			}
			walk(c.Children)
		}
	}
	walk(s.Children)
	return out
}

// CompleteFields returns the sorted, de-duplicated payload keys of every
// complete action on terminal screens: the fields an nfm_reply's
// response_json carries (besides flow_token). Endpoint flows finish through
// the endpoint's SUCCESS response instead, whose params are not in the
// document.
func (f *Flow) CompleteFields() []string {
	seen := map[string]bool{}
	for i := range f.Screens {
		for _, a := range f.Screens[i].Actions() {
			if a.Name != "complete" {
				continue
			}
			var payload map[string]json.RawMessage
			if json.Unmarshal(a.Payload, &payload) == nil {
				for k := range payload {
					seen[k] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
