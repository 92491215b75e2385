package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// Check confirms the channel's credentials step by step and says what to
// fix: the configuration, the phone number ID with the token
// (GET /{phone_number_id}), and the WABA with template access.
func (c *Client) Check(ctx context.Context) channel.CheckReport {
	rep := channel.CheckReport{OK: true}
	step := func(name string, ok bool, detail string) {
		rep.Steps = append(rep.Steps, channel.CheckStep{Name: name, OK: ok, Detail: detail})
		rep.OK = rep.OK && ok
	}
	if err := c.cfg.Validate(); err != nil {
		step("config", false, err.Error())
		return rep
	}
	step("config", true, "all required fields are set")

	var pn struct {
		ID                 flexStr `json:"id"`
		DisplayPhoneNumber string  `json:"display_phone_number"`
		VerifiedName       string  `json:"verified_name"`
		QualityRating      string  `json:"quality_rating"`
	}
	u := c.endpoint(c.cfg.PhoneNumberID) + "?fields=id,display_phone_number,verified_name,quality_rating"
	if err := c.call(ctx, http.MethodGet, u, "", nil, &pn); err != nil {
		step("phone_number", false, explain(err, "phone_number_id "+c.cfg.PhoneNumberID))
		return rep
	}
	step("phone_number", true, fmt.Sprintf("%s (%s), quality %s", pn.DisplayPhoneNumber, pn.VerifiedName,
		strings.ToLower(orDash(pn.QualityRating))))

	if c.cfg.WABAID == "" {
		step("waba", false, "waba_id is not set: templates cannot be submitted or synced")
		return rep
	}
	if err := c.call(ctx, http.MethodGet, c.endpoint(c.cfg.WABAID, "message_templates")+"?limit=1", "", nil, nil); err != nil {
		step("waba", false, explain(err, "waba_id "+c.cfg.WABAID))
		return rep
	}
	step("waba", true, "templates are readable (whatsapp_business_management granted)")
	return rep
}

// explain turns a Graph error into advice.
func explain(err error, what string) string {
	se, ok := errors.AsType[*channel.SendError](err)
	if !ok {
		return err.Error()
	}
	switch {
	case se.Code == 190:
		return "the access token is invalid or expired: create a system-user token that does not expire"
	case se.Code == 100 && se.Subcode == 33:
		return what + " does not exist or the token cannot see it: check the ID and assign the asset to the system user"
	case se.Code == 10 || (se.Code >= 200 && se.Code <= 299):
		return "the token lacks a permission: grant whatsapp_business_messaging and whatsapp_business_management"
	case se.HTTPStatus == 0:
		return "the Graph API could not be reached: " + se.Reason() + " (check api_base_url and the network)"
	case se.Cause == channel.CauseAuth:
		return "authentication failed: " + se.Reason()
	}
	return se.Error()
}

func orDash(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
