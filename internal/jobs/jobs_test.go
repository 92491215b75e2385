package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/receipt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

// TestProvisionAndHousekeeping runs the real River client on the test
// database: a project created in a transaction gets provisioned exactly
// once, and housekeeping (which runs on start) removes expired logins.
func TestProvisionAndHousekeeping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var bound jobs.Bound[jobs.Deps]
	st := testdb.Open(t, store.OpenOptions{Jobs: jobs.Config(&bound, jobs.Options{Logger: logger, Work: true, PollInterval: 50 * time.Millisecond})})
	deps := &jobs.Deps{Store: st, Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}, Logger: logger, Receipts: receipt.NewCounters()}
	if err := bound.Set(deps); err != nil {
		t.Fatal(err)
	}
	accounts := account.New(st, deps.Clock, deps.IDs, time.Hour)

	// State that exists before the workers start.
	u, err := accounts.CreateUser(ctx, "a@example.com", "A", "long-enough-password", false)
	if err != nil {
		t.Fatal(err)
	}
	past := deps.Clock.Now().Add(-2 * time.Hour)
	if err := st.WebSessionCreate(ctx, domain.WebSession{ID: "old", UserID: u.ID, CSRFToken: "c", CreatedAt: past, ExpiresAt: past.Add(time.Hour), LastSeenAt: past}); err != nil {
		t.Fatal(err)
	}
	// Receipts kept for messages never matched: the old one expires
	// (counted), the recent one stays.
	for _, rc := range []domain.Receipt{
		{ProjectID: "p", ChannelID: "ch", ProviderID: "old", Status: domain.MessageRead, ReceivedAt: past},
		{ProjectID: "p", ChannelID: "ch", ProviderID: "new", Status: domain.MessageRead, ReceivedAt: deps.Clock.Now()},
	} {
		if err := st.ReceiptHold(ctx, rc); err != nil {
			t.Fatal(err)
		}
	}
	var projects []domain.Project
	for _, name := range []string{"One", "Two", "Three"} {
		p, err := accounts.CreateProject(ctx, name, []byte(`{"timezone": "Europe/Lisbon"}`), u.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != domain.ProjectProvisioning {
			t.Fatalf("new project status = %s", p.Status)
		}
		projects = append(projects, p)
	}

	reg := prometheus.NewRegistry()
	svc := jobs.NewService(st.Jobs(), reg, logger)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := svc.Stop(sctx); err != nil {
				t.Errorf("stopping jobs: %v", err)
			}
		}
	}
	t.Cleanup(stop)

	deadline := time.Now().Add(20 * time.Second)
	for _, p := range projects {
		for {
			got, err := st.ProjectGet(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status == domain.ProjectReady {
				if string(got.Settings) == "" || !strings.Contains(string(got.Settings), "Europe/Lisbon") || !strings.Contains(string(got.Settings), "UNSUBSCRIBE") {
					t.Fatalf("settings after provisioning = %s (own keys must win, defaults filled in)", got.Settings)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("project %s not provisioned in time", p.Name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		events, err := st.AuditList(ctx, store.AuditListParams{ProjectID: p.ID, Action: "project.provisioned"})
		if err != nil {
			t.Fatal(err)
		}
		if len(events.Items) != 1 {
			t.Fatalf("project %s provisioned %d times, want 1", p.Name, len(events.Items))
		}
	}
	for {
		if _, err := st.WebSessionGet(ctx, "old"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("housekeeping did not delete the expired web session")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for deps.Receipts.Count("expired") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("housekeeping did not expire the old kept receipt")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := deps.Receipts.Count("expired"); n != 1 {
		t.Fatalf("%v receipts expired, want 1 (the recent one stays)", n)
	}
	if got, err := st.ReceiptsTake(ctx, store.ReceiptsTakeParams{ChannelID: "ch", ProviderID: "new"}); err != nil || len(got) != 1 {
		t.Fatalf("the recent receipt: %v %v", got, err)
	}
	stop()
	if n := completed(t, reg, "project_provision"); n < 3 {
		t.Fatalf("parley_jobs_total{kind=project_provision,outcome=completed} = %v, want >= 3", n)
	}
}

// completed reads parley_jobs_total{kind, outcome="completed"}.
func completed(t *testing.T, reg *prometheus.Registry, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "parley_jobs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["outcome"] == "completed" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
