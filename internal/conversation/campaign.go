package conversation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/runner"
	"github.com/parleyhq/parley/internal/store"
)

// RowStart is one campaign row to start the flow for.
type RowStart struct {
	Channel domain.Channel
	// Phone is in E.164.
	Phone string
	// Name and Fields update the contact (created when new) from the
	// row's mapped columns; empty values change nothing.
	Name   string
	Fields map[string]any
	// Row is the dataset row the flow reads as {{column}}.
	Row map[string]any
	// Claim marks the row started in the start's transaction, with the
	// contact and session IDs; false means it was started already, and
	// nothing more is done for it.
	Claim func(ctx context.Context, q store.Queries, contactID, sessionID string) (bool, error)
}

// RowsStartParams start a published flow for campaign rows.
type RowsStartParams struct {
	ProjectID string
	FlowID    string
	Rows      []RowStart
	// Done, when set, runs last in the transaction with the number of rows
	// started (a counter that must commit with the starts).
	Done func(ctx context.Context, q store.Queries, started int) error
}

// RowStarted is what became of one row.
type RowStarted struct {
	// Started is false when the row had been claimed before.
	Started   bool
	ContactID string
	SessionID string
}

// StartRows starts the flow for each row in ONE transaction: the row's
// claim, its contact and the start event commit together or not at all,
// so a row is started exactly once whatever crashes. The runner handles
// the starts after the commit (not inline: a campaign must not wait for
// its sends).
func (s *Service) StartRows(ctx context.Context, p RowsStartParams) ([]RowStarted, error) {
	out := make([]RowStarted, len(p.Rows))
	err := s.st.InTx(ctx, func(q store.Queries) error {
		f, err := q.FlowGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.FlowID})
		if errors.Is(err, store.ErrNotFound) {
			return domain.Errorf(domain.CodeConflict, "the campaign's flow %s no longer exists; pick another flow", p.FlowID)
		}
		if err != nil {
			return fmt.Errorf("loading the campaign's flow: %w", err)
		}
		if f.Status != store.FlowPublished {
			return domain.Errorf(domain.CodeConflict, "flow %q is not published; publish it before running the campaign", f.Name)
		}
		for i, r := range p.Rows {
			out[i] = RowStarted{}
			path := strings.TrimPrefix(r.Phone, "+")
			c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: p.ProjectID, Scheme: r.Channel.Type,
				Path: path, ChannelID: r.Channel.ID, NewID: s.ids.NewID(), Name: r.Name, Phone: r.Phone, Now: s.clock.Now()})
			if err != nil {
				return fmt.Errorf("finding the contact of %s: %w", r.Phone, err)
			}
			sessionID := s.ids.NewID()
			ok, err := r.Claim(ctx, q, c.ID, sessionID)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if changed := applyRow(&c, r); changed {
				c.UpdatedAt = s.clock.Now()
				if _, err := q.ContactUpdate(ctx, c); err != nil {
					return fmt.Errorf("updating contact %s from the row: %w", c.ID, err)
				}
			}
			if _, err := s.run.StartFlow(ctx, q, runner.StartParams{ProjectID: p.ProjectID, FlowID: p.FlowID, ContactID: c.ID,
				ChannelID: r.Channel.ID, Row: r.Row, SessionID: sessionID, Address: path}); err != nil {
				return err
			}
			out[i] = RowStarted{Started: true, ContactID: c.ID, SessionID: sessionID}
		}
		if p.Done != nil {
			n := 0
			for _, o := range out {
				if o.Started {
					n++
				}
			}
			return p.Done(ctx, q, n)
		}
		return nil
	})
	return out, err
}

// applyRow copies the row's name and fields onto the contact.
func applyRow(c *domain.Contact, r RowStart) bool {
	changed := false
	if r.Name != "" && c.Name != r.Name {
		c.Name, changed = r.Name, true
	}
	if len(r.Fields) > 0 {
		if c.Fields == nil {
			c.Fields = map[string]any{}
		}
		for k, v := range r.Fields {
			if s, ok := v.(string); ok && s == "" {
				continue
			}
			if old, ok := c.Fields[k]; !ok || old != v {
				if !changed {
					c.Fields = maps.Clone(c.Fields)
				}
				c.Fields[k], changed = v, true
			}
		}
	}
	return changed
}
