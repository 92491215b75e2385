package waform

import (
	"net/url"
	"regexp"
	"strings"
)

// screenCheck carries per-screen state through the component walk.
type screenCheck struct {
	si       *screenInfo
	byID     map[string]*screenInfo
	endpoint bool
	names    map[string]ptr // component name → where first declared
	count    int            // components, nested included
}

// ctx is where a component sits.
type ctx struct {
	inForm   bool
	ifDepth  int  // If/Switch nesting depth
	inSwitch bool // directly inside a Switch case
}

const maxComponentsPerScreen = 50

func (v *validator) componentList(sc *screenCheck, arr *node, p ptr, c ctx) {
	for i, n := range arr.vals {
		v.component(sc, n, p.idx(i), c)
	}
}

func (v *validator) component(sc *screenCheck, n *node, p ptr, c ctx) {
	if n.k != kObj {
		v.add(CodeInvalidPropertyType, p, n, "Expected a component object, but found %s", n.k)
		return
	}
	sc.count++
	tn := n.get("type")
	if tn == nil {
		v.add(CodeMissingRequiredTypeProperty, p.key("type"), n, "The component needs a 'type'")
		return
	}
	if tn.k != kStr {
		v.add(CodeInvalidPropertyType, p.key("type"), tn, "Expected property 'type' to be of type string, but found %s", tn.k)
		return
	}
	t := tn.s
	spec, ok := catalog[t]
	if !ok {
		v.add(CodeInvalidPropertyValue, p.key("type"), tn, "Unknown component type %q", t)
		return
	}
	if spec.since > v.ver {
		v.add(CodeInvalidPropertyValue, p.key("type"), tn, "Component %s is available from Flow JSON version %s; this flow declares %s", t, verString(spec.since), v.res.Version)
		return
	}
	if c.ifDepth > 0 && !ifChildren[t] && !(t == "ChipsSelector" && v.ver >= fv(7, 1)) {
		v.add(CodeInvalidPropertyValue, p.key("type"), tn, "Component %s is not allowed inside If or Switch", t)
	}
	if c.inSwitch && t == "Switch" {
		v.add(CodeInvalidPropertyValue, p.key("type"), tn, "A Switch cannot be nested directly in another Switch")
	}

	// Properties: known, available in this version, typed, within limits.
	for i, k := range n.keys {
		val, kp := n.vals[i], p.key(k)
		if k == "type" {
			continue
		}
		ps, ok := spec.props[k]
		if !ok {
			v.addAt(CodeInvalidPropertyKey, kp, n.kOff[i], "Property '%s' cannot be specified on %s", k, t)
			continue
		}
		if ps.since > v.ver {
			v.addAt(CodeInvalidPropertyKey, kp, n.kOff[i], "Property '%s' of %s is available from Flow JSON version %s", k, t, verString(ps.since))
			continue
		}
		if (k == "init-value" || k == "error-message") && c.inForm && !pickerTypes[t] {
			v.addAt(CodeInvalidPropertyKey, kp, n.kOff[i], "'%s' can only be set on components outside a Form; inside one use the Form's '%ss'", k, k)
			continue
		}
		v.prop(sc, t, k, ps, val, kp)
	}
	for k, ps := range spec.props {
		if (ps.req || (ps.reqV > 0 && v.ver >= ps.reqV)) && n.get(k) == nil && ps.since <= v.ver {
			if k == "name" && t == "NavigationList" {
				continue
			}
			v.add(CodeMissingRequiredProperty, p.key(k), n, "The property '%s' is required on %s", k, t)
		}
	}

	// Names: unique across the screen (all If/Switch branches too).
	if name := n.get("name"); name != nil && name.k == kStr && (spec.input || t == "Form") {
		if first, dup := sc.names[name.s]; dup && c.ifDepth == 0 {
			v.add(CodeDuplicateFormComponentNames, p.key("name"), name, "Duplicate component name %q on screen %q (first at %s)", name.s, sc.si.id, first)
		} else if !dup {
			sc.names[name.s] = p.key("name")
		}
	}

	// Inputs and the Form.
	if spec.input && !c.inForm {
		switch {
		case v.ver < fv(4, 0):
			v.add(CodeKeywordOneOf, p, n, "%s must be inside a Form before Flow JSON version 4.0", t)
		case sc.si.hasForm:
			v.add(CodeComponentsOutsideForm, p, n, "%s sits outside the screen's Form: when a screen has a Form every input must be inside it", t)
		}
	}

	v.componentRules(sc, t, n, p, c)

	switch t {
	case "Form":
		if c.inForm {
			v.add(CodeInvalidPropertyValue, p, n, "A Form cannot contain another Form")
		}
		if ch := n.get("children"); ch != nil && ch.k == kArr {
			v.componentList(sc, ch, p.key("children"), ctx{inForm: true, ifDepth: c.ifDepth})
		}
	case "If":
		if c.ifDepth >= 3 {
			v.add(CodeInvalidPropertyValue, p, n, "If can be nested at most 3 levels deep")
		}
		inner := ctx{inForm: c.inForm, ifDepth: c.ifDepth + 1}
		then := n.get("then")
		if then != nil && then.k == kArr {
			if len(then.vals) == 0 {
				v.add(CodeInvalidPropertyValue, p.key("then"), then, "'then' of an If needs at least one component")
			}
			v.componentList(sc, then, p.key("then"), inner)
		}
		els := n.get("else")
		if els != nil && els.k == kArr {
			v.componentList(sc, els, p.key("else"), inner)
		}
		tf, ef := hasFooter(then), hasFooter(els)
		if (tf || ef) && c.ifDepth > 0 {
			v.add(CodeInvalidPropertyValue, p, n, "A Footer inside If is only allowed at the first nesting level")
		} else if tf != ef {
			v.add(CodeMissingFooterInIfElseBranches, p, n, "A Footer in one branch of an If must be present in both 'then' and 'else'")
		}
		if cond := n.get("condition"); cond != nil && cond.k == kStr {
			v.condition(sc, p.key("condition"), cond)
		}
	case "Switch":
		inner := ctx{inForm: c.inForm, ifDepth: c.ifDepth + 1, inSwitch: true}
		cases := n.get("cases")
		if cases != nil && cases.k == kObj {
			if len(cases.keys) == 0 {
				v.add(CodeInvalidPropertyValue, p.key("cases"), cases, "A Switch needs at least one case")
			}
			withFooter := 0
			for i, k := range cases.keys {
				cv := cases.vals[i]
				if cv.k != kArr {
					v.add(CodeInvalidPropertyType, p.key("cases").key(k), cv, "Switch case %q must be an array of components", k)
					continue
				}
				if len(cv.vals) == 0 {
					v.add(CodeInvalidPropertyValue, p.key("cases").key(k), cv, "Switch case %q needs at least one component", k)
				}
				if hasFooter(cv) {
					withFooter++
				}
				v.componentList(sc, cv, p.key("cases").key(k), inner)
			}
			if withFooter > 0 && withFooter < len(cases.keys) {
				v.add(CodeMissingFooterInSwitchBranches, p.key("cases"), cases, "A Footer in one case of a Switch must be present in every case")
			}
		}
		if val := n.get("value"); val != nil && val.k == kStr && !strings.Contains(val.s, "${") {
			v.add(CodeInvalidPropertyValue, p.key("value"), val, "The value of a Switch must be a dynamic reference such as ${data.x}")
		}
	}
}

