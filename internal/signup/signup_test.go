package signup_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/signup"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// graph fails the steps named in fail (once each), and records the calls.
type graph struct {
	fail  map[string]bool
	calls []string
}

func (g *graph) step(name string) error {
	g.calls = append(g.calls, name)
	if g.fail[name] {
		delete(g.fail, name)
		return errors.New(name + " refused by Meta")
	}
	return nil
}

func (g *graph) ExchangeCode(_ context.Context, appID, secret, code string) (string, error) {
	if appID != "app" || secret != "shh" || code == "" {
		return "", errors.New("bad exchange")
	}
	return "business-token", g.step("exchange")
}
func (g *graph) SubscribeApp(_ context.Context, token, waba, _, verify string) error {
	if token != "business-token" || waba != "11" || !strings.HasPrefix(verify, "parley-") {
		return errors.New("bad subscribe")
	}
	return g.step("subscribe")
}
func (g *graph) Register(_ context.Context, token, phone, pin string) error {
	if token != "business-token" || phone != "22" || pin != "123456" {
		return errors.New("bad register")
	}
	return g.step("register")
}

type chans struct{ created []channels.CreateParams }

func (c *chans) Create(_ context.Context, p channels.CreateParams) (domain.Channel, error) {
	c.created = append(c.created, p)
	return domain.Channel{ID: "ch-1", ProjectID: p.ProjectID}, nil
}

type ids struct{ n atomic.Int64 }

func (i *ids) NewID() string { return "id-" + time.Unix(i.n.Add(1), 0).UTC().Format("150405") }

type clock struct{}

func (clock) Now() time.Time { return time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC) }

func statuses(v signup.View) string {
	var out []string
	for _, s := range v.Steps {
		out = append(out, s.Status)
	}
	return strings.Join(out, " ")
}

func TestSignupSteps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fail      string
		in        signup.Input
		first     string // step statuses after Start
		retryCode string
		after     string // after Retry
		calls     string
	}{
		{"all pass", "", signup.Input{Code: "c", WABAID: "11", PhoneNumberID: "22", PIN: "123456"}, "done done done done", "", "", "exchange subscribe register"},
		{"subscribe fails, retried from it", "subscribe", signup.Input{Code: "c", WABAID: "11", PhoneNumberID: "22", PIN: "123456"},
			"done failed pending pending", "", "done done done done", "exchange subscribe subscribe register"},
		{"exchange fails: a retry needs a new code", "exchange", signup.Input{Code: "c", WABAID: "11", PhoneNumberID: "22", PIN: "123456"},
			"failed pending pending pending", "", "failed pending pending pending", "exchange"},
		{"exchange fails, retried with a new code", "exchange", signup.Input{Code: "c", WABAID: "11", PhoneNumberID: "22", PIN: "123456"},
			"failed pending pending pending", "c2", "done done done done", "exchange exchange subscribe register"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, store.OpenOptions{})
			ctx := context.Background()
			if _, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "One", Now: clock{}.Now()}); err != nil {
				t.Fatal(err)
			}
			box, _ := secret.NewBox(make([]byte, secret.KeySize))
			g := &graph{fail: map[string]bool{tc.fail: true}}
			cs := &chans{}
			svc := signup.New(signup.Deps{Store: st, Graph: g, Channels: cs, Box: box, Clock: clock{}, IDs: &ids{},
				Config: signup.Config{AppID: "app", AppSecret: "shh", ConfigID: "cfg"}})
			v, err := svc.Start(ctx, "p1", tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if statuses(v) != tc.first {
				t.Fatalf("after Start: %s, want %s (%+v)", statuses(v), tc.first, v.Steps)
			}
			if tc.after != "" {
				v, err = svc.Retry(ctx, store.Ref{ProjectID: "p1", ID: v.ID}, tc.retryCode, "123456")
				if err != nil {
					t.Fatal(err)
				}
				if statuses(v) != tc.after {
					t.Fatalf("after Retry: %s, want %s (%+v)", statuses(v), tc.after, v.Steps)
				}
			}
			if got := strings.Join(g.calls, " "); got != tc.calls {
				t.Fatalf("Graph calls %q, want %q", got, tc.calls)
			}
			if v.Status == "done" {
				if len(cs.created) != 1 || cs.created[0].Config["access_token"] != "business-token" || cs.created[0].Config["app_secret"] != "shh" ||
					cs.created[0].Config["verify_token"] == "" || v.ChannelID != "ch-1" {
					t.Fatalf("channel created with %+v", cs.created)
				}
				_, err := svc.Retry(ctx, store.Ref{ProjectID: "p1", ID: v.ID}, "", "")
				if domain.CodeOf(err) != domain.CodeConflict {
					t.Fatalf("retry of a finished signup = %v", err)
				}
			}
			if _, err := svc.Get(ctx, store.Ref{ProjectID: "p2", ID: v.ID}); domain.CodeOf(err) != domain.CodeNotFound {
				t.Fatalf("another project's signup: %v", err)
			}
		})
	}
}

func TestSignupInputRefused(t *testing.T) {
	t.Parallel()
	svc := signup.New(signup.Deps{Config: signup.Config{AppID: "app", AppSecret: "shh", ConfigID: "cfg"}})
	for _, in := range []signup.Input{
		{WABAID: "11", PhoneNumberID: "22", PIN: "123456"},
		{Code: "c", WABAID: "eleven", PhoneNumberID: "22", PIN: "123456"},
		{Code: "c", WABAID: "11", PhoneNumberID: "22/../x", PIN: "123456"},
		{Code: "c", WABAID: "11", PhoneNumberID: "22", PIN: "12345"},
	} {
		if _, err := svc.Start(context.Background(), "p1", in); domain.CodeOf(err) != domain.CodeInvalid {
			t.Errorf("Start(%+v) = %v, want invalid", in, err)
		}
	}
	off := signup.New(signup.Deps{})
	if _, err := off.Start(context.Background(), "p1", signup.Input{}); domain.CodeOf(err) != domain.CodeUnprocessable {
		t.Errorf("without a Meta app: %v", err)
	}
}
