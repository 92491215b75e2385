package sprint

import (
	"context"
	"encoding/json"
	"time"
)

// Keywords are a project's built-in opt-out and opt-in words.
type Keywords struct {
	Disabled      bool
	OptOut, OptIn []string
}

// keywords reads a project's keyword settings (every inbound text) through
// a cache of a second; ForgetProjects makes a change in this process seen
// at once.
func (h *Handler) projectKeywords(ctx context.Context, projectID string) (Keywords, error) {
	now := time.Now()
	if kw, _, ok := h.projectWords.Get(projectID, now); ok {
		return kw, nil
	}
	p, err := h.st.ProjectGet(ctx, projectID)
	if err != nil {
		return Keywords{}, err
	}
	var settings struct {
		Keywords *struct {
			Enabled *bool    `json:"enabled"`
			OptOut  []string `json:"opt_out"`
			OptIn   []string `json:"opt_in"`
		} `json:"keywords"`
	}
	_ = json.Unmarshal(p.Settings, &settings)
	kw := Keywords{OptOut: []string{"STOP", "UNSUBSCRIBE"}, OptIn: []string{"START"}}
	if k := settings.Keywords; k != nil {
		kw.Disabled = k.Enabled != nil && !*k.Enabled
		if k.OptOut != nil {
			kw.OptOut = k.OptOut
		}
		if k.OptIn != nil {
			kw.OptIn = k.OptIn
		}
	}
	h.projectWords.Put(projectID, kw, nil, now)
	return kw, nil
}

// ForgetProjects drops the cached project settings; call it after changing
// a project's settings.
func (h *Handler) ForgetProjects() { h.projectWords.Forget() }
