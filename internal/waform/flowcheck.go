package waform

import (
	"net/url"
	"regexp"
	"strings"
)

var screenIDPattern = regexp.MustCompile(`^[A-Za-z_]+$`)

// screenInfo is what the checks learn about one screen.
type screenInfo struct {
	id       string
	idx      int
	n        *node
	p        ptr
	terminal bool
	data     *node             // the data model object, or nil
	fields   map[string]string // form field name → component type
	pickers  map[string]*node  // picker name → component node
	forms    map[string]bool   // Form names
	navs     []navEdge         // navigate actions
	hasForm  bool
}

type navEdge struct {
	to      string
	p       ptr
	n       *node
	payload *node
	ppay    ptr
}

// flow checks everything below the version.
func (v *validator) flow() {
	root := v.root
	v.topLevelKeys()
	endpoint := root.get("data_api_version") != nil
	if d := root.get("data_api_version"); d != nil {
		switch {
		case d.k != kStr:
			v.add(CodeInvalidPropertyType, "/data_api_version", d, "Expected property 'data_api_version' to be of type string, but found %s", d.k)
		case d.s != "3.0" && d.s != "4.0":
			v.add(CodeNoSupportedDataAPIVersion, "/data_api_version", d, "Data API version %q is not supported (use \"3.0\" or \"4.0\")", d.s)
		case d.s == "4.0" && v.ver < v73:
			v.add(CodeNoSupportedDataAPIVersion, "/data_api_version", d, "Data API version 4.0 needs Flow JSON version 7.3 or later")
		}
		if root.get("routing_model") == nil {
			v.add(CodeMissingRequiredProperty, "/routing_model", root, "'routing_model' is required for property 'data_api_version'")
		}
	}
	if d := root.get("data_channel_uri"); d != nil && v.ver < fv(3, 0) && d.k == kStr {
		if u, err := url.Parse(d.s); err != nil || u.Scheme != "https" || u.Host == "" {
			v.add(CodeInvalidPropertyValueFormat, "/data_channel_uri", d, "'data_channel_uri' must be an https URL")
		}
	}

	screens := root.get("screens")
	if screens == nil {
		v.add(CodeMissingRequiredProperty, "/screens", root, "The property 'screens' is required")
		return
	}
	if screens.k != kArr {
		v.add(CodeInvalidPropertyType, "/screens", screens, "Expected property 'screens' to be of type array, but found %s", screens.k)
		return
	}
	if len(screens.vals) == 0 {
		v.add(CodeMinItemsRequired, "/screens", screens, "A flow needs at least one screen")
		return
	}
	if len(screens.vals) > MaxScreens {
		v.add(CodeMaxScreensNumber, "/screens", screens, "A flow may have at most %d screens, found %d", MaxScreens, len(screens.vals))
	}

	// First pass: ids, data models, form fields (needed to resolve
	// references to other screens in the second pass).
	var infos []*screenInfo
	byID := map[string]*screenInfo{}
	for i, s := range screens.vals {
		p := ptr("/screens").idx(i)
		if s.k != kObj {
			v.add(CodeInvalidPropertyType, p, s, "Expected a screen object, but found %s", s.k)
			continue
		}
		si := &screenInfo{idx: i, n: s, p: p, terminal: s.isTrue("terminal"),
			fields: map[string]string{}, pickers: map[string]*node{}, forms: map[string]bool{}}
		id := s.get("id")
		switch {
		case id == nil:
			v.add(CodeMissingRequiredProperty, p.key("id"), s, "The property 'id' is required on a screen")
		case id.k != kStr:
			v.add(CodeInvalidPropertyType, p.key("id"), id, "Expected property 'id' to be of type string, but found %s", id.k)
		case id.s == "SUCCESS":
			v.add(CodeScreenIDIsReservedKeyword, p.key("id"), id, "'SUCCESS' is a reserved keyword and cannot be used as a screen id")
		case !screenIDPattern.MatchString(id.s):
			v.add(CodePatternMismatch, p.key("id"), id, "Screen id %q may contain only alphabets and underscores", id.s)
		case byID[id.s] != nil:
			v.add(CodeDuplicateScreenIDs, p.key("id"), id, "Duplicate screen id %q (also /screens/%d)", id.s, byID[id.s].idx)
		}
		if id != nil && id.k == kStr {
			si.id = id.s
			if byID[id.s] == nil {
				byID[id.s] = si
			}
		}
		si.data = s.get("data")
		if l := s.get("layout"); l != nil {
			v.collectFields(si, l.get("children"), false)
		}
		infos = append(infos, si)
	}

	// Second pass: every screen's properties, data model and components.
	carousels := 0
	for _, si := range infos {
		carousels += v.screen(si, byID, endpoint)
	}
	if carousels > 3 {
		v.add(CodeMaxImageCarouselPerScreen, "/screens", screens, "A flow may have at most 3 ImageCarousel components, found %d", carousels)
	}

	// Terminal screens.
	terminals, success := 0, false
	for _, si := range infos {
		if !si.terminal {
			continue
		}
		terminals++
		sv := si.n.get("success")
		if sv == nil || (sv.k == kBool && sv.b) {
			success = true
		}
	}
	switch {
	case terminals == 0:
		v.add(CodeMissingTerminalScreen, "/screens", screens, "A flow must have at least one terminal screen (\"terminal\": true)")
	case !success:
		v.add(CodeInvalidPropertyValue, "/screens", screens, "At least one terminal screen must have property 'success' set as true")
	}

	v.routing(infos, byID, endpoint)
}

