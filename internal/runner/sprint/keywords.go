package sprint

import (
	"context"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

// keywords reads a project's keyword settings (every inbound text) through
// a cache of a second; ForgetProjects makes a change in this process seen
// at once.
func (h *Handler) projectKeywords(ctx context.Context, projectID string) (domain.Keywords, error) {
	now := time.Now()
	if kw, _, ok := h.projectWords.Get(projectID, now); ok {
		return kw, nil
	}
	p, err := h.st.ProjectGet(ctx, projectID)
	if err != nil {
		return domain.Keywords{}, err
	}
	kw := domain.ProjectKeywords(p.Settings)
	h.projectWords.Put(projectID, kw, nil, now)
	return kw, nil
}

// ForgetProjects drops the cached project settings; call it after changing
// a project's settings.
func (h *Handler) ForgetProjects() { h.projectWords.Forget() }
