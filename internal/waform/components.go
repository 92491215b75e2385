package waform

import "sort"

// The component catalogue: which components and properties exist from which
// Flow JSON version, their types and character limits (spec §1.1, §1.4).

// pt is a property's JSON type as the validator checks it.
type pt uint8

const (
	ptString      pt = iota // string (dynamic allowed)
	ptText                  // string or array of strings (TextBody, RichText)
	ptBool                  // boolean or a dynamic "${…}" string
	ptNumber                // number or a dynamic string
	ptStringArray           // array of strings or a dynamic string
	ptArray                 // array (or dynamic string)
	ptObject                // object
	ptAction                // action object
	ptAny                   // anything (init-value: type depends on component)
	ptStringOrObj           // string or object (CalendarPicker range labels, picker error-message)
)

type propSpec struct {
	t     pt
	since int // version (major*10+minor) the property appears; 0 = always
	max   int // maximum characters of a static string; 0 = none
	// maxFrom is the version max applies from (0 = always).
	maxFrom int
	enum    []string
	req     bool
	reqV    int // required from this version on (when req is false)
}

type compSpec struct {
	since int
	input bool // a form input: needs a name, sits in the Form, value in ${form.name}
	props map[string]propSpec
}

// fv makes a comparable version number out of major and minor.
func fv(major, minor int) int { return major*10 + minor }

var (
	visible   = propSpec{t: ptBool}
	enabled   = propSpec{t: ptBool}
	required  = propSpec{t: ptBool}
	nameProp  = propSpec{t: ptString, req: true}
	initValue = propSpec{t: ptAny, since: fv(4, 0)}
	errorMsg  = propSpec{t: ptString, since: fv(4, 0)}
	selectAct = propSpec{t: ptAction}
	textProps = func(max int) map[string]propSpec {
		return map[string]propSpec{"text": {t: ptString, req: true, max: max}, "visible": visible}
	}
	bodyProps = func(max int) map[string]propSpec {
		return map[string]propSpec{
			"text":          {t: ptText, req: true, max: max},
			"visible":       visible,
			"font-weight":   {t: ptString, enum: []string{"bold", "italic", "bold_italic", "normal"}},
			"strikethrough": {t: ptBool},
			"markdown":      {t: ptBool, since: fv(5, 1)},
		}
	}
	groupProps = func(selectable bool) map[string]propSpec {
		p := map[string]propSpec{
			"name":             nameProp,
			"data-source":      {t: ptArray, req: true},
			"label":            {t: ptString, max: 30, reqV: fv(4, 0)},
			"description":      {t: ptString, since: fv(4, 0), max: 300},
			"required":         required,
			"enabled":          enabled,
			"visible":          visible,
			"on-select-action": selectAct,
			"media-size":       {t: ptString, since: fv(5, 0), enum: []string{"regular", "large"}},
			"init-value":       initValue,
			"error-message":    errorMsg,
		}
		if selectable {
			p["min-selected-items"] = propSpec{t: ptNumber}
			p["max-selected-items"] = propSpec{t: ptNumber}
		}
		return p
	}
)