const v73 = 73

func (v *validator) topLevelKeys() {
	for i, k := range v.root.keys {
		switch k {
		case "version", "screens", "routing_model", "data_api_version":
		case "data_channel_uri":
			if v.ver >= fv(3, 0) {
				v.addAt(CodeInvalidPropertyKey, ptr("").key(k), v.root.kOff[i],
					"Property 'data_channel_uri' cannot be specified from version 3.0 on: set the endpoint URI through the Flows API")
			}
		default:
			v.addAt(CodeInvalidPropertyKey, ptr("").key(k), v.root.kOff[i], "Property '%s' cannot be specified at the root of the Flow JSON", k)
		}
	}
}

// collectFields records input names, pickers and forms of a screen.
func (v *validator) collectFields(si *screenInfo, arr *node, _ bool) {
	if arr == nil || arr.k != kArr {
		return
	}
	for _, c := range arr.vals {
		if c.k != kObj {
			continue
		}
		t := c.str("type")
		if t == "Form" {
			si.hasForm = true
			if name := c.str("name"); name != "" {
				si.forms[name] = true
			}
		}
		if inputTypes[t] {
			if name := c.str("name"); name != "" {
				si.fields[name] = t
				if pickerTypes[t] {
					si.pickers[name] = c
				}
			}
		}
		for _, nested := range childLists(c) {
			v.collectFields(si, nested, false)
		}
	}
}

var screenKeys = map[string]int{
	"id": 0, "title": 0, "terminal": 0, "success": 0, "refresh_on_back": 0, "data": 0, "layout": 0, "sensitive": fv(5, 1),
}

