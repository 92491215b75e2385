package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

func (c *cli) sandboxNoticeCmd() *cobra.Command {
	var server, channelID, field, event, limit string
	cmd := &cobra.Command{
		Use:   "notice [--server URL] [--to-channel ID] --event FLAGGED|DOWNGRADE|ACCOUNT_RESTRICTION|… [--field F] [--limit TIER_…]",
		Short: "Play Meta: report a quality drop, a lower messaging limit or an account restriction on the sandbox number",
		Long: "Asks the running `parley serve --sandbox` to post a correctly signed phone_number_quality_update (events FLAGGED, DOWNGRADE, " +
			"UNFLAGGED, UPGRADE) or account_update (ACCOUNT_RESTRICTION, ACCOUNT_VIOLATION, DISABLED_UPDATE) webhook to its WhatsApp channel, " +
			"as Meta does when the number's quality drops or the account is restricted. Running campaign executions on the account pause, " +
			"with the notice as their reason (docs/campaigns.md). The field follows from the event unless given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if field == "" {
				field = "phone_number_quality_update"
				switch event {
				case "ACCOUNT_RESTRICTION", "ACCOUNT_VIOLATION", "DISABLED_UPDATE":
					field = "account_update"
				}
			}
			ctx := cmd.Context()
			sc := &sandboxClient{base: c.serverURL(server), hc: &http.Client{Timeout: 15 * time.Second}}
			id, err := sc.channel(ctx, channelID, "whatsapp")
			if err != nil {
				return err
			}
			body := map[string]any{"channel_id": id, "field": field, "event": event}
			if limit != "" {
				body["current_limit"] = limit
			}
			if err := sc.call(ctx, http.MethodPost, "/sandbox/notices/", body, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Meta (sandbox) sent %s %s about channel %s; running campaigns on its account pause when the notice calls for it\n", field, event, id)
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "the running Parley server (env PARLEY_URL; default "+defaultServer+")")
	cmd.Flags().StringVar(&channelID, "to-channel", "", "the sandbox WhatsApp channel's ID (default: the sandbox's WhatsApp channel)")
	cmd.Flags().StringVar(&field, "field", "", "phone_number_quality_update or account_update (default: the event's)")
	cmd.Flags().StringVar(&event, "event", "FLAGGED", "FLAGGED, DOWNGRADE, UNFLAGGED, UPGRADE, ACCOUNT_RESTRICTION, ACCOUNT_VIOLATION or DISABLED_UPDATE")
	cmd.Flags().StringVar(&limit, "limit", "", "the messaging limit a quality notice reports (default TIER_1K)")
	return cmd
}
