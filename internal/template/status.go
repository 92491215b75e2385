package template

import (
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Matches reports whether a webhook update is about t: by Meta ID when both
// have one, else by name and language.
func (t *Template) Matches(u *channel.TemplateUpdate) bool {
	if t.ID != "" && u.ID != "" {
		return t.ID == u.ID
	}
	return t.Name == u.Name && t.Language == u.Language
}

// Apply updates t from a template webhook event (status, quality, category
// or components kind) received at `at`, and reports whether anything
// changed. Events that say nothing about the status (FLAGGED, LOCKED…)
// only record their detail.
func (t *Template) Apply(kind channel.Kind, u *channel.TemplateUpdate, at time.Time) bool {
	before := *t
	if t.ID == "" {
		t.ID = u.ID
	}
	switch kind {
	case channel.KindTemplateStatus:
		if s, ok := StatusOf(u.Event); ok {
			t.Status = s
		}
		switch {
		case u.Event == "REJECTED":
			t.RejectedReason = u.Reason
		case t.Status == StatusApproved:
			t.RejectedReason = ""
		}
		t.StatusDetail = u.Detail
		if u.Event == "FLAGGED" && t.Quality == "" {
			t.Quality = "RED"
		}
		if u.Category != "" {
			t.Category = Category(u.Category)
		}
	case channel.KindTemplateQuality:
		t.Quality = u.Quality
	case channel.KindTemplateCategory:
		if u.Category != "" {
			t.Category = Category(u.Category)
		}
	case channel.KindTemplateComponents:
		// Meta only says which text changed; a sync pulls the components.
		t.StatusDetail = "components changed at Meta: sync to refresh"
	default:
		return false
	}
	changed := before.Status != t.Status || before.Quality != t.Quality || before.Category != t.Category ||
		before.RejectedReason != t.RejectedReason || before.StatusDetail != t.StatusDetail || before.ID != t.ID
	if changed {
		t.StatusUpdatedAt = at
	}
	return changed
}

// StatusOf maps a status Meta reports (in its template status webhook's
// event, or in a listed template's status) to the statuses Parley keeps:
// whether the template can be sent, and why not. ok is false for what does
// not change that (FLAGGED: a quality warning; LOCKED) and for names Meta
// may add: an unknown one must never fail a webhook, or Meta would retry
// it, and the rest of its body, forever. It is the one mapping from Meta's
// names, for webhooks and syncs alike.
func StatusOf(meta string) (Status, bool) {
	switch meta {
	case "APPROVED", "REINSTATED", "UNARCHIVED":
		return StatusApproved, true
	case "REJECTED", "LIMIT_EXCEEDED":
		return StatusRejected, true
	case "PENDING", "IN_APPEAL":
		return StatusPending, true // under review (again)
	case "PAUSED":
		return StatusPaused, true
	case "DISABLED", "PENDING_DELETION", "DELETED", "ARCHIVED":
		return StatusDisabled, true // cannot be sent
	}
	return "", false
}