// screen checks one screen and returns its number of ImageCarousels (capped per flow too).
func (v *validator) screen(si *screenInfo, byID map[string]*screenInfo, endpoint bool) int {
	s, p := si.n, si.p
	for i, k := range s.keys {
		since, ok := screenKeys[k]
		switch {
		case !ok:
			v.addAt(CodeInvalidPropertyKey, p.key(k), s.kOff[i], "Property '%s' cannot be specified on a screen", k)
		case since > v.ver:
			v.addAt(CodeInvalidPropertyKey, p.key(k), s.kOff[i], "Property '%s' is available from Flow JSON version %s", k, verString(since))
		}
	}
	for _, k := range []string{"terminal", "success", "refresh_on_back"} {
		if n := s.get(k); n != nil && n.k != kBool {
			v.add(CodeInvalidPropertyType, p.key(k), n, "Expected property '%s' to be of type boolean, but found %s", k, n.k)
		}
	}
	if n := s.get("success"); n != nil && !si.terminal {
		v.add(CodeInvalidDependencies, p.key("success"), n, "Property 'success' can only be set on a terminal screen")
	}
	if n := s.get("refresh_on_back"); n != nil && n.k == kBool && n.b && !endpoint {
		v.add(CodeInvalidPropertyValue, p.key("refresh_on_back"), n, "'refresh_on_back' needs an endpoint: the flow has no 'data_api_version'")
	}
	if n := s.get("title"); n != nil {
		if n.k != kStr {
			v.add(CodeInvalidPropertyType, p.key("title"), n, "Expected property 'title' to be of type string, but found %s", n.k)
		} else {
			v.blank(p.key("title"), n)
			v.refs(si, byID, p.key("title"), n, false)
		}
	}
	v.dataModel(si)
	if n := s.get("sensitive"); n != nil && v.ver >= fv(5, 1) {
		if n.k != kArr {
			v.add(CodeInvalidPropertyType, p.key("sensitive"), n, "Expected property 'sensitive' to be of type array, but found %s", n.k)
		} else {
			for i, f := range n.vals {
				if f.k != kStr || si.fields[f.s] == "" {
					v.add(CodeInvalidPropertyValue, p.key("sensitive").idx(i), f, "'sensitive' lists %s, which is not a field of this screen", f.raw(v.src))
				}
			}
		}
	}
	layout := s.get("layout")
	if layout == nil {
		v.add(CodeMissingRequiredProperty, p.key("layout"), s, "The property 'layout' is required on a screen")
		return 0
	}
	lp := p.key("layout")
	if layout.k != kObj {
		v.add(CodeInvalidPropertyType, lp, layout, "Expected property 'layout' to be of type object, but found %s", layout.k)
		return 0
	}
	for i, k := range layout.keys {
		if k != "type" && k != "children" {
			v.addAt(CodeInvalidPropertyKey, lp.key(k), layout.kOff[i], "Property '%s' cannot be specified on a layout", k)
		}
	}
	if t := layout.get("type"); t == nil {
		v.add(CodeMissingRequiredTypeProperty, lp.key("type"), layout, "The layout needs \"type\": \"SingleColumnLayout\"")
	} else if t.k != kStr || t.s != "SingleColumnLayout" {
		v.add(CodeInvalidEnumValue, lp.key("type"), t, "Layout type must be \"SingleColumnLayout\", found %s", t.raw(v.src))
	}
	children := layout.get("children")
	if children == nil {
		v.add(CodeMissingRequiredProperty, lp.key("children"), layout, "The property 'children' is required on a layout")
		return 0
	}
	if children.k != kArr {
		v.add(CodeInvalidPropertyType, lp.key("children"), children, "Expected property 'children' to be of type array, but found %s", children.k)
		return 0
	}
	sc := &screenCheck{si: si, byID: byID, endpoint: endpoint, names: map[string]ptr{}}
	v.componentList(sc, children, lp.key("children"), ctx{})
	return v.screenCaps(sc, children, lp.key("children"))
}

// blank rejects empty or whitespace-only strings from version 6.0 on.
func (v *validator) blank(p ptr, n *node) bool {
	if v.ver >= fv(6, 0) && n.k == kStr && strings.TrimSpace(n.s) == "" {
		v.add(CodePatternMismatch, p, n, "Blank strings are not allowed from Flow JSON version 6.0 on")
		return true
	}
	return false
}

var dataTypes = map[string]kind{"string": kStr, "number": kNum, "boolean": kBool, "object": kObj, "array": kArr, "integer": kNum}

