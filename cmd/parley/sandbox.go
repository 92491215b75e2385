package main

import (
	"encoding/json"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/sandbox"
)

func (c *cli) sandboxCmd() *cobra.Command {
	var addr, webhook, phone string
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a fake WhatsApp Graph API on this machine (and play the customer with `sandbox send`)",
		Long: "Runs a local fake of the Graph API endpoints Parley uses: messages (answered with a wamid, then signed sent/delivered/read " +
			"status webhooks), message templates (PENDING, then APPROVED), media and the phone number. Point a WhatsApp channel's " +
			"api_base_url at it. `parley serve --sandbox` runs the same fake inside the server with a ready channel.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fake := sandbox.New(sandbox.Config{Addr: addr, AppSecret: app.SandboxAppSecret, AccessToken: app.SandboxAccessToken,
				PhoneNumberID: phone, WABAID: app.SandboxWABAID, WebhookURL: webhook})
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if err := fake.Start(ctx); err != nil {
				return err
			}
			defer fake.Stop()
			cfg, _ := json.MarshalIndent(map[string]any{"phone_number_id": phone, "waba_id": app.SandboxWABAID, "access_token": app.SandboxAccessToken,
				"app_secret": app.SandboxAppSecret, "api_base_url": fake.URL()}, "  ", "  ")
			fmt.Fprintf(c.stdout, "Fake Graph API listening on %s\nCreate a WhatsApp channel with this config (POST /channels/):\n  %s\n", fake.URL(), cfg)
			if webhook == "" {
				fmt.Fprintln(c.stdout, "Status webhooks go nowhere until you pass --webhook-url http://127.0.0.1:8080/webhooks/whatsapp/<channel_id>")
			}
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8081", "address to listen on")
	cmd.Flags().StringVar(&webhook, "webhook-url", "", "where to send status and template webhooks (the channel's webhook URL)")
	cmd.Flags().StringVar(&phone, "phone-number-id", app.SandboxPhoneNumberID, "the fake number's phone number ID")
	cmd.AddCommand(c.sandboxSendCmd(), c.sandboxChatCmd(), c.sandboxCallCmd(), c.sandboxNoticeCmd())
	return cmd
}