func hasFooter(arr *node) bool {
	if arr == nil || arr.k != kArr {
		return false
	}
	for _, c := range arr.vals {
		if c.str("type") == "Footer" {
			return true
		}
	}
	return false
}

var dynRef = regexp.MustCompile(`\$\{([^}]*)\}`)

// isDynamic reports whether a string is a single dynamic reference or a
// nested expression (which may stand for a value of any type).
func isDynamic(s string) bool {
	s = strings.TrimSpace(s)
	return (strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}")) || (strings.HasPrefix(s, "`") && strings.HasSuffix(s, "`") && len(s) > 1)
}

func (v *validator) prop(sc *screenCheck, t, k string, ps propSpec, n *node, p ptr) {
	typeErr := func(want string) {
		v.add(CodeInvalidPropertyType, p, n, "Expected property '%s' to be of type %s, but found %s", k, want, n.k)
	}
	dyn := n.k == kStr && isDynamic(n.s)
	switch ps.t {
	case ptString:
		if n.k != kStr {
			typeErr("string")
			return
		}
	case ptText:
		if n.k != kStr && n.k != kArr {
			typeErr("string or array of strings")
			return
		}
	case ptBool:
		if n.k != kBool && !dyn {
			typeErr("boolean")
			return
		}
	case ptNumber:
		if n.k != kNum && !dyn {
			if n.k == kStr {
				v.add(CodePatternMismatch, p, n, "Property '%s' must be a number, found %q", k, n.s)
			} else {
				typeErr("number")
			}
			return
		}
	case ptStringArray:
		if n.k == kArr {
			for i, e := range n.vals {
				if e.k != kStr && !(k == "unavailable-dates" && e.k == kObj) {
					v.add(CodeInvalidPropertyType, p.idx(i), e, "Expected the items of '%s' to be strings, but found %s", k, e.k)
				}
			}
		} else if !dyn {
			typeErr("array")
			return
		}
	case ptArray:
		if n.k != kArr && !dyn {
			typeErr("array")
			return
		}
	case ptObject:
		if n.k != kObj && !dyn {
			typeErr("object")
			return
		}
	case ptAction:
		if n.k != kObj {
			typeErr("object")
			return
		}
		v.action(sc, t, k, n, p, false)
		return
	case ptStringOrObj:
		if n.k != kStr && n.k != kObj {
			typeErr("string or object")
			return
		}
	}
	// Strings: blank, enum, length, references.
	v.strings(sc, p, n, ps, k)
}

// strings walks the string values of a property value.
func (v *validator) strings(sc *screenCheck, p ptr, n *node, ps propSpec, k string) {
	switch n.k {
	case kStr:
		if v.blank(p, n) {
			return
		}
		dyn := isDynamic(n.s)
		if len(ps.enum) > 0 && !dyn && !contains(ps.enum, n.s) {
			v.add(CodeInvalidEnumValue, p, n, "Property '%s' must be one of %s, found %q", k, strings.Join(ps.enum, ", "), n.s)
		}
		if ps.max > 0 && !dyn && len([]rune(n.s)) > ps.max && v.ver >= ps.maxFrom {
			v.add(CodeInvalidPropertyValue, p, n, "Property '%s' is %d characters; at most %d are allowed", k, len([]rune(n.s)), ps.max)
		}
		v.refs(sc.si, sc.byID, p, n, false)
		v.nested(p, n)
	case kArr:
		for i, e := range n.vals {
			v.strings(sc, p.idx(i), e, propSpec{max: ps.max, maxFrom: ps.maxFrom}, k)
		}
	case kObj:
		for i, key := range n.keys {
			v.strings(sc, p.key(key), n.vals[i], propSpec{max: ps.max, maxFrom: ps.maxFrom}, k)
		}
	}
}

