package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/parleyhq/parley/internal/channel"
)

var _ channel.ProfileEditor = (*Adapter)(nil)

// profileFields are the fields GET whatsapp_business_profile is asked for.
const profileFields = "about,address,description,email,profile_picture_url,websites,vertical"

// Profile implements channel.ProfileEditor: the business profile, and the
// number's display name and phone (GET /{phone-number-id}).
func (a *Adapter) Profile(ctx context.Context) (channel.BusinessProfile, error) {
	c := a.client
	var resp struct {
		Data []struct {
			About             string   `json:"about"`
			Address           string   `json:"address"`
			Description       string   `json:"description"`
			Email             string   `json:"email"`
			ProfilePictureURL string   `json:"profile_picture_url"`
			Websites          []string `json:"websites"`
			Vertical          string   `json:"vertical"`
		} `json:"data"`
	}
	u := c.endpoint(c.cfg.PhoneNumberID, "whatsapp_business_profile") + "?fields=" + url.QueryEscape(profileFields)
	if err := c.call(ctx, http.MethodGet, u, "", nil, &resp); err != nil {
		return channel.BusinessProfile{}, err
	}
	var p channel.BusinessProfile
	if len(resp.Data) > 0 {
		d := resp.Data[0]
		p = channel.BusinessProfile{About: d.About, Address: d.Address, Description: d.Description, Email: d.Email, Websites: d.Websites,
			Vertical: d.Vertical, PhotoURL: d.ProfilePictureURL}
	}
	if p.Websites == nil {
		p.Websites = []string{}
	}
	var num struct {
		VerifiedName       string `json:"verified_name"`
		DisplayPhoneNumber string `json:"display_phone_number"`
	}
	if err := c.call(ctx, http.MethodGet, c.endpoint(c.cfg.PhoneNumberID)+"?fields=verified_name,display_phone_number", "", nil, &num); err != nil {
		return p, err
	}
	p.DisplayName, p.DisplayPhone = num.VerifiedName, num.DisplayPhoneNumber
	return p, nil
}

// UpdateProfile implements channel.ProfileEditor: POST
// whatsapp_business_profile with the fields set.
func (a *Adapter) UpdateProfile(ctx context.Context, p channel.ProfileUpdate) error {
	c := a.client
	body := map[string]any{"messaging_product": "whatsapp"}
	set := func(k string, v *string) {
		if v != nil {
			body[k] = *v
		}
	}
	set("about", p.About)
	set("address", p.Address)
	set("description", p.Description)
	set("email", p.Email)
	set("vertical", p.Vertical)
	if p.Websites != nil {
		body["websites"] = *p.Websites
	}
	if p.PhotoHandle != "" {
		body["profile_picture_handle"] = p.PhotoHandle
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodPost, c.endpoint(c.cfg.PhoneNumberID, "whatsapp_business_profile"), "application/json", bytes.NewReader(b), nil)
}

