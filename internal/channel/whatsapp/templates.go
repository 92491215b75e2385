package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/parleyhq/parley/internal/template"
)

// CreateTemplate submits a template for review (POST
// /{waba_id}/message_templates). It validates first, so Meta only sees
// templates that pass our checks.
func (c *Client) CreateTemplate(ctx context.Context, t *template.Template) (template.Submitted, error) {
	if c.cfg.WABAID == "" {
		return template.Submitted{}, fmt.Errorf("submitting template %q: the channel has no waba_id", t.Name)
	}
	if err := template.Validate(t); err != nil {
		return template.Submitted{}, err
	}
	def := t.Definition()
	body, err := json.Marshal(&def)
	if err != nil {
		return template.Submitted{}, fmt.Errorf("encoding template %q: %w", t.Name, err)
	}
	var r struct {
		ID       flexStr `json:"id"`
		Status   string  `json:"status"`
		Category string  `json:"category"`
	}
	if err := c.call(ctx, http.MethodPost, c.endpoint(c.cfg.WABAID, "message_templates"), "application/json",
		bytes.NewReader(body), &r); err != nil {
		return template.Submitted{}, errorf(err, "submitting template %q", t.Name)
	}
	return template.Submitted{ID: string(r.ID), Status: template.Status(r.Status), Category: template.Category(r.Category)}, nil
}

// EditTemplate submits new components (and category) for a template Meta
// already has (POST /{template_id}); Meta reviews it again.
func (c *Client) EditTemplate(ctx context.Context, metaID string, t *template.Template) error {
	if metaID == "" {
		return fmt.Errorf("editing template %q: it was never submitted to Meta", t.Name)
	}
	if err := template.Validate(t); err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"category": t.Category, "components": t.Components})
	if err != nil {
		return fmt.Errorf("encoding template %q: %w", t.Name, err)
	}
	if err := c.call(ctx, http.MethodPost, c.endpoint(metaID), "application/json", bytes.NewReader(body), nil); err != nil {
		return errorf(err, "editing template %q", t.Name)
	}
	return nil
}

// ListTemplates pulls every template of the WABA (GET
// /{waba_id}/message_templates), following cursors, for sync.
func (c *Client) ListTemplates(ctx context.Context) ([]template.Template, error) {
	if c.cfg.WABAID == "" {
		return nil, fmt.Errorf("listing templates: the channel has no waba_id")
	}
	var out []template.Template
	after := ""
	for page := 0; page < 1000; page++ {
		q := url.Values{"limit": {"100"},
			"fields": {"id,name,language,status,category,parameter_format,components,quality_score,rejected_reason"}}
		if after != "" {
			q.Set("after", after)
		}
		var r struct {
			Data []struct {
				template.Template
				ID           flexStr `json:"id"`
				QualityScore *struct {
					Score string `json:"score"`
				} `json:"quality_score"`
				RejectedReason string `json:"rejected_reason"`
			} `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		u := c.endpoint(c.cfg.WABAID, "message_templates") + "?" + q.Encode()
		if err := c.call(ctx, http.MethodGet, u, "", nil, &r); err != nil {
			return nil, errorf(err, "listing templates")
		}
		for _, d := range r.Data {
			t := d.Template
			t.ID = string(d.ID)
			if d.QualityScore != nil {
				t.Quality = d.QualityScore.Score
			}
			if d.RejectedReason != "" && d.RejectedReason != "NONE" {
				t.RejectedReason = d.RejectedReason
			}
			out = append(out, t)
		}
		// Meta sets "next" only when there is another page.
		if r.Paging.Next == "" || r.Paging.Cursors.After == "" || len(r.Data) == 0 {
			return out, nil
		}
		after = r.Paging.Cursors.After
	}
	return out, fmt.Errorf("listing templates: more than 1000 pages")
}

// DeleteTemplate deletes a template by name, all languages (DELETE
// /{waba_id}/message_templates?name=…).
func (c *Client) DeleteTemplate(ctx context.Context, name string) error {
	u := c.endpoint(c.cfg.WABAID, "message_templates") + "?name=" + url.QueryEscape(name)
	if err := c.call(ctx, http.MethodDelete, u, "", nil, nil); err != nil {
		return errorf(err, "deleting template %q", name)
	}
	return nil
}