// nested checks a backtick-wrapped nested expression (6.0+).
func (v *validator) nested(p ptr, n *node) {
	t := strings.TrimSpace(n.s)
	if v.ver < fv(6, 0) || len(t) < 2 || t[0] != '`' || t[len(t)-1] != '`' {
		return
	}
	if _, err := checkExpr(t[1:len(t)-1], false); err != nil {
		v.add(CodeInvalidPropertyValue, p, n, "Invalid nested expression %s: %v", t, err)
	}
}

// refs resolves the ${…} references of a string value.
func (v *validator) refs(si *screenInfo, byID map[string]*screenInfo, p ptr, n *node, inPayload bool) {
	if n.k != kStr || !strings.Contains(n.s, "${") {
		return
	}
	for _, m := range dynRef.FindAllStringSubmatch(n.s, -1) {
		v.ref(si, byID, p, n, strings.TrimSpace(m[1]), inPayload)
	}
}

func (v *validator) ref(si *screenInfo, byID map[string]*screenInfo, p ptr, n *node, ref string, inPayload bool) {
	parts := strings.Split(ref, ".")
	formCode := CodeInvalidPropertyValue
	if inPayload {
		formCode = CodeInvalidOnClickActionPayload
	}
	switch parts[0] {
	case "data":
		if len(parts) < 2 || si.dataField(parts[1]) == nil {
			v.add(CodeInvalidScreenDynamicData, p, n, "${%s} is not declared in the data of screen %q", ref, si.id)
		}
	case "form":
		switch {
		case len(parts) < 2:
			v.add(formCode, p, n, "${%s} names no form field", ref)
		case si.forms[parts[1]] && si.fields[parts[1]] == "":
			v.add(CodeInvalidOnClickActionPayload, p, n, "${%s} binds a whole Form; bind its fields one by one", ref)
		case si.fields[parts[1]] == "":
			v.add(formCode, p, n, "${%s}: screen %q has no form field named %q", ref, si.id, parts[1])
		}
	case "screen":
		if v.ver < fv(4, 0) {
			v.add(CodeInvalidPropertyValue, p, n, "${%s}: references to other screens are available from Flow JSON version 4.0", ref)
			return
		}
		if len(parts) < 4 || (parts[2] != "form" && parts[2] != "data") {
			v.add(CodeInvalidPropertyValue, p, n, "${%s}: expected ${screen.SCREEN_ID.form.field} or ${screen.SCREEN_ID.data.field}", ref)
			return
		}
		other := byID[parts[1]]
		switch {
		case other == nil:
			v.add(CodeInvalidPropertyValue, p, n, "${%s}: there is no screen %q", ref, parts[1])
		case other == si:
			v.add(CodeInvalidPropertyValue, p, n, "${%s}: a screen refers to its own values as ${%s.%s}", ref, parts[2], parts[3])
		case parts[2] == "form" && other.fields[parts[3]] == "":
			v.add(formCode, p, n, "${%s}: screen %q has no form field named %q", ref, parts[1], parts[3])
		case parts[2] == "data" && other.dataField(parts[3]) == nil:
			v.add(CodeInvalidScreenDynamicData, p, n, "${%s}: %q is not declared in the data of screen %q", ref, parts[3], parts[1])
		}
	default:
		v.add(CodeInvalidPropertyValue, p, n, "${%s}: unknown reference (use data., form. or screen.)", ref)
	}
}

// condition checks an If condition: references resolve, at least one
// operand is dynamic.
func (v *validator) condition(sc *screenCheck, p ptr, n *node) {
	if strings.TrimSpace(n.s) == "" {
		v.add(CodeInvalidPropertyValue, p, n, "The condition of an If cannot be empty")
		return
	}
	if _, err := checkExpr(n.s, true); err != nil {
		v.add(CodeInvalidPropertyValue, p, n, "Invalid condition %q: %v", n.s, err)
	}
}

