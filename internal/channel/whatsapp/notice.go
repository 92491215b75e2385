package whatsapp

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// accountNotice reads a phone_number_quality_update or account_update
// webhook value (Meta's Webhooks reference, WhatsApp Business Account
// fields) and judges it: the notices after which sending on would lower
// the number's rating or fail outright pause campaigns.
//
// phone_number_quality_update:
//
//	{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_10K"}
//
// events FLAGGED (quality fell to low; the limit drops unless it
// recovers), DOWNGRADE (the messaging limit was lowered), UNFLAGGED,
// UPGRADE, ONBOARDING. account_update carries event and, per event,
// restriction_info, violation_info or ban_info.
func accountNotice(field string, raw json.RawMessage) (*channel.AccountNotice, error) {
	var v struct {
		DisplayPhoneNumber flexStr `json:"display_phone_number"`
		Event              string  `json:"event"`
		CurrentLimit       string  `json:"current_limit"`
		OldLimit           string  `json:"old_limit"`
		// Newer payloads name the portfolio's limit this way.
		MaxDailyPerBusiness flexStr `json:"max_daily_conversations_per_business"`
		RestrictionInfo     []struct {
			RestrictionType string `json:"restriction_type"`
		} `json:"restriction_info"`
		ViolationInfo *struct {
			ViolationType string `json:"violation_type"`
		} `json:"violation_info"`
		BanInfo *struct {
			State string `json:"waba_ban_state"`
			Date  string `json:"waba_ban_date"`
		} `json:"ban_info"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("reading the %s webhook: %w", field, err)
	}
	n := &channel.AccountNotice{Field: field, Event: v.Event, Phone: string(v.DisplayPhoneNumber), Limit: v.CurrentLimit}
	if n.Limit == "" {
		n.Limit = string(v.MaxDailyPerBusiness)
	}
	for _, r := range v.RestrictionInfo {
		if r.RestrictionType != "" {
			n.Restrictions = append(n.Restrictions, r.RestrictionType)
		}
	}
	number := "the number"
	if n.Phone != "" {
		number = "number +" + strings.TrimPrefix(n.Phone, "+")
	}
	limit := ""
	if n.Limit != "" {
		limit = " (messaging limit now " + n.Limit + ")"
	}
	switch field + "/" + v.Event {
	case "phone_number_quality_update/FLAGGED":
		n.PauseSends = true
		n.Reason = fmt.Sprintf("Meta flagged the quality of %s as low%s; its messaging limit drops unless the quality recovers (phone_number_quality_update FLAGGED)", number, limit)
	case "phone_number_quality_update/DOWNGRADE":
		n.PauseSends = true
		was := ""
		if v.OldLimit != "" {
			was = " from " + v.OldLimit
		}
		n.Reason = fmt.Sprintf("Meta lowered the messaging limit of %s%s%s (phone_number_quality_update DOWNGRADE)", number, was, limit)
	case "account_update/ACCOUNT_RESTRICTION":
		n.PauseSends = true
		n.Reason = "Meta restricted the business account"
		if len(n.Restrictions) > 0 {
			n.Reason += ": " + strings.Join(n.Restrictions, ", ")
		}
		n.Reason += " (account_update ACCOUNT_RESTRICTION)"
	case "account_update/ACCOUNT_VIOLATION":
		n.PauseSends = true
		n.Reason = "Meta reported a policy violation by the business account"
		if v.ViolationInfo != nil && v.ViolationInfo.ViolationType != "" {
			n.Reason += ": " + v.ViolationInfo.ViolationType
		}
		n.Reason += " (account_update ACCOUNT_VIOLATION)"
	case "account_update/DISABLED_UPDATE":
		state := ""
		if v.BanInfo != nil {
			state = v.BanInfo.State
		}
		if state == "REINSTATE" {
			n.Reason = "Meta reinstated the business account (account_update DISABLED_UPDATE REINSTATE)"
			break
		}
		n.PauseSends = true
		n.Reason = fmt.Sprintf("Meta disabled the business account or scheduled it to be (account_update DISABLED_UPDATE %s)", state)
	default:
		n.Reason = fmt.Sprintf("%s %s: noted, nothing to pause", field, v.Event)
	}
	return n, nil
}
