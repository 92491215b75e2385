package flow_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/flow"
)

// TestVoiceCallSchemaHints: the voice_call form learns from the node
// types that channel_id is a voice number, and which voices the realtime
// engine cannot speak.
func TestVoiceCallSchemaHints(t *testing.T) {
	t.Parallel()
	var fields map[string]flow.Field
	for _, nt := range flow.NodeTypes() {
		if nt.Type == flow.TypeVoiceCall {
			fields = map[string]flow.Field{}
			for _, f := range nt.Fields {
				fields[f.Name] = f
			}
		}
	}
	if fields == nil {
		t.Fatal("no voice_call node type")
	}
	cases := []struct {
		name string
		ok   bool
	}{
		{"channel_id is a voice channel", fields["channel_id"].ChannelType == "voice"},
		{"six voices offered", len(fields["voice"].Options) == 6},
		{"other fields name no channel", fields["to"].ChannelType == "" && fields["prompt"].ChannelType == ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !tc.ok {
				t.Fatalf("%s: fields %+v", tc.name, fields)
			}
		})
	}
	ruled := map[string]string{}
	for _, n := range fields["voice"].OptionNotes {
		if n.Field != "engine" || n.Reason == "" {
			t.Fatalf("note %+v", n)
		}
		ruled[n.Value+"/"+n.Option] = n.Reason
	}
	for _, v := range []string{"fable", "onyx", "nova"} {
		if ruled["realtime/"+v] == "" || flow.CheckVoice("realtime", v) == nil {
			t.Errorf("realtime/%s is not ruled out: %v", v, ruled)
		}
	}
	if len(ruled) != 3 {
		t.Errorf("ruled out %v; want only the realtime engine's three", ruled)
	}
}
