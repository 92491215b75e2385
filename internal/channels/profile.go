package channels

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// Profile is a number's business profile with its display-name requests.
type Profile struct {
	channel.BusinessProfile
	// DisplayNames are the display-name change requests, newest first.
	DisplayNames []store.DisplayNameRequest
}

// Verticals are the business categories WhatsApp offers
// (whatsapp_business_profile reference).
var Verticals = []string{"UNDEFINED", "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE", "GROCERY", "GOVT", "HOTEL",
	"HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL", "TRAVEL", "RESTAURANT", "NOT_A_BIZ", "ALCOHOL", "ONLINE_GAMBLING"}

// profileEditor is the channel's adapter as a channel.ProfileEditor.
func (s *Service) profileEditor(ctx context.Context, projectID, id string) (domain.Channel, channel.ProfileEditor, error) {
	ch, err := s.Get(ctx, projectID, id)
	if err != nil {
		return ch, nil, err
	}
	a, err := s.Adapter(ctx, ch)
	if err != nil {
		return ch, nil, err
	}
	pe, ok := a.(channel.ProfileEditor)
	if !ok {
		return ch, nil, domain.Errorf(domain.CodeUnprocessable, "a %s channel has no business profile", ch.Type)
	}
	return ch, pe, nil
}

// GetProfile reads the channel's business profile from its provider.
func (s *Service) GetProfile(ctx context.Context, projectID, id string) (Profile, error) {
	ch, pe, err := s.profileEditor(ctx, projectID, id)
	if err != nil {
		return Profile{}, err
	}
	p, err := pe.Profile(ctx)
	if err != nil {
		return Profile{}, providerError(err, "reading the business profile")
	}
	names, err := s.d.Store.DisplayNameRequestList(ctx, store.Ref{ProjectID: projectID, ID: ch.ID})
	return Profile{BusinessProfile: p, DisplayNames: names}, err
}

// validateProfile applies WhatsApp's limits, naming the field.
func validateProfile(p channel.ProfileUpdate) error {
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"about", p.About, 139}, {"address", p.Address, 256}, {"description", p.Description, 512}, {"email", p.Email, 128}} {
		if f.v != nil && utf8.RuneCountInString(*f.v) > f.max {
			return domain.Invalid("/"+f.name, "%s: at most %d characters (it has %d)", f.name, f.max, utf8.RuneCountInString(*f.v))
		}
	}
	if p.About != nil && strings.TrimSpace(*p.About) == "" {
		return domain.Invalid("/about", "about: WhatsApp does not accept an empty About text")
	}
	if p.Email != nil && *p.Email != "" {
		if _, err := mail.ParseAddress(*p.Email); err != nil {
			return domain.Invalid("/email", "email: %q is not an e-mail address", *p.Email)
		}
	}
	if p.Websites != nil {
		if len(*p.Websites) > 2 {
			return domain.Invalid("/websites", "websites: at most 2 (got %d)", len(*p.Websites))
		}
		for i, w := range *p.Websites {
			u, err := url.Parse(w)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(w) > 256 {
				return domain.Invalid(fmt.Sprintf("/websites/%d", i), "websites[%d]: %q is not an http(s) URL of at most 256 characters", i, w)
			}
		}
	}
	if p.Vertical != nil && *p.Vertical != "" {
		ok := false
		for _, v := range Verticals {
			ok = ok || v == *p.Vertical
		}
		if !ok {
			return domain.Invalid("/vertical", "vertical: %q is not one of WhatsApp's categories", *p.Vertical)
		}
	}
	return nil
}

// UpdateProfile changes the fields of p that are set.
func (s *Service) UpdateProfile(ctx context.Context, projectID, id string, p channel.ProfileUpdate) (Profile, error) {
	if err := validateProfile(p); err != nil {
		return Profile{}, err
	}
	_, pe, err := s.profileEditor(ctx, projectID, id)
	if err != nil {
		return Profile{}, err
	}
	if err := pe.UpdateProfile(ctx, p); err != nil {
		return Profile{}, providerError(err, "updating the business profile")
	}
	return s.GetProfile(ctx, projectID, id)
}

// MaxPhotoBytes bounds a profile photo (WhatsApp: 5 MB).
const MaxPhotoBytes = 5 << 20

// UploadProfilePhoto uploads a photo to appID (the operator's Meta app)
// and makes it the profile's.
func (s *Service) UploadProfilePhoto(ctx context.Context, projectID, id, appID, fileName, mimeType string, data []byte) (Profile, error) {
	if mimeType != "image/jpeg" && mimeType != "image/png" {
		return Profile{}, domain.Invalid("/photo", "photo: a JPEG or PNG image is needed (got %s)", mimeType)
	}
	if len(data) == 0 || len(data) > MaxPhotoBytes {
		return Profile{}, domain.Invalid("/photo", "photo: 1 byte to 5 MB (got %d bytes)", len(data))
	}
	_, pe, err := s.profileEditor(ctx, projectID, id)
	if err != nil {
		return Profile{}, err
	}
	h, err := pe.UploadProfilePhoto(ctx, appID, fileName, mimeType, data)
	if err != nil {
		return Profile{}, providerError(err, "uploading the profile photo")
	}
	if err := pe.UpdateProfile(ctx, channel.ProfileUpdate{PhotoHandle: h}); err != nil {
		return Profile{}, providerError(err, "setting the profile photo")
	}
	return s.GetProfile(ctx, projectID, id)
}

// RequestDisplayName asks the provider for a new display name and records
// the request, pending until the provider's review arrives by webhook.
func (s *Service) RequestDisplayName(ctx context.Context, projectID, id, name string) (Profile, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 3 || n > 512 {
		return Profile{}, domain.Invalid("/name", "name: 3 to 512 characters (got %d)", n)
	}
	ch, pe, err := s.profileEditor(ctx, projectID, id)
	if err != nil {
		return Profile{}, err
	}
	// Recorded before the provider is asked: its review comes by webhook
	// and can arrive before the request's own answer does.
	if err := s.d.Store.DisplayNameRequestCreate(ctx, store.DisplayNameRequest{ID: s.d.IDs.NewID(), ProjectID: projectID, ChannelID: ch.ID, Name: name,
		RequestedAt: s.d.Clock.Now()}); err != nil {
		return Profile{}, err
	}
	if err := pe.RequestDisplayName(ctx, name); err != nil {
		perr := providerError(err, "requesting the display name")
		if _, derr := s.d.Store.DisplayNameRequestDecide(ctx, store.DisplayNameDecideParams{ProjectID: projectID, ChannelID: ch.ID, Name: name,
			Status: store.DisplayNameFailed, Reason: perr.Error(), At: s.d.Clock.Now()}); derr != nil {
			return Profile{}, errors.Join(perr, fmt.Errorf("recording the refused display-name request: %w", derr))
		}
		return Profile{}, perr
	}
	return s.GetProfile(ctx, projectID, id)
}

// providerError says what the provider (or the way to it) answered, with
// a code: Meta's refusal is unprocessable, an unreachable or failing Meta
// unavailable.
func providerError(err error, doing string) error {
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	var se *channel.SendError
	if errors.As(err, &se) && se.Class == channel.Permanent && se.HTTPStatus >= 400 && se.HTTPStatus < 500 {
		return &domain.Error{Code: domain.CodeUnprocessable, Message: doing + ": Meta refused it: " + se.Reason(), Err: err}
	}
	return &domain.Error{Code: domain.CodeUnavailable, Message: doing + ": Meta could not be reached or failed: " + err.Error(), Err: err}
}
