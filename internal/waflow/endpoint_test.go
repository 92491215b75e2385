package waflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/httpclient"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
	"github.com/parleyhq/parley/internal/waflow"
	"github.com/parleyhq/parley/internal/waform"
)

// waits is the runner's answer for the tokens a test knows.
type waits map[string]waflow.Wait

func (w waits) FormWait(_ context.Context, _, token string) (waflow.Wait, error) {
	if x, ok := w[token]; ok {
		return x, nil
	}
	return waflow.Wait{}, waflow.ErrNoWait
}

// TestEndpointRouting: the router answers INIT, BACK and data_exchange for
// the session a token names — forwarding to the node's exchange_url when it
// has one (a real HTTP exchange through the guarded client), else opening
// the first screen and completing with the data — and a dead token is 427's
// TokenError.
func TestEndpointRouting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testdb.OpenSQLite(t, store.OpenOptions{})
	p, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "P", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	tpl, _ := waform.TemplateByID("appointment_booking")
	f, err := st.WhatsAppFlowCreate(ctx, store.WhatsAppFlow{ID: "f1", ProjectID: p.ID, Name: "Booking", Categories: []string{"OTHER"}, JSON: string(tpl.JSON),
		Status: store.WhatsAppFlowPublished, CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	exchange := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"screen":"DETAILS","data":{"slots":["09:00","11:00"]}}`))
	}))
	t.Cleanup(exchange.Close)
	svc := waflow.New(waflow.Deps{Store: st, Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}})
	svc.SetEndpoint(waflow.EndpointDeps{HTTP: httpclient.New(httpclient.WithAllow(netip.MustParsePrefix("127.0.0.0/8"))), Waits: waits{
		"s1.1": {ExchangeURL: exchange.URL, Vars: map[string]any{"party": 2}},
		"s2.1": {},
	}})
	router := svc.Endpoint().Router
	for _, tc := range []struct {
		name   string
		req    waform.Request
		screen string
		check  func(t *testing.T, r waform.Response)
	}{
		{"forwarded to exchange_url with the session's variables", waform.Request{Action: "data_exchange", Screen: "APPOINTMENT", Data: map[string]any{"service": "x"}, FlowToken: "s1.1"}, "DETAILS",
			func(t *testing.T, r waform.Response) {
				if got["action"] != "data_exchange" || got["flow_token"] != "s1.1" || got["screen"] != "APPOINTMENT" || got["variables"].(map[string]any)["party"] != 2.0 {
					t.Fatalf("the exchange_url got %v", got)
				}
				if len(r.Data["slots"].([]any)) != 2 {
					t.Fatalf("data = %v", r.Data)
				}
			}},
		{"INIT without exchange_url opens the first screen", waform.Request{Action: "INIT", FlowToken: "s2.1"}, "APPOINTMENT", nil},
		{"BACK without exchange_url opens the screen asked for", waform.Request{Action: "BACK", Screen: "DETAILS", FlowToken: "s2.1"}, "DETAILS", nil},
		{"data_exchange without exchange_url completes with the data", waform.Request{Action: "data_exchange", Data: map[string]any{"a": 1.0}, FlowToken: "s2.1"}, "SUCCESS",
			func(t *testing.T, r waform.Response) {
				params := r.Data["extension_message_response"].(map[string]any)["params"].(map[string]any)
				if params["a"] != 1.0 || params["flow_token"] != "s2.1" {
					t.Fatalf("params = %v", params)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := router.Exchange(ctx, f.ID, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if r.Screen != tc.screen {
				t.Fatalf("screen = %q, want %q (%v)", r.Screen, tc.screen, r.Data)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	_, err = router.Exchange(ctx, f.ID, waform.Request{Action: "INIT", FlowToken: "dead.1"})
	var te *waform.TokenError
	if !errors.As(err, &te) {
		t.Fatalf("a dead token: %v, want a TokenError", err)
	}
}
