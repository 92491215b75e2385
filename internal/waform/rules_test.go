package waform

import (
	"fmt"
	"strings"
	"testing"
)

const footerComplete = `{"type":"Footer","label":"Done","on-click-action":{"name":"complete","payload":{}}}`

// one is a one-screen terminal flow of the given version whose layout holds
// children followed by a completing Footer.
func one(ver string, children ...string) string {
	return oneWith(ver, `"data":{}`, append(children, footerComplete)...)
}

// oneWith is one with the screen's extra properties and no automatic Footer.
func oneWith(ver, screenProps string, children ...string) string {
	if screenProps != "" {
		screenProps += ","
	}
	return fmt.Sprintf(`{"version":%q,"screens":[{"id":"A","terminal":true,%s"layout":{"type":"SingleColumnLayout","children":[%s]}}]}`,
		ver, screenProps, strings.Join(children, ","))
}

// two is a flow A → B (navigate with payload) where B is terminal and
// declares data.
func two(ver, payload, bData string, aExtra ...string) string {
	a := append(aExtra, fmt.Sprintf(`{"type":"Footer","label":"Next","on-click-action":{"name":"navigate","next":{"type":"screen","name":"B"},"payload":%s}}`, payload))
	return fmt.Sprintf(`{"version":%q,"screens":[
{"id":"A","data":{},"layout":{"type":"SingleColumnLayout","children":[%s]}},
{"id":"B","terminal":true,"data":%s,"layout":{"type":"SingleColumnLayout","children":[%s]}}]}`,
		ver, strings.Join(a, ","), bData, footerComplete)
}

// endpointFlow is an endpoint flow with the given routing model over
// screens (all with data_exchange footers; the last ones terminal).
func endpointFlow(routing string, ids ...string) string {
	var screens []string
	for i, id := range ids {
		action := `{"name":"data_exchange","payload":{}}`
		term := ""
		if i == len(ids)-1 {
			action = `{"name":"complete","payload":{}}`
			term = `"terminal":true,`
		}
		screens = append(screens, fmt.Sprintf(`{"id":%q,%s"data":{},"layout":{"type":"SingleColumnLayout","children":[{"type":"Footer","label":"Go","on-click-action":%s}]}}`, id, term, action))
	}
	return fmt.Sprintf(`{"version":"6.0","data_api_version":"3.0","routing_model":%s,"screens":[%s]}`, routing, strings.Join(screens, ","))
}

func rep(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.ReplaceAll(s, "#", fmt.Sprint(i))
	}
	return out
}