var catalog = map[string]compSpec{
	"TextHeading":    {props: textProps(80)},
	"TextSubheading": {props: textProps(80)},
	"TextBody":       {props: bodyProps(4096)},
	"TextCaption":    {props: bodyProps(409)},
	"RichText": {since: fv(5, 1), props: map[string]propSpec{
		"text": {t: ptText, req: true}, "visible": visible,
	}},
	"TextInput": {input: true, props: map[string]propSpec{
		"label":         {t: ptString, req: true, max: 20},
		"name":          nameProp,
		"input-type":    {t: ptString, enum: []string{"text", "number", "email", "password", "passcode", "phone"}},
		"pattern":       {t: ptString, since: fv(6, 2)},
		"required":      required,
		"min-chars":     {t: ptNumber},
		"max-chars":     {t: ptNumber},
		"helper-text":   {t: ptString, max: 80},
		"label-variant": {t: ptString, since: fv(7, 0), enum: []string{"large"}},
		"visible":       visible,
		"enabled":       enabled,
		"init-value":    initValue,
		"error-message": {t: ptString, since: fv(4, 0), max: 30},
	}},
	"TextArea": {input: true, props: map[string]propSpec{
		"label":         {t: ptString, req: true, max: 20},
		"name":          nameProp,
		"required":      required,
		"max-length":    {t: ptNumber},
		"helper-text":   {t: ptString, max: 80},
		"enabled":       enabled,
		"label-variant": {t: ptString, since: fv(7, 0), enum: []string{"large"}},
		"visible":       visible,
		"init-value":    initValue,
		"error-message": errorMsg,
	}},
	"CheckboxGroup":     {input: true, props: groupProps(true)},
	"RadioButtonsGroup": {input: true, props: groupProps(false)},
	"Dropdown": {input: true, props: map[string]propSpec{
		"label":            {t: ptString, req: true, max: 20},
		"name":             nameProp,
		"data-source":      {t: ptArray, req: true},
		"required":         required,
		"enabled":          enabled,
		"visible":          visible,
		"on-select-action": selectAct,
		"init-value":       initValue,
		"error-message":    errorMsg,
	}},
	"ChipsSelector": {since: fv(6, 3), input: true, props: map[string]propSpec{
		"name":               nameProp,
		"label":              {t: ptString, req: true, max: 80},
		"data-source":        {t: ptArray, req: true},
		"description":        {t: ptString, max: 300},
		"min-selected-items": {t: ptNumber},
		"max-selected-items": {t: ptNumber},
		"required":           required,
		"enabled":            enabled,
		"visible":            visible,
		"init-value":         initValue,
		"error-message":      errorMsg,
		"on-select-action":   {t: ptAction, since: fv(7, 1)},
		"on-unselect-action": {t: ptAction, since: fv(7, 1)},
	}},
	"DatePicker": {input: true, props: map[string]propSpec{
		"label":             {t: ptString, req: true, max: 40},
		"name":              nameProp,
		"min-date":          {t: ptString},
		"max-date":          {t: ptString},
		"unavailable-dates": {t: ptStringArray},
		"helper-text":       {t: ptString, max: 80},
		"required":          required,
		"enabled":           enabled,
		"visible":           visible,
		"on-select-action":  selectAct,
		"init-value":        initValue,
		"error-message":     {t: ptString, since: fv(4, 0), max: 80},
	}},
	"CalendarPicker": {since: fv(6, 1), input: true, props: map[string]propSpec{
		"name":              nameProp,
		"label":             {t: ptStringOrObj, req: true, max: 40},
		"mode":              {t: ptString, enum: []string{"single", "range"}},
		"title":             {t: ptString, max: 80},
		"description":       {t: ptString, max: 300},
		"helper-text":       {t: ptStringOrObj, max: 80},
		"required":          {t: ptAny},
		"visible":           visible,
		"enabled":           enabled,
		"min-date":          {t: ptString},
		"max-date":          {t: ptString},
		"unavailable-dates": {t: ptStringArray},
		"include-days":      {t: ptStringArray},
		"min-days":          {t: ptNumber},
		"max-days":          {t: ptNumber},
		"on-select-action":  selectAct,
		"init-value":        {t: ptAny},
		"error-message":     {t: ptStringOrObj, max: 80},
	}},
	"Footer": {props: map[string]propSpec{
		"label":           {t: ptString, req: true, max: 35},
		"on-click-action": {t: ptAction, req: true},
		"left-caption":    {t: ptString, max: 15},
		"center-caption":  {t: ptString, max: 15},
		"right-caption":   {t: ptString, max: 15},
		"enabled":         enabled,
	}},
	"OptIn": {input: true, props: map[string]propSpec{
		"label":           {t: ptString, req: true, max: 120},
		"name":            nameProp,
		"required":        required,
		"on-click-action": {t: ptAction},
		"visible":         visible,
		"init-value":      {t: ptBool, since: fv(4, 0)},
	}},
	"EmbeddedLink": {props: map[string]propSpec{
		// Meta's own 2.1 sign-in example has a 30-character link, so
		// the 25-character limit is applied from 3.0 on.
		"text":            {t: ptString, req: true, max: 25, maxFrom: fv(3, 0)},
		"on-click-action": {t: ptAction, req: true},
		"visible":         visible,
	}},
	"NavigationList": {since: fv(6, 2), props: map[string]propSpec{
		"name":            nameProp,
		"list-items":      {t: ptArray, req: true},
		"label":           {t: ptString, max: 80},
		"description":     {t: ptString, max: 300},
		"media-size":      {t: ptString, enum: []string{"regular", "large"}},
		"on-click-action": {t: ptAction},
		"visible":         visible,
	}},
	"Image": {props: map[string]propSpec{
		"src":          {t: ptString, req: true},
		"width":        {t: ptNumber},
		"height":       {t: ptNumber},
		"scale-type":   {t: ptString, enum: []string{"cover", "contain"}},
		"aspect-ratio": {t: ptNumber},
		"alt-text":     {t: ptString},
		"visible":      visible,
	}},
	"ImageCarousel": {since: fv(7, 1), props: map[string]propSpec{
		"images":       {t: ptArray, req: true},
		"aspect-ratio": {t: ptString, enum: []string{"4:3", "16:9"}},
		"scale-type":   {t: ptString, enum: []string{"cover", "contain"}},
		"visible":      visible,
	}},
	"PhotoPicker": {since: fv(4, 0), input: true, props: map[string]propSpec{
		"name":                nameProp,
		"label":               {t: ptString, req: true, max: 80},
		"description":         {t: ptString, max: 300},
		"photo-source":        {t: ptString, enum: []string{"camera_gallery", "camera", "gallery"}},
		"max-file-size-kb":    {t: ptNumber},
		"min-uploaded-photos": {t: ptNumber},
		"max-uploaded-photos": {t: ptNumber},
		"enabled":             enabled,
		"visible":             visible,
		"error-message":       {t: ptStringOrObj},
	}},
	"DocumentPicker": {since: fv(4, 0), input: true, props: map[string]propSpec{
		"name":                   nameProp,
		"label":                  {t: ptString, req: true, max: 80},
		"description":            {t: ptString, max: 300},
		"max-file-size-kb":       {t: ptNumber},
		"min-uploaded-documents": {t: ptNumber},
		"max-uploaded-documents": {t: ptNumber},
		"allowed-mime-types":     {t: ptStringArray},
		"enabled":                enabled,
		"visible":                visible,
		"error-message":          {t: ptStringOrObj},
	}},
	"Form": {props: map[string]propSpec{
		"name":           nameProp,
		"children":       {t: ptArray, req: true},
		"init-values":    {t: ptObject},
		"error-messages": {t: ptObject},
	}},
	"If": {since: fv(4, 0), props: map[string]propSpec{
		"condition": {t: ptString, req: true},
		"then":      {t: ptArray, req: true},
		"else":      {t: ptArray},
	}},
	"Switch": {since: fv(4, 0), props: map[string]propSpec{
		"value": {t: ptString, req: true},
		"cases": {t: ptObject, req: true},
	}},
}

