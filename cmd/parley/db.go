package main

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/jobs"
)

func (c *cli) dbCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "db", Short: "Back up the database or move it to another one"}
	cmd.AddCommand(c.dbBackupCmd())
	return cmd
}

func (c *cli) dbBackupCmd() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Write a consistent copy of the SQLite database to FILE while the server runs",
		Long: "backup writes a consistent snapshot of the embedded SQLite database (VACUUM INTO) to a new file, " +
			"safe to run while `parley serve` is running. Keep the secret key (PARLEY_SECRET_KEY or DATA_DIR/secret.key) " +
			"with it: the channels' tokens in it are sealed with that key. To restore, stop the server and put the file " +
			"in place as DATA_DIR/parley.db. On PostgreSQL use pg_dump instead (see docs/deploy.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errors.New("--to FILE is required")
			}
			cfg, err := c.config(cmd)
			if err != nil {
				return err
			}
			if err := cfg.Finish(); err != nil {
				return err
			}
			if cfg.UsesPostgres() {
				return errors.New("db backup copies the embedded SQLite database; for PostgreSQL use pg_dump (pg_dump --format=custom --file=parley.dump \"$DATABASE_URL\"), see docs/deploy.md")
			}
			if _, err := os.Stat(cfg.SQLitePath()); err != nil {
				return fmt.Errorf("no database to back up at %s: %w", cfg.SQLitePath(), err)
			}
			abs, err := filepath.Abs(to)
			if err != nil {
				return err
			}
			if _, err := os.Stat(abs); err == nil {
				return fmt.Errorf("--to %s: the file exists; choose a new name (backup never overwrites)", to)
			}
			s, err := app.OpenStore(cmd.Context(), cfg, cfg.Logger(c.stderr), &jobs.Bound[jobs.Deps]{}, false)
			if err != nil {
				return err
			}
			defer s.Close()
			db, ok := s.(interface{ DB() *sql.DB })
			if !ok {
				return errors.New("db backup: this store has no SQLite handle")
			}
			if _, err := db.DB().ExecContext(cmd.Context(), `VACUUM INTO ?`, abs); err != nil {
				return fmt.Errorf("backing up %s to %s: %w", cfg.SQLitePath(), abs, err)
			}
			if err := os.Chmod(abs, 0o600); err != nil {
				return err
			}
			st, err := os.Stat(abs)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "backed up %s to %s (%d bytes); keep the secret key with it\n", cfg.SQLitePath(), abs, st.Size())
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "file to write (must not exist)")
	return cmd
}
