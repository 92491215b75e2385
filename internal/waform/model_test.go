package waform

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tp, _ := TemplateByID("appointment_booking")
	f, err := Parse(tp.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != LatestVersion || f.HasEndpoint() || len(f.Screens) != 3 {
		t.Fatalf("%+v", f)
	}
	if first := f.FirstScreen(); first.ID != "APPOINTMENT" {
		t.Fatalf("first screen %q", first.ID)
	}
	summary := f.Screen("SUMMARY")
	if !summary.Terminal || !summary.Success || len(summary.Data) != 7 || summary.Data[0].Name != "service" || summary.Data[0].Type != "string" || string(summary.Data[0].Example) != `"consultation"` {
		t.Fatalf("summary %+v", summary)
	}
	if got := f.Screen("APPOINTMENT").Fields(); !reflect.DeepEqual(got, []string{"service", "date", "time"}) {
		t.Fatalf("fields %v", got)
	}
	want := []string{"date", "email", "name", "notes", "phone", "reminders", "service", "time"}
	if got := f.CompleteFields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("complete fields %v", got)
	}
	acts := f.Screen("DETAILS").Actions()
	if len(acts) != 1 || acts[0].Name != "navigate" || acts[0].Next != "SUMMARY" {
		t.Fatalf("actions %+v", acts)
	}

	// The entry screen comes from the routing model, not document order.
	routed := []byte(`{"version":"7.3","routing_model":{"START":["END"]},"screens":[
{"id":"END","terminal":true,"layout":{"type":"SingleColumnLayout","children":[]}},
{"id":"START","layout":{"type":"SingleColumnLayout","children":[{"type":"If","condition":"${form.a}","then":[{"type":"TextInput","name":"inner","label":"x"}]}]}}]}`)
	f, err = Parse(routed)
	if err != nil {
		t.Fatal(err)
	}
	if f.FirstScreen().ID != "START" || !reflect.DeepEqual(f.RoutingModel["START"], []string{"END"}) {
		t.Fatalf("%+v", f)
	}
	if got := f.Screen("START").Fields(); !reflect.DeepEqual(got, []string{"inner"}) {
		t.Fatalf("fields inside If %v", got)
	}

	for _, bad := range []string{`[]`, `{"version":"7.3"}`, `{"screens":[{"layout":{}}]}`, `{`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}