// componentRules are the per-component rules beyond property types.
func (v *validator) componentRules(sc *screenCheck, t string, n *node, p ptr, c ctx) {
	minMax := func(minK, maxK string, lo, hi float64) {
		mn, mx := n.get(minK), n.get(maxK)
		for _, x := range []struct {
			k string
			n *node
		}{{minK, mn}, {maxK, mx}} {
			if x.n == nil || x.n.k != kNum {
				continue
			}
			if x.n.n < lo {
				v.add(CodeMinimumValueRequired, p.key(x.k), x.n, "'%s' must be at least %g", x.k, lo)
			}
			if hi > 0 && x.n.n > hi {
				v.add(CodeMaximumValueRequired, p.key(x.k), x.n, "'%s' must be at most %g", x.k, hi)
			}
		}
		if mn != nil && mx != nil && mn.k == kNum && mx.k == kNum && mn.n > mx.n {
			v.add(CodeMinValueGreaterThanMax, p.key(minK), mn, "'%s' (%g) is greater than '%s' (%g)", minK, mn.n, maxK, mx.n)
		}
	}
	switch t {
	case "TextInput":
		minMax("min-chars", "max-chars", 0, 0)
		if pat := n.get("pattern"); pat != nil && v.ver >= fv(6, 2) {
			if n.get("helper-text") == nil {
				v.add(CodeMissingRequiredProperty, p.key("helper-text"), n, "'helper-text' is required when 'pattern' is set")
			}
			if it := n.str("input-type"); it != "" && !contains([]string{"text", "number", "password", "passcode"}, it) {
				v.add(CodeInvalidPropertyValue, p.key("pattern"), pat, "'pattern' is only allowed with input-type text, number, password or passcode, not %q", it)
			}
			if pat.k == kStr && !isDynamic(pat.s) {
				if _, err := regexp.Compile(pat.s); err != nil {
					v.add(CodeInvalidPropertyValueFormat, p.key("pattern"), pat, "'pattern' is not a valid regular expression: %v", err)
				}
			}
		}
	case "CheckboxGroup", "ChipsSelector":
		hi := 20.0
		minMax("min-selected-items", "max-selected-items", 0, hi)
		v.dataSource(sc, t, n, p)
	case "RadioButtonsGroup", "Dropdown":
		v.dataSource(sc, t, n, p)
	case "Footer":
		l, cc, r := n.get("left-caption"), n.get("center-caption"), n.get("right-caption")
		switch {
		case cc != nil && (l != nil || r != nil):
			v.add(CodeInvalidDependencies, p.key("center-caption"), cc, "A Footer takes 'center-caption' or 'left-caption' with 'right-caption', never both")
		case (l != nil) != (r != nil):
			at, k := l, "left-caption"
			if at == nil {
				at, k = r, "right-caption"
			}
			v.add(CodeInvalidDependencies, p.key(k), at, "'left-caption' and 'right-caption' go together")
		}
	case "NavigationList":
		items := n.get("list-items")
		if items != nil && items.k == kArr {
			if len(items.vals) < 1 || len(items.vals) > 20 {
				v.add(CodeInvalidPropertyValue, p.key("list-items"), items, "A NavigationList takes 1 to 20 items, found %d", len(items.vals))
			}
			itemAction, badges := false, 0
			for i, it := range items.vals {
				ip := p.key("list-items").idx(i)
				if it.k != kObj {
					continue
				}
				if it.get("id") == nil {
					v.add(CodeMissingRequiredProperty, ip.key("id"), it, "A list item needs an 'id'")
				}
				if mc := it.get("main-content"); mc == nil {
					v.add(CodeMissingRequiredProperty, ip.key("main-content"), it, "A list item needs 'main-content'")
				} else if mc.get("title") == nil {
					v.add(CodeMissingRequiredProperty, ip.key("main-content").key("title"), mc, "'main-content' needs a 'title'")
				}
				if it.get("badge") != nil {
					badges++
				}
				v.listItemLimits(it, ip, n.str("media-size") == "large")
				if a := it.get("on-click-action"); a != nil && a.k == kObj {
					itemAction = true
					v.action(sc, "NavigationList", "on-click-action", a, ip.key("on-click-action"), true)
				}
				v.stringsIn(sc, it, ip)
			}
			if itemAction && n.get("on-click-action") != nil {
				v.add(CodeInvalidPropertyValue, p.key("on-click-action"), n.get("on-click-action"), "Set 'on-click-action' on the NavigationList or on its items, not both")
			}
			if badges > 1 {
				v.add(CodeInvalidPropertyValue, p.key("list-items"), items, "Only one item of a NavigationList may have a badge")
			}
		}
		if sc.si.terminal {
			v.add(CodeInvalidPropertyValue, p, n, "A NavigationList cannot be on a terminal screen")
		}
	case "ImageCarousel":
		if imgs := n.get("images"); imgs != nil && imgs.k == kArr {
			if len(imgs.vals) < 1 || len(imgs.vals) > 3 {
				v.add(CodeInvalidPropertyValue, p.key("images"), imgs, "An ImageCarousel takes 1 to 3 images, found %d", len(imgs.vals))
			}
			for i, im := range imgs.vals {
				for _, k := range []string{"src", "alt-text"} {
					if im.k == kObj && im.get(k) == nil {
						v.add(CodeMissingRequiredProperty, p.key("images").idx(i).key(k), im, "Each carousel image needs '%s'", k)
					}
				}
			}
		}
	case "PhotoPicker":
		minMax("min-uploaded-photos", "max-uploaded-photos", 0, 30)
		v.fileSize(n, p)
	case "DocumentPicker":
		minMax("min-uploaded-documents", "max-uploaded-documents", 0, 30)
		v.fileSize(n, p)
	case "CalendarPicker":
		minMax("min-days", "max-days", 0, 0)
		v.dates(n, p, true)
		if n.str("mode") != "range" {
			for _, k := range []string{"title", "description", "min-days", "max-days"} {
				if x := n.get(k); x != nil {
					v.add(CodeInvalidPropertyKey, p.key(k), x, "'%s' of a CalendarPicker is only allowed in range mode", k)
				}
			}
		}
	case "DatePicker":
		v.dates(n, p, v.ver >= fv(5, 0))
	case "Form":
		if iv := n.get("init-values"); iv != nil && iv.k == kObj {
			for i, k := range iv.keys {
				if pickerTypes[sc.si.fields[k]] {
					v.addAt(CodeNativeComponentInFormInitValue, p.key("init-values").key(k), iv.kOff[i], "%s %q cannot be given an init value", sc.si.fields[k], k)
				}
			}
		}
	case "Image":
		if src := n.get("src"); src != nil && src.k == kStr && strings.HasPrefix(src.s, "http") {
			v.add(CodeInvalidPropertyValueFormat, p.key("src"), src, "Image 'src' must be base64 image data, not a URL")
		}
	}
}

