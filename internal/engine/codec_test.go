package engine_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
)

func fullSession() *engine.Session {
	return &engine.Session{
		ID: "sess-1", FlowID: "flow-1", Revision: 7, Status: engine.StatusWaiting, Node: 12,
		Frames: []engine.Frame{{FlowID: "child", Revision: 3, Return: 4}, {FlowID: "grandchild", Revision: 1, Return: 0}},
		Wait:   engine.Wait{Kind: engine.WaitReply, Seq: 300, Retries: 2, TimeoutAt: stamp("2030-01-01T10:00:00.123456789Z")},
		Steps:  999, CreatedAt: stamp("2030-01-01T09:00:00Z"), ExpiresAt: stamp("2030-01-02T09:00:00Z"),
		Contact: expr.Contact{ID: "c", Name: "Zoë", Phone: "+1", Language: "pt", Fields: map[string]any{"n": -5, "empty": map[string]any{}}, Tags: []string{}},
		Vars: map[string]any{
			"nil": nil, "t": true, "f": false, "i": math.MinInt64, "big": math.MaxInt64, "x": 2.5, "nan": math.Inf(-1), "s": "héllo\x00",
			"when": stamp("1500-06-01T00:00:00Z"), "list": []any{1, "a", []any{}, map[string]any{"k": nil}}, "nilmap": map[string]any(nil),
		},
		Row:       map[string]any{"phone": "+351"},
		Input:     expr.Input{Type: "flow", Text: "t", Button: "b", ListID: "l", MediaURL: "u", Data: map[string]any{"a": []any{1.5}}},
		EndReason: "",
	}
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    *engine.Session
	}{
		{"full", fullSession()},
		{"minimal", &engine.Session{Status: engine.StatusCompleted, EndReason: "done"}},
		{"nil vs empty", &engine.Session{Status: engine.StatusFailed, Vars: map[string]any{}, Frames: []engine.Frame{}, Contact: expr.Contact{Tags: []string{}, Fields: map[string]any{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := tt.s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back engine.Session
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&back, tt.s) {
				t.Errorf("round trip:\n got %#v\nwant %#v", back, *tt.s)
			}
			b2, _ := back.MarshalBinary()
			if string(b2) != string(b) {
				t.Error("re-encoding differs: the encoding is not deterministic")
			}
		})
	}
}

func TestCodecRejectsBadInput(t *testing.T) {
	t.Parallel()
	good, err := fullSession().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"empty":    nil,
		"version":  append([]byte{99}, good[1:]...),
		"trailing": append(append([]byte{}, good...), 0),
		"huge len": {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for i := 1; i < len(good); i++ {
		bad["truncated "+string(rune('0'+i%10))+time.Duration(i).String()] = good[:i]
	}
	for name, b := range bad {
		var s engine.Session
		if err := s.UnmarshalBinary(b); !errors.Is(err, engine.ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	good, _ := fullSession().MarshalBinary()
	f.Add(good)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s engine.Session
		if s.UnmarshalBinary(b) != nil {
			return
		}
		// Whatever decodes must re-encode stably (bytes, not DeepEqual:
		// a NaN float is never equal to itself).
		b2, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var s2 engine.Session
		if err := s2.UnmarshalBinary(b2); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if b3, _ := s2.MarshalBinary(); string(b3) != string(b2) {
			t.Fatal("re-encoding is not stable")
		}
	})
}

func FuzzUnmarshalState(f *testing.F) {
	s := fullSession()
	keys := engine.HostKeys{ID: s.ID, FlowID: s.FlowID, ContactID: s.Contact.ID, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	held, _ := s.AppendState(nil, keys)
	whole, _ := s.MarshalBinary()
	f.Add(held)
	f.Add(whole)
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s engine.Session
		if s.UnmarshalState(b, keys) != nil {
			return
		}
		// Whatever decodes re-encodes for the same keys, stably.
		b2, err := s.AppendState(nil, keys)
		if err != nil {
			t.Fatalf("re-encoding for the keys it was decoded with: %v", err)
		}
		var s2 engine.Session
		if err := s2.UnmarshalState(b2, keys); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if b3, _ := s2.AppendState(nil, keys); string(b3) != string(b2) {
			t.Fatal("re-encoding is not stable")
		}
	})
}

