package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/parleyhq/parley/internal/app"
)

func (c *cli) serveCmd() *cobra.Command {
	var addr string
	var withSandbox bool
	var drain time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (HTTP API, web UI and job workers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.config(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("addr") {
				cfg.Addr = addr
			}
			if err := cfg.Finish(); err != nil {
				return err
			}
			if !cmd.Flags().Changed("drain-delay") {
				if v := c.getenv("PARLEY_DRAIN_DELAY"); v != "" {
					if drain, err = time.ParseDuration(v); err != nil {
						return fmt.Errorf("PARLEY_DRAIN_DELAY: %w", err)
					}
				}
			}
			logger := cfg.Logger(c.stderr)
			ctx := cmd.Context()
			// Listen first: while migrations run, /readyz answers 503
			// "starting: migrating the database" instead of refusing.
			front, err := app.Listen(cfg.Addr, logger)
			if err != nil {
				return err
			}
			a, err := app.New(ctx, cfg, logger, app.WithFront(front), app.WithDrainDelay(drain))
			if err != nil {
				_ = front.Close()
				return err
			}
			if err := a.Start(ctx); err != nil {
				_ = a.Stop()
				return err
			}
			where := "SQLite at " + cfg.SQLitePath()
			if cfg.UsesPostgres() {
				where = "PostgreSQL"
			}
			url := "http://" + a.Addr()
			fmt.Fprintf(c.stdout, "Parley %s is listening on %s (database: %s)\n", versionString(), url, where)
			fmt.Fprintf(c.stdout, "  Web UI:        %s/app/\n  API reference: %s/docs\n", url, url)
			if a.KeyCreated {
				logger.Warn("PARLEY_SECRET_KEY is not set: generated a secret key in " + cfg.DataDir + "/secret.key; back it up with the database, or set PARLEY_SECRET_KEY")
			}
			if withSandbox {
				info, err := a.StartSandbox(ctx)
				if err != nil {
					_ = a.Stop()
					return err
				}
				fmt.Fprintf(c.stdout, "\nSandbox: a fake WhatsApp Graph API runs at %s, connected as channel %q (%s).\n", info.GraphURL, app.SandboxChannelName, info.ChannelID)
				fmt.Fprintf(c.stdout, "  %q is published for it: say %q to start it.\n", info.FlowName, info.Keyword)
				server := ""
				if url != defaultServer {
					server = " --server " + url
				}
				fmt.Fprintf(c.stdout, "  Talk to it as a customer, in another terminal:\n"+sandboxSendLine, server, info.ChannelID, info.Keyword)
				fmt.Fprintf(c.stdout, "  or keep chatting:\n    go run ./cmd/parley sandbox chat%s --to-channel %s\n", server, info.ChannelID)
				if len(info.Messaging) > 0 {
					fmt.Fprintf(c.stdout, "  The same fake answers as Messenger, Instagram and Viber, with a sandbox channel of each; play their customers with\n")
					for _, typ := range []string{"messenger", "instagram", "viber"} {
						if _, ok := info.Messaging[typ]; ok {
							fmt.Fprintf(c.stdout, "    go run ./cmd/parley sandbox send%s --channel-type %s --from 6200000000000001 --text %s\n", server, typ, info.Keyword)
						}
					}
				}
				if info.WebchatID != "" {
					fmt.Fprintf(c.stdout, "  A web chat channel %q (%s) is ready: open its test page %s and write,\n", app.SandboxWebchatName, info.WebchatID, info.WebchatTestURL)
					fmt.Fprintf(c.stdout, "  or be its web visitor from a terminal:\n    go run ./cmd/parley sandbox send%s --channel-type webchat --from visitor1 --text %s\n", server, info.Keyword)
				}
				if info.LLMProviderID != "" {
					fmt.Fprintf(c.stdout, "  AI: the provider %q points at a fake LLM in the sandbox (not a model: it drafts flows from built-in templates) —\n  try New flow → Generate with AI; add a real one (OpenAI, Ollama) under Settings → AI providers.\n", app.SandboxLLMName)
				}
				if info.VoiceID != "" {
					fmt.Fprintf(c.stdout, "  A simulated voice number %q (%s) is ready for voice steps: be the callee of a flow's call with\n    go run ./cmd/parley sandbox call%s --flow \"<flow name>\"\n",
						app.SandboxVoiceName, info.VoiceID, server)
				}
				fmt.Fprintf(c.stdout, "  Then see the conversation in the web UI (Conversations), or GET /contacts/ and /conversations/{contact_id}/messages/.\n")
			}
			if a.AdminPassword != "" {
				fmt.Fprintf(c.stdout, "\nFirst start: log in as %s with password %s\n(shown only this once; add users with `parley user create`)\n\n", cfg.AdminEmail, a.AdminPassword)
			}
			waitErr := a.Wait(ctx)
			logger.Info("shutting down: finishing in-flight requests and jobs")
			return firstErr(waitErr, a.Stop())
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (env PARLEY_ADDR)")
	cmd.Flags().DurationVar(&drain, "drain-delay", 0, "after a stop signal, answer /readyz not-ready for this long before refusing new requests, so a load balancer moves traffic away (env PARLEY_DRAIN_DELAY)")
	cmd.Flags().BoolVar(&withSandbox, "sandbox", false, "also run a fake WhatsApp, Messenger, Instagram and Viber API and connect a sandbox channel of each to it")
	return cmd
}

// sandboxSendLine is the customer command serve --sandbox prints (the
// README shows it): --server (when not the default), channel, keyword.
const sandboxSendLine = "    go run ./cmd/parley sandbox send%s --to-channel %s --from 15551234567 --text %s\n"

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *cli) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations (serve also does this at start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := c.open(cmd)
			if err != nil {
				return err
			}
			defer env.close()
			fmt.Fprintln(c.stdout, "migrations applied")
			return nil
		},
	}
}