func (v *validator) dataModel(si *screenInfo) {
	d := si.data
	if d == nil {
		return
	}
	p := si.p.key("data")
	if d.k != kObj {
		v.add(CodeInvalidPropertyType, p, d, "Expected property 'data' to be of type object, but found %s", d.k)
		return
	}
	for i, name := range d.keys {
		f, fp := d.vals[i], p.key(name)
		if f.k != kObj {
			v.add(CodeInvalidScreenData, fp, f, "Data field '%s' must be declared as an object with 'type' and '__example__'", name)
			continue
		}
		t := v.schema(fp, f, name, true)
		ex := f.get("__example__")
		if ex == nil {
			v.add(CodeInvalidScreenData, fp, f, "Data field '%s' needs an '__example__'", name)
			continue
		}
		if want, ok := dataTypes[t]; ok && ex.k != want {
			v.add(CodeInvalidScreenData, fp.key("__example__"), ex, "The __example__ of '%s' must be of type %s, but found %s", name, t, ex.k)
		}
		if ex.k == kNull {
			v.add(CodeInvalidScreenData, fp.key("__example__"), ex, "null is not allowed in screen data: omit the field or use an empty value")
		}
	}
}

// schema checks one data declaration (recursively); returns its type.
func (v *validator) schema(p ptr, f *node, name string, top bool) string {
	tn := f.get("type")
	if tn == nil {
		v.add(CodeInvalidScreenData, p, f, "Data field '%s' needs a 'type'", name)
		return ""
	}
	if tn.k != kStr {
		v.add(CodeInvalidScreenData, p.key("type"), tn, "The 'type' of data field '%s' must be a string", name)
		return ""
	}
	if _, ok := dataTypes[tn.s]; !ok {
		v.add(CodeInvalidScreenData, p.key("type"), tn, "Data field '%s' has unknown type %q (string, number, boolean, object, array)", name, tn.s)
		return tn.s
	}
	if !top && f.get("__example__") != nil {
		v.add(CodeInvalidScreenData, p.key("__example__"), f.get("__example__"), "'__example__' is only allowed on top-level data fields")
	}
	switch tn.s {
	case "array":
		items := f.get("items")
		if items == nil || items.k != kObj {
			v.add(CodeInvalidScreenData, p, f, "Array data field '%s' needs 'items'", name)
		} else {
			v.schema(p.key("items"), items, name, false)
		}
	case "object":
		if props := f.get("properties"); props != nil && props.k == kObj {
			for i, k := range props.keys {
				if props.vals[i].k == kObj {
					v.schema(p.key("properties").key(k), props.vals[i], k, false)
				}
			}
		}
	}
	return tn.s
}

// dataField returns the declaration of a screen's data field, or nil.
func (si *screenInfo) dataField(name string) *node {
	if si == nil || si.data == nil || si.data.k != kObj {
		return nil
	}
	return si.data.get(name)
}

