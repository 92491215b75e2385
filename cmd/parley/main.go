// Command parley is Parley's single binary: the server, its database
// migrations and the administration commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/httpapi"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot(os.Stdout, os.Stderr, os.Getenv).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// cli carries what every command shares.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	dataDir        string
	databaseURL    string
}

// config reads the environment, then applies the flags that were set.
func (c *cli) config(cmd *cobra.Command) (config.Config, error) {
	cfg, err := config.FromEnv(c.getenv)
	if err != nil {
		return cfg, err
	}
	if cmd.Flags().Changed("data-dir") {
		cfg.DataDir = c.dataDir
	}
	if cmd.Flags().Changed("database-url") {
		cfg.DatabaseURL = c.databaseURL
	}
	return cfg, nil
}

func newRoot(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	httpapi.Version = versionString()
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	root := &cobra.Command{
		Use:           "parley",
		Short:         "Parley: conversational automation for WhatsApp and other chat channels",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&c.dataDir, "data-dir", "data", "directory for the embedded database and the secret key (env PARLEY_DATA_DIR)")
	root.PersistentFlags().StringVar(&c.databaseURL, "database-url", "", "postgres://… to use PostgreSQL instead of the embedded SQLite database (env DATABASE_URL)")
	root.AddCommand(c.serveCmd(), c.migrateCmd(), c.versionCmd(), c.projectCmd(), c.tokenCmd(), c.userCmd(), c.flowCmd(), c.sandboxCmd(), c.keyCmd(), c.dbCmd())
	return root
}

func (c *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(c.stdout, "parley", versionString())
			return nil
		},
	}
}
