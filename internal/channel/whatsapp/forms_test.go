package whatsapp

import (
	"testing"

	"github.com/parleyhq/parley/internal/channel"
)

func TestParseFlowsWebhook(t *testing.T) {
	t.Parallel()
	// The FLOW_STATUS_CHANGE example of Meta's Flows webhook reference.
	body := `{"object":"whatsapp_business_account","entry":[{"id":"104996122399160","time":1684969340,"changes":[{"field":"flows","value":{
	 "event":"FLOW_STATUS_CHANGE","message":"Flow Webhook 3 changed status from DRAFT to PUBLISHED",
	 "flow_id":"6627390910605886","old_status":"DRAFT","new_status":"PUBLISHED"}}]}]}`
	evs, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != channel.KindFormStatus || evs[0].Form == nil {
		t.Fatalf("events = %+v", evs)
	}
	f := evs[0].Form
	if f.ID != "6627390910605886" || f.NewStatus != "PUBLISHED" || f.OldStatus != "DRAFT" || f.Event != "FLOW_STATUS_CHANGE" || evs[0].BusinessID != "104996122399160" {
		t.Fatalf("form update = %+v (business %q)", f, evs[0].BusinessID)
	}
}

func TestDottedToPointer(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"screens[0].layout.children[1].type": "/screens/0/layout/children/1/type",
		"":                                   "",
		"version":                            "/version",
	} {
		if got := dottedToPointer(in); got != want {
			t.Errorf("dottedToPointer(%q) = %q, want %q", in, got, want)
		}
	}
}
