package app_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sandbox"
)

// TestEmbeddedSignupAndProfile: a number connected through the embedded
// signup's four steps against the fake Graph API (a wrong PIN fails the
// registration; the retry goes on from there), then its business profile
// edited, a photo uploaded through the Resumable Upload API, and display
// names requested: one approved, one declined by the review webhook.
func TestEmbeddedSignupAndProfile(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.Options{Fake: sandbox.Config{AppID: "100000000000999", NameReviewDelay: 50_000_000}})
	if cfg := s.Must("GET", "/whatsapp-signups/config", nil, http.StatusOK); cfg["available"] != false {
		t.Fatalf("signup offered without a Meta app: %v", cfg)
	}
	code, _, _ := s.Call("POST", "/whatsapp-signups/", map[string]any{"code": "x", "waba_id": "1", "phone_number_id": "2", "pin": "123456"})
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("signup without a Meta app: %d", code)
	}
	s.App.UseSandboxSignup(s.Fake, "cfg-1")
	if cfg := s.Must("GET", "/whatsapp-signups/config", nil, http.StatusOK); cfg["available"] != true || cfg["sandbox"] != true || cfg["app_id"] != "100000000000999" {
		t.Fatalf("config = %v", cfg)
	}
	steps := func(v map[string]any) string {
		var out []string
		for _, st := range v["steps"].([]any) {
			m := st.(map[string]any)
			out = append(out, m["name"].(string)+"="+m["status"].(string))
		}
		return strings.Join(out, " ")
	}
	su := s.Must("POST", "/whatsapp-signups/", map[string]any{"code": sandbox.SignupCodePrefix + "abc", "waba_id": sandbox.SignupWABAID,
		"phone_number_id": sandbox.SignupPhoneNumberID, "pin": "999999", "name": "Bakery"}, http.StatusCreated)
	if su["status"] != "failed" || steps(su) != "exchange_code=done subscribe_app=done register_number=failed create_channel=pending" ||
		!strings.Contains(su["steps"].([]any)[2].(map[string]any)["detail"].(string), "PIN") {
		t.Fatalf("signup with a wrong PIN = %v", su)
	}
	su = s.Must("POST", "/whatsapp-signups/"+su["id"].(string)+"/retry", map[string]any{"pin": sandbox.SignupPIN}, http.StatusOK)
	if su["status"] != "done" || steps(su) != "exchange_code=done subscribe_app=done register_number=done create_channel=done" || su["channel_id"] == "" {
		t.Fatalf("retried signup = %v", su)
	}
	ch := su["channel_id"].(string)
	if got := s.Must("GET", "/whatsapp-signups/"+su["id"].(string)+"/", nil, http.StatusOK); got["status"] != "done" {
		t.Fatalf("get = %v", got)
	}
	// The new channel works: its credentials check passes against the fake.
	if rep := s.Must("POST", "/channels/"+ch+"/check/", nil, http.StatusOK); rep["ok"] != true {
		t.Fatalf("check of the new channel = %v", rep)
	}

	p := s.Must("GET", "/channels/"+ch+"/profile", nil, http.StatusOK)
	if p["display_name"] != sandbox.SignupVerifiedName || p["display_phone"] != sandbox.SignupDisplayPhone {
		t.Fatalf("profile = %v", p)
	}
	p = s.Must("PUT", "/channels/"+ch+"/profile", map[string]any{"about": "Fresh bread daily", "address": "1 Main St", "description": "A bakery",
		"email": "hi@bakery.example", "websites": []string{"https://bakery.example"}, "vertical": "RESTAURANT"}, http.StatusOK)
	if p["about"] != "Fresh bread daily" || p["vertical"] != "RESTAURANT" || len(p["websites"].([]any)) != 1 || p["email"] != "hi@bakery.example" {
		t.Fatalf("updated profile = %v", p)
	}
	for _, bad := range []map[string]any{
		{"websites": []string{"https://a.example", "https://b.example", "https://c.example"}},
		{"email": "not an address"},
		{"vertical": "SPACESHIPS"},
		{"websites": []string{"ftp://a.example"}},
	} {
		if code, _, _ := s.Call("PUT", "/channels/"+ch+"/profile", bad); code != http.StatusUnprocessableEntity && code != http.StatusBadRequest {
			t.Errorf("PUT profile %v = %d, want refused", bad, code)
		}
	}
	png := []byte("\x89PNG\r\n\x1a\nfake-image-bytes")
	p = s.Must("POST", "/channels/"+ch+"/profile/photo", map[string]any{"file_name": "logo.png", "mime_type": "image/png",
		"data": base64.StdEncoding.EncodeToString(png)}, http.StatusOK)
	if u, _ := p["photo_url"].(string); !strings.Contains(u, "/media-download/") {
		t.Fatalf("photo not set: %v", p)
	}
	var sawUpload, sawSession bool
	for _, r := range s.Fake.Requests() {
		sawSession = sawSession || strings.HasSuffix(r.Path, "/100000000000999/uploads")
		sawUpload = sawUpload || strings.Contains(r.Path, "/upload:")
	}
	if !sawSession || !sawUpload {
		t.Fatal("the photo did not go through the Resumable Upload API")
	}

	p = s.Must("POST", "/channels/"+ch+"/profile/display-name", map[string]any{"name": "Sunrise Bakery"}, http.StatusOK)
	if dn := p["display_names"].([]any); len(dn) != 1 || dn[0].(map[string]any)["status"] != "pending" {
		t.Fatalf("display names = %v", p["display_names"])
	}
	s.Eventually("Meta's review approves the name", func() bool {
		p = s.Must("GET", "/channels/"+ch+"/profile", nil, http.StatusOK)
		return p["display_names"].([]any)[0].(map[string]any)["status"] == "approved"
	})
	if p["display_name"] != "Sunrise Bakery" {
		t.Fatalf("approved name not shown: %v", p["display_name"])
	}
	s.Must("POST", "/channels/"+ch+"/profile/display-name", map[string]any{"name": "Please decline me"}, http.StatusOK)
	s.Eventually("Meta's review declines the name", func() bool {
		p = s.Must("GET", "/channels/"+ch+"/profile", nil, http.StatusOK)
		d := p["display_names"].([]any)[0].(map[string]any)
		return d["status"] == "declined" && d["reason"] != ""
	})
}
