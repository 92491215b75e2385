package sqlite_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
	"github.com/parleyhq/parley/internal/store/testdb"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	open := func(t *testing.T) store.Store { return testdb.OpenSQLite(t, store.OpenOptions{}) }
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
