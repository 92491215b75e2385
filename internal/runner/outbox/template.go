package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/template"
)

// errTemplate is a template that cannot be sent, with the reason to show in
// the conversation.
type errTemplate struct{ code, reason string }

func (e *errTemplate) Error() string { return e.reason }

// renderTemplate finds the template a flow asked for, checks Meta approved
// it, and renders its parameters.
func (o *Outbox) renderTemplate(ctx context.Context, projectID string, et *engine.Template) (*channel.TemplateSend, error) {
	var st store.MessageTemplate
	var err error
	if et.ID != "" {
		st, err = o.st.TemplateGet(ctx, store.Ref{ProjectID: projectID, ID: et.ID})
	}
	if et.ID == "" || errors.Is(err, store.ErrNotFound) && et.Name != "" {
		st, err = o.st.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: projectID, Name: et.Name, Language: et.Language})
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, &errTemplate{"template_missing", fmt.Sprintf("the template %q does not exist in this project", firstNonEmpty(et.Name, et.ID))}
	}
	if err != nil {
		return nil, err
	}
	t, err := template.FromStored(st)
	if err != nil {
		return nil, &errTemplate{"template_invalid", err.Error()}
	}
	if err := template.CheckSendable(t); err != nil {
		return nil, &errTemplate{"template_not_approved", fmt.Sprintf("the template %q is %s: only templates Meta approved can be sent", t.Name, t.Status)}
	}
	ts, err := template.Render(t, template.ValuesFromLists(et.Header, et.Body, et.ButtonParams))
	if err != nil {
		return nil, &errTemplate{"template_params", "the template's parameters could not be filled: " + err.Error()}
	}
	return ts, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
