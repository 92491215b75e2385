package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
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
func (r *Runner) renderTemplate(ctx context.Context, projectID string, et *engine.Template) (*channel.TemplateSend, error) {
	var st store.MessageTemplate
	var err error
	if et.ID != "" {
		st, err = r.st.TemplateGet(ctx, store.Ref{ProjectID: projectID, ID: et.ID})
	}
	if et.ID == "" || errors.Is(err, store.ErrNotFound) && et.Name != "" {
		st, err = r.st.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: projectID, Name: et.Name, Language: et.Language})
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

// TemplateSendParams sends an approved template to a contact, or starts
// the flow whose start template it is.
type TemplateSendParams struct {
	ProjectID string
	Channel   domain.Channel
	// ContactID names the contact; else Phone (E.164) finds or creates
	// them on the channel.
	ContactID, Phone string
	// FlowID, when set, is the published flow whose start template this
	// is: it is started (as SessionID) instead of sending the template.
	FlowID, SessionID string
	Template          engine.Template
}

// TemplateSendResult is what SendTemplateTo did: the event that starts the
// flow, or the queued message.
type TemplateSendResult struct {
	ContactID string
	Event     domain.ContactEvent
	Message   domain.Message
}

// SendTemplateTo finds (or creates) the contact and starts the flow or
// queues the template, in one transaction.
func (r *Runner) SendTemplateTo(ctx context.Context, p TemplateSendParams) (TemplateSendResult, error) {
	var out TemplateSendResult
	err := r.st.InTx(ctx, func(q store.Queries) error {
		out.ContactID = p.ContactID
		if p.ContactID != "" {
			if _, err := q.ContactGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.ContactID}); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return domain.Invalid("/contact_id", "contact %q not found", p.ContactID)
				}
				return err
			}
		} else {
			c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p.ProjectID, Scheme: p.Channel.Type, Path: strings.TrimPrefix(p.Phone, "+"),
				ChannelID: p.Channel.ID, NewID: r.d.IDs.NewID(), Phone: p.Phone, Now: r.d.Clock.Now()})
			if err != nil {
				return err
			}
			out.ContactID = c.ID
		}
		var err error
		if p.FlowID != "" {
			out.Event, err = r.Start(ctx, q, StartParams{ProjectID: p.ProjectID, FlowID: p.FlowID, ContactID: out.ContactID, ChannelID: p.Channel.ID, SessionID: p.SessionID})
			return err
		}
		out.Message, err = r.SendTemplate(ctx, q, p.ProjectID, out.ContactID, p.Channel.ID, p.Template)
		return err
	})
	return out, err
}