func TestRules(t *testing.T) {
	t.Parallel()
	textInput := `{"type":"TextInput","name":"email","label":"Email"}`
	photo := `{"type":"PhotoPicker","name":"photo","label":"Photos","max-uploaded-photos":1}`
	link := `{"type":"EmbeddedLink","text":"Open","on-click-action":{"name":"open_url","url":"https://example.com"}}`
	image := `{"type":"Image","src":"iVBORw0KGgo="}`
	letters := strings.NewReplacer("0", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6", "g", "7", "h", "8", "i", "9", "j")
	var hundredOne []string
	for i := range 101 {
		id, next := letters.Replace(fmt.Sprint("S_", i)), letters.Replace(fmt.Sprint("S_", i+1))
		footer := fmt.Sprintf(`{"type":"Footer","label":"Next","on-click-action":{"name":"navigate","next":{"type":"screen","name":%q},"payload":{}}}`, next)
		term := ""
		if i == 100 {
			footer, term = footerComplete, `"terminal":true,`
		}
		hundredOne = append(hundredOne, fmt.Sprintf(`{"id":%q,%s"data":{},"layout":{"type":"SingleColumnLayout","children":[%s]}}`, id, term, footer))
	}
	cases := []struct {
		rule, doc, code, pointer string
	}{
		{"JSON syntax", `{"version": "6.0",, }`, CodeInvalidFlowJSON, ""},
		{"document is an object", `[1]`, CodeInvalidFlowJSON, ""},
		{"version required", `{"screens":[]}`, CodeMissingFlowJSONVersion, "/version"},
		{"version format", `{"version":"six","screens":[]}`, CodeInvalidFlowJSONVersion, "/version"},
		{"version known", `{"version":"9.9","screens":[]}`, CodeUnsupportedFlowJSONVersion, "/version"},
		{"unknown top-level key", strings.Replace(one("6.0"), `"screens"`, `"colour":"red","screens"`, 1), CodeInvalidPropertyKey, "/colour"},
		{"data_channel_uri removed in 3.0", strings.Replace(one("3.0"), `"screens"`, `"data_channel_uri":"https://x.example","screens"`, 1), CodeInvalidPropertyKey, "/data_channel_uri"},
		{"data_api_version value", strings.Replace(one("6.0"), `"screens"`, `"data_api_version":"5.0","routing_model":{"A":[]},"screens"`, 1), CodeNoSupportedDataAPIVersion, "/data_api_version"},
		{"data API 4.0 needs 7.3", strings.Replace(one("7.1"), `"screens"`, `"data_api_version":"4.0","routing_model":{"A":[]},"screens"`, 1), CodeNoSupportedDataAPIVersion, "/data_api_version"},
		{"data_api_version needs routing_model", strings.Replace(one("6.0"), `"screens"`, `"data_api_version":"3.0","screens"`, 1), CodeMissingRequiredProperty, "/routing_model"},
		{"at least one screen", `{"version":"6.0","screens":[]}`, CodeMinItemsRequired, "/screens"},
		{"at most 100 screens", `{"version":"6.0","screens":[` + strings.Join(hundredOne, ",") + `]}`, CodeMaxScreensNumber, "/screens"},
		{"SUCCESS is reserved", strings.Replace(one("6.0"), `"id":"A"`, `"id":"SUCCESS"`, 1), CodeScreenIDIsReservedKeyword, "/screens/0/id"},
		{"screen id pattern", strings.Replace(one("6.0"), `"id":"A"`, `"id":"STEP-1"`, 1), CodePatternMismatch, "/screens/0/id"},
		{"duplicate screen ids", `{"version":"6.0","screens":[` + strings.TrimSuffix(strings.TrimPrefix(one("6.0"), `{"version":"6.0","screens":[`), "]}") + "," + strings.TrimSuffix(strings.TrimPrefix(one("6.0"), `{"version":"6.0","screens":[`), "]}") + `]}`, CodeDuplicateScreenIDs, "/screens/1/id"},
		{"a terminal screen exists", oneWith("6.0", "", link)[:0] + strings.Replace(oneWith("6.0", "", link), `"terminal":true,`, "", 1), CodeMissingTerminalScreen, "/screens"},
		{"terminal screens have a Footer", oneWith("6.0", "", link), CodeMissingFooterOnTerminalScreen, "/screens/0/layout/children"},
		{"one terminal screen succeeds", oneWith("6.0", `"success":false`, footerComplete), CodeInvalidPropertyValue, "/screens"},
		{"success only on terminal screens", strings.Replace(two("6.0", `{}`, `{}`), `{"id":"A",`, `{"id":"A","success":true,`, 1), CodeInvalidDependencies, "/screens/0/success"},
		{"complete only on terminal screens", two("6.0", `{}`, `{}`, `{"type":"OptIn","name":"o","label":"x","on-click-action":{"name":"complete","payload":{}}}`), CodeInvalidEnumValue, "/screens/0/layout/children/0/on-click-action/name"},
		{"complete on a non-terminal Footer", strings.Replace(strings.Replace(two("6.0", `{}`, `{}`, `{"type":"EmbeddedLink","text":"B","on-click-action":{"name":"navigate","next":{"type":"screen","name":"B"},"payload":{}}}`), `"name":"navigate","next":{"type":"screen","name":"B"},"payload":{}}}]`, `"name":"complete","payload":{}}}]`, 1), `"label":"Next"`, `"label":"Send"`, 1), CodeInvalidCompleteAction, "/screens/0/layout/children/1/on-click-action/name"},
		{"navigate target exists", one("6.0", `{"type":"EmbeddedLink","text":"More","on-click-action":{"name":"navigate","next":{"type":"screen","name":"NOPE"},"payload":{}}}`), CodeInvalidNavigateNextScreenName, "/screens/0/layout/children/0/on-click-action/next/name"},
		{"navigate not to the same screen", one("6.0", `{"type":"EmbeddedLink","text":"More","on-click-action":{"name":"navigate","next":{"type":"screen","name":"A"},"payload":{}}}`), CodeInvalidNavigateNextScreenName, "/screens/0/layout/children/0/on-click-action/next/name"},
		{"navigate payload declared on next screen", two("6.0", `{"x":"1"}`, `{}`), CodeInvalidNavigateActionPayload, "/screens/0/layout/children/0/on-click-action/payload/x"},
		{"navigate payload type", two("6.0", `{"n":true}`, `{"n":{"type":"number","__example__":1}}`), CodeInvalidNavigateActionPayload, "/screens/0/layout/children/0/on-click-action/payload/n"},
		{"${data.x} declared", one("6.0", `{"type":"TextBody","text":"${data.missing}"}`), CodeInvalidScreenDynamicData, "/screens/0/layout/children/0/text"},
		{"${form.x} resolves in payloads", oneWith("6.0", `"data":{}`, `{"type":"Footer","label":"Done","on-click-action":{"name":"complete","payload":{"e":"${form.mail}"}}}`), CodeInvalidOnClickActionPayload, "/screens/0/layout/children/0/on-click-action/payload/e"},
		{"${screen.S…} names a screen", one("6.0", `{"type":"TextBody","text":"${screen.NOPE.form.x}"}`), CodeInvalidPropertyValue, "/screens/0/layout/children/0/text"},
		{"${screen.S…} needs 4.0", one("3.1", `{"type":"TextBody","text":"${screen.A.form.x}"}`), CodeInvalidPropertyValue, "/screens/0/layout/children/0/text"},
		{"data_exchange needs data_api_version", oneWith("6.0", `"data":{}`, `{"type":"Footer","label":"Go","on-click-action":{"name":"data_exchange","payload":{}}}`), CodeMissingRequiredProperty, "/screens/0/layout/children/0/on-click-action/name"},
		{"update_data from 6.0", one("5.1", `{"type":"Dropdown","name":"d","label":"D","data-source":[{"id":"a","title":"A"}],"on-select-action":{"name":"update_data","payload":{}}}`), CodeInvalidEnumValue, "/screens/0/layout/children/0/on-select-action/name"},
		{"update_data keys in the data model", one("6.0", `{"type":"Dropdown","name":"d","label":"D","data-source":[{"id":"a","title":"A"}],"on-select-action":{"name":"update_data","payload":{"shown":true}}}`), CodeInvalidActionPayloadProperty, "/screens/0/layout/children/0/on-select-action/payload/shown"},
		{"open_url only on links and opt-ins", oneWith("6.0", `"data":{}`, `{"type":"Footer","label":"Go","on-click-action":{"name":"open_url","url":"https://example.com"}}`), CodeInvalidEnumValue, "/screens/0/layout/children/0/on-click-action/name"},
		{"open_url from 6.0", one("5.1", `{"type":"EmbeddedLink","text":"Open","on-click-action":{"name":"open_url","url":"https://example.com"}}`), CodeInvalidEnumValue, "/screens/0/layout/children/0/on-click-action/name"},
		{"open_url needs an absolute URL", one("6.0", `{"type":"EmbeddedLink","text":"Open","on-click-action":{"name":"open_url","url":"/terms"}}`), CodeInvalidPropertyValueFormat, "/screens/0/layout/children/0/on-click-action/url"},
		{"routing model lists every screen", endpointFlow(`{"A":["B"]}`, "A", "B", "C"), CodeInvalidRoutingModel, "/routing_model"},
		{"routing model names real screens", endpointFlow(`{"A":["B","Z"],"B":[]}`, "A", "B"), CodeInvalidRoutingModel, "/routing_model/A/1"},
		{"routing model has no self-loops", endpointFlow(`{"A":["A","B"],"B":[]}`, "A", "B"), CodeInvalidRoutingModel, "/routing_model/A/0"},
		{"routing model has no back edges", endpointFlow(`{"A":["B"],"B":["C"],"C":["B"]}`, "A", "B", "C"), CodeInvalidRoutingModel, "/routing_model/C"},
		{"routing model has an entry screen", endpointFlow(`{"A":["B"],"B":["A"]}`, "A", "B"), CodeInvalidRoutingModel, "/routing_model/A"},
		{"routing model has at most 10 branches", endpointFlow(`{"A":["B","C","D","E","F","G","H","I","J","K","L"],"B":[],"C":[],"D":[],"E":[],"F":[],"G":[],"H":[],"I":[],"J":[],"K":[],"L":[]}`, "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"), CodeInvalidRoutingModel, "/routing_model/A"},
		{"every navigate is in the routing model", strings.Replace(two("6.0", `{}`, `{}`), `"screens"`, `"routing_model":{"A":[],"B":[]},"screens"`, 1), CodeInvalidRoutingModel, "/screens/0/layout/children/0/on-click-action/next/name"},
		{"endpoint-less flows have no loops", strings.Replace(two("6.0", `{}`, `{}`), footerComplete, `{"type":"EmbeddedLink","text":"Back","on-click-action":{"name":"navigate","next":{"type":"screen","name":"A"},"payload":{}}},`+footerComplete, 1), CodeInvalidRoutingModel, "/screens/0"},
		{"Footer in both If branches", oneWith("6.0", `"data":{"on":{"type":"boolean","__example__":true}}`, `{"type":"If","condition":"${data.on}","then":[`+footerComplete+`],"else":[{"type":"TextBody","text":"x"}]}`), CodeMissingFooterInIfElseBranches, "/screens/0/layout/children/0"},
		{"Footer in every Switch case", oneWith("6.0", `"data":{"k":{"type":"string","__example__":"a"}}`, `{"type":"Switch","value":"${data.k}","cases":{"a":[`+footerComplete+`],"b":[{"type":"TextBody","text":"x"}]}}`), CodeMissingFooterInSwitchBranches, "/screens/0/layout/children/0/cases"},
		{"If condition has a dynamic operand", one("6.0", `{"type":"If","condition":"1 == 1","then":[{"type":"TextBody","text":"x"}]}`), CodeInvalidPropertyValue, "/screens/0/layout/children/0/condition"},
		{"If condition syntax", one("6.0", `{"type":"If","condition":"(${form.a} == 'x'","then":[{"type":"TextBody","text":"x"}]}`, `{"type":"OptIn","name":"a","label":"A"}`), CodeInvalidPropertyValue, "/screens/0/layout/children/0/condition"},
		{"no literals on both sides of an operator", one("6.0", `{"type":"If","condition":"${form.a} && ('x' == 'y')","then":[{"type":"TextBody","text":"x"}]}`, `{"type":"OptIn","name":"a","label":"A"}`), CodeInvalidPropertyValue, "/screens/0/layout/children/0/condition"},
		{"nested expression syntax", one("6.0", "{\"type\":\"TextBody\",\"text\":\"`'Total: ' (${form.n} *`\"}", `{"type":"TextInput","name":"n","label":"N"}`), CodeInvalidPropertyValue, "/screens/0/layout/children/0/text"},
		{"one Footer per screen", one("6.0", footerComplete), CodeMaxFooterPerScreen, "/screens/0/layout/children"},
		{"two EmbeddedLinks per screen", one("6.0", link, link, link), CodeMaxEmbeddedLinkPerScreen, "/screens/0/layout/children"},
		{"three Images per screen", one("6.0", image, image, image, image), CodeMaxImagePerScreen, "/screens/0/layout/children"},
		{"five OptIns per screen", one("6.0", rep(`{"type":"OptIn","name":"o#","label":"x"}`, 6)...), CodeMaxOptInPerScreen, "/screens/0/layout/children"},
		{"fifty components per screen", one("6.0", rep(`{"type":"TextBody","text":"line #"}`, 50)...), CodeInvalidPropertyValue, "/screens/0/layout/children"},
		{"no blank strings from 6.0", one("6.0", `{"type":"TextBody","text":"  "}`), CodePatternMismatch, "/screens/0/layout/children/0/text"},
		{"character limits", one("6.0", `{"type":"TextHeading","text":"`+strings.Repeat("h", 81)+`"}`), CodeInvalidPropertyValue, "/screens/0/layout/children/0/text"},
		{"required properties", one("6.0", `{"type":"TextInput","name":"e"}`), CodeMissingRequiredProperty, "/screens/0/layout/children/0/label"},
		{"component type required", one("6.0", `{"text":"x"}`), CodeMissingRequiredTypeProperty, "/screens/0/layout/children/0/type"},
		{"component version gate", one("6.0", `{"type":"CalendarPicker","name":"c","label":"When"}`), CodeInvalidPropertyValue, "/screens/0/layout/children/0/type"},
		{"property version gate", one("6.1", `{"type":"TextInput","name":"c","label":"Code","pattern":"[0-9]+","helper-text":"digits"}`), CodeInvalidPropertyKey, "/screens/0/layout/children/0/pattern"},
		{"unknown component property", one("6.0", `{"type":"TextBody","text":"x","colour":"red"}`), CodeInvalidPropertyKey, "/screens/0/layout/children/0/colour"},
		{"pattern needs helper-text", one("6.2", `{"type":"TextInput","name":"c","label":"Code","pattern":"[0-9]+"}`), CodeMissingRequiredProperty, "/screens/0/layout/children/0/helper-text"},
		{"enum values", one("6.0", `{"type":"TextInput","name":"c","label":"When","input-type":"date"}`), CodeInvalidEnumValue, "/screens/0/layout/children/0/input-type"},
		{"property types", one("6.0", `{"type":"TextInput","name":"c","label":"Code","required":"yes"}`), CodeInvalidPropertyType, "/screens/0/layout/children/0/required"},
		{"Footer captions", oneWith("6.0", `"data":{}`, `{"type":"Footer","label":"Done","left-caption":"a","right-caption":"b","center-caption":"c","on-click-action":{"name":"complete","payload":{}}}`), CodeInvalidDependencies, "/screens/0/layout/children/0/center-caption"},
		{"inputs inside a Form before 4.0", one("3.1", textInput), CodeKeywordOneOf, "/screens/0/layout/children/0"},
		{"no inputs outside an existing Form", one("6.0", `{"type":"Form","name":"f","children":[{"type":"TextInput","name":"a","label":"A"}]}`, textInput), CodeComponentsOutsideForm, "/screens/0/layout/children/1"},
		{"unique component names", one("6.0", textInput, textInput), CodeDuplicateFormComponentNames, "/screens/0/layout/children/1/name"},
		{"no pickers in Form init-values", one("6.0", `{"type":"Form","name":"f","init-values":{"photo":[]},"children":[`+photo+`]}`), CodeNativeComponentInFormInitValue, "/screens/0/layout/children/0/init-values/photo"},
		{"no pickers in navigate payloads", two("6.0", `{"p":"${form.photo}"}`, `{"p":{"type":"string","__example__":"x"}}`, photo), CodeInvalidOnClickActionPayload, "/screens/0/layout/children/1/on-click-action/payload/p"},
		{"pickers top-level in complete payloads", oneWith("6.0", `"data":{}`, photo, `{"type":"Footer","label":"Send","on-click-action":{"name":"complete","payload":{"media":{"photo":"${form.photo}"}}}}`), CodeInvalidOnClickActionPayload, "/screens/0/layout/children/1/on-click-action/payload/media/photo"},
		{"complete payload pickers take one file", oneWith("6.0", `"data":{}`, `{"type":"PhotoPicker","name":"photo","label":"Photos"}`, `{"type":"Footer","label":"Send","on-click-action":{"name":"complete","payload":{"media":"${form.photo}"}}}`), CodeInvalidOnClickActionPayload, "/screens/0/layout/children/1/on-click-action/payload/media"},
		{"one media picker per screen", one("6.0", photo, `{"type":"DocumentPicker","name":"doc","label":"Files"}`), CodeMaxMediaPickerPerScreen, "/screens/0/layout/children"},
		{"picker min not above max", one("6.0", `{"type":"PhotoPicker","name":"p","label":"P","min-uploaded-photos":5,"max-uploaded-photos":2}`), CodeMinValueGreaterThanMax, "/screens/0/layout/children/0/min-uploaded-photos"},
		{"picker file size range", one("6.0", `{"type":"DocumentPicker","name":"p","label":"P","max-file-size-kb":30000}`), CodeMaximumValueRequired, "/screens/0/layout/children/0/max-file-size-kb"},
		{"refresh_on_back needs an endpoint", oneWith("6.0", `"refresh_on_back":true`, footerComplete), CodeInvalidPropertyValue, "/screens/0/refresh_on_back"},
		{"data fields need __example__", oneWith("6.0", `"data":{"x":{"type":"string"}}`, footerComplete), CodeInvalidScreenData, "/screens/0/data/x"},
		{"__example__ matches the type", oneWith("6.0", `"data":{"x":{"type":"number","__example__":"1"}}`, footerComplete), CodeInvalidScreenData, "/screens/0/data/x/__example__"},
		{"dynamic data-source is an array of id/title objects", oneWith("6.0", `"data":{"opts":{"type":"array","items":{"type":"string"},"__example__":["a"]}}`, `{"type":"Dropdown","name":"d","label":"D","data-source":"${data.opts}"}`, footerComplete), CodeInvalidScreenDynamicData, "/screens/0/layout/children/0/data-source"},
		{"data-source has options", one("6.0", `{"type":"RadioButtonsGroup","name":"r","label":"R","data-source":[]}`), CodeMinItemsRequired, "/screens/0/layout/children/0/data-source"},
		{"RichText alone before 6.3", one("5.1", `{"type":"RichText","text":"# Hi"}`), CodeInvalidPropertyValue, "/screens/0/layout/children"},
		{"If nesting depth", one("6.0", `{"type":"If","condition":"${form.a}","then":[{"type":"If","condition":"${form.a}","then":[{"type":"If","condition":"${form.a}","then":[{"type":"If","condition":"${form.a}","then":[{"type":"TextBody","text":"deep"}]}]}]}]}`, `{"type":"OptIn","name":"a","label":"A"}`), CodeInvalidPropertyValue, "/screens/0/layout/children/0/then/0/then/0/then/0"},
		{"layout type", strings.Replace(one("6.0"), `"SingleColumnLayout"`, `"TwoColumns"`, 1), CodeInvalidEnumValue, "/screens/0/layout/type"},
		{"no navigate from a terminal Footer", strings.Replace(two("6.0", `{}`, `{}`), `{"id":"A",`, `{"id":"A","terminal":true,`, 1), CodeInvalidEnumValue, "/screens/0/layout/children/0/on-click-action/name"},
		{"navigate payload gives all declared data", two("6.0", `{"a":"x"}`, `{"a":{"type":"string","__example__":"x"},"b":{"type":"string","__example__":"y"}}`), CodeInvalidNavigateActionPayload, "/screens/0/layout/children/0/on-click-action/payload"},
		{"dates are YYYY-MM-DD from 5.0", one("6.0", `{"type":"DatePicker","name":"d","label":"Day","min-date":"1693569600000"}`), CodeInvalidPropertyValueFormat, "/screens/0/layout/children/0/min-date"},
		{"dates are timestamps before 5.0", one("4.0", `{"type":"DatePicker","name":"d","label":"Day","unavailable-dates":["2024-01-01"]}`), CodeInvalidPropertyValueFormat, "/screens/0/layout/children/0/unavailable-dates/0"},
		{"option images at most 100 KB from 6.0", one("6.0", `{"type":"RadioButtonsGroup","name":"r","label":"R","data-source":[{"id":"a","title":"A","image":"`+strings.Repeat("A", 140*1024)+`"}]}`), CodeInvalidPropertyValue, "/screens/0/layout/children/0/data-source/0/image"},
		{"NavigationList badge length", `{"version":"6.2","screens":[{"id":"A","layout":{"type":"SingleColumnLayout","children":[{"type":"NavigationList","name":"l","list-items":[{"id":"x","main-content":{"title":"X"},"badge":"` + strings.Repeat("b", 16) + `","on-click-action":{"name":"navigate","next":{"type":"screen","name":"B"},"payload":{}}}]}]}},{"id":"B","terminal":true,"layout":{"type":"SingleColumnLayout","children":[` + footerComplete + `]}}]}`, CodeInvalidPropertyValue, "/screens/0/layout/children/0/list-items/0/badge"},
		{"CheckboxGroup label from 4.0", one("4.0", `{"type":"CheckboxGroup","name":"c","data-source":[{"id":"a","title":"A"}]}`), CodeMissingRequiredProperty, "/screens/0/layout/children/0/label"},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			t.Parallel()
			res := Validate([]byte(tc.doc))
			errs := res.Errors()
			if len(errs) != 1 || errs[0].Code != tc.code || errs[0].Pointer != tc.pointer {
				t.Fatalf("want exactly %s at %q, got %+v", tc.code, tc.pointer, errs)
			}
			if errs[0].Line < 1 || errs[0].Column < 1 || errs[0].Message == "" {
				t.Fatalf("problem lacks a position or message: %+v", errs[0])
			}
		})
	}
	if len(cases) < 30 {
		t.Fatalf("only %d rules", len(cases))
	}
}

