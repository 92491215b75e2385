package whatsapp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
)

// TestParseDisplayNameReview parses Meta's documented
// phone_number_name_update webhook (testdata/meta/SOURCES.md).
func TestParseDisplayNameReview(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/meta/phone_number_name_update.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := whatsapp.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != channel.KindDisplayName || evs[0].BusinessID != "102290129340398" {
		t.Fatalf("events = %+v", evs)
	}
	d := evs[0].DisplayName
	if d.Name != "Lucky Shrub" || d.Decision != "APPROVED" || d.Reason != "" || d.Phone != "15550783881" {
		t.Fatalf("review = %+v", d)
	}
}

// TestProfileReadsMetasAnswer reads the documented answer of GET
// whatsapp_business_profile.
func TestProfileReadsMetasAnswer(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("testdata/meta/business_profile_get.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v21.0/1906385232743451/whatsapp_business_profile":
			_, _ = w.Write(doc)
		case "/v21.0/1906385232743451":
			_, _ = w.Write([]byte(`{"verified_name":"Butterflies","display_phone_number":"+1 555-0100","id":"1906385232743451"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	a, err := whatsapp.New(whatsapp.Config{PhoneNumberID: "1906385232743451", WABAID: "1", AccessToken: "t", AppSecret: "s", VerifyToken: "v",
		APIBaseURL: srv.URL}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Profile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.About != "My Butterfly Business sells butterflies" || len(p.Websites) != 2 || p.Vertical != "INDUSTRY" || p.DisplayName != "Butterflies" ||
		p.PhotoURL != "2:c2FtcGxl..." || p.Email != "butterflies@butterflies.com" {
		t.Fatalf("profile = %+v", p)
	}
}
