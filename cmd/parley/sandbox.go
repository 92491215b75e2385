package main

import (
	"encoding/json"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/sandbox"
	"github.com/parleyhq/parley/internal/secret"
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
	cmd.AddCommand(c.sandboxSendCmd())
	return cmd
}

func (c *cli) sandboxSendCmd() *cobra.Command {
	var channelID, from, name, text, button, list, quick, url string
	cmd := &cobra.Command{
		Use:   "send --to-channel ID --from NUMBER (--text T | --button TITLE | --list ROW_ID | --quick-reply TITLE)",
		Short: "Play the customer: post a correctly signed inbound WhatsApp webhook to a channel",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			given := 0
			for _, v := range []string{text, button, list, quick} {
				if v != "" {
					given++
				}
			}
			if given != 1 {
				return fmt.Errorf("give exactly one of --text, --button, --list or --quick-reply")
			}
			cfg, err := c.config(cmd)
			if err != nil {
				return err
			}
			if err := cfg.Finish(); err != nil {
				return err
			}
			env, err := c.open(cmd)
			if err != nil {
				return err
			}
			defer env.close()
			ch, err := env.store.ChannelGetAny(cmd.Context(), channelID)
			if err != nil {
				return fmt.Errorf("--to-channel: %w", err)
			}
			if ch.Type != whatsapp.ChannelType {
				return fmt.Errorf("--to-channel: channel %s is a %s channel, not WhatsApp", ch.ID, ch.Type)
			}
			key, _, err := secret.LoadOrCreate(cfg.SecretKey, cfg.DataDir)
			if err != nil {
				return err
			}
			box, err := secret.NewBox(key)
			if err != nil {
				return err
			}
			full, err := channels.New(channels.Deps{Box: box}).Full(ch)
			if err != nil {
				return err
			}
			appSecret, _ := full["app_secret"].(string)
			in := sandbox.Inbound{PhoneNumberID: ch.Address, From: from, Name: name, Text: text}
			switch {
			case button != "":
				in.ButtonReply = &channel.Reply{ID: button, Title: button}
			case list != "":
				in.ListReply = &channel.Reply{ID: list, Title: list}
			case quick != "":
				in.QuickReply = &channel.Reply{Payload: quick, Title: quick}
			}
			if url == "" {
				url = cfg.PublicURL + "/webhooks/whatsapp/" + ch.ID
			}
			wamid, err := sandbox.SendInbound(cmd.Context(), nil, url, appSecret, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "sent %s from %s to %s\n", wamid, from, url)
			return nil
		},
	}
	cmd.Flags().StringVar(&channelID, "to-channel", "", "the WhatsApp channel's ID")
	cmd.Flags().StringVar(&from, "from", "15551234567", "the customer's number (digits)")
	cmd.Flags().StringVar(&name, "name", "Sandbox Customer", "the customer's profile name")
	cmd.Flags().StringVar(&text, "text", "", "a text message")
	cmd.Flags().StringVar(&button, "button", "", "tap a reply button, by its title")
	cmd.Flags().StringVar(&list, "list", "", "choose a list row, by its id")
	cmd.Flags().StringVar(&quick, "quick-reply", "", "tap a template quick-reply button, by its title")
	cmd.Flags().StringVar(&url, "url", "", "the webhook URL (default: PARLEY_PUBLIC_URL or http://127.0.0.1:8080, + /webhooks/whatsapp/<channel>)")
	_ = cmd.MarkFlagRequired("to-channel")
	return cmd
}