// UploadProfilePhoto implements channel.ProfileEditor with the Graph
// API's Resumable Upload API: POST /{app-id}/uploads opens a session
// ("upload:…"), POST /{session} with the bytes (Authorization: OAuth, and
// file_offset 0) answers the handle ("h").
func (a *Adapter) UploadProfilePhoto(ctx context.Context, appID, fileName, mimeType string, data []byte) (string, error) {
	c := a.client
	if appID == "" {
		return "", &channel.SendError{Class: channel.Permanent, Cause: channel.CauseInvalidRequest,
			Title: "no Meta app ID is configured (PARLEY_META_APP_ID): the profile photo is uploaded to the app"}
	}
	q := url.Values{"file_name": {fileName}, "file_length": {strconv.Itoa(len(data))}, "file_type": {mimeType}}
	var session struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, http.MethodPost, c.endpoint(appID, "uploads")+"?"+q.Encode(), "", nil, &session); err != nil {
		return "", err
	}
	if session.ID == "" {
		return "", &channel.SendError{Class: channel.Retryable, Title: "the Graph API opened no upload session"}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	// The session ID ("upload:…") is the path, as Meta gives it.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.APIBaseURL+"/"+c.cfg.APIVersion+"/"+session.ID, bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "OAuth "+c.cfg.AccessToken)
	req.Header.Set("file_offset", "0")
	req.Header.Set("Content-Type", mimeType)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", transportError(ctx, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", classifyResponse(resp.StatusCode, resp.Header, raw)
	}
	var h struct {
		H string `json:"h"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.H == "" {
		return "", &channel.SendError{Class: channel.Retryable, HTTPStatus: resp.StatusCode, Title: "the upload's answer holds no handle"}
	}
	return h.H, nil
}

// RequestDisplayName implements channel.ProfileEditor: POST
// /{phone-number-id}?new_display_name=…; Meta reviews the name and says
// so with a phone_number_name_update webhook.
func (a *Adapter) RequestDisplayName(ctx context.Context, name string) error {
	c := a.client
	return c.call(ctx, http.MethodPost, c.endpoint(c.cfg.PhoneNumberID)+"?new_display_name="+url.QueryEscape(name), "", nil, nil)
}

// Onboarding makes the Graph API calls of Meta's embedded signup for a
// business that finished the signup window: exchange the code for a
// business token, subscribe the app to the business account's webhooks,
// register the number. Its client carries the business token once known.
type Onboarding struct {
	// BaseURL and Version address the Graph API (or the sandbox).
	BaseURL, Version string
	// HTTP is the client (the SSRF-guarded one of the host).
	HTTP *http.Client
}

func (o Onboarding) client(token string) *Client {
	return NewClient(Config{AccessToken: token, APIBaseURL: o.BaseURL, APIVersion: o.Version}, o.HTTP)
}

// ExchangeCode trades the signup's code for a business token: GET
// /oauth/access_token?client_id&client_secret&code.
func (o Onboarding) ExchangeCode(ctx context.Context, appID, appSecret, code string) (string, error) {
	c := o.client("")
	q := url.Values{"client_id": {appID}, "client_secret": {appSecret}, "code": {code}}
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.call(ctx, http.MethodGet, c.endpoint("oauth", "access_token")+"?"+q.Encode(), "", nil, &resp); err != nil {
		return "", err
	}
	if resp.AccessToken == "" {
		return "", &channel.SendError{Class: channel.Permanent, Title: "the code exchange answered no access_token"}
	}
	return resp.AccessToken, nil
}

// SubscribeApp subscribes the app to the business account's webhooks:
// POST /{waba-id}/subscribed_apps (with override_callback_uri and
// verify_token when callbackURL is set).
func (o Onboarding) SubscribeApp(ctx context.Context, token, wabaID, callbackURL, verifyToken string) error {
	c := o.client(token)
	u := c.endpoint(wabaID, "subscribed_apps")
	if callbackURL != "" {
		u += "?" + url.Values{"override_callback_uri": {callbackURL}, "verify_token": {verifyToken}}.Encode()
	}
	var resp struct {
		Success bool `json:"success"`
	}
	if err := c.call(ctx, http.MethodPost, u, "", nil, &resp); err != nil {
		return err
	}
	if !resp.Success {
		return &channel.SendError{Class: channel.Permanent, Title: "subscribed_apps did not answer success"}
	}
	return nil
}

// Register registers the number for Cloud API with its two-step PIN:
// POST /{phone-number-id}/register {"messaging_product":"whatsapp","pin"}.
func (o Onboarding) Register(ctx context.Context, token, phoneID, pin string) error {
	c := o.client(token)
	b, _ := json.Marshal(map[string]string{"messaging_product": "whatsapp", "pin": pin})
	var resp struct {
		Success bool `json:"success"`
	}
	if err := c.call(ctx, http.MethodPost, c.endpoint(phoneID, "register"), "application/json", bytes.NewReader(b), &resp); err != nil {
		return err
	}
	if !resp.Success {
		return &channel.SendError{Class: channel.Permanent, Title: "register did not answer success"}
	}
	return nil
}
