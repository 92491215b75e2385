package channeltest

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
)

// TypeSuite describes a channel type's declaration to the checks every
// registered type passes: what the API, the UI form and the channel service
// rely on.
type TypeSuite struct {
	Type channel.Type
	// Valid is a complete configuration, secrets included.
	Valid map[string]any
	// Invalid are configurations Configure must refuse, each with the JSON
	// pointer its error must name.
	Invalid []InvalidConfig
}

// InvalidConfig is a configuration and the pointer of its error.
type InvalidConfig struct {
	Name    string
	Config  map[string]any
	Pointer string
}

// RunType runs the declaration checks.
func RunType(t *testing.T, s TypeSuite) {
	t.Helper()
	typ := s.Type
	if err := channel.NewRegistry().Register(typ); err != nil {
		t.Fatalf("the type does not register: %v", err)
	}
	fields := map[string]channel.ConfigField{}
	for _, f := range typ.Fields {
		fields[f.Name] = f
		if !slices.Contains([]string{"string", "integer", "number", "boolean"}, f.Type) || f.Label == "" {
			t.Errorf("field %q: type %q and label %q: every field needs a JSON type and a label for the form", f.Name, f.Type, f.Label)
		}
	}
	valid := func() map[string]any {
		cfg := map[string]any{}
		for k, v := range s.Valid {
			cfg[k] = v
		}
		return cfg
	}
	cfg, err := typ.Configure(valid())
	if err != nil {
		t.Fatalf("Configure refused the valid config: %v", err)
	}
	full := map[string]any{}
	for k, v := range cfg.Public {
		full[k] = v
		if f, ok := fields[k]; !ok {
			t.Errorf("Configure stores %q, which no field describes: the form could not show it", k)
		} else if f.Secret {
			t.Errorf("the secret %q is stored in clear", k)
		}
	}
	for k, v := range cfg.Secret {
		full[k] = v
		if f, ok := fields[k]; !ok || !f.Secret {
			t.Errorf("Configure seals %q, which no field marks secret", k)
		}
	}
	for name, f := range fields {
		if _, given := s.Valid[name]; f.Secret && given {
			if _, sealed := cfg.Secret[name]; !sealed {
				t.Errorf("the secret field %q was not sealed", name)
			}
		}
	}
	raw, _ := json.Marshal(full)
	ad, err := typ.New(raw, nil)
	if err != nil {
		t.Fatalf("New refused what Configure made: %v", err)
	}
	if ad.Type() != typ.Name {
		t.Errorf("the adapter says it is %q, the type %q", ad.Type(), typ.Name)
	}
	for k, v := range cfg.Secret {
		if str, ok := v.(string); ok && str != "" && !slices.Contains(ad.Secrets(), str) {
			t.Errorf("Secrets() leaves out the value of %q: logs would not redact it", k)
		}
	}
	if len(typ.Webhooks) > 0 && ad.VerifySignature([]byte(`{}`), http.Header{}) {
		t.Error("an unsigned webhook body was accepted")
	}
	for _, bad := range s.Invalid {
		_, err := typ.Configure(bad.Config)
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid {
			t.Errorf("%s: Configure = %v, want an invalid-input error", bad.Name, err)
			continue
		}
		found := false
		for _, f := range de.Fields {
			found = found || f.Pointer == bad.Pointer
		}
		if !found {
			t.Errorf("%s: the error %v does not point at %s (fields %v)", bad.Name, err, bad.Pointer, de.Fields)
		}
	}
}
