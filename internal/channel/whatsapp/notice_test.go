package whatsapp

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
)

// TestAccountNotices: quality and account webhooks, in the shapes of
// Meta's Webhooks reference (WhatsApp Business Account:
// phone_number_quality_update, account_update; the account_update ones
// are also in pywa's recorded updates, TestParsePywaFixtures), are read
// into account notices that pause campaigns when sending on would harm
// the number or fail.
func TestAccountNotices(t *testing.T) {
	t.Parallel()
	wrap := func(field, value string) []byte {
		return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1674864290,"changes":[{"field":"` +
			field + `","value":` + value + `}]}]}`)
	}
	tests := []struct {
		name, field, value string
		pause              bool
		limit, phone       string
		reason             []string
	}{
		{"flagged", "phone_number_quality_update", `{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_10K"}`,
			true, "TIER_10K", "15550783881", []string{"flagged", "+15550783881", "TIER_10K"}},
		{"downgrade", "phone_number_quality_update", `{"display_phone_number":15550783881,"event":"DOWNGRADE","current_limit":"TIER_1K","old_limit":"TIER_10K"}`,
			true, "TIER_1K", "15550783881", []string{"lowered", "from TIER_10K", "TIER_1K"}},
		{"newer limit field", "phone_number_quality_update", `{"display_phone_number":"15550783881","event":"DOWNGRADE","max_daily_conversations_per_business":"TIER_2K"}`,
			true, "TIER_2K", "15550783881", []string{"TIER_2K"}},
		{"upgrade", "phone_number_quality_update", `{"display_phone_number":"15550783881","event":"UPGRADE","current_limit":"TIER_100K"}`,
			false, "TIER_100K", "15550783881", []string{"nothing to pause"}},
		{"unflagged", "phone_number_quality_update", `{"display_phone_number":"15550783881","event":"UNFLAGGED","current_limit":"TIER_10K"}`,
			false, "TIER_10K", "15550783881", nil},
		{"restriction", "account_update", `{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":1641330498}]}`,
			true, "", "", []string{"RESTRICTED_BIZ_INITIATED_MESSAGING"}},
		{"disabled", "account_update", `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"DISABLE","waba_ban_date":"April 17, 2025"}}`,
			true, "", "", []string{"disabled", "DISABLE"}},
		{"reinstated", "account_update", `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"REINSTATE"}}`,
			false, "", "", []string{"reinstated"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			evs, err := Parse(wrap(tc.field, tc.value))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Kind != channel.KindAccountNotice || evs[0].Notice == nil {
				t.Fatalf("events = %+v", evs)
			}
			e, n := evs[0], evs[0].Notice
			if e.BusinessID != "102290129340398" || e.AccountID != "" {
				t.Errorf("routing: business %q account %q (the WABA routes it)", e.BusinessID, e.AccountID)
			}
			if n.PauseSends != tc.pause || n.Limit != tc.limit || n.Phone != tc.phone || n.Field != tc.field {
				t.Errorf("notice = %+v", n)
			}
			for _, want := range tc.reason {
				if !strings.Contains(n.Reason, want) {
					t.Errorf("reason %q lacks %q", n.Reason, want)
				}
			}
			if len(e.Raw) == 0 {
				t.Error("the provider's value is not kept")
			}
		})
	}
	if _, err := Parse(wrap("phone_number_quality_update", `"not an object"`)); err == nil {
		t.Error("an unreadable notice parsed without error")
	}
}
