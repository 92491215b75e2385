package runner

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

// channel is a project's channel, read through the channel service's
// short-lived cache.
func (r *Runner) channel(ctx context.Context, projectID, id string) (domain.Channel, error) {
	return r.d.Channels.InProject(ctx, projectID, id)
}

// keywordSettings are a project's built-in opt-out and opt-in words.
type keywordSettings struct {
	disabled      bool
	optOut, optIn []string
}

// projectKeywords reads a project's keyword settings through a cache of a
// second (ForgetProjects makes a change in this process seen at once).
func (r *Runner) projectKeywords(ctx context.Context, projectID string) (keywordSettings, error) {
	now := time.Now()
	if kw, _, ok := r.projectWords.Get(projectID, now); ok {
		return kw, nil
	}
	p, err := r.st.ProjectGet(ctx, projectID)
	if err != nil {
		return keywordSettings{}, err
	}
	var settings struct {
		Keywords *struct {
			Enabled *bool    `json:"enabled"`
			OptOut  []string `json:"opt_out"`
			OptIn   []string `json:"opt_in"`
		} `json:"keywords"`
	}
	_ = json.Unmarshal(p.Settings, &settings)
	kw := keywordSettings{optOut: []string{"STOP", "UNSUBSCRIBE"}, optIn: []string{"START"}}
	if k := settings.Keywords; k != nil {
		kw.disabled = k.Enabled != nil && !*k.Enabled
		if k.OptOut != nil {
			kw.optOut = k.OptOut
		}
		if k.OptIn != nil {
			kw.optIn = k.OptIn
		}
	}
	r.projectWords.Put(projectID, kw, nil, now)
	return kw, nil
}

// ForgetProjects drops the cached project settings; call it after changing
// a project's settings.
func (r *Runner) ForgetProjects() {
	r.projectWords.Forget()
}
