package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/storetest"
	"github.com/parleyhq/parley/internal/store/testdb"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	testdb.PostgresURL(t) // skips without TEST_DATABASE_URL
	open := func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), testdb.PostgresURL(t), store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, suite := range []struct {
		name string
		run  func(*testing.T, storetest.Opener)
	}{
		{"Accounts", storetest.RunAccounts},
		{"Templates", storetest.RunTemplates},
		{"Flows", storetest.RunFlows},
		{"WhatsAppFlows", storetest.RunWhatsAppFlows},
		{"AIProviders", storetest.RunAIProviders},
		{"Calls", storetest.RunCalls},
		{"ProjectDatabases", storetest.RunProjectDatabases},
		{"EventHooks", storetest.RunEventHooks},
		{"NumberProfiles", storetest.RunNumberProfiles},
		{"Channels", storetest.RunChannels},
		{"Runtime", storetest.RunRuntime},
		{"Queue", storetest.RunQueue},
		{"Transactions", storetest.RunTransactions},
		{"ChannelLogs", storetest.RunChannelLogs},
		{"Campaigns", storetest.RunCampaigns},
		{"CampaignReports", storetest.RunCampaignReports},
	} {
		t.Run(suite.name, func(t *testing.T) {
			t.Parallel()
			suite.run(t, open)
		})
	}
}

func TestUnreachableServerGivesOneLine(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(context.Background(), "postgres://postgres@127.0.0.1:1/nope?connect_timeout=2", store.OpenOptions{})
	if err == nil {
		t.Fatal("expected an error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, "refused") {
		t.Fatalf("error is not one clear line: %q", msg)
	}
}
