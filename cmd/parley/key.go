package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parleyhq/parley/internal/secret"
)

func (c *cli) keyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Create a secret key or show which one is configured"}
	cmd.AddCommand(&cobra.Command{
		Use:   "new",
		Short: "Print a new random secret key, for PARLEY_SECRET_KEY",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k := make([]byte, secret.KeySize)
			if _, err := rand.Read(k); err != nil {
				return fmt.Errorf("generating a key: %w", err)
			}
			fmt.Fprintln(c.stdout, base64.StdEncoding.EncodeToString(k))
			return nil
		},
	}, &cobra.Command{
		Use:   "fingerprint",
		Short: "Print the fingerprint of the configured key (PARLEY_SECRET_KEY or DATA_DIR/secret.key), to compare with the one a database records",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.config(cmd)
			if err != nil {
				return err
			}
			k, err := secret.Load(cfg.SecretKey, cfg.DataDir)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, secret.Fingerprint(k))
			return nil
		},
	})
	return cmd
}