// listItemLimits applies NavigationList item character limits.
func (v *validator) listItemLimits(it *node, p ptr, large bool) {
	limits := map[string]map[string]int{
		"main-content": {"title": 30, "description": 20, "metadata": 80},
		"end":          {"title": 10, "description": 10, "metadata": 10},
	}
	for part, lim := range limits {
		obj := it.get(part)
		if obj == nil || obj.k != kObj {
			continue
		}
		if part == "end" && large {
			v.add(CodeInvalidPropertyValue, p.key(part), obj, "'end' is not allowed with media-size large")
		}
		for i, k := range obj.keys {
			x := obj.vals[i]
			if max, ok := lim[k]; ok && x.k == kStr && !isDynamic(x.s) && len([]rune(x.s)) > max {
				v.add(CodeInvalidPropertyValue, p.key(part).key(k), x, "'%s.%s' is %d characters; at most %d are allowed", part, k, len([]rune(x.s)), max)
			}
		}
	}
	if b := it.get("badge"); b != nil && b.k == kStr && len([]rune(b.s)) > 15 {
		v.add(CodeInvalidPropertyValue, p.key("badge"), b, "'badge' is %d characters; at most 15 are allowed", len([]rune(b.s)))
	}
	if tags := it.get("tags"); tags != nil && tags.k == kArr {
		if len(tags.vals) > 3 {
			v.add(CodeInvalidPropertyValue, p.key("tags"), tags, "At most 3 tags, found %d", len(tags.vals))
		}
		for i, tg := range tags.vals {
			if tg.k == kStr && len([]rune(tg.s)) > 15 {
				v.add(CodeInvalidPropertyValue, p.key("tags").idx(i), tg, "A tag is at most 15 characters")
			}
		}
	}
}

var (
	isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	msDate  = regexp.MustCompile(`^\d{9,}$`)
)

// dates checks static date values: "YYYY-MM-DD" from 5.0 on (and always
// for CalendarPicker), millisecond timestamps as strings before.
func (v *validator) dates(n *node, p ptr, iso bool) {
	check := func(x *node, xp ptr) {
		if x.k != kStr || isDynamic(x.s) {
			return
		}
		if iso && !isoDate.MatchString(x.s) {
			v.add(CodeInvalidPropertyValueFormat, xp, x, "Dates are written \"YYYY-MM-DD\" from Flow JSON version 5.0 on, found %q", x.s)
		}
		if !iso && !msDate.MatchString(x.s) {
			v.add(CodeInvalidPropertyValueFormat, xp, x, "Before Flow JSON version 5.0 dates are millisecond timestamps as strings, found %q", x.s)
		}
	}
	for _, k := range []string{"min-date", "max-date"} {
		if x := n.get(k); x != nil {
			check(x, p.key(k))
		}
	}
	if u := n.get("unavailable-dates"); u != nil && u.k == kArr {
		for i, x := range u.vals {
			check(x, p.key("unavailable-dates").idx(i))
		}
	}
}

// stringsIn checks the strings of a nested object (list items).
func (v *validator) stringsIn(sc *screenCheck, n *node, p ptr) {
	for i, k := range n.keys {
		if strings.HasPrefix(k, "on-") {
			continue
		}
		v.strings(sc, p.key(k), n.vals[i], propSpec{}, k)
	}
}

func (v *validator) fileSize(n *node, p ptr) {
	if x := n.get("max-file-size-kb"); x != nil && x.k == kNum {
		if x.n < 1 {
			v.add(CodeMinimumValueRequired, p.key("max-file-size-kb"), x, "'max-file-size-kb' must be at least 1")
		}
		if x.n > 25600 {
			v.add(CodeMaximumValueRequired, p.key("max-file-size-kb"), x, "'max-file-size-kb' must be at most 25600")
		}
	}
}

