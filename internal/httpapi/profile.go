package httpapi

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/signup"
	"github.com/parleyhq/parley/internal/store"
)

// photoBodyLimit admits a 5 MB photo in base64 with its JSON.
const photoBodyLimit = 8 << 20

// DisplayNameView is a display-name change request and its review.
type DisplayNameView struct {
	Name        string     `json:"name"`
	Status      string     `json:"status" enum:"pending,approved,declined,failed"`
	Reason      string     `json:"reason,omitempty"`
	RequestedAt time.Time  `json:"requested_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
}

// ProfileView is a number's business profile as WhatsApp shows it, with
// its display-name requests.
type ProfileView struct {
	channel.BusinessProfile
	DisplayNames []DisplayNameView `json:"display_names"`
	// Verticals are the categories the vertical field takes.
	Verticals []string `json:"verticals"`
}

func profileView(p channels.Profile) ProfileView {
	v := ProfileView{BusinessProfile: p.BusinessProfile, DisplayNames: make([]DisplayNameView, len(p.DisplayNames)), Verticals: channels.Verticals}
	for i, d := range p.DisplayNames {
		v.DisplayNames[i] = DisplayNameView{Name: d.Name, Status: d.Status, Reason: d.Reason, RequestedAt: d.RequestedAt, DecidedAt: d.DecidedAt}
	}
	return v
}

// ProfileUpdateInput changes a business profile; absent fields stay.
type ProfileUpdateInput struct {
	ChannelPath
	Body struct {
		About       *string   `json:"about,omitempty" maxLength:"139" doc:"1 to 139 characters, under the name and photo"`
		Address     *string   `json:"address,omitempty" maxLength:"256"`
		Description *string   `json:"description,omitempty" maxLength:"512"`
		Email       *string   `json:"email,omitempty" maxLength:"128"`
		Websites    *[]string `json:"websites,omitempty" maxItems:"2" doc:"At most 2 http(s) URLs"`
		Vertical    *string   `json:"vertical,omitempty" maxLength:"40" doc:"A category of the answer's verticals"`
	}
}

// ProfilePhotoInput uploads a profile photo.
type ProfilePhotoInput struct {
	ChannelPath
	Body struct {
		FileName string `json:"file_name" maxLength:"200"`
		MimeType string `json:"mime_type" enum:"image/jpeg,image/png"`
		Data     string `json:"data" maxLength:"7500000" doc:"The image, base64 (5 MB at most); uploaded to Meta with the Resumable Upload API"`
	}
}

// DisplayNameInput requests a display name.
type DisplayNameInput struct {
	ChannelPath
	Body struct {
		Name string `json:"name" maxLength:"512" doc:"The new display name; it waits for Meta's review (pending → approved or declined)"`
	}
}

type profileAPI struct{ s *Server }

func (a profileAPI) get(ctx context.Context, in *ChannelPath) (*Body[ProfileView], error) {
	p, err := a.s.deps.Channels.GetProfile(ctx, principalFrom(ctx).ProjectID, in.ChannelID)
	if err != nil {
		return nil, err
	}
	return bodyOf(profileView(p)), nil
}

func (a profileAPI) update(ctx context.Context, in *ProfileUpdateInput) (*Body[ProfileView], error) {
	b := in.Body
	p, err := a.s.deps.Channels.UpdateProfile(ctx, principalFrom(ctx).ProjectID, in.ChannelID, channel.ProfileUpdate{About: b.About, Address: b.Address,
		Description: b.Description, Email: b.Email, Websites: b.Websites, Vertical: b.Vertical})
	if err != nil {
		return nil, err
	}
	return bodyOf(profileView(p)), nil
}

func (a profileAPI) photo(ctx context.Context, in *ProfilePhotoInput) (*Body[ProfileView], error) {
	data, err := base64.StdEncoding.DecodeString(in.Body.Data)
	if err != nil {
		return nil, domain.Invalid("/data", "data: not base64: %v", err)
	}
	appID := ""
	if a.s.deps.Signup != nil {
		appID = a.s.deps.Signup.Config().AppID
	}
	p, err := a.s.deps.Channels.UploadProfilePhoto(ctx, principalFrom(ctx).ProjectID, in.ChannelID, appID, in.Body.FileName, in.Body.MimeType, data)
	if err != nil {
		return nil, err
	}
	return bodyOf(profileView(p)), nil
}

func (a profileAPI) displayName(ctx context.Context, in *DisplayNameInput) (*Body[ProfileView], error) {
	p, err := a.s.deps.Channels.RequestDisplayName(ctx, principalFrom(ctx).ProjectID, in.ChannelID, in.Body.Name)
	if err != nil {
		return nil, err
	}
	return bodyOf(profileView(p)), nil
}

// SignupConfigView is what the Channels page needs to launch Meta's
// embedded signup.
type SignupConfigView struct {
	Available bool   `json:"available" doc:"Whether the operator configured a Meta app (PARLEY_META_APP_ID, _APP_SECRET, _CONFIG_ID)"`
	AppID     string `json:"app_id"`
	ConfigID  string `json:"config_id"`
	// Sandbox: the Graph API is the sandbox's fake; the UI shows a stand-in
	// for Meta's signup window, with the fake business's IDs and code.
	Sandbox bool `json:"sandbox"`
	// StandIn is what the sandbox's stand-in window returns (sandbox only).
	StandIn *signup.StandIn `json:"stand_in,omitempty"`
}

// SignupStartInput is what Meta's signup window returned.
type SignupStartInput struct {
	Body struct {
		Code          string `json:"code" maxLength:"2000" doc:"The code FB.login's authResponse returned"`
		WABAID        string `json:"waba_id" maxLength:"32" doc:"From the WA_EMBEDDED_SIGNUP message event"`
		PhoneNumberID string `json:"phone_number_id" maxLength:"32"`
		PIN           string `json:"pin" maxLength:"6" doc:"The number's two-step verification PIN (6 digits)"`
		Name          string `json:"name,omitempty" maxLength:"100" doc:"The channel's name in Parley"`
	}
}

// SignupPath names a signup.
type SignupPath struct {
	SignupID string `path:"signup_id" maxLength:"100"`
}

// SignupRetryInput retries a failed signup from its failed step.
type SignupRetryInput struct {
	SignupPath
	Body struct {
		Code string `json:"code,omitempty" maxLength:"2000" doc:"A new code, when the code exchange failed"`
		PIN  string `json:"pin,omitempty" maxLength:"6"`
	}
}

type signupAPI struct{ s *Server }

func (a signupAPI) config(ctx context.Context, _ *struct{}) (*Body[SignupConfigView], error) {
	c := a.s.deps.Signup.Config()
	v := SignupConfigView{Available: c.AppID != "" && c.ConfigID != "", AppID: c.AppID, ConfigID: c.ConfigID, Sandbox: c.Sandbox}
	if c.Sandbox {
		v.StandIn = &c.StandIn
	}
	return bodyOf(v), nil
}

func (a signupAPI) start(ctx context.Context, in *SignupStartInput) (*Body[signup.View], error) {
	b := in.Body
	v, err := a.s.deps.Signup.Start(ctx, principalFrom(ctx).ProjectID, signup.Input{Code: b.Code, WABAID: b.WABAID, PhoneNumberID: b.PhoneNumberID, PIN: b.PIN, Name: b.Name})
	if err != nil {
		return nil, err
	}
	return bodyOf(v), nil
}

func (a signupAPI) get(ctx context.Context, in *SignupPath) (*Body[signup.View], error) {
	v, err := a.s.deps.Signup.Get(ctx, store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.SignupID})
	if err != nil {
		return nil, err
	}
	return bodyOf(v), nil
}

func (a signupAPI) retry(ctx context.Context, in *SignupRetryInput) (*Body[signup.View], error) {
	v, err := a.s.deps.Signup.Retry(ctx, store.Ref{ProjectID: principalFrom(ctx).ProjectID, ID: in.SignupID}, in.Body.Code, in.Body.PIN)
	if err != nil {
		return nil, err
	}
	return bodyOf(v), nil
}
