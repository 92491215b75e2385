package campaign

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// AccountNotice pauses, in q (the webhook's transaction), every running
// execution of ch's project whose campaign sends on ch or on another
// channel of the same business account, with the notice's reason. Meta's
// quality rating and messaging limits belong to the business account,
// which all its numbers share, so a notice about one number pauses the
// campaigns on the others too. It returns how many executions it paused;
// a person resumes them (a resume is not paused again by the same
// notice: it is acted on once, when it arrives).
func (s *Service) AccountNotice(ctx context.Context, q store.Queries, ch domain.Channel, businessID string, n channel.AccountNotice) (int, error) {
	if !n.PauseSends {
		return 0, nil
	}
	affected := map[string]bool{ch.ID: true}
	if businessID != "" {
		all, err := q.ChannelList(ctx, ch.ProjectID)
		if err != nil {
			return 0, fmt.Errorf("listing the channels of the business account: %w", err)
		}
		for _, c := range all {
			if c.Type == ch.Type && businessOf(c) == businessID {
				affected[c.ID] = true
			}
		}
	}
	reason := "paused automatically: " + n.Reason
	paused := 0
	page := store.Page{Limit: store.MaxPageSize}
	for {
		l, err := q.CampaignList(ctx, store.CampaignListParams{ProjectID: ch.ProjectID, Page: page})
		if err != nil {
			return paused, fmt.Errorf("listing the campaigns to pause: %w", err)
		}
		for _, c := range l.Items {
			if c.Status != store.CampaignActive || !sendsOn(c, affected) {
				continue
			}
			m, err := s.pauseRunning(ctx, q, c, reason)
			if err != nil {
				return paused, fmt.Errorf("pausing campaign %s: %w", c.ID, err)
			}
			paused += m
		}
		if l.Next == "" {
			break
		}
		page.After = l.Next
	}
	if paused > 0 {
		s.d.Logger.Warn("campaign executions paused on a provider's notice", "channel", ch.ID, "paused", paused, "reason", n.Reason)
	}
	return paused, nil
}

// pauseRunning pauses c's running executions in q.
func (s *Service) pauseRunning(ctx context.Context, q store.Queries, c store.Campaign, reason string) (int, error) {
	paused := 0
	page := store.Page{Limit: store.MaxPageSize}
	for {
		l, err := q.ExecutionList(ctx, store.ExecutionListParams{ProjectID: c.ProjectID, CampaignID: c.ID, Page: page})
		if err != nil {
			return paused, err
		}
		for _, e := range l.Items {
			if e.Status != store.ExecutionRunning {
				continue
			}
			if _, err := s.moveExecution(ctx, q, e, store.ExecutionPaused, reason); err != nil {
				return paused, err
			}
			paused++
		}
		if l.Next == "" {
			return paused, nil
		}
		page.After = l.Next
	}
}

// sendsOn reports whether c sends on one of the channels.
func sendsOn(c store.Campaign, channels map[string]bool) bool {
	for _, id := range c.ChannelIDs {
		if channels[id] {
			return true
		}
	}
	return false
}

// businessOf is the business account a channel's configuration names
// (WhatsApp: waba_id); "" when none.
func businessOf(ch domain.Channel) string {
	var c struct {
		WABAID string `json:"waba_id"`
	}
	_ = json.Unmarshal(ch.Config, &c) // a channel without it shares no account
	return c.WABAID
}