// dataSource checks the options of a selection component.
func (v *validator) dataSource(sc *screenCheck, t string, n *node, p ptr) {
	ds := n.get("data-source")
	if ds == nil {
		return
	}
	dp := p.key("data-source")
	if ds.k == kStr {
		// Dynamic: must be declared as an array of objects with id and title.
		m := dynRef.FindStringSubmatch(ds.s)
		if m == nil {
			return
		}
		parts := strings.Split(m[1], ".")
		var decl *node
		if parts[0] == "data" && len(parts) == 2 {
			decl = sc.si.dataField(parts[1])
		}
		if decl == nil {
			return // reported by refs
		}
		items := decl.get("items")
		props := items.get("properties")
		if decl.str("type") != "array" || items.str("type") != "object" || props.get("id") == nil || props.get("title") == nil {
			v.add(CodeInvalidScreenDynamicData, dp, ds, "%s takes its options from ${%s}, which must be declared as an array of objects with 'id' and 'title'", t, m[1])
		}
		return
	}
	if ds.k != kArr {
		return
	}
	lo, hi := 1, 20
	switch t {
	case "Dropdown":
		hi = 200
		for _, it := range ds.vals {
			if it.get("image") != nil {
				hi = 100
			}
		}
	case "ChipsSelector":
		lo = 2
	}
	if len(ds.vals) < lo {
		v.add(CodeMinItemsRequired, dp, ds, "%s needs at least %d options, found %d", t, lo, len(ds.vals))
	}
	if len(ds.vals) > hi {
		v.add(CodeInvalidPropertyValue, dp, ds, "%s takes at most %d options, found %d", t, hi, len(ds.vals))
	}
	seen := map[string]bool{}
	limits := map[string]int{"title": 30, "description": 300, "metadata": 20}
	for i, it := range ds.vals {
		ip := dp.idx(i)
		if it.k != kObj {
			v.add(CodeInvalidPropertyType, ip, it, "Expected an option object, but found %s", it.k)
			continue
		}
		for _, k := range []string{"id", "title"} {
			if it.get(k) == nil {
				v.add(CodeMissingRequiredProperty, ip.key(k), it, "Each option needs '%s'", k)
			}
		}
		if id := it.get("id"); id != nil && id.k == kStr {
			if id.s == "" {
				v.add(CodeMinCharsRequired, ip.key("id"), id, "An option id cannot be empty")
			}
			if seen[id.s] {
				v.add(CodeInvalidPropertyValue, ip.key("id"), id, "Duplicate option id %q", id.s)
			}
			seen[id.s] = true
		}
		for j, k := range it.keys {
			val := it.vals[j]
			switch k {
			case "on-select-action", "on-unselect-action":
				if v.ver < fv(6, 0) {
					v.addAt(CodeInvalidPropertyKey, ip.key(k), it.kOff[j], "Option '%s' is available from Flow JSON version 6.0", k)
				} else if val.k == kObj {
					v.action(sc, t, k, val, ip.key(k), true)
				}
				continue
			case "image", "alt-text", "color":
				if v.ver < fv(5, 0) {
					v.addAt(CodeInvalidPropertyKey, ip.key(k), it.kOff[j], "Option '%s' is available from Flow JSON version 5.0", k)
				}
				if k == "image" && val.k == kStr && !isDynamic(val.s) {
					limit := 300
					if v.ver >= fv(6, 0) {
						limit = 100
					}
					if kb := len(val.s) * 3 / 4 / 1024; kb > limit {
						v.add(CodeInvalidPropertyValue, ip.key(k), val, "The option image is about %d KB; at most %d KB are allowed", kb, limit)
					}
				}
			case "id", "title", "description", "metadata", "enabled":
			default:
				v.addAt(CodeInvalidPropertyKey, ip.key(k), it.kOff[j], "Property '%s' cannot be specified on an option", k)
			}
			v.strings(sc, ip.key(k), val, propSpec{max: limits[k]}, k)
		}
	}
}

// action checks an on-click / on-select / on-unselect action. item tells
// whether it belongs to a data-source or list item.
func (v *validator) action(sc *screenCheck, owner, key string, n *node, p ptr, item bool) {
	nameN := n.get("name")
	if nameN == nil {
		v.add(CodeMissingRequiredProperty, p.key("name"), n, "The action needs a 'name'")
		return
	}
	if nameN.k != kStr {
		v.add(CodeInvalidPropertyType, p.key("name"), nameN, "Expected the action 'name' to be a string, found %s", nameN.k)
		return
	}
	name := nameN.s
	allowed := allowedActions(owner, key, v.ver)
	if !contains(allowed, name) {
		v.add(CodeInvalidEnumValue, p.key("name"), nameN, "Action %q is not allowed in %s of %s (allowed: %s)", name, key, owner, strings.Join(allowed, ", "))
		return
	}
	for i, k := range n.keys {
		ok := k == "name" || (k == "payload" && name != "open_url") || (k == "next" && name == "navigate") || (k == "url" && name == "open_url")
		if !ok {
			v.addAt(CodeInvalidPropertyKey, p.key(k), n.kOff[i], "Property '%s' cannot be specified on a %s action", k, name)
		}
	}
	payload := n.get("payload")
	pp := p.key("payload")
	if payload != nil && payload.k != kObj {
		v.add(CodeInvalidPropertyType, pp, payload, "Expected the action payload to be an object, found %s", payload.k)
		payload = nil
	}
	if payload != nil {
		v.payloadRefs(sc, pp, payload)
	}
	switch name {
	case "complete":
		if !sc.si.terminal {
			v.add(CodeInvalidCompleteAction, p.key("name"), nameN, "The complete action is only allowed on terminal screens; screen %q is not terminal", sc.si.id)
		}
		v.pickerPayload(sc, pp, payload, true)
	case "data_exchange":
		if !sc.endpoint {
			v.add(CodeMissingRequiredProperty, p.key("name"), nameN, "The property 'data_api_version' is required for data_exchange action")
		}
		v.pickerPayload(sc, pp, payload, false)
	case "navigate":
		if sc.si.terminal && owner == "Footer" {
			v.add(CodeInvalidEnumValue, p.key("name"), nameN, "The Footer of terminal screen %q cannot navigate: it ends the flow with complete (or data_exchange)", sc.si.id)
		}
		v.navigate(sc, n, p, payload, item && owner == "NavigationList")
	case "update_data":
		if payload == nil {
			v.add(CodeMissingRequiredProperty, pp, n, "update_data needs a 'payload'")
			return
		}
		for i, k := range payload.keys {
			if sc.si.dataField(k) == nil {
				v.addAt(CodeInvalidActionPayloadProperty, pp.key(k), payload.kOff[i], "update_data sets %q, which is not declared in the data of screen %q", k, sc.si.id)
			}
		}
	case "open_url":
		u := n.get("url")
		if u == nil {
			v.add(CodeMissingRequiredProperty, p.key("url"), n, "open_url needs a 'url'")
		} else if pu, err := url.Parse(u.s); u.k != kStr || err != nil || pu.Scheme == "" || pu.Host == "" {
			v.add(CodeInvalidPropertyValueFormat, p.key("url"), u, "open_url needs an absolute URL, found %s", u.raw(v.src))
		}
	}
}