// routing checks the routing model (explicit, or derived from navigate
// actions for endpoint-less flows).
func (v *validator) routing(infos []*screenInfo, byID map[string]*screenInfo, endpoint bool) {
	rm := v.root.get("routing_model")
	graph := map[string][]string{}
	var order []string
	for _, si := range infos {
		if si.id != "" && byID[si.id] == si {
			order = append(order, si.id)
		}
	}
	rp := ptr("/routing_model")
	if rm != nil {
		if rm.k != kObj {
			v.add(CodeInvalidPropertyType, rp, rm, "Expected property 'routing_model' to be of type object, but found %s", rm.k)
			return
		}
		bad := false
		for i, from := range rm.keys {
			next, np := rm.vals[i], rp.key(from)
			if byID[from] == nil {
				v.addAt(CodeInvalidRoutingModel, np, rm.kOff[i], "The routing model names screen %q, which does not exist", from)
				bad = true
				continue
			}
			if next.k != kArr {
				v.add(CodeInvalidRoutingModel, np, next, "The routes of %q must be an array of screen ids", from)
				bad = true
				continue
			}
			if len(next.vals) > 10 {
				v.add(CodeInvalidRoutingModel, np, next, "Screen %q has %d branches; at most 10 are allowed", from, len(next.vals))
			}
			for j, t := range next.vals {
				switch {
				case t.k != kStr || byID[t.s] == nil:
					v.add(CodeInvalidRoutingModel, np.idx(j), t, "Screen %q routes to %s, which is not a screen", from, t.raw(v.src))
					bad = true
				case t.s == from:
					v.add(CodeInvalidRoutingModel, np.idx(j), t, "Screen %q cannot route to itself", from)
					bad = true
				default:
					graph[from] = append(graph[from], t.s)
				}
			}
		}
		// A screen without routes may be left out as a key when a route
		// leads to it (Meta's own global-reference example does so), or
		// when it is the flow's only screen; a screen mentioned nowhere is
		// missing.
		targets := map[string]bool{}
		for _, next := range graph {
			for _, t := range next {
				targets[t] = true
			}
		}
		var missing []string
		for _, id := range order {
			if rm.get(id) == nil && !targets[id] && len(order) > 1 {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			v.add(CodeInvalidRoutingModel, rp, rm, "Following screens are missing in the routing model: %s", strings.Join(missing, ", "))
			bad = true
		}
		// Every navigate edge must be declared.
		for _, si := range infos {
			for _, e := range si.navs {
				if byID[e.to] != nil && e.to != si.id && !contains(graph[si.id], e.to) {
					v.add(CodeInvalidRoutingModel, e.p, e.n, "The navigate action from %q to %q is missing in the routing model", si.id, e.to)
					bad = true // the graph checks would only repeat it
				}
			}
		}
		if bad {
			return
		}
	} else {
		if endpoint {
			return // reported as missing routing_model
		}
		for _, si := range infos {
			for _, e := range si.navs {
				if byID[e.to] != nil && e.to != si.id && !contains(graph[si.id], e.to) {
					graph[si.id] = append(graph[si.id], e.to)
				}
			}
		}
	}
	v.graph(graph, order, byID, rm)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// graph checks a routing graph: no back edges or loops, an entry screen,
// every screen reachable, every route ending on a terminal screen.
func (v *validator) graph(g map[string][]string, order []string, byID map[string]*screenInfo, rm *node) {
	at := func(id string) (ptr, *node) {
		if rm != nil {
			if n := rm.get(id); n != nil {
				return ptr("/routing_model").key(id), n
			}
			return "/routing_model", rm
		}
		si := byID[id]
		return si.p, si.n
	}
	if len(order) == 0 {
		return
	}
	inbound := map[string]int{}
	for _, from := range order {
		for _, to := range g[from] {
			inbound[to]++
		}
	}
	var entries []string
	for _, id := range order {
		if inbound[id] == 0 {
			entries = append(entries, id)
		}
	}
	if len(entries) == 0 {
		p, n := at(order[0])
		v.add(CodeInvalidRoutingModel, p, n, "The routing model has no entry screen: every screen is the target of a route")
		return
	}
	// Cycles (back edges), found by depth-first search.
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	reported := false
	var dfs func(string)
	dfs = func(id string) {
		color[id] = grey
		for _, to := range g[id] {
			switch color[to] {
			case grey:
				if !reported {
					p, n := at(id)
					v.add(CodeInvalidRoutingModel, p, n, "The route from %q back to %q makes a loop: only forward routes are allowed (back navigation is implicit)", id, to)
					reported = true
				}
			case white:
				dfs(to)
			}
		}
		color[id] = black
	}
	for _, id := range order {
		if color[id] == white {
			dfs(id)
		}
	}
	if reported {
		return
	}
	// Reachability from the entry screen (the first in document order).
	seen := map[string]bool{}
	var walk func(string)
	walk = func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		for _, to := range g[id] {
			walk(to)
		}
	}
	walk(entries[0])
	var unreachable []string
	for _, id := range order {
		if !seen[id] && len(order) > 1 && len(g[id]) == 0 && inbound[id] == 0 {
			unreachable = append(unreachable, id)
		}
	}
	if len(unreachable) > 0 {
		p, n := at(unreachable[0])
		v.add(CodeInvalidRoutingModel, p, n, "Screens not connected to the rest of the flow: %s", strings.Join(unreachable, ", "))
	}
}