func TestPositions(t *testing.T) {
	t.Parallel()
	doc := "{\n  \"version\": \"6.0\",\n  \"screens\": [\n    {\"id\": \"A\", \"terminal\": true, \"layout\": {\"type\": \"SingleColumnLayout\", \"children\": [\n      {\"type\": \"TextHeading\", \"text\": \"  \"},\n      " + footerComplete + "\n    ]}}\n  ]\n}"
	errs := Validate([]byte(doc)).Errors()
	if len(errs) != 1 {
		t.Fatalf("%+v", errs)
	}
	if p := errs[0]; p.Line != 5 || p.Column != 39 || p.Pointer != "/screens/0/layout/children/0/text" {
		t.Fatalf("position %+v", p)
	}
	bad := Validate([]byte("{\n  \"version\": \"6.0\"\n  \"screens\": []\n}")).Errors()
	if len(bad) != 1 || bad[0].Code != CodeInvalidFlowJSON || bad[0].Line != 3 || bad[0].Column != 3 {
		t.Fatalf("syntax error position %+v", bad)
	}
	pointer := Validate([]byte(strings.Replace(one("6.0"), `"screens"`, `"a/b~c":1,"screens"`, 1))).Errors()
	if len(pointer) != 1 || pointer[0].Pointer != "/a~1b~0c" {
		t.Fatalf("pointer escaping %+v", pointer)
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	res := Validate([]byte(one("5.1", `{"type":"TextBody","text":"   "}`)))
	if !res.Valid() || len(res.Problems) != 0 {
		t.Fatalf("blank strings are fine before 6.0: %+v", res.Problems)
	}
	res = Validate([]byte(one("4.0")))
	if !res.Valid() || len(res.Problems) != 1 || res.Problems[0].Severity != SeverityWarning {
		t.Fatalf("a frozen version is a warning: %+v", res.Problems)
	}
	if res.Version != "4.0" {
		t.Fatalf("version %q", res.Version)
	}
}

func TestHostileInput(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		"", "null", `"x"`, strings.Repeat("[", 100000), `{"version":"6.0","screens":[null,1,"x",{"id":5}]}`,
		`{"version":"6.0","screens":[{"id":"A","layout":{"type":"SingleColumnLayout","children":[null,{"type":3},{"type":"If"},{"type":"Switch","cases":[]}]}}]}`,
		`{"version":"6.0","routing_model":[],"screens":[{"id":"A","terminal":true,"layout":{"type":"SingleColumnLayout","children":"x"}}]}`,
		"{\"version\":\"6.0\",\"screens\":[{\"id\":\"A\xff\"}]}",
	} {
		res := Validate([]byte(doc))
		if res.Valid() {
			t.Errorf("%.40q validated", doc)
		}
	}
	big := make([]byte, MaxFlowJSONBytes+1)
	if errs := Validate(big).Errors(); len(errs) != 1 || errs[0].Code != CodeInvalidFlowJSON {
		t.Fatalf("oversize: %+v", errs)
	}
}

func TestProblemsInDocumentOrder(t *testing.T) {
	t.Parallel()
	doc := "{\"version\":\"6.0\",\"screens\":[{\"id\":\"A\",\"terminal\":true,\"layout\":{\"type\":\"SingleColumnLayout\",\"children\":[\n" +
		"{\"type\":\"TextBody\",\"text\":\" \"},\n{\"type\":\"TextHeading\",\"text\":\"" + strings.Repeat("h", 90) + "\"},\n" + footerComplete + "]}}],\"extra\":1}"
	ps := Validate([]byte(doc)).Problems
	if len(ps) != 3 {
		t.Fatalf("%+v", ps)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].Line < ps[i-1].Line || (ps[i].Line == ps[i-1].Line && ps[i].Column < ps[i-1].Column) {
			t.Fatalf("out of order: %+v", ps)
		}
	}
}