// allowedActions lists the actions a component's action property takes.
func allowedActions(owner, key string, ver int) []string {
	six := ver >= fv(6, 0)
	switch {
	case key == "on-unselect-action":
		return []string{"update_data"}
	case key == "on-select-action":
		switch owner {
		case "DatePicker", "CalendarPicker":
			return []string{"data_exchange"}
		case "ChipsSelector":
			return []string{"update_data"}
		}
		if six {
			return []string{"data_exchange", "update_data"}
		}
		return []string{"data_exchange"}
	case owner == "Footer":
		return []string{"navigate", "complete", "data_exchange"}
	case owner == "EmbeddedLink" || owner == "OptIn":
		if six {
			return []string{"navigate", "data_exchange", "open_url"}
		}
		return []string{"navigate", "data_exchange"}
	case owner == "NavigationList":
		return []string{"navigate", "data_exchange"}
	}
	return nil
}

// payloadRefs resolves references in an action payload.
func (v *validator) payloadRefs(sc *screenCheck, p ptr, n *node) {
	switch n.k {
	case kStr:
		v.blank(p, n)
		v.refs(sc.si, sc.byID, p, n, true)
		v.nested(p, n)
	case kArr:
		for i, e := range n.vals {
			v.payloadRefs(sc, p.idx(i), e)
		}
	case kObj:
		for i, k := range n.keys {
			v.payloadRefs(sc, p.key(k), n.vals[i])
		}
	}
}

// pickerRef returns the picker a string binds (${form.x} or
// ${screen.S.form.x}), or nil.
func pickerRef(sc *screenCheck, s string) *node {
	for _, m := range dynRef.FindAllStringSubmatch(s, -1) {
		parts := strings.Split(strings.TrimSpace(m[1]), ".")
		switch {
		case len(parts) == 2 && parts[0] == "form":
			if pk := sc.si.pickers[parts[1]]; pk != nil {
				return pk
			}
		case len(parts) == 4 && parts[0] == "screen" && parts[2] == "form" && sc.byID[parts[1]] != nil:
			if pk := sc.byID[parts[1]].pickers[parts[3]]; pk != nil {
				return pk
			}
		}
	}
	return nil
}

// pickerPayload applies the media-picker rules to a complete or
// data_exchange payload.
func (v *validator) pickerPayload(sc *screenCheck, p ptr, payload *node, complete bool) {
	if payload == nil {
		return
	}
	found := 0
	var walk func(n *node, np ptr, top bool)
	walk = func(n *node, np ptr, top bool) {
		switch n.k {
		case kStr:
			pk := pickerRef(sc, n.s)
			if pk == nil {
				return
			}
			found++
			if !top || strings.TrimSpace(n.s) != "${"+strings.TrimSpace(dynRef.FindStringSubmatch(n.s)[1])+"}" {
				v.add(CodeInvalidOnClickActionPayload, np, n, "A media picker's value must be a top-level property of the payload on its own, like {\"media\": \"${form.photos}\"}")
				return
			}
			if complete {
				maxK := "max-uploaded-photos"
				if pk.str("type") == "DocumentPicker" {
					maxK = "max-uploaded-documents"
				}
				if mx := pk.get(maxK); mx == nil || mx.k != kNum || mx.n > 1 {
					v.add(CodeInvalidOnClickActionPayload, np, n, "A media picker can be sent in a complete payload only with '%s' set to 1", maxK)
				}
			}
		case kArr:
			for i, e := range n.vals {
				walk(e, np.idx(i), false)
			}
		case kObj:
			for i, k := range n.keys {
				walk(n.vals[i], np.key(k), false)
			}
		}
	}
	for i, k := range payload.keys {
		walk(payload.vals[i], p.key(k), true)
	}
	if complete && found > 1 {
		v.add(CodeInvalidOnClickActionPayload, p, payload, "A complete payload may carry only one media picker")
	}
}

