package flow

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed templates/*.json
var builtinFS embed.FS

// BuiltinTemplate is a ready-made flow users can start from.
type BuiltinTemplate struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Category    string `json:"category"`
	Graph       Graph  `json:"flow_data"`
}

// Templates returns the built-in flow templates sorted by ID. Each call
// decodes a fresh copy, so callers may modify the result.
func Templates() ([]BuiltinTemplate, error) {
	files, err := fs.Glob(builtinFS, "templates/*.json")
	if err != nil {
		return nil, fmt.Errorf("listing built-in templates: %w", err)
	}
	out := make([]BuiltinTemplate, 0, len(files))
	for _, f := range files {
		b, err := builtinFS.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading built-in template %s: %w", f, err)
		}
		var t BuiltinTemplate
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("decoding built-in template %s: %w", f, err)
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Template returns the built-in template with the given ID.
func Template(id string) (BuiltinTemplate, bool) {
	all, err := Templates()
	if err != nil {
		return BuiltinTemplate{}, false
	}
	for _, t := range all {
		if t.ID == id {
			return t, true
		}
	}
	return BuiltinTemplate{}, false
}
