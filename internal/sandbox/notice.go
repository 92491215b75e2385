package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Notice is a notice Meta sends about a number or its business account,
// as the sandbox plays it: Field phone_number_quality_update (Event
// FLAGGED, DOWNGRADE, UNFLAGGED, UPGRADE; CurrentLimit such as TIER_1K)
// or account_update (Event ACCOUNT_RESTRICTION with Restrictions,
// DISABLED_UPDATE with BanState …).
type Notice struct {
	WABAID             string
	Field              string
	Event              string
	DisplayPhoneNumber string
	CurrentLimit       string
	OldLimit           string
	Restrictions       []string
	BanState           string
}

// NoticeFields are the notice webhooks the sandbox sends, with their events.
var NoticeFields = map[string][]string{
	"phone_number_quality_update": {"FLAGGED", "DOWNGRADE", "UNFLAGGED", "UPGRADE"},
	"account_update":              {"ACCOUNT_RESTRICTION", "ACCOUNT_VIOLATION", "DISABLED_UPDATE"},
}

// BuildNotice is n's webhook body, in the shape of Meta's Webhooks
// reference (WhatsApp Business Account fields phone_number_quality_update
// and account_update).
func BuildNotice(n Notice) ([]byte, error) {
	events, ok := NoticeFields[n.Field]
	if !ok {
		return nil, fmt.Errorf("the sandbox sends no %q notice (phone_number_quality_update or account_update)", n.Field)
	}
	known := false
	for _, e := range events {
		known = known || e == n.Event
	}
	if !known {
		return nil, fmt.Errorf("%s event %q is not one the sandbox sends (%s)", n.Field, n.Event, strings.Join(events, ", "))
	}
	v := map[string]any{"event": n.Event}
	switch n.Field {
	case "phone_number_quality_update":
		v["display_phone_number"] = n.DisplayPhoneNumber
		if n.CurrentLimit == "" {
			n.CurrentLimit = "TIER_1K"
		}
		v["current_limit"] = n.CurrentLimit
		if n.OldLimit != "" {
			v["old_limit"] = n.OldLimit
		}
	case "account_update":
		switch n.Event {
		case "ACCOUNT_RESTRICTION":
			if len(n.Restrictions) == 0 {
				n.Restrictions = []string{"RESTRICTED_BIZ_INITIATED_MESSAGING"}
			}
			var info []map[string]any
			for _, r := range n.Restrictions {
				info = append(info, map[string]any{"restriction_type": r, "expiration": time.Now().Add(24 * time.Hour).Unix()})
			}
			v["restriction_info"] = info
		case "ACCOUNT_VIOLATION":
			v["violation_info"] = map[string]any{"violation_type": "SCAM"}
		case "DISABLED_UPDATE":
			if n.BanState == "" {
				n.BanState = "DISABLE"
			}
			v["ban_info"] = map[string]any{"waba_ban_state": n.BanState, "waba_ban_date": time.Now().UTC().Format("January 2, 2006")}
		}
	}
	return wrap(n.WABAID, n.Field, v)
}

// SendNotice builds n's webhook and POSTs it, signed with appSecret, to
// webhookURL, as Meta would, and returns the body it posted; a non-2xx
// answer is an error.
func SendNotice(ctx context.Context, hc *http.Client, webhookURL, appSecret string, n Notice) ([]byte, error) {
	body, err := BuildNotice(n)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	status, err := postSigned(ctx, hc, webhookURL, appSecret, body)
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		return nil, fmt.Errorf("sending a %s webhook to %s: answered %d %s", n.Field, webhookURL, status, strings.ToLower(http.StatusText(status)))
	}
	return body, nil
}

// SendNotice sends n about this fake's number and business account to
// the configured webhook URL.
func (s *Server) SendNotice(ctx context.Context, n Notice) ([]byte, error) {
	if n.WABAID == "" {
		n.WABAID = s.cfg.WABAID
	}
	if n.DisplayPhoneNumber == "" {
		n.DisplayPhoneNumber = s.cfg.DisplayPhoneNumber
	}
	s.mu.Lock()
	u := s.webhookURL
	s.mu.Unlock()
	return SendNotice(ctx, s.cfg.HTTPClient, u, s.cfg.AppSecret, n)
}