// navigate checks a navigate action: target screen, payload vs the target's
// data model.
//
// A NavigationList item's navigate is chosen at runtime, like a data
// exchange: Meta's own NavigationList example (pywa's 6_2 navigation_list)
// sends an item to a screen the document lacks, with a payload its target
// does not declare, and is published; so for list items those two findings
// are warnings.
func (v *validator) navigate(sc *screenCheck, n *node, p ptr, payload *node, listItem bool) {
	sev := SeverityError
	if listItem {
		sev = SeverityWarning
	}
	next := n.get("next")
	if next == nil {
		v.add(CodeMissingRequiredProperty, p.key("next"), n, "navigate needs 'next'")
		return
	}
	np := p.key("next")
	if next.k != kObj {
		v.add(CodeInvalidPropertyType, np, next, "Expected 'next' to be an object, found %s", next.k)
		return
	}
	if t := next.get("type"); t != nil && (t.k != kStr || t.s != "screen") {
		v.add(CodeInvalidEnumValue, np.key("type"), t, "'next.type' must be \"screen\"")
	}
	target := next.get("name")
	if target == nil || target.k != kStr {
		v.add(CodeMissingRequiredProperty, np.key("name"), next, "navigate needs 'next.name', the screen to open")
		return
	}
	to := sc.byID[target.s]
	switch {
	case to == nil:
		v.addSev(sev, CodeInvalidNavigateNextScreenName, np.key("name"), target.off, "navigate names screen %q, which does not exist", target.s)
		return
	case to == sc.si:
		v.add(CodeInvalidNavigateNextScreenName, np.key("name"), target, "Screen %q cannot navigate to itself", target.s)
		return
	}
	sc.si.navs = append(sc.si.navs, navEdge{to: target.s, p: np.key("name"), n: target, payload: payload, ppay: p.key("payload")})
	if payload == nil {
		return
	}
	pp := p.key("payload")
	for i, k := range payload.keys {
		val := payload.vals[i]
		if val.k == kStr && pickerRef(sc, val.s) != nil {
			v.add(CodeInvalidOnClickActionPayload, pp.key(k), val, "A media picker's value cannot be passed in a navigate payload; read it with ${screen.%s.form.…} instead", sc.si.id)
			continue
		}
		if sc.endpoint {
			continue // with an endpoint the next screen's data may also come from the server
		}
		decl := to.dataField(k)
		if decl == nil {
			v.addSev(sev, CodeInvalidNavigateActionPayload, pp.key(k), payload.kOff[i], "The navigate payload sets %q, which is not declared in the data of screen %q", k, to.id)
			continue
		}
		if want, ok := dataTypes[decl.str("type")]; ok && val.k != kStr && val.k != want {
			v.addSev(sev, CodeInvalidNavigateActionPayload, pp.key(k), val.off, "%q is declared as %s on screen %q, but the payload gives %s", k, decl.str("type"), to.id, val.k)
		}
	}
	if !sc.endpoint && to.data != nil && to.data.k == kObj {
		var missing []string
		for _, k := range to.data.keys {
			if payload.get(k) == nil {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			v.addSev(sev, CodeInvalidNavigateActionPayload, pp, payload.off, "The navigate payload to %q lacks %s, declared in that screen's data", to.id, strings.Join(missing, ", "))
		}
	}
}

// screenCaps applies the per-screen component caps; it returns the
// screen's ImageCarousel count (also capped per flow).
func (v *validator) screenCaps(sc *screenCheck, children *node, p ptr) int {
	counts := map[string]int{}
	var count func(arr *node)
	count = func(arr *node) {
		if arr == nil || arr.k != kArr {
			return
		}
		for _, c := range arr.vals {
			t := c.str("type")
			counts[t]++
			for _, nested := range childLists(c) {
				count(nested)
			}
		}
	}
	count(children)
	if sc.count > maxComponentsPerScreen {
		v.add(CodeInvalidPropertyValue, p, children, "Screen %q has %d components; at most %d are allowed", sc.si.id, sc.count, maxComponentsPerScreen)
	}
	footers := footerCount(children)
	caps := []struct {
		code string
		n    int
		max  int
		what string
	}{
		{CodeMaxFooterPerScreen, footers, 1, "Footer"},
		{CodeMaxEmbeddedLinkPerScreen, counts["EmbeddedLink"], 2, "EmbeddedLink"},
		{CodeMaxImagePerScreen, counts["Image"], 3, "Image"},
		{CodeMaxOptInPerScreen, counts["OptIn"], 5, "OptIn"},
		{CodeMaxNavigationListPerScreen, counts["NavigationList"], 2, "NavigationList"},
		{CodeMaxImageCarouselPerScreen, counts["ImageCarousel"], 2, "ImageCarousel"},
		{CodeMaxMediaPickerPerScreen, counts["PhotoPicker"] + counts["DocumentPicker"], 1, "PhotoPicker or DocumentPicker"},
	}
	for _, c := range caps {
		if c.n > c.max {
			v.add(c.code, p, children, "Screen %q has %d %s components; at most %d are allowed", sc.si.id, c.n, c.what, c.max)
		}
	}
	if sc.si.terminal && footers == 0 {
		v.add(CodeMissingFooterOnTerminalScreen, p, children, "Terminal screen %q needs a Footer", sc.si.id)
	}
	if counts["RichText"] > 0 {
		others := sc.count - counts["RichText"]
		if v.ver >= fv(6, 3) {
			others -= counts["Footer"]
		}
		if others > 0 {
			what := "the only component"
			if v.ver >= fv(6, 3) {
				what = "combined only with a Footer"
			}
			v.add(CodeInvalidPropertyValue, p, children, "RichText must be %s on screen %q", what, sc.si.id)
		}
	}
	if counts["NavigationList"] > 0 && sc.count-counts["NavigationList"]-counts["TextHeading"]-counts["TextSubheading"]-counts["TextBody"]-counts["TextCaption"] > 0 {
		v.add(CodeInvalidPropertyValue, p, children, "A NavigationList cannot share screen %q with inputs or a Footer", sc.si.id)
	}
	return counts["ImageCarousel"]
}

// footerCount counts the Footers a screen can show at once: If/Switch
// branches are alternatives, so each contributes its largest branch.
func footerCount(arr *node) int {
	if arr == nil || arr.k != kArr {
		return 0
	}
	n := 0
	for _, c := range arr.vals {
		switch c.str("type") {
		case "Footer":
			n++
		case "Form":
			n += footerCount(c.get("children"))
		case "If":
			n += max(footerCount(c.get("then")), footerCount(c.get("else")))
		case "Switch":
			best := 0
			if cases := c.get("cases"); cases != nil && cases.k == kObj {
				for _, cv := range cases.vals {
					best = max(best, footerCount(cv))
				}
			}
			n += best
		}
	}
	return n
}
