package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	st, err := o.template(ctx, projectID, et)
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

// templateTTL is how long a template read for a send is used for the next
// sends of it: a campaign sends the same template thousands of times a
// second. A template Meta disabled or paused meanwhile is refused by Meta
// itself, whose answer the send records; this check only spares the call.
const templateTTL = time.Second

// cachedTemplate is a template as read at at.
type cachedTemplate struct {
	t  store.MessageTemplate
	at time.Time
}

// template reads the template a flow names, by ID (its name and language
// when the ID is gone), through the cache of recent sends' templates.
func (o *Outbox) template(ctx context.Context, projectID string, et *engine.Template) (store.MessageTemplate, error) {
	key := projectID + "\x00" + et.ID + "\x00" + et.Name + "\x00" + et.Language
	now := o.c.Clock.Now()
	if c, ok := o.templates.Get(key); ok && now.Sub(c.at) < templateTTL && !now.Before(c.at) {
		return c.t, nil
	}
	var st store.MessageTemplate
	var err error
	if et.ID != "" {
		st, err = o.st.TemplateGet(ctx, store.Ref{ProjectID: projectID, ID: et.ID})
	}
	if et.ID == "" || errors.Is(err, store.ErrNotFound) && et.Name != "" {
		st, err = o.st.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: projectID, Name: et.Name, Language: et.Language})
	}
	if err == nil {
		o.templates.Put(key, cachedTemplate{t: st, at: now})
	}
	return st, err
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