// inputTypes are the components whose value is a form field.
var inputTypes = func() map[string]bool {
	m := map[string]bool{}
	for name, c := range catalog {
		if c.input {
			m[name] = true
		}
	}
	return m
}()

// pickerTypes are the media pickers, whose values follow special rules.
var pickerTypes = map[string]bool{"PhotoPicker": true, "DocumentPicker": true}

// ifChildren are the components allowed inside If and Switch (spec §1.4).
var ifChildren = map[string]bool{
	"TextHeading": true, "TextSubheading": true, "TextBody": true, "TextCaption": true, "RichText": true,
	"CheckboxGroup": true, "DatePicker": true, "Dropdown": true, "EmbeddedLink": true, "Footer": true,
	"Image": true, "OptIn": true, "RadioButtonsGroup": true, "Switch": true, "If": true,
	"TextArea": true, "TextInput": true, "CalendarPicker": true,
}

// knownVersions are the Flow JSON versions Meta has defined.
var knownVersions = map[string]int{
	"2.1": fv(2, 1), "3.0": fv(3, 0), "3.1": fv(3, 1), "4.0": fv(4, 0), "5.0": fv(5, 0), "5.1": fv(5, 1),
	"6.0": fv(6, 0), "6.1": fv(6, 1), "6.2": fv(6, 2), "6.3": fv(6, 3),
	"7.0": fv(7, 0), "7.1": fv(7, 1), "7.2": fv(7, 2), "7.3": fv(7, 3),
}

// frozenBelow: versions below this can no longer be published (Meta froze
// 2.1–4.0 in April 2025 and 5.0 in September 2025); already published flows
// keep working, so it is a warning.
var frozenBelow = fv(5, 1)

// Versions lists the Flow JSON versions the validator knows, oldest first.
func Versions() []string {
	return []string{"2.1", "3.0", "3.1", "4.0", "5.0", "5.1", "6.0", "6.1", "6.2", "6.3", "7.0", "7.1", "7.2", "7.3"}
}

// LatestVersion is the newest Flow JSON version; new documents use it.
const LatestVersion = "7.3"

func verString(n int) string {
	return string(rune('0'+n/10)) + "." + string(rune('0'+n%10))
}

// ComponentTypes lists the component types the latest version allows,
// sorted (the AI generator names them to the model).
func ComponentTypes() []string {
	latest := knownVersions[LatestVersion]
	var out []string
	for name, c := range catalog {
		if c.since <= latest {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
