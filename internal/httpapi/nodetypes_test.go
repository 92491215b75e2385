package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/parleyhq/parley/internal/flow"
)

// TestNodeTypesAPI checks that GET /chat-flow/node-types/ describes every
// registered node type with what the editor builds its palette, forms,
// exits and limits from.
func TestNodeTypesAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.bearer(h.tenant("Alpha").token)
	got := map[string]map[string]any{}
	for _, nt := range c.do("GET", "/chat-flow/node-types/", nil).want(200).json()["results"].([]any) {
		m := nt.(map[string]any)
		got[m["type"].(string)] = m
	}
	for _, want := range flow.NodeTypes() {
		m, ok := got[want.Type]
		if !ok {
			t.Errorf("node type %s is registered but not served", want.Type)
			continue
		}
		delete(got, want.Type)
		for _, key := range []string{"label", "group_label", "description", "available", "fields", "exits", "limits", "defaults", "palette"} {
			if _, ok := m[key]; !ok {
				t.Errorf("%s: no %q", want.Type, key)
			}
		}
		if m["available"] != want.Available || (!want.Available && m["unavailable_reason"] == "") {
			t.Errorf("%s: available = %v, reason %v", want.Type, m["available"], m["unavailable_reason"])
		}
	}
	for typ := range got {
		t.Errorf("served node type %s is not registered", typ)
	}
	// The start type says which trigger channel types this server connects:
	// the registry's (whatsapp, webchat here), not messenger, instagram, viber.
	for _, nt := range c.do("GET", "/chat-flow/node-types/", nil).want(200).json()["results"].([]any) {
		m := nt.(map[string]any)
		if m["type"] != flow.TypeStart {
			continue
		}
		avail := map[string]bool{}
		for _, ct := range m["trigger_channel_types"].([]any) {
			c := ct.(map[string]any)
			avail[c["type"].(string)] = c["available"].(bool)
			if c["available"] == false && c["unavailable_reason"] == "" {
				t.Errorf("%v has no reason", c)
			}
		}
		want := map[string]bool{"whatsapp": true, "webchat": true, "messenger": false, "instagram": false, "viber": false}
		if fmt.Sprint(avail) != fmt.Sprint(want) {
			t.Fatalf("trigger channel types = %v, want %v", avail, want)
		}
	}
	msg, _ := flow.LookupNodeType(flow.TypeMessage)
	var served map[string]any
	for _, nt := range c.do("GET", "/chat-flow/node-types/", nil).want(200).json()["results"].([]any) {
		if m := nt.(map[string]any); m["type"] == flow.TypeMessage {
			served = m
		}
	}
	limits := served["limits"].([]any)
	if len(limits) != len(msg.Limits) || limits[1].(map[string]any)["path"] != "buttons" || num(limits[1].(map[string]any)["max_items"]) != 3 {
		t.Fatalf("message limits = %v", limits)
	}
	dyn := served["exits"].(map[string]any)["dynamic"].([]any)
	if dyn[0].(map[string]any)["from"] != "buttons[*]" {
		t.Fatalf("message exits = %v", served["exits"])
	}
}