func TestStartNormalizesValues(t *testing.T) {
	t.Parallel()
	type point struct{ X, Y int }
	vars := map[string]any{"i64": int64(5), "f32": float32(0.5), "strs": []string{"a"}, "struct": point{1, 2}, "local": time.Date(2030, 1, 1, 10, 0, 0, 0, time.FixedZone("X", 3600)),
		"nested": []any{int32(1), map[string]any{"u": uint(2)}}}
	s, _, err := newEngine(t, engine.Services{}).Start(t.Context(), referenceFlow(t), expr.Contact{}, engine.Trigger{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"i64": 5, "f32": 0.5, "strs": []any{"a"}, "struct": map[string]any{"X": 1, "Y": 2}, "local": stamp("2030-01-01T09:00:00Z"),
		"nested": []any{1, map[string]any{"u": 2}}}
	for k, v := range want {
		if !reflect.DeepEqual(s.Vars[k], v) {
			t.Errorf("%s = %#v, want %#v", k, s.Vars[k], v)
		}
	}
	if _, ok := vars["i64"].(int64); !ok {
		t.Error("host vars were modified")
	}
	b, _ := s.MarshalBinary()
	var back engine.Session
	if err := back.UnmarshalBinary(b); err != nil || !reflect.DeepEqual(&back, s) {
		t.Errorf("round trip: %v", err)
	}
}

func TestCodecHostState(t *testing.T) {
	t.Parallel()
	s := fullSession()
	keys := engine.HostKeys{ID: s.ID, FlowID: s.FlowID, ContactID: s.Contact.ID, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	whole, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	held, err := s.AppendState(nil, keys)
	if err != nil {
		t.Fatal(err)
	}
	// IDs, name, phone, language, fields and tags are what it leaves out.
	if saved := len(whole) - len(held); saved < len(s.ID)+len(s.FlowID)+len(s.Contact.ID)+len(s.Contact.Name)+len(s.Contact.Phone) {
		t.Errorf("the host's encoding is %d bytes, the whole one %d: it kept what the host keeps", len(held), len(whole))
	}
	var back engine.Session
	if err := back.UnmarshalState(held, keys); err != nil {
		t.Fatal(err)
	}
	want := *fullSession()
	want.Contact = expr.Contact{ID: keys.ContactID}
	again, err := back.AppendState(nil, keys)
	if err != nil || string(again) != string(held) {
		t.Errorf("re-encoding the decoded session: %v, same bytes %v", err, string(again) == string(held))
	}
	back2 := back
	if _, err := back2.MarshalBinary(); !errors.Is(err, engine.ErrContactHeld) {
		t.Errorf("encoding a session without its contact whole: err = %v, want ErrContactHeld", err)
	}
	if b, _ := back.AppendState(nil, engine.HostKeys{ID: "other", FlowID: keys.FlowID, ContactID: keys.ContactID}); b != nil {
		t.Errorf("a session without its contact, for other keys, encoded to %d bytes", len(b))
	}
	// Everything but the contact survives.
	if g := exported(back); !reflect.DeepEqual(&g, &want) {
		t.Errorf("decoded:\n got %#v\nwant %#v", g, want)
	}
	var plain engine.Session
	if err := plain.UnmarshalBinary(held); !errors.Is(err, engine.ErrCorrupt) {
		t.Errorf("UnmarshalBinary of the host's encoding: err = %v, want ErrCorrupt", err)
	}
	// Keys that differ: encoded whole, and decoded whole whatever the keys.
	other := keys
	other.FlowID = "moved"
	later := keys
	later.ExpiresAt = later.ExpiresAt.Add(time.Hour)
	for _, k := range []engine.HostKeys{other, later} {
		b, err := s.AppendState(nil, k)
		if err != nil || string(b) != string(whole) {
			t.Fatalf("keys that differ (%+v): %v, whole encoding %v", k, err, string(b) == string(whole))
		}
	}
	var full engine.Session
	if err := full.UnmarshalState(whole, other); err != nil || !reflect.DeepEqual(&full, s) {
		t.Errorf("UnmarshalState of a whole encoding: %v\n got %#v\nwant %#v", err, full, *s)
	}
	for i := 1; i < len(held); i++ {
		var x engine.Session
		if err := x.UnmarshalState(held[:i], keys); !errors.Is(err, engine.ErrCorrupt) {
			t.Errorf("truncated at %d: err = %v, want ErrCorrupt", i, err)
		}
	}
}

func TestResumeTakesTheHeldContact(t *testing.T) {
	t.Parallel()
	sc := loadScenario(t, "testdata/reference.json")
	e := newEngine(t, engine.Services{})
	f := referenceFlow(t)
	s, _, err := e.Start(context.Background(), f, sc.Contact, engine.Trigger{Vars: sc.Trigger.Vars})
	if err != nil || !s.Waiting() {
		t.Fatalf("start: %v %v", err, s.Status)
	}
	keys := engine.HostKeys{ID: s.ID, FlowID: s.FlowID, ContactID: s.Contact.ID, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	b, err := s.AppendState(nil, keys)
	if err != nil {
		t.Fatal(err)
	}
	answer := engine.Input{Kind: engine.InputButton, Button: "Yes", Text: "Yes"}
	var bare engine.Session
	if err := bare.UnmarshalState(b, keys); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Resume(context.Background(), f, &bare, answer); !errors.Is(err, engine.ErrContactHeld) {
		t.Fatalf("resuming without the contact: err = %v, want ErrContactHeld", err)
	}
	var got engine.Session
	if err := got.UnmarshalState(b, keys); err != nil {
		t.Fatal(err)
	}
	renamed := sc.Contact
	renamed.Name = "Beatriz"
	answer.Contact = &renamed
	evs, err := e.Resume(context.Background(), f, &got, answer)
	if err != nil {
		t.Fatal(err)
	}
	if out := mustJSON(evs); !strings.Contains(out, "Beatriz") {
		t.Errorf("the flow did not see the contact the host passed: %s", out)
	}
	if got.Contact.Name != "Beatriz" || got.Contact.Fields["city"] != "Lisbon" {
		t.Errorf("session's contact after the resume: %+v", got.Contact)
	}
}

// exported is s without what the engine keeps to itself (a decoded
// session remembers that its contact is missing).
func exported(s engine.Session) engine.Session {
	var out engine.Session
	from, to := reflect.ValueOf(s), reflect.ValueOf(&out).Elem()
	for i := range from.NumField() {
		if from.Type().Field(i).IsExported() {
			to.Field(i).Set(from.Field(i))
		}
	}
	return out
}
